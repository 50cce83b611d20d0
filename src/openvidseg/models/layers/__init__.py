"""Small blocks shared by the models, one concept per file."""
from openvidseg.models.layers.attention import Attention
from openvidseg.models.layers.mlp import Mlp
from openvidseg.models.layers.p2t import P2TPooling, pooled_size

__all__ = ["Attention", "Mlp", "P2TPooling", "pooled_size"]
