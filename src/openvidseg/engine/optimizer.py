"""AdamW over parameter groups: each named group of the model (e.g. "backbone", "head") gets its own
learning rate, and is split again so that norms, biases and other 1-D parameters (learnable scales)
get no weight decay."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from openvidseg.errors import NothingToTrainError


def decays(param: nn.Parameter) -> bool:
    """Whether weight decay applies: matrices and kernels yes; norms' weights, biases, scalars and
    per-channel scales (every parameter with fewer than 2 dimensions) no."""
    return param.ndim >= 2


def build_param_groups(
    groups: Mapping[str, Sequence[nn.Parameter]],
    lr: float,
    lr_mults: Mapping[str, float],
    weight_decay: float,
) -> list[dict[str, Any]]:
    """Optimizer groups from named parameter lists: group `name` trains at lr * lr_mults.get(name, 1),
    with `weight_decay` on its parameters that `decays` and none on the rest. Empty groups are left out;
    each group records "name" (e.g. "head" / "head_no_decay") and "lr_group" (e.g. "head")."""
    out: list[dict[str, Any]] = []
    for name, params in groups.items():
        group_lr = lr * lr_mults.get(name, 1.0)
        with_decay = [p for p in params if decays(p)]
        without = [p for p in params if not decays(p)]
        if with_decay:
            out.append({"params": with_decay, "lr": group_lr, "weight_decay": weight_decay, "name": name,
                        "lr_group": name})
        if without:
            out.append({"params": without, "lr": group_lr, "weight_decay": 0.0, "name": f"{name}_no_decay",
                        "lr_group": name})
    return out


def build_optimizer(
    model: nn.Module,
    lr: float,
    head_lr_mult: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.AdamW:
    """AdamW over `model.parameter_groups()` ("backbone" at `lr`, "head" at lr * head_lr_mult). A model with
    no trainable parameters (e.g. the training-free dense_clip) cannot be trained: TrainingError."""
    groups = model.parameter_groups()
    if not any(len(p) for p in groups.values()):
        name = getattr(model, "variant_name", type(model).__name__)
        raise NothingToTrainError(f"model '{name}' has no trainable parameters (it is training-free): there is nothing "
                            "to train; evaluate it with `openvidseg eval --config ...` instead")
    param_groups = build_param_groups(groups, lr, {"head": head_lr_mult}, weight_decay)
    return torch.optim.AdamW(param_groups, lr=lr, betas=betas, weight_decay=weight_decay)


def group_lrs(optimizer: torch.optim.Optimizer) -> dict[str, float]:
    """The current learning rate of each named group ("backbone", "head"), for logging."""
    return {group.get("lr_group", str(i)): float(group["lr"]) for i, group in enumerate(optimizer.param_groups)}
