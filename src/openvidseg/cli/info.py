"""Print versions, the device openvidseg would use, the registered models and the packaged presets."""
from __future__ import annotations

import argparse
import importlib.metadata
import platform


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto", help="device to describe (default: auto)")


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def run(args: argparse.Namespace) -> int:
    import torch

    from openvidseg import __version__
    from openvidseg.config import list_presets
    from openvidseg.models import get_variant, list_models
    from openvidseg.runtime import describe_device, resolve_device

    rows = [("openvidseg", __version__), ("python", platform.python_version())]
    rows += [(p, _version(p)) for p in ("torch", "transformers", "huggingface_hub", "safetensors", "av",
                                         "numpy", "pillow", "omegaconf")]
    device = resolve_device(args.device)
    bf16 = device.type != "cuda" or torch.cuda.is_bf16_supported()
    rows.append(("device", f"{describe_device(device)}; bf16 {'supported' if bf16 else 'not supported'}"))
    from huggingface_hub.constants import HF_HUB_CACHE, HF_HUB_OFFLINE

    rows.append(("hub cache", f"{HF_HUB_CACHE}{' (offline mode)' if HF_HUB_OFFLINE else ''}"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")

    names = list_models()
    print(f"\nmodels ({len(names)}):")
    if names:
        variants = [get_variant(n) for n in names]
        w_name = max(len(v.name) for v in variants)
        w_family = max(len(v.family) for v in variants)
        for v in variants:
            print(f"  {v.name:<{w_name}}  {v.family:<{w_family}}  task={v.task:<8}  clip={v.clip}  "
                  f"preset={v.preset or '-'}")
    print(f"\npresets: {', '.join(list_presets())}")
    return 0
