"""Instance annotations: RLE helpers, the YouTube-VIS JSON layout (round trip, class splits) and its
one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

from openvidseg.data.instance_layouts import load_instance_annotations
from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, InstanceTrack, VideoInfo
from openvidseg.data.rle import decode_rle, decode_rles, encode_mask, encode_masks, intersections, rle_areas, to_rle
from openvidseg.data.ytvis import load_ytvis_json, write_ytvis_json
from openvidseg.errors import ConfigError, DataError


def random_masks(rng, n, h=13, w=17):
    return rng.random((n, h, w)) < 0.4


def test_rle_round_trip_and_areas():
    rng = np.random.default_rng(0)
    masks = random_masks(rng, 3)
    rles = encode_masks(masks)
    assert all(isinstance(r["counts"], str) and r["size"] == [13, 17] for r in rles)
    assert np.array_equal(decode_rles([rles[0], None, rles[2]], 13, 17), np.stack([masks[0], 0 * masks[1], masks[2]]))
    assert rle_areas(rles).tolist() == masks.sum(axis=(1, 2)).tolist()
    assert np.array_equal(decode_rle(encode_mask(masks[1])), masks[1])


def test_intersections_are_exact_counts():
    rng = np.random.default_rng(1)
    first, second = random_masks(rng, 4, 60, 70), random_masks(rng, 3, 60, 70)
    second[0] = False  # an empty mask
    expected = np.einsum("ahw,bhw->ab", first.astype(np.int64), second.astype(np.int64))
    assert np.array_equal(intersections(encode_masks(first), encode_masks(second)), expected)
    assert intersections([], encode_masks(second)).shape == (0, 3)


def test_to_rle_accepts_polygons_and_uncompressed_rle():
    square = to_rle([[2, 2, 6, 2, 6, 6, 2, 6]], 10, 10)
    assert 12 <= int(rle_areas([square])[0]) <= 25
    column_major = [10, 5, 85]  # 10 background, then 5 object pixels (first column, rows 0-4 of the 2nd column)
    mask = decode_rle(to_rle({"size": [10, 10], "counts": column_major}, 10, 10))
    assert mask.sum() == 5 and mask[:5, 1].all()


@pytest.mark.parametrize("segmentation, message", [
    ({"size": [5, 5], "counts": "abc"}, "mask is 5x5 .* but its video is 10x10"),
    ({"size": [10, 10], "counts": [3, 4]}, "must be non-negative ints summing to 10x10"),
    ([[1, 2, 3]], "polygon segmentation must be a list"),
    ("nonsense", "expected an RLE"),
    ({"size": [10, 10], "counts": 7}, "'counts' must be a string"),
])
def test_to_rle_errors_name_the_entry(segmentation, message):
    with pytest.raises(DataError, match=message) as err:
        to_rle(segmentation, 10, 10, where="annotation 3, frame 1")
    assert str(err.value).startswith("annotation 3, frame 1") and "\n" not in str(err.value)


def small_annotations() -> InstanceAnnotations:
    rng = np.random.default_rng(2)
    masks = random_masks(rng, 3, 8, 12)
    videos = [VideoInfo(4, "a", ("a/0.jpg", "a/1.jpg", "a/2.jpg"), 8, 12), VideoInfo(9, "b", ("b/0.jpg",), 8, 12)]
    categories = [InstanceCategory(7, "red circle", 3), InstanceCategory(2, "blue star", 0)]
    rles = encode_masks(masks)
    tracks = [InstanceTrack(1, 4, 7, (rles[0], None, rles[1])), InstanceTrack(5, 9, 2, (rles[2],), iscrowd=True)]
    return InstanceAnnotations(videos, categories, tracks)


def test_ytvis_round_trip(tmp_path):
    original = small_annotations()
    path = write_ytvis_json(original, tmp_path / "val.json")
    loaded = load_ytvis_json(path)
    assert loaded.category_ids == (2, 7) and loaded.class_names == ("blue star", "red circle")
    assert [v.name for v in loaded.videos] == ["a", "b"] and loaded.videos[0].length == 3
    track = loaded.tracks_of(4)[0]
    assert track.segmentations[1] is None and track.present.tolist() == [True, False, True]
    for t in (0, 2):
        assert np.array_equal(track.mask(t, 8, 12), original.tracks[0].mask(t, 8, 12))
    assert track.frame_areas()[1] is None and track.frame_areas()[0] == original.tracks[0].frame_areas()[0]
    assert loaded.tracks_of(9)[0].iscrowd
    data = json.loads(path.read_text())
    assert data["annotations"][0]["segmentations"][1] is None and data["annotations"][0]["areas"][1] is None
    assert load_instance_annotations(path).layout == "ytvis"


def test_class_splits_from_partition_and_names(tmp_path):
    annotations = small_annotations()
    split = annotations.class_split("partition")  # partition 0 (blue star) base, 3 (red circle) novel
    assert split.names(split.seen, "raw") == ("blue star",) and split.names(split.unseen, "raw") == ("red circle",)
    assert annotations.default_split() == "partition"
    seen_file = tmp_path / "seen.json"
    seen_file.write_text(json.dumps(["red circle"]))
    assert annotations.class_split(str(seen_file)).names(annotations.class_split(str(seen_file)).seen, "raw") == ("red circle",)
    with pytest.raises(ConfigError, match="needs a 'frequency' field"):
        annotations.class_split("frequency")


def write(tmp_path, data) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def base_file() -> dict:
    return {"videos": [{"id": 1, "file_names": ["v/0.jpg", "v/1.jpg"], "height": 4, "width": 5}],
            "categories": [{"id": 3, "name": "cat"}],
            "annotations": [{"id": 1, "video_id": 1, "category_id": 3, "iscrowd": 0,
                             "segmentations": [encode_mask(np.ones((4, 5), bool)), None]}]}


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["annotations"][0].update(category_id=8), "category_id 8 is not a category of the file"),
    (lambda d: d["annotations"][0].update(video_id=2), "video_id 2 is not a video of the file"),
    (lambda d: d["annotations"][0]["segmentations"].pop(), "1 segmentations for a video of 2 frames"),
    (lambda d: d["annotations"][0]["segmentations"].__setitem__(1, encode_mask(np.ones((3, 5), bool))),
     "frame 1: mask is 5x3 .* but its video is 5x4"),
    (lambda d: d["videos"].append(dict(d["videos"][0])), "video id 1 appears twice"),
    (lambda d: d["annotations"].append(dict(d["annotations"][0])), r"annotation ids \[1\] appear twice"),
    (lambda d: d["categories"].append({"id": 4, "name": "cat"}), "names .* appear twice"),
    (lambda d: d["videos"][0].update(height=0), "'height' must be a positive integer"),
    (lambda d: d.pop("categories"), "'categories' must be a non-empty list"),
])
def test_malformed_ytvis_files_get_one_line_errors(tmp_path, edit, message):
    data = base_file()
    edit(data)
    with pytest.raises(DataError, match=message) as err:
        load_ytvis_json(write(tmp_path, data))
    assert "bad.json" in str(err.value) and "\n" not in str(err.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_instance_annotations(tmp_path / "absent.json")
    with pytest.raises(DataError, match="not valid JSON"):
        load_instance_annotations(write(tmp_path, "{oops"))
    with pytest.raises(DataError, match="not an instance annotation file"):
        load_instance_annotations(write(tmp_path, [1, 2]))
    test_split = base_file()
    test_split.pop("annotations")  # test files have no annotations: videos only
    assert load_instance_annotations(write(tmp_path, test_split)).tracks == []
