"""Reading weight files safely and loading them strictly. Every model in the package goes through here.

- Safetensors first; `torch.load(..., weights_only=True)` for the rest, so an untrusted pickle never runs
  code; TorchScript archives (OpenAI's CLIP release) are read through `torch.jit.load`, which rebuilds
  tensors without executing Python.
- Loading is strict: missing, unexpected and mis-shaped keys are counted (and the first few named) at once.
"""
from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from openvidseg.errors import WeightsError

StateDict = dict[str, torch.Tensor]
SHOWN_KEYS = 3  # mismatched keys of each kind named in an error (the rest are counted)


def _is_torchscript_archive(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(name.endswith("constants.pkl") or "/code/" in name for name in archive.namelist())


def read_state_dict(path: str | Path) -> StateDict:
    """Read a flat name -> tensor mapping from a .safetensors file, a sharded safetensors index,
    a TorchScript archive, or a plain PyTorch state-dict file (weights only)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.name.endswith(".index.json"):
        return _read_sharded(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as err:
            raise WeightsError(f"cannot read {path}: not a valid safetensors file ({err})") from err
    if _is_torchscript_archive(path):
        try:
            with warnings.catch_warnings():  # torch marks TorchScript deprecated; OpenAI's release still uses it
                warnings.simplefilter("ignore", DeprecationWarning)
                return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
        except RuntimeError as err:
            raise WeightsError(f"cannot read TorchScript archive {path}: {err}") from err
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError, RuntimeError for truncated zips, ...
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise WeightsError(
                f"refusing to load {path}: it holds pickled Python objects, not only tensors, and untrusted "
                "pickles are never loaded. Convert it to .safetensors (or a plain state dict) first."
            ) from err
        raise WeightsError(f"cannot read {path}: {type(err).__name__}: {err}") from err
    return unwrap_state_dict(obj, path)


def unwrap_state_dict(obj: object, source: str | Path) -> StateDict:
    """Find the tensor mapping inside common checkpoint wrappers ({'state_dict': ...}, {'model': ...})
    and strip a DistributedDataParallel 'module.' prefix."""
    for key in ("state_dict", "model", "module"):
        if isinstance(obj, Mapping) and key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
    if not isinstance(obj, Mapping) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{source} does not hold a state dict (a mapping of names to tensors)")
    state = {str(k): v for k, v in obj.items()}
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _read_sharded(index_path: Path) -> StateDict:
    try:
        weight_map = json.loads(index_path.read_text())["weight_map"]
    except (json.JSONDecodeError, KeyError) as err:
        raise WeightsError(f"{index_path} is not a valid shard index (no 'weight_map')") from err
    state: StateDict = {}
    for shard in sorted(set(weight_map.values())):
        state.update(read_state_dict(index_path.parent / shard))
    return state


def key_report(
    expected: Mapping[str, torch.Size], found: Mapping[str, torch.Tensor], ignore: Iterable[str] = ()
) -> list[str]:
    """Every difference between the keys/shapes a module expects and those a state dict holds, one line each."""
    ignored = tuple(ignore)
    keep = lambda k: not any(k.endswith(suffix) for suffix in ignored)  # noqa: E731
    missing = sorted(k for k in expected if k not in found and keep(k))
    unexpected = sorted(k for k in found if k not in expected and keep(k))
    mis_shaped = sorted(
        k for k in expected if k in found and tuple(found[k].shape) != tuple(expected[k]) and keep(k)
    )
    lines = [f"missing: {k}" for k in missing]
    lines += [f"unexpected: {k}" for k in unexpected]
    lines += [
        f"mis-shaped: {k} (model has {list(expected[k])}, weights have {list(found[k].shape)})" for k in mis_shaped
    ]
    return lines


def check_state_dict(
    module: nn.Module, state: Mapping[str, torch.Tensor], source: str, what: str, ignore: Iterable[str] = ()
) -> None:
    """Raise a WeightsError counting the missing / unexpected / mis-shaped keys and naming the first few, if any."""
    expected = {k: v.shape for k, v in module.state_dict().items()}
    problems = key_report(expected, state, ignore)
    if problems:
        counts = {kind: sum(p.startswith(kind) for p in problems) for kind in ("missing", "unexpected", "mis-shaped")}
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        shown = []
        for kind, n in counts.items():
            shown += [p for p in problems if p.startswith(kind)][:SHOWN_KEYS]
            shown += [f"... and {n - SHOWN_KEYS} more {kind}"] if n > SHOWN_KEYS else []
        raise WeightsError(
            f"weights from {source} do not fit {what} ({summary} keys); they belong to another model or "
            "another size:\n  " + "\n  ".join(shown)
        )


def load_state_dict_strict(
    module: nn.Module, state: Mapping[str, torch.Tensor], source: str, what: str, assign: bool = False
) -> None:
    """Load `state` into `module` after checking that keys and shapes agree exactly."""
    check_state_dict(module, state, source, what)
    module.load_state_dict(state, strict=True, assign=assign)


def build_with_weights(
    factory: Callable[[], nn.Module],
    state: Mapping[str, torch.Tensor],
    source: str,
    what: str,
    ignore: Iterable[str] = (),
    rebuild_buffers: Callable[[nn.Module, str, torch.Tensor], torch.Tensor] | None = None,
) -> nn.Module:
    """Build a module without random initialisation (on the meta device) and give it `state` strictly,
    as float32. Non-persistent buffers, which state dicts do not hold, are rebuilt by `rebuild_buffers`
    (module, buffer name, meta tensor) -> tensor."""
    with torch.device("meta"):
        module = factory()
    ignored = tuple(ignore)
    check_state_dict(module, state, source, what, ignore=ignored)
    module.load_state_dict({k: v.float() for k, v in state.items()}, strict=False, assign=True)
    for owner in module.modules():
        for name, buffer in list(owner.named_buffers(recurse=False)):
            if buffer.is_meta:
                if rebuild_buffers is None:
                    raise ValueError(f"{what}: buffer {name} is not in the weights and has no rebuild rule")
                owner.register_buffer(name, rebuild_buffers(owner, name, buffer), persistent=False)
    return module
