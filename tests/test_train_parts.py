"""The training engine's parts on their own: parameter groups and weight decay, the learning-rate schedule,
the global-batch sampler, checkpoints (rotation, latest, atomic writes, weights-only loading), RNG
state, the event log, precision and the NaN guard."""
from __future__ import annotations

import json
import random
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from openvidseg.engine.checkpoint import CheckpointManager, load_training_state, resolve_latest
from openvidseg.engine.event_log import EventLog, read_log, truncate_log
from openvidseg.engine.lr_schedule import PolyWarmupSchedule, poly_warmup_lr
from openvidseg.engine.nan_guard import NonFiniteLossError, check_finite_losses
from openvidseg.engine.optimizer import build_optimizer, build_param_groups
from openvidseg.engine.precision import MixedPrecision
from openvidseg.engine.rng import preserved_rng, rng_state, seed_everything, set_rng_state
from openvidseg.engine.sampler import GlobalBatchSampler
from openvidseg.errors import ConfigError, TrainingError


def test_param_groups_split_lr_and_weight_decay():
    weight, bias, head_weight, scale = (nn.Parameter(torch.ones(s)) for s in ((4, 3), (4,), (2, 4, 3, 3), ()))
    groups = build_param_groups({"backbone": [weight, bias], "head": [head_weight, scale]}, lr=1e-3,
                                lr_mults={"head": 10.0}, weight_decay=0.01)
    summary = [(g["name"], g["lr"], g["weight_decay"], [tuple(p.shape) for p in g["params"]]) for g in groups]
    assert summary == [("backbone", 1e-3, 0.01, [(4, 3)]), ("backbone_no_decay", 1e-3, 0.0, [(4,)]),
                       ("head", 1e-2, 0.01, [(2, 4, 3, 3)]), ("head_no_decay", 1e-2, 0.0, [()])]
    assert build_param_groups({"backbone": [], "head": [bias]}, 1.0, {}, 0.1)[0]["name"] == "head_no_decay"


