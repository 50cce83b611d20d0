"""Cost volume between dense CLIP image embeddings and per-template text embeddings, its embedding,
and cost aggregation (spatial blocks per class, then class blocks per pixel, chained)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.models.layers import Attention, Mlp, in_class_chunks


def cosine_cost(visual: torch.Tensor, text: torch.Tensor, normalize_visual: bool = True,
                normalize_text: bool = True) -> torch.Tensor:
    """visual (B, D, h, w), text (B, K, P, D) or (K, P, D) -> cosine similarities (B, K, P, h, w).
    normalize_visual / normalize_text=False: that side is already a weighted sum of normalised embeddings
    (temporal cost fusion, template mixing), and the result stays the same weighted sum of cosines."""
    visual = F.normalize(visual, dim=1) if normalize_visual else visual
    text = F.normalize(text, dim=-1) if normalize_text else text
    if text.dim() == 3:
        return torch.einsum("bdhw,kpd->bkphw", visual, text)
    return torch.einsum("bdhw,bkpd->bkphw", visual, text)


class TemplateMixing(nn.Module):
    """Template aggregation before the cost volume (ours, for large vocabularies): each class's P normalised
    template embeddings are mixed into M learned combinations, so the cost volume has M channels per class
    instead of P. Cosine similarity is linear in the normalised text, so this equals a 1x1 conv over the P
    template channels of the full cost volume, done on the text side (K x M x D work instead of
    K x P x h x w). Starts as M slightly perturbed copies of the template average (the usual zero-shot
    classifier). text: (..., K, P, D) -> (..., K, M, D), for `cosine_cost(..., normalize_text=False)`."""

    def __init__(self, num_templates: int, mixtures: int):
        super().__init__()
        weight = torch.full((mixtures, num_templates), 1.0 / num_templates)
        self.weight = nn.Parameter(weight * (1 + 0.1 * torch.randn_like(weight)))

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        return torch.einsum("...kpd,mp->...kmd", F.normalize(text, dim=-1), self.weight)


class CostEmbedding(nn.Module):
    """A 7x7 conv over the P template channels, per class: (B, K, P, h, w) -> (B, K, C, h, w).
    Classes are folded into the batch, so any K works."""

    def __init__(self, num_templates: int, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(num_templates, channels, 7, padding=3)

    def forward(self, cost: torch.Tensor) -> torch.Tensor:
        batch, classes = cost.shape[:2]
        return self.conv(cost.flatten(0, 1)).unflatten(0, (batch, classes))


class SpatialBlock(nn.Module):
    """Per class, mixes each pixel with its neighbours (depthwise 7x7) and with the appearance guidance:
    x + MLP([LN(dw7x7(x)), LN(g)]). The MLP's first layer over the concatenation is split into a class
    part and a guidance part computed once per frame and broadcast over the K classes.
    x: (B, K, h, w, C) (channels last: the layout cost aggregation keeps); guidance: (B, G, h, w) -> x's shape."""

    def __init__(self, channels: int, guidance: int, mlp_ratio: int = 2):
        super().__init__()
        hidden = channels * mlp_ratio
        self.mix = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.guidance_norm = nn.LayerNorm(guidance)
        self.fc_x = nn.Linear(channels, hidden)
        self.fc_g = nn.Linear(guidance, hidden, bias=False)
        self.act = nn.GELU()
        self.fc_out = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        planes = x.flatten(0, 1).permute(0, 3, 1, 2)  # (B*K, C, h, w) channels-last: fast depthwise conv on CPU
        mixed = self.norm(self.mix(planes).permute(0, 2, 3, 1)).unflatten(0, x.shape[:2])  # (B, K, h, w, C)
        g = self.fc_g(self.guidance_norm(guidance.permute(0, 2, 3, 1))).unsqueeze(1)  # (B, 1, h, w, hidden)
        return x + self.fc_out(self.act(self.fc_x(mixed) + g))


