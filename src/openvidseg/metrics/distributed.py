"""Summing small metric state over the processes of a `torch.distributed` run.

Metrics all-reduce their counters (a confusion matrix, a sum and a count), never predictions. Without
an initialised process group the sum is the local value, so the same code runs in one process.
"""
from __future__ import annotations

import torch
import torch.distributed as dist


def distributed_ready() -> bool:
    """True when a `torch.distributed` process group is initialised (more than one process may exist)."""
    return dist.is_available() and dist.is_initialized()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The element-wise sum of `tensor` over all processes, as a new tensor on `tensor`'s device.

    Every process must call this (it is a collective). The input is left unchanged. Under NCCL the
    reduction runs on the current CUDA device, whatever device `tensor` lives on.
    """
    total = tensor.detach().clone()
    if not distributed_ready() or dist.get_world_size() == 1:
        return total
    if dist.get_backend() == "nccl" and total.device.type != "cuda":
        on_gpu = total.to(torch.device("cuda", torch.cuda.current_device()))
        dist.all_reduce(on_gpu, op=dist.ReduceOp.SUM)
        return on_gpu.to(tensor.device)
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total
