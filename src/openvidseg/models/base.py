"""What the model families share. `OpenVocabularyModel` (every task: a CLIP, prompt templates, the text
classifier, parameter groups, how a training batch becomes forward arguments); `VideoSegmenter`, the
semantic interface, so trainers, evaluators and the streaming predictor work with any semantic model:

- `encode_frames(images)`: everything computed from one frame alone (cached per frame when streaming);
- `random_context(features)`: what a long-range frame contributes (cached while it stays the memory);
- `decode(target, refs, context, text, out_size)`: logits for the target frame;
- `forward(frames, class_names, ...)`: the training/clip-mode path built from the three above.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.clip import ClipModel
from openvidseg.data.classes import IGNORE_INDEX


def masked_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of (B, K, H, W) logits against (B, H, W) labels, summed over the labelled pixels
    (label != 255) and divided by max(1, their number): the mean over labelled pixels, and 0 (with a
    zero gradient) when every pixel is ignored, where the mean reduction of F.cross_entropy gives NaN."""
    total = F.cross_entropy(logits, labels, ignore_index=IGNORE_INDEX, reduction="sum")
    return total / (labels != IGNORE_INDEX).sum().clamp(min=1)


@dataclass
class FrameFeatures:
    """Per-frame features. clip: (B, D, h, w) dense CLIP embeddings; levels: L x (B, C, h', w')
    projected appearance features (empty for models without a backbone); pooled: (B, D) CLIP image
    embeddings (models that use them, else None)."""

    clip: torch.Tensor
    levels: tuple[torch.Tensor, ...] = ()
    pooled: torch.Tensor | None = None

    def __getitem__(self, index) -> FrameFeatures:
        """Select frames along the batch axis (an int keeps a batch axis of 1)."""
        index = slice(index, index + 1) if isinstance(index, int) else index
        pooled = self.pooled[index] if self.pooled is not None else None
        return FrameFeatures(self.clip[index], tuple(level[index] for level in self.levels), pooled)

    @staticmethod
    def cat(items: Sequence[FrameFeatures]) -> FrameFeatures:
        """Concatenate along the batch axis."""
        levels = tuple(torch.cat(group) for group in zip(*(f.levels for f in items))) if items[0].levels else ()
        pooled = torch.cat([f.pooled for f in items]) if items[0].pooled is not None else None
        return FrameFeatures(torch.cat([f.clip for f in items]), levels, pooled)

    def nbytes(self) -> int:
        extra = () if self.pooled is None else (self.pooled,)
        return sum(t.numel() * t.element_size() for t in (self.clip, *self.levels, *extra))


@dataclass
class SegmentationOutput:
    """logits: (B, K, H, W) per-class scores at the requested output size; aux_logits: (B, K, h, w)
    from the auxiliary head (training only)."""

    logits: torch.Tensor
    aux_logits: torch.Tensor | None = None


