"""BURST and COCO/LVIS image annotations load into the same instance structure as YouTube-VIS files."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from openvidseg.data.instance_dataset import VideoInstanceDataset
from openvidseg.data.instance_layouts import load_instance_annotations
from openvidseg.data.rle import decode_rle, encode_mask
from openvidseg.errors import DataError


def burst_file(tmp_path) -> tuple:
    """BURST/annotations/val/all_classes.json + BURST/frames/val/<dataset>/<seq>/*.jpg, 3 annotated frames."""
    masks = np.zeros((3, 6, 8), dtype=bool)
    masks[:, 1:4, 2:6] = True
    seq = {"id": 11, "width": 8, "height": 6, "dataset": "LaSOT", "seq_name": "cat-1", "fps": 30,
           "all_image_paths": [f"{i:08d}.jpg" for i in range(1, 31)],
           "annotated_image_paths": ["00000001.jpg", "00000016.jpg", "00000030.jpg"],
           "neg_category_ids": [], "not_exhaustive_category_ids": [],
           "track_category_ids": {"1": 805, "3": 95},
           "segmentations": [{"1": {"rle": encode_mask(masks[0])["counts"], "is_gt": True}},
                             {"1": {"rle": encode_mask(masks[1])["counts"], "is_gt": True},
                              "3": {"rle": encode_mask(~masks[1])["counts"], "is_gt": True}},
                             {}]}
    data = {"split": "val", "sequences": [seq], "categories": [{"id": 805, "name": "person"}, {"id": 95, "name": "bicycle"}]}
    path = tmp_path / "BURST" / "annotations" / "val" / "all_classes.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(data))
    frames = tmp_path / "BURST" / "frames" / "val" / "LaSOT" / "cat-1"
    frames.mkdir(parents=True)
    for name in seq["annotated_image_paths"]:
        Image.new("RGB", (8, 6)).save(frames / name)
    return path, data, masks


def test_burst_reads_annotated_frames_as_a_video(tmp_path):
    path, _, masks = burst_file(tmp_path)
    annotations = load_instance_annotations(path)
    assert annotations.layout == "burst" and annotations.category_ids == (95, 805)
    video = annotations.videos[0]
    assert video.id == 11 and video.length == 3 and video.file_names[1] == "val/LaSOT/cat-1/00000016.jpg"
    person, bicycle = annotations.tracks_of(11)
    assert person.category_id == 805 and bicycle.category_id == 95 and person.id != bicycle.id
    assert person.present.tolist() == [True, True, False] and bicycle.present.tolist() == [False, True, False]
    assert np.array_equal(decode_rle(bicycle.segmentations[1]), ~masks[1])
    data = VideoInstanceDataset(path, num_frames=2)  # frames found under BURST/frames
    assert data.image_root == tmp_path / "BURST" / "frames" and data[0]["frames"].shape[2:] == (6, 8)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["sequences"][0]["track_category_ids"].update({"1": 7}), "track 1 has category 7, not a category"),
    (lambda d: d["sequences"][0]["segmentations"].pop(), "2 segmentation entries for 3 annotated frames"),
    (lambda d: d["sequences"][0]["segmentations"][2].update({"9": {"rle": "x"}}), r"tracks \['9'\] have masks but no entry"),
    (lambda d: d.pop("split"), "has no 'split'"),
])
def test_malformed_burst_files(tmp_path, edit, message):
    path, data, _ = burst_file(tmp_path)
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=message):
        load_instance_annotations(path)


def coco_file(tmp_path, lvis: bool = False):
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "train2017").mkdir()
    Image.new("RGB", (20, 10)).save(root / "train2017" / "000000000042.jpg")
    image = {"id": 42, "height": 10, "width": 20}
    image.update({"coco_url": "http://images.cocodataset.org/train2017/000000000042.jpg"} if lvis
                 else {"file_name": "000000000042.jpg"})
    categories = [{"id": 1, "name": "person", "frequency": "f"}, {"id": 2, "name": "aardvark", "frequency": "r"}]
    annotations = [{"id": 5, "image_id": 42, "category_id": 1, "segmentation": [[2, 2, 8, 2, 8, 8, 2, 8]],
                    "area": 36.0, "iscrowd": 0},
                   {"id": 6, "image_id": 42, "category_id": 2, "iscrowd": 1, "area": 3.0,
                    "segmentation": {"size": [10, 20], "counts": [30, 3, 167]}}]
    name = "lvis_v1_train.json" if lvis else "instances_train2017.json"
    path = root / "annotations" / name
    path.write_text(json.dumps({"images": [image], "categories": categories, "annotations": annotations}))
    return path


@pytest.mark.parametrize("lvis", [False, True])
def test_coco_and_lvis_images_are_one_frame_videos(tmp_path, lvis):
    path = coco_file(tmp_path, lvis)
    annotations = load_instance_annotations(path)
    assert annotations.layout == "coco" and annotations.videos[0].length == 1
    person, crowd = annotations.tracks_of(42)
    assert person.mean_area() == 36.0 and crowd.iscrowd and int(decode_rle(crowd.segmentations[0]).sum()) == 3
    split = annotations.class_split("frequency")  # LVIS: rare classes are novel
    assert split.names(split.unseen, "raw") == ("aardvark",)
    data = VideoInstanceDataset(path, num_frames=2)
    item = data[0]
    assert item["frames"].shape == (2, 3, 10, 20) and item["track_ids"].tolist() == [5]  # the crowd is not trained on


def test_coco_annotation_of_unknown_image(tmp_path):
    path = coco_file(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][0]["image_id"] = 7
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="annotation 5: image_id 7 is not an image of the file"):
        load_instance_annotations(path)
