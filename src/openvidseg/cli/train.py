"""Train a model as a preset describes, on one process or under torchrun (DDP), with exact resume.

Examples:
  openvidseg train --config ov2vss_tiny_synthetic                      # seconds on a CPU, generated data
  openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p output_dir=runs/ov2vss
  torchrun --nproc_per_node 4 -m openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p
  openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p output_dir=runs/ov2vss --resume
Outputs go to output_dir: config.yaml, environment.json, log.jsonl, tensorboard/, checkpoints/iter_*/ (+ latest),
eval/iter_*/ (periodic evaluation) and the final model.safetensors + model.json (for `openvidseg eval --checkpoint`).
A folder holding another run is refused unless --resume (continue from its newest checkpoint) or --overwrite.
"""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="PRESET", help="packaged preset name or YAML file")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in output_dir from its newest checkpoint (same as train.resume=true)")
    parser.add_argument("--overwrite", action="store_true", help="delete a run found in output_dir and start over")
    parser.add_argument("--no-progress", action="store_true", help="print log lines instead of a progress bar "
                        "(the bar is shown only on a terminal)")
    parser.add_argument("--device", metavar="DEVICE", help="auto | cpu | cuda | cuda:N | mps (default: the config's "
                        "device, auto; same as device=...)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.max_iters=1000")


def run(args: argparse.Namespace) -> int:
    import sys

    from openvidseg.clip.loading import CLIP_OPTION
    from openvidseg.config import load_config
    from openvidseg.engine.distributed import shutdown_distributed
    from openvidseg.engine.training import run_training

    CLIP_OPTION.set("model.clip=")  # hints name the config key this command takes
    cfg = load_config(args.config, args.overrides)
    if args.device:
        cfg.device = args.device
    try:
        run_training(cfg, resume=args.resume, overwrite=args.overwrite,
                     progress=not args.no_progress and sys.stderr.isatty())
    finally:
        shutdown_distributed()
    return 0
