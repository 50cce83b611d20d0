"""Device and precision selection. Nothing in the package hard-codes a device: everything goes through here."""
from __future__ import annotations

import os

import torch

from openvidseg.errors import InputError

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """'auto' (or None) picks CUDA, then Apple MPS, then the CPU; any other name is checked to exist."""
    if isinstance(name, torch.device):
        return name
    if name is None or name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise InputError(f"unknown device '{name}': use auto, cpu, cuda, cuda:N or mps") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device '{name}' asked for, but this torch build sees no CUDA GPU: use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise InputError(f"device '{name}' asked for, but MPS is not available here: use --device cpu")
    return device


def resolve_dtype(precision: str | torch.dtype) -> torch.dtype:
    """'fp32' | 'bf16' | 'fp16' (or a torch dtype) -> torch dtype."""
    if isinstance(precision, torch.dtype):
        return precision
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise InputError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}") from None


def describe_device(device: torch.device) -> str:
    """A one-line human description of a device (GPU name and memory, or CPU thread count)."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"cuda ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return device.type


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads: `threads`, else OMP_NUM_THREADS when set, else every core this process
    may run on. Returns the number set. Large models gain from every core (a ViT-B/16 frame is ~1.7x
    faster on 2 cores than on 1); tiny ones do not, which is why the tests set OMP_NUM_THREADS=1."""
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else len(os.sched_getaffinity(0))
    if threads < 1:
        raise InputError(f"threads {threads}: use a number >= 1")
    torch.set_num_threads(threads)
    return threads
