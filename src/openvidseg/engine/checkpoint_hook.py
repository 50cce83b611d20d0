"""The hook that writes checkpoints every `interval` steps and at the last step, and the final model
(<run>/model.safetensors + model.json) when training ends; plus `restore`, its inverse on resume."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from openvidseg.engine.checkpoint import MODEL_NAME, CheckpointManager, load_training_state, write_model
from openvidseg.engine.distributed import is_distributed, is_main_process, rank, world_size
from openvidseg.engine.hooks import HookBase, is_due
from openvidseg.engine.lr_schedule import PolyWarmupSchedule
from openvidseg.engine.precision import MixedPrecision
from openvidseg.engine.rng import rng_state, set_rng_state
from openvidseg.engine.sampler import GlobalBatchSampler
from openvidseg.errors import TrainingError
from openvidseg.models.checkpoint import load_weights


def gathered_rng_states() -> list[dict[str, Any]]:
    """The RNG state of every process, indexed by rank (the same list on every process)."""
    mine = rng_state()
    if not is_distributed():
        return [mine]
    states: list[Any] = [None] * world_size()
    dist.all_gather_object(states, mine)
    return states


class CheckpointHook(HookBase):
    """Saves model, optimizer, schedule, scaler, RNG states and data position through `manager`, and the
    final model to `final_model` (a .safetensors path). `info` goes into the model JSONs."""

    def __init__(self, manager: CheckpointManager, sampler: GlobalBatchSampler, interval: int,
                 final_model: str | Path, info: dict[str, Any] | None = None):
        self.manager = manager
        self.sampler = sampler
        self.interval = interval
        self.final_model = Path(final_model)
        self.info = info or {}

    def training_state(self) -> dict[str, Any]:
        """What a checkpoint holds besides the model weights (all ranks must call it: RNG states are gathered)."""
        trainer = self.trainer
        return {"optimizer": trainer.optimizer.state_dict(), "schedule": trainer.schedule.state_dict(),
                "scaler": trainer.precision.state_dict(), "precision": trainer.precision.name,
                "sampler": self.sampler.state_dict(trainer.iter), "rng": gathered_rng_states(),
                "world_size": world_size()}

    def before_train(self) -> None:
        """A run resumed from its last step's checkpoint (killed before writing the final model) writes it now."""
        trainer = self.trainer
        if trainer.iter >= trainer.max_iters and is_main_process() and not self.final_model.is_file():
            write_model(trainer.module, self.final_model, {**self.info, "iteration": trainer.iter})

    def after_step(self) -> None:
        trainer = self.trainer
        last = trainer.iter == trainer.max_iters
        if not (is_due(trainer.iter, self.interval, trainer.max_iters) or last):
            return
        state = self.training_state()
        info = {**self.info, "iteration": trainer.iter}
        if is_main_process():
            self.manager.save(trainer.iter, trainer.module, state, info)
            if last:
                write_model(trainer.module, self.final_model, info)


def restore(checkpoint: str | Path, *, module: nn.Module, optimizer: torch.optim.Optimizer,
            schedule: PolyWarmupSchedule, precision: MixedPrecision, sampler: GlobalBatchSampler) -> tuple[int, list[str]]:
    """Load a checkpoint into a fresh run's model, optimizer, schedule and gradient scaler, and this process's
    RNG state. Returns (steps done, warnings about settings that differ from the saved run)."""
    state = load_training_state(checkpoint)
    load_weights(module, Path(checkpoint) / MODEL_NAME)
    try:
        optimizer.load_state_dict(state["optimizer"])
    except (ValueError, KeyError) as err:
        raise TrainingError(f"the optimizer state in {checkpoint} does not fit this model's parameter groups ({err}): "
                            "resume with the config the run was started with") from err
    notes = [f"schedule setting {k} differs from the checkpoint's (the config's value is used)"
             for k in schedule.load_state_dict(state["schedule"])]
    precision.load_state_dict(state.get("scaler") or {})
    changed = sampler.differences(state["sampler"])
    if changed:
        notes.append(f"the data order differs from the interrupted run's ({', '.join(changed)} changed)")
    states = state["rng"]
    if rank() < len(states):
        set_rng_state(states[rank()])
    if len(states) != world_size():
        notes.append(f"the run was saved by {len(states)} process(es) and resumes on {world_size()}")
    return int(state["step"]), notes
