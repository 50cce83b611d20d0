"""Evaluate a model on a dataset under a protocol and write metrics.json, report.md and a per-class chart.

Examples:
  openvidseg eval --config ov2vss_vitb16_vspw --checkpoint runs/x/checkpoints/latest/model.safetensors data.root=/data/VSPW_480p
  openvidseg eval --config dense_clip_vspw data.root=/data/VSPW_480p eval.protocol=unseen eval.mode=streaming
Settings come from the preset and key=value overrides (eval.protocol, eval.mode, eval.save_predictions,
eval.max_videos, data.class_names, ...). Outputs go to --out (default: <output_dir>/eval_<protocol>).
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, metavar="PRESET", help="packaged preset name or YAML file")
    parser.add_argument("--checkpoint", metavar="PATH", help="trained weights (model.safetensors with its model.json)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: <output_dir>/eval_<protocol>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier evaluation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. eval.protocol=unseen")


def run(args: argparse.Namespace) -> int:
    import time

    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.clip.loading import CLIP_OPTION
    from openvidseg.config import load_config, save_config
    from openvidseg.data import build_eval_dataset
    from openvidseg.engine.distributed import init_distributed, is_main_process
    from openvidseg.engine.evaluator import evaluate
    from openvidseg.metrics.report import METRICS_NAME, summary_table, write_reports
    from openvidseg.models.build import build_model
    from openvidseg.runtime import resolve_device

    CLIP_OPTION.set("model.clip=")  # hints name the config key this command takes
    cfg = load_config(args.config, args.overrides)
    if args.checkpoint:
        cfg.model.checkpoint = args.checkpoint
    out = Path(args.out or Path(cfg.output_dir) / f"eval_{cfg.eval.protocol}").expanduser()
    refuse_existing([out / METRICS_NAME], args.overwrite)
    device = resolve_device(cfg.device)
    init_distributed(device)
    dataset = build_eval_dataset(cfg.data)
    protocol = dataset.split.protocol(cfg.eval.protocol, cfg.eval.background)
    videos = dataset.videos[: cfg.eval.max_videos] if cfg.eval.max_videos else dataset.videos
    model = build_model(cfg.model)
    start = time.perf_counter()
    result = evaluate(model, videos, protocol, class_name_form=cfg.data.class_names, split=cfg.data.val_split,
                      mode=cfg.eval.mode, device=device, precision=cfg.train.precision,
                      short_side=cfg.data.test_short_side, test_mode=cfg.eval.test_mode,
                      predictions_dir=out / "predictions" if cfg.eval.save_predictions else None,
                      progress=not args.no_progress)
    seconds = time.perf_counter() - start
    if is_main_process():
        settings = {"model": getattr(model, "variant_name", cfg.model.name), "checkpoint": cfg.model.checkpoint or "-",
                    "mode": cfg.eval.mode, "test mode": cfg.eval.test_mode, "dataset": f"{cfg.data.dataset} at {cfg.data.root}",
                    "time": f"{seconds:.1f} s ({result.num_frames / max(seconds, 1e-9):.2f} frames/s)"}
        write_reports(result, out, title="Evaluation", settings=settings)
        save_config(cfg, out)
        print(summary_table(result))
        print(f"wrote {out}/")
    return 0
