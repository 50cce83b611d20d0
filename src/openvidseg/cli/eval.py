"""Evaluate a model on a dataset under a protocol and write metrics.json, report.md and a per-class chart.

Examples:
  openvidseg eval --config ov2vss_vitb16_vspw --checkpoint runs/x/checkpoints/latest/model.safetensors data.root=/data/VSPW_480p
  openvidseg eval --config dense_clip_vspw data.root=/data/VSPW_480p eval.protocol=unseen eval.mode=streaming
  openvidseg eval --task audio-visual --config ov_avss_vitb16_avsbench --checkpoint runs/z/model.safetensors data.root=/data/AVSBench_semantic
  openvidseg eval --task instance --config clip_vis_vitb16_lvvis --checkpoint runs/y/model.safetensors data.root=/data/lvvis data.val_annotations=val/val_instances.json
Settings come from the preset and key=value overrides (eval.protocol, eval.mode, eval.save_predictions,
eval.max_videos, data.class_names, ...). Outputs go to --out (default: <output_dir>/eval_<protocol>).
--task instance tracks every video of data.val_annotations (YouTube-VIS 2019/2021, OVIS, LV-VIS, BURST layouts)
with an instance model (clip_vis_*, ovformer_*), every class of the file in the vocabulary, and scores video AP
(AP_base / AP_novel over data.split, default the file's LV-VIS partition); --save-results also writes
results.json and results.zip (the YouTube-VIS results format the YouTube-VIS and OVIS servers take, for their
validation sets whose ground truth is not public: those are evaluated without scores). Default --out
<output_dir>/eval_instance.
--task audio-visual scores an OV-AVSS model (ov_avss_*) on an AVSBench-layout dataset (data.dataset avsbench or
audio_world) on AVSBench-OV's metrics (mIoU base / novel / harmonic, F-score; every class in the vocabulary;
eval.reference_metrics=true for the released code's quirks). Default --out <output_dir>/eval_audio_visual.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from openvidseg.tasks import COMMAND_TASKS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default="semantic", choices=COMMAND_TASKS["eval"],
                        help="semantic (default): a class per pixel on a VSPW-layout dataset; instance: tracks of an "
                             "instance model on a YouTube-VIS / OVIS / LV-VIS annotation file; audio-visual: an OV-AVSS model on an "
                             "AVSBench-layout dataset")
    parser.add_argument("--config", required=True, metavar="PRESET", help="packaged preset name or YAML file")
    parser.add_argument("--checkpoint", metavar="PATH_OR_ID", help="trained weights: model.safetensors (with its "
                        "model.json), its folder, or a Hugging Face hub id (user/name)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: <output_dir>/eval_<protocol>, "
                        "instance: <output_dir>/eval_instance)")
    parser.add_argument("--save-results", action="store_true", help="instance: also write results.json and "
                        "results.zip, the YouTube-VIS results format (for `openvidseg score --task instance` and the "
                        "YouTube-VIS / OVIS evaluation servers)")
    parser.add_argument("--overwrite", action="store_true", help="replace the outputs of an earlier evaluation")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--device", metavar="DEVICE", help="auto | cpu | cuda | cuda:N | mps (default: the config's "
                        "device, auto; same as device=...)")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. eval.protocol=unseen")


def run(args: argparse.Namespace) -> int:
    from openvidseg.clip.loading import CLIP_OPTION
    from openvidseg.config import load_config
    from openvidseg.errors import InputError
    from openvidseg.runtime import resolve_device

    if args.save_results and args.task != "instance":
        raise InputError("--save-results is for --task instance (semantic: eval.save_predictions=true writes PNGs)")
    CLIP_OPTION.set("model.clip=")  # hints name the config key this command takes
    cfg = load_config(args.config, args.overrides)
    if args.device:
        cfg.device = args.device
    if args.checkpoint:
        cfg.model.checkpoint = args.checkpoint
    resolve_device(cfg.device)  # an unknown device is a usage error, found before the checkpoint is read
    _check_task(cfg, args.task)
    return TASKS[args.task](args, cfg)


def _run_semantic(args: argparse.Namespace, cfg) -> int:
    import time

    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.data import build_eval_dataset
    from openvidseg.engine.distributed import init_distributed, is_main_process
    from openvidseg.engine.evaluator import evaluate
    from openvidseg.metrics.report import METRICS_NAME
    from openvidseg.models.build import build_model
    from openvidseg.runtime import resolve_device

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
        speed = f" ({result.num_frames / max(seconds, 1e-9):.2f} frames/s)"
        _write_outputs(result, out, cfg, model, f"{seconds:.1f} s{speed}", "Evaluation",
                       {"mode": cfg.eval.mode, "test mode": cfg.eval.test_mode})
    return 0


def _run_instance(args: argparse.Namespace, cfg) -> int:
    import time

    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.data.build import build_instance_eval_dataset
    from openvidseg.engine.distributed import init_distributed, is_main_process
    from openvidseg.engine.instance_evaluator import RESULTS_NAME, evaluate_instances
    from openvidseg.metrics.report import METRICS_NAME
    from openvidseg.models.build import build_model
    from openvidseg.runtime import resolve_device

    out = Path(args.out or Path(cfg.output_dir) / "eval_instance").expanduser()
    save = args.save_results or cfg.eval.save_predictions
    refuse_existing([out / METRICS_NAME] + ([out / RESULTS_NAME, out / ZIP_NAME] if save else []), args.overwrite)
    device = resolve_device(cfg.device)
    init_distributed(device)
    dataset = build_instance_eval_dataset(cfg.data)
    videos = dataset.videos[: cfg.eval.max_videos] if cfg.eval.max_videos else dataset.videos
    model = build_model(cfg.model)
    start = time.perf_counter()
    result = evaluate_instances(model, dataset, videos=videos, device=device, precision=cfg.train.precision,
                                short_side=cfg.data.test_short_side, max_detections=cfg.eval.max_detections,
                                results_path=out / RESULTS_NAME if save else None, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    if is_main_process():
        frames = sum(len(v) for v in videos)
        if save:
            _zip_results(out / RESULTS_NAME, out / ZIP_NAME)
        ground_truth = sum(len(dataset.annotations.tracks_of(v.video_id)) for v in videos)
        extra = {"annotations": str(cfg.data.val_annotations or cfg.data.dataset),
                 "max detections per video": cfg.eval.max_detections}
        if not ground_truth:
            extra["note"] = ("the annotation file has no ground-truth tracks (a server-evaluated split): the scores "
                             "are undefined; submit results.zip")
        _write_outputs(result, out, cfg, model, f"{seconds:.1f} s ({frames / max(seconds, 1e-9):.2f} frames/s)",
                       "Instance evaluation", extra)
        if save:
            print(f"wrote {out / RESULTS_NAME} and {out / ZIP_NAME} (YouTube-VIS results format)")
        if not ground_truth:
            print(f"no ground-truth tracks in {cfg.data.val_annotations}: the scores are n/a"
                  + ("; submit results.zip to the split's evaluation server" if save else
                     "; pass --save-results for the file its evaluation server takes"))
    return 0


ZIP_NAME = "results.zip"  # results.json zipped, as the YouTube-VIS / OVIS servers take it


def _zip_results(results: Path, archive: Path) -> None:
    import zipfile

    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as file:
        file.write(results, arcname=results.name)


def _check_task(cfg, task: str) -> None:
    """`InputError` when the model of `cfg.model` (the checkpoint's, else model.name) does another task than `task`,
    naming the --task to pass; checked before anything loads."""
    from openvidseg.errors import InputError
    from openvidseg.models import get_variant
    from openvidseg.models.checkpoint import read_info

    name = read_info(cfg.model.checkpoint)["model"] if cfg.model.checkpoint else cfg.model.name
    does = get_variant(name).task
    if does != task:
        raise InputError(f"model '{name}' does {does} segmentation, not {task}: pass --task {does} (with a preset "
                         f"of {does} data)")


def _write_outputs(result, out: Path, cfg, model, time_taken: str, title: str, extra: dict) -> None:
    """metrics.json, report.md, the chart and the config of an evaluation into `out`; the table on stdout."""
    from openvidseg.config import save_config
    from openvidseg.metrics.report import summary_table, write_reports

    settings = {"model": getattr(model, "variant_name", cfg.model.name), "checkpoint": cfg.model.checkpoint or "-",
                **extra, "dataset": f"{cfg.data.dataset} at {cfg.data.root}", "time": time_taken}
    write_reports(result, out, title=title, settings=settings)
    save_config(cfg, out)
    print(summary_table(result))
    print(f"wrote {out}/")


def _run_audio_visual(args: argparse.Namespace, cfg) -> int:
    import time

    from openvidseg.cli.outputs import refuse_existing
    from openvidseg.data import build_eval_dataset
    from openvidseg.engine.audio_visual_evaluator import evaluate_audio_visual
    from openvidseg.errors import InputError
    from openvidseg.metrics.report import METRICS_NAME
    from openvidseg.models.build import build_model
    from openvidseg.runtime import resolve_device

    out = Path(args.out or Path(cfg.output_dir) / "eval_audio_visual").expanduser()
    refuse_existing([out / METRICS_NAME], args.overwrite)
    dataset = build_eval_dataset(cfg.data)
    if not hasattr(dataset, "clips"):
        raise InputError(f"data.dataset={cfg.data.dataset} is not audio-visual: use avsbench or audio_world")
    model = build_model(cfg.model).to(resolve_device(cfg.device))
    start = time.perf_counter()
    result = evaluate_audio_visual(model, dataset, mode="reference" if cfg.eval.reference_metrics else "exact",
                                   short_side=cfg.data.test_short_side, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    _write_outputs(result, out, cfg, model, f"{seconds:.1f} s ({result.num_frames / max(seconds, 1e-9):.2f} frames/s)",
                   "Audio-visual evaluation",
                   {"metrics": "reference (the released code's quirks)" if cfg.eval.reference_metrics else "exact"})
    return 0


# task -> how `eval` runs it (args, config); a new task family adds one line here and its name in COMMAND_TASKS
TASKS = {"semantic": _run_semantic, "instance": _run_instance, "audio-visual": _run_audio_visual}
