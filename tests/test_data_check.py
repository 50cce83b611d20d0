"""`openvidseg data check`: what it reports, every broken case named with its file, and exit codes."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openvidseg.cli import main
from openvidseg.data import check_dataset, write_synthetic_vspw
from test_data_cityscapes import fake_cityscapes


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory) -> Path:
    info = write_synthetic_vspw(tmp_path_factory.mktemp("check") / "vspw", class_names=("sky", "grass", "red circle"),
                                num_videos=3, num_frames=6, size=(24, 32), seed=1, splits={"train": 2, "val": 1})
    return info.root


@pytest.fixture()
def root(clean_root, tmp_path) -> Path:
    return Path(shutil.copytree(clean_root, tmp_path / "vspw"))


def test_clean_dataset_reports_content_and_exits_zero(clean_root, capsys):
    report = check_dataset(clean_root)
    assert report.clean and report.splits == {"train": {"videos": 2, "frames": 12, "masks": 12},
                                              "val": {"videos": 1, "frames": 6, "masks": 6}}
    assert sum(report.pixels.values()) == 18 * 24 * 32  # every mask pixel counted once
    assert set(report.pixels) <= {0, 1, 2, 3} and report.class_names[3] == "red circle"
    assert main(["data", "check", str(clean_root)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"vspw dataset at {clean_root} (3 classes)"
    assert "split train: 2 videos, 12 frames, 12 masks" in out and "red circle" in out
    assert out.strip().splitlines()[-1] == "clean: 3 videos, 18 frames, no problems"


def break_one(root: Path, case: str) -> str:
    """Break the dataset in one way; returns the text the report must contain."""
    video = root / "data" / "video_000"
    if case == "missing mask":
        (video / "mask" / "00002.png").unlink()
        return f"missing mask: {video / 'mask' / '00002.png'}"
    if case == "missing frame":
        (video / "origin" / "00003.jpg").unlink()
        return f"missing frame: {video / 'origin' / '00003.jpg'}"
    if case == "mask size":
        Image.fromarray(np.zeros((20, 32), np.uint8)).save(video / "mask" / "00001.png")
        return f"size mismatch: mask {video / 'mask' / '00001.png'} is 32x20 but its frame"
    if case == "frame size":
        Image.fromarray(np.zeros((24, 30, 3), np.uint8)).save(video / "origin" / "00004.jpg")
        return f"size mismatch: frame {video / 'origin' / '00004.jpg'} is 30x24 but other frames of 'video_000' are 32x24"
    if case == "bad ids":
        mask = np.ones((24, 32), np.uint8)
        mask[3, 3], mask[4, 4] = 4, 254
        Image.fromarray(mask).save(video / "mask" / "00005.png")
        return f"invalid ids in {video / 'mask' / '00005.png'}: [4, 254] (allowed: 0..3 and 255)"
    if case == "unreadable mask":
        (video / "mask" / "00000.png").write_bytes(b"\x89PNG broken")
        return f"unreadable mask {video / 'mask' / '00000.png'}"
    if case == "rgb mask":
        Image.fromarray(np.zeros((24, 32, 3), np.uint8)).save(video / "mask" / "00000.png")
        return f"mask {video / 'mask' / '00000.png'} has mode RGB"
    if case == "empty split":
        (root / "val.txt").write_text("\n\n")
        return f"split file {root / 'val.txt'} is empty"
    if case == "absent video":
        (root / "val.txt").write_text("video_002\nvideo_999\n")
        return f"video 'video_999' is listed but absent: {root / 'data' / 'video_999' / 'origin'} does not exist"
    if case == "duplicate":
        (root / "train.txt").write_text("video_000\nvideo_001\nvideo_000\n")
        return f"video 'video_000' is listed 2 times in {root / 'train.txt'}"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["missing mask", "missing frame", "mask size", "frame size", "bad ids",
                                  "unreadable mask", "rgb mask", "empty split", "absent video", "duplicate"])
def test_each_problem_is_reported_with_its_file_and_a_non_zero_exit(root, case, capsys):
    expected = break_one(root, case)
    report = check_dataset(root)
    assert not report.clean and any(expected in p for p in report.problems), report.problems
    assert main(["data", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert expected in out and out.strip().splitlines()[-1].startswith("NOT clean: ")


def test_truncated_frames_need_a_full_read_to_be_found(root):
    path = root / "data" / "video_001" / "origin" / "00002.jpg"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 7 // 10])  # header intact, image data cut
    assert check_dataset(root, quick=True).clean  # the header alone is fine
    problems = check_dataset(root).problems
    assert len(problems) == 1 and f"unreadable image {path}" in problems[0]


def test_requested_splits_and_missing_split_files(root):
    report = check_dataset(root, splits=["val", "test"])
    assert list(report.splits) == ["val"] and report.problems == [f"split file {root / 'test.txt'} not found"]
    (root / "train.txt").unlink()
    (root / "val.txt").unlink()
    assert any("no split file in" in p for p in check_dataset(root).problems)


def test_not_a_dataset_is_a_failed_input(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path)]) == 1
    assert "is not a VSPW-layout folder" in capsys.readouterr().err


def test_cityscapes_check(tmp_path, capsys):
    root = fake_cityscapes(tmp_path / "cs", {"val": [("aachen", 119)]})
    report = check_dataset(root, kind="cityscapes")
    assert report.clean and report.splits["val"] == {"videos": 1, "frames": 30, "masks": 1}
    assert report.pixels[1] == 16 and report.pixels[255] == 32 and report.class_names[14] == "car"
    assert main(["data", "check", str(root), "--kind", "cityscapes"]) == 0
    assert "cityscapes dataset at" in capsys.readouterr().out.splitlines()[0]
    assert report.format().splitlines()[0].endswith("(19 classes)")
    missing = root / "leftImg8bit_sequence" / "val" / "aachen" / "aachen_000001_000105_leftImg8bit.png"
    missing.unlink()
    assert check_dataset(root, kind="cityscapes").problems == [
        f"missing frame: {missing} (snippet of aachen_000001_000119_gtFine_labelIds.png)"]
    assert main(["data", "check", str(root), "--kind", "cityscapes", "--split", "val"]) == 1
    capsys.readouterr()


def test_real_mini_vspw_is_clean(shared_data):
    report = check_dataset(shared_data / "mini_vspw")
    assert report.clean and set(report.pixels) == {0, 49, 61, 63, 66}
    assert sum(c["frames"] for c in report.splits.values()) == 190
