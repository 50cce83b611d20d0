"""`InstanceSegmenter`: open-vocabulary video instance segmentation on one Mask2Former-style stack.

frozen CLIP (+ appearance backbone) -> simple feature pyramid (strides 4-32) -> pixel decoder (deformable
attention) -> masked-attention query decoder -> heads. Two families share it:

- CLIP-VIS (`classifier="mask_pooling"`, `tracking="topk_matching"`, `joint_frames=False`): frames are decoded one
  by one, the model is class-agnostic (objectness, masks, predicted IoU), classes come from CLIP's dense
  embeddings pooled in each mask; tracks from temporal top-K-enhanced matching of query embeddings.
- OVFormer (`classifier="alignment"`, `tracking="clip_linking"`, `joint_frames=True`): the frames of a clip are
  decoded jointly, queries are aligned to CLIP's space (classes and background, sigmoid) beside a 2-way
  objectness; semi-online inference links `clip_frames`-frame clips by matching query embeddings.
  Option (ours, off by default): `clip_ensemble=(alpha, beta)`, FC-CLIP's inference on top: the aligned class
  probabilities are combined with the mask-pooled frozen CLIP's (geometric mean, CLIP's share alpha for the
  classes of the training vocabulary, beta for the others).

The module holds no per-video state; `openvidseg.inference.instance_predictor.InstancePredictor` streams videos.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from openvidseg.clip import ClipModel, load_clip
from openvidseg.errors import TrainingError
from openvidseg.models.base import FrameFeatures, OpenVocabularyModel
from openvidseg.models.instance.backbone import PyramidBackbone
from openvidseg.models.instance.classification import (EmbeddingAlignment, MaskPooledClassifier,
                                                        geometric_ensemble)
from openvidseg.models.instance.criterion import InstanceCriterion
from openvidseg.models.instance.heads import MaskIoUHead, ObjectnessHead
from openvidseg.models.instance.pixel_decoder import PixelDecoder
from openvidseg.models.instance.query_decoder import QueryDecoder
from openvidseg.models.instance.structures import InstanceOutput, InstanceTargets

CLASSIFIERS = ("mask_pooling", "alignment")
TRACKING = ("topk_matching", "clip_linking", "mask_linking", "none")  # the last two: no temporal matching (baselines)


class InstanceSegmenter(OpenVocabularyModel):
    """See the module docstring. Sizes: `hidden_dim` (a multiple of 32: GroupNorms), `mask_dim`, `num_queries`,
    `encoder_layers` deformable pixel-decoder layers, `decoder_layers` masked-attention layers, `heads`.
    `dense_path`: CLIP's dense embeddings for mask pooling from its last block's value path ("value") or the
    block as it is ("standard"; see `PyramidBackbone.clip_pass`).
    Training: `num_points` sampled mask points, loss weights as the peers'. Inference: `clip_frames` frames per
    decoded clip (1 = per frame), `memory_frames` / `top_k` of top-K-enhanced matching. `clip_ensemble`
    (alignment only; None = the paper's inference): (alpha, beta), CLIP's share in the geometric ensemble of the
    aligned class probabilities with the mask-pooled frozen CLIP's (softmax, cosine x 100) at inference: alpha
    for the classes the model was trained on (`train_class_names`), beta for the others (FC-CLIP: 0.4, 0.8)."""

    task = "instance"
    backbone_prefixes = ("clip.", "backbone.appearance.")

    def __init__(self, clip: ClipModel, *, templates: str = "vild14", classifier: str = "mask_pooling",
                 tracking: str = "topk_matching", joint_frames: bool = False, clip_frames: int = 1,
                 backbone: str = "clip", backbone_source: str | None = None, dense_path: str = "value",
                 hidden_dim: int = 256,
                 mask_dim: int = 256, num_queries: int = 100, encoder_layers: int = 6, decoder_layers: int = 9,
                 heads: int = 8, encoder_ffn_dim: int = 1024, decoder_ffn_dim: int = 2048,
                 predict_iou: bool = True, logit_scale: float | None = None, alignment_heads: int = 8,
                 num_points: int = 12544, memory_frames: int = 9, top_k: int = 5,
                 clip_ensemble: Sequence[float] | None = None):
        super().__init__(clip, templates)
        if classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier '{classifier}': use one of {', '.join(CLASSIFIERS)}")
        if tracking not in TRACKING:
            raise ValueError(f"unknown tracking '{tracking}': use one of {', '.join(TRACKING)}")
        if hidden_dim % 32:
            raise ValueError(f"hidden_dim must be a multiple of 32 (the pixel decoder's GroupNorm), got {hidden_dim}")
        if clip_ensemble is not None:
            if classifier != "alignment":
                raise ValueError("clip_ensemble combines an aligned classifier with mask-pooled CLIP: it needs "
                                 f"classifier='alignment', got '{classifier}' (mask pooling is CLIP alone already)")
            if len(clip_ensemble) != 2 or not all(0.0 <= float(w) <= 1.0 for w in clip_ensemble):
                raise ValueError(f"clip_ensemble must be (alpha, beta), CLIP's shares in [0, 1], got {clip_ensemble}")
            clip_ensemble = (float(clip_ensemble[0]), float(clip_ensemble[1]))
        self.clip_ensemble = clip_ensemble
        self.train_class_names: tuple[str, ...] = ()  # set from a checkpoint (see `seen_classes`)
        self.classifier_kind, self.tracking = classifier, tracking
        self.joint_frames, self.clip_frames = joint_frames, clip_frames
        self.memory_frames, self.top_k = memory_frames, top_k
        self.backbone = PyramidBackbone(clip, backbone=backbone, backbone_source=backbone_source, pyramid_dim=hidden_dim,
                                        dense_path=dense_path)
        self.pixel_decoder = PixelDecoder(hidden_dim, hidden_dim=hidden_dim, mask_dim=mask_dim, layers=encoder_layers,
                                          heads=heads, ffn_dim=encoder_ffn_dim)
        self.query_decoder = QueryDecoder(hidden_dim=hidden_dim, mask_dim=mask_dim, num_queries=num_queries,
                                          layers=decoder_layers, heads=heads, ffn_dim=decoder_ffn_dim)
        self.objectness = ObjectnessHead(hidden_dim)
        self.iou_head = MaskIoUHead(hidden_dim) if predict_iou else None
        if classifier == "alignment":
            self.alignment = EmbeddingAlignment(hidden_dim, clip.embed_dim, alignment_heads, logit_scale or 50.0)
            self.mask_pooling = None
            self.ensemble_pooling = MaskPooledClassifier(100.0) if clip_ensemble is not None else None
        else:
            self.alignment = None
            self.mask_pooling = MaskPooledClassifier(logit_scale or 100.0)
        self.criterion = InstanceCriterion(classification="sigmoid" if classifier == "alignment" else "objectness",
                                           iou_weight=2.0 if predict_iou else 0.0, num_points=num_points)

    @property
    def num_queries(self) -> int:
        return self.query_decoder.num_queries

    @property
    def frames_per_decode(self) -> int:
        """Frames decoded together at inference: `clip_frames` for joint decoding, else 1."""
        return self.clip_frames if self.joint_frames else 1

    def encode_frames(self, images: torch.Tensor) -> FrameFeatures:
        """(N, 3, H, W) RGB 0..255 -> per-frame features (dense and pooled CLIP embeddings, pyramid levels)."""
        return self.backbone(images, self.clip)

    def seen_classes(self, class_names: Sequence[str]) -> torch.Tensor:
        """(K,) bool: which of `class_names` the model was trained on (`train_class_names`, which `load_model`
        sets from the checkpoint; none for a model without one)."""
        seen = set(self.train_class_names)
        return torch.tensor([name in seen for name in class_names], dtype=torch.bool)

    def decode(self, features: FrameFeatures, frames: int = 1, text: torch.Tensor | None = None,
               all_stages: bool = False, seen: torch.Tensor | None = None) -> list[InstanceOutput]:
        """Decode B clips of `frames` frames each (features of B*T frames, each clip's consecutive) against the
        (K, P, D) text classifier (None: no class logits). Returns the final stage, or every stage (deep
        supervision) when `all_stages`. seen: (K,) bool, the classes of the training vocabulary, for
        `clip_ensemble` at inference (None: none of them)."""
        mask_features, memory = self.pixel_decoder(features.levels)
        decoded = self.query_decoder(memory, mask_features, frames)
        batch = mask_features.shape[0] // frames
        stages = range(len(decoded.queries)) if all_stages else [len(decoded.queries) - 1]
        outputs = []
        for s in stages:
            queries, masks = decoded.queries[s], decoded.masks[s]
            out = InstanceOutput(queries, masks, self.objectness(queries),
                                 self.iou_head(queries) if self.iou_head is not None else None)
            if text is not None and self.alignment is not None:
                pooled = features.pooled.view(batch, frames, -1)
                out.class_logits, out.background_logits = self.alignment(queries, pooled, text)
                if self.clip_ensemble is not None and not self.training and s == len(decoded.queries) - 1:
                    dense = features.clip.view(batch, frames, *features.clip.shape[1:])
                    alpha, beta = self.clip_ensemble
                    known = torch.zeros(text.shape[0], dtype=torch.bool) if seen is None else seen.bool().cpu()
                    share = torch.where(known, torch.tensor(alpha), torch.tensor(beta))
                    out.class_logits = geometric_ensemble(out.class_logits, self.ensemble_pooling(masks, dense, text),
                                                          share)
            elif text is not None and s == len(decoded.queries) - 1:
                dense = features.clip.view(batch, frames, *features.clip.shape[1:])
                out.class_logits = self.mask_pooling(masks, dense, text)
            outputs.append(out)
        return outputs

    def forward(self, frames: torch.Tensor, class_names: Sequence[str],
                targets: Sequence[InstanceTargets] | None = None) -> dict[str, Any]:
        """Clip mode. frames: (B, T, 3, H, W) RGB 0..255; targets: B clips' instances (labels index
        `class_names`). Decodes each clip jointly (`joint_frames`) or each frame alone. Returns the final
        stage's "masks" (B', Q, T', H/4, W/4), "objectness" (B', Q, 2) and "class_logits" (B', Q, K) when
        computed (B' = B, T' = T jointly; B' = B*T, T' = 1 per frame), plus the losses when targets are given."""
        batch, steps = frames.shape[:2]
        unit = steps if self.joint_frames else 1
        features = self.encode_frames(frames.flatten(0, 1))
        needs_text = self.alignment is not None or targets is None
        text = self.text_embeddings(class_names) if needs_text else None
        stages = self.decode(features, unit, text, all_stages=targets is not None, seen=self.seen_classes(class_names))
        final = stages[-1]
        result: dict[str, Any] = {"masks": final.masks, "objectness": final.objectness}
        if final.class_logits is not None:
            result["class_logits"] = final.class_logits
        if targets is not None:
            if not self.joint_frames:
                targets = per_frame_targets(targets)
            result.update(self.criterion(stages, [t.to(final.masks.device) for t in targets]))
        return result

    def batch_inputs(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        """A batch of `collate_instance_clips`: "frames" (B, T, 3, H, W), "labels" B x (N,) and "masks"
        B x (N, T, H, W) -> frames and B `InstanceTargets`."""
        frames = batch["frames"]
        if not isinstance(frames, torch.Tensor):
            raise TrainingError("instance training clips of one batch differ in size: crop them to one size "
                                "(data.crop_size) or use data.batch_size=1")
        targets = [InstanceTargets(labels, masks).to(device) for labels, masks in zip(batch["labels"], batch["masks"])]
        return {"frames": frames.to(device, non_blocking=True), "targets": targets}


def per_frame_targets(targets: Sequence[InstanceTargets]) -> list[InstanceTargets]:
    """B clips of T frames -> B*T one-frame targets (clip-major), keeping the instances visible in each frame."""
    out = []
    for target in targets:
        for t in range(target.masks.shape[1]):
            frame = target.masks[:, t : t + 1]
            visible = frame.flatten(1).any(1)
            out.append(InstanceTargets(target.labels[visible], frame[visible]))
    return out


def build_instance_model(clip: str, **options) -> InstanceSegmenter:
    """Build from a CLIP source (hub id, folder, file or random:<size>); keyword options are `InstanceSegmenter`'s."""
    return InstanceSegmenter(load_clip(clip), **options)


def build_clip_vis(clip: str, **options) -> InstanceSegmenter:
    """CLIP-VIS: class-agnostic per-frame decoding with a predicted IoU, mask-pooled CLIP classification,
    temporal top-K-enhanced matching (memory 9 frames, top 5)."""
    defaults = dict(classifier="mask_pooling", tracking="topk_matching", joint_frames=False, clip_frames=1,
                    predict_iou=True)
    return build_instance_model(clip, **{**defaults, **options})


def build_ovformer(clip: str, **options) -> InstanceSegmenter:
    """OVFormer: unified embedding alignment (sigmoid, background column) beside objectness, joint decoding of
    the frames of a clip, semi-online inference over 5-frame clips linked by query matching."""
    defaults = dict(classifier="alignment", tracking="clip_linking", joint_frames=True, clip_frames=5,
                    predict_iou=False)
    return build_instance_model(clip, **{**defaults, **options})

