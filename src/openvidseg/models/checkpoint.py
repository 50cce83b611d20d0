"""Model checkpoints: weights as safetensors plus a small JSON naming the model and its build options.

Frozen CLIP weights are not saved (they come from the CLIP source, e.g. the hub); everything else is,
including CLIP parameters that were fine-tuned. Loading is strict: weights of another architecture fail
with the list of mismatched keys.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from openvidseg import __version__
from openvidseg.errors import WeightsError
from openvidseg.weights import check_state_dict, read_state_dict

FORMAT = "openvidseg-model/1"


def saved_keys(model: nn.Module) -> list[str]:
    """State-dict keys a checkpoint holds: all but the frozen CLIP parameters."""
    frozen = {f"clip.{n}" for n, p in model.clip.named_parameters() if not p.requires_grad} if hasattr(model, "clip") else set()
    return [k for k in model.state_dict() if k not in frozen]


def info_path(weights: str | Path) -> Path:
    """The JSON beside a checkpoint's weights: model.safetensors -> model.json."""
    return Path(weights).with_suffix(".json")


def save_model(model: nn.Module, path: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """Write `path` (.safetensors) and its JSON; `model` must come from `create_model` (it records its
    variant name and options). Returns the weights path."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"checkpoint weights are saved as .safetensors, not {path.suffix or 'no suffix'}")
    if not hasattr(model, "variant_name"):
        raise ValueError("only models built by create_model can be saved (they record their name and options)")
    state = model.state_dict()
    weights = {k: state[k].detach().to("cpu").contiguous() for k in saved_keys(model)}
    info = {"format": FORMAT, "model": model.variant_name, "options": model.build_options,
            "openvidseg_version": __version__, **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path), metadata={"format": FORMAT, "model": model.variant_name})
    info_path(path).write_text(json.dumps(info, indent=2) + "\n")
    return path


def read_info(path: str | Path) -> dict[str, Any]:
    """The JSON of a checkpoint (model name, build options, ...)."""
    info_file = info_path(path)
    if not Path(path).is_file():
        raise WeightsError(f"checkpoint not found: {path}")
    if not info_file.is_file():
        raise WeightsError(f"{path} has no {info_file.name} beside it: it is not an openvidseg checkpoint "
                           "(expected model.safetensors + model.json, as written by training)")
    info = json.loads(info_file.read_text())
    if info.get("format") != FORMAT:
        raise WeightsError(f"{info_file} is not an openvidseg model checkpoint (format {info.get('format')!r})")
    return info


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load checkpoint weights into `model`, strictly: every missing, unexpected or mis-shaped key is listed."""
    state = read_state_dict(path)
    keys = saved_keys(model)
    expected = {k: v for k, v in model.state_dict().items() if k in keys}
    probe = nn.Module()
    probe.state_dict = lambda: expected  # check against the saved subset only
    name = getattr(model, "variant_name", type(model).__name__)
    try:
        check_state_dict(probe, state, str(path), f"model '{name}'")
    except WeightsError as err:
        info = info_path(path)
        owner = json.loads(info.read_text()).get("model") if info.is_file() else None
        if owner and owner != name:
            raise WeightsError(f"checkpoint of '{owner}' loaded into '{name}': {err}") from None
        raise
    model.load_state_dict(state, strict=False)


def load_model(path: str | Path, **overrides: Any) -> nn.Module:
    """Rebuild the model a checkpoint was saved from and load its weights. Overrides replace build
    options (e.g. clip='/models/clip-vit-base-patch16' to use a local CLIP copy)."""
    from openvidseg.models.registry import create_model

    info = read_info(path)
    options = {**info["options"], **{k: v for k, v in overrides.items() if v is not None}}
    model = create_model(info["model"], **options)
    load_weights(model, path)
    return model
