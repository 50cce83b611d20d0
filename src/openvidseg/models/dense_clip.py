"""Training-free dense CLIP segmentation (the `dense_clip` baseline): needs nothing but CLIP weights.

CLIP's last block is replaced by self-self attention with no residual and no feed-forward branch
(as MaskCLIP, ClearCLIP and SCLIP do for dense prediction). A frame is either covered by windows at
CLIP's native input size, whose dense embeddings are stitched (averaged where windows overlap), or seen
whole in one pass with the position embeddings interpolated to its grid (`single_pass`); the dense
embeddings are compared with the text classifier (cosine, averaged over templates).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from openvidseg.clip import ClipModel, load_clip
from openvidseg.models.base import FrameFeatures, SegmentationOutput, VideoSegmenter

ATTENTION_MODES = ("qq", "kk", "vv", "qq+kk", "standard")


class DenseClip(VideoSegmenter):
    """short_side: frames are resized to this short side (long side to a patch multiple) before windowing;
    window/stride: in pixels (default: CLIP's native size and half of it); single_pass: no windows, the
    whole resized frame goes through CLIP once (position embeddings interpolated to its grid);
    window_batch: windows per CLIP forward (0 = all windows of all frames in one batch; the result is
    the same, only speed and memory change); attention: which self-self attention the last block uses;
    temporal_smoothing: default exponential smoothing of class probabilities over frames in the
    streaming predictor (0 = none)."""

    def __init__(self, clip: ClipModel, *, templates: str = "imagenet80", short_side: int = 448,
                 window: int | None = None, stride: int | None = None, single_pass: bool = False,
                 window_batch: int = 0, attention: str = "qq", logit_scale: float = 50.0,
                 temporal_smoothing: float = 0.0):
        super().__init__(clip, templates)
        if attention not in ATTENTION_MODES:
            raise ValueError(f"unknown attention '{attention}': use one of {', '.join(ATTENTION_MODES)}")
        self.short_side = short_side
        self.window = window or clip.image_size
        self.stride = stride or self.window // 2
        if self.window % clip.patch_size or self.stride % clip.patch_size:
            raise ValueError(f"window and stride must be multiples of the patch size {clip.patch_size}")
        if window_batch < 0:
            raise ValueError(f"window_batch {window_batch}: use 0 (all windows at once) or a number of windows >= 1")
        self.single_pass = single_pass
        self.window_batch = window_batch
        self.attention = attention
        self.logit_scale = logit_scale
        self.temporal_smoothing = temporal_smoothing

    def _last_block(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLIP's last block with self-self attention and no residual/FFN: (B, N, C) -> (B, N, C)."""
        block = self.clip.model.vision_model.encoder.layers[-1]
        attn = block.self_attn
        x = block.layer_norm1(tokens)
        heads = attn.num_heads
        split = lambda t: t.unflatten(-1, (heads, -1)).transpose(1, 2)  # noqa: E731  (B, heads, N, C/heads)
        q, k, v = split(attn.q_proj(x)), split(attn.k_proj(x)), split(attn.v_proj(x))
        if self.attention == "vv":
            out = F.scaled_dot_product_attention(v, v, v)
        elif self.attention == "qq+kk":
            out = F.scaled_dot_product_attention(q, q, v) + F.scaled_dot_product_attention(k, k, v)
        else:
            same = q if self.attention == "qq" else k
            out = F.scaled_dot_product_attention(same, same, v)
        return attn.out_proj(out.transpose(1, 2).flatten(2))

    def _window_embeddings(self, pixels: torch.Tensor) -> torch.Tensor:
        """CLIP-normalised windows or frames (N, 3, h, w) -> normalised dense embeddings (N, D, h/p, w/p)."""
        if self.attention == "standard":
            tokens, _ = self.clip.forward_tokens(pixels)
        else:
            tokens, _ = self.clip.forward_tokens(pixels, stop_after=self.clip.num_layers - 1)
            tokens = self._last_block(tokens)
        dense = self.clip.project_tokens(tokens[:, 1:])
        grid = (pixels.shape[-2] // self.clip.patch_size, pixels.shape[-1] // self.clip.patch_size)
        return F.normalize(dense, dim=-1).transpose(1, 2).reshape(pixels.shape[0], -1, *grid)

    def _batched_embeddings(self, crops: torch.Tensor) -> torch.Tensor:
        """`_window_embeddings` over (N, 3, h, w), `window_batch` crops at a time -> (N, D, h/p, w/p) float32."""
        step = self.window_batch or crops.shape[0]
        return torch.cat([self._window_embeddings(crops[i : i + step]).float() for i in range(0, crops.shape[0], step)])

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """The resized frame size: short side = short_side, both sides multiples of the patch and, with
        windows, at least the window."""
        patch, scale = self.clip.patch_size, self.short_side / min(height, width)
        least = patch if self.single_pass else self.window
        return tuple(max(least, round(s * scale / patch) * patch) for s in (height, width))

    def num_windows(self, height: int, width: int) -> int:
        """CLIP forwards per frame of size (H, W): the windows covering it (1 with `single_pass`)."""
        return len(self._window_boxes(self.working_size(height, width)))

    def _window_boxes(self, size: tuple[int, int]) -> list[tuple[int, int]]:
        """(top, left) of the windows covering a working-size frame, row by row."""
        if self.single_pass:
            return [(0, 0)]
        win, stride = self.window, self.stride
        tops = sorted({*range(0, size[0] - win + 1, stride), size[0] - win})
        lefts = sorted({*range(0, size[1] - win + 1, stride), size[1] - win})
        return [(top, left) for top in tops for left in lefts]

    @torch.no_grad()
    def encode_frames(self, images: torch.Tensor) -> FrameFeatures:
        size = self.working_size(*images.shape[-2:])
        pixels = self.clip.preprocess(images, size)
        if self.single_pass:
            return FrameFeatures(self._batched_embeddings(pixels))
        patch, win = self.clip.patch_size, self.window
        grid = (size[0] // patch, size[1] // patch)
        total = pixels.new_zeros(images.shape[0], self.clip.embed_dim, *grid, dtype=torch.float32)
        count = pixels.new_zeros(1, 1, *grid, dtype=torch.float32)
        boxes = self._window_boxes(size)
        crops = torch.cat([pixels[:, :, top : top + win, left : left + win] for top, left in boxes])
        embeddings = self._batched_embeddings(crops).unflatten(0, (len(boxes), images.shape[0]))
        g = win // patch
        for (top, left), emb in zip(boxes, embeddings):
            total[:, :, top // patch : top // patch + g, left // patch : left // patch + g] += emb
            count[:, :, top // patch : top // patch + g, left // patch : left // patch + g] += 1
        return FrameFeatures(F.normalize(total / count, dim=1))

    def decode(self, target, refs, context, text, out_size) -> SegmentationOutput:
        classes = F.normalize(F.normalize(text, dim=-1).mean(dim=-2), dim=-1)  # (K, D)
        logits = self.logit_scale * torch.einsum("bdhw,kd->bkhw", target.clip, classes)
        return SegmentationOutput(F.interpolate(logits, size=tuple(out_size), mode="bilinear", align_corners=False))


def build_dense_clip(clip: str, **options) -> DenseClip:
    """Build the training-free model from a CLIP source; keyword options are `DenseClip` arguments."""
    return DenseClip(load_clip(clip), **options)
