"""Data: dataset class vocabularies, seen/unseen splits and evaluation protocols; datasets (VSPW layout,
Cityscapes snippets; video instance layouts: YouTube-VIS/OVIS/LV-VIS, BURST, COCO/LVIS images), frame
sources (video files, frame folders), clip sampling, augmentation, checks and synthetic dataset generators
(semantic, instance).

Names whose modules need torch or PyAV (datasets, video files, builders) are imported on first use, so
`import openvidseg.data` stays light.
"""
from __future__ import annotations

import importlib
from typing import Any

from openvidseg.data.classes import (
    CITYSCAPES_CLASSES, IGNORE_INDEX, NUM_VSPW_CLASSES, VSPW_CLASSES, class_names_in_form, clean_class_name,
)
from openvidseg.data.frame_source import FrameSource, ImageFrames
from openvidseg.data.sampling import (
    ClipIndices, eval_clip_indices, eval_clips, item_rng, sample_instance_clip, sample_random_frame,
    sample_training_clip,
)
from openvidseg.data.splits import (
    BACKGROUND, PROTOCOLS, ClassSplit, EvalProtocol, all_seen_split, load_split, ov2vss_split, split_from_seen_names,
)
from openvidseg.data.transforms import (
    IMAGENET_MEAN, IMAGENET_STD, AugmentParams, ClipAugmentation, Normalize, resize_short_side,
)

_LAZY = {
    "VSPWDataset": "openvidseg.data.vspw",
    "VSPWVideo": "openvidseg.data.vspw",
    "CityscapesSequences": "openvidseg.data.cityscapes",
    "CityscapesSnippet": "openvidseg.data.cityscapes",
    "VideoFileFrames": "openvidseg.data.video",
    "open_frames": "openvidseg.data.video",
    "DataReport": "openvidseg.data.check",
    "check_dataset": "openvidseg.data.check",
    "ClassStyle": "openvidseg.data.synthetic_styles",
    "SyntheticVSPW": "openvidseg.data.synthetic",
    "write_synthetic_vspw": "openvidseg.data.synthetic",
    "build_augmentation": "openvidseg.data.build",
    "build_eval_dataset": "openvidseg.data.build",
    "build_train_dataset": "openvidseg.data.build",
    "prepare_dataset": "openvidseg.data.build",
    "ensure_synthetic_vspw": "openvidseg.data.synthetic_folder",
    "InstanceAnnotations": "openvidseg.data.instances",
    "InstanceCategory": "openvidseg.data.instances",
    "InstanceTrack": "openvidseg.data.instances",
    "VideoInfo": "openvidseg.data.instances",
    "load_instance_annotations": "openvidseg.data.instance_layouts",
    "VideoInstanceDataset": "openvidseg.data.instance_dataset",
    "InstanceVideo": "openvidseg.data.instance_dataset",
    "collate_instance_clips": "openvidseg.data.instance_dataset",
    "InstanceWorldSpec": "openvidseg.data.synthetic_instances",
    "write_instance_world": "openvidseg.data.synthetic_instances",
    "ensure_instance_world": "openvidseg.data.synthetic_instances",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'openvidseg.data' has no attribute '{name}'")


__all__ = [
    "BACKGROUND", "CITYSCAPES_CLASSES", "IGNORE_INDEX", "IMAGENET_MEAN", "IMAGENET_STD", "NUM_VSPW_CLASSES",
    "PROTOCOLS", "VSPW_CLASSES", "AugmentParams", "ClassSplit", "ClipAugmentation", "ClipIndices", "EvalProtocol",
    "FrameSource", "ImageFrames", "Normalize", "all_seen_split", "class_names_in_form", "clean_class_name",
    "eval_clip_indices", "eval_clips", "item_rng", "load_split", "ov2vss_split", "resize_short_side",
    "sample_instance_clip", "sample_random_frame", "sample_training_clip", "split_from_seen_names", *_LAZY,
]
