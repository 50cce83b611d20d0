"""Speed profiles of `segment` (`--speed fast|balanced|quality`): how much work the model does per frame.

| profile | dense-CLIP models (the default `dense_clip_vitb16`) | frames the model sees |
|---|---|---|
| quality | the model's own windows: short side 448, 224-pixel windows overlapping by half (21 per 720p frame) | every frame |
| balanced (default) | one pass over the frame resized to short side 224, position embeddings interpolated to its grid | every frame |
| fast | as balanced | every 3rd frame (and every scene change); class maps carried along optical flow in between |

For a dense-CLIP model with its own window size (e.g. the tiny test model's 64 pixels) the profile's short
side is scaled by window / 224. Other models (OV2VSS, the per-frame baseline) keep their own settings:
`--size` sets their cost; `fast`'s frame reuse applies to per-frame models only (a temporal model's
references are every frame's features).
"""
from __future__ import annotations

from dataclasses import dataclass

from openvidseg.errors import InputError

NATIVE_WINDOW = 224  # the window (CLIP input size) the profiles' short sides are given for


@dataclass(frozen=True)
class SpeedProfile:
    """short_side: the dense-CLIP short side at a 224-pixel window (None = the model's own);
    single_pass: one CLIP pass over the whole frame instead of windows; keyframe_interval: the model
    runs on every Nth frame (1 = every frame), class maps are carried along the motion in between."""

    name: str
    description: str
    short_side: int | None = None
    single_pass: bool = False
    keyframe_interval: int = 1

    def dense_clip_options(self, window: int | None) -> dict[str, object]:
        """Options of a dense-CLIP model whose window is `window` pixels (None = CLIP's native 224)."""
        if self.short_side is None:
            return {}
        scale = (window or NATIVE_WINDOW) / NATIVE_WINDOW
        return {"short_side": round(self.short_side * scale), "single_pass": self.single_pass}


SPEED_PROFILES = {
    profile.name: profile
    for profile in (
        SpeedProfile("fast", "as balanced on every 3rd frame and at scene changes; class maps carried along "
                     "optical flow in between", short_side=224, single_pass=True, keyframe_interval=3),
        SpeedProfile("balanced", "one CLIP pass per frame at short side 224 (position embeddings interpolated)",
                     short_side=224, single_pass=True),
        SpeedProfile("quality", "the model's own sliding windows (dense_clip_vitb16: short side 448, 224-pixel "
                     "windows at stride 112, 21 per 1280x720 frame)"),
    )
}
DEFAULT_SPEED = "balanced"


def get_profile(name: str) -> SpeedProfile:
    """The profile called `name`, or an `InputError` listing them."""
    try:
        return SPEED_PROFILES[name]
    except KeyError:
        raise InputError(f"unknown speed profile '{name}': use one of {', '.join(SPEED_PROFILES)}") from None
