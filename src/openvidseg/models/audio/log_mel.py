"""VGGish's log-mel front end (Hershey et al., ICASSP 2017, and the released AudioSet VGGish), in torch.

16 kHz mono -> frames of 25 ms (400 samples) every 10 ms (160), no padding -> periodic Hann window ->
|FFT| over 512 points (257 bins) -> 64 triangular mel bands over 125-7,500 Hz on the HTK mel scale
(mel = 1127 ln(1 + f / 700)), the DC bin weighted 0 -> log(x + 0.01) -> non-overlapping patches of
96 frames (0.96 s) x 64 bands. A patch needs 400 + 95 * 160 = 15,600 samples (0.975 s).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from openvidseg.errors import InputError

SAMPLE_RATE = 16_000
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
FFT_SIZE = 512  # the next power of two above the window
NUM_BANDS = 64
LOW_HZ, HIGH_HZ = 125.0, 7500.0
LOG_OFFSET = 0.01
PATCH_FRAMES = 96  # 0.96 s of 10 ms frames
PATCH_SAMPLES = WINDOW_SAMPLES + (PATCH_FRAMES - 1) * HOP_SAMPLES  # 15,600: the samples one patch needs


def hertz_to_mel(hertz: torch.Tensor) -> torch.Tensor:
    """The HTK mel scale: 1127 ln(1 + f / 700)."""
    return 1127.0 * torch.log1p(hertz / 700.0)


def mel_weights(num_bins: int = FFT_SIZE // 2 + 1, sample_rate: int = SAMPLE_RATE, num_bands: int = NUM_BANDS,
                low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ) -> torch.Tensor:
    """(num_bins, num_bands) float64 triangular weights from linear FFT bins to mel bands.

    Band b rises from edge b to edge b + 1 and falls to edge b + 2, edges equally spaced in mel between
    `low_hz` and `high_hz`; the DC bin gets weight 0 everywhere.
    """
    if not 0.0 <= low_hz < high_hz <= sample_rate / 2:
        raise InputError(f"mel bands need 0 <= low ({low_hz}) < high ({high_hz}) <= Nyquist ({sample_rate / 2})")
    bin_mel = hertz_to_mel(torch.linspace(0.0, sample_rate / 2, num_bins, dtype=torch.float64))
    low_mel, high_mel = (1127.0 * math.log1p(f / 700.0) for f in (low_hz, high_hz))
    edges = torch.linspace(low_mel, high_mel, num_bands + 2, dtype=torch.float64)
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bin_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bin_mel[:, None]) / (upper - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0] = 0.0
    return weights


def periodic_hann(length: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """0.5 - 0.5 cos(2 pi n / length), n = 0..length-1 (the periodic Hann window)."""
    n = torch.arange(length, dtype=dtype)
    return 0.5 - 0.5 * torch.cos(2 * math.pi * n / length)


class VGGishLogMel(nn.Module):
    """Waveforms (B, N) at 16 kHz -> log-mel frames (B, F, 64), F = 1 + (N - 400) // 160; `patches` cuts
    them into (B, P, 96, 64), P = F // 96."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", periodic_hann(WINDOW_SAMPLES).float(), persistent=False)
        self.register_buffer("weights", mel_weights().float(), persistent=False)

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, N) float -> (B, F, 64) log-mel; N must be at least 400 samples."""
        if waveforms.ndim != 2:
            raise InputError(f"waveforms must be (B, N), got shape {tuple(waveforms.shape)}")
        if waveforms.shape[1] < WINDOW_SAMPLES:
            raise InputError(f"a waveform of {waveforms.shape[1]} samples is shorter than one 25 ms frame (400)")
        frames = waveforms.float().unfold(1, WINDOW_SAMPLES, HOP_SAMPLES)  # (B, F, 400)
        magnitude = torch.fft.rfft(frames * self.window, n=FFT_SIZE).abs()  # (B, F, 257)
        return torch.log(magnitude @ self.weights + LOG_OFFSET)

    def patches(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(B, N) -> (B, P, 96, 64) non-overlapping 0.96 s patches (a partial last patch is dropped)."""
        features = self(waveforms)
        count = features.shape[1] // PATCH_FRAMES
        if count == 0:
            raise InputError(f"a waveform of {waveforms.shape[1]} samples is shorter than one VGGish patch "
                             f"({PATCH_SAMPLES} samples, 0.975 s at 16 kHz)")
        return features[:, :count * PATCH_FRAMES].reshape(features.shape[0], count, PATCH_FRAMES, NUM_BANDS)
