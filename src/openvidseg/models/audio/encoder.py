"""The one interface of audio encoders, and `load_audio_encoder(source)`, the one way to get one.

An `AudioEncoder` turns waveform windows (B, L) at its `sample_rate` into embeddings (B, D): one per
frame's window (see `openvidseg.data.audio.FrameAudio`). Sources:
- `random:vggish`, `random:vggish-tiny`, `random:ast`, `random:ast-tiny`: random weights (tests, benchmarks);
- a weights file of VGGish (the torchvggish release `vggish-10086976.pth`, or the TensorFlow variables
  exported under their names, as .safetensors / .pth): converted and loaded strictly;
- a folder laid out like a hub snapshot, or a hub id, of a transformers Audio Spectrogram Transformer
  (e.g. MIT/ast-finetuned-audioset-10-10-0.4593).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from openvidseg.errors import WeightsError, WeightsNotFoundError

RANDOM_ENCODERS = ("vggish", "vggish-tiny", "ast", "ast-tiny")
HOW_TO_PASS = ("--audio-encoder /path/to/vggish-10086976.pth (VGGish weights), or a folder holding an Audio "
               "Spectrogram Transformer (config.json + model.safetensors)")


class AudioEncoder(nn.Module):
    """Waveform windows (B, L) float at `sample_rate` Hz -> embeddings (B, embed_dim).

    `window_seconds`: the span one embedding is made for (a frame's window); shorter windows raise.
    `name`: the source it was loaded from (recorded with results).
    """

    sample_rate: int = 16_000
    window_seconds: float = 0.975
    embed_dim: int
    name: str = ""

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def load_audio_encoder(source: str, *, pca: str | Path | None = None, seed: int = 0) -> AudioEncoder:
    """An audio encoder from `source` (see the module doc), in eval mode on the CPU.

    pca: VGGish's PCA parameters file (`vggish_pca_params*.npz` / `.pth`): embeddings are then whitened and
    quantised to 0..255 as the released AudioSet embeddings (AVSBench does not use this).
    """
    if source.startswith("random:"):
        kind = source.split(":", 1)[1]
        if kind not in RANDOM_ENCODERS:
            raise WeightsError(f"unknown random audio encoder '{kind}': use random:{' | random:'.join(RANDOM_ENCODERS)}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if kind.startswith("vggish"):
                from openvidseg.models.audio.vggish import VGGishEncoder, vggish_config

                encoder: AudioEncoder = VGGishEncoder(**vggish_config(kind))
            else:
                from openvidseg.models.audio.transformers_audio import ASTEncoder, random_ast

                encoder = ASTEncoder(*random_ast(kind))
        encoder.name = source
        return encoder.eval()
    path = Path(source).expanduser()
    if path.is_file():
        from openvidseg.models.audio.vggish_weights import load_vggish

        return load_vggish(path, pca=pca).eval()
    from openvidseg.hub import is_hub_id

    if path.is_dir() or is_hub_id(source):
        from openvidseg.models.audio.transformers_audio import load_ast

        return load_ast(source).eval()
    if source.lower() == "vggish":
        raise WeightsNotFoundError("VGGish weights are not on the Hugging Face hub: get vggish-10086976.pth (the "
                                   f"torchvggish release) where there is internet and pass its path: {HOW_TO_PASS}")
    raise WeightsNotFoundError(f"audio encoder '{source}' not found: it is not a file, a folder, random:<kind> "
                               f"nor a hub id; pass {HOW_TO_PASS}")