def test_adamw_decays_only_matrices_of_the_tiny_model():
    from openvidseg.models import create_model

    model = create_model("ov2vss_tiny")
    optimizer = build_optimizer(model, lr=1e-3, head_lr_mult=10.0, weight_decay=0.5)
    grouped = [p for g in optimizer.param_groups for p in g["params"]]
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(grouped) == len(trainable) == len({id(p) for p in grouped})  # each trainable parameter once
    norms = [p for m in model.modules() if isinstance(m, (nn.LayerNorm, nn.GroupNorm)) for p in m.parameters()
             if p.requires_grad]
    no_decay = {id(p) for g in optimizer.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    assert norms and all(id(p) in no_decay for p in norms)
    assert id(model.aux_scale) in no_decay  # a learnable scalar
    before = {id(p): p.detach().clone() for p in grouped}
    for p in grouped:
        p.grad = torch.zeros_like(p)
    optimizer.step()  # zero gradients: Adam moves nothing, decoupled decay shrinks by lr * wd
    for group in optimizer.param_groups:
        factor = 1 - group["lr"] * group["weight_decay"]
        assert group["lr"] == pytest.approx(1e-2)  # everything is head: CLIP is frozen
        for p in group["params"]:
            torch.testing.assert_close(p.detach(), before[id(p)] * factor, rtol=1e-6, atol=0)


def test_a_model_with_nothing_to_train_is_refused():
    from openvidseg.models import create_model

    with pytest.raises(TrainingError, match="dense_clip_tiny.*no trainable parameters.*openvidseg eval"):
        build_optimizer(create_model("dense_clip_tiny"), 1e-3, 10.0, 0.01)


def test_step_schedule_decays_by_gamma_at_each_step_after_the_warmup():
    kwargs = dict(max_iters=100, warmup_iters=10, warmup_ratio=0.5, steps=(60, 80), gamma=0.1)
    assert poly_warmup_lr(1e-3, 0, **kwargs) == pytest.approx(5e-4)  # warm-up from half the rate
    assert poly_warmup_lr(1e-3, 30, **kwargs) == pytest.approx(1e-3)
    assert poly_warmup_lr(1e-3, 59, **kwargs) == pytest.approx(1e-3)
    assert poly_warmup_lr(1e-3, 60, **kwargs) == pytest.approx(1e-4)
    assert poly_warmup_lr(1e-3, 99, **kwargs) == pytest.approx(1e-5)


def test_poly_schedule_with_linear_warmup_matches_hand_computed_values():
    kwargs = dict(max_iters=100, power=0.9, warmup_iters=10, warmup_ratio=0.1)
    assert poly_warmup_lr(1e-3, 0, **kwargs) == pytest.approx(1e-4)  # poly 1 x warm-up 0.1
    assert poly_warmup_lr(1e-3, 5, **kwargs) == pytest.approx(1e-3 * 0.95 ** 0.9 * 0.55)  # 1 - 0.5 * 0.9
    assert poly_warmup_lr(1e-3, 10, **kwargs) == pytest.approx(9.0953e-4, rel=1e-4)  # 0.9 ** 0.9
    assert poly_warmup_lr(1e-3, 50, **kwargs) == pytest.approx(5.3589e-4, rel=1e-4)  # 0.5 ** 0.9
    assert poly_warmup_lr(1e-3, 100, **kwargs) == 0.0
    assert poly_warmup_lr(1e-3, 100, min_lr=1e-5, **kwargs) == pytest.approx(1e-5)
    assert poly_warmup_lr(1e-3, 50, min_lr=1e-5, **kwargs) == pytest.approx(9.9e-4 * 0.5 ** 0.9 + 1e-5)
    weights = [nn.Parameter(torch.ones(2, 2)), nn.Parameter(torch.ones(2, 2))]
    optimizer = torch.optim.AdamW([{"params": weights[:1], "lr": 1e-3}, {"params": weights[1:], "lr": 1e-2}])
    schedule = PolyWarmupSchedule(optimizer, **kwargs)
    schedule.apply(50)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([5.3589e-4, 5.3589e-3], rel=1e-4)
    restored = PolyWarmupSchedule(optimizer, **{**kwargs, "max_iters": 200})
    assert restored.load_state_dict(schedule.state_dict()) == ["max_iters"] and restored.last_step == 50


def test_sampler_global_batches_do_not_depend_on_the_process_count():
    one = GlobalBatchSampler(22, batch_size=2, accumulation=2, world_size=1, rank=0, seed=3)
    two = [GlobalBatchSampler(22, batch_size=2, accumulation=1, world_size=2, rank=r, seed=3) for r in (0, 1)]
    assert one.global_batch == two[0].global_batch == 4 and one.steps_per_epoch == 5  # 22 // 4, 2 items dropped
    for step in range(12):  # across epoch boundaries
        single = one.step_micro_batches(step)
        assert sorted(single) == sorted(s.step_micro_batches(step)[0] for s in two)
    epoch0 = [i for step in range(5) for batch in one.step_micro_batches(step) for i in batch]
    assert len(set(epoch0)) == 20 and set(epoch0) <= set(range(22))  # no item twice in an epoch
    assert one.step_micro_batches(5) != one.step_micro_batches(0)  # the next epoch is shuffled anew
    assert one.position(7) == (1, 2) and one.state_dict(7)["epoch"] == 1 and one.state_dict(7)["step_in_epoch"] == 2
    resumed = list(one.micro_batches(1, start=2))  # what a run resumed after 7 steps reads first
    assert resumed[:2] == one.step_micro_batches(7)
    assert one.differences(GlobalBatchSampler(22, 4, 1, seed=3).state_dict(0)) == []
    assert one.differences(GlobalBatchSampler(22, 2, 1, seed=3).state_dict(0)) == ["global_batch"]


def test_sampler_refuses_a_dataset_smaller_than_a_global_batch():
    with pytest.raises(ConfigError, match="3 items, fewer than one global batch of 4"):
        GlobalBatchSampler(3, batch_size=2, accumulation=2)


class _Tiny(nn.Module):
    """The smallest model `save_model` accepts."""

    variant_name = "tiny_test"
    build_options: dict = {}

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 2)


def test_checkpoints_rotate_and_latest_points_at_the_newest(tmp_path):
    manager = CheckpointManager(tmp_path / "checkpoints", keep=2)
    model = _Tiny()
    for step in (10, 20, 30, 40):
        manager.save(step, model, {"value": torch.tensor([step])})
    assert [s for s, _ in manager.checkpoints()] == [30, 40]
    assert resolve_latest(tmp_path / "checkpoints") == (tmp_path / "checkpoints" / "iter_0000040").resolve()
    state = load_training_state(manager.latest())
    assert state["step"] == 40 and state["value"].item() == 40
    info = json.loads((manager.latest() / "model.json").read_text())
    assert info["model"] == "tiny_test"


def test_a_failed_checkpoint_write_leaves_nothing_partial(tmp_path, monkeypatch):
    manager = CheckpointManager(tmp_path / "checkpoints", keep=3)
    manager.save(1, _Tiny(), {})

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        manager.save(2, _Tiny(), {})
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["iter_0000001", "latest"]
    assert resolve_latest(tmp_path / "checkpoints").name == "iter_0000001"


