"""The guard against a loss that became NaN or infinite: the run stops at that step, before the step's
update is applied, so no checkpoint ever holds the broken state."""
from __future__ import annotations

import math
from collections.abc import Mapping

from openvidseg.errors import TrainingError


class NonFiniteLossError(TrainingError):
    """The loss of optimiser step `step` (1-based) was NaN or infinite."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


def check_finite_losses(losses: Mapping[str, float], step: int, max_iters: int) -> None:
    """Raise NonFiniteLossError naming step `step` (1-based) and the bad values when any loss is NaN/inf."""
    bad = [name for name, value in losses.items() if not math.isfinite(value)]
    if not bad:
        return
    values = ", ".join(f"{name}={value:.6g}" for name, value in losses.items())
    raise NonFiniteLossError(
        f"the loss became {'NaN' if any(math.isnan(losses[n]) for n in bad) else 'infinite'} at step {step} of "
        f"{max_iters} ({values}); the run stopped before applying that step, and the checkpoints written so far are "
        "kept (resume from the last with train.resume=true). Try a lower train.lr, gradient clipping "
        "(train.grad_clip=1.0), a longer warm-up, or train.precision=fp32", step)
