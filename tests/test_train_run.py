"""Whole training runs of the tiny presets on a generated dataset: the loss falls, the run folder holds
what `openvidseg eval` needs, a killed run resumes to the same losses, a NaN stops the run at its step,
and the command refuses what it cannot do before writing anything."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import pytest
import torch

from openvidseg.cli import main
from openvidseg.config import load_config
from openvidseg.engine.checkpoint import load_training_state, resolve_latest
from openvidseg.engine.event_log import read_log
from openvidseg.engine.hooks import HookBase
from openvidseg.engine.training import run_training
from openvidseg.errors import TrainingError
from train_helpers import losses, overrides, single_thread_env


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """Where the tiny synthetic set is generated (by the first run that needs it)."""
    return tmp_path_factory.mktemp("train_data") / "synthetic"


def test_tiny_model_learns_and_its_run_folder_serves_eval(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--config", "frame_tiny_synthetic", "--no-progress",
            *overrides(data_root, out, "train.max_iters=30", "train.eval_interval=30", "train.checkpoint_interval=10",
                       "train.keep_checkpoints=2")]
    assert main(args) == 0
    curve = losses(out / "log.jsonl")
    assert sorted(curve) == list(range(1, 31))
    first, last = sum(curve[i] for i in range(1, 6)) / 5, sum(curve[i] for i in range(26, 31)) / 5
    assert last < 0.85 * first  # measured on seed 0: 2.43 -> 1.66 (0.69); seeds 1, 2: 0.66, 0.73
    record = read_log(out / "log.jsonl", "train")[0]
    assert {"loss", "loss_ce", "loss_aux", "lr/head", "seconds", "it/s", "eta_seconds"} <= set(record)
    evaluation = read_log(out / "log.jsonl", "eval")
    assert [r["iteration"] for r in evaluation] == [30] and 0 <= evaluation[0]["mIoU"] <= 100
    assert (out / "eval" / "iter_0000030" / "metrics.json").is_file()
    assert [p.name for p in sorted((out / "checkpoints").glob("iter_*"))] == ["iter_0000020", "iter_0000030"]
    assert resolve_latest(out / "checkpoints").name == "iter_0000030"
    assert load_config(out / "config.yaml").train.max_iters == 30
    environment = json.loads((out / "environment.json").read_text())
    assert environment[0]["world_size"] == 1 and environment[0]["torch"] == torch.__version__
    assert any((out / "tensorboard").iterdir())
    info = json.loads((out / "model.json").read_text())
    assert info["model"] == "frame_tiny" and info["iteration"] == 30
    capsys.readouterr()
    eval_args = ["eval", "--config", "frame_tiny_synthetic", "--checkpoint", str(out / "model.safetensors"),
                 "--out", str(tmp_path / "eval"), "--no-progress", *overrides(data_root, out)]
    assert main(eval_args) == 0
    scores = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert scores["mIoU"] == pytest.approx(evaluation[0]["mIoU"], abs=1e-6)  # the trained model, same frames


def test_a_killed_run_resumes_to_the_losses_of_an_uninterrupted_one(data_root, tmp_path):
    run = ["train.max_iters=12", "train.checkpoint_interval=3", "data.reverse_prob=0.5", "train.grad_clip=1.0"]
    reference = run_training(load_config("ov2vss_tiny_synthetic", overrides(data_root, tmp_path / "full", *run)),
                             progress=False)
    killed = tmp_path / "killed"
    script = textwrap.dedent(f"""
        from openvidseg.config import load_config
        from openvidseg.engine.training import run_training
        from train_helpers import KillSelf, overrides
        cfg = load_config("ov2vss_tiny_synthetic", overrides({str(data_root)!r}, {str(killed)!r}, *{run!r}))
        run_training(cfg, progress=False, extra_hooks=[KillSelf(7)])
    """)
    child = subprocess.run([sys.executable, "-c", script], cwd=str(tmp_path), env=single_thread_env(),
                           capture_output=True, text=True, timeout=300)
    assert child.returncode == -9, child.stderr[-2000:]  # SIGKILL
    assert sorted(losses(killed / "log.jsonl")) == list(range(1, 8))  # steps 1..7 logged before the kill
    assert resolve_latest(killed / "checkpoints").name == "iter_0000006" and not (killed / "model.safetensors").exists()
    assert main(["train", "--config", "ov2vss_tiny_synthetic", "--resume", "--no-progress",
                 *overrides(data_root, killed, *run)]) == 0
    resumed, full = losses(killed / "log.jsonl"), losses(tmp_path / "full" / "log.jsonl")
    assert sorted(resumed) == list(range(1, 13))  # step 7 logged once: the killed run's record was dropped
    for step in range(1, 13):
        assert resumed[step] == pytest.approx(full[step], abs=1e-6), step
    assert reference.last_losses["loss"] == pytest.approx(full[12])
    state = load_training_state(killed / "checkpoints" / "iter_0000012")
    assert state["sampler"]["epoch"] == 1 and state["sampler"]["step_in_epoch"] == 0  # 24 clips / 2 = 12 steps
    assert len(state["rng"]) == 1 and state["optimizer"]["state"]
    environment = json.loads((killed / "environment.json").read_text())
    assert len(environment) == 2  # the first session and the resumed one


class PoisonLoss(HookBase):
    """Makes the model's loss NaN from step `step` on (a forward hook registered before that step)."""

    def __init__(self, step: int):
        self.step = step

    def before_step(self) -> None:
        if self.trainer.iter + 1 == self.step:
            self.trainer.module.register_forward_hook(lambda module, args, out: {**out, "loss": out["loss"] * float("nan")})