class ClassBlock(nn.Module):
    """Per pixel, attention across the K classes (no class order: permuting classes permutes the output).
    x: (B, K, h, w, C) -> same."""

    def __init__(self, channels: int, heads: int = 4, mlp_ratio: int = 2):
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.attention = Attention(channels, heads)
        self.norm2 = nn.LayerNorm(channels)
        self.mlp = Mlp(channels, channels * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, classes, height, width, channels = x.shape
        tokens = x.transpose(1, 3).reshape(-1, classes, channels)  # (B*w*h, K, C): whole C rows move
        normed = self.norm1(tokens)
        tokens = tokens + self.attention(normed)
        tokens = tokens + self.mlp(self.norm2(tokens))
        return tokens.reshape(batch, width, height, classes, channels).transpose(1, 3)


class CostAggregation(nn.Module):
    """Aggregates the embedded cost volume with appearance guidance.

    mode 'spatial_class' (default, as CAT-Seg): `layers` chained pairs of a spatial block (per class) and
    a class block (per pixel; with class_stride s > 1, ours for large vocabularies, on the cost grid
    average-pooled s x s, its update upsampled bilinearly and added at the full grid). mode 'linear': the
    public code's single linear fusion of cost and guidance. Without autograd the spatial blocks (per class)
    run `class_chunk` classes at a time (`in_class_chunks`: the same result, faster for large K).
    The blocks work channels-last, (B, K, h, w, C), so the transposes between per-class and per-pixel
    work move whole rows of C values (element-wise transposes were most of the class blocks' time on CPU).
    cost: (B, K, C, h, w); guidance: (B, G, h, w) -> (B, K, C, h, w) (a view of a channels-last tensor).
    """

    class_chunk = 16

    def __init__(self, channels: int, guidance: int, layers: int = 2, mode: str = "spatial_class", heads: int = 4,
                 class_stride: int = 1):
        super().__init__()
        if mode not in ("spatial_class", "linear"):
            raise ValueError(f"unknown cost aggregation '{mode}': use spatial_class or linear")
        if class_stride < 1:
            raise ValueError(f"class attention stride must be >= 1, got {class_stride}")
        self.mode, self.class_stride = mode, class_stride
        if mode == "linear":  # a linear layer over [cost, guidance], split as in SpatialBlock
            self.linear_x = nn.Conv2d(channels, channels, 1)
            self.linear_g = nn.Conv2d(guidance, channels, 1, bias=False)
        else:
            self.spatial = nn.ModuleList(SpatialBlock(channels, guidance) for _ in range(layers))
            self.classes = nn.ModuleList(ClassBlock(channels, heads) for _ in range(layers))

    def forward(self, cost: torch.Tensor, guidance: torch.Tensor) -> torch.Tensor:
        if self.mode == "linear":
            batch, classes = cost.shape[:2]
            x = self.linear_x(cost.flatten(0, 1)).unflatten(0, (batch, classes))
            return x + self.linear_g(guidance).unsqueeze(1)
        x = cost.permute(0, 1, 3, 4, 2).contiguous()  # (B, K, h, w, C)
        for spatial, across in zip(self.spatial, self.classes):
            x = self._across_classes(across, in_class_chunks(spatial, x, self.class_chunk, guidance))
        return x.permute(0, 1, 4, 2, 3)

    def _across_classes(self, block: ClassBlock, x: torch.Tensor) -> torch.Tensor:
        if self.class_stride == 1:
            return block(x)
        batch, classes, height, width, _ = x.shape
        planes = x.flatten(0, 1).permute(0, 3, 1, 2)  # (B*K, C, h, w) channels-last
        coarse = F.avg_pool2d(planes, self.class_stride, ceil_mode=True).permute(0, 2, 3, 1)  # (B*K, h', w', C)
        update = block(coarse.unflatten(0, (batch, classes))).flatten(0, 1) - coarse
        update = F.interpolate(update.permute(0, 3, 1, 2), size=(height, width), mode="bilinear", align_corners=False)
        return x + update.permute(0, 2, 3, 1).unflatten(0, (batch, classes))
