"""The synthetic VSPW-layout generator: layout, labels that match what was drawn, determinism, hooks."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from openvidseg.data import ClassStyle, write_synthetic_vspw
from openvidseg.data.io import read_image, read_mask
from openvidseg.data.synthetic_styles import COLOURS, default_styles
from openvidseg.data.vspw_layout import dataset_classes, split_videos, video_frames
from openvidseg.errors import ConfigError


def tree_digest(root: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            sha.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return sha.hexdigest()


def test_writes_the_vspw_layout(tmp_path):
    info = write_synthetic_vspw(tmp_path / "s", num_videos=4, num_frames=20, size=(64, 96), seed=0,
                                splits={"train": 0.5, "val": 0.25, "test": 0.25})
    assert info.videos == {"train": ["video_000", "video_001"], "val": ["video_002"], "test": ["video_003"]}
    assert split_videos(info.root, "val") == ["video_002"]
    assert dataset_classes(info.root) == info.class_names == ("sky", "grass", "red circle", "blue square",
                                                              "green triangle", "yellow star")
    assert video_frames(info.root, "video_001") == [f"{i:05d}" for i in range(20)]
    image = read_image(info.root / "data" / "video_001" / "origin" / "00007.jpg")
    mask = read_mask(info.root / "data" / "video_001" / "mask" / "00007.png")
    assert image.shape == (64, 96, 3) and mask.shape == (64, 96) and int(mask.max()) <= 6


def test_labels_match_what_was_drawn(tmp_path):
    drawn = {}

    def keep(image, label, video, frame, rng):
        drawn[(video, frame)] = (image.copy(), label.copy())
        return image, label

    info = write_synthetic_vspw(tmp_path / "s", num_videos=3, num_frames=6, size=(48, 64), seed=4, frame_hook=keep,
                                objects_per_video=(2, 3), others_prob=1.0)
    for (video, frame), (image, label) in drawn.items():
        name = f"video_{video:03d}"
        assert np.array_equal(read_mask(info.root / "data" / name / "mask" / f"{frame:05d}.png"), label)
        jpeg = read_image(info.root / "data" / name / "origin" / f"{frame:05d}.jpg").astype(int)
        assert np.abs(jpeg - image).mean() < 6  # only JPEG loss between what was drawn and what was written
        assert (label == 0).any()  # the "others" patch (others_prob=1)
        for cid in np.unique(label).tolist():
            style = info.styles[cid - 1] if cid else None
            if style is not None and style.kind == "thing":  # flat things: every labelled pixel has the colour
                assert (image[label == cid] == style.colour).all()


def test_things_move_between_frames(tmp_path):
    info = write_synthetic_vspw(tmp_path / "s", class_names=("sky", "red circle"), num_stuff=1, num_videos=1,
                                num_frames=10, size=(60, 80), seed=2, splits={"train": 1}, objects_per_video=(1, 1))
    masks = [read_mask(info.root / "data" / "video_000" / "mask" / f"{t:05d}.png") for t in (0, 9)]
    centres = [np.argwhere(m == 2).mean(axis=0) for m in masks]
    assert np.abs(centres[0] - centres[1]).max() > 2


def test_deterministic_under_the_seed(tmp_path):
    kwargs = dict(num_videos=2, num_frames=4, size=(32, 48))
    first = write_synthetic_vspw(tmp_path / "a", seed=7, **kwargs).root
    second = write_synthetic_vspw(tmp_path / "b", seed=7, **kwargs).root
    third = write_synthetic_vspw(tmp_path / "c", seed=8, **kwargs).root
    assert tree_digest(first) == tree_digest(second) != tree_digest(third)


def test_colour_shape_names_and_custom_styles(tmp_path):
    styles = default_styles(("sand", "purple ring", "orange cross", "unnamed thing"), num_stuff=1)
    assert styles[0].kind == "stuff" and styles[1].colour == COLOURS["purple"] and styles[1].shape == "ring"
    assert styles[2].shape == "cross" and styles[3].kind == "thing"

    def bar(yy, xx, cy, cx, r):  # a custom shape: a horizontal bar through the centre
        return np.abs(yy - cy) <= 2

    custom = (ClassStyle("stuff", (10, 10, 10)), ClassStyle("thing", (250, 5, 5), shape=bar))
    info = write_synthetic_vspw(tmp_path / "s", class_names=("night", "laser"), styles=custom, num_videos=1,
                                num_frames=2, size=(30, 40), seed=0, splits={"val": 1}, others_prob=0.0)
    mask = read_mask(info.root / "data" / "video_000" / "mask" / "00000.png")
    rows = np.flatnonzero((mask == 2).all(axis=1))
    assert 3 <= len(rows) <= 5 and set(np.unique(mask).tolist()) == {1, 2}  # full-width rows of the bar


def test_bad_arguments_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="do not add up"):
        write_synthetic_vspw(tmp_path / "s", num_videos=3, splits={"train": 1, "val": 1})
    with pytest.raises(ConfigError, match="distinct"):
        write_synthetic_vspw(tmp_path / "s", class_names=("a", "a"))
    with pytest.raises(ConfigError, match="unknown shape 'blob'"):
        ClassStyle("thing", (1, 2, 3), shape="blob")
    with pytest.raises(ConfigError, match="styles given"):
        write_synthetic_vspw(tmp_path / "s", class_names=("a", "b"), styles=default_styles(("a",)))