def test_a_nan_loss_stops_the_run_at_its_step_without_checkpointing_it(data_root, tmp_path):
    out = tmp_path / "run"
    cfg = load_config("frame_tiny_synthetic", overrides(data_root, out, "train.max_iters=6", "train.checkpoint_interval=2"))
    with pytest.raises(TrainingError, match=r"loss became NaN at step 3 of 6 \(loss=nan, loss_aux=[0-9.]+, loss_ce="):
        run_training(cfg, progress=False, extra_hooks=[PoisonLoss(3)])
    assert [p.name for p in (out / "checkpoints").glob("iter_*")] == ["iter_0000002"]
    assert sorted(losses(out / "log.jsonl")) == [1, 2] and not (out / "model.safetensors").exists()


def test_bf16_trains_on_the_cpu(data_root, tmp_path):
    summary = run_training(load_config("frame_tiny_synthetic", overrides(data_root, tmp_path / "run", "train.max_iters=3",
                                                                        "train.precision=bf16")), progress=False)
    assert all(math.isfinite(v) for v in summary.last_losses.values())
    assert load_training_state(tmp_path / "run" / "checkpoints" / "iter_0000003")["precision"] == "bf16"


@pytest.mark.parametrize("preset, extra, message", [
    ("frame_tiny_synthetic", ["train.lrr=1"], "unknown config key 'train.lrr'; close matches: train.lr"),
    ("dense_clip_tiny_synthetic", [], "model 'dense_clip_tiny' has no trainable parameters"),
    ("frame_tiny_synthetic", ["train.precision=fp16", "device=cpu"], "fp16 needs a CUDA GPU"),
    ("ov2vss_tiny_synthetic", ["data.random_frame=false"], "RFE would be applied at test time without ever being"),
    # values found only once the run had started (a run folder was left behind, or the run went on with them)
    ("frame_tiny_synthetic", ["train.precision=fp8"], "train.precision=fp8 (use one of fp32, bf16, fp16)"),
    ("frame_tiny_synthetic", ["train.warmup_ratio=2"], "train.warmup_ratio=2.0 (use a number from 0 to 1)"),
    ("frame_tiny_synthetic", ["eval.protocol=bogus"], "eval.protocol=bogus (use one of gzsl, seen, unseen)"),
    ("frame_tiny_synthetic", ["train.lr=-1", "data.num_workers=-1"],
     "bad config values: data.num_workers=-1 (use a number >= 0); train.lr=-1.0 (use a number > 0)"),
    ("frame_tiny_synthetic", ["model.aggregation=bogus"], "unknown cost aggregation 'bogus'"),
])
def test_refused_runs_write_nothing(data_root, tmp_path, capsys, preset, extra, message):
    out = tmp_path / "run"
    assert main(["train", "--config", preset, *overrides(data_root, out, *extra)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.strip().count("\n") == 0
    assert not out.exists()


def test_an_output_folder_holding_a_run_is_refused_unless_told(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--config", "frame_tiny_synthetic", "--no-progress", *overrides(data_root, out, "train.max_iters=2")]
    assert main(args) == 0
    (out / "notes.txt").write_text("mine")
    capsys.readouterr()
    assert main(args) == 2
    assert "already holds a training run" in capsys.readouterr().err
    assert main([*args, "--resume", "--overwrite"]) == 2
    assert "contradict" in capsys.readouterr().err
    assert main([*args[:4], "--overwrite", *args[4:], "train.max_iters=3"]) == 0
    assert sorted(losses(out / "log.jsonl")) == [1, 2, 3] and (out / "notes.txt").read_text() == "mine"
    (out / "model.safetensors").unlink()  # as if killed after the last checkpoint, before the final model
    assert main([*args[:4], "--resume", *args[4:], "train.max_iters=3"]) == 0
    assert (out / "model.safetensors").is_file() and sorted(losses(out / "log.jsonl")) == [1, 2, 3]
