"""The parts of `segment` on their own: class lists, output folder names, running class statistics, model
and size resolution."""
from __future__ import annotations

import numpy as np
import pytest

from openvidseg.errors import InputError
from openvidseg.inference.output_folder import input_name, safe_folder_name, unique_folder_names
from openvidseg.inference.statistics import ClassStatistics
from openvidseg.vocabulary import build_vocabulary, read_class_file


def test_class_lists_are_stripped_and_background_is_explicit(tmp_path):
    assert build_vocabulary(" person,dog ,  red  ball ") == ("person", "dog", "red  ball")
    assert build_vocabulary(["sky", "road"], background=True) == ("sky", "road", "background")
    assert build_vocabulary("sky, road") == ("sky", "road")  # nothing added unless asked
    (tmp_path / "c.txt").write_text("\ufeff# my classes\nperson\n\n  dog  # pets\ncat, bird\n")
    assert read_class_file(tmp_path / "c.txt") == ["person", "dog", "cat", "bird"]
    assert build_vocabulary("tree", tmp_path / "c.txt") == ("tree", "person", "dog", "cat", "bird")


@pytest.mark.parametrize("classes, message", [
    ("", "empty class name at position 1"),
    ("sky, Sky ", "duplicate class names in --classes: sky/Sky "),  # stripped before comparing
    ("red  ball, red ball", "duplicate"),  # runs of spaces count as one
    (",".join(f"c{i}" for i in range(256)), "256 classes given; at most 255"),
])
def test_bad_class_lists(classes, message):
    with pytest.raises(InputError, match=message):
        build_vocabulary(classes)


def test_no_classes_at_all():
    with pytest.raises(InputError, match="no classes given"):
        build_vocabulary(None)


@pytest.mark.parametrize("name, safe", [
    ("clip", "clip"),
    ("../../etc", "_.._etc"),  # no separators, no leading dot
    (".hidden", "hidden"),
    ("...", "input"),
    ("a/b\\c:d*e?f\"g<h>i|j", "a_b_c_d_e_f_g_h_i_j"),
    ("tab\there\nnew\x00line", "tab_here_new_line"),
    ("trailing. ", "trailing"),
    ("x" * 300, "x" * 100),
    ("", "input"),
])
def test_safe_folder_names(name, safe):
    assert safe_folder_name(name) == safe


def test_unique_names_are_deterministic_in_input_order():
    assert unique_folder_names(["clip", "Clip", "clip", "clip-2", "a/b"]) == ["clip", "Clip-2", "clip-3", "clip-2-2", "a_b"]


def test_input_names(tmp_path):
    (tmp_path / "shot 1").mkdir()
    (tmp_path / "walk.final.mp4").write_bytes(b"")
    assert input_name(tmp_path / "walk.final.mp4") == "walk.final"
    assert input_name(tmp_path / "shot 1") == "shot 1"
    assert input_name(f"{tmp_path}/shot 1/*.png") == "shot 1"
    assert input_name(f"{tmp_path}/clips/*/frame_*.jpg") == "clips"
    assert input_name("*.png") == "frames"


def test_running_statistics_match_a_hand_computed_case():
    stats = ClassStatistics(3)
    stats.update(0, np.array([[0, 0], [1, 255]], np.uint8))
    stats.update(1, np.array([[2, 2], [2, 2]], np.uint8))
    stats.update(2, np.array([[0, 255], [255, 255]], np.uint8))
    out = stats.to_json(["a", "b", "c"], np.zeros((3, 3), np.uint8), fps=2.0)
    assert [c["pixel_share"] for c in out["classes"]] == [3 / 12, 1 / 12, 4 / 12]
    assert out["no_class_share"] == 4 / 12
    assert [c["frames"] for c in out["classes"]] == [2, 1, 1]
    assert [(c["first_frame"], c["last_frame"]) for c in out["classes"]] == [(0, 2), (0, 0), (1, 1)]
    assert out["classes"][0]["last_time_s"] == 1.0
    with pytest.raises(ValueError, match="value 3, but there are 3 classes"):
        stats.update(3, np.array([[3]], np.uint8))


def test_absent_classes_have_no_appearance():
    stats = ClassStatistics(2)
    stats.update(0, np.zeros((2, 2), np.uint8))
    absent = stats.to_json(["a", "b"], np.zeros((2, 3), np.uint8), fps=None)["classes"][1]
    assert (absent["frames"], absent["first_frame"], absent["last_time_s"], absent["pixel_share"]) == (0, None, None, 0.0)


def test_default_sizes_follow_the_model():
    from openvidseg.inference.segment import Segmenter, build_segment_model, default_size
    from openvidseg.models import create_model

    assert default_size(create_model("dense_clip_tiny")) == 96  # the dense model's own short side
    assert default_size(create_model("ov2vss_tiny")) == 64  # its preset's test short side
    model = build_segment_model("dense_clip_tiny", size=128)
    assert model.short_side == 128 and Segmenter(model, ["a"], size=128).size == 128
    with pytest.raises(InputError, match="resizes frames to a short side of 128 itself"):
        Segmenter(model, ["a"], size=64)
