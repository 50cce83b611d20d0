"""Inference over videos: the streaming `VideoPredictor` and the clip-mode `ClipPredictor`."""
from openvidseg.inference.predictor import ClipPredictor, FramePrediction, VideoPredictor

__all__ = ["ClipPredictor", "FramePrediction", "VideoPredictor"]
