"""Small blocks shared by the models, one concept per file."""
from openvidseg.models.layers.attention import Attention
from openvidseg.models.layers.class_chunks import in_class_chunks
from openvidseg.models.layers.mlp import Mlp
from openvidseg.models.layers.p2t import P2TPooling, pooled_size

__all__ = ["Attention", "in_class_chunks", "Mlp", "P2TPooling", "pooled_size"]
