"""`openvidseg score` end to end on a tiny generated VSPW-layout folder: hand-computed scores under each
protocol, missing / extra / wrong-size / out-of-range predictions, and output files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openvidseg.cli import main
from openvidseg.errors import DataError
from openvidseg.metrics.scoring import score_predictions

WALL, TRASH_CAN = 1, 81  # VSPW ids: seen (1..80) and unseen (81..124) under the ov2vss split


def write_masks(folder: Path, frames: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        Image.fromarray(frame.astype(np.uint8)).save(folder / f"{t:05d}.png")


def hand_video(length: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """(L, 4, 4) gt and prediction. gt: row 0 others (0, ignored), rows 1-3 wall in columns 0-1 and
    trash can in columns 2-3. Prediction: the gt, except column 3 of rows 1-3 predicted wall."""
    gt = np.zeros((4, 4), dtype=np.uint8)
    gt[1:, :2], gt[1:, 2:] = WALL, TRASH_CAN
    pred = gt.copy()
    pred[1:, 3] = WALL
    return np.repeat(gt[None], length, axis=0), np.repeat(pred[None], length, axis=0)


@pytest.fixture()
def tiny(tmp_path) -> tuple[Path, Path]:
    """ROOT (one 17-frame val video 'v1') and PRED_DIR with the hand-built prediction."""
    root, pred_dir = tmp_path / "VSPW", tmp_path / "pred"
    gt, pred = hand_video()
    write_masks(root / "data" / "v1" / "mask", gt)
    (root / "val.txt").write_text("v1\n")
    write_masks(pred_dir / "v1", pred)
    return root, pred_dir


def test_gzsl_scores_worked_by_hand(tiny):
    root, pred_dir = tiny
    r = score_predictions(pred_dir, root, "val").to_json()
    # per frame: wall TP 6, FP 3 (column 3) -> IoU 6/9;  trash can TP 3, FN 3 -> IoU 3/6
    # mIoU = (2/3 + 1/2) / 2 = 7/12;  hIoU = 2 (2/3)(1/2) / (7/6) = 4/7;  aAcc = 9/12;  mAcc = (1 + 1/2) / 2
    assert r["per_class"]["wall"] == pytest.approx(100 * 2 / 3)
    assert r["per_class"]["trash can"] == pytest.approx(50.0)
    assert r["mIoU"] == pytest.approx(100 * 7 / 12)
    assert r["mIoU_seen"] == pytest.approx(100 * 2 / 3) and r["mIoU_unseen"] == pytest.approx(50.0)
    assert r["hIoU"] == pytest.approx(100 * 4 / 7)
    assert r["aAcc"] == pytest.approx(75.0) and r["mAcc"] == pytest.approx(75.0)
    assert r["VC8"] == 100.0 and r["VC16"] == 100.0  # constant gt and prediction
    assert r["per_class"]["ceiling"] is None and len(r["per_class"]) == 124
    assert (r["protocol"], r["class_names"], r["split"]) == ("gzsl", "clean", "val")
    assert (r["num_frames"], r["num_videos"]) == (17, 1)


def test_seen_and_unseen_protocols_score_only_their_pixels(tiny):
    root, pred_dir = tiny
    unseen = score_predictions(pred_dir, root, "val", protocol="unseen").to_json()
    # only trash-can pixels scored; the wall predicted there is outside the vocabulary: a miss -> 3/6
    assert unseen["mIoU"] == pytest.approx(50.0) and unseen["mIoU_unseen"] == pytest.approx(50.0)
    assert unseen["mIoU_seen"] is None and unseen["hIoU"] is None and len(unseen["per_class"]) == 44
    assert unseen["aAcc"] == pytest.approx(50.0)
    seen = score_predictions(pred_dir, root, "val", protocol="seen", class_names="raw").to_json()
    # only wall pixels scored, all right; the wall predicted on trash-can pixels is not scored -> 100
    assert seen["mIoU"] == 100.0 and seen["mIoU_unseen"] is None and len(seen["per_class"]) == 80
    assert seen["class_names"] == "raw" and "handrail_or_fence" in seen["per_class"]


def test_missing_prediction_is_an_error_unless_allowed(tiny):
    root, pred_dir = tiny
    (pred_dir / "v1" / "00003.png").unlink()
    with pytest.raises(DataError, match=r"1 of 17 prediction files are missing: .*v1/00003\.png.*--allow-missing"):
        score_predictions(pred_dir, root, "val")
    warnings: list[str] = []
    r = score_predictions(pred_dir, root, "val", allow_missing=True, on_warning=warnings.append).to_json()
    assert "v1/00003.png" in warnings[0]
    # frame 3 scores every pixel as a miss. wall: TP 6*16, gt 6*17, predicted 9*16 -> 96 / (102 + 144 - 96) = 0.64
    # trash can: TP 3*16, gt 6*17, predicted 3*16 -> 48/102
    assert r["per_class"]["wall"] == pytest.approx(64.0)
    assert r["per_class"]["trash can"] == pytest.approx(100 * 48 / 102)
    assert r["mIoU"] == pytest.approx(100 * (0.64 + 48 / 102) / 2)
    # VC: the missing frame predicts 255 everywhere. Row 0 (others -> 255 in gt and prediction) stays
    # consistent; the 12 other pixels do not in windows holding frame 3: such windows score 4/16.
    # VC16: one window (frames 0..15) -> 25.  VC8: starts 0..3 hold frame 3 (1/4 each), starts 4..8 score 1
    assert r["VC16"] == pytest.approx(25.0)
    assert r["VC8"] == pytest.approx(100 * (4 * 0.25 + 5) / 9)


def test_extra_files_are_ignored_with_a_warning(tiny):
    root, pred_dir = tiny
    write_masks(pred_dir / "not_in_split", np.zeros((1, 4, 4), dtype=np.uint8))
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(pred_dir / "v1" / "99999.png")
    warnings: list[str] = []
    r = score_predictions(pred_dir, root, "val", on_warning=warnings.append).to_json()
    assert r["mIoU"] == pytest.approx(100 * 7 / 12)
    assert len(warnings) == 1 and "not_in_split" in warnings[0] and "99999.png" in warnings[0]


def test_misnamed_predictions_hint_at_the_names(tiny):
    root, pred_dir = tiny
    for path in sorted((pred_dir / "v1").glob("*.png")):
        path.rename(path.with_name(f"frame_{path.name}"))
    with pytest.raises(DataError, match="17 of 17 prediction files are missing.*17 files match no frame.*do the names"):
        score_predictions(pred_dir, root, "val")


def test_wrong_size_and_out_of_range_ids_name_the_files(tiny):
    root, pred_dir = tiny
    Image.fromarray(np.zeros((5, 4), dtype=np.uint8)).save(pred_dir / "v1" / "00002.png")
    bad = np.full((4, 4), WALL, dtype=np.uint8)
    bad[0, 0], bad[0, 1] = 200, 255  # 200 > 124 is out of range; 255 (no class) is allowed
    Image.fromarray(bad).save(pred_dir / "v1" / "00005.png")
    with pytest.raises(DataError) as err:
        score_predictions(pred_dir, root, "val")
    message = str(err.value)
    assert message.startswith("2 bad files")
    assert "v1/00002.png: size 4x5 (WxH), ground truth 4x4" in message
    assert "v1/00005.png: ids [200] outside 0..124 and 255" in message


def test_rgb_prediction_is_a_clear_error(tiny):
    root, pred_dir = tiny
    Image.new("RGB", (4, 4)).save(pred_dir / "v1" / "00000.png")
    with pytest.raises(DataError, match=r"00000\.png has mode RGB: expected a single-channel"):
        score_predictions(pred_dir, root, "val")


def test_cli_writes_json_refuses_to_overwrite_and_writes_a_report(tiny, tmp_path, capsys):
    root, pred_dir = tiny
    out, report = tmp_path / "metrics.json", tmp_path / "report"
    args = ["score", "--pred", str(pred_dir), "--data", str(root), "--split", "val"]
    assert main(args + ["--out", str(out), "--report", str(report)]) == 0
    printed = capsys.readouterr().out
    assert "mIoU" in printed and "58.33" in printed and f"wrote {out}" in printed
    written = json.loads(out.read_text())
    assert written["mIoU"] == pytest.approx(100 * 7 / 12) and written["split"] == "val"
    assert (report / "report.md").is_file() and (report / "per_class_iou.png").is_file()
    out.write_text("keep me")
    assert main(args + ["--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "metrics.json already exists" in err and "--overwrite" in err and out.read_text() == "keep me"
    assert main(args + ["--out", str(out), "--overwrite"]) == 0
    assert json.loads(out.read_text())["num_frames"] == 17


def test_cli_without_out_prints_json_on_stdout_and_the_table_on_stderr(tiny, capsys):
    root, pred_dir = tiny
    assert main(["score", "--pred", str(pred_dir), "--data", str(root), "--protocol", "unseen"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["protocol"] == "unseen"
    assert "mIoU unseen" in captured.err


def test_cli_reports_missing_predictions_in_one_line(tiny, capsys):
    root, pred_dir = tiny
    (pred_dir / "v1" / "00016.png").unlink()
    assert main(["score", "--pred", str(pred_dir), "--data", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "00016.png" in err and "Traceback" not in err
