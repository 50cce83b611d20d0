"""The demo's outputs: report.md (the table over seeds, the settings, the time taken), metrics.json, the
per-class IoU chart of OV2VSS, and an overlay video of a validation video with unseen classes in it."""
from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg.demo.experiment import DemoRun, VariantResult
from openvidseg.metrics.report import format_score

COLUMNS = (("mIoU", "miou"), ("seen", "miou_seen"), ("unseen", "miou_unseen"), ("hIoU", "hiou"), ("VC8", "vc8"))


def row_values(result: VariantResult) -> dict[str, float | None]:
    values = {label: getattr(result.scores, attr) for label, attr in COLUMNS}
    values["corrupted frames"] = result.corrupted_miou
    return values


def summarise(runs: list[DemoRun], values: Callable[[Any], dict[str, float | None]] = row_values
              ) -> dict[str, dict[str, dict[str, float | None]]]:
    """{row: {metric: {"mean", "std", "seeds": [...]}}} over the seeds' runs (any demo's: `values` gives a row's
    metrics)."""
    table: dict[str, dict[str, dict]] = {}
    for run in runs:
        for result in run.rows:
            for metric, value in values(result).items():
                table.setdefault(result.variant.name, {}).setdefault(metric, {"seeds": []})["seeds"].append(value)
    for metrics in table.values():
        for name, entry in metrics.items():
            metrics[name] = seed_summary(entry["seeds"])
    return table


def seed_summary(values: list[float | None]) -> dict:
    """{"seeds": values, "mean", "std"} of one metric over seeds (None values left out; std needs two)."""
    known = [v for v in values if v is not None]
    return {"seeds": values, "mean": statistics.fmean(known) if known else None,
            "std": statistics.stdev(known) if len(known) > 1 else None}


def format_cell(entry: dict) -> str:
    """'49.3 ± 6.2' (mean ± std over seeds), '49.3' for one seed, 'n/a' when undefined."""
    if entry["mean"] is None:
        return "n/a"
    return format_score(entry["mean"], 1) + (f" ± {entry['std']:.1f}" if entry["std"] is not None else "")


