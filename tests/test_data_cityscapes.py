"""Cityscapes snippets on a tiny fake tree: the labelled 20th frame, labelId -> train id mapping, errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openvidseg.data import CITYSCAPES_CLASSES, CityscapesSequences
from openvidseg.data.cityscapes import label_id_lut
from openvidseg.errors import DataError

SIZE = (8, 12)  # height, width


def fake_cityscapes(root: Path, snippets: dict[str, list[tuple[str, int]]], label: np.ndarray | None = None,
                    skip: tuple[int, ...] = ()) -> Path:
    """Write 30-frame snippets (frame n filled with n) and one labelIds PNG per snippet."""
    for split, entries in snippets.items():
        for city, labelled in entries:
            seq_dir = root / "leftImg8bit_sequence" / split / city
            gt_dir = root / "gtFine" / split / city
            seq_dir.mkdir(parents=True, exist_ok=True)
            gt_dir.mkdir(parents=True, exist_ok=True)
            for n in range(labelled - 19, labelled + 11):
                if n - labelled not in skip:
                    Image.fromarray(np.full(SIZE + (3,), n % 256, np.uint8)).save(seq_dir / f"{city}_000001_{n:06d}_leftImg8bit.png")
            ids = label if label is not None else np.array([[7, 8, 26, 0, 33, 255] * 2] * SIZE[0], np.uint8)
            Image.fromarray(ids).save(gt_dir / f"{city}_000001_{labelled:06d}_gtFine_labelIds.png")
    return root


def test_snippets_label_the_20th_frame_with_dataset_ids(tmp_path):
    root = fake_cityscapes(tmp_path / "cs", {"val": [("aachen", 119), ("bonn", 40)]})
    data = CityscapesSequences(root, "val")
    assert data.class_names == CITYSCAPES_CLASSES and len(data.class_names) == 19
    assert [v.name for v in data.videos] == ["aachen_000001_000119", "bonn_000001_000040"]
    snippet = data.videos[0]
    assert len(snippet) == 30 and snippet.labelled == [19] and snippet.fps == 17.0
    assert snippet.frame_names[19] == "aachen_000001_000119"
    assert int(snippet.frame(19)[0, 0, 0]) == 119 and int(snippet.frame(0)[0, 0, 0]) == 100  # references come before
    label = snippet.mask(19)
    # dataset ids = train id + 1: road, sidewalk, car, -, bicycle, -
    assert label.shape == SIZE and label[0, :6].tolist() == [1, 2, 14, 255, 19, 255]
    with pytest.raises(DataError, match=r"frame 3 of Cityscapes snippet 'aachen_000001_000119' has no label: only frame 19"):
        snippet.mask(3)
    assert [i for i, _ in snippet] == list(range(30))


def test_label_lut_covers_the_19_classes():
    lut = label_id_lut()
    assert sorted(set(lut.tolist()) - {255}) == list(range(1, 20))
    assert lut[[7, 24, 33, 0, 6, 34]].tolist() == [1, 12, 19, 255, 255, 255]


def test_missing_context_frames_shorten_the_snippet_but_a_missing_labelled_frame_is_an_error(tmp_path):
    root = fake_cityscapes(tmp_path / "cs", {"val": [("aachen", 119)]}, skip=(-19, -18))
    snippet = CityscapesSequences(root, "val").videos[0]
    assert len(snippet) == 28 and snippet.labelled == [17]
    root = fake_cityscapes(tmp_path / "cs2", {"val": [("bonn", 40)]}, skip=(0,))
    with pytest.raises(DataError, match=r"labelled frame .*bonn_000001_000040_leftImg8bit.png is missing"):
        CityscapesSequences(root, "val")


def test_bad_labels_and_layouts_are_errors(tmp_path):
    bad = np.full(SIZE, 7, np.uint8)
    bad[0, 0] = 40
    root = fake_cityscapes(tmp_path / "cs", {"val": [("aachen", 119)]}, label=bad)
    with pytest.raises(DataError, match=r"aachen_000001_000119_gtFine_labelIds.png holds ids \[40\] outside 0..33"):
        CityscapesSequences(root, "val").videos[0].mask(19)
    with pytest.raises(DataError, match=r"gtFine/train not found"):
        CityscapesSequences(root, "train")
