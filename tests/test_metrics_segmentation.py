"""Confusion-matrix metrics against hand-computed cases: IoU, aAcc, mAcc, group means and hIoU."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from openvidseg.errors import InputError
from openvidseg.metrics import SegmentationMetric, harmonic_mean, result_from_confusion

I = 255  # ignore


def test_small_case_worked_by_hand():
    gt = np.array([[0, 0, 1, 1],
                   [2, 2, I, 1]])
    pred = np.array([[0, 1, 1, 1],
                     [2, 0, 0, I]])
    # scored (gt, pred) pairs: (0,0) (0,1) (1,1) (1,1) (2,2) (2,0) (1,miss); the ignored pixel drops out
    # confusion rows gt, cols pred 0 1 2 miss:  gt0 [1 1 0 0]  gt1 [0 2 0 1]  gt2 [1 0 1 0]
    # TP = 1, 2, 1;  gt pixels = 2, 3, 2;  predicted pixels = 2, 3, 1
    # union = 2+2-1 = 3, 3+3-2 = 4, 2+1-1 = 2  ->  IoU = 1/3, 1/2, 1/2;  mIoU = 4/9
    # aAcc = 4/7;  per-class acc = 1/2, 2/3, 1/2  ->  mAcc = 5/9
    # seen = {0, 1}: (1/3 + 1/2) / 2 = 5/12;  unseen = {2}: 1/2;  hIoU = 2 (5/12)(1/2) / (11/12) = 5/11
    metric = SegmentationMetric(3, class_names=["a", "b", "c"], groups={"seen": [0, 1], "unseen": [2]})
    metric.update(pred, gt)
    r = metric.compute()
    assert r.confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 1], [1, 0, 1, 0]]
    assert r.confusion.dtype == np.int64
    assert r.iou == pytest.approx((1 / 3, 1 / 2, 1 / 2))
    assert r.miou == pytest.approx(4 / 9)
    assert r.pixel_acc == pytest.approx(4 / 7)
    assert r.acc == pytest.approx((1 / 2, 2 / 3, 1 / 2))
    assert r.mean_acc == pytest.approx(5 / 9)
    assert r.group_miou["seen"] == pytest.approx(5 / 12) and r.group_miou["unseen"] == pytest.approx(1 / 2)
    assert r.hiou == pytest.approx(5 / 11)
    assert r.num_pixels == 7 and r.class_names == ("a", "b", "c")


def test_class_predicted_but_absent_from_gt_scores_zero_and_counts_class_never_seen_is_skipped():
    gt = np.array([0, 0, 1, 1])
    pred = np.array([0, 2, 1, 1])
    # class 0: TP 1, union 2+1-1 = 2 -> 1/2;  class 1: 2/2 = 1;  class 2: predicted once, not in gt -> 0/1 = 0
    # class 3: neither in gt nor predicted -> skipped.  mIoU = (1/2 + 1 + 0) / 3 = 1/2
    # mAcc only over classes present in gt: (1/2 + 1) / 2 = 3/4;  aAcc = 3/4
    metric = SegmentationMetric(4, groups={"seen": [0, 1], "unseen": [2, 3]})
    metric.update(pred, gt)
    r = metric.compute()
    assert r.iou == (0.5, 1.0, 0.0, None)
    assert r.miou == pytest.approx(0.5)
    assert r.acc == (0.5, 1.0, None, None)
    assert r.mean_acc == pytest.approx(0.75) and r.pixel_acc == pytest.approx(0.75)
    # unseen = {2, 3}: only class 2 has a union -> 0; hIoU with a zero group is 0
    assert r.group_miou == {"seen": pytest.approx(0.75), "unseen": 0.0} and r.hiou == 0.0


def test_predictions_outside_the_classes_are_misses_for_the_gt_class_and_false_positives_for_nobody():
    gt = np.array([0, 0, 1, 1, 1])
    pred = np.array([2, 0, I, -1, 1])  # 2 = a "background" entry for K = 2, 255 = no class, -1 = invalid
    # class 0: TP 1, gt 2, predicted 1 -> union 2 -> 1/2;  class 1: TP 1, gt 3, predicted 1 -> union 3 -> 1/3
    metric = SegmentationMetric(2)
    metric.update(pred, gt)
    r = metric.compute()
    assert r.confusion.tolist() == [[1, 0, 1], [0, 1, 2]]
    assert r.iou == pytest.approx((1 / 2, 1 / 3))
    assert r.pixel_acc == pytest.approx(2 / 5)


def test_all_ignore_frames_change_nothing():
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 4, (6, 7))
    pred = rng.integers(0, 4, (6, 7))
    metric = SegmentationMetric(4)
    metric.update(pred, gt)
    before = metric.compute()
    metric.update(rng.integers(0, 6, (6, 7)), np.full((6, 7), I))
    after = metric.compute()
    assert np.array_equal(before.confusion, after.confusion) and before.miou == after.miou


def test_nothing_scored_gives_none_everywhere():
    metric = SegmentationMetric(3, groups={"seen": [0], "unseen": [1, 2]})
    metric.update(np.zeros((2, 2), dtype=np.uint8), np.full((2, 2), I))
    r = metric.compute()
    assert r.miou is None and r.pixel_acc is None and r.mean_acc is None
    assert r.group_miou == {"seen": None, "unseen": None} and r.hiou is None and r.iou == (None, None, None)


def test_perfect_predictions_give_one():
    rng = np.random.default_rng(1)
    gt = rng.integers(0, 5, (3, 40, 50))
    gt[:, :5] = I
    metric = SegmentationMetric(5, groups={"seen": [0, 1, 2], "unseen": [3, 4]})
    metric.update(np.where(gt == I, 0, gt), gt)
    r = metric.compute()
    assert r.miou == 1.0 and r.pixel_acc == 1.0 and r.mean_acc == 1.0 and r.hiou == 1.0


def test_streaming_equals_one_update_and_torch_equals_numpy():
    rng = np.random.default_rng(2)
    gt = rng.integers(0, 7, (4, 30, 20)).astype(np.uint8)
    gt[rng.random(gt.shape) < 0.1] = I
    pred = rng.integers(0, 8, (4, 30, 20)).astype(np.uint8)
    whole, frames = SegmentationMetric(7), SegmentationMetric(7)
    whole.update(torch.from_numpy(pred), torch.from_numpy(gt))
    for p, g in zip(pred, gt):
        frames.update(p, g)
    assert np.array_equal(whole.compute().confusion, frames.compute().confusion)
    # the same against a plain count
    g, p = gt[gt != I].astype(int), pred[gt != I].astype(int)
    expected = np.zeros((7, 8), dtype=np.int64)
    np.add.at(expected, (g, np.where(p < 7, p, 7)), 1)
    assert np.array_equal(whole.compute().confusion, expected)
    frames.reset()
    assert frames.compute().confusion.sum() == 0


def test_compute_twice_gives_the_same_and_result_from_confusion_agrees():
    metric = SegmentationMetric(3)
    metric.update(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2]))
    first, second = metric.compute(), metric.compute()
    assert np.array_equal(first.confusion, second.confusion)
    assert result_from_confusion(first.confusion).iou == first.iou


def test_harmonic_mean_edges():
    assert harmonic_mean(None, 0.5) is None and harmonic_mean(0.5, None) is None
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(0.6, 0.3) == pytest.approx(0.4)


def test_bad_inputs_are_clear_errors():
    metric = SegmentationMetric(3)
    with pytest.raises(InputError, match="differs from ground truth shape"):
        metric.update(np.zeros((2, 3), dtype=int), np.zeros((3, 2), dtype=int))
    with pytest.raises(InputError, match=r"values \[5\] outside 0..2"):
        metric.update(np.zeros(3, dtype=int), np.array([0, 5, I]))
    with pytest.raises(InputError, match="integer class indices"):
        metric.update(np.zeros(3, dtype=np.float32), np.zeros(3, dtype=int))
    with pytest.raises(InputError, match="ignore_index 1 is a class index"):
        SegmentationMetric(3, ignore_index=1)
    with pytest.raises(InputError, match="group 'unseen'"):
        SegmentationMetric(3, groups={"unseen": [3]})
