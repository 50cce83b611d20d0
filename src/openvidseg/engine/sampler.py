"""Which training items every process reads at every optimiser step: deterministic in (seed, epoch),
the same global batches whatever the number of processes, and resumable from any step.

Each epoch is one permutation of the dataset (from `seed` and the epoch number), cut into global
batches of G = batch_size x accumulation x world_size items (an incomplete last batch is dropped). A
global batch is cut into micro-batches of `batch_size`; micro-batch j goes to process j % world_size
as its (j // world_size)-th accumulation step. So 1 process x 2 accumulation steps and 2 processes x 1
step see the same micro-batches, and the position of step s is simply (s // steps_per_epoch,
s % steps_per_epoch): a resumed run reads exactly what the uninterrupted run would have read.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Dataset, default_collate

from openvidseg.errors import ConfigError


@dataclass(frozen=True)
class GlobalBatchSampler:
    """Item indices per optimiser step for process `rank` of `world_size`."""

    dataset_size: int
    batch_size: int
    accumulation: int = 1
    world_size: int = 1
    rank: int = 0
    seed: int = 0
    shuffle: bool = True

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.accumulation < 1:
            raise ConfigError(f"need data.batch_size >= 1 and train.accumulation >= 1, got {self.batch_size} "
                              f"and {self.accumulation}")
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} outside a world of {self.world_size}")
        if self.dataset_size < self.global_batch:
            raise ConfigError(f"the training set has {self.dataset_size} items, fewer than one global batch of "
                              f"{self.global_batch} (data.batch_size {self.batch_size} x train.accumulation "
                              f"{self.accumulation} x {self.world_size} processes): lower one of them or add data")

    @property
    def global_batch(self) -> int:
        """Items per optimiser step over all processes."""
        return self.batch_size * self.accumulation * self.world_size

    @property
    def steps_per_epoch(self) -> int:
        return self.dataset_size // self.global_batch

    def epoch_order(self, epoch: int) -> np.ndarray:
        """(dataset_size,) int64: the order of the items in `epoch`."""
        if not self.shuffle:
            return np.arange(self.dataset_size, dtype=np.int64)
        return np.random.default_rng([self.seed, epoch]).permutation(self.dataset_size).astype(np.int64)

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, step within the epoch) of optimiser step `step` (0-based)."""
        return divmod(step, self.steps_per_epoch)

    def micro_batches(self, epoch: int, start: int = 0) -> Iterator[list[int]]:
        """This process's micro-batches of `epoch` from its step `start` on, in order (accumulation
        micro-batches per step)."""
        order = self.epoch_order(epoch)
        for step in range(start, self.steps_per_epoch):
            batch = order[step * self.global_batch:(step + 1) * self.global_batch]
            chunks = batch.reshape(self.accumulation * self.world_size, self.batch_size)
            for j in range(self.rank, len(chunks), self.world_size):
                yield chunks[j].tolist()

    def step_micro_batches(self, step: int) -> list[list[int]]:
        """This process's micro-batches of optimiser step `step` (0-based)."""
        epoch, within = self.position(step)
        batches = self.micro_batches(epoch, within)
        return [next(batches) for _ in range(self.accumulation)]

    def state_dict(self, step: int) -> dict[str, Any]:
        """Where the data stands after `step` optimiser steps, plus what fixes the order."""
        epoch, within = self.position(step)
        return {"epoch": epoch, "step_in_epoch": within, "global_batch": self.global_batch,
                "dataset_size": self.dataset_size, "seed": self.seed, "shuffle": self.shuffle}

    def differences(self, state: dict[str, Any]) -> list[str]:
        """Which of a saved state's order-defining settings differ from this sampler's."""
        mine = self.state_dict(0)
        return [k for k in ("global_batch", "dataset_size", "seed", "shuffle") if state.get(k) != mine[k]]


class _EpochBatches:
    """A batch sampler over one epoch's micro-batches of one process (what a DataLoader iterates)."""

    def __init__(self, sampler: GlobalBatchSampler, epoch: int, start: int):
        self.sampler, self.epoch, self.start = sampler, epoch, start

    def __iter__(self) -> Iterator[list[int]]:
        return self.sampler.micro_batches(self.epoch, self.start)

    def __len__(self) -> int:
        return (self.sampler.steps_per_epoch - self.start) * self.sampler.accumulation


def train_batches(dataset: Dataset, sampler: GlobalBatchSampler, start_step: int = 0, *, num_workers: int = 0,
                  pin_memory: bool = False,
                  collate_fn: Callable[[list], dict[str, Any]] = default_collate) -> Iterator[dict[str, Any]]:
    """Endless collated micro-batches for this process from optimiser step `start_step` on, epoch after
    epoch; the dataset's `set_epoch` is called before each epoch's loader starts its workers. `collate_fn`
    batches items (instance clips differ in their number of instances: `collate_instance_clips`)."""
    epoch, start = sampler.position(start_step)
    while True:
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_sampler=_EpochBatches(sampler, epoch, start), num_workers=num_workers,
                            collate_fn=collate_fn, pin_memory=pin_memory)
        yield from loader
        epoch, start = epoch + 1, 0
