"""A synthetic dataset in the real VSPW layout, with known content, for tests and demos.

Each video has a textured "stuff" background (one or two stuff classes, panning slowly), sometimes an
"others" patch (label 0), and moving, bouncing, mutually occluding "thing" objects; every class has a
distinct appearance (colour + shape or texture) and the masks are exactly what was drawn.

    info = write_synthetic_vspw(tmp / "synth", class_names=("sky", "red circle", "blue star"),
                                num_videos=4, num_frames=20, size=(64, 96), seed=0)
    VSPWDataset(info.root, "train", split="all")

A class named "<colour> <shape>" ("red circle") is drawn that way; other names get a palette colour and
a shape (things) or texture (stuff). Pass `styles` to choose the drawing yourself (a shape or texture
may be a callable), and `frame_hook` to add nuisances (corruption, occluders) to written frames.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from openvidseg.data.synthetic_styles import COLOURS, SHAPES, TEXTURES, ClassStyle, default_styles
from openvidseg.errors import ConfigError

DEFAULT_CLASSES = ("sky", "grass", "red circle", "blue square", "green triangle", "yellow star")
FrameHook = Callable[[np.ndarray, np.ndarray, int, int, np.random.Generator], "tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class SyntheticVSPW:
    """What `write_synthetic_vspw` wrote: class names (id = position + 1), styles, videos per split."""

    root: Path
    class_names: tuple[str, ...]
    styles: tuple[ClassStyle, ...]
    videos: dict[str, list[str]]
    num_frames: int
    size: tuple[int, int]
    seen_file: Path | None  # JSON list of seen class names (for `split=`), when seen_classes was given


def _split_counts(splits: Mapping[str, float | int], num_videos: int) -> dict[str, int]:
    """Videos per split from counts (ints) or fractions (floats summing to 1)."""
    if not splits:
        raise ConfigError("splits must name at least one split, e.g. {'train': 0.5, 'val': 0.5}")
    if all(isinstance(v, int) for v in splits.values()):
        if sum(splits.values()) != num_videos:
            raise ConfigError(f"split counts {dict(splits)} do not add up to num_videos={num_videos}")
        return dict(splits)
    total = float(sum(splits.values()))
    counts, given, cumulative = {}, 0, 0.0
    for name, share in splits.items():
        cumulative += share / total
        counts[name] = int(round(cumulative * num_videos)) - given
        given += counts[name]
    return counts


class _MovingObject:
    """A thing moving with constant velocity, bouncing off the frame borders."""

    def __init__(self, class_id: int, size: tuple[int, int], rng: np.random.Generator):
        height, width = size
        self.class_id = class_id
        self.radius = float(rng.uniform(0.12, 0.25) * min(height, width))
        self.y = float(rng.uniform(0, height))
        self.x = float(rng.uniform(0, width))
        speed = float(rng.uniform(0.01, 0.04) * max(height, width))
        angle = float(rng.uniform(0, 2 * np.pi))
        self.vy, self.vx = speed * np.sin(angle), speed * np.cos(angle)
        self.size = size

    def step(self) -> None:
        self.y += self.vy
        self.x += self.vx
        if not 0 <= self.y < self.size[0]:
            self.vy, self.y = -self.vy, float(np.clip(self.y, 0, self.size[0] - 1))
        if not 0 <= self.x < self.size[1]:
            self.vx, self.x = -self.vx, float(np.clip(self.x, 0, self.size[1] - 1))


def draw_video(styles: Sequence[ClassStyle], num_frames: int, size: tuple[int, int], rng: np.random.Generator,
               objects_per_video: tuple[int, int], others_prob: float, things: Sequence[int] | None = None):
    """Yield (image (H, W, 3) uint8, label (H, W) uint8) for each frame of one video (class id = style
    position + 1). `things`: the thing ids objects are drawn from (default: every thing)."""
    height, width = size
    stuff = [i + 1 for i, s in enumerate(styles) if s.kind == "stuff"]
    if things is None:
        things = [i + 1 for i, s in enumerate(styles) if s.kind == "thing"]
    pan = int(rng.integers(1, 3)) * int(rng.choice([-1, 1]))  # camera pans the background horizontally
    layers = []  # (class id, texture (H, W + pad, 3), region (H, W) bool) of the background
    if stuff:
        picked = rng.choice(stuff, size=min(2, len(stuff)), replace=False)
        horizon = int(rng.uniform(0.35, 0.65) * height) if len(picked) > 1 else height
        for k, cid in enumerate(picked):
            texture = styles[cid - 1].paint(height, width + abs(pan) * num_frames, rng)
            region = np.zeros(size, dtype=bool)
            region[:horizon] = k == 0  # the first stuff class above the horizon, the second below
            region[horizon:] = k == 1
            layers.append((int(cid), texture, region))
    others = None
    if rng.random() < others_prob:
        h, w = int(rng.integers(height // 6, height // 3 + 1)), int(rng.integers(width // 6, width // 3 + 1))
        y0, x0 = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        others = (slice(y0, y0 + h), slice(x0, x0 + w), rng.integers(90, 170, (h, w, 3), dtype=np.uint8))
    count = int(rng.integers(objects_per_video[0], objects_per_video[1] + 1)) if things else 0
    chosen = rng.choice(things, size=count, replace=count > len(things)) if count else []
    objects = [_MovingObject(int(cid), size, rng) for cid in chosen]
    sprites = {int(cid): styles[cid - 1].paint(height, width, rng) for cid in set(int(c) for c in chosen)}
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for t in range(num_frames):
        image = np.zeros((height, width, 3), dtype=np.uint8)
        label = np.zeros(size, dtype=np.uint8)
        shift = (t * pan) % max(abs(pan) * num_frames, 1)
        for cid, texture, region in layers:
            window = texture[:, shift:shift + width]
            image[region] = window[region]
            label[region] = cid
        if others is not None:
            image[others[0], others[1]] = others[2]
            label[others[0], others[1]] = 0
        for obj in objects:  # later objects occlude earlier ones
            shape = styles[obj.class_id - 1].shape_mask(yy, xx, obj.y, obj.x, obj.radius)
            image[shape] = sprites[obj.class_id][shape]
            label[shape] = obj.class_id
            obj.step()
        yield image, label


def write_synthetic_vspw(
    root: str | Path,
    *,
    class_names: Sequence[str] = DEFAULT_CLASSES,
    num_videos: int = 4,
    num_frames: int = 20,
    size: tuple[int, int] = (64, 96),
    seed: int = 0,
    splits: Mapping[str, float | int] | None = None,
    styles: Sequence[ClassStyle] | None = None,
    num_stuff: int = 2,
    objects_per_video: tuple[int, int] = (1, 3),
    others_prob: float = 0.3,
    seen_classes: Sequence[str] | None = None,
    frame_hook: FrameHook | None = None,
    jpeg_quality: int = 92,
) -> SyntheticVSPW:
    """Write a VSPW-layout dataset under `root` and describe it. Deterministic under `seed`.

    class_names: raw class names (id = position + 1); styles: one `ClassStyle` per class (default:
    `default_styles(class_names, num_stuff)`); splits: split name -> video count (int) or share (float),
    default {"train": 0.5, "val": 0.5}; seen_classes: also write ROOT/seen_classes.json for `split=`;
    frame_hook(image, label, video_index, frame_index, rng) -> (image, label): edit frames before writing.
    """
    class_names = tuple(class_names)
    if not class_names or len(set(class_names)) != len(class_names) or len(class_names) > 254:
        raise ConfigError(f"class_names must be 1..254 distinct names, got {list(class_names)}")
    styles = tuple(styles) if styles is not None else default_styles(class_names, num_stuff)
    if len(styles) != len(class_names):
        raise ConfigError(f"{len(styles)} styles given for {len(class_names)} classes: give one per class")
    if num_videos < 1 or num_frames < 1 or min(size) < 4:
        raise ConfigError(f"need num_videos >= 1, num_frames >= 1 and a size of at least 4x4, got "
                          f"{num_videos}, {num_frames}, {size}")
    counts = _split_counts(splits or {"train": 0.5, "val": 0.5}, num_videos)
    root = Path(root)
    (root / "data").mkdir(parents=True, exist_ok=True)
    names = [f"video_{v:03d}" for v in range(num_videos)]
    videos, start = {}, 0
    for split, count in counts.items():
        videos[split] = names[start:start + count]
        start += count
        (root / f"{split}.txt").write_text("".join(f"{n}\n" for n in videos[split]))
    table = {"others": 0, **{name: i + 1 for i, name in enumerate(class_names)}}
    (root / "label_num_dic_final.json").write_text(json.dumps(table, indent=1))
    seen_file = None
    if seen_classes is not None:
        seen_file = root / "seen_classes.json"
        seen_file.write_text(json.dumps(list(seen_classes)))
    for v, name in enumerate(names):
        rng = np.random.default_rng([seed, v])
        (root / "data" / name / "origin").mkdir(parents=True, exist_ok=True)
        (root / "data" / name / "mask").mkdir(parents=True, exist_ok=True)
        frames = draw_video(styles, num_frames, tuple(size), rng, objects_per_video, others_prob)
        for t, (image, label) in enumerate(frames):
            if frame_hook is not None:
                image, label = frame_hook(image, label, v, t, rng)
            Image.fromarray(image).save(root / "data" / name / "origin" / f"{t:05d}.jpg", quality=jpeg_quality,
                                             subsampling=0)  # 4:4:4 keeps the colours of small shapes
            Image.fromarray(label).save(root / "data" / name / "mask" / f"{t:05d}.png")
    return SyntheticVSPW(root=root, class_names=class_names, styles=styles, videos=videos,
                         num_frames=num_frames, size=tuple(size), seen_file=seen_file)


__all__ = ["COLOURS", "DEFAULT_CLASSES", "SHAPES", "TEXTURES", "ClassStyle", "SyntheticVSPW", "default_styles",
           "write_synthetic_vspw"]
