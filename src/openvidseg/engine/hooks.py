"""Hooks: what a training run does around its steps (logging, checkpoints, evaluation), kept out of
the train loop. A hook overrides any of the four calls; `self.trainer` is set when it is registered.

    before_train()   once, before the first step (after a resume: before the first new step)
    before_step()    before each optimiser step; trainer.iter = steps done so far
    after_step()     after each step; trainer.iter = steps done, including this one
    after_train()    once at the end, also when the run stops with an error (close files, bars)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openvidseg.engine.trainer import Trainer


class HookBase:
    """Base class of training hooks; every call does nothing unless overridden."""

    trainer: Trainer

    def before_train(self) -> None:
        pass

    def before_step(self) -> None:
        pass

    def after_step(self) -> None:
        pass

    def after_train(self) -> None:
        pass


def is_due(step: int, interval: int, last: int) -> bool:
    """Whether a periodic action runs after `step`: every `interval` steps (0 = never) and at the last step."""
    return interval > 0 and (step % interval == 0 or step == last)
