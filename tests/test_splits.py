"""Class vocabularies, seen/unseen splits and evaluation protocols (label mapping on the fly)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from openvidseg.data import VSPW_CLASSES, clean_class_name, load_split, ov2vss_split
from openvidseg.errors import ConfigError


def test_vspw_has_124_classes_and_the_ov2vss_split_is_80_44():
    split = ov2vss_split()
    assert len(VSPW_CLASSES) == 124 and len(set(VSPW_CLASSES)) == 124
    assert split.seen == tuple(range(1, 81)) and split.unseen == tuple(range(81, 125))
    assert VSPW_CLASSES[80] == "trash_can" and VSPW_CLASSES[123] == "train"


@pytest.mark.parametrize("raw, clean", [
    ("handrail_or_fence", "handrail or fence"), ("Playground_slide", "playground slide"),
    ("billboard_or_Bulletin_Board", "billboard or bulletin board"), ("dog", "dog"),
    ("cupboard_or_showcase_or_storage_rack", "cupboard or showcase or storage rack"),
])
def test_clean_names(raw, clean):
    assert clean_class_name(raw) == clean


def test_train_mapping_ignores_unseen_and_others():
    lut = ov2vss_split().train_lut()
    mask = np.array([[0, 1, 80], [81, 124, 255]], dtype=np.uint8)
    assert lut[mask].tolist() == [[255, 0, 79], [255, 255, 255]]


def test_gzsl_keeps_every_class_including_the_last_unseen_one():
    """The public code's mapping dropped id 124 ('train'); ours scores it."""
    protocol = ov2vss_split().protocol("gzsl")
    assert protocol.num_classes == 124 and not protocol.background
    assert protocol.gt_lut()[[0, 1, 124, 255]].tolist() == [255, 0, 123, 255]
    groups = protocol.groups()
    assert groups["seen"] == list(range(80)) and groups["unseen"] == list(range(80, 124))


def test_unseen_protocol_restricts_ground_truth_and_adds_background():
    protocol = ov2vss_split().protocol("unseen")
    vocab = protocol.vocabulary()
    assert len(vocab) == 45 and vocab[-1] == "background" and vocab[0] == "trash can" and vocab[43] == "train"
    assert protocol.gt_lut()[[1, 80, 81, 124]].tolist() == [255, 255, 0, 43]
    assert ov2vss_split().protocol("seen", background=False).vocabulary()[-1] == "bag or package"


def test_json_split_of_seen_names(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(["wall", "handrail or fence", "train"]))
    split = load_split(str(path))
    assert split.seen == (1, 8, 124) and len(split.unseen) == 121 and split.name == "mine"
    path.write_text(json.dumps(["wal"]))
    with pytest.raises(ConfigError, match="'wal' is not a class.*wall"):
        load_split(str(path))
    path.write_text(json.dumps(["wall", "wall"]))
    with pytest.raises(ConfigError, match="listed twice"):
        load_split(str(path))
    with pytest.raises(ConfigError, match="unknown split"):
        load_split("no-such-split")
