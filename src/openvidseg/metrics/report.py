"""Writers of a result, shared by `score`, `eval` and the demo: metrics.json, a markdown report and a
per-class bar chart (PNG, drawn with Pillow).

A result is a semantic `ScoreResult` (per-class IoU, seen/unseen) or an `InstanceScoreResult` (per-class
video AP, base/novel); each says what the writers need: `per_class`, `group_of`, `headline()`, `context()`,
`setting_rows()`, `chart_heading()`, `to_json()`, `metric_label`, `group_labels`, `unscored_label` and
`undefined_note`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from PIL import Image, ImageDraw

from openvidseg.viz.fonts import default_font

if TYPE_CHECKING:
    from openvidseg.metrics.result import ScoreResult
    from openvidseg.metrics.instance_result import InstanceScoreResult

    Result = ScoreResult | InstanceScoreResult

SEEN_COLOUR = (47, 98, 163)
UNSEEN_COLOUR = (222, 118, 30)
OTHER_COLOUR = (120, 120, 120)
GROUP_COLOURS = {"seen": SEEN_COLOUR, "unseen": UNSEEN_COLOUR, "base": SEEN_COLOUR, "novel": UNSEEN_COLOUR}


def format_score(value: float | None, digits: int = 2) -> str:
    """A score in % for a table: `digits` decimals, "n/a" where it is undefined (None)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def classes_by_score(result: Result) -> list[tuple[str, float | None]]:
    """(name, score %) sorted by score descending, classes without a score (None) last, in class order."""
    scored = sorted(((n, v) for n, v in result.per_class.items() if v is not None), key=lambda item: -item[1])
    return scored + [(n, v) for n, v in result.per_class.items() if v is None]


def headline_scores(result: Result) -> list[tuple[str, float | None]]:
    """The scores every summary shows, in order (semantic: mIoU, seen, unseen, hIoU, aAcc, mAcc, VC8, VC16)."""
    return result.headline()


def summary_table(result: Result) -> str:
    """A short plain-text table of the headline scores (%), for a terminal."""
    scores = headline_scores(result)
    widths = [max(len(label), 6) for label, _ in scores]
    header = "  ".join(f"{label:>{w}}" for (label, _), w in zip(scores, widths))
    values = "  ".join(f"{format_score(value):>{w}}" for (_, value), w in zip(scores, widths))
    return f"{result.context()}\n{header}\n{values}"


def write_metrics_json(result: Result, path: str | Path) -> Path:
    """Write `result.to_json()` (percentages, null where undefined) to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return path


def report_markdown(result: Result, title: str, settings: Mapping[str, object] | None = None) -> str:
    """The markdown report: settings, the headline scores, then every class sorted by its score."""
    label = result.metric_label
    lines = [f"# {title}", "", "| setting | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in [*result.setting_rows(), *(settings or {}).items()]]
    lines += ["", "| metric | % |", "|---|---|"]
    for name, value in headline_scores(result):
        lines.append(f"| {name} | {format_score(value)} |")
    lines += ["", result.undefined_note, "", f"## Per class {label}", "",
              f"| rank | class | group | {label} % |", "|---|---|---|---|"]
    unscored = []
    for rank, (name, score) in enumerate(classes_by_score(result), start=1):
        if score is None:
            unscored.append(name)
            continue
        lines.append(f"| {rank} | {name.replace('|', '/')} | {result.group_of(name) or '-'} | {format_score(score)} |")
    if unscored:
        lines += ["", f"{result.unscored_label} ({len(unscored)}, not counted): " + ", ".join(unscored) + "."]
    return "\n".join(lines) + "\n"


def write_report_md(result: Result, path: str | Path, title: str = "Segmentation scores",
                    settings: Mapping[str, object] | None = None) -> Path:
    """Write `report_markdown` to `path` (settings: extra rows such as model, checkpoint, mode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_markdown(result, title, settings))
    return path


def draw_per_class_chart(result: Result, path: str | Path, title: str | None = None,
                         max_rows: int | None = None) -> Path:
    """A horizontal bar chart of per-class scores (sorted, the two groups in two colours, values printed),
    readable for up to VSPW's 124 classes; with more scored classes than `max_rows`, the best and worst
    max_rows / 2 are drawn. Written as PNG to `path`."""
    ranked = classes_by_score(result)
    rows = [(name, score) for name, score in ranked if score is not None]
    unscored = len(ranked) - len(rows)
    hidden = 0
    if max_rows is not None and len(rows) > max_rows:
        hidden = len(rows) - max_rows
        rows = rows[: max_rows - max_rows // 2] + rows[len(rows) - max_rows // 2:]
    font, small = default_font(13), default_font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([int(probe.textlength(name, font=font)) for name, _ in rows] + [60]) + 16
    row_h, top, bar_w, margin = 17, 70, 560, 12
    width = margin + label_w + bar_w + 60 + margin
    height = top + row_h * max(len(rows), 1) + margin
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    x0 = margin + label_w
    draw.text((margin, 8), title or result.chart_heading(), fill="black", font=font)
    legend_x = margin
    for label, colour in zip(result.group_labels, (SEEN_COLOUR, UNSEEN_COLOUR)):
        draw.rectangle([legend_x, 32, legend_x + 12, 44], fill=colour)
        draw.text((legend_x + 17, 31), label, fill="black", font=small)
        legend_x += 30 + int(probe.textlength(label, font=small))
    notes = ([f"{unscored} classes {result.unscored_label.lower()}"] if unscored else []) + (
        [f"{hidden} classes ranked between the best and worst {len(rows)} (see the report)"] if hidden else [])
    if notes:
        draw.text((legend_x + 10, 31), "not shown: " + "; ".join(notes), fill=OTHER_COLOUR, font=small)
    for tick in range(0, 101, 25):
        x = x0 + bar_w * tick // 100
        draw.line([x, top - 6, x, height - margin], fill=(225, 225, 225))
        draw.text((x - 8, top - 20), str(tick), fill=OTHER_COLOUR, font=small)
    for i, (name, score) in enumerate(rows):
        y = top + i * row_h
        draw.text((x0 - 8 - int(probe.textlength(name, font=font)), y + 1), name, fill="black", font=font)
        colour = GROUP_COLOURS.get(result.group_of(name) or "", OTHER_COLOUR)
        end = x0 + round(bar_w * max(0.0, min(score, 100.0)) / 100)
        if end > x0:
            draw.rectangle([x0, y + 3, end, y + row_h - 3], fill=colour)
        draw.text((end + 4, y + 2), f"{score:.1f}", fill="black", font=small)
    draw.line([x0, top - 6, x0, height - margin], fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


REPORT_NAME, CHART_NAME, METRICS_NAME = "report.md", "per_class_iou.png", "metrics.json"
INSTANCE_CHART_NAME = "per_class_ap.png"
CHART_ROWS = 150  # classes drawn at most (LV-VIS has 1,196): the best and worst 75


def chart_name(result: Result) -> str:
    """per_class_iou.png (semantic) or per_class_ap.png (instance)."""
    return f"per_class_{result.metric_label.lower()}.png"


def write_reports(result: Result, folder: str | Path, title: str,
                  settings: Mapping[str, object] | None = None) -> list[Path]:
    """metrics.json, report.md and the per-class chart of one result, into `folder`."""
    folder = Path(folder)
    return [write_metrics_json(result, folder / METRICS_NAME),
            write_report_md(result, folder / REPORT_NAME, title=title, settings=settings),
            draw_per_class_chart(result, folder / chart_name(result), max_rows=CHART_ROWS)]
