"""Score prediction PNGs against a VSPW-layout dataset, no model involved: mIoU, hIoU, aAcc, mAcc, VC8, VC16.

Predictions are laid out like the masks, PRED_DIR/<video>/<frame>.png, single-channel PNGs holding the
dataset's class ids 1..N (the ids of the ground truth); 0 or 255 means no class and counts as a miss.
Frames are read one at a time. The JSON goes to --out, or to stdout when --out is not given (the short
table then goes to stderr).

Example: openvidseg score --pred runs/x/predictions --data /data/VSPW_480p --split val --out metrics.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from openvidseg.data.classes import CLASS_NAME_FORMS
from openvidseg.data.splits import PROTOCOLS
from openvidseg.metrics.report import CHART_NAME, REPORT_NAME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pred", required=True, metavar="PRED_DIR", help="folder of <video>/<frame>.png predictions")
    parser.add_argument("--data", required=True, metavar="ROOT", help="VSPW-layout dataset folder (e.g. VSPW_480p)")
    parser.add_argument("--split", default="val", help="dataset split to score: ROOT/<split>.txt (default: val)")
    parser.add_argument("--protocol", default="gzsl", choices=PROTOCOLS,
                        help="gzsl: every class; seen / unseen: only that group's pixels (default: gzsl)")
    parser.add_argument("--split-def", default="ov2vss",
                        help="seen/unseen split: ov2vss | all | a JSON list of seen class names (default: ov2vss)")
    parser.add_argument("--class-names", default="clean", choices=CLASS_NAME_FORMS,
                        help="form of the class names in the output (default: clean)")
    parser.add_argument("--out", metavar="FILE", help="write the metrics JSON here (default: stdout)")
    parser.add_argument("--report", metavar="DIR", help=f"also write {REPORT_NAME} and {CHART_NAME} into DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    parser.add_argument("--allow-missing", action="store_true",
                        help="score missing predictions as misses (every scored pixel wrong) instead of stopping")


def run(args: argparse.Namespace) -> int:
    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.metrics.report import draw_per_class_chart, summary_table, write_metrics_json, write_report_md
    from openvidseg.metrics.scoring import score_predictions

    out = Path(args.out).expanduser() if args.out else None
    report_dir = Path(args.report).expanduser() if args.report else None
    outputs = ([out] if out else []) + ([report_dir / REPORT_NAME, report_dir / CHART_NAME] if report_dir else [])
    refuse_existing(outputs, args.overwrite)
    result = score_predictions(args.pred, args.data, split=args.split, protocol=args.protocol,
                               split_def=args.split_def, class_names=args.class_names,
                               allow_missing=args.allow_missing, show_progress=sys.stderr.isatty())
    table = sys.stdout if out else sys.stderr
    print(summary_table(result), file=table)
    if out:
        write_metrics_json(result, out)
        print(f"wrote {out}")
    else:
        print(json.dumps(result.to_json(), indent=2))
    if report_dir:
        settings = {"predictions": args.pred, "dataset": args.data}
        write_report_md(result, report_dir / REPORT_NAME, title="Scores of prediction PNGs", settings=settings)
        draw_per_class_chart(result, report_dir / CHART_NAME)
        print(f"wrote {report_dir / REPORT_NAME} and {report_dir / CHART_NAME}", file=table)
    return 0
