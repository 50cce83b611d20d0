"""Under DDP (2 gloo processes on the CPU), the metrics sum their small state and give exactly the
single-process result on the same data split across ranks."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from openvidseg.metrics import SegmentationMetric, VideoConsistency

K = 5
GROUPS = {"seen": [0, 1, 2], "unseen": [3, 4]}


def make_videos() -> list[tuple[np.ndarray, np.ndarray]]:
    """Three videos (gt, pred) of (L, H, W) labels, lengths 17, 20 and 23, with ignore pixels."""
    rng = np.random.default_rng(7)
    videos = []
    for length in (17, 20, 23):
        gt = np.repeat(rng.integers(0, K, (1, 9, 11)), length, axis=0)
        gt[rng.random(gt.shape) < 0.05] = 255
        pred = gt.copy()
        noise = rng.random(gt.shape) < 0.1
        pred[noise] = rng.integers(0, K + 1, int(noise.sum()))
        videos.append((gt, pred))
    return videos


def score(videos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    seg, vc8, vc16 = SegmentationMetric(K, groups=GROUPS), VideoConsistency(8), VideoConsistency(16)
    for gt, pred in videos:
        for vc in (vc8, vc16):
            vc.start_video()
        for g, p in zip(gt, pred):
            seg.update(p, g)
            vc8.update(p, g)
            vc16.update(p, g)
        for vc in (vc8, vc16):
            vc.end_video()
    r = seg.compute()
    return {"confusion": r.confusion.tolist(), "miou": r.miou, "hiou": r.hiou,
            "vc8": vc8.compute(), "vc16": vc16.compute()}


def worker(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        mine = make_videos()[rank::world]  # rank 0: videos 0 and 2, rank 1: video 1
        result = score(mine)
        Path(out, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_one_process(tmp_path):
    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    single = score(make_videos())
    assert single["vc8"] is not None and 0 < single["miou"] < 1
    for rank in (0, 1):
        synced = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert synced["confusion"] == single["confusion"]
        assert synced["miou"] == single["miou"] and synced["hiou"] == single["hiou"]  # same integer matrix
        # window scores are summed in another order across ranks: equal up to float rounding
        assert synced["vc8"] == pytest.approx(single["vc8"], rel=1e-12)
        assert synced["vc16"] == pytest.approx(single["vc16"], rel=1e-12)
