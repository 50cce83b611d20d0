"""Real frames and masks (../shared/data/mini_vspw, from DAVIS) written as a YouTube-VIS file: each video's
object is one track. The file loads, checks clean, gives training clips of real size, and its own tracks
score AP 100 while the tracks of the wrong video score 0."""
from __future__ import annotations

import json

import numpy as np
import pytest

from openvidseg.cli import main
from openvidseg.data.check import check_dataset
from openvidseg.data.instance_dataset import VideoInstanceDataset
from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, InstanceTrack, VideoInfo
from openvidseg.data.io import read_mask
from openvidseg.data.rle import encode_masks
from openvidseg.data.vspw_layout import dataset_classes
from openvidseg.data.ytvis import write_ytvis_json
from openvidseg.metrics import TrackPrediction, result_entry


@pytest.fixture(scope="module")
def real_ytvis(shared_data, tmp_path_factory):
    root = shared_data / "mini_vspw"
    classes = dataset_classes(root)
    videos, tracks, used = [], [], set()
    for v, name in enumerate(["car-shadow", "blackswan"], start=1):
        frames = sorted((root / "data" / name / "origin").glob("*.jpg"))[:12]
        masks = np.stack([read_mask(root / "data" / name / "mask" / f"{p.stem}.png") for p in frames])
        cid = int(np.bincount(masks[(masks > 0) & (masks < 255)]).argmax())  # the video's object class
        used.add(cid)
        videos.append(VideoInfo(v, name, tuple(f"{name}/origin/{p.name}" for p in frames), *masks.shape[1:]))
        objects = masks == cid
        tracks.append(InstanceTrack(v, v, cid, tuple(r if m.any() else None for r, m in zip(encode_masks(objects), objects))))
    categories = [InstanceCategory(c, classes[c - 1]) for c in sorted(used)]
    ann = write_ytvis_json(InstanceAnnotations(videos, categories, tracks), tmp_path_factory.mktemp("real") / "val.json")
    return ann, root / "data", tracks


def test_real_file_loads_checks_clean_and_gives_clips(real_ytvis):
    ann, images, _ = real_ytvis
    report = check_dataset(ann, kind="ytvis", image_root=images, quick=True)
    assert report.clean, report.problems
    data = VideoInstanceDataset(ann, images, num_frames=3, frame_range=5)
    item = data[0]
    assert item["frames"].shape == (3, 3, 480, 854) and item["masks"].shape == (1, 3, 480, 854)
    assert 0.01 < item["masks"].float().mean() < 0.5  # a real object, not an empty or full mask


def test_real_tracks_score_themselves_perfectly(real_ytvis, tmp_path):
    ann, _, tracks = real_ytvis
    right = [result_entry(t.video_id, TrackPrediction(t.category_id, 0.9, t.segmentations)) for t in tracks]
    swapped = [dict(e, video_id=3 - e["video_id"]) for e in right]  # each video's track given to the other video
    for name, entries, expected in (("right", right, 100.0), ("swapped", swapped, 0.0)):
        path, out = tmp_path / f"{name}.json", tmp_path / f"{name}.metrics.json"
        path.write_text(json.dumps(entries))
        assert main(["score", "--task", "instance", "--pred", str(path), "--ann", str(ann), "--out", str(out)]) == 0
        assert json.loads(out.read_text())["AP"] == pytest.approx(expected, abs=1e-9)
