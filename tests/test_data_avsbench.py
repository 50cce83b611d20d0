"""AVSBench-semantic layout: the colour palette, the OV split, clips with each frame's audio window, the
base/novel handling of training, and `data check --kind avsbench`."""
from __future__ import annotations

import numpy as np
import pytest

from avsbench_helpers import RATE, write_tiny_avsbench
from openvidseg.cli import main
from openvidseg.data import clean_class_name, load_split
from openvidseg.data.avsbench import AVSBenchDataset
from openvidseg.data.avsbench_layout import colour_to_id, read_colour_mask, voc_palette, write_colour_mask
from openvidseg.data.check import check_dataset
from openvidseg.data.classes import AVSBENCH_CLASSES, VSPW_CLASSES
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.errors import ConfigError


def peak_hz(window: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    return float(np.argmax(spectrum) * RATE / len(window))


def test_palette_is_the_pascal_voc_colour_map(tmp_path):
    palette = voc_palette(71)
    # hand-known VOC colours: 1 aeroplane, 2 bicycle, 8 cat, 15 person
    assert palette[0].tolist() == [0, 0, 0] and palette[1].tolist() == [128, 0, 0]
    assert palette[2].tolist() == [0, 128, 0] and palette[8].tolist() == [64, 0, 0]
    assert palette[15].tolist() == [192, 128, 128] and len({tuple(c) for c in palette}) == 71
    ids = np.array([[0, 1, 70], [15, 8, 2]], dtype=np.uint8)
    write_colour_mask(tmp_path / "m.png", ids)
    assert np.array_equal(read_colour_mask(tmp_path / "m.png", 71), ids)
    odd = palette[ids].copy()
    odd[0, 0] = (1, 2, 3)
    assert colour_to_id(odd, 71)[0, 0] == 255 and colour_to_id(odd, 71)[1, 0] == 15


def test_ov_avss_split_and_class_names():
    split = load_split("ov_avss", AVSBENCH_CLASSES)
    assert len(split.seen) == 40 and len(split.unseen) == 30 and not set(split.seen) & set(split.unseen)
    assert split.names((1, 2, 22)) == ("accordion", "airplane", "emergency car")  # accordion novel, airplane base
    assert 1 in split.unseen and 2 in split.seen and 70 in split.seen and 69 in split.unseen
    assert clean_class_name("vacuum-cleaner") == "vacuum cleaner"
    with pytest.raises(ConfigError, match="defined for AVSBench-semantic's 70 classes only"):
        load_split("ov_avss", VSPW_CLASSES)
    with pytest.raises(ConfigError, match="defined for VSPW's 124 classes only"):
        load_split("ov2vss", AVSBENCH_CLASSES)


def test_training_clips_see_base_classes_with_each_frames_sound(tmp_path):
    write_tiny_avsbench(tmp_path / "avs")
    (tmp_path / "avs" / "metadata.csv").write_text((tmp_path / "avs" / "metadata.csv").read_text().replace(",test,", ",train,"))
    data = AVSBenchDataset(tmp_path / "avs", "train", training=True, audio_timing="frames")
    assert [c.video.uid for c in data.clips] == ["solo"]  # 'novel' sounds a novel class: left out of training
    item = data[0]
    assert item["frames"].shape == (5, 3, 32, 40) and item["audio"].shape == (5, 15_600)
    assert item["labelled"].tolist() == [True, False, False, False, False]  # v1s training: frame 0 only
    airplane = 1 + load_split("ov_avss", AVSBENCH_CLASSES).seen.index(2)  # base classes count from 1
    assert set(item["labels"][0].unique().tolist()) == {0, airplane} and (item["labels"][1:] == 255).all()
    assert [round(peak_hz(w.numpy()), -1) for w in item["audio"]] == [300, 400, 500, 600, 700]
    vggish = AVSBenchDataset(tmp_path / "avs", "train", training=True)[0]["audio"][2]  # [1.92, 2.895) s
    lead = int(0.08 * RATE)  # its first 80 ms are the end of second 1
    assert round(peak_hz(vggish[:lead].numpy()), -2) == 400 and round(peak_hz(vggish[lead:].numpy()), -1) == 500
    everything = AVSBenchDataset(tmp_path / "avs", "train", training=True, exclude_novel_videos=False)
    labels = everything[1]["labels"]  # the 'novel' video: accordion (novel) is not scored, car (base) is
    car = 1 + everything.split.seen.index(11)
    assert set(labels.unique().tolist()) == {0, car, 255}


def test_augmentation_applies_one_draw_to_frames_and_masks(tmp_path):
    write_tiny_avsbench(tmp_path / "avs")
    aug = ClipAugmentation(crop_size=(24, 24), scale=40, ratio_range=(1.0, 1.0), cat_max_ratio=1.0, flip_prob=1.0,
                           photometric=False)
    plain = AVSBenchDataset(tmp_path / "avs", "val", training=True)[0]
    flipped = AVSBenchDataset(tmp_path / "avs", "val", training=True, transform=aug)[0]
    assert flipped["frames"].shape == (5, 3, 24, 24) and flipped["labels"].shape == (5, 24, 24)
    # the object pixels (bright yellow) and the labelled pixels move together
    yellow = flipped["frames"][:, 0] > 150
    assert ((flipped["labels"] > 0) == yellow).float().mean() > 0.95 and plain["labels"].shape == (5, 32, 40)


def test_evaluation_clips_cut_videos_into_chunks_of_dataset_ids(tmp_path):
    write_tiny_avsbench(tmp_path / "avs")
    data = AVSBenchDataset(tmp_path / "avs", "test")
    assert [(c.video.uid, c.start) for c in data.clips] == [("novel", 0), ("novel", 5)]
    second = data[1]
    assert second["frame_ids"].tolist() == [5, 6, 7, 8, 9] and set(second["labels"].unique().tolist()) == {0, 1, 11}
    assert round(peak_hz(second["audio"][0].numpy()), -1) == 800  # patch 5 starts at 4.8 s: mostly second 5
    assert len(AVSBenchDataset(tmp_path / "avs", "test", subsets=["v1s", "v1m"])) == 0
    with pytest.raises(ConfigError, match="unknown AVSBench subsets"):
        AVSBenchDataset(tmp_path / "avs", "test", subsets=["v3"])


def test_data_check_reports_every_problem(tmp_path, capsys):
    videos = write_tiny_avsbench(tmp_path / "avs")
    report = check_dataset(tmp_path / "avs", kind="avsbench")
    assert report.clean, report.problems
    assert report.splits["test"] == {"videos": 1, "frames": 10, "masks": 10} and report.pixels[1] > 0
    assert main(["data", "check", str(tmp_path / "avs"), "--kind", "avsbench"]) == 0
    solo, duet, novel = videos
    duet.mask_path(3).unlink()
    write_colour_mask(novel.mask_path(0), np.full((32, 40), 71, dtype=np.uint8))  # id 71 is no label
    from openvidseg.data.avsbench_writer import write_wav

    write_wav(novel.audio_path, np.zeros(RATE * 4, dtype=np.float32), RATE)
    text = (tmp_path / "avs" / "metadata.csv").read_text()
    (tmp_path / "avs" / "metadata.csv").write_text(text + "gone,gone,0,0,kazoo,val,v1m\n")
    report = check_dataset(tmp_path / "avs", kind="avsbench")
    problems = "\n".join(report.problems)
    assert f"missing mask: {duet.mask_path(3)}" in problems
    assert f"{novel.mask_path(0)}: 1280 pixels have colours outside the palette" in problems
    assert f"short audio: {novel.audio_path} lasts 4.00 s but the clip's 10 frames span 10 s" in problems
    assert "video 'gone' is listed but absent" in problems and "['kazoo'] in metadata.csv are not classes" in problems
    assert main(["data", "check", str(tmp_path / "avs"), "--kind", "avsbench"]) == 1
    assert "NOT clean: 5 problem(s)" in capsys.readouterr().out
