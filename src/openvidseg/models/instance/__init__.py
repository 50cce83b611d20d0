"""Open-vocabulary video instance segmentation (CLIP-VIS, OVFormer) on one Mask2Former-style stack built from
transformers' Mask2Former pieces; see model.py for the map of the modules."""
from openvidseg.models.instance.model import InstanceSegmenter, build_clip_vis, build_ovformer
from openvidseg.models.instance.structures import InstanceOutput, InstanceTargets

__all__ = ["InstanceOutput", "InstanceSegmenter", "InstanceTargets", "build_clip_vis", "build_ovformer"]
