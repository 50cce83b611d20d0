"""`openvidseg eval --task instance`: an instance model tracks every video of an annotation file, is scored with
the video AP (AP_base / AP_novel) and, with --save-results, leaves the YouTube-VIS results file (and its zip, for
the servers) that `score --task instance` scores the same; a split without ground truth still gives the files."""
from __future__ import annotations

import json
import zipfile

import pytest

from openvidseg.cli import main

SMALL_WORLD = ["data.instance_world.train_videos=2", "data.instance_world.val_videos=2",
               "data.instance_world.num_frames=4", "data.instance_world.size=[48,64]", "data.test_short_side=48",
               "eval.max_detections=10"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from openvidseg.config import load_config
    from openvidseg.data.build import instance_world

    root = tmp_path_factory.mktemp("instance_world")
    return instance_world(load_config("clip_vis_tiny_synthetic", [*SMALL_WORLD, f"data.root={root}"]).data)


def _eval(world, out, *extra):
    return ["eval", "--task", "instance", "--config", "clip_vis_tiny_synthetic", "--out", str(out), "--no-progress",
            *extra, *SMALL_WORLD, f"data.root={world.root}"]


def test_eval_instance_writes_scores_and_results_that_score_reproduces(world, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(_eval(world, out, "--save-results")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_videos"] == 2 and {"AP", "AP_base", "AP_novel", "AR100"} <= set(metrics)
    assert (out / "report.md").read_text().startswith("# Instance evaluation")
    results = json.loads((out / "results.json").read_text())
    assert {e["video_id"] for e in results} == {1, 2} and len(results) <= 2 * 10
    assert {"video_id", "category_id", "score", "segmentations"} <= set(results[0])
    assert len(results[0]["segmentations"]) == 4
    with zipfile.ZipFile(out / "results.zip") as archive:
        assert archive.namelist() == ["results.json"]
        assert archive.read("results.json") == (out / "results.json").read_bytes()
    capsys.readouterr()
    assert main(["score", "--task", "instance", "--pred", str(out / "results.json"), "--ann", str(world.val_file),
                 "--out", str(tmp_path / "scored.json")]) == 0
    scored = json.loads((tmp_path / "scored.json").read_text())
    assert scored["num_predictions"] == metrics["num_predictions"] == len(results)
    assert {k: scored[k] for k in ("AP", "AP_novel", "AR100", "per_class")} == \
        {k: metrics[k] for k in ("AP", "AP_novel", "AR100", "per_class")}
    assert main(_eval(world, out, "--save-results")) == 2
    assert "already exists" in capsys.readouterr().err


def test_a_split_without_ground_truth_still_gives_the_results_for_its_server(world, tmp_path, capsys):
    data = json.loads(world.val_file.read_text())
    assert data.pop("annotations")
    hidden = world.val_file.parent / "val" / "valid.json"  # beside val/JPEGImages, like YouTube-VIS's valid split
    hidden.write_text(json.dumps(data))
    out = tmp_path / "eval"
    assert main(_eval(world, out, "--save-results", "eval.max_videos=1", f"data.val_annotations={hidden}")) == 0
    assert json.loads((out / "metrics.json").read_text())["AP"] is None
    assert json.loads((out / "results.json").read_text())
    assert "no ground-truth tracks" in capsys.readouterr().out


def test_eval_refuses_a_model_of_another_task_and_results_for_semantic(world, tmp_path, capsys):
    assert main(["eval", "--task", "instance", "--config", "ov2vss_tiny_synthetic", f"data.root={tmp_path}"]) == 2
    assert "does semantic segmentation, not instance: pass --task semantic" in capsys.readouterr().err
    assert main(["eval", "--config", "clip_vis_tiny_synthetic", f"data.root={world.root}"]) == 2
    assert "does instance segmentation, not semantic: pass --task instance" in capsys.readouterr().err
    assert main(["eval", "--config", "ov2vss_tiny_synthetic", "--save-results"]) == 2
    assert "--save-results is for --task instance" in capsys.readouterr().err