class OpenVocabularyModel(nn.Module):
    """Base class of every model family (semantic, instance, audio-visual): a CLIP (`clip`, its text side
    classifies), prompt `templates`, and `ref_offsets` (reference frames a training clip holds, relative to
    its target; empty for models that take whole clips)."""

    task: str = "semantic"  # semantic | instance | audio-visual: which data, metric and predictor it goes with
    ref_offsets: tuple[int, ...] = ()
    uses_random_frame: bool = False  # a long-range ("random") frame in training clips (semantic RFE models)
    native_output: bool = False  # decode(..., out_size=None) returns logits at the model's own output grid
    # attribute prefixes of modules trained at the backbone learning rate (the rest is "head")
    backbone_prefixes: tuple[str, ...] = ("clip.", "backbone.")

    def __init__(self, clip: ClipModel, templates: str | Sequence[str]):
        super().__init__()
        self.clip = clip
        self.templates = templates

    @property
    def device(self) -> torch.device:
        return self.clip.device

    def text_embeddings(self, class_names: Sequence[str]) -> torch.Tensor:
        """(K, P, D) L2-normalised text classifier of the vocabulary (cached by the CLIP wrapper)."""
        return self.clip.text_classifier(class_names, self.templates).float()

    def batch_inputs(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        """The keyword arguments of `forward` (besides `class_names`) for one collated training batch."""
        raise NotImplementedError

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters split into "backbone" (CLIP, appearance backbone) and "head" (the rest)."""
        groups: dict[str, list[nn.Parameter]] = {"backbone": [], "head": []}
        for name, param in self.named_parameters():
            if param.requires_grad:
                groups["backbone" if name.startswith(self.backbone_prefixes) else "head"].append(param)
        return groups

    def push_to_hub(self, repo_id: str, **options) -> str:
        """Upload model.safetensors, model.json and a generated model card to hub repository `repo_id` (created
        when missing); returns the commit URL. Options: evaluations, private, token, commit_message (see
        `openvidseg.models.publish.push_to_hub`). Load it back with `openvidseg.load_model(repo_id)`."""
        from openvidseg.models.publish import push_to_hub

        return push_to_hub(self, repo_id, **options)


class VideoSegmenter(OpenVocabularyModel):
    """Base class of the semantic model families. Subclasses implement `encode_frames` and `decode`; temporal
    models set `ref_offsets` (e.g. (-9, -6, -3)) and `uses_random_frame`."""

    temporal_smoothing: float = 0.0  # default for the streaming predictor's logit smoothing

    def batch_inputs(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        """"frames" (B, T, 3, H, W), "label" (B, H, W) and, for models that use it, "random_frame" (B, 3, H, W)."""
        random_frame = batch.get("random_frame") if self.uses_random_frame else None
        return {"frames": batch["frames"].to(device, non_blocking=True),
                "labels": batch["label"].to(device, non_blocking=True),
                "random_frame": None if random_frame is None else random_frame.to(device, non_blocking=True)}

    def encode_frames(self, images: torch.Tensor) -> FrameFeatures:
        """(N, 3, H, W) RGB 0..255 (uint8 or float) -> per-frame features."""
        raise NotImplementedError

    def random_context(self, features: FrameFeatures) -> torch.Tensor | None:
        """Context of a long-range ("random") frame, or None for models that do not use one."""
        return None

    def decode(
        self,
        target: FrameFeatures,
        refs: Sequence[FrameFeatures],
        context: torch.Tensor | None,
        text: torch.Tensor,
        out_size: tuple[int, int] | None,
    ) -> SegmentationOutput:
        """Logits for the target frame from its features, its references' (oldest first), the random
        frame's context and the (K, P, D) text classifier, at `out_size` (models with `native_output`: at
        their own output grid when out_size is None)."""
        raise NotImplementedError

    def forward(
        self,
        frames: torch.Tensor,
        class_names: Sequence[str],
        random_frame: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Clip mode. frames: (B, T, 3, H, W), references oldest first and the target last; random_frame:
        (B, 3, H, W); labels: (B, H, W) target labels in vocabulary indices (255 = ignore).
        Returns {"logits": (B, K, H, W)} plus "loss", "loss_ce" (and "loss_aux") when labels are given."""
        if not self.ref_offsets:  # a per-frame model reads the target only
            frames = frames[:, -1:]
        batch, steps = frames.shape[:2]
        images = frames.flatten(0, 1)
        use_random = random_frame is not None and self.uses_random_frame
        if use_random:
            images = torch.cat([images, random_frame])
        features = self.encode_frames(images)
        per_step = [features[torch.arange(batch, device=images.device) * steps + s] for s in range(steps)]
        context = self.random_context(features[batch * steps :]) if use_random else None
        out = self.decode(per_step[-1], per_step[:-1], context, self.text_embeddings(class_names), frames.shape[-2:])
        result = {"logits": out.logits}
        if labels is not None:
            result.update(self.losses(out, labels))
        return result

    def losses(self, output: SegmentationOutput, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cross-entropy over the vocabulary (ignore 255), plus the weighted auxiliary loss if present;
        each averaged over the labelled pixels, so a crop without any gives 0 loss and 0 gradient."""
        labels = labels.long()
        ce = masked_cross_entropy(output.logits.float(), labels)
        losses = {"loss_ce": ce}
        total = ce
        aux_weight = getattr(self, "aux_weight", 0.0)
        if output.aux_logits is not None and aux_weight > 0:
            aux = F.interpolate(output.aux_logits.float(), size=labels.shape[-2:], mode="bilinear", align_corners=False)
            losses["loss_aux"] = masked_cross_entropy(aux, labels)
            total = total + aux_weight * losses["loss_aux"]
        losses["loss"] = total
        return losses
