"""Inspect datasets: `openvidseg data check ROOT` reports videos, frames, classes and every problem.

Exit status: 0 when the dataset is clean, 1 when problems were found (listed with file names), 2 when
the root itself cannot be read as a dataset of that kind.
"""
from __future__ import annotations

import argparse

KINDS = ("vspw", "cityscapes", "avsbench", "ytvis", "burst", "coco")  # = openvidseg.data.check.KINDS (not imported: --help stays fast)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="walk a dataset and report its content and every problem",
                           description="Walk a dataset; report videos, frames, classes present (with pixel "
                                       "counts) and every problem with file names. Exit 0 only when clean.")
    check.add_argument("root", help="dataset folder (VSPW_480p, the folder holding gtFine/ and leftImg8bit_sequence/, "
                                    "or AVSBench_semantic), "
                                    "or an instance annotation file (YouTube-VIS / OVIS / LV-VIS, BURST, COCO / LVIS JSON)")
    check.add_argument("--kind", choices=KINDS, default=None,
                       help="dataset layout (default: detected from an annotation file's keys for a .json ROOT, "
                            "else vspw)")
    check.add_argument("--images", metavar="DIR",
                       help="instance files: the folder their frame paths are relative to (default: found next to the file)")
    check.add_argument("--split", nargs="+", metavar="NAME", default=None,
                       help="splits to check (default: every split present)")
    check.add_argument("--quick", action="store_true",
                       help="read only frame headers (sizes) instead of decoding every frame; masks are always read")


def run(args: argparse.Namespace) -> int:
    from openvidseg.data.check import check_dataset

    report = check_dataset(args.root, kind=args.kind, splits=args.split, quick=args.quick, image_root=args.images)
    print(report.format())
    return 0 if report.clean else 1
