"""Poly learning-rate decay with a linear warm-up (mmsegmentation's schedule), or step decay (detectron2's
multi-step schedule, when `steps` are given), counted in optimiser steps.

For step i (0-based) and a group's base rate b:
    poly(i)   = (b - min_lr) * (1 - i / max_iters) ** power + min_lr
    step(i)   = b * gamma ** (number of `steps` <= i)                           (instead of poly(i))
    lr(i)     = poly(i) * (1 - (1 - i / warmup_iters) * (1 - warmup_ratio))   for i < warmup_iters
    lr(i)     = poly(i)                                                         otherwise
so the first step runs at poly(0) * warmup_ratio and the rate reaches the poly curve at warmup_iters.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from openvidseg.errors import ConfigError


def poly_warmup_lr(base_lr: float, step: int, *, max_iters: int, power: float = 0.9, warmup_iters: int = 0,
                   warmup_ratio: float = 1e-6, min_lr: float = 0.0, steps: Sequence[int] = (),
                   gamma: float = 0.1) -> float:
    """The learning rate of optimiser step `step` (0-based) for a group whose base rate is `base_lr`."""
    if steps:
        lr = base_lr * gamma ** sum(step >= s for s in steps)
    else:
        progress = min(max(step, 0), max_iters) / max_iters
        lr = (base_lr - min_lr) * (1.0 - progress) ** power + min_lr
    if step < warmup_iters:
        lr *= 1.0 - (1.0 - step / warmup_iters) * (1.0 - warmup_ratio)
    return lr


class PolyWarmupSchedule:
    """Sets the learning rate of every optimizer group before each step (`apply(step)`); the group's base
    rate is its "initial_lr" (recorded at construction from the group's "lr")."""

    def __init__(self, optimizer: torch.optim.Optimizer, *, max_iters: int, power: float = 0.9,
                 warmup_iters: int = 0, warmup_ratio: float = 1e-6, min_lr: float = 0.0, steps: Sequence[int] = (),
                 gamma: float = 0.1):
        if max_iters < 1:
            raise ConfigError(f"train.max_iters must be at least 1, got {max_iters}")
        if warmup_iters < 0 or not 0.0 <= warmup_ratio <= 1.0:
            raise ConfigError(f"need train.warmup_iters >= 0 and 0 <= train.warmup_ratio <= 1, got {warmup_iters} "
                              f"and {warmup_ratio}")
        self.optimizer = optimizer
        self.max_iters, self.power = max_iters, power
        self.warmup_iters, self.warmup_ratio, self.min_lr = warmup_iters, warmup_ratio, min_lr
        self.steps, self.gamma = tuple(int(s) for s in steps), gamma
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.last_step = -1

    def lr_at(self, base_lr: float, step: int) -> float:
        return poly_warmup_lr(base_lr, step, max_iters=self.max_iters, power=self.power,
                              warmup_iters=self.warmup_iters, warmup_ratio=self.warmup_ratio, min_lr=self.min_lr,
                              steps=self.steps, gamma=self.gamma)

    def apply(self, step: int) -> None:
        """Set every group's lr for optimiser step `step` (0-based)."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(group["initial_lr"], step)
        self.last_step = step

    def state_dict(self) -> dict[str, Any]:
        return {"max_iters": self.max_iters, "power": self.power, "warmup_iters": self.warmup_iters,
                "warmup_ratio": self.warmup_ratio, "min_lr": self.min_lr, "last_step": self.last_step}

    def load_state_dict(self, state: dict[str, Any]) -> list[str]:
        """Continue a saved schedule. Its shape stays the one this schedule was built with (the config's, so
        a resumed run may extend max_iters); returns the names of the saved settings that differ."""
        self.last_step = int(state["last_step"])
        return [k for k in ("max_iters", "power", "warmup_iters", "warmup_ratio", "min_lr")
                if float(state[k]) != float(getattr(self, k))]
