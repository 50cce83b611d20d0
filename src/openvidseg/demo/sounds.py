"""Sound signatures of the synthetic audio-visual world: each class sounds as its attribute words say, as
it looks as they say. The colour word sets the pitch, the shape word the timbre, so a novel class ("red
star") sounds like a new combination of a pitch and a timbre heard in other classes, as it looks like a new
combination of a colour and a shape seen in other classes.

Timbres: "pure" (a sine), "odd" (odd harmonics 1, 3, 5, 7 at 1/n, a square-like tone), "vibrato" (harmonics
1-3 with a 5 Hz, 4 % frequency swing) and "pulsed" (a sine whose loudness swells and fades away 8 times a
second, smoothly, so its spectrum stays near its pitch).
"""
from __future__ import annotations

import numpy as np

from openvidseg.errors import ConfigError

TIMBRES = ("pure", "odd", "vibrato", "pulsed")


def tone(pitch: float, timbre: str, seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """(N,) float32 of one sounding class at peak level about 1 (random phase; N = seconds * sample_rate)."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    phase = float(rng.uniform(0, 2 * np.pi))
    if timbre == "pure":
        wave = np.sin(2 * np.pi * pitch * t + phase)
    elif timbre == "odd":
        wave = sum(np.sin(2 * np.pi * n * pitch * t + n * phase) / n for n in (1, 3, 5, 7)) / 1.2
    elif timbre == "vibrato":
        swing = 0.04 * pitch * np.sin(2 * np.pi * 5.0 * t) / (2 * np.pi * 5.0)  # cycles of a 4 % swing at 5 Hz
        wave = sum(np.sin(2 * np.pi * n * (pitch * t + swing) + phase) / n for n in (1, 2, 3)) / 1.4
    elif timbre == "pulsed":
        swell = (0.5 + 0.5 * np.sin(2 * np.pi * 8.0 * t + phase)) ** 2  # 0..1, 8 times a second
        wave = 1.6 * swell * np.sin(2 * np.pi * pitch * t + phase)
    else:
        raise ConfigError(f"unknown timbre '{timbre}': use one of {', '.join(TIMBRES)}")
    return wave.astype(np.float32)


def mix_second(sources: list[tuple[float, str]], sample_rate: int, rng: np.random.Generator,
               noise: float = 0.01) -> np.ndarray:
    """One second of sound: the (pitch, timbre) sources at random levels (0.15-0.3 each, pitch jittered by
    up to 3 %) over faint white noise; silence but the noise when no source sounds."""
    out = rng.normal(0.0, noise, sample_rate).astype(np.float32)
    for pitch, timbre in sources:
        level = float(rng.uniform(0.15, 0.3))
        out += level * tone(pitch * float(rng.uniform(0.97, 1.03)), timbre, 1.0, sample_rate, rng)
    return np.clip(out, -1.0, 1.0)
