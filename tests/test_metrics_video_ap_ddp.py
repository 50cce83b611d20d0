"""Video AP under DDP (2 gloo processes on the CPU): each rank scores its own videos, `compute()` gathers the
match records and gives every rank exactly the one-process result."""
from __future__ import annotations

import json
from pathlib import Path

import torch.distributed as dist
import torch.multiprocessing as mp

from instance_reference import generated_set, gt_tracks
from openvidseg.data.rle import encode_masks
from openvidseg.errors import InputError
from openvidseg.metrics.track_matching import TrackPrediction
from openvidseg.metrics.video_ap import VideoAP


def score(videos: list[int], repeat: int | None = None) -> dict:
    categories, gt_videos, predictions = generated_set(seed=5, num_videos=5)
    gts = gt_tracks(gt_videos)
    metric = VideoAP([c.id for c in categories], groups={"base": [10, 11], "novel": [12, 13]})
    for vid in sorted(gt_videos):
        if vid in videos or vid == repeat:
            preds = [TrackPrediction(c, s, [r if m.any() else None for r, m in zip(encode_masks(masks), masks)])
                     for v, c, s, masks in predictions if v == vid]
            metric.update(vid, preds, gts[vid])
    result = metric.compute()
    return {"scores": result.scores, "groups": result.groups, "per_class": {str(k): v for k, v in result.per_class.items()},
            "num_videos": result.num_videos}


ALL = [3, 5, 7, 9, 11]


def worker(rank: int, world: int, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        mine = ALL[rank::world]  # rank 0: videos 3, 7, 11; rank 1: 5, 9
        result = score(mine)
        try:
            score(mine, repeat=ALL[0])  # rank 1 also scores video 3
            result["overlap"] = "accepted"
        except InputError as err:
            result["overlap"] = str(err)
        Path(out, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_equal_one_process(tmp_path):
    mp.spawn(worker, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    single = score(ALL)
    assert single["num_videos"] == 5 and 0 < single["scores"]["AP"] < 1
    for rank in (0, 1):
        synced = json.loads((tmp_path / f"rank{rank}.json").read_text())
        overlap = synced.pop("overlap")
        assert synced == json.loads(json.dumps(single))  # exactly, every score
        assert "scored by more than one process" in overlap  # refused on every rank, never counted twice
