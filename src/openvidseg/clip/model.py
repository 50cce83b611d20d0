"""`ClipModel`: a frozen-by-default wrapper over a `transformers.CLIPModel` giving what segmentation needs:
dense image embeddings at any input size, intermediate-layer features, and a cached text classifier.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import CLIPModel, PreTrainedTokenizerBase

from openvidseg.clip.templates import load_templates
from openvidseg.errors import InputError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
TEXT_CACHE_SIZE = 8  # vocabularies kept per model
DENSE_PATHS = ("standard", "value")  # how the last block runs for dense features (see `dense_features`)


@dataclass
class DenseFeatures:
    """embeddings: (B, D, h, w) patch tokens through the final LayerNorm and visual projection;
    layers: one (B, C, h, w) map of residual-stream patch tokens per requested layer (C = vision width)."""

    embeddings: torch.Tensor
    layers: tuple[torch.Tensor, ...] = ()


class ClipModel(nn.Module):
    """CLIP image and text encoders for dense prediction. Frozen by default; see `set_trainable`."""

    def __init__(self, model: CLIPModel, tokenizer: PreTrainedTokenizerBase, name: str):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.register_buffer("pixel_mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1) * 255, persistent=False)
        self.register_buffer("pixel_std", torch.tensor(CLIP_STD).view(1, 3, 1, 1) * 255, persistent=False)
        self._text_cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._position_cache: dict[tuple, torch.Tensor] = {}
        self.requires_grad_(False)
        self.register_load_state_dict_post_hook(lambda module, _: module.clear_caches())

    # -- facts about the model -------------------------------------------------------------------
    @property
    def embed_dim(self) -> int:
        """D: the joint image-text embedding size."""
        return self.model.config.projection_dim

    @property
    def width(self) -> int:
        """C: the vision transformer's hidden size (channels of intermediate-layer features)."""
        return self.model.config.vision_config.hidden_size

    @property
    def patch_size(self) -> int:
        return self.model.config.vision_config.patch_size

    @property
    def image_size(self) -> int:
        """The input size the position embeddings were trained at."""
        return self.model.config.vision_config.image_size

    @property
    def num_layers(self) -> int:
        return self.model.config.vision_config.num_hidden_layers

    @property
    def dtype(self) -> torch.dtype:
        return self.model.visual_projection.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.model.visual_projection.weight.device

    def clear_caches(self) -> None:
        """Forget cached text classifiers and interpolated position embeddings (after a weight change)."""
        self._text_cache.clear()
        self._position_cache.clear()

    def set_trainable(self, mode: str = "none") -> None:
        """'none': everything frozen; 'attention': the image encoder's attention projections and its
        position embeddings train (CAT-Seg's fine-tuning). The text encoder always stays frozen, so text
        caches stay valid."""
        if mode not in ("none", "attention"):
            raise InputError(f"unknown CLIP fine-tuning mode '{mode}': use 'none' or 'attention'")
        self.requires_grad_(False)
        if mode == "attention":
            vision = self.model.vision_model
            vision.embeddings.position_embedding.requires_grad_(True)
            for layer in vision.encoder.layers:
                layer.self_attn.requires_grad_(True)

    # -- image side ------------------------------------------------------------------------------
    def preprocess(self, images: torch.Tensor, size: int | tuple[int, int] | None = None) -> torch.Tensor:
        """(B, 3, H, W) RGB in 0..255 (uint8 or float) -> CLIP-normalised pixels, resized to `size`."""
        x = images.to(device=self.device, dtype=torch.float32)
        if size is not None:
            size = (size, size) if isinstance(size, int) else tuple(size)
            if tuple(x.shape[-2:]) != size:
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
        return ((x - self.pixel_mean) / self.pixel_std).to(self.dtype)

    def position_embedding(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """(1, 1 + grid_h * grid_w, C) position embeddings, bicubically interpolated from the trained grid."""
        table = self.model.vision_model.embeddings.position_embedding.weight
        side = math.isqrt(table.shape[0] - 1)
        if (grid_h, grid_w) == (side, side):
            return table.unsqueeze(0)
        key = (grid_h, grid_w, table.dtype, table.device, table.data_ptr(), table._version)
        cached = self._position_cache.get(key)
        if cached is None or table.requires_grad:
            with torch.inference_mode(False):  # cacheable under inference_mode and usable in training alike
                grid = table[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2).float()
                grid = F.interpolate(grid, size=(grid_h, grid_w), mode="bicubic", align_corners=False)
                grid = grid.permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, -1).to(table.dtype)
                cached = torch.cat([table[:1].unsqueeze(0), grid], dim=1)
            if not table.requires_grad:
                self._position_cache = {key: cached}  # one size in use at a time is the common case
        return cached

    def forward_tokens(
        self, pixels: torch.Tensor, layers: Sequence[int] = (), stop_after: int | None = None
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Run the vision transformer on CLIP-normalised pixels (B, 3, H, W), H and W multiples of the patch.

        Returns the tokens (B, 1 + h*w, C) after block `stop_after` (default: the last; class token first)
        and {layer: tokens} for each requested 1-based layer.
        """
        vision = self.model.vision_model
        patch = self.patch_size
        if pixels.shape[-1] % patch or pixels.shape[-2] % patch:
            raise ValueError(f"input size {tuple(pixels.shape[-2:])} is not a multiple of the patch size {patch}")
        stop = self.num_layers if stop_after is None else stop_after
        bad = [i for i in layers if not 1 <= i <= stop]
        if bad:
            raise ValueError(f"layers {bad} out of range 1..{stop}")
        x = vision.embeddings.patch_embedding(pixels.to(self.dtype))  # (B, C, h, w)
        grid_h, grid_w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)
        cls = vision.embeddings.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding(grid_h, grid_w).to(x.dtype)
        x = vision.pre_layrnorm(x)
        saved: dict[int, torch.Tensor] = {}
        for index, block in enumerate(vision.encoder.layers[:stop], start=1):
            x = block(x, attention_mask=None)
            if index in layers:
                saved[index] = x
        return x, saved

    def project_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """(..., C) final-layer tokens -> (..., D) joint-space embeddings (final LayerNorm + projection)."""
        return self.model.visual_projection(self.model.vision_model.post_layernorm(tokens))

    def value_path_block(self, tokens: torch.Tensor) -> torch.Tensor:
        """The last block with self-attention replaced by its value path, as CAT-Seg and the public OV2VSS
        code run it for dense features: x + out_proj(v_proj(ln_1(x))), then the MLP with its residual.
        Each token sees only itself, so patch tokens keep their location. (B, N, C) -> (B, N, C)."""
        block = self.model.vision_model.encoder.layers[-1]
        x = tokens + block.self_attn.out_proj(block.self_attn.v_proj(block.layer_norm1(tokens)))
        return x + block.mlp(block.layer_norm2(x))

    def dense_features(self, pixels: torch.Tensor, layers: Sequence[int] = (), path: str = "standard") -> DenseFeatures:
        """CLIP-normalised pixels (B, 3, H, W) -> dense embeddings (B, D, H/p, W/p) and the requested
        intermediate layers (B, C, H/p, W/p). path: 'standard' runs the last block unchanged, 'value' its
        value path (`value_path_block`; a requested last layer is then that block's output). Runs without
        autograd unless image parameters train."""
        if path not in DENSE_PATHS:
            raise ValueError(f"unknown dense path '{path}': use {' or '.join(DENSE_PATHS)}")
        grid = (pixels.shape[-2] // self.patch_size, pixels.shape[-1] // self.patch_size)
        trainable = any(p.requires_grad for p in self.model.vision_model.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and trainable):
            if path == "value":
                last = self.num_layers
                tokens, saved = self.forward_tokens(pixels, [i for i in layers if i != last], stop_after=last - 1)
                tokens = saved[last] = self.value_path_block(tokens)
            else:
                tokens, saved = self.forward_tokens(pixels, layers)
            embeddings = self.project_tokens(tokens[:, 1:])
        to_map = lambda t: t.transpose(1, 2).reshape(t.shape[0], t.shape[-1], *grid)  # noqa: E731
        return DenseFeatures(to_map(embeddings), tuple(to_map(saved[i][:, 1:]) for i in layers))

    # -- text side -------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_text(self, texts: Sequence[str], batch_size: int = 256) -> torch.Tensor:
        """(N,) strings -> (N, D) text embeddings (not normalised), encoded `batch_size` at a time."""
        max_length = self.model.config.text_config.max_position_embeddings
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                list(texts[start : start + batch_size]), padding=True, truncation=True,
                max_length=max_length, return_tensors="pt",
            )
            out = self.model.text_model(
                input_ids=batch["input_ids"].to(self.device), attention_mask=batch["attention_mask"].to(self.device)
            )
            chunks.append(self.model.text_projection(out.pooler_output))
        return torch.cat(chunks)

    def text_classifier(self, class_names: Sequence[str], templates: str | Sequence[str] = "imagenet80") -> torch.Tensor:
        """(K,) class names x (P,) prompt templates -> (K, P, D) embeddings, L2-normalised per template.

        Cached per (model, vocabulary, templates, dtype, device): a vocabulary is encoded once.
        `templates` is a packaged set name, a file path, or the templates themselves.
        """
        names = tuple(class_names)
        if not names or any(not n.strip() for n in names):
            raise InputError("class names must be a non-empty list of non-empty strings")
        prompts = load_templates(templates) if isinstance(templates, str) else tuple(templates)
        key = (self.name, names, prompts, self.dtype, self.device)
        if key in self._text_cache:
            self._text_cache.move_to_end(key)
            return self._text_cache[key]
        texts = [t.replace("{}", name) for name in names for t in prompts]
        with torch.inference_mode(False):  # a normal tensor even when first asked for under inference_mode,
            embeddings = self.encode_text(texts).reshape(len(names), len(prompts), -1)  # so training can use it
            embeddings = F.normalize(embeddings.float(), dim=-1).to(self.dtype)
        self._text_cache[key] = embeddings
        while len(self._text_cache) > TEXT_CACHE_SIZE:
            self._text_cache.popitem(last=False)
        return embeddings
