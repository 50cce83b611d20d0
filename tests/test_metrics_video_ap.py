"""Video AP against hand-computed cases and an independent oracle: pycocotools' COCOeval over images made
of each video's frames side by side (spatio-temporal IoU is exactly the IoU of the tiled masks)."""
from __future__ import annotations

import numpy as np
import pytest

from instance_reference import coco_oracle, generated_set, gt_tracks
from openvidseg.data.instances import InstanceTrack
from openvidseg.data.rle import encode_masks
from openvidseg.errors import InputError
from openvidseg.metrics.track_matching import TrackPrediction, greedy_match, spatio_temporal_iou, track_overlaps
from openvidseg.metrics.video_ap import VideoAP


def track(masks: np.ndarray) -> list:
    """(T, H, W) bool -> per-frame RLEs, None for empty frames."""
    return [rle if m.any() else None for rle, m in zip(encode_masks(masks), masks)]


def frames(*spans, length=2, shape=(4, 10)) -> np.ndarray:
    """A (T, H, W) mask: spans[t] = (row, first col, last col) or None."""
    out = np.zeros((length, *shape), dtype=bool)
    for t, span in enumerate(spans):
        if span is not None:
            out[t, span[0], span[1]:span[2] + 1] = True
    return out


def hand_video():
    """One video, two frames. Ground truth: A (4 px in both frames), B (4 px in frame 0 only), C a crowd.
    p1 (0.9) = A exactly: IoU 1. p2 (0.8) covers half of B: IoU 2/4 = 0.5. p3 (0.7) = A's frame 0 only:
    IoU 4/8 = 0.5 with A, taken by p1. p4 (0.95) and p5 (0.6) lie on the crowd: ignored."""
    a, b, c = frames((0, 0, 3), (0, 0, 3)), frames((0, 6, 9), None), frames((3, 0, 9), (3, 0, 9))
    gts = [InstanceTrack(1, 1, 7, track(a)), InstanceTrack(2, 1, 7, track(b)), InstanceTrack(3, 1, 7, track(c), iscrowd=True)]
    preds = [TrackPrediction(7, 0.9, track(a)), TrackPrediction(7, 0.8, track(frames((0, 6, 7), None))),
             TrackPrediction(7, 0.7, track(frames((0, 0, 3), None))), TrackPrediction(7, 0.95, track(c)),
             TrackPrediction(7, 0.6, track(frames((3, 0, 4), (3, 0, 4))))]
    return gts, preds


def test_overlaps_and_ious_by_hand():
    gts, preds = hand_video()
    inter, area_d, area_g = track_overlaps([p.segmentations for p in preds], [g.segmentations for g in gts], 2)
    assert area_g.tolist() == [8, 4, 20] and area_d.tolist() == [8, 2, 4, 20, 10]
    assert inter[:, 0].tolist() == [8, 0, 4, 0, 0] and inter[1, 1] == 2
    ious = spatio_temporal_iou(inter, area_d, area_g)
    assert ious[0, 0] == 1.0 and ious[1, 1] == 0.5 and ious[2, 0] == 0.5 and ious[4, 2] == 0.5


def test_hand_computed_ap():
    gts, preds = hand_video()
    metric = VideoAP([7, 8], groups={"base": [7], "novel": [8]})
    metric.update(1, preds, gts)
    result = metric.compute()
    # IoU 0.5: p1 TP, p2 TP, p3 FP -> precision 1 up to recall 1: AP 1. Above: p1 TP, p2 and p3 FP -> precision
    # 1 up to recall 0.5, i.e. 51 of the 101 recall points. Crowd detections count neither way.
    assert result.scores["AP50"] == 1.0
    assert result.scores["AP75"] == pytest.approx(51 / 101, abs=1e-15)
    assert result.scores["AP"] == pytest.approx((1 + 9 * 51 / 101) / 10, abs=1e-15)
    assert result.scores["AR100"] == pytest.approx((1 + 9 * 0.5) / 10) == result.scores["AR10"]
    assert result.scores["AR1"] == 0.0  # the one detection kept per video is p4, on the crowd
    assert result.scores["APs"] == result.scores["AP"] and result.scores["APm"] is None  # every track is small
    assert result.per_class == {7: result.scores["AP"], 8: None}
    assert result.groups == {"base": result.scores["AP"], "novel": None}


def test_ranking_uses_scores_across_videos_and_keeps_100_per_video():
    gt = InstanceTrack(1, 1, 7, track(frames((0, 0, 3), (0, 0, 3))))
    miss = [TrackPrediction(7, 0.99, track(frames((2, 0, 3), (2, 0, 3))))] * 100  # 100 misses outscore the hit
    hit = TrackPrediction(7, 0.5, gt.segmentations)
    metric = VideoAP([7])
    metric.update(1, [*miss, hit], [gt])
    assert metric.compute().scores["AP"] == 0.0  # the hit is the 101st detection: dropped
    metric = VideoAP([7])
    metric.update(1, [*miss[:99], hit], [gt])
    assert metric.compute().scores["AP"] == pytest.approx(1 / 100)  # precision 1/100 at recall 1, all points


def test_large_objects_by_mean_area_over_present_frames():
    big = np.zeros((3, 300, 300), dtype=bool)
    big[0] = True  # 90,000 px in frame 0, absent in the others: mean area 90,000 > 256^2 -> large
    gt = InstanceTrack(1, 1, 7, track(big))
    metric = VideoAP([7])
    metric.update(1, [TrackPrediction(7, 1.0, track(big))], [gt])
    scores = metric.compute().scores
    assert scores["APl"] == pytest.approx(1.0, abs=1e-12) and scores["APs"] is None and scores["APm"] is None


def test_greedy_matching_prefers_not_ignored_and_lets_crowds_match_twice():
    ious = np.array([[0.6, 0.9], [0.7, 0.8]])
    matched, on_ignored = greedy_match(ious, np.array([False, True]), np.array([False, True]), np.array([0.5]))
    assert matched.tolist() == [[True, True]] and on_ignored.tolist() == [[False, True]]  # d0 takes the regular g0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_exactly_with_cocoeval_on_tiled_videos(seed):
    categories, videos, predictions = generated_set(seed)
    metric = VideoAP([c.id for c in categories])
    gts = gt_tracks(videos)
    by_video: dict[int, list[TrackPrediction]] = {}
    for vid, cid, score, masks in predictions:
        by_video.setdefault(vid, []).append(TrackPrediction(cid, score, track(masks)))
    for vid in videos:
        metric.update(vid, by_video.get(vid, []), gts[vid])
    mine = metric.compute().scores
    oracle = coco_oracle(categories, videos, predictions)
    assert 0 < oracle["AP"] < 1 and oracle["AR1"] < oracle["AR100"]  # a meaningful case
    for key, value in oracle.items():
        assert mine[key] == value, key  # exactly, not approximately


def test_misuse_is_reported():
    gts, preds = hand_video()
    metric = VideoAP([7])
    metric.update(1, preds, gts)
    with pytest.raises(InputError, match="video 1 was already added"):
        metric.update(1, preds, gts)
    with pytest.raises(InputError, match="category id 9, which is not a category"):
        metric.update(2, [TrackPrediction(9, 0.5, preds[0].segmentations)], [])
    with pytest.raises(InputError, match="different numbers of frames"):
        metric.update(3, [TrackPrediction(7, 0.5, preds[0].segmentations[:1])], gts)
