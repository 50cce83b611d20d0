"""A small VGGish pretrained on the audio-visual world's sounds, standing in for VGGish pretrained on AudioSet
(which has heard far more sound classes than any segmentation dataset labels, as CLIP has seen more concepts):
one-second mixtures of 0-2 sounding classes, every class of the world included, with the words that name
what sounds as targets (multi-label over the colour and shape words: pitch and timbre), so its embeddings
are built from the attributes the class names are made of. Saved as a VGGish weights file that loads through
`load_audio_encoder(PATH)`, frozen in the segmentation model as OV-AVSS keeps VGGish frozen.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from openvidseg.data.audio import WINDOW_SECONDS
from openvidseg.demo.audio_world import AudioWorldSpec
from openvidseg.demo.sounds import mix_second
from openvidseg.models.audio.vggish import VGGishEncoder, vggish_config

WEIGHTS_FILE, DONE_FILE = "vggish_world.safetensors", "audio_pretraining.json"


def sound_batch(spec: AudioWorldSpec, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(size, L) windows of random mixtures of 0-2 of the world's classes and (size, C + S) multi-hot targets
    over the colour words then the shape words of what sounds."""
    names, colours, shapes = spec.class_names(), spec.visual.colours, spec.visual.shapes
    rate, length = spec.sample_rate, int(round(WINDOW_SECONDS * spec.sample_rate))
    waves, targets = np.zeros((size, length), np.float32), np.zeros((size, len(colours) + len(shapes)), np.float32)
    for row in range(size):
        count = int(rng.choice([0, 1, 1, 2]))
        sources = [names[i] for i in rng.choice(len(names), size=count, replace=False)]
        waves[row] = mix_second([spec.signature(n) for n in sources], rate, rng)[:length]
        for name in sources:
            colour, shape = name.split("-")
            targets[row, colours.index(colour)] = targets[row, len(colours) + shapes.index(shape)] = 1.0
    return torch.from_numpy(waves), torch.from_numpy(targets)


def pretrain_tiny_vggish(spec: AudioWorldSpec, folder: str | Path, *, steps: int = 300, batch: int = 64,
                         seed: int = 0, log=print) -> Path:
    """Train the world's tiny VGGish and save it into `folder`; returns the weights file."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    encoder = VGGishEncoder(**vggish_config("vggish-small"))
    words = len(spec.visual.colours) + len(spec.visual.shapes)
    head = torch.nn.Linear(encoder.embed_dim, words)
    optimizer = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=3e-3, weight_decay=0.01)
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 3e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        waves, targets = sound_batch(spec, batch, rng)
        logits = head(encoder(waves))
        loss = F.binary_cross_entropy_with_logits(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            exact = ((logits > 0) == (targets > 0.5)).all(dim=1).float().mean().item()
            log(f"tiny VGGish pretraining step {step + 1}/{steps}: loss {loss.item():.3f}, "
                f"windows with exactly the words of what sounds {exact:.2f}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WEIGHTS_FILE
    save_file({k: v.contiguous() for k, v in encoder.state_dict().items()}, str(path))
    (folder / DONE_FILE).write_text(json.dumps({"world": spec.key(), "steps": steps, "batch": batch, "seed": seed,
                                                "final_loss": round(loss.item(), 4)}))
    return path
