"""Instance clip sampling, the synthetic instance world, and the instance dataset's training items."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from openvidseg.data.instance_dataset import VideoInstanceDataset, collate_instance_clips
from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, InstanceTrack, VideoInfo
from openvidseg.data.rle import encode_masks
from openvidseg.data.sampling import sample_instance_clip
from openvidseg.data.synthetic_instances import InstanceWorldSpec, ensure_instance_world, write_instance_world
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.data.ytvis import write_ytvis_json
from openvidseg.errors import ConfigError, DataError

SPEC = InstanceWorldSpec(train_videos=4, val_videos=4, num_frames=8, size=(48, 64), seed=3)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return write_instance_world(SPEC, tmp_path_factory.mktemp("instance_world") / "world")


def test_instance_clips_hold_the_reference_within_range():
    rng = np.random.default_rng(0)
    for _ in range(200):
        length, reference = int(rng.integers(1, 40)), 0
        reference = int(rng.integers(length))
        clip = sample_instance_clip(reference, length, 5, 3, rng)
        assert len(clip) == 5 and reference in clip and list(clip) == sorted(clip)
        assert all(abs(i - reference) <= 3 and 0 <= i < length for i in clip)
        window = min(reference + 3, length - 1) - max(reference - 3, 0)  # frames other than the reference
        if window >= 4:
            assert len(set(clip)) == 5  # no repeats while the window has enough frames
    assert sample_instance_clip(0, 1, 3, 20, rng) == (0, 0, 0)  # a one-frame video (an image) repeats
    reversed_clip = sample_instance_clip(10, 30, 4, 5, np.random.default_rng(1), reverse_prob=1.0)
    assert list(reversed_clip) == sorted(reversed_clip, reverse=True)
    with pytest.raises(ConfigError):
        sample_instance_clip(0, 5, 0, 2, rng)


def test_world_layout_classes_and_identities(world):
    from openvidseg.data.ytvis import load_ytvis_json

    train, val = load_ytvis_json(world.train_file), load_ytvis_json(world.val_file)
    assert train.class_names == world.class_names and len(world.novel_names) == 4
    assert {c.name for c in train.categories if c.partition == 2} == set(world.novel_names)
    names = dict(zip(train.category_ids, train.class_names))
    assert {names[t.category_id] for t in train.tracks} <= set(world.base_names)  # training shows base classes only
    assert (world.root / "val" / "JPEGImages" / "video_000" / "00007.jpg").is_file()
    entering = leaving = 0
    for annotations in (train, val):
        for video in annotations.videos:
            tracks = annotations.tracks_of(video.id)
            assert len(tracks) >= 2 and len({t.id for t in tracks}) == len(tracks)
            for t in range(video.length):  # visible masks never overlap: occluded parts belong to the front object
                masks = np.stack([tr.mask(t, 48, 64) for tr in tracks])
                assert masks.sum(axis=0).max() <= 1
            for track in tracks:
                present = track.present
                entering += int(not present[0] and present.any())
                leaving += int(present[0] and not present[-1])
    assert entering >= 8 and leaving >= 8  # every video has an entering and a leaving object


def test_crossing_pairs_swap_places_and_one_passes_behind_the_other(tmp_path):
    """With crossing_prob 1 every video's first two tracks are one class, start on opposite sides, end on each
    other's side, and the smaller one loses most of its visible area behind the larger one at mid-video."""
    from openvidseg.data.ytvis import load_ytvis_json

    spec = InstanceWorldSpec(train_videos=1, val_videos=4, num_frames=8, size=(64, 64), crossing_prob=1.0, seed=5)
    val = load_ytvis_json(write_instance_world(spec, tmp_path / "crossing").val_file)
    for video in val.videos:
        small, large = val.tracks_of(video.id)[:2]
        assert small.category_id == large.category_id
        centre = lambda track, t: np.nonzero(track.mask(t, 64, 64))[1].mean()  # noqa: E731
        end = video.length - 1
        assert (centre(small, 0) - centre(large, 0)) * (centre(small, end) - centre(large, end)) < 0
        areas = [int(small.mask(t, 64, 64).sum()) for t in range(video.length)]
        assert min(areas[3:5]) < 0.5 * areas[0]  # hidden (or nearly) as they pass
        assert int(large.mask(0, 64, 64).sum()) > areas[0]


def test_world_is_deterministic_and_cached(tmp_path, world):
    again = write_instance_world(SPEC, tmp_path / "again")
    assert again.val_file.read_text() == world.val_file.read_text()
    assert ensure_instance_world(SPEC, world.root).root == world.root  # already there: reused
    other = InstanceWorldSpec(train_videos=4, val_videos=4, num_frames=9, size=(48, 64), seed=3)
    with pytest.raises(DataError, match="num_frames"):
        ensure_instance_world(other, world.root)
    built = ensure_instance_world(SPEC, tmp_path / "fresh")
    assert built.train_file.is_file() and json.loads((tmp_path / "fresh" / "base_classes.json").read_text())


