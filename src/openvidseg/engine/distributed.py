"""Distributed setup that reads the environment (torchrun sets RANK / WORLD_SIZE / LOCAL_RANK) and works
without a launcher: a single process needs nothing."""
from __future__ import annotations

import gc
import os
from datetime import timedelta

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return rank() == 0


def init_distributed(device: torch.device, backend: str | None = None,
                     timeout: timedelta = timedelta(minutes=30)) -> bool:
    """Join the process group torchrun describes (NCCL on CUDA, gloo on CPU, unless `backend` is given; each
    process on the GPU of its LOCAL_RANK); False when launched alone. `timeout`: how long a collective waits
    for the slowest process."""
    if is_distributed():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if device.type == "cuda":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend or ("nccl" if device.type == "cuda" else "gloo"), timeout=timeout)
    return True


def shard(items: list) -> list:
    """This process's share of `items`: every world_size-th, from its rank (all of them when alone)."""
    return items[rank():: world_size()]


def agree_exit_code(code: int) -> int:
    """The largest exit code of all processes (on a gloo group), so that every process of a launch ends
    alike: one that failed an input does not leave before the others are done."""
    if not is_distributed():
        return code
    value = torch.tensor([code], dtype=torch.int64)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return int(value.item())


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def shutdown_distributed() -> None:
    """Leave the process group, if this process joined one. Objects still holding the group (a DDP
    reducer kept alive by a reference cycle) are collected first: destroyed later, at interpreter exit,
    they can abort the process with gloo's threads still running."""
    if is_distributed():
        gc.collect()
        dist.destroy_process_group()


def local_device(device: torch.device) -> torch.device:
    """`device` with this process's GPU index filled in (cuda -> cuda:<current device>); others as given."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device
