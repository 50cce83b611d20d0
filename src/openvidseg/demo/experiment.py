"""The demo experiment: in the synthetic world, train OV2VSS and the per-frame model on seen classes only,
evaluate them under the generalised zero-shot protocol (every class in the vocabulary), beside the
training-free dense CLIP and a control whose class names are tied to the wrong text embeddings, and
(full run) OV2VSS with temporal cost fusion (ours) and one ablation per temporal module of it.

The control's CLIP is the world CLIP with the word embeddings of the attribute words rotated (red -> green
-> blue -> yellow -> red, circle -> square -> ..., gravel -> tiles -> ...), so every class name is encoded
as another class's: seen classes can still be learned through their masks, but the way to unseen classes
through their names is cut.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from openvidseg.demo.tiny_clip import DONE_FILE, pretrain_tiny_clip
from openvidseg.demo.world import WorldSpec, read_corrupted, write_world
from openvidseg.files import build_folder_atomically
from openvidseg.metrics.report import format_score

TEMPLATES = ("a photo of a {}.", "a {}.", "the {}.", "a picture of the {}.", "a drawing of a {}.",
             "a blurry photo of a {}.")
TOKEN_EMBEDDING = "text_model.embeddings.token_embedding.weight"


@dataclass(frozen=True)
class Variant:
    """One row of the demo table: a registered model with options, the CLIP it reads, trained or not."""

    name: str
    model: str
    options: dict = field(default_factory=dict)
    clip: str = "world"  # world | shuffled
    trained: bool = True


MAIN_VARIANTS = (
    Variant("ov2vss", "ov2vss_tiny"),
    Variant("frame", "frame_tiny"),
    Variant("dense_clip", "dense_clip_tiny", {"attention": "standard", "window": 64, "stride": 32, "short_side": 96},
            trained=False),
    Variant("control (shuffled text)", "ov2vss_tiny", clip="shuffled"),
)
TCF = {"use_tcf": True}
# full run only: OV2VSS with temporal cost fusion (ours), and each temporal module of it off in turn (without
# TCF it is the `ov2vss` row, the specification's model)
ABLATIONS = (
    Variant("ov2vss + TCF (ours)", "ov2vss_tiny", TCF),
    Variant("ov2vss + TCF without STF", "ov2vss_tiny", {**TCF, "use_stf": False}),
    Variant("ov2vss + TCF without RFE", "ov2vss_tiny", {**TCF, "use_rfe": False}),
    Variant("ov2vss + TCF without VTE", "ov2vss_tiny", {**TCF, "use_vte": False}),
)


@dataclass(frozen=True)
class DemoSettings:
    """How big the demo is: the world, CLIP pretraining steps, training iterations, ablations or not."""

    world: WorldSpec
    clip_steps: int
    train_iters: int
    ablations: bool
    seed: int

    @classmethod
    def make(cls, quick: bool, seed: int = 0) -> DemoSettings:
        if quick:
            world = WorldSpec(train_videos=32, val_videos=6, num_frames=18, seed=seed)
            return cls(world, clip_steps=500, train_iters=200, ablations=False, seed=seed)
        return cls(WorldSpec(seed=seed), clip_steps=800, train_iters=500, ablations=True, seed=seed)

    def variants(self) -> tuple[Variant, ...]:
        return MAIN_VARIANTS + (ABLATIONS if self.ablations else ())


def cache_root() -> Path:
    """Where generated worlds and pretrained CLIPs are kept: $OPENVIDSEG_CACHE, else the user cache folder."""
    if os.environ.get("OPENVIDSEG_CACHE"):
        return Path(os.environ["OPENVIDSEG_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openvidseg"


def _cached_folder(target: Path, build: Callable[[Path], Any]) -> Path:
    """`target`, built (atomically) unless it exists already."""
    return target if target.is_dir() else build_folder_atomically(target, build)


def shuffle_attribute_words(clip_dir: Path, spec: WorldSpec, out: Path) -> Path:
    """A copy of a world CLIP whose attribute words (colours, shapes, grounds) each take the embedding of
    the next word of their kind, so every class name reads as another class's name."""
    shutil.copytree(clip_dir, out)
    state = load_file(str(out / "model.safetensors"))
    vocab = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    table = state[TOKEN_EMBEDDING].clone()
    for words in (spec.colours, spec.shapes, tuple(name for name, _ in spec.grounds)):
        for i, word in enumerate(words):
            table[vocab[word]] = state[TOKEN_EMBEDDING][vocab[words[(i + 1) % len(words)]]]
    state[TOKEN_EMBEDDING] = table
    save_file(state, str(out / "model.safetensors"))
    return out


@dataclass
class DemoPaths:
    world: Path
    clip: Path
    shuffled_clip: Path
    templates: Path


def prepare_clips(spec: WorldSpec, clip_steps: int, seed: int, cache: Path,
                  log: Callable[[str], None]) -> tuple[Path, Path, Path, float]:
    """The world CLIP (pretrained `clip_steps` steps, cached), the control's CLIP (attribute words rotated) and
    the prompt templates file, and the seconds spent; shared by the semantic and audio-visual demos."""
    templates = cache / "templates.txt"
    if not templates.is_file():
        templates.parent.mkdir(parents=True, exist_ok=True)
        templates.write_text("\n".join(TEMPLATES) + "\n")
    start = time.perf_counter()
    clip = cache / f"clip-{spec.key()}-{clip_steps}"
    if not (clip / DONE_FILE).is_file():
        log(f"pretraining the world's tiny CLIP ({clip_steps} steps; cached in {clip})")
        _cached_folder(clip, lambda p: pretrain_tiny_clip(spec, p, TEMPLATES, steps=clip_steps, seed=seed, log=log))
    seconds = time.perf_counter() - start
    shuffled = _cached_folder(clip.with_name(clip.name + "-shuffled"), lambda p: shuffle_attribute_words(clip, spec, p))
    return clip, shuffled, templates, seconds


