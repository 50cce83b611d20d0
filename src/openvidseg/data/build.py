"""Build datasets and augmentation from a `DataConfig` (configs build modules; modules never read configs)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from openvidseg.config.schema import DataConfig
from openvidseg.data.avsbench import AVSBenchDataset
from openvidseg.data.cityscapes import CityscapesSequences
from openvidseg.data.sampling import DEFAULT_OFFSETS
from openvidseg.data.synthetic_folder import ensure_synthetic_vspw
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.data.vspw import VSPWDataset
from openvidseg.errors import ConfigError, DataError

VSPW_LAYOUT_KINDS = ("vspw", "synthetic")  # a synthetic dataset is written in the VSPW layout
SYNTHETIC_INSTANCES = "synthetic_instances"  # a generated instance world in the YouTube-VIS layout
# instance datasets: annotation files in any layout `load_instance_annotations` reads
INSTANCE_KINDS = ("ytvis", "ovis", "lvvis", "burst", "coco", "lvis", SYNTHETIC_INSTANCES)
AUDIO_VISUAL_KINDS = ("avsbench", "audio_world")  # the audio world is written in the AVSBench-semantic layout


def _root(cfg: DataConfig) -> str:
    if not cfg.root:
        raise ConfigError("data.root is not set: pass data.root=/path/to/VSPW_480p (or your dataset folder)")
    if cfg.dataset in ("synthetic", "audio_world"):
        prepare_dataset(cfg)
    return cfg.root


def prepare_dataset(cfg: DataConfig) -> None:
    """Generate a `synthetic` (or `synthetic_instances`) dataset or an `audio_world` into data.root when it is
    absent (other kinds: nothing to do). Safe to call from several processes at once."""
    if cfg.dataset == "audio_world":
        _ensure_audio_world(cfg)
    if cfg.dataset not in ("synthetic", SYNTHETIC_INSTANCES):
        return
    if not cfg.root:
        raise ConfigError("data.root is not set: the synthetic set is generated there (e.g. data.root=runs/synthetic)")
    if cfg.dataset == SYNTHETIC_INSTANCES:
        instance_world(cfg)
        return
    s = cfg.synthetic
    ensure_synthetic_vspw(cfg.root, class_names=s.class_names, splits=s.splits, num_frames=s.num_frames, size=s.size,
                          seed=s.seed, num_stuff=s.num_stuff, seen_classes=s.seen_classes)


def build_augmentation(cfg: DataConfig) -> ClipAugmentation:
    """The training clip augmentation described by `cfg` (crop, resize ratio, cat_max_ratio, flip, photometric)."""
    return ClipAugmentation(crop_size=cfg.crop_size, scale=cfg.scale, ratio_range=cfg.ratio_range,
                            cat_max_ratio=cfg.cat_max_ratio, flip_prob=cfg.flip_prob, photometric=cfg.photometric,
                            photometric_per=cfg.photometric_per)


def _ensure_audio_world(cfg: DataConfig) -> None:
    if not cfg.root:
        raise ConfigError("data.root is not set: the audio world is generated there (e.g. data.root=runs/audio_world)")
    from openvidseg.demo.audio_world import AudioWorldSpec, write_audio_world
    from openvidseg.files import build_folder_atomically

    root = Path(cfg.root).expanduser()
    if not (root / "metadata.csv").is_file():
        w = cfg.audio_world
        spec = AudioWorldSpec(train_videos=w.train_videos, test_videos=w.test_videos,
                              visual=replace(AudioWorldSpec().visual, seed=w.seed))
        build_folder_atomically(root, lambda folder: write_audio_world(spec, folder))


def build_audio_visual_dataset(cfg: DataConfig, training: bool, seed: int = 0) -> AVSBenchDataset:
    """Clips of an AVSBench-semantic-layout dataset (`avsbench`, or a generated `audio_world`): training clips of
    `cfg.train_split` (augmented, base classes only) or the evaluation clips of `cfg.val_split`."""
    split = cfg.split
    if cfg.dataset == "audio_world" and split == "ov2vss":  # the schema's default names VSPW's split
        split = str(Path(_root(cfg)) / "seen_classes.json")
    return AVSBenchDataset(_root(cfg), cfg.train_split if training else cfg.val_split, training=training,
                           subsets=cfg.subsets, class_split=split, class_names=cfg.class_names,
                           clip_length=cfg.num_frames, audio_timing=cfg.audio_timing, audio_missing=cfg.audio_missing,
                           exclude_novel_videos=cfg.exclude_novel_videos,
                           transform=build_augmentation(cfg) if training else None, seed=seed)


def build_train_dataset(cfg: DataConfig, ref_offsets: Sequence[int] = DEFAULT_OFFSETS, seed: int = 0) -> VSPWDataset:
    """Training clips of `cfg.train_split`, augmented, with the seen/unseen split `cfg.split`; clips hold
    the reference frames at `ref_offsets` (the model's: empty for per-frame models)."""
    if cfg.dataset in AUDIO_VISUAL_KINDS:
        dataset = build_audio_visual_dataset(cfg, training=True, seed=seed)
        if len(dataset) == 0:
            raise DataError(f"split '{cfg.train_split}' of {cfg.root} has no labelled clips to train on")
        return dataset
    if cfg.dataset not in VSPW_LAYOUT_KINDS:
        raise ConfigError(f"data.dataset={cfg.dataset} cannot be trained on: use one of {', '.join(VSPW_LAYOUT_KINDS + AUDIO_VISUAL_KINDS)} "
                          "(Cityscapes is used for zero-shot evaluation)")
    dataset = VSPWDataset(_root(cfg), cfg.train_split, split=cfg.split, class_names=cfg.class_names,
                          ref_offsets=ref_offsets, random_frame=cfg.random_frame, reverse_prob=cfg.reverse_prob,
                          transform=build_augmentation(cfg), seed=seed)
    if len(dataset) == 0:
        raise DataError(f"split '{cfg.train_split}' of {cfg.root} has no labelled frames to train on")
    return dataset


def build_eval_dataset(cfg: DataConfig) -> VSPWDataset | CityscapesSequences:
    """The videos of `cfg.val_split` for evaluation (`.videos`; VSPW-layout or Cityscapes snippets)."""
    if cfg.dataset == "cityscapes":
        return CityscapesSequences(_root(cfg), cfg.val_split)
    if cfg.dataset in AUDIO_VISUAL_KINDS:
        return build_audio_visual_dataset(cfg, training=False)
    if cfg.dataset not in VSPW_LAYOUT_KINDS:
        raise ConfigError(f"unknown data.dataset '{cfg.dataset}': use vspw, synthetic, cityscapes, avsbench or audio_world")
    return VSPWDataset(_root(cfg), cfg.val_split, split=cfg.split, class_names=cfg.class_names,
                       random_frame=cfg.random_frame, reverse_prob=0.0)


def instance_world(cfg: DataConfig):
    """The `synthetic_instances` world of `cfg` in data.root, generated when absent (`InstanceWorld`)."""
    from openvidseg.data.synthetic_instances import InstanceWorldSpec, ensure_instance_world

    w = cfg.instance_world
    spec = InstanceWorldSpec(train_videos=w.train_videos, val_videos=w.val_videos, num_frames=w.num_frames,
                             size=tuple(w.size), tracks_per_video=tuple(w.tracks_per_video),
                             crossing_prob=w.crossing_prob, seed=w.seed)
    return ensure_instance_world(spec, cfg.root)


def instance_annotations(cfg: DataConfig, which: str) -> Path:
    """The annotation file of the instance split `which` ("train" or "val"): data.train_annotations /
    data.val_annotations (relative paths under data.root), or the generated world's file."""
    if cfg.dataset not in INSTANCE_KINDS:
        raise ConfigError(f"data.dataset={cfg.dataset} is not an instance dataset: use one of {', '.join(INSTANCE_KINDS)}")
    given = cfg.train_annotations if which == "train" else cfg.val_annotations
    if given is None and cfg.dataset == SYNTHETIC_INSTANCES:
        world = instance_world(cfg)
        return world.train_file if which == "train" else world.val_file
    if given is None:
        raise ConfigError(f"data.{which}_annotations is not set: pass the {which} annotation file, e.g. "
                          f"data.{which}_annotations=/data/lvvis/{which}_instances.json")
    path = Path(given).expanduser()
    return path if path.is_absolute() or not cfg.root else Path(cfg.root).expanduser() / path


def _instance_split(cfg: DataConfig) -> str | None:
    """The base/novel split of an instance dataset (the semantic default 'ov2vss' means: the file's own)."""
    return None if cfg.split == "ov2vss" else cfg.split


def build_instance_train_dataset(cfg: DataConfig, seed: int = 0):
    """Instance training clips of data.train_annotations (T = data.num_frames frames within data.frame_range of a
    reference frame, one augmentation draw per clip; images give pseudo videos), seen classes only."""
    from openvidseg.data.instance_dataset import VideoInstanceDataset

    dataset = VideoInstanceDataset(instance_annotations(cfg, "train"), split=_instance_split(cfg),
                                   class_names=cfg.class_names, num_frames=cfg.num_frames, frame_range=cfg.frame_range,
                                   reverse_prob=cfg.reverse_prob, transform=build_augmentation(cfg), seed=seed)
    if len(dataset) == 0:
        raise DataError(f"{instance_annotations(cfg, 'train')} has no frame with a training instance to train on")
    return dataset


def build_instance_eval_dataset(cfg: DataConfig):
    """The videos of data.val_annotations for instance evaluation (`.videos`, every class)."""
    from openvidseg.data.instance_dataset import VideoInstanceDataset

    return VideoInstanceDataset(instance_annotations(cfg, "val"), split=_instance_split(cfg),
                                class_names=cfg.class_names)
