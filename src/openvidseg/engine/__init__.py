"""Training and evaluation machinery: the train loop and its hooks, optimizer groups, learning-rate
schedule, mixed precision, the global-batch sampler, checkpoints, the event log, the evaluator and
distributed helpers. `run_training(cfg)` runs a whole training from a config.

Names are imported on first use, so `import openvidseg.engine` stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Trainer": "openvidseg.engine.trainer",
    "HookBase": "openvidseg.engine.hooks",
    "run_training": "openvidseg.engine.training",
    "TrainSummary": "openvidseg.engine.training",
    "evaluate": "openvidseg.engine.evaluator",
    "CheckpointManager": "openvidseg.engine.checkpoint",
    "GlobalBatchSampler": "openvidseg.engine.sampler",
    "PolyWarmupSchedule": "openvidseg.engine.lr_schedule",
    "MixedPrecision": "openvidseg.engine.precision",
    "build_optimizer": "openvidseg.engine.optimizer",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openvidseg.engine' has no attribute '{name}'")


__all__ = list(_LAZY)