def test_training_state_with_pickled_objects_is_refused(tmp_path):
    folder = tmp_path / "iter_0000001"
    folder.mkdir()
    torch.save({"format": "openvidseg-train-state/1", "evil": _Tiny}, folder / "training_state.pt")
    with pytest.raises(TrainingError, match="cannot read"):
        load_training_state(folder)


def test_rng_state_survives_a_weights_only_round_trip(tmp_path):
    seed_everything(5)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's legacy state
    torch.save(rng_state(), tmp_path / "rng.pt")
    expected = (random.random(), np.random.standard_normal(3).tolist(), torch.rand(3).tolist())
    set_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    assert (random.random(), np.random.standard_normal(3).tolist(), torch.rand(3).tolist()) == expected
    seed_everything(9)
    with preserved_rng():  # an evaluation drawing numbers ...
        torch.rand(100), np.random.random(100), random.random()
    after = (random.random(), np.random.random(), torch.rand(1).item())
    seed_everything(9)
    assert after == (random.random(), np.random.random(), torch.rand(1).item())  # ... changes nothing after it


def test_event_log_truncates_on_resume_and_warns_once_without_tensorboard(tmp_path, monkeypatch):
    import openvidseg.engine.event_log as event_log

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if tensorboard were not installed
    monkeypatch.setattr(event_log, "_warned", False)
    with pytest.warns(UserWarning, match="tensorboard is not installed"):
        log = EventLog(tmp_path)
    for step in (1, 2, 3):
        log.write({"type": "train", "iteration": step, "loss": 1.0 / step})
    log.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        EventLog(tmp_path).close()
    assert not caught  # one warning per process, not one per log
    truncate_log(tmp_path / "log.jsonl", after=2)
    assert [r["iteration"] for r in read_log(tmp_path / "log.jsonl")] == [1, 2]
    assert not (tmp_path / "tensorboard").exists()


def test_event_log_writes_tensorboard_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log = EventLog(tmp_path)
    log.write({"type": "train", "iteration": 3, "loss": 0.5, "lr/head": 1e-3, "note": "text"})
    log.write({"type": "eval", "iteration": 3, "mIoU": 42.0, "VC8": None})
    log.close()
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert sorted(events.Tags()["scalars"]) == ["eval/mIoU", "train/loss", "train/lr/head"]
    assert events.Scalars("train/loss")[0].step == 3 and events.Scalars("eval/mIoU")[0].value == 42.0


def test_fp16_needs_a_gpu_and_bf16_autocasts_on_the_cpu():
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU.*bf16 or fp32"):
        MixedPrecision("fp16", torch.device("cpu"))
    bf16 = MixedPrecision("bf16", torch.device("cpu"))
    with bf16.autocast():
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    assert bf16.scaler is None and bf16.state_dict() == {}


def test_nan_guard_names_the_step_and_the_values():
    check_finite_losses({"loss": 1.0, "loss_ce": 0.5}, step=3, max_iters=10)
    with pytest.raises(NonFiniteLossError, match=r"NaN at step 7 of 10 \(loss=nan, loss_ce=0\.5\)") as err:
        check_finite_losses({"loss": float("nan"), "loss_ce": 0.5}, step=7, max_iters=10)
    assert err.value.step == 7
    with pytest.raises(NonFiniteLossError, match="infinite at step 2"):
        check_finite_losses({"loss": float("inf")}, step=2, max_iters=10)


class _EpochItems(torch.utils.data.Dataset):
    """Item i of epoch e is 100 e + i: shows which epoch a DataLoader worker saw."""

    def __init__(self, size: int):
        self.size, self.epoch = size, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        return {"value": torch.tensor(100 * self.epoch + index)}


@pytest.mark.parametrize("workers", [0, 2])
def test_batch_stream_resumes_mid_epoch_and_sets_each_epoch(workers):
    from openvidseg.engine.sampler import train_batches

    sampler = GlobalBatchSampler(10, batch_size=2, seed=1)  # 5 steps per epoch
    stream = train_batches(_EpochItems(10), sampler, start_step=3, num_workers=workers)
    got = [next(stream)["value"].tolist() for _ in range(4)]  # steps 3, 4 of epoch 0, then 0, 1 of epoch 1
    expected = [sampler.step_micro_batches(s)[0] for s in (3, 4)] + \
               [[100 + i for i in sampler.step_micro_batches(s)[0]] for s in (5, 6)]
    assert got == expected
