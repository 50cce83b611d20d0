"""The train loop: a minimal trainer that runs optimiser steps and calls hooks around them.

One optimiser step = `accumulation` micro-batches (forward, backward; under DDP the gradients are
synchronised on the last one only), the losses averaged over micro-batches and processes, the NaN guard,
gradient unscaling and clipping, the update. Logging, checkpoints and evaluation are hooks.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from openvidseg.engine.distributed import is_distributed, world_size
from openvidseg.engine.hooks import HookBase
from openvidseg.engine.lr_schedule import PolyWarmupSchedule
from openvidseg.engine.nan_guard import check_finite_losses
from openvidseg.engine.optimizer import group_lrs
from openvidseg.engine.precision import MixedPrecision


class Trainer:
    """Trains `model` (an OpenVocabularyModel, or one wrapped in DistributedDataParallel) on `batches` (collated
    training items, e.g. "frames" (B, T, 3, H, W) uint8 and "label" (B, H, W) int64 for semantic models; the
    model's `batch_inputs` turns one into forward arguments) against the vocabulary `class_names`, from step
    `start_iter` to `max_iters`.

    State the hooks read: `iter` (optimiser steps done), `max_iters`, `start_iter`, `last_losses`
    ({"loss", "loss_ce", ...}: means over the step's micro-batches and all processes), `last_lrs`
    ({"backbone", "head"}: the rates the step used), `last_grad_norm` (when clipping), `last_step_seconds`,
    `last_data_seconds`.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        schedule: PolyWarmupSchedule,
        batches: Iterator[dict[str, Any]],
        class_names: Sequence[str],
        *,
        device: torch.device,
        max_iters: int,
        accumulation: int = 1,
        grad_clip: float | None = None,
        precision: MixedPrecision | None = None,
        start_iter: int = 0,
        hooks: Iterable[HookBase] = (),
    ):
        self.model = model
        self.module = model.module if isinstance(model, DistributedDataParallel) else model
        self.optimizer = optimizer
        self.schedule = schedule
        self.batches = batches
        self.class_names = tuple(class_names)
        self.device = device
        self.max_iters = max_iters
        self.accumulation = accumulation
        self.grad_clip = grad_clip
        self.precision = precision or MixedPrecision("fp32", device)
        self.start_iter = self.iter = start_iter
        self.last_losses: dict[str, float] = {}
        self.last_lrs: dict[str, float] = {}
        self.last_grad_norm: float | None = None
        self.last_step_seconds = self.last_data_seconds = 0.0
        self.hooks: list[HookBase] = []
        self.register_hooks(hooks)

    def register_hooks(self, hooks: Iterable[HookBase]) -> None:
        """Add hooks; they run in the order given."""
        for hook in hooks:
            hook.trainer = self
            self.hooks.append(hook)

    def train(self) -> None:
        """Run steps until `max_iters`; `after_train` hooks run even when a step raises."""
        self.model.train()
        try:
            for hook in self.hooks:
                hook.before_train()
            while self.iter < self.max_iters:
                for hook in self.hooks:
                    hook.before_step()
                self.run_step()
                self.iter += 1
                for hook in self.hooks:
                    hook.after_step()
        finally:
            for hook in self.hooks:
                hook.after_train()

    def run_step(self) -> None:
        """One optimiser step (step number `self.iter + 1`)."""
        start = time.perf_counter()
        self.schedule.apply(self.iter)
        self.last_lrs = group_lrs(self.optimizer)
        self.optimizer.zero_grad(set_to_none=True)
        totals: dict[str, torch.Tensor] = {}
        data_seconds = 0.0
        for micro in range(self.accumulation):
            fetched = time.perf_counter()
            batch = next(self.batches)
            data_seconds += time.perf_counter() - fetched
            last = micro == self.accumulation - 1
            sync = contextlib.nullcontext() if last or not isinstance(self.model, DistributedDataParallel) \
                else self.model.no_sync()
            with sync:
                with self.precision.autocast():
                    out = self.forward(batch)
                self.precision.backward(out["loss"] / self.accumulation)
            for name, value in out.items():
                if name.startswith("loss"):
                    totals[name] = totals.get(name, 0.0) + value.detach().float() / self.accumulation
        self.last_losses = self.reduce(totals)
        check_finite_losses(self.last_losses, self.iter + 1, self.max_iters)
        self.last_grad_norm = None
        if self.grad_clip is not None and self.grad_clip > 0:
            self.precision.unscale_(self.optimizer)
            params = [p for group in self.optimizer.param_groups for p in group["params"]]
            self.last_grad_norm = float(torch.nn.utils.clip_grad_norm_(params, self.grad_clip))
        self.precision.step(self.optimizer)
        self.module.trained_weights = "trained in this process"  # segmenting with it is no longer refused
        self.last_data_seconds = data_seconds
        self.last_step_seconds = time.perf_counter() - start

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The model's outputs ("loss", "loss_ce", ...) on one collated micro-batch (the model's `batch_inputs`
        say which arguments the batch gives)."""
        return self.model(class_names=self.class_names, **self.module.batch_inputs(batch, self.device))

    @staticmethod
    def reduce(totals: dict[str, torch.Tensor]) -> dict[str, float]:
        """Average per-process values over all processes (every process gets the same numbers)."""
        names = sorted(totals)
        values = torch.stack([totals[n] for n in names])
        if is_distributed():
            dist.all_reduce(values)
            values /= world_size()
        return dict(zip(names, values.tolist()))
