"""`openvidseg score --task instance`: a YouTube-VIS results JSON against an annotation file reproduces the
COCOeval oracle, writes the shared reports, and names malformed results in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from instance_reference import coco_oracle, generated_set, gt_tracks
from openvidseg.cli import main
from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, VideoInfo
from openvidseg.data.rle import decode_rle, encode_masks
from openvidseg.data.ytvis import write_ytvis_json
from openvidseg.metrics import TrackPrediction, result_entry
from openvidseg.metrics.instance_result import JSON_KEYS, InstanceScoreResult


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """An annotation file and a results file of a generated set (with base/novel partitions), and the oracle."""
    folder = tmp_path_factory.mktemp("instance_score")
    categories, videos, predictions = generated_set(seed=4, num_videos=8)
    categories = [InstanceCategory(c.id, c.name, partition=0 if i < 2 else 3) for i, c in enumerate(categories)]
    categories.append(InstanceCategory(99, "never seen", partition=3))  # no ground truth: not counted
    infos = [VideoInfo(vid, f"v{vid}", tuple(f"v{vid}/{t}.jpg" for t in range(m.shape[1])), m.shape[2], m.shape[3])
             for vid, (m, _) in videos.items()]
    tracks = [t for vid in videos for t in gt_tracks(videos)[vid]]
    ann = write_ytvis_json(InstanceAnnotations(infos, categories, tracks), folder / "val.json")
    results = [{"video_id": vid, "category_id": cid, "score": score, "segmentations": encode_masks(m)}
               for vid, cid, score, m in predictions]
    pred = folder / "results.json"
    pred.write_text(json.dumps(results))
    return folder, ann, pred, results, coco_oracle(categories, videos, predictions)


def test_cli_reproduces_the_oracle_and_writes_reports(generated, tmp_path, capsys):
    folder, ann, pred, _, oracle = generated
    out, report = tmp_path / "metrics.json", tmp_path / "report"
    assert main(["score", "--task", "instance", "--pred", str(pred), "--ann", str(ann), "--out", str(out),
                 "--report", str(report)]) == 0
    data = json.loads(out.read_text())
    assert tuple(data) == JSON_KEYS and data["split_def"] == "partition" and data["num_videos"] == 8
    for key, value in oracle.items():
        assert data[key] == 100 * value, key
    per_class = InstanceScoreResult.from_json(data).per_class
    base = [per_class[n] for n in data["groups"]["base"] if per_class[n] is not None]
    assert data["AP_base"] == pytest.approx(np.mean(base)) and data["AP_novel"] is not None
    text = (report / "report.md").read_text()
    assert f"| AP | {data['AP']:.2f} |" in text and "| rank | class | group | AP % |" in text and "| novel |" in text
    assert data["per_class"]["never seen"] is None and "Not in the ground truth (1, not counted): never seen." in text
    assert Image.open(report / "per_class_ap.png").width > 600
    assert "AP_novel" in capsys.readouterr().out  # the table
    assert main(["score", "--task", "instance", "--pred", str(pred), "--ann", str(ann), "--out", str(out)]) == 2


def test_perfect_results_score_100(generated, tmp_path):
    folder, ann, _, _, _ = generated
    annotations = json.loads(ann.read_text())
    perfect = [{"video_id": a["video_id"], "category_id": a["category_id"], "score": 1.0,
                "segmentations": a["segmentations"]} for a in annotations["annotations"]]
    path = tmp_path / "perfect.json"
    path.write_text(json.dumps(perfect))
    out = tmp_path / "m.json"
    assert main(["score", "--task", "instance", "--pred", str(path), "--ann", str(ann), "--out", str(out),
                 "--split-def", "all"]) == 0
    data = json.loads(out.read_text())
    assert data["AP"] == pytest.approx(100.0) and data["AR100"] == pytest.approx(100.0) and data["AP_novel"] is None


@pytest.mark.parametrize("edit, message", [
    (lambda r: r[0]["segmentations"].pop(), r"entry #0: 4 segmentations but video \d+ has 5 frames"),
    (lambda r: r[0].update(video_id=999), "entry #0: video_id 999 is not a video of"),
    (lambda r: r[1].update(score="high"), "entry #1 .*score 'high' is not a finite number"),
    (lambda r: r[1].update(score=float("nan")), "score nan is not a finite number"),
    (lambda r: r[2].update(category_id=77), "category_id 77 is not a category"),
    (lambda r: r[0].pop("score"), "entry #0 lacks score"),
    (lambda r: r[0]["segmentations"].__setitem__(0, {"size": [3, 3], "counts": "0"}), "frame 0: mask is 3x3"),
])
def test_malformed_results_get_one_line_errors(generated, tmp_path, capsys, edit, message):
    _, ann, _, results, _ = generated
    broken = json.loads(json.dumps(results[:3]))
    edit(broken)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(broken).replace("NaN", "NaN"))
    assert main(["score", "--task", "instance", "--pred", str(path), "--ann", str(ann)]) == 1  # a failed input
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("openvidseg score: error:")
    assert __import__("re").search(message, err), err


def test_task_options_are_checked(generated, capsys):
    _, ann, pred, _, _ = generated
    assert main(["score", "--task", "instance", "--pred", str(pred), "--ann", str(ann), "--split", "val"]) == 2
    assert "--split is for --task semantic" in capsys.readouterr().err
    assert main(["score", "--task", "instance", "--pred", str(pred)]) == 2
    assert "--task instance needs --ann" in capsys.readouterr().err
    assert main(["score", "--pred", str(pred), "--ann", str(ann)]) == 2
    assert "--ann is for --task instance" in capsys.readouterr().err


def test_null_and_empty_masks_score_alike_and_result_entries_round_trip(generated, tmp_path):
    _, ann, pred, results, _ = generated
    nulls = tmp_path / "nulls.json"  # the same tracks written by result_entry: empty frames become null
    entries = [result_entry(r["video_id"], TrackPrediction.from_masks(
        r["category_id"], r["score"], np.stack([decode_rle(s) for s in r["segmentations"]]))) for r in results]
    assert any(s is None for e in entries for s in e["segmentations"])
    nulls.write_text(json.dumps(entries))
    outs = []
    for path in (pred, nulls):
        out = tmp_path / f"{path.stem}.metrics.json"
        assert main(["score", "--task", "instance", "--pred", str(path), "--ann", str(ann), "--out", str(out)]) == 0
        outs.append(json.loads(out.read_text()))
    assert outs[0] == outs[1]
