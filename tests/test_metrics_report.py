"""The shared result structure and its writers: metrics.json keys, the markdown report, the bar chart."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from openvidseg.errors import InputError
from openvidseg.metrics import SegmentationMetric
from openvidseg.metrics.report import (
    SEEN_COLOUR, UNSEEN_COLOUR, draw_per_class_chart, report_markdown, summary_table, write_metrics_json,
)
from openvidseg.metrics.result import JSON_KEYS, ScoreResult


def small_result() -> ScoreResult:
    """Classes a, b (seen) and c, d (unseen): a IoU 1/2, b 1, c 0 (predicted, not in gt), d unscored."""
    metric = SegmentationMetric(4, class_names=["a", "b", "c", "d"], groups={"seen": [0, 1], "unseen": [2, 3]})
    metric.update(np.array([0, 2, 1, 1]), np.array([0, 0, 1, 1]))
    return ScoreResult.from_metrics(metric.compute(), {8: 0.9, 16: None}, protocol="gzsl", class_names="clean",
                                    split="val", split_def="ov2vss", num_frames=1, num_videos=1)


def test_json_has_the_documented_keys_in_percent_and_round_trips(tmp_path):
    result = small_result()
    data = result.to_json()
    assert tuple(data) == JSON_KEYS
    for key in ("mIoU", "mIoU_seen", "mIoU_unseen", "hIoU", "aAcc", "mAcc", "VC8", "VC16", "per_class", "protocol",
                "class_names", "split", "num_frames", "num_videos"):
        assert key in data
    # mIoU = (50 + 100 + 0) / 3; seen = 75, unseen = 0 -> hIoU 0; aAcc 3/4; mAcc (1/2 + 1) / 2
    assert data["mIoU"] == pytest.approx(50.0) and data["mIoU_seen"] == pytest.approx(75.0)
    assert data["mIoU_unseen"] == 0.0 and data["hIoU"] == 0.0
    assert data["aAcc"] == pytest.approx(75.0) and data["mAcc"] == pytest.approx(75.0)
    assert data["VC8"] == pytest.approx(90.0) and data["VC16"] is None
    assert data["per_class"] == {"a": 50.0, "b": 100.0, "c": 0.0, "d": None}
    assert data["groups"] == {"seen": ["a", "b"], "unseen": ["c", "d"]}
    path = write_metrics_json(result, tmp_path / "out" / "metrics.json")
    text = path.read_text()
    assert '"VC16": null' in text and '"d": null' in text
    assert ScoreResult.from_json(json.loads(text)) == result


def test_from_json_names_missing_keys():
    with pytest.raises(InputError, match="lacks the keys .*VC16"):
        ScoreResult.from_json({k: None for k in JSON_KEYS if k != "VC16"})


def test_from_metrics_needs_class_names():
    metric = SegmentationMetric(2)
    metric.update(np.array([0, 1]), np.array([0, 1]))
    with pytest.raises(InputError, match="class_names"):
        ScoreResult.from_metrics(metric.compute(), {}, protocol="gzsl", class_names="clean", split="val",
                                 split_def="ov2vss", num_frames=1, num_videos=1)


def test_markdown_report_lists_scores_then_classes_sorted_with_groups():
    text = report_markdown(small_result(), "Run X", settings={"model": "tiny"})
    assert text.startswith("# Run X\n")
    assert "| model | tiny |" in text and "| protocol | gzsl |" in text
    assert "| mIoU | 50.00 |" in text and "| VC16 | n/a |" in text and "| hIoU | 0.00 |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count("|") == 5
            and line.split("|")[1].strip().isdigit()]
    assert rows == ["| 1 | b | seen | 100.00 |", "| 2 | a | seen | 50.00 |", "| 3 | c | unseen | 0.00 |"]
    assert "never predicted (1, not counted): d." in text
    table = summary_table(small_result())
    assert "mIoU unseen" in table.splitlines()[1] and "n/a" in table.splitlines()[2]


def test_chart_draws_bars_proportional_to_iou_in_group_colours(tmp_path):
    result = ScoreResult(miou=75.0, miou_seen=100.0, miou_unseen=50.0, hiou=66.7, aacc=90.0, macc=80.0, vc8=None,
                         vc16=None, per_class={"full": 100.0, "half": 50.0},
                         groups={"seen": ["full"], "unseen": ["half"]})
    path = draw_per_class_chart(result, tmp_path / "chart.png")
    pixels = np.asarray(Image.open(path).convert("RGB")).reshape(-1, 3)
    seen = np.all(pixels == SEEN_COLOUR, axis=1).sum()
    unseen = np.all(pixels == UNSEEN_COLOUR, axis=1).sum()
    legend = 13 * 13  # one legend square per colour
    assert (seen - legend) / (unseen - legend) == pytest.approx(2.0, rel=0.02)


def test_chart_fits_124_classes(tmp_path):
    names = [f"class number {i}" for i in range(124)]
    per_class = {n: float(i % 101) for i, n in enumerate(names)}
    result = ScoreResult(miou=50.0, miou_seen=None, miou_unseen=None, hiou=None, aacc=None, macc=None, vc8=None,
                         vc16=None, per_class=per_class, groups={"seen": names[:80], "unseen": names[80:]})
    image = Image.open(draw_per_class_chart(result, tmp_path / "chart.png"))
    assert image.height >= 124 * 15 and 600 < image.width < 1400
