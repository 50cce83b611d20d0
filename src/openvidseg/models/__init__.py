"""Models: a registry of named variants (`create_model`, `list_models`) over the model families."""
from openvidseg.models.registry import ModelVariant, create_model, get_variant, list_models, register_model

__all__ = ["ModelVariant", "create_model", "get_variant", "list_models", "register_model"]
from openvidseg.models.base import FrameFeatures, SegmentationOutput, VideoSegmenter  # noqa: E402
from openvidseg.models.checkpoint import load_model, load_weights, save_model  # noqa: E402

__all__ += ["FrameFeatures", "SegmentationOutput", "VideoSegmenter", "load_model", "load_weights", "save_model"]
