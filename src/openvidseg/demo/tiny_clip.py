"""A tiny CLIP pretrained in the synthetic world, standing in for web-scale CLIP: a small transformers
`CLIPModel` with a word-level tokenizer, trained on crops and captions covering every composition, seen
and unseen (web-scale CLIP has seen far more concepts than any segmentation dataset labels). A crop is
matched to a class through its best projected patch token, the same dense path the segmentation models
read, so patches land in the text space (see `pretrain_tiny_clip`). Saved as a hub-layout folder that
loads through the normal `load_clip(PATH)` / `--clip PATH` path.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPModel, PreTrainedTokenizerFast

from openvidseg.clip import ClipModel
from openvidseg.demo.world import WorldSpec, corrupt

SPECIALS = ("<unk>", "<pad>", "<bos>", "<eos>")
DONE_FILE = "pretraining.json"


def words_of(texts: list[str]) -> list[str]:
    """The distinct words and punctuation marks of `texts`, lower-cased and sorted."""
    return sorted({w for t in texts for w in re.findall(r"\w+|[^\w\s]+", t.lower())})


def word_tokenizer(words: list[str], max_length: int = 24) -> PreTrainedTokenizerFast:
    """Lower-casing word-level tokenizer over `words` (+ <unk>, <pad>); adds <bos> ... <eos>. The special
    tokens come last, as in CLIP, so no id collides with transformers' legacy end-of-text rule (id 2)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {w: i for i, w in enumerate(words)}
    for token in SPECIALS:
        vocab[token] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()  # words and punctuation, as `words_of` splits them
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", vocab["<bos>"]), ("<eos>", vocab["<eos>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", model_max_length=max_length)


def tiny_clip_config(tokenizer: PreTrainedTokenizerFast, width: int = 64, layers: int = 3, patch: int = 8,
                     image: int = 64, dim: int = 64) -> CLIPConfig:
    vocab = tokenizer.get_vocab()
    return CLIPConfig(
        text_config=dict(hidden_size=width, intermediate_size=4 * width, num_hidden_layers=2, num_attention_heads=4,
                         vocab_size=len(vocab), max_position_embeddings=tokenizer.model_max_length,
                         bos_token_id=vocab["<bos>"], eos_token_id=vocab["<eos>"], pad_token_id=vocab["<pad>"]),
        vision_config=dict(hidden_size=width, intermediate_size=4 * width, num_hidden_layers=layers,
                           num_attention_heads=4, patch_size=patch, image_size=image),
        projection_dim=dim,
    )


class SceneSampler:
    """Random scene crops of the world with the names of what they show (as a caption would name them):
    a ground texture, sometimes a second one, and 0-2 things, any of them partly outside the crop; a class
    counts as shown when it covers at least `min_share` of the crop. Some crops are lightly corrupted,
    as web photos are."""

    def __init__(self, spec: WorldSpec, size: int, seed: int, min_share: float = 0.04):
        self.styles, self.names = spec.styles(), spec.class_names()
        self.stuff = [i for i, s in enumerate(self.styles) if s.kind == "stuff"]
        self.things = [i for i, s in enumerate(self.styles) if s.kind == "thing"]
        self.size, self.min_share, self.rng = size, min_share, np.random.default_rng(seed)
        self.grid = np.mgrid[0:size, 0:size].astype(np.float32)

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """(size, size, 3) uint8 image and a (K,) bool vector of the classes it shows."""
        rng, size = self.rng, self.size
        label = np.empty((size, size), dtype=np.int64)
        grounds = rng.choice(self.stuff, size=1 + int(rng.random() < 0.3), replace=False)
        image = self.styles[grounds[0]].paint(size, size, rng)
        label[:] = grounds[0]
        if len(grounds) > 1:  # a second ground below a horizon
            horizon = int(rng.uniform(0.3, 0.7) * size)
            image[horizon:] = self.styles[grounds[1]].paint(size, size, rng)[horizon:]
            label[horizon:] = grounds[1]
        for cls in rng.choice(self.things, size=int(rng.choice([0, 1, 1, 2])), replace=False):
            mask = self.styles[cls].shape_mask(*self.grid, *(rng.uniform(0.1, 0.9, 2) * size),
                                               rng.uniform(0.2, 0.45) * size)
            image[mask] = self.styles[cls].paint(size, size, rng)[mask]
            label[mask] = cls
        if rng.random() < 0.15:
            image = corrupt(image, ("noise", "blur")[int(rng.integers(2))], rng)
        shown = np.bincount(label.ravel(), minlength=len(self.names)) >= self.min_share * size * size
        return image, shown

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, shown = zip(*(self.sample() for _ in range(n)))
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.from_numpy(np.stack(shown))


def _encode_text(clip: ClipModel, texts: list[str]) -> torch.Tensor:
    """(N, D) normalised text embeddings with gradients (`ClipModel.encode_text` runs without)."""
    batch = clip.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    out = clip.model.text_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return F.normalize(clip.model.text_projection(out.pooler_output), dim=-1)


def _encode_patches(clip: ClipModel, images: torch.Tensor) -> torch.Tensor:
    """(B, 3, S, S) images -> (B, N, D) normalised patch embeddings (the dense path)."""
    tokens, _ = clip.forward_tokens(clip.preprocess(images))
    return F.normalize(clip.project_tokens(tokens[:, 1:]), dim=-1)


def pretrain_tiny_clip(spec: WorldSpec, folder: str | Path, templates: tuple[str, ...], *, steps: int = 300,
                       batch: int = 64, seed: int = 0, log=print) -> Path:
    """Train the world's tiny CLIP and save it as a hub-layout folder; returns the folder.

    Each step encodes every class's captions (K classes x P templates, averaged per class as a zero-shot
    classifier is built) and a batch of scene crops with the names of the classes they show. A class's
    score for a crop is its best-matching patch (max over patches of the scaled cosine similarity), and
    the crop must match the classes it shows and none other (multi-label, binary cross-entropy): which
    patch shows what is never told, so no mask is used."""
    folder = Path(folder)
    names = spec.class_names()
    captions = [t.replace("{}", n) for n in names for t in templates]
    tokenizer = word_tokenizer(words_of(captions))
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config(tokenizer))
    clip = ClipModel(model, tokenizer, name=str(folder))
    clip.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(clip.parameters(), lr=2e-3, weight_decay=0.05)
    sampler = SceneSampler(spec, model.config.vision_config.image_size, seed)
    bias = torch.nn.Parameter(torch.tensor(-10.0))  # the logit offset of binary matching (as in SigLIP)
    optimizer.add_param_group({"params": [bias], "weight_decay": 0.0})
    for step in range(steps):
        lr = 2e-3 * min(1.0, (step + 1) / 20) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        images, shown = sampler.batch(batch)
        text = F.normalize(_encode_text(clip, captions).reshape(len(names), len(templates), -1).mean(1), dim=-1)
        scale = clip.model.logit_scale.exp().clamp(max=100)
        logits = scale * torch.einsum("bnd,kd->bnk", _encode_patches(clip, images), text).amax(dim=1) + bias
        loss = F.binary_cross_entropy_with_logits(logits, shown.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            exact = ((logits > 0) == shown).all(dim=1).float().mean().item()
            log(f"tiny CLIP pretraining step {step + 1}/{steps}: loss {loss.item():.3f}, "
                f"crops with exactly the shown classes {exact:.2f}")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / DONE_FILE).write_text(json.dumps({"world": spec.key(), "steps": steps, "batch": batch, "seed": seed,
                                                "templates": list(templates), "final_loss": round(loss.item(), 4)}))
    return folder
