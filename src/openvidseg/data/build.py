"""Build datasets and augmentation from a `DataConfig` (configs build modules; modules never read configs)."""
from __future__ import annotations

from collections.abc import Sequence

from openvidseg.config.schema import DataConfig
from openvidseg.data.cityscapes import CityscapesSequences
from openvidseg.data.sampling import DEFAULT_OFFSETS
from openvidseg.data.synthetic_folder import ensure_synthetic_vspw
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.data.vspw import VSPWDataset
from openvidseg.errors import ConfigError, DataError

VSPW_LAYOUT_KINDS = ("vspw", "synthetic")  # a synthetic dataset is written in the VSPW layout


def _root(cfg: DataConfig) -> str:
    if not cfg.root:
        raise ConfigError("data.root is not set: pass data.root=/path/to/VSPW_480p (or your dataset folder)")
    if cfg.dataset == "synthetic":
        prepare_dataset(cfg)
    return cfg.root


def prepare_dataset(cfg: DataConfig) -> None:
    """Generate a `synthetic` dataset into data.root when it is absent (other kinds: nothing to do).
    Safe to call from several processes at once."""
    if cfg.dataset != "synthetic":
        return
    if not cfg.root:
        raise ConfigError("data.root is not set: the synthetic set is generated there (e.g. data.root=runs/synthetic)")
    s = cfg.synthetic
    ensure_synthetic_vspw(cfg.root, class_names=s.class_names, splits=s.splits, num_frames=s.num_frames, size=s.size,
                          seed=s.seed, num_stuff=s.num_stuff, seen_classes=s.seen_classes)


def build_augmentation(cfg: DataConfig) -> ClipAugmentation:
    """The training clip augmentation described by `cfg` (crop, resize ratio, cat_max_ratio, flip, photometric)."""
    return ClipAugmentation(crop_size=cfg.crop_size, scale=cfg.scale, ratio_range=cfg.ratio_range,
                            cat_max_ratio=cfg.cat_max_ratio, flip_prob=cfg.flip_prob, photometric=cfg.photometric,
                            photometric_per=cfg.photometric_per)


def build_train_dataset(cfg: DataConfig, ref_offsets: Sequence[int] = DEFAULT_OFFSETS, seed: int = 0) -> VSPWDataset:
    """Training clips of `cfg.train_split`, augmented, with the seen/unseen split `cfg.split`; clips hold
    the reference frames at `ref_offsets` (the model's: empty for per-frame models)."""
    if cfg.dataset not in VSPW_LAYOUT_KINDS:
        raise ConfigError(f"data.dataset={cfg.dataset} cannot be trained on: use one of {', '.join(VSPW_LAYOUT_KINDS)} "
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
    if cfg.dataset not in VSPW_LAYOUT_KINDS:
        raise ConfigError(f"unknown data.dataset '{cfg.dataset}': use vspw, synthetic or cityscapes")
    return VSPWDataset(_root(cfg), cfg.val_split, split=cfg.split, class_names=cfg.class_names,
                       random_frame=cfg.random_frame, reverse_prob=0.0)
