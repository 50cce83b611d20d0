"""The audio-visual demo: in the synthetic audio-visual world, train OV-AVSS on the base classes (class-agnostic
sounding-object queries, the audio encoder trained with it) and score it on the test videos, base and novel
classes in the vocabulary, beside two controls made from the same trained model:

- shuffled audio: every clip hears another video's clip, so the model sees the scene but not what sounds in
  it (a model that segments what sounds falls well below itself);
- shuffled text: the world CLIP with its attribute words rotated in the text encoder (the semantic demo's
  control), so every class name reads as another class's and novel classes cannot be reached by name.

The world CLIP and the control's CLIP are the semantic demo's (pretrained on captioned scenes of every
class); the audio encoder is a tiny VGGish pretrained on the world's sounds of every class (demo/tiny_vggish.py)
and kept frozen, as OV-AVSS keeps its AudioSet VGGish; all three and the world are cached. Seeds vary the
world's videos and the training; the CLIPs and the VGGish are pretrained once (seed 0) and shared by every
seed, as one CLIP and one VGGish serve every run of the peer.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from openvidseg.demo.audio_world import SEEN_FILE, AudioWorldSpec, write_audio_world
from openvidseg.demo.experiment import cache_root, prepare_clips
from openvidseg.demo.tiny_vggish import DONE_FILE, WEIGHTS_FILE, pretrain_tiny_vggish
from openvidseg.demo.world import WorldSpec
from openvidseg.files import build_folder_atomically
from openvidseg.metrics.report import format_score

ROWS = ("ov_avss", "shuffled audio", "shuffled text")
MODEL_OPTIONS = {"crop_embedding": "best_patch", "crop_size": 64, "num_queries": 10}


@dataclass(frozen=True)
class AudioDemoSettings:
    """How big the demo is: the world, CLIP and audio pretraining steps, training iterations and batch, the seed."""

    world: AudioWorldSpec
    clip_steps: int
    train_iters: int
    batch_size: int
    seed: int
    audio_steps: int = 400

    @classmethod
    def make(cls, quick: bool, seed: int = 0) -> AudioDemoSettings:
        visual = WorldSpec(num_frames=5, seed=seed)
        # many short training videos, each seen a few times: on 48 videos the model learned which shape sounds in
        # each video by its look (train IoU 0.89, test 0.29) instead of by listening
        if quick:
            return cls(AudioWorldSpec(visual=visual, train_videos=960, test_videos=48), clip_steps=400,
                       train_iters=1000, batch_size=4, seed=seed)
        return cls(AudioWorldSpec(visual=visual, train_videos=1920, test_videos=96), clip_steps=800,
                   train_iters=2000, batch_size=4, seed=seed)

    @property
    def size(self) -> int:
        return self.world.visual.size[0]


@dataclass
class AudioDemoPaths:
    world: Path
    clip: Path
    shuffled_clip: Path
    templates: Path
    audio_encoder: Path


def _cached(target: Path, build: Callable[[Path], Any]) -> Path:
    return target if target.is_dir() else build_folder_atomically(target, build)


def prepare(settings: AudioDemoSettings, cache: Path, log: Callable[[str], None]) -> tuple[AudioDemoPaths, dict[str, float]]:
    """Generate (or reuse) the world, the world CLIP and the control's CLIP; returns paths and seconds spent."""
    spec, visual, times = settings.world, settings.world.visual, {}
    start = time.perf_counter()
    world = _cached(cache / f"audio-world-{spec.key()}", lambda p: write_audio_world(spec, p))
    times["world"] = time.perf_counter() - start
    # one world CLIP for every seed (seeds vary the videos drawn and the training), as OV-AVSS uses one CLIP
    clip, shuffled, templates, times["clip pretraining"] = prepare_clips(replace(visual, seed=0), settings.clip_steps,
                                                                         0, cache, log)
    start = time.perf_counter()
    # one VGGish for every seed (it depends only on how the classes sound), as OV-AVSS uses one AudioSet VGGish
    sounds = cache / f"vggish-{spec.sound_key()}-{settings.audio_steps}"
    if not (sounds / DONE_FILE).is_file():
        log(f"pretraining the world's tiny VGGish ({settings.audio_steps} steps; cached in {sounds})")
        _cached(sounds, lambda p: pretrain_tiny_vggish(spec, p, steps=settings.audio_steps, seed=0, log=log))
    times["audio pretraining"] = time.perf_counter() - start
    return AudioDemoPaths(world, clip, shuffled, templates, sounds / WEIGHTS_FILE), times


