"""Score predictions already on disk, no model involved: semantic (mIoU, hIoU, aAcc, mAcc, VC8, VC16), video
instance (video AP as YouTube-VIS / LV-VIS define it, with AP_base / AP_novel) or audio-visual (AVSBench-OV:
mIoU base / novel / harmonic and the F-score at 224 x 224).

--task semantic (default): PRED_DIR/<video>/<frame>.png holds the dataset's class ids 1..N (0 or 255 = no
class, a miss), scored against a VSPW-layout dataset; frames are read one at a time.
--task instance: a YouTube-VIS results JSON (video_id, category_id, score, per-frame RLE segmentations),
scored against a YouTube-VIS / OVIS / LV-VIS (or BURST, COCO/LVIS) annotation file.
--task audio-visual: PRED_DIR/<uid>/<frame>.png (class ids 0..N, or RGB in the dataset's colours, as AVSBench's
code saves them) for each labelled frame of the split, scored against an AVSBench-semantic-layout dataset;
--reference-metrics reproduces the released evaluation code's quirks (docs/audio-visual.md).
The JSON goes to --out, or to stdout when --out is not given (the short table then goes to stderr).

Examples:
  openvidseg score --pred runs/x/predictions --data /data/VSPW_480p --split val --out metrics.json
  openvidseg score --task instance --pred results.json --ann LVVIS/val/val_instances.json --report scores/
  openvidseg score --task audio-visual --pred runs/x/pred --data /data/AVSBench_semantic --split test
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from openvidseg.data.classes import CLASS_NAME_FORMS
from openvidseg.data.splits import PROTOCOLS
from openvidseg.metrics.report import CHART_NAME, INSTANCE_CHART_NAME, REPORT_NAME

# options that belong to some tasks (dest -> tasks); given for another task they are an error
TASK_OPTIONS = {"data": ("semantic", "audio-visual"), "split": ("semantic", "audio-visual"), "protocol": ("semantic",),
                "allow_missing": ("semantic", "audio-visual"), "ann": ("instance",),
                "subsets": ("audio-visual",), "reference_metrics": ("audio-visual",)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="semantic", choices=tuple(TASKS),
                        help="semantic: prediction PNGs against a VSPW-layout dataset; instance: a YouTube-VIS "
                             "results JSON against an annotation file; audio-visual: prediction PNGs against an "
                             "AVSBench-semantic-layout dataset (default: semantic)")
    parser.add_argument("--pred", required=True, metavar="PATH",
                        help="semantic: folder of <video>/<frame>.png predictions; instance: results JSON")
    parser.add_argument("--data", metavar="ROOT", help="semantic: VSPW-layout dataset folder (e.g. VSPW_480p); "
                        "audio-visual: AVSBench-semantic-layout folder")
    parser.add_argument("--ann", metavar="FILE",
                        help="instance: annotation file (YouTube-VIS / OVIS / LV-VIS JSON, BURST, COCO/LVIS)")
    parser.add_argument("--split", help="semantic: dataset split to score, ROOT/<split>.txt (default: val); "
                        "audio-visual: metadata.csv's split (default: test)")
    parser.add_argument("--subsets", nargs="+", choices=("v1s", "v1m", "v2"),
                        help="audio-visual: which AVSBench sets to score (default: all three)")
    parser.add_argument("--reference-metrics", action="store_true",
                        help="audio-visual: reproduce the released evaluation's quirks (per-frame F-score, "
                             "background predictions ignored, ...) instead of the exact metric")
    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="semantic: gzsl scores every class; seen / unseen only that group's pixels (default: gzsl)")
    parser.add_argument("--split-def",
                        help="seen/unseen (instance, audio-visual: base/novel) split: ov2vss | ov_avss | all | a JSON "
                             "list of seen class names; instance also partition (LV-VIS) | frequency (LVIS) (default: "
                             "ov2vss; instance: the file's partition when it has one, else all; audio-visual: ov_avss)")
    parser.add_argument("--class-names", default="clean", choices=CLASS_NAME_FORMS,
                        help="form of the class names in the output (default: clean)")
    parser.add_argument("--out", metavar="FILE", help="write the metrics JSON here (default: stdout)")
    parser.add_argument("--report", metavar="DIR",
                        help=f"also write {REPORT_NAME} and the per-class chart ({CHART_NAME} or {INSTANCE_CHART_NAME}) into DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--allow-missing", action="store_true",
                        help="semantic: score missing predictions as misses (every scored pixel wrong) instead of stopping")


def _check_task_options(args: argparse.Namespace) -> None:
    from openvidseg.errors import InputError

    for dest, tasks in TASK_OPTIONS.items():
        if args.task not in tasks and getattr(args, dest) not in (None, False):
            flag = "--" + dest.replace("_", "-")
            hint = " (the --ann file is the split; --split-def gives base/novel)" if dest == "split" else ""
            raise InputError(f"{flag} is for --task {' / '.join(tasks)}, not --task {args.task}{hint}")
    required = {"semantic": "data", "instance": "ann", "audio-visual": "data"}.get(args.task)
    if required and not getattr(args, required):
        raise InputError(f"--task {args.task} needs --{required}")


def _score_semantic(args: argparse.Namespace):
    from openvidseg.metrics.scoring import score_predictions

    return score_predictions(args.pred, args.data, split=args.split or "val", protocol=args.protocol or "gzsl",
                             split_def=args.split_def or "ov2vss", class_names=args.class_names,
                             allow_missing=args.allow_missing, show_progress=sys.stderr.isatty())


def _score_instance(args: argparse.Namespace):
    from openvidseg.metrics.instance_scoring import score_instance_results

    return score_instance_results(args.pred, args.ann, split_def=args.split_def, class_names=args.class_names,
                                  show_progress=sys.stderr.isatty())


def _score_audio_visual(args: argparse.Namespace):
    from openvidseg.data.avsbench_layout import SUBSETS
    from openvidseg.metrics.audio_visual_scoring import score_audio_visual

    return score_audio_visual(args.pred, args.data, args.split or "test", subsets=args.subsets or SUBSETS,
                              split_def=args.split_def or "ov_avss", class_names=args.class_names,
                              mode="reference" if args.reference_metrics else "exact", allow_missing=args.allow_missing,
                              show_progress=sys.stderr.isatty())


# task -> (scoring function, report title, chart file name); a new task family adds one line here
TASKS = {
    "semantic": (_score_semantic, "Scores of prediction PNGs", CHART_NAME),
    "instance": (_score_instance, "Video instance scores", INSTANCE_CHART_NAME),
    "audio-visual": (_score_audio_visual, "Audio-visual scores of prediction PNGs", CHART_NAME),
}


def run(args: argparse.Namespace) -> int:
    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.metrics.report import (
        CHART_ROWS, draw_per_class_chart, summary_table, write_metrics_json, write_report_md,
    )

    _check_task_options(args)
    score, title, chart = TASKS[args.task]
    out = Path(args.out).expanduser() if args.out else None
    report_dir = Path(args.report).expanduser() if args.report else None
    outputs = ([out] if out else []) + ([report_dir / REPORT_NAME, report_dir / chart] if report_dir else [])
    refuse_existing(outputs, args.overwrite)
    result = score(args)
    table = sys.stdout if out else sys.stderr
    print(summary_table(result), file=table)
    if out:
        write_metrics_json(result, out)
        print(f"wrote {out}")
    else:
        print(json.dumps(result.to_json(), indent=2))
    if report_dir:
        source = ("annotation file", args.ann) if args.task == "instance" else ("dataset", args.data)
        settings = {"predictions": args.pred, source[0]: source[1]}
        write_report_md(result, report_dir / REPORT_NAME, title=title, settings=settings)
        draw_per_class_chart(result, report_dir / chart, max_rows=CHART_ROWS)
        print(f"wrote {report_dir / REPORT_NAME} and {report_dir / chart}", file=table)
    return 0
