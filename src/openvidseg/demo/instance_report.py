"""The instance demo's outputs: report.md (the table over seeds, what the rows are, settings, time), metrics.json,
and an overlay of the validation video with the most novel-class tracks, tracked by the trained CLIP-VIS."""
from __future__ import annotations

import json
from pathlib import Path

from openvidseg.demo.instance_experiment import InstanceDemoRun, InstanceRow
from openvidseg.demo.report import summarise, table_lines, time_lines

METRICS = ("AP", "AP_base", "AP_novel", "AP50", "identity switches", "matched %")


def row_values(row: InstanceRow) -> dict[str, float | None]:
    share = row.switches.matched_share
    return {"AP": row.scores.ap, "AP_base": row.scores.ap_base, "AP_novel": row.scores.ap_novel,
            "AP50": row.scores.scores.get("AP50"), "identity switches": float(row.switches.switches),
            "matched %": None if share is None else 100 * share}


def report_markdown(runs: list[InstanceDemoRun], overlay: Path | None, mode: str) -> str:
    settings, table = runs[0].settings, summarise(runs, row_values)
    world = settings.world
    novel = sorted(f"{c} {s}" for c, s in world.pairs() if world.is_novel(c, s))
    lines = [
        "# openvidseg demo, instance edition: open-vocabulary video instance segmentation in a synthetic world", "",
        f"Mode: **{mode}**; seeds {', '.join(str(r.settings.seed) for r in runs)} (mean ± standard deviation over "
        "seeds).", "",
        f"Objects are coloured shapes named by attribute words (colours {', '.join(world.colours)} x shapes "
        f"{', '.join(world.shapes)}) that move, enter and leave the frame and occlude each other; same-class pairs "
        "swap places, the smaller passing behind the larger. Novel classes "
        f"never appear in training and are reachable through their names only: {', '.join(novel)}.", "",
        "Scores: validation videos, every class in the vocabulary; video AP in % (YouTube-VIS's definition), "
        "AP_base / AP_novel over the world's partition; identity switches of the detected tracks against the "
        "ground-truth tracks (CLEAR-MOT, masks matched at IoU >= 0.5; 'matched %' is the share of ground-truth "
        "masks matched, so fewer switches from fewer matches can be told apart), summed over the videos.", "",
        *table_lines(table, METRICS),
    ]
    lines += ["", "- **clip_vis / ovformer**: the tiny CLIP-VIS and OVFormer trained on the base classes with the "
                  "world CLIP; **control**: the same trained and evaluated with the world CLIP's attribute words "
                  "rotated in its text encoder, so class names point at other classes; **per-frame**: the trained "
                  "model evaluated without temporal matching, each frame's detections (OVFormer: each clip's) linked "
                  "to the previous frame's by class and greedy mask IoU >= 0.3 (a detection left over starts a new "
                  "track); **ovformer + CLIP ensemble (ours)**: the trained OVFormer (its control: the trained control) "
                  "scored with FC-CLIP's inference on top, its aligned class probabilities combined with the "
                  "mask-pooled frozen CLIP's (geometric mean, CLIP's share 0.4 for the training vocabulary's classes, "
                  "0.8 for the others). Mask pooling reads the world CLIP's last block as it is (dense_path standard, "
                  "the path it was pretrained through).", "",
              "## Settings", "", "| setting | value |", "|---|---|",
              f"| world | {world.train_videos} training and {world.val_videos} validation videos of "
              f"{world.num_frames} frames, {world.size[0]}x{world.size[1]}, {world.tracks_per_video[0]}-"
              f"{world.tracks_per_video[1]} objects each, a same-class crossing pair in "
              f"{world.crossing_prob:.0%} of the videos |",
              f"| world CLIP | the semantic demo's world CLIP, pretrained {settings.clip.clip_steps} steps |",
              f"| training | {settings.train_iters} iterations per trained model (presets clip_vis_tiny_synthetic, "
              "ovformer_tiny_synthetic) |", "", *time_lines(runs)]
    if overlay is not None:
        lines += ["", f"Overlay of a validation video with novel classes, tracked by the trained CLIP-VIS: `{overlay}`."]
    return "\n".join(lines) + "\n"


def metrics_json(runs: list[InstanceDemoRun], mode: str) -> dict:
    return {
        "task": "instance", "mode": mode, "seeds": [run.settings.seed for run in runs],
        "summary": summarise(runs, row_values),
        "runs": [{"seed": run.settings.seed, "seconds": run.seconds,
                  "rows": {r.variant.name: {**r.scores.to_json(), "identity_switches": r.switches.switches,
                                            "matched_gt_masks": r.switches.matched, "gt_masks": r.switches.total,
                                            "train_seconds": r.train_seconds, "eval_seconds": r.eval_seconds}
                           for r in run.rows}} for run in runs],
    }


def novel_video(run: InstanceDemoRun) -> str:
    """The validation video (its frame folder's name) with the most novel-class tracks."""
    from openvidseg.data.instance_layouts import load_instance_annotations
    from openvidseg.data.synthetic_instances import NOVEL_PARTITION

    annotations = load_instance_annotations(run.world_root / "val.json")
    novel = {c.id for c in annotations.categories if c.partition == NOVEL_PARTITION}
    counts = {v.name: sum(t.category_id in novel for t in annotations.tracks_of(v.id)) for v in annotations.videos}
    return max(counts, key=counts.get)


def write_overlay(run: InstanceDemoRun, out: Path, upscale: int = 4) -> Path:
    """Track the validation video with the most novel tracks with the trained CLIP-VIS (`segment --task instance`'s
    writer; frames upscaled `upscale` times so ids and names are readable); returns the overlay video."""
    import tempfile

    from PIL import Image

    from openvidseg.inference.outputs import write_segmentation
    from openvidseg.models import load_model

    row = next(r for r in run.rows if r.variant.name == "clip_vis")
    frames = sorted((run.world_root / "val" / "JPEGImages" / novel_video(run)).glob("*.jpg"))
    with tempfile.TemporaryDirectory() as folder:
        for path in frames:
            with Image.open(path) as image:
                image.resize((image.width * upscale, image.height * upscale), Image.NEAREST).save(Path(folder, path.name))
        write_segmentation(folder, list(run.settings.world.class_names()), out, model=load_model(row.model_path),
                           size=min(run.settings.world.size), fps=4, overwrite=True, task="instance", min_score=0.1)
    return out / "overlay.mp4"


def write_instance_demo_outputs(runs: list[InstanceDemoRun], out: Path, mode: str) -> list[Path]:
    """report.md, metrics.json and overlay/ (tracks of the first seed's CLIP-VIS) into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    overlay = write_overlay(runs[0], out / "overlay")
    report = out / "report.md"
    report.write_text(report_markdown(runs, overlay.relative_to(out), mode))
    metrics = out / "metrics.json"
    metrics.write_text(json.dumps(metrics_json(runs, mode), indent=2) + "\n")
    return [report, metrics, overlay]
