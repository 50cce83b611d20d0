"""The two open-vocabulary classification schemes of the instance models.

- `MaskPooledClassifier` (CLIP-VIS): CLIP's dense embeddings are pooled inside each query's mask and compared
  with the text embeddings (cosine x 100, softmax over the vocabulary). No parameters: the class-agnostic model
  is trained without it.
- `EmbeddingAlignment` (OVFormer): each query is mapped into CLIP's embedding space (MLP), attends to the clip's
  per-frame CLIP image embeddings, and is compared with the text embeddings (cosine x 50) plus a learned
  background embedding; trained with sigmoid BCE.
- `geometric_ensemble` (ours for OVFormer, FC-CLIP's inference): at inference, the trained classifier's class
  probabilities are combined with the mask-pooled frozen CLIP's, class by class, as a weighted geometric mean.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from openvidseg.models.layers import Attention, Mlp


def class_embeddings(text: torch.Tensor) -> torch.Tensor:
    """(K, P, D) per-template text embeddings -> (K, D): the template average, L2-normalised ((K, D) passes)."""
    return F.normalize(text.mean(dim=-2) if text.dim() == 3 else text, dim=-1)


def mask_pooled_embeddings(mask_logits: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    """mask_logits (B, Q, T, H, W), dense (B, T, D, h, w) -> (B, Q, D) L2-normalised means of the dense embeddings
    inside each mask (probability > 0.5 at the dense grid, over the T frames; the soft probabilities where a
    mask is empty there)."""
    batch, queries, frames = mask_logits.shape[:3]
    grid = dense.shape[-2:]
    probs = F.interpolate(mask_logits.float().flatten(0, 2).unsqueeze(1), size=grid, mode="bilinear",
                          align_corners=False).view(batch, queries, frames, *grid).sigmoid()
    hard = (probs > 0.5).float()
    empty = hard.flatten(2).sum(-1) == 0  # (B, Q)
    weights = torch.where(empty[..., None, None, None], probs, hard)
    pooled = torch.einsum("bqthw,btdhw->bqd", weights, dense.float())
    return F.normalize(pooled / weights.flatten(2).sum(-1, keepdim=True).clamp_min(1e-6), dim=-1)


class MaskPooledClassifier(nn.Module):
    """mask_logits (B, Q, T, H, W), dense CLIP embeddings (B, T, D, h, w), text (K, P, D) or (K, D) ->
    (B, Q, K) logits = logit_scale x cosine (softmax them for class probabilities)."""

    def __init__(self, logit_scale: float = 100.0):
        super().__init__()
        self.logit_scale = logit_scale

    def forward(self, mask_logits: torch.Tensor, dense: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        pooled = mask_pooled_embeddings(mask_logits, dense)
        return self.logit_scale * pooled @ class_embeddings(text).to(pooled.dtype).T


class EmbeddingAlignment(nn.Module):
    """queries (B, Q, C), per-frame CLIP image embeddings (B, T, D), text (K, P, D) or (K, D) ->
    (class logits (B, Q, K), background logits (B, Q)), each logit_scale x cosine. The query embedding is
    MLP(C -> C -> D), plus cross-attention (`heads` heads) to the T image embeddings, L2-normalised."""

    def __init__(self, hidden_dim: int, embed_dim: int, heads: int = 8, logit_scale: float = 50.0):
        super().__init__()
        self.project = Mlp(hidden_dim, hidden_dim, embed_dim)
        self.attention = Attention(embed_dim, heads)
        self.norm = nn.LayerNorm(embed_dim)
        self.background = nn.Parameter(torch.randn(embed_dim) * embed_dim ** -0.5)
        self.logit_scale = logit_scale

    def embed(self, queries: torch.Tensor, image_embeddings: torch.Tensor) -> torch.Tensor:
        """(B, Q, C), (B, T, D) -> (B, Q, D) L2-normalised query embeddings in CLIP's space."""
        x = self.project(queries)
        x = x + self.attention(self.norm(x), image_embeddings.to(x.dtype))
        return F.normalize(x, dim=-1)

    def forward(self, queries: torch.Tensor, image_embeddings: torch.Tensor,
                text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.embed(queries, image_embeddings)
        logits = self.logit_scale * x @ class_embeddings(text).to(x.dtype).T
        background = self.logit_scale * x @ F.normalize(self.background, dim=0).to(x.dtype)
        return logits, background


def geometric_ensemble(learned_logits: torch.Tensor, clip_logits: torch.Tensor, clip_share: torch.Tensor) -> torch.Tensor:
    """FC-CLIP's geometric ensemble of a trained classifier with the frozen CLIP: learned_logits (..., K) sigmoid
    logits (OVFormer's), clip_logits (..., K) mask-pooled CLIP logits (softmax over the K classes), clip_share (K,)
    CLIP's weight w per class in [0, 1] -> (..., K) logits whose sigmoid is p_learned^(1 - w) x p_clip^w."""
    share = clip_share.to(learned_logits.device, torch.float32)
    log_p = (1 - share) * F.logsigmoid(learned_logits.float()) + share * clip_logits.float().log_softmax(-1)
    log_p = log_p.clamp(max=-1e-6)  # p < 1: a finite logit
    return log_p - torch.log(-torch.expm1(log_p))  # log p - log(1 - p)
