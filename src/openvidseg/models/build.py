"""Build a model from its config section (configs build modules; modules never read configs)."""
from __future__ import annotations

from dataclasses import fields

from openvidseg.config.schema import ModelConfig
from openvidseg.models.base import VideoSegmenter
from openvidseg.models.checkpoint import load_model
from openvidseg.models.registry import create_model

NOT_OPTIONS = ("name", "checkpoint")


def model_options(cfg: ModelConfig) -> dict:
    """The options a config sets (None = keep the variant's or checkpoint's value)."""
    return {f.name: getattr(cfg, f.name) for f in fields(cfg)
            if f.name not in NOT_OPTIONS and getattr(cfg, f.name) is not None}


def build_model(cfg: ModelConfig) -> VideoSegmenter:
    """`cfg.checkpoint` set: the checkpoint's model (its saved options, then the config's on top, e.g. a local
    CLIP path); else the registered model `cfg.name` with the config's options."""
    options = model_options(cfg)
    if cfg.checkpoint:
        return load_model(cfg.checkpoint, **options)
    return create_model(cfg.name, **options)
