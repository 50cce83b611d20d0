"""A whole training run from an `ExperimentConfig` (the one place the engine reads a config): checks,
distributed setup, model, data, optimizer, schedule, hooks, resume, then the train loop.

Nothing is written before every check has passed (preset keys, fp16 on a CPU, a model with nothing to
train, RFE without long-range frames in the data, an output folder holding another run), so a refused
run leaves no trace.
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import default_collate

from openvidseg.config import ExperimentConfig, save_config
from openvidseg.engine.checkpoint import CHECKPOINTS_DIR, CheckpointManager
from openvidseg.engine.checkpoint_hook import CheckpointHook, restore
from openvidseg.engine.distributed import (
    barrier, init_distributed, is_main_process, local_device, rank, world_size,
)
from openvidseg.engine.eval_hook import INSTANCE_HEADLINE, EvalHook
from openvidseg.engine.evaluator import evaluate
from openvidseg.engine.event_log import LOG_NAME, EventLog, truncate_log
from openvidseg.engine.hooks import HookBase
from openvidseg.engine.logging_hook import LoggingHook
from openvidseg.engine.lr_schedule import PolyWarmupSchedule
from openvidseg.engine.optimizer import build_optimizer
from openvidseg.engine.precision import MixedPrecision
from openvidseg.engine.rng import seed_everything
from openvidseg.engine.run_folder import check_run_folder, clear_run, environment_info
from openvidseg.engine.sampler import GlobalBatchSampler, train_batches
from openvidseg.engine.trainer import Trainer
from openvidseg.errors import ConfigError
from openvidseg.runtime import resolve_device

FINAL_MODEL = "model.safetensors"
ENVIRONMENT_NAME = "environment.json"


@dataclass
class TrainSummary:
    """What a finished run produced: its folder, final model, the step it started from (0, or the resumed
    checkpoint's), the last step's losses, and (step, metrics) of every evaluation."""

    output_dir: Path
    final_model: Path
    start_iter: int
    max_iters: int
    last_losses: dict[str, float]
    evaluations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def config_differences(saved: str | Path, cfg: ExperimentConfig) -> list[str]:
    """Dotted keys whose value differs between a saved config.yaml and `cfg` (train.resume aside)."""
    def flat(node: Any, prefix: str = "") -> dict[str, Any]:
        if isinstance(node, dict):
            return {k: v for key, value in node.items() for k, v in flat(value, f"{prefix}{key}.").items()}
        return {prefix[:-1]: node}

    old = flat(OmegaConf.to_container(OmegaConf.load(saved)))
    new = flat(OmegaConf.to_container(OmegaConf.structured(cfg)))
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k != "train.resume")


def _record_environment(path: Path, info: dict[str, Any], resumed: bool) -> None:
    """environment.json: a list with one entry per session of the run (the first start, then each resume)."""
    sessions = json.loads(path.read_text()) if resumed and path.is_file() else []
    sessions = sessions if isinstance(sessions, list) else [sessions]
    path.write_text(json.dumps([*sessions, info], indent=2) + "\n")


def _eval_hook(cfg: ExperimentConfig, task: str, eval_set: Any, device, **kwargs) -> EvalHook:
    """Periodic evaluation on `eval_set` for the model's task (semantic: the protocol's mIoU & co.; instance: video
    AP over every class of the validation annotations, and results.json with eval.save_predictions)."""
    videos = eval_set.videos[: cfg.eval.max_videos] if cfg.eval.max_videos else eval_set.videos
    common = dict(device=device, precision=cfg.train.precision, short_side=cfg.data.test_short_side, progress=False)
    if task == "instance":
        from openvidseg.engine.instance_evaluator import RESULTS_NAME, evaluate_instances

        def run(module, folder):
            results = folder / RESULTS_NAME if cfg.eval.save_predictions else None
            return evaluate_instances(module, eval_set, videos=videos, max_detections=cfg.eval.max_detections,
                                      results_path=results, **common)

        return EvalHook(run, cfg.train.eval_interval, record_keys=INSTANCE_HEADLINE, settings={"task": "instance"},
                        **kwargs)
    if task == "audio-visual":
        from openvidseg.engine.audio_visual_evaluator import evaluate_audio_visual

        mode = "reference" if cfg.eval.reference_metrics else "exact"
        return EvalHook(lambda module, folder: evaluate_audio_visual(module, eval_set, mode=mode,
                                                                     short_side=cfg.data.test_short_side),
                        cfg.train.eval_interval, record_keys=("mIoU", "mIoU_base", "mIoU_novel", "hIoU", "F"),
                        settings={"task": "audio-visual", "metrics": mode}, **kwargs)
    protocol = eval_set.split.protocol(cfg.eval.protocol, cfg.eval.background)
    return EvalHook(lambda module, folder: evaluate(module, videos, protocol, class_name_form=cfg.data.class_names,
                                                    split=cfg.data.val_split, mode=cfg.eval.mode,
                                                    test_mode=cfg.eval.test_mode, **common),
                    cfg.train.eval_interval, settings={"mode": cfg.eval.mode, "protocol": protocol.name}, **kwargs)


def training_facts(cfg: ExperimentConfig, global_batch: int, preset: str | None) -> dict[str, Any]:
    """How a model was trained, kept in its model.json (and shown by its hub model card)."""
    return {"preset": preset, "dataset": cfg.data.dataset, "data_root": Path(cfg.data.root or "").name,
            "train_split": cfg.data.train_split, "val_split": cfg.data.val_split, "split": cfg.data.split,
            "class_names": cfg.data.class_names, "iterations": cfg.train.max_iters, "global_batch": global_batch,
            "precision": cfg.train.precision, "seed": cfg.train.seed}


def run_training(cfg: ExperimentConfig, *, resume: bool = False, overwrite: bool = False, progress: bool = True,
                 extra_hooks: Iterable[HookBase] = (), preset: str | None = None) -> TrainSummary:
    """Train as `cfg` describes, in this process or as one rank of a torchrun launch; `resume` (or
    cfg.train.resume) continues the run in cfg.output_dir from its newest checkpoint, `overwrite`
    replaces a run found there. `extra_hooks` run after the built-in ones; `preset` (the config's name)
    is recorded in model.json."""
    from openvidseg.data import build_eval_dataset, build_train_dataset, prepare_dataset
    from openvidseg.data.build import build_instance_eval_dataset, build_instance_train_dataset
    from openvidseg.data.instance_dataset import collate_instance_clips
    from openvidseg.models.build import build_model

    resume = resume or cfg.train.resume
    device = resolve_device(cfg.device)
    precision = MixedPrecision(cfg.train.precision, device)  # fp16 on a CPU stops here
    init_distributed(device)
    device = precision.device = local_device(device)
    output = Path(cfg.output_dir).expanduser()
    check_run_folder(output, resume, overwrite)

    seed_everything(cfg.train.seed)  # the same initial weights in every process
    model = build_model(cfg.model).to(device)
    if model.uses_random_frame and not cfg.data.random_frame:
        raise ConfigError("the model uses a long-range frame (RFE) but data.random_frame=false, so RFE would be "
                          "applied at test time without ever being trained: set data.random_frame=true, or "
                          "model.use_rfe=false to train without RFE")
    optimizer = build_optimizer(model, cfg.train.lr, cfg.train.head_lr_mult, cfg.train.weight_decay)
    if is_main_process():
        prepare_dataset(cfg.data)  # generates a synthetic set once, before the other processes read it
    barrier()
    if model.task == "instance":
        train_set = build_instance_train_dataset(cfg.data, seed=cfg.train.seed)
        eval_set = build_instance_eval_dataset(cfg.data) if cfg.train.eval_interval > 0 else None
    else:
        train_set = build_train_dataset(cfg.data, ref_offsets=model.ref_offsets, seed=cfg.train.seed)
        eval_set = build_eval_dataset(cfg.data) if cfg.train.eval_interval > 0 else None
    sampler = GlobalBatchSampler(len(train_set), cfg.data.batch_size, cfg.train.accumulation, world_size(), rank(),
                                 seed=cfg.train.seed)

    manager = CheckpointManager(output / CHECKPOINTS_DIR, cfg.train.keep_checkpoints)
    latest = manager.latest() if resume else None
    differences = config_differences(output / "config.yaml", cfg) if latest and (output / "config.yaml").is_file() else []
    if is_main_process():
        if overwrite:
            clear_run(output)
        output.mkdir(parents=True, exist_ok=True)
        save_config(cfg, output)
        _record_environment(output / ENVIRONMENT_NAME, environment_info(device, world_size()), latest is not None)
        truncate_log(output / LOG_NAME, after=int(latest.name.split("_")[1]) if latest else 0)
    barrier()

    schedule = PolyWarmupSchedule(optimizer, max_iters=cfg.train.max_iters, power=cfg.train.poly_power,
                                  warmup_iters=cfg.train.warmup_iters, warmup_ratio=cfg.train.warmup_ratio,
                                  min_lr=cfg.train.min_lr, steps=cfg.train.lr_steps or (), gamma=cfg.train.lr_gamma)
    start, notes = 0, [f"config key {k} differs from the interrupted run's" for k in differences]
    if latest is not None:
        start, restore_notes = restore(latest, module=model, optimizer=optimizer, schedule=schedule,
                                       precision=precision, sampler=sampler)
        notes += restore_notes
    else:
        seed_everything(cfg.train.seed + rank())  # each process its own stream for anything random in a step

    wrapped = model
    if world_size() > 1:
        # DDP compares gradient strides with its buckets' even along size-1 dimensions (a conv over a single
        # input channel) and warns of a layout difference that costs nothing here
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        wrapped = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None,
                                          find_unused_parameters=cfg.train.find_unused_parameters)
    log = EventLog(output, enabled=is_main_process(), purge_after=start if resume else None)
    logger = LoggingHook(log, cfg.train.log_interval, progress=progress)
    info = {"train_class_names": list(train_set.class_names),
            "training": training_facts(cfg, sampler.global_batch, preset)}
    hooks: list[HookBase] = [logger, CheckpointHook(manager, sampler, cfg.train.checkpoint_interval,
                                                   output / FINAL_MODEL, info)]
    evaluation = None
    if eval_set is not None:
        evaluation = _eval_hook(cfg, model.task, eval_set, device, log=log, folder=output / "eval",
                                message=logger.message)
        hooks.append(evaluation)
    batches = train_batches(train_set, sampler, start, num_workers=cfg.data.num_workers,
                            pin_memory=device.type == "cuda",
                            collate_fn=collate_instance_clips if model.task == "instance" else default_collate)
    trainer = Trainer(wrapped, optimizer, schedule, batches, train_set.class_names, device=device,
                      max_iters=cfg.train.max_iters, accumulation=cfg.train.accumulation, grad_clip=cfg.train.grad_clip,
                      precision=precision, start_iter=start, hooks=[*hooks, *extra_hooks])

    trainable = sum(p.numel() for group in optimizer.param_groups for p in group["params"])
    logger.message(
        f"training {getattr(model, 'variant_name', cfg.model.name)} ({trainable:,} trainable parameters) on "
        f"{len(train_set)} clips of {cfg.data.dataset} ({len(train_set.class_names)} classes); steps "
        f"{start}->{cfg.train.max_iters} ({cfg.train.max_iters * cfg.train.accumulation} micro-batches), global batch {sampler.global_batch} = {cfg.data.batch_size} x "
        f"{cfg.train.accumulation} accumulation x {world_size()} process(es); {device.type}, {precision.name}; "
        f"output {output}" + (f"; resumed from {latest}" if latest else ""))
    for note in notes:
        logger.message(f"warning: {note}")
    try:
        trainer.train()
    finally:
        log.close()
    barrier()  # every process waits for the main one's final writes (and leaves the group together)
    logger.message(f"wrote {output / FINAL_MODEL}")
    return TrainSummary(output, output / FINAL_MODEL, start, cfg.train.max_iters, trainer.last_losses,
                        evaluation.results if evaluation else [])
