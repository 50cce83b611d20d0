"""DDP: `torchrun --nproc_per_node 2 -m openvidseg train` (gloo on the CPU) gives the loss curve, weights
and evaluation of one process that sees the same global batches (2 processes x 1 micro-batch against
1 process x 2 accumulated micro-batches of the same items)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from openvidseg.config import load_config
from openvidseg.engine.checkpoint import load_training_state
from openvidseg.engine.event_log import read_log
from openvidseg.engine.training import run_training
from openvidseg.weights import read_state_dict
from train_helpers import losses, overrides, single_thread_env

RUN = ["train.max_iters=8", "train.checkpoint_interval=4", "train.eval_interval=8", "data.synthetic.splits.val=2",
       "eval.max_videos=2", "data.batch_size=2"]
# Gradients are averaged over processes by DDP ((g1 + g2) / 2) and over micro-batches by accumulation
# (g1 / 2 + g2 / 2): the same numbers, as halving is exact in floating point. Measured here: identical
# curves (difference 0.0 over 8 steps); 1e-5 leaves room for other reduction orders (more processes).
TOLERANCE = 1e-5


def test_two_gloo_processes_train_like_one_process_with_the_same_global_batch(tmp_path):
    data_root = tmp_path / "data"
    single = run_training(load_config("ov2vss_tiny_synthetic", overrides(data_root, tmp_path / "single", *RUN,
                                                                        "train.accumulation=2")), progress=False)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "openvidseg", "train", "--config", "ov2vss_tiny_synthetic", "--no-progress",
               *overrides(data_root, tmp_path / "ddp", *RUN, "train.accumulation=1")]
    child = subprocess.run(command, cwd=str(tmp_path), env=single_thread_env(), capture_output=True, text=True,
                           timeout=600)
    assert child.returncode == 0, child.stdout[-2000:] + child.stderr[-4000:]
    assert child.stderr.count("training ov2vss_tiny") == 1  # only rank 0 logs (on stderr)
    one, two = losses(tmp_path / "single" / "log.jsonl"), losses(tmp_path / "ddp" / "log.jsonl")
    assert sorted(one) == sorted(two) == list(range(1, 9))
    for step in one:
        assert two[step] == pytest.approx(one[step], abs=TOLERANCE, rel=TOLERANCE), step
    assert len(set(one.values())) == 8  # a real curve, not a constant
    weights_one = read_state_dict(tmp_path / "single" / "model.safetensors")
    weights_two = read_state_dict(tmp_path / "ddp" / "model.safetensors")
    assert weights_one.keys() == weights_two.keys()
    for key in weights_one:
        torch.testing.assert_close(weights_two[key], weights_one[key], rtol=1e-4, atol=1e-5)
    state = load_training_state(tmp_path / "ddp" / "checkpoints" / "iter_0000008")
    assert state["world_size"] == 2 and len(state["rng"]) == 2 and state["sampler"]["global_batch"] == 4
    assert json.loads((tmp_path / "ddp" / "environment.json").read_text())[0]["world_size"] == 2
    eval_one = read_log(tmp_path / "single" / "log.jsonl", "eval")[0]
    eval_two = read_log(tmp_path / "ddp" / "log.jsonl", "eval")[0]
    assert eval_two["num_videos"] == eval_one["num_videos"] == 2  # one video per process, summed
    assert eval_two["aAcc"] == pytest.approx(eval_one["aAcc"], abs=0.05)  # nearly identical weights
    assert single.last_losses["loss"] == pytest.approx(one[8])
