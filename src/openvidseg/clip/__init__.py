"""CLIP for dense prediction: loading from any source (`load_clip`), dense image features and a cached
text classifier (`ClipModel`), prompt templates as data (`load_templates`)."""
from openvidseg.clip.loading import build_clip, load_clip
from openvidseg.clip.model import ClipModel, DenseFeatures
from openvidseg.clip.templates import load_templates

__all__ = ["ClipModel", "DenseFeatures", "build_clip", "load_clip", "load_templates"]
