"""A tiny CLIP pretrained in the synthetic world, standing in for web-scale CLIP: a small transformers
`CLIPModel` with a word-level tokenizer, trained contrastively on crops and captions covering every
composition, seen and unseen (web-scale CLIP has seen far more concepts than any segmentation dataset
labels). The image embedding used in training is the mean of the projected patch tokens, the same dense
path the segmentation models read, so patches land in the text space. Saved as a hub-layout folder
that loads through the normal `load_clip(PATH)` / `--clip PATH` path.
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

from openvidseg.clip import ClipModel, load_templates
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


def tiny_clip_config(tokenizer: PreTrainedTokenizerFast, width: int = 128, layers: int = 4, patch: int = 8,
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


class CropSampler:
    """Random crops of the world's classes with their names: a thing filling most of the crop over a
    random texture, or a texture alone; some crops lightly corrupted (as web photos are)."""

    def __init__(self, spec: WorldSpec, size: int, seed: int):
        self.styles, self.names = spec.styles(), spec.class_names()
        self.stuff = [i for i, s in enumerate(self.styles) if s.kind == "stuff"]
        self.size, self.rng = size, np.random.default_rng(seed)
        self.grid = np.mgrid[0:size, 0:size].astype(np.float32)

    def sample(self) -> tuple[np.ndarray, int]:
        rng, size = self.rng, self.size
        cls = int(rng.integers(len(self.names)))
        background = self.styles[cls if cls in self.stuff else int(rng.choice(self.stuff))]
        image = background.paint(size, size, rng)
        if cls not in self.stuff:
            centre = rng.uniform(0.4, 0.6, 2) * size
            mask = self.styles[cls].shape_mask(*self.grid, *centre, rng.uniform(0.35, 0.55) * size)
            image[mask] = self.styles[cls].paint(size, size, rng)[mask]
        if rng.random() < 0.2:
            image = corrupt(image, ("noise", "blur")[int(rng.integers(2))], rng) if rng.random() < 0.5 else image
        return image, cls

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = zip(*(self.sample() for _ in range(n)))
        return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.tensor(labels)


def _encode_text(clip: ClipModel, texts: list[str]) -> torch.Tensor:
    batch = clip.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
    out = clip.model.text_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return F.normalize(clip.model.text_projection(out.pooler_output), dim=-1)


def _encode_images(clip: ClipModel, images: torch.Tensor) -> torch.Tensor:
    tokens, _ = clip.forward_tokens(clip.preprocess(images))
    return F.normalize(clip.project_tokens(tokens[:, 1:]).mean(dim=1), dim=-1)


def pretrain_tiny_clip(spec: WorldSpec, folder: str | Path, *, steps: int = 400, batch: int = 96, seed: int = 0,
                       log=print) -> Path:
    """Train the world's tiny CLIP and save it as a hub-layout folder; returns the folder."""
    folder = Path(folder)
    templates = load_templates("imagenet80")
    names = spec.class_names()
    tokenizer = word_tokenizer(words_of([t.replace("{}", n) for t in templates for n in names]))
    torch.manual_seed(seed)
    model = CLIPModel(tiny_clip_config(tokenizer))
    clip = ClipModel(model, tokenizer, name=str(folder))
    clip.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(clip.parameters(), lr=1e-3, weight_decay=0.05)
    sampler = CropSampler(spec, model.config.vision_config.image_size, seed)
    rng = np.random.default_rng(seed + 1)
    for step in range(steps):
        lr = 1e-3 * min(1.0, (step + 1) / 30) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        images, labels = sampler.batch(batch)
        captions = [templates[int(rng.integers(len(templates)))].replace("{}", names[c]) for c in labels.tolist()]
        scale = clip.model.logit_scale.exp().clamp(max=100)
        logits = scale * _encode_images(clip, images) @ _encode_text(clip, captions).t()
        same = (labels[:, None] == labels[None, :]).float()  # captions of the same class are all positives
        target = same / same.sum(dim=1, keepdim=True)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"tiny CLIP pretraining step {step + 1}/{steps}: loss {loss.item():.3f}")
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / DONE_FILE).write_text(json.dumps({"world": spec.key(), "steps": steps, "batch": batch, "seed": seed,
                                                "final_loss": round(loss.item(), 4)}))
    return folder
