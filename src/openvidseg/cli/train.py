"""Train a model as a preset describes, on one process or under torchrun (DDP), with exact resume.

Examples:
  openvidseg train --config ov2vss_tiny_synthetic                      # seconds on a CPU, generated data
  openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p output_dir=runs/ov2vss
  torchrun --nproc_per_node 4 -m openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p
  openvidseg train --config ov2vss_vitb16_vspw data.root=/data/VSPW_480p output_dir=runs/ov2vss --resume
Outputs go to output_dir: config.yaml, environment.json, log.jsonl, tensorboard/, checkpoints/iter_*/ (+ latest),
eval/iter_*/ (periodic evaluation) and the final model.safetensors + model.json (for `openvidseg eval --checkpoint`).
--push-to-hub USER/NAME uploads that model with a generated model card when training ends (log in first with
`hf auth login`); `segment --checkpoint USER/NAME` and `openvidseg.load_model("USER/NAME")` load it back.
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
    hub = parser.add_argument_group("Hugging Face hub")
    hub.add_argument("--push-to-hub", metavar="USER/NAME", help="when training ends, upload model.safetensors, model.json "
                     "and a generated model card (with the run's evaluations) to this hub repository")
    hub.add_argument("--private", action="store_true", help="create the hub repository as private")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. train.max_iters=1000")


def run(args: argparse.Namespace) -> int:
    import logging
    import sys
    from pathlib import Path

    from openvidseg.clip.loading import CLIP_OPTION
    from openvidseg.config import load_config
    from openvidseg.engine.distributed import is_main_process, shutdown_distributed
    from openvidseg.engine.training import run_training

    CLIP_OPTION.set("model.clip=")  # hints name the config key this command takes
    logger = logging.getLogger("openvidseg.train")
    cfg = load_config(args.config, args.overrides)
    if args.device:
        cfg.device = args.device
    if args.push_to_hub:
        from openvidseg.models.publish import check_can_push

        check_can_push(args.push_to_hub)  # a push that cannot work stops the run before it trains
    try:
        summary = run_training(cfg, resume=args.resume, overwrite=args.overwrite,
                               progress=not args.no_progress and sys.stderr.isatty(), preset=Path(args.config).name)
        if args.push_to_hub and is_main_process():
            _push(summary.output_dir, args.push_to_hub, args.private, logger)
    finally:
        shutdown_distributed()
    return 0


def _push(run_dir, repo_id: str, private: bool, logger) -> None:
    from openvidseg.errors import HubError
    from openvidseg.models.publish import push_to_hub

    logger.info("pushing %s to the hub as %s ...", run_dir, repo_id)
    try:
        logger.info("pushed: %s", push_to_hub(run_dir, repo_id, private=private or None))
    except HubError as err:
        raise HubError(f"{err}; the trained model stays in {run_dir} (push it later: python -c \"import openvidseg; "
                       f"openvidseg.push_to_hub('{run_dir}', '{repo_id}')\")") from None
