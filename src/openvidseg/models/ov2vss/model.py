"""OV2VSS: open-vocabulary video semantic segmentation (arXiv 2412.09329), as specified in
docs/ov2vss.md, and the per-frame `frame` baseline (the same model without STF, RFE and VTE).

Per frame (computed once, cacheable): frozen CLIP dense embeddings F_clip (B, D, h, w) at a fixed
input size and L appearance levels projected to C. Per target: STF over the references -> O_t, RFE with
a long-range frame's region context, VTE text T' (B, K, P, D), cost volume cos(F_clip, T'), 7x7 cost
embedding, spatial + class aggregation guided by the target's appearance and O_t, and a 2-stage
upsampling decoder to (B, K, 4h, 4w), resized to the requested output size.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.clip import ClipModel, load_clip, load_templates
from openvidseg.clip.model import DENSE_PATHS
from openvidseg.models.backbones import AppearanceBackbone, build_backbone
from openvidseg.models.base import FrameFeatures, SegmentationOutput, VideoSegmenter
from openvidseg.models.ov2vss.cost import CostAggregation, CostEmbedding, TemplateMixing, cosine_cost
from openvidseg.models.ov2vss.decoder import UpsamplingDecoder
from openvidseg.models.ov2vss.frame_enhancement import RandomFrameEnhancement
from openvidseg.models.ov2vss.fusion import SpatialTemporalFusion
from openvidseg.models.ov2vss.pruning import prune_classes, unprune
from openvidseg.models.ov2vss.temporal_cost import TemporalCostFusion
from openvidseg.models.ov2vss.text_encoding import VideoTextEncoder


def _resize(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    size = tuple(size)
    return x if tuple(x.shape[-2:]) == size else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _scaled_cosine(scale: torch.Tensor, embedding: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """scale x the cosine of unit pixel embeddings (B, D, h, w) with unit class vectors (K, D) or (B, K, D):
    (B, K, h, w) logits."""
    equation = "bdhw,kd->bkhw" if classes.dim() == 2 else "bdhw,bkd->bkhw"
    return scale * torch.einsum(equation, embedding, classes)


class OV2VSS(VideoSegmenter):
    """The OV2VSS model over a CLIP model and an appearance backbone. Flags switch the temporal modules
    (use_stf, use_rfe, use_vte; use_tcf: ours, the references' cost volumes fused into the target's, see
    `TemporalCostFusion`, over a (2 tcf_radius + 1)^2 window of the cost grid) and select the public
    code's behaviours (raw_dot_attention, aggregation='linear') for comparison. dense_path: how CLIP's last
    block runs for F_clip ('value', as CAT-Seg and the public code, or 'standard'; see
    `ClipModel.dense_features`). Options of ours for large vocabularies (each changes the model; off by
    default): vte_queries='classes' (VTE on one template-averaged query per class), cost_templates=M (M
    learned template mixtures instead of P cost channels per class), class_attention_stride=s (class
    attention on an s x s coarser cost grid). class_pruning=k (ours, inference only; default 20, 0 = off):
    with more than k classes, only the k classes with the highest peak probability by CLIP's raw zero-shot logits
    (`pruning_logits`, `prune_classes`) go through VTE, cost aggregation and the decoder; the others lose
    everywhere (`PRUNED_MARGIN` below the lowest kept logit). It can be set on a trained model:
    `model.class_pruning = k`."""

    native_output = True

    def __init__(
        self,
        clip: ClipModel,
        backbone: AppearanceBackbone,
        *,
        templates: str = "imagenet80",
        clip_image_size: int = 384,
        dense_path: str = "value",
        ref_offsets: Sequence[int] = (-9, -6, -3),
        hidden_dim: int = 256,
        cost_dim: int = 128,
        guidance_dim: int = 128,
        decoder_dims: Sequence[int] = (32, 16),
        decoder_guidance_dims: Sequence[int] = (32, 16),
        use_stf: bool = True,
        use_rfe: bool = True,
        use_vte: bool = True,
        use_tcf: bool = False,
        tcf_radius: int = 2,
        vte_queries: str = "templates",
        cost_templates: int = 0,
        class_attention_stride: int = 1,
        class_pruning: int = 20,
        raw_dot_attention: bool = False,
        pool_ratios: Sequence[int] = (2, 4, 6, 8),
        num_regions: int = 64,
        attention_heads: int = 8,
        text_heads: int = 8,
        aggregation: str = "spatial_class",
        aggregation_layers: int = 2,
        aggregation_heads: int = 4,
        aux_weight: float = 0.4,
    ):
        super().__init__(clip, templates)
        self.backbone = backbone
        self.clip_image_size = clip_image_size
        if dense_path not in DENSE_PATHS:
            raise ValueError(f"unknown dense path '{dense_path}': use {' or '.join(DENSE_PATHS)}")
        self.dense_path = dense_path
        # sorted once here, so every path (training, clip mode, streaming) runs STF oldest to newest
        self.ref_offsets = tuple(sorted(int(o) for o in ref_offsets)) if use_stf or use_tcf else ()
        self.uses_random_frame = use_rfe
        self.use_stf, self.use_rfe, self.use_vte, self.use_tcf = use_stf, use_rfe, use_vte, use_tcf
        self.aux_weight = aux_weight
        if class_pruning < 0:
            raise ValueError(f"class pruning keeps k >= 0 classes (0: off), got {class_pruning}")
        self.class_pruning = class_pruning
        levels = len(backbone.out_channels)
        if levels < 2:
            raise ValueError("OV2VSS needs a backbone with at least 2 feature levels")
        self.level_proj = nn.ModuleList(nn.Conv2d(c, hidden_dim, 1) for c in backbone.out_channels)
        self.fusion = (SpatialTemporalFusion(hidden_dim, levels, pool_ratios, raw_dot_attention)
                       if use_stf else None)
        self.fuse_levels = None if use_stf else nn.Conv2d(levels * hidden_dim, hidden_dim, 1)
        self.frame_enhancement = (RandomFrameEnhancement(hidden_dim, levels, num_regions, attention_heads, pool_ratios)
                                  if use_rfe else None)
        self.text_encoder = VideoTextEncoder(clip.embed_dim, text_heads, queries=vte_queries) if use_vte else None
        self.cost_fusion = (TemporalCostFusion(clip.embed_dim, len(self.ref_offsets) + 1, tcf_radius)
                            if use_tcf else None)
        num_templates = len(load_templates(templates)) if isinstance(templates, str) else len(templates)
        self.template_mixing = TemplateMixing(num_templates, cost_templates) if cost_templates else None
        self.cost_embedding = CostEmbedding(cost_templates or num_templates, cost_dim)
        self.guidance = nn.Sequential(nn.Conv2d(2 * hidden_dim, guidance_dim, 1), nn.GELU())
        self.aggregation = CostAggregation(cost_dim, guidance_dim, aggregation_layers, aggregation, aggregation_heads,
                                           class_attention_stride)
        # decoder guidance from the two shallowest levels, learnably upsampled 2x and 4x (as CAT-Seg)
        self.decoder_guidance = nn.ModuleList([
            nn.ConvTranspose2d(hidden_dim, decoder_guidance_dims[0], 2, stride=2),
            nn.ConvTranspose2d(hidden_dim, decoder_guidance_dims[1], 4, stride=4),
        ])
        self.decoder = UpsamplingDecoder(cost_dim, decoder_dims, decoder_guidance_dims)
        self.aux_head = nn.Conv2d(hidden_dim, clip.embed_dim, 1)
        self.aux_scale = nn.Parameter(torch.tensor(10.0).log())

    def encode_frames(self, images: torch.Tensor) -> FrameFeatures:
        """(N, 3, H, W) RGB 0..255 -> F_clip (N, D, h, w) and L projected levels (N, C, h', w')."""
        pixels = self.clip.preprocess(images, self.clip_image_size)
        dense = self.clip.dense_features(pixels, layers=self.backbone.clip_layers, path=self.dense_path)
        levels = self.backbone(images, [layer.float() for layer in dense.layers])
        return FrameFeatures(dense.embeddings.float(), tuple(proj(x.float()) for proj, x in zip(self.level_proj, levels)))

    def random_context(self, features: FrameFeatures) -> torch.Tensor | None:
        return self.frame_enhancement.context(features.levels) if self.frame_enhancement is not None else None

    def fused_target(self, target: FrameFeatures, refs: Sequence[FrameFeatures], context: torch.Tensor | None) -> torch.Tensor:
        """O_t (B, C, h', w'): STF over the references (or a plain fusion of the target's levels), then RFE."""
        if self.fusion is not None:
            fused = self.fusion([r.levels for r in refs] + [target.levels])
        else:
            fused = self.fuse_levels(torch.cat(target.levels, dim=1))
        if self.frame_enhancement is not None and context is not None:
            fused = self.frame_enhancement(fused, context)
        return fused

    def decode(self, target, refs, context, text, out_size) -> SegmentationOutput:
        fused = self.fused_target(target, refs, context)
        visual, num_classes = target.clip, text.shape[-3]
        if self.cost_fusion is not None:  # the references' cost volumes fused into the target's (ours)
            visual = self.cost_fusion(target.clip, [r.clip for r in refs])
        kept = None
        if self.class_pruning and not self.training and not torch.is_grad_enabled():
            kept = prune_classes(self.pruning_logits(target.clip, text), self.class_pruning)
            text = text if kept is None else text.index_select(-3, kept)
        if self.text_encoder is not None:
            text = self.text_encoder(text, visual)
        grid = target.clip.shape[-2:]
        mixed = self.template_mixing is not None
        cost = cosine_cost(visual, self.template_mixing(text) if mixed else text,  # (B, K, P or M, h, w)
                           normalize_visual=self.cost_fusion is None, normalize_text=not mixed)
        cost = self.cost_embedding(cost)  # (B, K, C_cost, h, w)
        guidance = self.guidance(torch.cat([_resize(target.levels[-1], grid), _resize(fused, grid)], dim=1))
        cost = self.aggregation(cost, guidance)
        # stage s (0, 1) runs at 2^(s+1) x the cost grid, guided by level 1 - s (finer levels for finer stages)
        stages = [_resize(up(target.levels[1 - s]), (grid[0] * 2 ** (s + 1), grid[1] * 2 ** (s + 1)))
                  for s, up in enumerate(self.decoder_guidance)]
        logits = self.decoder(cost, stages)  # (B, K, 4h, 4w)
        if kept is not None:
            logits = unprune(logits, kept, num_classes)
        if out_size is not None:
            logits = _resize(logits, out_size)
        aux = self.aux_logits(fused, text) if self.training and self.aux_weight > 0 else None
        return SegmentationOutput(logits, aux)

    def pruning_logits(self, visual: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """CLIP's own zero-shot logits (B, K, h, w) from the raw cost, which rank the classes for
        `class_pruning`: CLIP's logit scale x cos(F_clip, normalised template average). (The auxiliary head
        ranks worse: it was trained on the seen classes only.)"""
        classes = F.normalize(F.normalize(text, dim=-1).mean(dim=-2), dim=-1)
        return _scaled_cosine(self.clip.model.logit_scale.exp(), F.normalize(visual, dim=1), classes)

    def aux_logits(self, fused: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """The auxiliary closed-set head on O_t: cosine with the (template-averaged) vocabulary, (B, K, h', w')."""
        embedding = F.normalize(self.aux_head(fused), dim=1)
        classes = F.normalize(text.mean(dim=-2), dim=-1)
        return _scaled_cosine(self.aux_scale.exp(), embedding, classes)


def build_ov2vss(
    clip: str,
    backbone: str = "clip",
    backbone_source: str | None = None,
    finetune_clip: str = "none",
    **options,
) -> OV2VSS:
    """Build OV2VSS from a CLIP source (hub id, folder, file or random:<size>) and a backbone name; other
    keyword options are `OV2VSS` arguments."""
    clip_model = load_clip(clip)
    clip_model.set_trainable(finetune_clip)
    return OV2VSS(clip_model, build_backbone(backbone, clip_model, backbone_source), **options)


def build_frame_model(
    clip: str,
    backbone: str = "clip",
    backbone_source: str | None = None,
    finetune_clip: str = "none",
    **options,
) -> OV2VSS:
    """The per-frame baseline: OV2VSS without STF, RFE and VTE (a CAT-Seg-style image model)."""
    for flag in ("use_stf", "use_rfe", "use_vte", "use_tcf"):
        if options.pop(flag, False):
            raise ValueError(f"the frame model has no temporal modules: {flag} cannot be set")
    return build_ov2vss(clip, backbone, backbone_source, finetune_clip,
                        use_stf=False, use_rfe=False, use_vte=False, **options)
