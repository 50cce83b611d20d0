"""VSPW-layout datasets: the training item contract, on-the-fly split mapping, evaluation access, loud
errors for broken data, and DataLoader workers (synthetic data; the real mini set when present)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from openvidseg.data import ClipAugmentation, VSPWDataset, write_synthetic_vspw
from openvidseg.data.io import read_mask
from openvidseg.errors import ConfigError, DataError

CLASSES = ("sky", "grass", "red circle", "blue_square", "green triangle", "yellow star")
SEEN = ["sky", "blue square", "yellow star"]  # ids 1, 4, 6 -> training indices 0, 1, 2


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return write_synthetic_vspw(tmp_path_factory.mktemp("synth") / "vspw", class_names=CLASSES, num_videos=4,
                                num_frames=12, size=(48, 64), seed=3, seen_classes=SEEN)


@pytest.fixture()
def broken(synth, tmp_path) -> Path:
    """A private copy of the synthetic set to break."""
    return Path(shutil.copytree(synth.root, tmp_path / "vspw"))


def digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(folder.rglob("*.png")):
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_item_contract(synth):
    dataset = VSPWDataset(synth.root, "train", split=str(synth.seen_file))
    assert len(dataset) == 2 * 12 and dataset.split.seen == (1, 4, 6)
    item = dataset[7]
    assert set(item) == {"frames", "random_frame", "label", "video", "frame_ids", "random_id"}
    assert item["frames"].dtype == torch.uint8 and item["frames"].shape == (4, 3, 48, 64)
    assert item["random_frame"].dtype == torch.uint8 and item["random_frame"].shape == (3, 48, 64)
    assert item["label"].dtype == torch.int64 and item["label"].shape == (48, 64)
    assert item["frame_ids"].dtype == torch.int64 and item["frame_ids"].shape == (4,)
    assert isinstance(item["video"], str) and isinstance(item["random_id"], int)
    video = next(v for v in dataset.videos if v.name == item["video"])
    for k, frame_id in enumerate(item["frame_ids"].tolist()):  # frames are the original frames, in clip order
        assert torch.equal(item["frames"][k], torch.from_numpy(video.frame(frame_id)).permute(2, 0, 1))
    assert torch.equal(item["random_frame"], torch.from_numpy(video.frame(item["random_id"])).permute(2, 0, 1))
    assert item["frame_ids"][-1].item() == 7  # item 7 targets frame 7 of the first video


def test_split_is_applied_on_the_fly_and_masks_stay_untouched(synth):
    before = digest(synth.root)
    dataset = VSPWDataset(synth.root, "train", split=str(synth.seen_file))
    lut = np.full(256, 255, np.uint8)
    lut[[1, 4, 6]] = [0, 1, 2]
    for index in range(0, len(dataset), 5):
        item = dataset[index]
        target = item["frame_ids"][-1].item()
        raw = read_mask(synth.root / "data" / item["video"] / "mask" / f"{target:05d}.png")
        assert torch.equal(item["label"], torch.from_numpy(lut[raw].astype(np.int64)))
        assert set(item["label"].unique().tolist()) <= {0, 1, 2, 255}
    assert digest(synth.root) == before
    everything = VSPWDataset(synth.root, "train", split="all")
    assert everything.class_names == ("sky", "grass", "red circle", "blue square", "green triangle", "yellow star")


def test_class_names_in_clean_or_raw_form(synth):
    clean = VSPWDataset(synth.root, "train", split=str(synth.seen_file))
    raw = VSPWDataset(synth.root, "train", split=str(synth.seen_file), class_names="raw")
    assert clean.class_names == ("sky", "blue square", "yellow star")
    assert raw.class_names == ("sky", "blue_square", "yellow star")
    with pytest.raises(ConfigError, match="class-name form"):
        VSPWDataset(synth.root, "train", split="all", class_names="fancy")
    with pytest.raises(ConfigError, match="124 classes"):
        VSPWDataset(synth.root, "train", split="ov2vss")


def test_offsets_random_frame_and_determinism(synth):
    dataset = VSPWDataset(synth.root, "val", split="all", ref_offsets=(-2, 2), random_frame=False, seed=11,
                          transform=ClipAugmentation(crop_size=(32, 32), scale=64))
    item = dataset[5]
    assert item["frames"].shape == (3, 3, 32, 32) and "random_frame" not in item and "random_id" not in item
    target = item["frame_ids"][-1].item()
    assert sorted(item["frame_ids"][:2].tolist()) == [target - 2, target + 2]
    again = dataset[5]
    assert torch.equal(item["frames"], again["frames"]) and torch.equal(item["label"], again["label"])
    dataset.set_epoch(1)
    assert any(not torch.equal(dataset[i]["frames"], VSPWDataset(synth.root, "val", split="all", ref_offsets=(-2, 2),
               random_frame=False, seed=11, transform=ClipAugmentation(crop_size=(32, 32), scale=64))[i]["frames"])
               for i in range(3))


def test_dataloader_workers_give_the_same_items_as_direct_access(synth):
    dataset = VSPWDataset(synth.root, "train", split="all", seed=5,
                          transform=ClipAugmentation(crop_size=(32, 40), scale=64))
    loader = torch.utils.data.DataLoader(dataset, batch_size=3, num_workers=2, shuffle=False)
    batch = next(iter(loader))
    assert batch["frames"].shape == (3, 4, 3, 32, 40) and batch["label"].shape == (3, 32, 40)
    for i in range(3):
        assert torch.equal(batch["frames"][i], dataset[i]["frames"]) and batch["random_id"][i].item() == dataset[i]["random_id"]


def test_evaluation_access_reads_frames_and_raw_masks_lazily(synth):
    dataset = VSPWDataset(synth.root, "val", split="all")
    assert [v.name for v in dataset.videos] == synth.videos["val"]
    video = dataset.videos[1]
    assert len(video) == 12 and video.frame_names[:2] == ["00000", "00001"] and video.labelled == list(range(12))
    assert video.frame(3).shape == (48, 64, 3) and video.frame(3).dtype == np.uint8
    raw = np.asarray(Image.open(synth.root / "data" / video.name / "mask" / "00003.png"))
    assert np.array_equal(video.mask(3), raw)  # dataset ids, not remapped
    indices = [i for i, frame in video]
    assert indices == list(range(12)) and (video.height, video.width, video.num_frames, video.fps) == (48, 64, 12, None)


def test_missing_mask_names_the_file(broken):
    (broken / "data" / "video_000" / "mask" / "00004.png").unlink()
    dataset = VSPWDataset(broken, "train", split="all", random_frame=False)
    assert dataset.videos[0].labelled == [i for i in range(12) if i != 4]
    with pytest.raises(DataError, match=r"missing mask: .*video_000/mask/00004.png"):
        dataset.videos[0].mask(4)


def test_missing_frame_names_the_file(broken):
    (broken / "data" / "video_000" / "origin" / "00002.jpg").rename(broken / "elsewhere.jpg")
    with pytest.raises(DataError, match=r"missing frame: .*video_000/origin/00002.jpg \(its mask .*00002.png exists"):
        VSPWDataset(broken, "train", split="all")
    (broken / "data" / "video_000" / "mask" / "00002.png").unlink()
    dataset = VSPWDataset(broken, "train", split="all", reverse_prob=0.0)
    assert len(dataset.videos[0]) == 11  # the frame list follows the files present
    dataset.videos[0].paths[0].unlink()  # a frame that disappears after the listing
    with pytest.raises(DataError, match=r"missing frame: .*video_000/origin/00000.jpg"):
        dataset[3]  # references of frame 3 clamp to frame 0


def test_mask_of_another_size_is_an_error(broken):
    Image.fromarray(np.zeros((40, 64), np.uint8)).save(broken / "data" / "video_001" / "mask" / "00006.png")
    dataset = VSPWDataset(broken, "train", split="all")
    with pytest.raises(DataError, match=r"mask .*video_001/mask/00006.png is 64x40 but its frame .*00006.jpg is 64x48"):
        dataset[12 + 6]


def test_out_of_range_ids_are_an_error(broken):
    mask = np.ones((48, 64), np.uint8)
    mask[0, 0] = 77
    Image.fromarray(mask).save(broken / "data" / "video_000" / "mask" / "00001.png")
    dataset = VSPWDataset(broken, "train", split="all")
    with pytest.raises(DataError, match=r"video_000/mask/00001.png holds ids \[77\] outside 0..6 and 255"):
        dataset[1]


def test_unreadable_frame_is_an_error(broken):
    (broken / "data" / "video_000" / "origin" / "00000.jpg").write_bytes(b"not a jpeg at all")
    video = VSPWDataset(broken, "train", split="all").videos[0]
    with pytest.raises(DataError, match=r"unreadable image .*video_000/origin/00000.jpg"):
        video.frame(0)


def test_split_file_problems(broken):
    (broken / "val.txt").write_text("\n")
    with pytest.raises(DataError, match=r"val.txt is empty"):
        VSPWDataset(broken, "val", split="all")
    (broken / "val.txt").write_text("video_002\nghost_video\n")
    with pytest.raises(DataError, match=r"'ghost_video' is listed in a split file but .*ghost_video/origin does not exist"):
        VSPWDataset(broken, "val", split="all")
    with pytest.raises(DataError, match=r"test.txt not found"):
        VSPWDataset(broken, "test", split="all")


def test_real_mini_vspw_evaluation_access(shared_data):
    root = shared_data / "mini_vspw"
    dataset = VSPWDataset(root, "val")
    assert [(v.name, len(v)) for v in dataset.videos] == [("car-shadow", 40), ("blackswan", 50)]
    video = dataset.videos[0]
    assert video.frame(0).shape == (480, 854, 3) and set(np.unique(video.mask(0)).tolist()) <= {0, 49}


def test_dataloader_with_two_workers_streams_real_training_clips(shared_data):
    root = shared_data / "mini_vspw"
    before = digest(root)
    dataset = VSPWDataset(root, "train", seed=1, transform=ClipAugmentation(crop_size=(480, 480), scale=1024))
    assert len(dataset) == 100 and dataset.class_names[62] == "dog"
    loader = torch.utils.data.DataLoader(dataset, batch_size=2, num_workers=2, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    for step, batch in enumerate(loader):
        assert batch["frames"].shape == (2, 4, 3, 480, 480) and batch["frames"].dtype == torch.uint8
        assert batch["random_frame"].shape == (2, 3, 480, 480) and batch["label"].shape == (2, 480, 480)
        assert set(batch["label"].unique().tolist()) <= {62, 60, 255}  # dog, person (ids 63, 61); others -> 255
        if step == 2:
            break
    assert digest(root) == before


def test_datasets_built_from_the_config(synth):
    from openvidseg.config.schema import DataConfig
    from openvidseg.data import build_eval_dataset, build_train_dataset

    cfg = DataConfig(dataset="synthetic", root=str(synth.root), split=str(synth.seen_file), crop_size=[32, 32],
                     scale=64)
    train = build_train_dataset(cfg, ref_offsets=[-4, -2], seed=3)
    assert train.class_names == ("sky", "blue square", "yellow star") and train.seed == 3
    assert train[0]["frames"].shape == (3, 3, 32, 32)
    assert [v.name for v in build_eval_dataset(cfg).videos] == synth.videos["val"]
    with pytest.raises(ConfigError, match="data.root is not set"):
        build_train_dataset(DataConfig())
    with pytest.raises(ConfigError, match="cannot be trained on"):
        build_train_dataset(DataConfig(dataset="cityscapes", root=str(synth.root)))


def test_importing_the_data_package_stays_light():
    import subprocess
    import sys

    code = "import sys, openvidseg.data; print(sorted(m for m in ('torch', 'av') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
