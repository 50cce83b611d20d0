"""`openvidseg data check` on instance annotation files lists every problem in one line each."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from openvidseg.cli import main
from openvidseg.data.check import check_dataset
from openvidseg.data.rle import encode_mask
from openvidseg.data.synthetic_instances import InstanceWorldSpec, write_instance_world


def test_a_clean_world_is_clean(tmp_path, capsys):
    world = write_instance_world(InstanceWorldSpec(train_videos=1, val_videos=2, num_frames=3, size=(32, 40)), tmp_path / "w")
    report = check_dataset(world.val_file, kind=None)
    assert report.clean and report.kind == "ytvis" and report.splits["val"]["videos"] == 2
    assert report.splits["val"]["frames"] == 6 and report.splits["val"]["masks"] > 0 and report.pixels
    assert main(["data", "check", str(world.val_file), "--quick"]) == 0
    assert "clean: 2 videos, 6 frames, no problems" in capsys.readouterr().out


def test_every_problem_is_listed(tmp_path, capsys):
    frames = tmp_path / "val" / "JPEGImages" / "v"
    frames.mkdir(parents=True)
    for t in range(3):
        Image.new("RGB", (10, 8) if t != 1 else (12, 8)).save(frames / f"{t}.jpg")  # frame 1 has another size
    (frames / "2.jpg").unlink()  # frame 2 missing
    full = encode_mask(np.ones((8, 10), bool))
    data = {"videos": [{"id": 1, "file_names": ["v/0.jpg", "v/1.jpg", "v/2.jpg"], "height": 8, "width": 10}],
            "categories": [{"id": 1, "name": "cat"}],
            "annotations": [{"id": 1, "video_id": 1, "category_id": 1, "segmentations": [full, None, None]},
                            {"id": 2, "video_id": 1, "category_id": 5, "segmentations": [full, None, None]},
                            {"id": 3, "video_id": 1, "category_id": 1, "segmentations": [None, None, None]},
                            {"id": 4, "video_id": 1, "category_id": 1,
                             "segmentations": [encode_mask(np.ones((4, 4), bool)), None, None]}]}
    path = tmp_path / "val.json"
    path.write_text(json.dumps(data))
    report = check_dataset(path, kind="ytvis")
    text = "\n".join(report.problems)
    assert len(report.problems) == 5, text
    assert "annotation 2: category_id 5 is not a category" in text
    assert "annotation 4, frame 0: mask is 4x4 (WxH) but its video is 10x8" in text
    assert "track 3 of video 1 has no mask in any frame" in text
    assert f"missing frame: {frames / '2.jpg'}" in text
    assert f"size mismatch: frame {frames / '1.jpg'} is 12x8 but video 1 is annotated 10x8" in text
    assert main(["data", "check", str(path), "--quick"]) == 1  # frame sizes from the headers: the same problems
    assert "NOT clean: 5 problem(s)" in capsys.readouterr().out


def test_wrong_kind_and_options(tmp_path, capsys):
    world = write_instance_world(InstanceWorldSpec(train_videos=1, val_videos=1, num_frames=2, size=(32, 40)), tmp_path / "w")
    assert main(["data", "check", str(world.val_file), "--kind", "coco"]) == 1  # the file is not what was said
    assert "looks like a ytvis file, not coco" in capsys.readouterr().err
    assert main(["data", "check", str(world.val_file), "--split", "val"]) == 2  # an option of another layout
    assert main(["data", "check", str(world.val_file), "--images", str(tmp_path / "nowhere")]) == 1
    assert "image folder" in capsys.readouterr().err
