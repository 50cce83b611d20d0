"""`score` on the real mini VSPW set (../shared/data/mini_vspw, val = car-shadow (40 frames, car 49) and
blackswan (50 frames, other_animal 66)), with predictions made by perturbing the ground truth in known
ways. Expected values come from direct counting over all frames in memory (tests/metric_reference.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metric_reference import direct_iou, direct_vc
from openvidseg.data.io import read_mask
from openvidseg.errors import DataError
from openvidseg.metrics.scoring import score_predictions

CAR, OTHER_ANIMAL, DOG = 49, 66, 63
VIDEOS = ("car-shadow", "blackswan")


@pytest.fixture(scope="module")
def mini(shared_data) -> Path:
    root = shared_data / "mini_vspw"
    if not (root / "val.txt").is_file():
        pytest.skip(f"mini VSPW set not present at {root}")
    return root


@pytest.fixture(scope="module")
def ground_truth(mini) -> dict[str, np.ndarray]:
    """{video: (L, 480, 854) uint8 masks}."""
    return {v: np.stack([read_mask(p) for p in sorted((mini / "data" / v / "mask").glob("*.png"))]) for v in VIDEOS}


def write_predictions(pred_dir: Path, predictions: dict[str, np.ndarray], mini: Path) -> None:
    for video, frames in predictions.items():
        names = sorted(p.name for p in (mini / "data" / video / "mask").glob("*.png"))
        (pred_dir / video).mkdir(parents=True)
        for name, frame in zip(names, frames):
            Image.fromarray(frame).save(pred_dir / video / name)


def as_indices(masks: np.ndarray) -> np.ndarray:
    """Dataset ids -> gzsl indices as the reference maps them: 0 and 255 -> 255, ids shifted down by one."""
    return np.where((masks == 0) | (masks == 255), 255, masks.astype(np.int64) - 1).astype(np.uint8)


def test_perfect_predictions_score_100_on_the_classes_present(mini, ground_truth, tmp_path):
    write_predictions(tmp_path / "pred", ground_truth, mini)
    r = score_predictions(tmp_path / "pred", mini, "val").to_json()
    assert r["per_class"]["car"] == 100.0 and r["per_class"]["other animal"] == 100.0
    assert sum(v is not None for v in r["per_class"].values()) == 2
    assert r["mIoU"] == 100.0 and r["mIoU_seen"] == 100.0 and r["aAcc"] == 100.0 and r["mAcc"] == 100.0
    assert r["mIoU_unseen"] is None and r["hIoU"] is None  # car and other_animal are both seen classes
    assert r["VC8"] == 100.0 and r["VC16"] == 100.0
    assert (r["num_frames"], r["num_videos"]) == (90, 2)


def test_shifted_and_relabelled_predictions(mini, ground_truth, tmp_path):
    car = ground_truth["car-shadow"]
    shifted = np.zeros_like(car)
    shifted[:, :, 40:] = car[:, :, :-40]  # the car moved 40 pixels right: its trailing part is missed
    swan = ground_truth["blackswan"].copy()
    swan[:20][swan[:20] == OTHER_ANIMAL] = DOG  # the first 20 frames call the swan a dog
    write_predictions(tmp_path / "pred", {"car-shadow": shifted, "blackswan": swan}, mini)
    r = score_predictions(tmp_path / "pred", mini, "val").to_json()

    gt_all = np.concatenate([as_indices(car), as_indices(ground_truth["blackswan"])])
    pred_all = np.concatenate([as_indices(shifted), as_indices(swan)])
    expected = {name: direct_iou(gt_all, pred_all, cid - 1) for name, cid in
                (("car", CAR), ("other animal", OTHER_ANIMAL), ("dog", DOG))}
    assert 0.5 < expected["car"] < 1 and 0.3 < expected["other animal"] < 1 and expected["dog"] == 0.0
    for name, iou in expected.items():
        assert r["per_class"][name] == pytest.approx(100 * iou)
    # dog is predicted but never in the ground truth: IoU 0, counted in the mean
    assert r["mIoU"] == pytest.approx(100 * sum(expected.values()) / 3)
    videos = [(list(as_indices(car)), list(as_indices(shifted))),
              (list(as_indices(ground_truth["blackswan"])), list(as_indices(swan)))]
    assert r["VC8"] == pytest.approx(100 * direct_vc(videos, 8))
    assert r["VC16"] == pytest.approx(100 * direct_vc(videos, 16))
    assert r["VC8"] < 100.0  # the dog -> swan switch at frame 20 breaks the windows across it


def test_a_dropped_frame_is_an_error_and_scores_lower_when_allowed(mini, ground_truth, tmp_path):
    write_predictions(tmp_path / "pred", ground_truth, mini)
    dropped = tmp_path / "pred" / "blackswan" / "00010.png"
    dropped.unlink()
    with pytest.raises(DataError, match="1 of 90 prediction files are missing: .*blackswan/00010.png"):
        score_predictions(tmp_path / "pred", mini, "val")
    r = score_predictions(tmp_path / "pred", mini, "val", allow_missing=True, on_warning=lambda m: None).to_json()
    swan = ground_truth["blackswan"]
    # other_animal loses frame 10's pixels: IoU = (all swan pixels - frame 10's) / all swan pixels
    swan_pixels, lost = np.sum(swan == OTHER_ANIMAL), np.sum(swan[10] == OTHER_ANIMAL)
    assert r["per_class"]["other animal"] == pytest.approx(100 * (swan_pixels - lost) / swan_pixels)
    assert r["per_class"]["car"] == 100.0
    assert r["mIoU"] < 100.0 and r["VC8"] < 100.0
