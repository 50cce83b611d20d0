"""Model checkpoints: weights as safetensors plus a small JSON naming the model and its build options.

Frozen CLIP weights are not saved (they come from the CLIP source, e.g. the hub); everything else is,
including CLIP parameters that were fine-tuned. Loading is strict: weights of another architecture fail
with a count of the mismatched keys and the first few.

A checkpoint is named by its weights file, a folder holding `model.safetensors` (a training run's folder,
one of its checkpoints/iter_* folders, a downloaded snapshot), or a Hugging Face hub id ('user/repo', fetched
once into the hub cache; `openvidseg.models.publish` is the other direction). Models record where their
trained weights came from (`trained_weights`: None for a freshly built model with a random trainable head),
so that segmenting with an untrained head can be refused (`has_untrained_head`).
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
WEIGHTS_NAME = "model.safetensors"


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
            "clip_architecture": clip_architecture(model), "openvidseg_version": __version__, **(extra or {})}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(path), metadata={"format": FORMAT, "model": model.variant_name})
    info_path(path).write_text(json.dumps(info, indent=2) + "\n")
    return path


def checkpoint_file(path: str | Path) -> Path:
    """The weights file of a checkpoint given as a file or as a folder holding model.safetensors (a
    training run's folder, or one of its checkpoints); a clear error for anything else."""
    path = Path(path).expanduser()
    if path.is_dir():
        if (path / WEIGHTS_NAME).is_file():
            return path / WEIGHTS_NAME
        latest = path / "checkpoints" / "latest" / WEIGHTS_NAME
        hint = (f"; the run did not finish: pass its newest checkpoint, {latest}" if latest.is_file()
                else ": pass a trained model.safetensors (with its model.json) or a training run's folder")
        raise WeightsError(f"checkpoint folder {path} holds no {WEIGHTS_NAME}{hint}")
    if not path.is_file():
        raise WeightsError(f"checkpoint not found: {path} (pass a trained model.safetensors or a training run's folder)")
    return path


def resolve_checkpoint(source: str | Path) -> Path:
    """The weights file of a checkpoint given as a file, a folder holding model.safetensors (`checkpoint_file`),
    or a hub id (downloaded once into the Hugging Face cache; offline and not cached: one-line
    `WeightsNotFoundError`)."""
    from openvidseg.hub import download_snapshot, is_hub_id

    if isinstance(source, str) and is_hub_id(source):
        folder = download_snapshot(source, what="model", how_to_pass="--checkpoint /path/to/model.safetensors")
        if not (folder / WEIGHTS_NAME).is_file():
            raise WeightsError(f"hub repository '{source}' holds no {WEIGHTS_NAME}: it is not an openvidseg model "
                               "(push one with model.push_to_hub or `openvidseg train --push-to-hub`)")
        return folder / WEIGHTS_NAME
    return checkpoint_file(source)


def checkpoint_label(source: str | Path) -> str:
    """How a run records the checkpoint it used: a hub id as given, a path made absolute."""
    from openvidseg.hub import is_hub_id

    return source if isinstance(source, str) and is_hub_id(source) else str(Path(source).expanduser().resolve())


def read_info(path: str | Path) -> dict[str, Any]:
    """The JSON of a checkpoint (model name, build options, ...); `path` as `resolve_checkpoint` takes it."""
    path = resolve_checkpoint(path)
    info_file = info_path(path)
    if not info_file.is_file():
        what = " (it holds CLIP weights: pass them with --clip, or model.clip= in a config)" if _is_clip(path) else ""
        raise WeightsError(f"{path} has no {info_file.name} beside it: it is not an openvidseg checkpoint{what} "
                           "(expected model.safetensors + model.json, as written by training)")
    info = json.loads(info_file.read_text())
    if info.get("format") != FORMAT:
        raise WeightsError(f"{info_file} is not an openvidseg model checkpoint (format {info.get('format')!r})")
    return info


def _is_clip(path: Path) -> bool:
    """Whether a weights file holds a whole CLIP model (its text and vision towers)."""
    from openvidseg.clip.convert import detect_layout

    try:
        return detect_layout(read_state_dict(path)) in ("transformers", "openai")
    except Exception:  # unreadable or not CLIP: the caller's message stands
        return False


def load_weights(model: nn.Module, path: str | Path) -> None:
    """Load checkpoint weights into `model`, strictly: mismatched keys are counted and the first few named."""
    path = resolve_checkpoint(path)
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
        saved = json.loads(info.read_text()) if info.is_file() else {}
        owner = saved.get("model")
        if owner and owner != name:
            raise WeightsError(f"checkpoint of '{owner}' loaded into '{name}': {err}") from None
        trained_clip = saved.get("options", {}).get("clip")
        clip = getattr(model, "build_options", {}).get("clip")
        if trained_clip and clip and clip != trained_clip:
            raise WeightsError(f"{path} was trained with CLIP '{trained_clip}' and the model was built with CLIP "
                               f"'{clip}', which differs (another size or architecture): pass the CLIP it was "
                               f"trained with (or a local copy of it). {err}") from None
        if _is_clip(path):
            raise WeightsError(f"{path} holds CLIP weights, not a trained '{name}': pass them with --clip "
                               "(model.clip= in a config), and a trained model.safetensors with --checkpoint") from None
        raise
    model.load_state_dict(state, strict=False)
    model.trained_weights = str(path)


def clip_architecture(model: nn.Module) -> str | None:
    """'CLIP ViT (width 768, 12 layers, patch 16, 224 px; ...)' of a model's CLIP, or None without one."""
    from openvidseg.clip.loading import describe_config

    clip = getattr(model, "clip", None)
    return describe_config(clip.model.config) if clip is not None else None


def check_same_clip(model: nn.Module, info: dict[str, Any], path: Path) -> None:
    """Refuse a checkpoint whose head was trained on another CLIP architecture than the model's (a CLIP
    whose tensors happen to have the same shapes, e.g. fewer layers, would load and give garbage)."""
    trained, now = info.get("clip_architecture"), clip_architecture(model)
    if trained and now and trained != now:
        raise WeightsError(f"{path} was trained with CLIP '{info.get('options', {}).get('clip')}' ({trained}); the CLIP "
                           f"given, '{getattr(model, 'build_options', {}).get('clip')}', differs ({now}): pass the CLIP "
                           "it was trained with (or a local copy of it)")


def has_untrained_head(model: nn.Module) -> bool:
    """True for a model with trainable parameters (a head) that never got trained weights: built by
    `create_model` and neither loaded from a checkpoint nor trained. Training-free models (dense CLIP)
    and models of unknown origin (not built by `create_model`) are False."""
    return getattr(model, "trained_weights", "") is None and any(p.requires_grad for p in model.parameters())


def load_model(source: str | Path, **overrides: Any) -> nn.Module:
    """Rebuild the model a checkpoint was saved from and load its weights; `source` is its .safetensors
    file, a folder holding model.safetensors, or a hub id ('user/repo'). Overrides replace build options
    (e.g. clip='/models/clip-vit-base-patch16' to use a local CLIP copy). The model keeps the checkpoint's
    JSON as `checkpoint_info` (training facts a later `push_to_hub` puts in the model card)."""
    from openvidseg.models.registry import create_model

    path = resolve_checkpoint(source)
    info = read_info(path)
    options = {**info["options"], **{k: v for k, v in overrides.items() if v is not None}}
    model = create_model(info["model"], **options)
    check_same_clip(model, info, path)
    load_weights(model, path)
    model.checkpoint_info = info
    if hasattr(model, "train_class_names"):  # instance models: the training vocabulary (FC-CLIP-style ensembles)
        model.train_class_names = tuple(info.get("train_class_names") or ())
    return model
