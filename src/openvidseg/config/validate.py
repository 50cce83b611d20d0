"""Checking a whole config's values before anything runs: `load_config` calls `check_config`, so a run with
a bad value (train.precision=fp8, train.lr=-1, eval.protocol=bogus, ...) stops before it creates a run
folder, generates data or builds a model, with one error naming every bad key and what it accepts.

Types and unknown keys are checked by the schema (OmegaConf); this module checks ranges and choices.
`data.dataset` is left to the dataset builders (every task family adds its own kinds), which also run
before anything is written.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from openvidseg.config.schema import ExperimentConfig
from openvidseg.errors import ConfigError


def _at_least(low: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v >= low), f"a number >= {low:g}"


def _above(low: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v > low), f"a number > {low:g}"


def _unit() -> tuple[Callable[[Any], bool], str]:
    return (lambda v: 0 <= v <= 1), "a number from 0 to 1"


def _one_of(*choices: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in choices), "one of " + ", ".join(choices)


def _optional(rule: tuple[Callable[[Any], bool], str]) -> tuple[Callable[[Any], bool], str]:
    check, accepted = rule
    return (lambda v: v is None or check(v)), f"null or {accepted}"


def _pair(check: Callable[[Any], bool], accepted: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: len(v) == 2 and all(check(x) for x in v)), accepted


def rules() -> dict[str, tuple[Callable[[Any], bool], str]]:
    """Dotted key -> (check, what it accepts)."""
    from openvidseg.data.classes import CLASS_NAME_FORMS
    from openvidseg.data.splits import PROTOCOLS
    from openvidseg.engine.evaluator import MODES
    from openvidseg.runtime import PRECISIONS

    return {
        "model.clip_image_size": _optional(_at_least(16)),
        "model.num_regions": _optional(_at_least(1)),
        "model.aggregation_layers": _optional(_at_least(0)),
        "model.aux_weight": _optional(_at_least(0)),
        "model.temporal_smoothing": _optional(_unit()),
        "model.finetune_clip": _optional(_one_of("none", "attention")),
        "data.class_names": _one_of(*CLASS_NAME_FORMS),
        "data.reverse_prob": _unit(),
        "data.crop_size": _pair(lambda x: x >= 1, "[height, width] of positive ints"),
        "data.scale": _at_least(1),
        "data.ratio_range": (lambda v: len(v) == 2 and 0 < v[0] <= v[1], "[low, high] with 0 < low <= high"),
        "data.cat_max_ratio": (lambda v: 0 < v <= 1, "a number above 0, up to 1"),
        "data.flip_prob": _unit(),
        "data.test_short_side": _at_least(16),
        "data.batch_size": _at_least(1),
        "data.num_workers": _at_least(0),
        "data.synthetic.num_stuff": _at_least(0),
        "data.synthetic.num_frames": _at_least(1),
        "data.synthetic.size": _pair(lambda x: x >= 4, "[height, width], each at least 4"),
        "train.max_iters": _at_least(1),
        "train.lr": _above(0),
        "train.head_lr_mult": _above(0),
        "train.weight_decay": _at_least(0),
        "train.warmup_iters": _at_least(0),
        "train.warmup_ratio": _unit(),
        "train.poly_power": _at_least(0),
        "train.min_lr": _at_least(0),
        "train.accumulation": _at_least(1),
        "train.grad_clip": _optional(_above(0)),
        "train.precision": _one_of(*PRECISIONS),
        "train.log_interval": _at_least(0),
        "train.eval_interval": _at_least(0),
        "train.checkpoint_interval": _at_least(0),
        "train.keep_checkpoints": _at_least(0),
        "eval.protocol": _one_of(*PROTOCOLS),
        "eval.mode": _one_of(*MODES),
        "eval.max_videos": _optional(_at_least(1)),
    }


def _value(cfg: ExperimentConfig, key: str) -> Any:
    node: Any = cfg
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _finite(value: Any) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return all(not isinstance(v, float) or math.isfinite(v) for v in values)


def check_config(cfg: ExperimentConfig) -> None:
    """Raise one `ConfigError` naming every key whose value is out of range or not a known choice."""
    problems = []
    for key, (check, accepted) in rules().items():
        value = _value(cfg, key)
        try:
            ok = _finite(value) and check(value)
        except TypeError:  # e.g. a list where a number belongs
            ok = False
        if not ok:
            problems.append(f"{key}={value} (use {accepted})")
    if problems:
        raise ConfigError(f"bad config value{'s' if len(problems) > 1 else ''}: {'; '.join(problems)}")
