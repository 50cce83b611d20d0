"""Trained models on the Hugging Face hub, without a network: `train --push-to-hub` and `model.push_to_hub`
hand huggingface_hub (mocked here) model.safetensors, model.json and a generated card; the same files laid out
as a hub cache snapshot load back through `load_model("user/repo")` and `segment --checkpoint user/repo`;
offline, a repository that is not cached fails with one line."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from segment_reference import read_masks, scene, write_video
from train_helpers import overrides, single_thread_env

import openvidseg
from openvidseg.cli import main
from openvidseg.errors import EXIT_FAILED, EXIT_USAGE
from openvidseg.metrics.report import format_score
from openvidseg.weights import read_state_dict

REPO_ID = "openvidseg-tests/frame-tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    """Stands in for HfApi.create_repo / upload_folder: records the calls and a copy of the uploaded files."""

    def __init__(self, monkeypatch, tmp_path: Path, fail: bool = False):
        import huggingface_hub

        self.repos: list[tuple[str, dict]] = []
        self.uploads: list[dict] = []
        self.folder = tmp_path / "uploaded"
        hub = self

        def create_repo(api, repo_id, **kwargs):
            hub.repos.append((repo_id, kwargs))
            return SimpleNamespace(repo_id=repo_id)

        def upload_folder(api, *, repo_id, folder_path, **kwargs):
            if fail:
                raise ConnectionError("network unreachable")
            shutil.copytree(folder_path, hub.folder / repo_id, dirs_exist_ok=True)
            hub.uploads.append({"repo_id": repo_id, **kwargs})
            return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/{COMMIT}")

        monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", create_repo)
        monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
        monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")

    def files(self, repo_id: str = REPO_ID) -> dict[str, Path]:
        return {p.name: p for p in sorted((self.folder / repo_id).iterdir())}


def as_hub_cache(files: dict[str, Path], cache: Path, repo_id: str) -> Path:
    """Lay files out as huggingface_hub's cache holds a downloaded snapshot: models--org--name/snapshots/<commit>/
    and refs/main naming the commit."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name, path in files.items():
        shutil.copyfile(path, snapshot / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty hub cache in tmp_path, offline (this process: huggingface_hub's constants; children: the env)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf" / "hub"
    cache.mkdir(parents=True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    return cache


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 2-step frame_tiny run with an evaluation at its end (the same for every test of the module)."""
    root = tmp_path_factory.mktemp("hub_run")
    out = root / "run"
    assert main(["train", "--config", "frame_tiny_synthetic", "--no-progress", *overrides(
        root / "data", out, "train.max_iters=2", "train.eval_interval=2", "train.seed=3")]) == 0
    return out


def test_train_push_to_hub_uploads_weights_json_and_a_card(trained_run, tmp_path, monkeypatch, capsys):
    hub = FakeHub(monkeypatch, tmp_path)
    out = tmp_path / "run"
    shutil.copytree(trained_run, out)
    # --resume of a finished run trains nothing more and pushes what is there: the path a user takes after a
    # failed push; a fresh run takes the same code path after training
    assert main(["train", "--config", "frame_tiny_synthetic", "--no-progress", "--resume", "--push-to-hub", REPO_ID,
                 *overrides(tmp_path / "data", out, "train.max_iters=2", "train.eval_interval=2",
                            "train.seed=3")]) == 0
    assert hub.repos == [(REPO_ID, {"private": None, "exist_ok": True})]
    assert set(hub.files()) == {"README.md", "model.json", "model.safetensors"}
    assert f"pushed: https://huggingface.co/{REPO_ID}/commit/" in capsys.readouterr().err
    uploaded = read_state_dict(hub.files()["model.safetensors"])
    local = read_state_dict(out / "model.safetensors")
    assert uploaded.keys() == local.keys() and all(torch.equal(uploaded[k], local[k]) for k in local)
    info = json.loads(hub.files()["model.json"].read_text())
    assert info["model"] == "frame_tiny" and info["training"]["preset"] == "frame_tiny_synthetic"
    card = hub.files()["README.md"].read_text()
    metrics = json.loads((out / "eval" / "iter_0000002" / "metrics.json").read_text())
    for expected in ("# openvidseg-tests/frame-tiny", "| model | `frame_tiny` |", "| CLIP | `random:tiny` |",
                     "| training preset | `frame_tiny_synthetic` |",
                     "| data | synthetic (`data`), trained on split `train`, evaluated on `val` |",
                     "| seen / unseen split | `all` (class names: clean) |", "| training | 2 steps, global batch 2,", f"--checkpoint {REPO_ID}", f'load_model("{REPO_ID}")',
                     f"| synthetic, step 2 of training (`val`, split `{metrics['split_def']}`) | gzsl |",
                     f"| {format_score(metrics['mIoU'])} |"):
        assert expected in card, expected
    from huggingface_hub import ModelCard

    data = ModelCard(card).data
    assert data.library_name == "openvidseg" and "video-segmentation" in data.tags
    miou = next(r for r in data.eval_results if r.metric_name == "mIoU")
    assert miou.metric_value == pytest.approx(metrics["mIoU"], abs=0.006) and miou.dataset_split == "val"


def test_hub_snapshot_loads_back_and_segments_like_the_local_checkpoint(trained_run, tmp_path, monkeypatch,
                                                                         offline_cache, capsys):
    hub = FakeHub(monkeypatch, tmp_path)
    url = openvidseg.push_to_hub(trained_run, REPO_ID)
    assert url.endswith(COMMIT)
    as_hub_cache(hub.files(), offline_cache, REPO_ID)
    model = openvidseg.load_model(REPO_ID)
    local = openvidseg.load_model(trained_run / "model.safetensors")
    for (name, a), (_, b) in zip(model.state_dict().items(), local.state_dict().items()):
        assert torch.equal(a, b), name
    assert model.checkpoint_info["training"]["iterations"] == 2
    video = write_video(tmp_path / "clip.mp4", scene(4))
    for checkpoint, folder in ((REPO_ID, "hub"), (str(trained_run / "model.safetensors"), "local")):
        assert main(["segment", str(video), "--classes", "red wall, blue sky", "--checkpoint", checkpoint, "--quiet",
                     "--no-video", "--out", str(tmp_path / folder)]) == 0
    for a, b in zip(read_masks(tmp_path / "hub" / "clip"), read_masks(tmp_path / "local" / "clip"), strict=True):
        np.testing.assert_array_equal(a, b)
    summary = json.loads((tmp_path / "hub" / "clip" / "summary.json").read_text())
    assert summary["settings"]["checkpoint"] == REPO_ID  # the id, not a cache path
    capsys.readouterr()


def test_model_push_to_hub_keeps_the_training_facts_of_a_loaded_model(trained_run, tmp_path, monkeypatch):
    hub = FakeHub(monkeypatch, tmp_path)
    model = openvidseg.load_model(trained_run)  # a run folder works as a checkpoint
    model.push_to_hub("someone/copy", evaluations=[trained_run / "eval" / "iter_0000002"], private=True,
                      commit_message="a copy")
    assert hub.repos == [("someone/copy", {"private": True, "exist_ok": True})]
    assert hub.uploads[0]["commit_message"] == "a copy"
    info = json.loads(hub.files("someone/copy")["model.json"].read_text())
    assert info["training"]["preset"] == "frame_tiny_synthetic" and info["iteration"] == 2
    card = hub.files("someone/copy")["README.md"].read_text()
    assert "| iter_0000002 (`val`" in card and "--checkpoint someone/copy" in card


def test_a_fresh_model_pushes_with_a_card_that_says_what_is_unknown(tmp_path, monkeypatch):
    hub = FakeHub(monkeypatch, tmp_path)
    openvidseg.create_model("frame_tiny").push_to_hub(REPO_ID)
    card = hub.files()["README.md"].read_text()
    assert "| training preset | not recorded |" in card and "Not evaluated when it was published" in card


def test_pushes_that_cannot_work_stop_before_training(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    FakeHub(monkeypatch, tmp_path)
    base = ["train", "--config", "frame_tiny_synthetic", *overrides(tmp_path / "data", tmp_path / "run")]
    assert main([*base, "--push-to-hub", "not a repo"]) == EXIT_USAGE
    assert "'not a repo' is not of the form 'user/name'" in capsys.readouterr().err
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "no_login"))  # no stored token either
    assert main([*base, "--push-to-hub", REPO_ID]) == EXIT_USAGE
    assert "no Hugging Face token; log in with `hf auth login`" in capsys.readouterr().err
    monkeypatch.setenv("HF_TOKEN", "hf_x")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main([*base, "--push-to-hub", REPO_ID]) == EXIT_USAGE
    assert "HF_HUB_OFFLINE is set" in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "data").exists()


def test_a_failed_upload_is_one_line_and_keeps_the_model(trained_run, tmp_path, monkeypatch, capsys):
    FakeHub(monkeypatch, tmp_path, fail=True)
    out = tmp_path / "run"
    shutil.copytree(trained_run, out)
    code = main(["train", "--config", "frame_tiny_synthetic", "--no-progress", "--resume", "--push-to-hub", REPO_ID,
                 *overrides(tmp_path / "data", out, "train.max_iters=2", "train.eval_interval=2", "train.seed=3")])
    error = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert code == EXIT_FAILED and len(error) == 1
    assert f"cannot push to '{REPO_ID}': ConnectionError: network unreachable" in error[0]
    assert f"the trained model stays in {out}" in error[0] and (out / "model.safetensors").is_file()


def test_offline_a_hub_id_that_is_not_cached_fails_with_one_line(tmp_path):
    video = write_video(tmp_path / "clip.mp4", scene(2))
    env = {**single_thread_env(), "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    done = subprocess.run([sys.executable, "-m", "openvidseg", "segment", str(video), "--classes", "a, b",
                           "--checkpoint", "someone/not-cached", "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == EXIT_FAILED and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "cannot get model 'someone/not-cached': not in the Hugging Face cache" in line
    assert "hf download someone/not-cached --local-dir not-cached" in line
    assert "--checkpoint /path/to/model.safetensors" in line
