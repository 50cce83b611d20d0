"""Open-vocabulary classification of mask proposals by CLIP re-encoding of their crops (OV-AVSS, after
OVSeg): each query's mask in each frame cuts a square crop around the mask's box from the frame, pixels
outside the mask set to CLIP's mean colour; CLIP encodes the crops, compares them with the class names
(cosine x `logit_scale`, softmax over the classes) and the probabilities are averaged over the frames where
the mask is not empty.

`embedding="pooled"` reads CLIP's image embedding (its class token, as released CLIPs are trained);
`"best_patch"` the crop's best-matching projected patch token (the rule the demo world's tiny CLIP is
pretrained with).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from openvidseg.clip import ClipModel
from openvidseg.errors import InputError

EMBEDDINGS = ("pooled", "best_patch")


def square_box(mask: torch.Tensor, margin: float = 0.1) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of a square around a non-empty (H, W) mask's box, `margin` of its side added around,
    clipped to the frame."""
    rows, cols = torch.nonzero(mask.any(1)).flatten(), torch.nonzero(mask.any(0)).flatten()
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    side = int(round(max(y1 - y0, x1 - x0) * (1 + 2 * margin)))
    cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
    height, width = mask.shape
    top, left = int(round(cy - side / 2)), int(round(cx - side / 2))
    return max(top, 0), min(top + side, height), max(left, 0), min(left + side, width)


class MaskCropClassifier(nn.Module):
    """frames (T, 3, H, W) RGB 0..255, masks (Q, T, H, W) bool, text (K, P, D) -> class probabilities (Q, K)
    averaged over the frames each query's mask covers (a query with no mask in any frame: zeros)."""

    def __init__(self, crop_size: int = 224, logit_scale: float = 100.0, embedding: str = "pooled",
                 margin: float = 0.1) -> None:
        super().__init__()
        if embedding not in EMBEDDINGS:
            raise InputError(f"unknown crop embedding '{embedding}': use one of {', '.join(EMBEDDINGS)}")
        self.crop_size, self.logit_scale, self.embedding, self.margin = crop_size, logit_scale, embedding, margin

    def crops(self, clip: ClipModel, frames: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """(N, 3, S, S) CLIP-normalised crops of every non-empty (query, frame) mask and their (query, frame)."""
        mean = clip.pixel_mean.reshape(3, 1, 1).to(frames.device, torch.float32)
        out, where = [], []
        for q, t in torch.nonzero(masks.flatten(2).any(-1)).tolist():
            y0, y1, x0, x1 = square_box(masks[q, t], self.margin)
            region = frames[t, :, y0:y1, x0:x1].float()
            inside = masks[q, t, y0:y1, x0:x1]
            region = torch.where(inside, region, mean)
            side = max(y1 - y0, x1 - x0)  # pad to a square (a box clipped at the frame's border)
            region = F.pad(region - mean, (0, side - (x1 - x0), 0, side - (y1 - y0))) + mean
            out.append(F.interpolate(region[None], size=(self.crop_size,) * 2, mode="bilinear", align_corners=False))
            where.append((q, t))
        if not out:
            return frames.new_zeros(0, 3, self.crop_size, self.crop_size, dtype=torch.float32), where
        return clip.preprocess(torch.cat(out)), where

    def encode(self, clip: ClipModel, pixels: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) crops and (K, D) normalised class embeddings -> (N, K) cosine similarities."""
        if self.embedding == "pooled":
            tokens, _ = clip.forward_tokens(pixels)
            image = F.normalize(clip.project_tokens(tokens[:, 0]).float(), dim=-1)
            return image @ text.T
        dense = clip.dense_features(pixels).embeddings  # (N, D, s, s)
        patches = F.normalize(dense.flatten(2).transpose(1, 2).float(), dim=-1)
        return torch.einsum("nsd,kd->nsk", patches, text).amax(dim=1)

    @torch.no_grad()
    def forward(self, clip: ClipModel, frames: torch.Tensor, masks: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        if masks.shape[1:] != (frames.shape[0], *frames.shape[-2:]):
            raise InputError(f"masks {tuple(masks.shape)} do not fit frames {tuple(frames.shape)}")
        queries, classes = masks.shape[0], text.shape[0]
        pixels, where = self.crops(clip, frames, masks)
        probs = torch.zeros(queries, classes, device=frames.device)
        if not where:
            return probs
        classifier = F.normalize(text.float().mean(dim=1), dim=-1)  # templates averaged per class
        logits = self.logit_scale * self.encode(clip, pixels, classifier)
        counts = torch.zeros(queries, device=frames.device)
        for (q, _), p in zip(where, logits.softmax(dim=-1)):
            probs[q] += p.to(probs.device)
            counts[q] += 1
        return probs / counts.clamp(min=1)[:, None]
