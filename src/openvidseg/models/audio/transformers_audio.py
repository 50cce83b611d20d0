"""The modern option: an Audio Spectrogram Transformer (Gong et al., 2021) from Hugging Face `transformers`
behind `AudioEncoder`. Its own feature extractor (Kaldi-style 128-band fbank, 25 ms / 10 ms, normalised
with AudioSet's mean and std) turns each window into a spectrogram padded to the model's `max_length`
frames; the embedding is the model's pooled output (the mean of its two leading tokens)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import ASTConfig, ASTFeatureExtractor, ASTModel

from openvidseg.errors import InputError, WeightsError
from openvidseg.models.audio.encoder import HOW_TO_PASS, AudioEncoder

AST_MODEL_TYPE = "audio-spectrogram-transformer"
FRAMES_PER_SECOND = 100  # the feature extractor's 10 ms hop


class ASTEncoder(AudioEncoder):
    """Waveform windows (B, L) at 16 kHz -> (B, hidden_size) pooled AST embeddings."""

    def __init__(self, model: ASTModel, extractor: ASTFeatureExtractor) -> None:
        super().__init__()
        self.model = model
        self.extractor = extractor
        self.embed_dim = model.config.hidden_size
        self.sample_rate = extractor.sampling_rate
        self.window_seconds = min(model.config.max_length / FRAMES_PER_SECOND, 10.0)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        if waveforms.ndim != 2:
            raise InputError(f"waveforms must be (B, L), got shape {tuple(waveforms.shape)}")
        batch = [w for w in waveforms.detach().cpu().float().numpy().astype(np.float32)]
        features = self.extractor(batch, sampling_rate=self.sample_rate, return_tensors="pt")["input_values"]
        device = next(self.model.parameters()).device
        return self.model(input_values=features.to(device)).pooler_output


def random_ast(kind: str) -> tuple[ASTModel, ASTFeatureExtractor]:
    """A random AST: 'ast' has the released base size (768 wide, 12 layers, 128 bands, 1,024 frames);
    'ast-tiny' is 32 wide, 2 layers, 16 bands over 100 frames (one second) for tests."""
    if kind == "ast-tiny":
        config = ASTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                           num_mel_bins=16, max_length=100, frequency_stride=10, time_stride=10)
    else:
        config = ASTConfig()
    extractor = ASTFeatureExtractor(num_mel_bins=config.num_mel_bins, max_length=config.max_length)
    return ASTModel(config).eval(), extractor


def load_ast(source: str) -> ASTEncoder:
    """An AST from a hub-layout folder or a hub id (config.json, model.safetensors, preprocessor_config.json),
    loaded strictly (every missing or mis-shaped key is an error); a classification checkpoint's head is dropped."""
    from openvidseg.hub import download_snapshot, hub_weights_file

    folder = Path(source).expanduser()
    if not folder.is_dir():
        folder = download_snapshot(source, what="audio encoder weights", how_to_pass=HOW_TO_PASS)
    if not (folder / "config.json").is_file():
        raise WeightsError(f"{folder} has no config.json: not a transformers model folder")
    config = ASTConfig.from_pretrained(str(folder))
    if config.model_type != AST_MODEL_TYPE:
        raise WeightsError(f"{folder} holds a '{config.model_type}' model; the audio encoders read "
                           f"'{AST_MODEL_TYPE}' (AST) folders or VGGish weight files")
    hub_weights_file(folder)  # a clear error when the folder holds no weights
    # transformers' own loader maps the checkpoint names (older layouts included); it reports, we refuse
    model, info = ASTModel.from_pretrained(str(folder), output_loading_info=True)
    problems = [f"missing: {k}" for k in info["missing_keys"]]
    problems += [f"unexpected: {k}" for k in info["unexpected_keys"] if not k.startswith("classifier.")]
    problems += [f"mis-shaped: {k}" for k in info.get("mismatched_keys", [])]
    if problems:
        raise WeightsError(f"weights in {folder} do not fit its Audio Spectrogram Transformer config:\n  "
                           + "\n  ".join(str(p) for p in problems))
    if (folder / "preprocessor_config.json").is_file():
        extractor = ASTFeatureExtractor.from_pretrained(str(folder))
    else:
        extractor = ASTFeatureExtractor(num_mel_bins=config.num_mel_bins, max_length=config.max_length)
    encoder = ASTEncoder(model.float().eval(), extractor)
    encoder.name = source
    return encoder
