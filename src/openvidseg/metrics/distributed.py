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


def all_gather_rows(rows: torch.Tensor) -> torch.Tensor:
    """The (N_r, C) tensors of all processes r concatenated along rows in rank order, on `rows`' device.

    Row counts may differ between processes (each pads to the largest for the collective). Every process
    must call this. Without a process group it is a copy of the local rows.
    """
    local = rows.detach().clone()
    if not distributed_ready() or dist.get_world_size() == 1:
        return local
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else local.device
    local = local.to(device)
    counts = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(dist.get_world_size())]
    dist.all_gather(counts, torch.tensor([local.shape[0]], dtype=torch.int64, device=device))
    largest = int(max(c.item() for c in counts))
    padded = torch.zeros((largest, *local.shape[1:]), dtype=local.dtype, device=device)
    padded[: local.shape[0]] = local
    gathered = [torch.empty_like(padded) for _ in counts]
    dist.all_gather(gathered, padded)
    return torch.cat([g[: int(c.item())] for g, c in zip(gathered, counts)]).to(rows.device)
