"""SAM ViT image encoder (transformers' SamVisionEncoder) as the appearance backbone, as the public
OV2VSS code uses: blocks 2, 5, 8, 11 (0-based), each through SAM's neck (256 channels, stride 16).
Any input size: the absolute position embedding is interpolated, relative ones are resized by SAM."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from transformers import SamConfig, SamVisionConfig
from transformers.models.sam.modeling_sam import SamVisionEncoder

from openvidseg.errors import WeightsError
from openvidseg.hub import download_snapshot, hub_weights_file, is_hub_id
from openvidseg.models.backbones.base import IMAGENET_MEAN, IMAGENET_STD, AppearanceBackbone, normalize_to_multiple
from openvidseg.weights import build_with_weights, read_state_dict

TINY = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, mlp_dim=64, output_channels=16,
            global_attn_indexes=[0, 1, 2, 3], window_size=4, image_size=256)
RANDOM_INIT = dict(initializer_range=0.02)  # SAM's own default (1e-10) leaves random encoders inert
HOW_TO_PASS = "model.backbone_source=/path/to/sam-vit-base (a folder with config.json and model.safetensors)"


def load_sam_encoder(source: str) -> SamVisionEncoder:
    """'random' (ViT-B), 'random:tiny', a hub id (facebook/sam-vit-base) or a local hub-layout folder;
    the vision encoder's weights are loaded strictly from a full SAM checkpoint."""
    if source.startswith("random"):
        config = SamVisionConfig(**TINY, **RANDOM_INIT) if source == "random:tiny" else SamVisionConfig(**RANDOM_INIT)
        return SamVisionEncoder(config).eval()
    from pathlib import Path

    folder = download_snapshot(source, what="SAM weights", how_to_pass=HOW_TO_PASS) if is_hub_id(source) else Path(source)
    if not (folder / "config.json").is_file():
        raise WeightsError(f"{folder} is not a SAM model folder (no config.json); {HOW_TO_PASS}")
    config = SamConfig.from_pretrained(str(folder)).vision_config
    prefix = "vision_encoder."
    state = {k[len(prefix):]: v for k, v in read_state_dict(hub_weights_file(folder)).items() if k.startswith(prefix)}
    return build_with_weights(lambda: SamVisionEncoder(config), state, source, "SAM vision encoder").eval()


class SamBackbone(AppearanceBackbone):
    """SAM's image encoder; levels = the neck applied to the outputs of `blocks` (0-based; default: the
    global-attention blocks, 2, 5, 8, 11 for ViT-B)."""

    def __init__(self, encoder: SamVisionEncoder, blocks: Sequence[int] | None = None):
        super().__init__()
        self.encoder = encoder
        self.blocks = tuple(blocks if blocks is not None else encoder.config.global_attn_indexes)
        self.out_channels = (encoder.config.output_channels,) * len(self.blocks)
        encoder.layers[max(self.blocks) + 1 :].requires_grad_(False)  # never run

    def forward(self, images: torch.Tensor, clip_features: Sequence[torch.Tensor] = ()) -> list[torch.Tensor]:
        patch = self.encoder.config.patch_size
        x = normalize_to_multiple(images, IMAGENET_MEAN, IMAGENET_STD, patch).to(self.encoder.pos_embed.dtype)
        x = self.encoder.patch_embed.projection(x).permute(0, 2, 3, 1)  # (N, h, w, C)
        pos = self.encoder.pos_embed
        if pos.shape[1:3] != x.shape[1:3]:
            pos = F.interpolate(pos.permute(0, 3, 1, 2), size=x.shape[1:3], mode="bicubic", align_corners=False)
            pos = pos.permute(0, 2, 3, 1)
        x = x + pos
        levels = []
        for index, layer in enumerate(self.encoder.layers[: max(self.blocks) + 1]):
            x = layer(x)
            if index in self.blocks:
                levels.append(self.encoder.neck(x))
        return levels
