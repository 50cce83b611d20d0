"""Pluggable appearance backbones: `clip` (CLIP's own intermediate layers, the fast default),
`sam_vit_b` (SAM's image encoder, as the public OV2VSS code) and `dinov2_<size>`."""
from __future__ import annotations

from openvidseg.clip import ClipModel
from openvidseg.errors import InputError
from openvidseg.models.backbones.base import AppearanceBackbone
from openvidseg.models.backbones.clip_layers import ClipLayersBackbone

BACKBONES = ("clip", "sam_vit_b", "dinov2_small", "dinov2_base", "dinov2_large")
DEFAULT_SOURCES = {"sam_vit_b": "facebook/sam-vit-base", "dinov2_small": "facebook/dinov2-small",
                   "dinov2_base": "facebook/dinov2-base", "dinov2_large": "facebook/dinov2-large"}


def build_backbone(name: str, clip: ClipModel, source: str | None = None) -> AppearanceBackbone:
    """The backbone `name`; `source` gives its weights (hub id, folder, 'random' or 'random:tiny';
    default: the official hub weights). The `clip` backbone reuses `clip` and takes no source."""
    if name == "clip":
        return ClipLayersBackbone(clip.width, clip.num_layers)
    if name == "sam_vit_b":
        from openvidseg.models.backbones.sam import SamBackbone, load_sam_encoder

        return SamBackbone(load_sam_encoder(source or DEFAULT_SOURCES[name]))
    if name.startswith("dinov2_") and name in BACKBONES:
        from openvidseg.models.backbones.dinov2 import Dinov2Backbone, load_dinov2

        size = name.split("_", 1)[1]
        source = source or DEFAULT_SOURCES[name]
        return Dinov2Backbone(load_dinov2("random" if source == "random:tiny" else source,
                                          "tiny" if source == "random:tiny" else size))
    raise InputError(f"unknown backbone '{name}': use one of {', '.join(BACKBONES)}")


__all__ = ["AppearanceBackbone", "BACKBONES", "build_backbone"]