def train(settings: AudioDemoSettings, paths: AudioDemoPaths, out: Path) -> Path:
    """Train OV-AVSS (tiny, on the world CLIP) on the world's base classes; returns the final model's path."""
    from openvidseg.config import load_config
    from openvidseg.engine.training import run_training

    cfg = load_config("ov_avss_tiny_synthetic")
    size = settings.size
    cfg = replace(cfg, output_dir=str(out),
                  data=replace(cfg.data, dataset="avsbench", root=str(paths.world), split=str(paths.world / SEEN_FILE),
                               crop_size=[size, size], scale=size, ratio_range=[1.0, 1.0], test_short_side=size,
                               batch_size=settings.batch_size),
                  train=replace(cfg.train, max_iters=settings.train_iters, seed=settings.seed,
                                warmup_iters=max(1, settings.train_iters // 20),
                                log_interval=max(1, settings.train_iters // 6),
                                checkpoint_interval=settings.train_iters))
    cfg.model = replace(cfg.model, clip=str(paths.clip), templates=str(paths.templates),
                        audio_encoder=str(paths.audio_encoder), **MODEL_OPTIONS)
    return run_training(cfg, overwrite=True, progress=False).final_model


def evaluate(model_path: Path, settings: AudioDemoSettings, paths: AudioDemoPaths,
             log: Callable[[str], None]) -> dict[str, Any]:
    """{row: AudioVisualScoreResult} of the trained model and its two controls on the world's test videos."""
    from openvidseg.data.avsbench import AVSBenchDataset
    from openvidseg.engine.audio_visual_evaluator import evaluate_audio_visual, other_videos_audio
    from openvidseg.models import load_model

    data = AVSBenchDataset(paths.world, "test", class_split=str(paths.world / SEEN_FILE), audio_timing="frames")
    model = load_model(model_path)
    rows = {"ov_avss": evaluate_audio_visual(model, data, short_side=settings.size),
            "shuffled audio": evaluate_audio_visual(model, data, short_side=settings.size,
                                                    audio_of=other_videos_audio(data)),
            "shuffled text": evaluate_audio_visual(load_model(model_path, clip=str(paths.shuffled_clip)), data,
                                                   short_side=settings.size)}
    for name, scores in rows.items():
        log(f"{name}: " + ", ".join(f"{label} {format_score(value, 1)}" for label, value in scores.headline()[:7]))
    return rows


@dataclass
class AudioDemoRun:
    """One seed: its settings, paths, the trained model, the rows' scores and the seconds each phase took."""

    settings: AudioDemoSettings
    paths: AudioDemoPaths
    model_path: Path
    rows: dict[str, Any]
    seconds: dict[str, float]


def run_audio_demo(out: Path, settings: AudioDemoSettings, cache: Path | None = None,
                   log: Callable[[str], None] = print) -> AudioDemoRun:
    """Prepare, train and evaluate one seed of the audio-visual demo into `out`."""
    start = time.perf_counter()
    paths, seconds = prepare(settings, cache or cache_root(), log)
    step = time.perf_counter()
    log(f"training OV-AVSS (tiny) for {settings.train_iters} steps on the base classes")
    model_path = train(settings, paths, out / "ov_avss")
    seconds["training"] = time.perf_counter() - step
    step = time.perf_counter()
    rows = evaluate(model_path, settings, paths, log)
    seconds["evaluation"] = time.perf_counter() - step
    seconds["total"] = time.perf_counter() - start
    return AudioDemoRun(settings, paths, model_path, rows, seconds)


def _run_seed_in_worker(out: Path, quick: bool, seed: int, cache: Path | None) -> AudioDemoRun:
    import torch

    torch.set_num_threads(1)  # the tiny models run many small ops: one thread per process is fastest
    return run_audio_demo(out / f"seed{seed}", AudioDemoSettings.make(quick, seed), cache)


def run_audio_demo_seeds(out: Path, quick: bool, seeds: list[int], cache: Path | None = None,
                         workers: int = 2) -> list[AudioDemoRun]:
    """Every seed of the demo into out/seed<N>, `workers` seeds at a time in separate processes."""
    if workers > 1 and len(seeds) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, len(seeds)), mp_context=multiprocessing.get_context("spawn")) as pool:
            return [job.result() for job in [pool.submit(_run_seed_in_worker, out, quick, s, cache) for s in seeds]]
    return [_run_seed_in_worker(out, quick, s, cache) for s in seeds]
