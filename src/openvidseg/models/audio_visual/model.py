"""`AudioVisualSegmenter`: OV-AVSS (open-vocabulary audio-visual semantic segmentation) on the instance stack.

frozen CLIP -> simple feature pyramid (strides 4-32) -> bi-directional audio-visual attention with the clip's
audio tokens (universal sound-source localisation) -> pixel decoder (deformable attention) -> masked-attention
query decoder over the T frames of a clip jointly, its queries reading the audio tokens -> class-agnostic
"sounding object" queries (objectness and a mask per frame). Classes come from CLIP re-encoding each kept
query's mask crops against the class names; the best are painted into a semantic map.

Training is class-agnostic (Hungarian matching, objectness cross-entropy, mask BCE and dice: the instance
criterion): a clip's targets are its sounding classes, each a mask per frame (empty where it is silent).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from openvidseg.clip import ClipModel, load_clip
from openvidseg.data.classes import IGNORE_INDEX
from openvidseg.models.audio.encoder import load_audio_encoder
from openvidseg.models.audio_visual.audio_tokens import AudioTokens
from openvidseg.models.audio_visual.crop_classifier import MaskCropClassifier
from openvidseg.models.audio_visual.fusion import AudioVisualBiAttention, fuse_pyramid
from openvidseg.models.audio_visual.painting import SoundingObjects, select_objects
from openvidseg.models.audio_visual.query_decoder import AudioQueryDecoder
from openvidseg.models.base import FrameFeatures, OpenVocabularyModel
from openvidseg.models.instance.backbone import PyramidBackbone
from openvidseg.models.instance.criterion import InstanceCriterion
from openvidseg.models.instance.heads import ObjectnessHead
from openvidseg.models.instance.pixel_decoder import PixelDecoder
from openvidseg.models.instance.structures import InstanceOutput, InstanceTargets


def sounding_targets(labels: torch.Tensor) -> InstanceTargets:
    """(T, H, W) labels of a clip (0 background, 1..S classes, 255 not scored) -> one target per class that
    sounds in any frame: labels (N,) = class - 1, masks (N, T, H, W) where it sounds (unscored pixels: not)."""
    present = [int(c) for c in labels.unique() if 0 < int(c) != IGNORE_INDEX]
    masks = torch.stack([labels == c for c in present]) if present else labels.new_zeros(0, *labels.shape, dtype=torch.bool)
    return InstanceTargets(torch.tensor([c - 1 for c in present], dtype=torch.int64, device=labels.device), masks)


class AudioVisualSegmenter(OpenVocabularyModel):
    """See the module docstring. Audio: `audio_encoder` (a `load_audio_encoder` source; kept frozen unless
    `train_audio`). Sizes: `hidden_dim` (a multiple of 32), `mask_dim`, `num_queries`, `encoder_layers`,
    `decoder_layers`, `heads`; the fusion block's `fusion_dim` and `fusion_heads`. Clips: `clip_frames` frames
    decoded jointly. Classification: `crop_size`, `crop_embedding` (pooled | best_patch), `logit_scale`;
    painting: the best `top_k` queries above `threshold`."""

    task = "audio-visual"
    backbone_prefixes = ("clip.", "backbone.appearance.", "audio.encoder.")

    def __init__(self, clip: ClipModel, *, audio_encoder: str = "random:vggish", train_audio: bool = False,
                 templates: str = "vild14", backbone: str = "clip", backbone_source: str | None = None,
                 hidden_dim: int = 256, mask_dim: int = 256, num_queries: int = 100, encoder_layers: int = 6,
                 decoder_layers: int = 9, heads: int = 8, encoder_ffn_dim: int = 1024, decoder_ffn_dim: int = 2048,
                 fusion_dim: int = 1024, fusion_heads: int = 8, clip_frames: int = 5, num_points: int = 12544,
                 crop_size: int = 224, crop_embedding: str = "pooled", logit_scale: float = 100.0, top_k: int = 10,
                 threshold: float = 0.3) -> None:
        super().__init__(clip, templates)
        if hidden_dim % 32:
            raise ValueError(f"hidden_dim must be a multiple of 32 (the pixel decoder's GroupNorm), got {hidden_dim}")
        self.clip_frames, self.top_k, self.threshold = clip_frames, top_k, threshold
        self.backbone = PyramidBackbone(clip, backbone=backbone, backbone_source=backbone_source, pyramid_dim=hidden_dim)
        self.audio = AudioTokens(load_audio_encoder(audio_encoder), hidden_dim, max_frames=max(clip_frames, 16),
                                 train_encoder=train_audio)
        self.fusion = AudioVisualBiAttention(hidden_dim, hidden_dim, inner_dim=fusion_dim, heads=fusion_heads,
                                             max_frames=max(clip_frames, 16))
        self.pixel_decoder = PixelDecoder(hidden_dim, hidden_dim=hidden_dim, mask_dim=mask_dim, layers=encoder_layers,
                                          heads=heads, ffn_dim=encoder_ffn_dim)
        self.query_decoder = AudioQueryDecoder(hidden_dim=hidden_dim, mask_dim=mask_dim, num_queries=num_queries,
                                               layers=decoder_layers, heads=heads, ffn_dim=decoder_ffn_dim)
        self.objectness = ObjectnessHead(hidden_dim)
        self.criterion = InstanceCriterion(classification="objectness", iou_weight=0.0, num_points=num_points)
        self.crop_classifier = MaskCropClassifier(crop_size, logit_scale, crop_embedding)

    @property
    def audio_sample_rate(self) -> int:
        return self.audio.encoder.sample_rate

    @property
    def audio_window(self) -> float:
        """Seconds of sound each frame's window holds for the audio encoder."""
        return self.audio.encoder.window_seconds

    def encode_frames(self, images: torch.Tensor) -> FrameFeatures:
        """(N, 3, H, W) RGB 0..255 -> per-frame features (dense CLIP embeddings, pyramid levels)."""
        return self.backbone(images, self.clip)

    def decode(self, features: FrameFeatures, audio: torch.Tensor, frames: int,
               all_stages: bool = False) -> list[InstanceOutput]:
        """Decode B clips of `frames` frames (features of B*T frames, each clip's consecutive) with their
        audio windows (B, T, L); the final stage, or every stage (deep supervision) when `all_stages`."""
        tokens, positions = self.audio(audio)
        levels, tokens = fuse_pyramid(self.fusion, list(features.levels), tokens, frames)
        mask_features, memory = self.pixel_decoder(levels)
        decoded = self.query_decoder(memory, mask_features, frames, tokens, positions)
        stages = range(len(decoded.queries)) if all_stages else [len(decoded.queries) - 1]
        return [InstanceOutput(decoded.queries[s], decoded.masks[s], self.objectness(decoded.queries[s])) for s in stages]

    def forward(self, frames: torch.Tensor, audio: torch.Tensor, class_names: Sequence[str] = (),
                targets: Sequence[InstanceTargets] | None = None) -> dict[str, Any]:
        """Clip mode. frames (B, T, 3, H, W) RGB 0..255, audio (B, T, L) each frame's window; targets: B clips'
        sounding objects (class-agnostic: their labels are not used). Returns the final stage's "masks"
        (B, Q, T, H/4, W/4) and "objectness" (B, Q, 2), plus the losses when targets are given."""
        batch, steps = frames.shape[:2]
        features = self.encode_frames(frames.flatten(0, 1))
        stages = self.decode(features, audio, steps, all_stages=targets is not None)
        result: dict[str, Any] = {"masks": stages[-1].masks, "objectness": stages[-1].objectness}
        if targets is not None:
            result.update(self.criterion(stages, [t.to(stages[-1].masks.device) for t in targets]))
        return result

    def batch_inputs(self, batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
        """"frames" (B, T, 3, H, W), "audio" (B, T, L) and the sounding targets of a collated AVSBench batch."""
        return {"frames": batch["frames"].to(device, non_blocking=True),
                "audio": batch["audio"].to(device, non_blocking=True),
                "targets": [sounding_targets(labels.to(device, non_blocking=True)) for labels in batch["labels"]]}

    @torch.no_grad()
    def sounding_objects(self, frames: torch.Tensor, audio: torch.Tensor, class_names: Sequence[str], *,
                         top_k: int | None = None, threshold: float | None = None,
                         text: torch.Tensor | None = None) -> SoundingObjects:
        """One clip: frames (T, 3, H, W) RGB 0..255 and audio (T, L) -> its sounding objects (masks at (H, W)),
        classes indexing `class_names` (or the (K, P, D) `text` classifier given instead)."""
        top_k = self.top_k if top_k is None else top_k
        threshold = self.threshold if threshold is None else threshold
        steps, height, width = frames.shape[0], *frames.shape[-2:]
        final = self.decode(self.encode_frames(frames), audio[None].float(), steps)[-1]
        sounding = final.object_probability[0]  # (Q,)
        keep = sounding.argsort(descending=True)[:top_k]
        logits = F.interpolate(final.masks[0, keep].float().flatten(0, 1)[:, None], size=(height, width),
                               mode="bilinear", align_corners=False)
        masks = (logits > 0).view(len(keep), steps, height, width)
        text = self.text_embeddings(class_names) if text is None else text
        probs = self.crop_classifier(self.clip, frames, masks, text)
        return select_objects(masks, sounding[keep], probs, top_k=top_k, threshold=threshold)


def build_ov_avss(clip: str, **options) -> AudioVisualSegmenter:
    """Build from a CLIP source (hub id, folder, file or random:<size>); keyword options are `AudioVisualSegmenter`'s."""
    return AudioVisualSegmenter(load_clip(clip), **options)