def table_lines(table: dict[str, dict[str, dict]], metrics: Sequence[str]) -> list[str]:
    """The markdown table of a `summarise` table: a row per model, a column per metric (mean ± std)."""
    lines = ["| model | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    return lines + [f"| {name} | " + " | ".join(format_cell(row[m]) for m in metrics) + " |" for name, row in table.items()]


# per-seed differences the full run's report lists (the temporal target of issue 12 and the ablation)
DIFFERENCES = (("corrupted frames", "ov2vss + TCF (ours)", "frame"), ("mIoU", "ov2vss + TCF (ours)", "frame"),
               ("corrupted frames", "ov2vss", "frame"), ("mIoU", "ov2vss", "frame"),
               ("corrupted frames", "ov2vss + TCF (ours)", "ov2vss"), ("VC8", "ov2vss + TCF (ours)", "ov2vss"),
               *((metric, "ov2vss + TCF (ours)", f"ov2vss + TCF without {module}")
                 for module in ("STF", "RFE", "VTE") for metric in ("mIoU", "corrupted frames")))


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def difference_lines(table: dict[str, dict[str, dict]], seeds: Sequence[int]) -> list[str]:
    """A markdown table of `DIFFERENCES` whose rows are all in `table` (a `summarise` table): one column per
    seed and the mean; empty when none is."""
    lines = []
    for metric, a, b in DIFFERENCES:
        if a in table and b in table:
            values = [None if x is None or y is None else x - y
                      for x, y in zip(table[a][metric]["seeds"], table[b][metric]["seeds"])]
            cells = [_signed(v) for v in values] + [_signed(seed_summary(values)["mean"])]
            lines.append(f"| {metric}, {a} minus {b} | " + " | ".join(cells) + " |")
    if not lines:
        return []
    return ["", "Per seed differences (points):", "", "| difference | " + " | ".join(f"seed {s}" for s in seeds)
            + " | mean |", "|---|" + "---|" * (len(seeds) + 1), *lines]


def time_lines(runs: list) -> list[str]:
    """The "## Time" section of any demo's report: seconds per phase, per seed."""
    lines = ["## Time", "", "| phase | seconds (per seed) |", "|---|---|"]
    return lines + [f"| {phase} | {' / '.join(f'{run.seconds[phase]:.0f}' for run in runs)} |"
                    for phase in runs[0].seconds]


def report_markdown(runs: list[DemoRun], overlay: Path | None, mode: str) -> str:
    settings, table = runs[0].settings, summarise(runs)
    world = settings.world
    seeds = [run.settings.seed for run in runs]
    metrics = [label for label, _ in COLUMNS] + ["corrupted frames"]
    lines = [
        "# openvidseg demo: open-vocabulary video segmentation in a synthetic world", "",
        f"Mode: **{mode}**; seeds {', '.join(map(str, seeds))} (mean ± standard deviation over seeds).", "",
        "Classes are compositions of attribute words: colours "
        f"({', '.join(world.colours)}) x shapes ({', '.join(world.shapes)}), plus grey grounds "
        f"({', '.join(name for name, _ in world.grounds)}). Unseen classes (never a mask in training, reachable "
        f"through their names only): {', '.join(sorted(f'{c} {s}' for c, s in world.unseen_pairs()))}. "
        f"{100 * world.corrupt_prob:.0f}% of frames are heavily corrupted (noise, blur, dropped); their ground "
        "truth stays the true scene.", "",
        "Scores: gzsl protocol (every class in the vocabulary), validation videos, clip mode, mIoU in %; "
        "'corrupted frames' is mIoU over the corrupted frames only.", "",
        *table_lines(table, metrics),
        *difference_lines(table, seeds),
    ]
    lines += ["", "- **ov2vss / frame**: trained on the seen classes only; **dense_clip**: training-free; "
                  "**control**: OV2VSS whose class names are encoded as other classes' names (attribute words "
                  "rotated in the CLIP text encoder), so unseen classes are unreachable through their names.",
              *(["- **ov2vss + TCF (ours)**: OV2VSS with temporal cost fusion (`use_tcf=true`: the references' cost "
                 "volumes fused into the target's); **without STF / RFE / VTE**: that model with one temporal module "
                 "off (without TCF it is the ov2vss row, the specification's model)."] if settings.ablations else []),
              "",
              "## Settings", "", "| setting | value |", "|---|---|",
              f"| world | {world.train_videos} training and {world.val_videos} validation videos of "
              f"{world.num_frames} frames, {world.size[0]}x{world.size[1]} |",
              f"| world CLIP | pretrained {settings.clip_steps} steps on scene crops and captions of all classes |",
              f"| training | {settings.train_iters} iterations per trained model (preset demo_world) |",
              "", *time_lines(runs)]
    if overlay is not None:
        lines += ["", f"Overlay of a validation video with unseen classes, segmented by OV2VSS: `{overlay}`."]
    return "\n".join(lines) + "\n"


def metrics_json(runs: list[DemoRun], mode: str) -> dict:
    return {
        "mode": mode, "seeds": [run.settings.seed for run in runs], "summary": summarise(runs),
        "runs": [{"seed": run.settings.seed, "seconds": run.seconds,
                  "rows": {r.variant.name: {**r.scores.to_json(), "corrupted_frames_mIoU": r.corrupted_miou,
                                            "train_seconds": r.train_seconds, "eval_seconds": r.eval_seconds}
                           for r in run.rows}} for run in runs],
    }


def unseen_video(run: DemoRun) -> str:
    """The validation video with the most unseen-class pixels."""
    from openvidseg.data import VSPWDataset

    data = VSPWDataset(run.paths.world, "val", split=str(run.paths.world / "seen_classes.json"))
    unseen = np.zeros(256, dtype=bool)
    unseen[list(data.split.unseen)] = True
    counts = {v.name: sum(int(unseen[v.mask(t)].sum()) for t in range(0, len(v), 4)) for v in data.videos}
    return max(counts, key=counts.get)


def write_overlay(run: DemoRun, out: Path, upscale: int = 4) -> Path:
    """Segment the validation video with the most unseen classes with the trained OV2VSS (the model works at
    the world's size; frames are upscaled `upscale` times so the overlay and its legend are readable);
    returns the overlay video."""
    import tempfile

    from PIL import Image

    from openvidseg.inference.outputs import write_segmentation
    from openvidseg.models import load_model

    result = next(r for r in run.rows if r.variant.name == "ov2vss")
    model = load_model(result.model_path)
    names = run.settings.world.class_names()
    frames = sorted((run.paths.world / "data" / unseen_video(run) / "origin").glob("*.jpg"))
    with tempfile.TemporaryDirectory() as folder:
        for path in frames:
            with Image.open(path) as image:
                image.resize((image.width * upscale, image.height * upscale), Image.NEAREST).save(Path(folder, path.name))
        write_segmentation(folder, list(names), out, model=model, size=run.settings.world.size[0], fps=8,
                           masks=False, overwrite=True)
    return out / "overlay.mp4"


def write_demo_outputs(runs: list[DemoRun], out: Path, mode: str) -> list[Path]:
    """report.md, metrics.json, per_class_iou.png (OV2VSS, first seed) and overlay/ into `out`."""

    out.mkdir(parents=True, exist_ok=True)
    overlay = write_overlay(runs[0], out / "overlay")
    ov2vss = next(r for r in runs[0].rows if r.variant.name == "ov2vss")
    return write_report_files(out, overlay, ov2vss.scores, f"OV2VSS per-class IoU (%), seed {runs[0].settings.seed}",
                              report_markdown(runs, overlay.relative_to(out), mode), metrics_json(runs, mode))


def write_report_files(out: Path, overlay: Path, scores, chart_title: str, report: str, metrics: dict) -> list[Path]:
    """A demo's report.md, metrics.json and per_class_iou.png (of `scores`, titled `chart_title` and its mIoU)
    into `out`; returns them and the `overlay` already written, for the command to list."""
    from openvidseg.metrics.report import draw_per_class_chart

    chart = draw_per_class_chart(scores, out / "per_class_iou.png",
                                 title=f"{chart_title}: mIoU {format_score(scores.miou, 1)}")
    (out / "report.md").write_text(report)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return [out / "report.md", out / "metrics.json", chart, overlay]