def test_training_items(world):
    data = VideoInstanceDataset(world.train_file, num_frames=3, frame_range=4, seed=1)
    assert data.split.name == "partition" and data.class_names == tuple(world.base_names)
    assert len(data) > 0 and len(data.videos) == 4
    item = data[3]
    t, n = 3, item["masks"].shape[0]
    assert item["frames"].shape == (t, 3, 48, 64) and item["frames"].dtype == torch.uint8
    assert item["masks"].shape == (n, t, 48, 64) and item["masks"].dtype == torch.bool and n >= 1
    assert torch.equal(item["present"], item["masks"].flatten(2).any(-1)) and item["present"].any(1).all()
    assert item["labels"].max() < len(data.class_names) and item["labels"].dtype == torch.int64
    video = data.videos[[v.name for v in data.videos].index(item["video"])]
    frame_ids = item["frame_ids"].tolist()
    for k, track_id in enumerate(item["track_ids"].tolist()):
        track = next(tr for tr in video.tracks if tr.id == track_id)
        assert data.class_names[item["labels"][k]] == data.annotations.class_names[
            data.annotations.category_index[track.category_id]]
        for j, f in enumerate(frame_ids):
            assert torch.equal(item["masks"][k, j], torch.from_numpy(track.mask(f, 48, 64)))
    assert torch.equal(data[3]["frames"], item["frames"])  # deterministic in (seed, epoch, index)
    first = [data[i]["frame_ids"].tolist() for i in range(10)]
    data.set_epoch(1)
    assert [data[i]["frame_ids"].tolist() for i in range(10)] != first
    batch = collate_instance_clips([data[0], data[1]])
    assert batch["frames"].shape == (2, 3, 3, 48, 64) and len(batch["masks"]) == 2


def test_novel_tracks_are_not_trained_on(world):
    data = VideoInstanceDataset(world.val_file, num_frames=2)
    novel_ids = {c.id for c in data.annotations.categories if c.partition == 2}
    assert any(t.category_id in novel_ids for v in data.videos for t in v.tracks)  # val shows novel classes
    for index in range(0, len(data), 7):
        assert not set(data[index]["category_ids"].tolist()) & novel_ids
    everything = VideoInstanceDataset(world.val_file, split="all", num_frames=2)
    assert everything.class_names == everything.all_class_names and len(everything.class_names) == 16


def white_object_dataset(tmp_path, layout="ytvis") -> VideoInstanceDataset:
    """Frames that are exactly their objects' masks (white on black, PNG), to check that augmentation moves
    frames and masks alike."""
    rng = np.random.default_rng(5)
    folder = tmp_path / "frames" / "v"
    folder.mkdir(parents=True)
    masks = np.zeros((2, 4, 40, 56), dtype=bool)
    for t in range(4):
        masks[0, t, 5 + t:20 + t, 4:20] = True
        masks[1, t, 22:36, 30 + 2 * t:50] = True
        Image.fromarray((masks[:, t].any(0) * 255).astype(np.uint8)).convert("RGB").save(folder / f"{t}.png")
    video = VideoInfo(1, "v", tuple(f"v/{t}.png" for t in range(4)), 40, 56)
    tracks = [InstanceTrack(n + 1, 1, 1, tuple(encode_masks(masks[n]))) for n in range(2)]
    annotations = InstanceAnnotations([video], [InstanceCategory(1, "box")], tracks, layout=layout)
    path = write_ytvis_json(annotations, tmp_path / "train.json")
    augment = ClipAugmentation(crop_size=(32, 32), scale=56, ratio_range=(0.8, 1.6), cat_max_ratio=1.0,
                               flip_prob=0.5, photometric=False)
    annotations = annotations if layout == "coco" else path
    if layout == "coco":
        annotations.source = path
    return VideoInstanceDataset(annotations, tmp_path / "frames", num_frames=3, frame_range=3, transform=augment,
                                seed=int(rng.integers(100)))


def test_augmentation_moves_frames_and_masks_alike(tmp_path):
    data = white_object_dataset(tmp_path)
    for index in range(len(data)):
        item = data[index]
        assert item["frames"].shape == (3, 3, 32, 32) and item["masks"].shape[2:] == (32, 32)
        white = item["frames"][:, 0] > 127  # (T, H, W)
        union = item["masks"].any(0)
        assert (white == union).float().mean() > 0.95


def test_pseudo_videos_of_images_get_one_draw_per_frame(tmp_path):
    data = white_object_dataset(tmp_path, layout="coco")
    assert data.pseudo_video
    item = data[0]
    frames = item["frames"]
    assert any(not torch.equal(frames[0], frames[t]) for t in (1, 2))  # copies of one image, moved differently
    white = frames[:, 0] > 127
    assert (white == item["masks"].any(0)).float().mean() > 0.95


def test_frames_of_another_size_than_annotated(tmp_path):
    spec = InstanceWorldSpec(train_videos=1, val_videos=1, num_frames=2, size=(48, 64))
    data = VideoInstanceDataset(write_instance_world(spec, tmp_path / "w").train_file)
    path = data.videos[0].paths[0]
    Image.new("RGB", (10, 10)).save(path, format="JPEG")
    with pytest.raises(DataError, match="is 10x10 but its annotations say 64x48"):
        data.videos[0].frame(0)


def test_instance_clips_refuse_cat_max_ratio(world):
    with pytest.raises(ConfigError, match="cat_max_ratio"):
        VideoInstanceDataset(world.train_file, transform=ClipAugmentation(crop_size=(32, 32), cat_max_ratio=0.75))