def prepare(settings: DemoSettings, cache: Path, log: Callable[[str], None]) -> tuple[DemoPaths, dict[str, float]]:
    """Generate (or reuse) the world, the world CLIP and the control's CLIP; returns paths and seconds spent."""
    spec, times = settings.world, {}
    start = time.perf_counter()
    world = _cached_folder(cache / f"world-{spec.key()}", lambda p: write_world(spec, p))
    times["world"] = time.perf_counter() - start
    clip, shuffled, templates, times["clip pretraining"] = prepare_clips(spec, settings.clip_steps, settings.seed,
                                                                         cache, log)
    return DemoPaths(world, clip, shuffled, templates), times


def model_options(variant: Variant, paths: DemoPaths) -> dict[str, Any]:
    clip = paths.shuffled_clip if variant.clip == "shuffled" else paths.clip
    return {"clip": str(clip), "templates": str(paths.templates), **variant.options}


def train_variant(variant: Variant, settings: DemoSettings, paths: DemoPaths, out: Path) -> Path:
    """Train one row's model on the world's seen classes; returns the final model's path."""
    from openvidseg.config import load_config
    from openvidseg.engine.training import run_training

    cfg = load_config("demo_world")
    cfg = replace(cfg, output_dir=str(out), train=replace(cfg.train, max_iters=settings.train_iters, seed=settings.seed,
                                                          log_interval=max(1, settings.train_iters // 4)),
                  data=replace(cfg.data, root=str(paths.world), split=str(paths.world / "seen_classes.json")))
    options = model_options(variant, paths)
    cfg.model = replace(cfg.model, name=variant.model, clip=options.pop("clip"), templates=options.pop("templates"),
                        **options)
    return run_training(cfg, overwrite=True, progress=False).final_model


@dataclass
class VariantResult:
    """A row: the scores under gzsl (a ScoreResult), mIoU over the corrupted frames only, and seconds."""

    variant: Variant
    scores: Any
    corrupted_miou: float | None
    train_seconds: float
    eval_seconds: float
    model_path: Path | None


def evaluate_variant(model, paths: DemoPaths, settings: DemoSettings) -> tuple[Any, float | None]:
    """gzsl scores on the world's validation videos (clip mode) and mIoU (%) over its corrupted frames."""
    from openvidseg.data import VSPWDataset
    from openvidseg.engine.evaluator import evaluate
    from openvidseg.metrics import SegmentationMetric

    data = VSPWDataset(paths.world, "val", split=str(paths.world / "seen_classes.json"))
    protocol = data.split.protocol("gzsl")
    corrupted = read_corrupted(paths.world)
    on_corrupted = SegmentationMetric(protocol.num_classes)

    def observe(video, t, prediction, gt):
        if t in corrupted.get(video.name, ()):
            on_corrupted.update(prediction, gt)

    scores = evaluate(model, data.videos, protocol, mode="clip", short_side=settings.world.size[0], progress=False,
                      on_prediction=observe)
    miou = on_corrupted.compute().miou
    return scores, None if miou is None else 100 * miou


def run_variant(variant: Variant, settings: DemoSettings, paths: DemoPaths, out: Path,
                log: Callable[[str], None]) -> VariantResult:
    """Train (if the row is trained) and evaluate one row."""
    from openvidseg.models import create_model, load_model

    start = time.perf_counter()
    model_path = None
    if variant.trained:
        model_path = train_variant(variant, settings, paths, out / variant.name.replace(" ", "_"))
        model = load_model(model_path)
    else:
        model = create_model(variant.model, **model_options(variant, paths))
    trained = time.perf_counter() - start
    start = time.perf_counter()
    scores, corrupted = evaluate_variant(model, paths, settings)
    result = VariantResult(variant, scores, corrupted, trained, time.perf_counter() - start, model_path)
    scores_text = ", ".join(f"{label} {format_score(value, 1)}" for label, value in (
        ("mIoU", scores.miou), ("seen", scores.miou_seen), ("unseen", scores.miou_unseen), ("corrupted frames", corrupted)))
    log(f"{variant.name}: {scores_text} ({trained:.0f} s training, {result.eval_seconds:.0f} s evaluation)")
    return result


@dataclass
class DemoRun:
    """One seed of the demo: its settings, paths, rows, and the seconds each phase took."""

    settings: DemoSettings
    paths: DemoPaths
    rows: list[VariantResult]
    seconds: dict[str, float]


def _run_variant_in_worker(variant: Variant, settings: DemoSettings, paths: DemoPaths, out: Path) -> VariantResult:
    torch.set_num_threads(1)  # the tiny models run many small ops: one thread per process is fastest
    return run_variant(variant, settings, paths, out, print)


def run_demo(out: Path, settings: DemoSettings, cache: Path | None = None, workers: int = 2,
             log: Callable[[str], None] = print) -> DemoRun:
    """Run every row of the demo for one seed into `out` (training runs in out/<row>/), `workers` rows at a
    time in separate processes (one thread each)."""
    start = time.perf_counter()
    paths, seconds = prepare(settings, cache or cache_root(), log)
    variants = settings.variants()
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            jobs = [pool.submit(_run_variant_in_worker, v, settings, paths, out) for v in variants]
            rows = [job.result() for job in jobs]
    else:
        rows = [run_variant(v, settings, paths, out, log) for v in variants]
    seconds.update({r.variant.name: r.train_seconds + r.eval_seconds for r in rows})
    seconds["total"] = time.perf_counter() - start
    return DemoRun(settings, paths, rows, seconds)
