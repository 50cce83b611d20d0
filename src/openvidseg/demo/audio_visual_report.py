"""The audio-visual demo's outputs: report.md (the table over seeds, the settings, the time taken), metrics.json,
the per-class IoU chart of OV-AVSS and an overlay video (with its sound) of a test video where a novel class
sounds, the sounding objects marked."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from openvidseg.demo.audio_visual import ROWS, AudioDemoRun
from openvidseg.demo.report import format_cell, seed_summary, write_report_files
from openvidseg.metrics.report import format_score

COLUMNS = (("mIoU", "miou"), ("base", "miou_base"), ("novel", "miou_novel"), ("hIoU", "hiou"), ("F", "fscore"),
           ("F base", "fscore_base"), ("F novel", "fscore_novel"))


def summarise(runs: list[AudioDemoRun]) -> dict[str, dict[str, dict]]:
    """{row: {metric: {"mean", "std", "seeds": [...]}}} over the seeds' runs (percentages)."""
    return {name: {label: seed_summary([getattr(run.rows[name], attr) for run in runs]) for label, attr in COLUMNS}
            for name in ROWS}


def report_markdown(runs: list[AudioDemoRun], overlay: Path | None, mode: str) -> str:
    settings, table = runs[0].settings, summarise(runs)
    world, visual = settings.world, settings.world.visual
    labels = [label for label, _ in COLUMNS]
    gaps = [run.rows["ov_avss"].miou - run.rows["shuffled audio"].miou for run in runs]
    lines = [
        "# openvidseg demo: open-vocabulary audio-visual segmentation in a synthetic world", "",
        f"Mode: **{mode}**; seeds {', '.join(str(r.settings.seed) for r in runs)} (mean ± standard deviation over "
        "seeds).", "",
        f"Videos of {world.frames} frames at 1 fps show {world.objects_per_video[0]}-{world.objects_per_video[1]} "
        "moving shapes; each class sounds as its words say (colour: pitch "
        f"{', '.join(f'{c} {p:.0f} Hz' for c, p in zip(visual.colours, world.pitches))}; shape: timbre "
        f"{', '.join(f'{s} {t}' for s, t in zip(visual.shapes, world.timbres))}); {world.silent_share:.0%} of a "
        "video's shapes are silent distractors, the others its sources, each sounding in "
        f"{world.sound_prob:.0%} of the seconds: the ground truth holds the sounding shapes only. Novel classes "
        f"(never seen nor heard in training): {', '.join(n.replace('-', ' ') for n in world.novel_names())}.", "",
        "Scores on the test videos, every class in the vocabulary (AVSBench-OV metrics: mIoU over background and "
        "classes at 224 x 224, base / novel / harmonic; F-score beta^2 = 0.3 per class per clip), in %:", "",
        "| model | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name in ROWS:
        lines.append(f"| {name} | " + " | ".join(format_cell(table[name][label]) for label in labels) + " |")
    lines += ["", f"True audio minus shuffled audio, mIoU: {', '.join(f'{g:.1f}' for g in gaps)} (per seed).", "",
              "- **ov_avss**: trained on the base classes' sounding objects (class-agnostic queries), classes named by "
              "CLIP re-encoding the mask crops; **shuffled audio**: the same model hearing another video's clip; "
              "**shuffled text**: the same model with the attribute words rotated in CLIP's text encoder.", "",
              "## Settings", "", "| setting | value |", "|---|---|",
              f"| world | {world.train_videos} training and {world.test_videos} test videos, "
              f"{visual.size[0]}x{visual.size[1]}, {world.sample_rate} Hz sound |",
              f"| world CLIP | pretrained {settings.clip_steps} steps on scene crops and captions of all classes |",
              f"| world VGGish | tiny, pretrained {settings.audio_steps} steps on mixtures of all classes' sounds "
              "(targets: the colour and shape words of what sounds), frozen |",
              f"| training | {settings.train_iters} steps of {settings.batch_size} clips (preset ov_avss_tiny_synthetic, "
              "the pretrained tiny VGGish frozen) |", "", "## Time", "", "| phase | seconds (per seed) |", "|---|---|"]
    for phase in runs[0].seconds:
        lines.append(f"| {phase} | {' / '.join(f'{run.seconds[phase]:.0f}' for run in runs)} |")
    if overlay is not None:
        lines += ["", f"Overlay (with its sound) of a test video where a novel class sounds: `{overlay}`."]
    return "\n".join(lines) + "\n"


def metrics_json(runs: list[AudioDemoRun], mode: str) -> dict:
    return {"mode": mode, "seeds": [run.settings.seed for run in runs], "summary": summarise(runs),
            "runs": [{"seed": run.settings.seed, "seconds": run.seconds,
                      "rows": {name: scores.to_json() for name, scores in run.rows.items()}} for run in runs]}


def novel_video(run: AudioDemoRun) -> str:
    """The test video where novel classes sound the most (pixels over its frames)."""
    from openvidseg.data.avsbench import AVSBenchDataset

    data = AVSBenchDataset(run.paths.world, "test", class_split=str(run.paths.world / "seen_classes.json"))
    novel = np.zeros(256, dtype=bool)
    novel[list(data.split.unseen)] = True
    counts = {v.uid: sum(int(novel[data.mask(v, k)].sum()) for k in v.labelled_frames) for v in data.videos}
    return max(counts, key=counts.get)


def write_overlay(run: AudioDemoRun, out: Path, upscale: int = 4) -> Path:
    """Segment the test video where novel classes sound most with the trained model; write its frames upscaled
    `upscale` times with the sounding objects marked, and its sound, as overlay.mp4."""
    from openvidseg.data.audio import open_frame_audio
    from openvidseg.data.audio_video_writer import write_video_with_audio
    from openvidseg.data.video import open_frames
    from openvidseg.demo.audio_world import VIDEO_DIR
    from openvidseg.inference.audio_visual import AudioVisualPredictor
    from openvidseg.models import load_model
    from openvidseg.viz import class_colors
    from openvidseg.viz.sounding import sounding_overlay

    names = [n.replace("-", " ") for n in run.settings.world.class_names()]
    predictor = AudioVisualPredictor(load_model(run.model_path), names, short_side=run.settings.size)
    video = run.paths.world / VIDEO_DIR / f"{novel_video(run)}.mp4"
    colors, frames = class_colors(len(names)), []
    audio = open_frame_audio(video)
    with open_frames(video) as source:
        for result in predictor.predict(source, audio):
            big = np.kron(result.frame, np.ones((upscale, upscale, 1), dtype=np.uint8))
            labels = np.kron(result.labels, np.ones((upscale, upscale), dtype=np.uint8))
            frames.append(sounding_overlay(big, labels, names, colors))
    out.mkdir(parents=True, exist_ok=True)
    return write_video_with_audio(out / "overlay.mp4", frames, 1.0, audio.track.samples, audio.track.sample_rate)


def write_audio_demo_outputs(runs: list[AudioDemoRun], out: Path, mode: str) -> list[Path]:
    """report.md, metrics.json, per_class_iou.png (OV-AVSS, first seed) and overlay/ into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    overlay = write_overlay(runs[0], out / "overlay")
    return write_report_files(out, overlay, runs[0].rows["ov_avss"], f"OV-AVSS per-class IoU (%), seed "
                              f"{runs[0].settings.seed}", report_markdown(runs, overlay.relative_to(out), mode),
                              metrics_json(runs, mode))
