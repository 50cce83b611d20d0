"""DINOv2 (transformers' Dinov2Model) as the appearance backbone: four evenly spaced layers, each through
the final LayerNorm, at stride 14; position embeddings interpolated to any input size."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from transformers import Dinov2Config, Dinov2Model

from openvidseg.errors import WeightsError
from openvidseg.hub import download_snapshot, hub_weights_file, is_hub_id
from openvidseg.models.backbones.base import IMAGENET_MEAN, IMAGENET_STD, AppearanceBackbone, normalize_to_multiple, quarter_layers
from openvidseg.weights import build_with_weights, read_state_dict

SIZES = {  # hidden size, layers, heads (the released DINOv2 ViTs)
    "small": (384, 12, 6), "base": (768, 12, 12), "large": (1024, 24, 16), "tiny": (32, 4, 2),
}
HOW_TO_PASS = "model.backbone_source=/path/to/dinov2-base (a folder with config.json and model.safetensors)"


def load_dinov2(source: str, size: str = "base") -> Dinov2Model:
    """'random' (of `size`), a hub id (facebook/dinov2-base) or a local hub-layout folder, loaded strictly."""
    if source == "random":
        width, layers, heads = SIZES[size]
        return Dinov2Model(Dinov2Config(hidden_size=width, num_hidden_layers=layers, num_attention_heads=heads)).eval()
    folder = download_snapshot(source, what="DINOv2 weights", how_to_pass=HOW_TO_PASS) if is_hub_id(source) else Path(source)
    if not (folder / "config.json").is_file():
        raise WeightsError(f"{folder} is not a DINOv2 model folder (no config.json); {HOW_TO_PASS}")
    config = Dinov2Config.from_pretrained(str(folder))
    state = read_state_dict(hub_weights_file(folder))
    state = {k.removeprefix("dinov2."): v for k, v in state.items()}
    return build_with_weights(lambda: Dinov2Model(config), state, source, "DINOv2").eval()


class Dinov2Backbone(AppearanceBackbone):
    """DINOv2 patch tokens after `layers` (1-based; default the quarter points) through the final LayerNorm."""

    def __init__(self, model: Dinov2Model, layers: Sequence[int] | None = None):
        super().__init__()
        self.model = model
        self.layers = tuple(layers) if layers else quarter_layers(model.config.num_hidden_layers)
        self.out_channels = (model.config.hidden_size,) * len(self.layers)
        # parameters the forward never uses stay frozen: the masked-pretraining token, layers past the last level
        if model.embeddings.mask_token is not None:
            model.embeddings.mask_token.requires_grad_(False)
        model.encoder.layer[max(self.layers):].requires_grad_(False)

    def forward(self, images: torch.Tensor, clip_features: Sequence[torch.Tensor] = ()) -> list[torch.Tensor]:
        patch = self.model.config.patch_size
        x = normalize_to_multiple(images, IMAGENET_MEAN, IMAGENET_STD, patch)
        grid = (x.shape[-2] // patch, x.shape[-1] // patch)
        hidden = self.model.embeddings(x.to(self.model.embeddings.cls_token.dtype))
        levels = []
        for index, layer in enumerate(self.model.encoder.layer[: max(self.layers)], start=1):
            hidden = layer(hidden)
            if index in self.layers:
                tokens = self.model.layernorm(hidden)[:, -grid[0] * grid[1] :]  # drop the class token
                levels.append(tokens.transpose(1, 2).reshape(tokens.shape[0], -1, *grid))
        return levels
