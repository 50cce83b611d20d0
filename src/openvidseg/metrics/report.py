"""Writers of a `ScoreResult`, shared by `score`, `eval` and the demo: metrics.json, a markdown report and
a per-class IoU bar chart (PNG, drawn with Pillow)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

from PIL import Image, ImageDraw

from openvidseg.metrics.result import ScoreResult
from openvidseg.viz.fonts import default_font

SEEN_COLOUR = (47, 98, 163)
UNSEEN_COLOUR = (222, 118, 30)
OTHER_COLOUR = (120, 120, 120)
GROUP_COLOURS = {"seen": SEEN_COLOUR, "unseen": UNSEEN_COLOUR}


def format_score(value: float | None, digits: int = 2) -> str:
    """A score in % for a table: `digits` decimals, "n/a" where it is undefined (None)."""
    return "n/a" if value is None else f"{value:.{digits}f}"


def classes_by_iou(result: ScoreResult) -> list[tuple[str, float | None]]:
    """(name, IoU %) sorted by IoU descending, classes without a score (None) last, in class order."""
    scored = sorted(((n, v) for n, v in result.per_class.items() if v is not None), key=lambda item: -item[1])
    return scored + [(n, v) for n, v in result.per_class.items() if v is None]


def headline_scores(result: ScoreResult) -> list[tuple[str, float | None]]:
    """The scores every summary shows, in order: mIoU, seen, unseen, hIoU, aAcc, mAcc, VC8, VC16."""
    return [("mIoU", result.miou), ("mIoU seen", result.miou_seen), ("mIoU unseen", result.miou_unseen),
            ("hIoU", result.hiou), ("aAcc", result.aacc), ("mAcc", result.macc), ("VC8", result.vc8),
            ("VC16", result.vc16)]


def summary_table(result: ScoreResult) -> str:
    """A short plain-text table of the headline scores (%), for a terminal."""
    scores = headline_scores(result)
    widths = [max(len(label), 6) for label, _ in scores]
    header = "  ".join(f"{label:>{w}}" for (label, _), w in zip(scores, widths))
    values = "  ".join(f"{format_score(value):>{w}}" for (_, value), w in zip(scores, widths))
    context = (f"protocol {result.protocol}, split {result.split} ({result.split_def}), {result.num_videos} videos, "
               f"{result.num_frames} frames, class names {result.class_names}")
    return f"{context}\n{header}\n{values}"


def write_metrics_json(result: ScoreResult, path: str | Path) -> Path:
    """Write `result.to_json()` (percentages, null where undefined) to `path`; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return path


def report_markdown(result: ScoreResult, title: str, settings: Mapping[str, object] | None = None) -> str:
    """The markdown report: settings, the headline scores, then every class sorted by IoU."""
    lines = [f"# {title}", "", "| setting | value |", "|---|---|",
             f"| protocol | {result.protocol} |", f"| class names | {result.class_names} |",
             f"| split | {result.split} (seen/unseen: {result.split_def}) |",
             f"| frames / videos | {result.num_frames} / {result.num_videos} |"]
    lines += [f"| {key} | {value} |" for key, value in (settings or {}).items()]
    lines += ["", "| metric | % |", "|---|---|"]
    for label, value in headline_scores(result):
        lines.append(f"| {label} | {format_score(value)} |")
    lines += ["", "n/a: undefined (a group with no class in the ground truth or predicted; VC without a video "
                  "longer than 16 frames).", "", "## Per class IoU", "",
              "| rank | class | group | IoU % |", "|---|---|---|---|"]
    unscored = []
    for rank, (name, iou) in enumerate(classes_by_iou(result), start=1):
        if iou is None:
            unscored.append(name)
            continue
        lines.append(f"| {rank} | {name.replace('|', '/')} | {result.group_of(name) or '-'} | {format_score(iou)} |")
    if unscored:
        lines += ["", f"Not in the ground truth and never predicted ({len(unscored)}, not counted): "
                      + ", ".join(unscored) + "."]
    return "\n".join(lines) + "\n"


def write_report_md(result: ScoreResult, path: str | Path, title: str = "Segmentation scores",
                    settings: Mapping[str, object] | None = None) -> Path:
    """Write `report_markdown` to `path` (settings: extra rows such as model, checkpoint, mode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_markdown(result, title, settings))
    return path


def draw_per_class_chart(result: ScoreResult, path: str | Path, title: str | None = None) -> Path:
    """A horizontal bar chart of per-class IoU (sorted, seen and unseen in two colours, values printed),
    readable for up to VSPW's 124 classes; written as PNG to `path`."""
    ranked = classes_by_iou(result)
    rows = [(name, iou) for name, iou in ranked if iou is not None]
    unscored = len(ranked) - len(rows)
    font, small = default_font(13), default_font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([int(probe.textlength(name, font=font)) for name, _ in rows] + [60]) + 16
    row_h, top, bar_w, margin = 17, 70, 560, 12
    width = margin + label_w + bar_w + 60 + margin
    height = top + row_h * max(len(rows), 1) + margin
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    x0 = margin + label_w
    heading = title or (f"Per-class IoU (%), protocol {result.protocol}, split {result.split}: "
                        f"mIoU {format_score(result.miou)}")
    draw.text((margin, 8), heading, fill="black", font=font)
    legend_x = margin
    for label, colour in (("seen", SEEN_COLOUR), ("unseen", UNSEEN_COLOUR)):
        draw.rectangle([legend_x, 32, legend_x + 12, 44], fill=colour)
        draw.text((legend_x + 17, 31), label, fill="black", font=small)
        legend_x += 30 + int(probe.textlength(label, font=small))
    if unscored:
        note = f"not shown: {unscored} classes neither in the ground truth nor predicted"
        draw.text((legend_x + 10, 31), note, fill=OTHER_COLOUR, font=small)
    for tick in range(0, 101, 25):
        x = x0 + bar_w * tick // 100
        draw.line([x, top - 6, x, height - margin], fill=(225, 225, 225))
        draw.text((x - 8, top - 20), str(tick), fill=OTHER_COLOUR, font=small)
    for i, (name, iou) in enumerate(rows):
        y = top + i * row_h
        draw.text((x0 - 8 - int(probe.textlength(name, font=font)), y + 1), name, fill="black", font=font)
        colour = GROUP_COLOURS.get(result.group_of(name) or "", OTHER_COLOUR)
        end = x0 + round(bar_w * max(0.0, min(iou, 100.0)) / 100)
        if end > x0:
            draw.rectangle([x0, y + 3, end, y + row_h - 3], fill=colour)
        draw.text((end + 4, y + 2), f"{iou:.1f}", fill="black", font=small)
    draw.line([x0, top - 6, x0, height - margin], fill="black")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


REPORT_NAME, CHART_NAME, METRICS_NAME = "report.md", "per_class_iou.png", "metrics.json"


def write_reports(result: ScoreResult, folder: str | Path, title: str,
                  settings: Mapping[str, object] | None = None) -> list[Path]:
    """metrics.json, report.md and the per-class chart of one result, into `folder`."""
    folder = Path(folder)
    return [write_metrics_json(result, folder / METRICS_NAME),
            write_report_md(result, folder / REPORT_NAME, title=title, settings=settings),
            draw_per_class_chart(result, folder / CHART_NAME)]
