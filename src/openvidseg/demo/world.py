"""A synthetic open-vocabulary world: videos of moving, occluding coloured shapes over textured ground,
where class names are compositions of attribute words ("red circle", "blue star") and the unseen
classes are new combinations of attributes every seen class has taught.

Split over compositions: with colours c_i and shapes s_j, the unseen classes are the "diagonal"
(c_i, s_{i + shift}) pairs, one per colour and one per shape; every other pair, and every grey ground
("stuff": gravel, tiles, fence), is seen. Every shape also has its own fill pattern (solid, stripes,
checks, dots), so each patch of an object shows both of its attributes, as parts of real objects do.

Nuisances where temporal context helps: some frames are heavily corrupted (noise, blur, or a dropped
frame shown as a flat grey image) while their ground truth stays the true scene; their (video, frame)
list is written to `corrupted.json`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from openvidseg.data.synthetic import SyntheticVSPW, write_synthetic_vspw
from openvidseg.data.synthetic_styles import COLOURS, ClassStyle

CORRUPTED_FILE = "corrupted.json"


@dataclass(frozen=True)
class WorldSpec:
    """Everything that defines a world; equal specs write identical datasets (the cache key)."""

    colours: tuple[str, ...] = ("red", "green", "blue", "yellow")
    shapes: tuple[str, ...] = ("circle", "square", "triangle", "star")
    fills: tuple[str, ...] = ("flat", "stripes", "checker", "dots")  # one per shape
    grounds: tuple[tuple[str, str], ...] = (("gravel", "noise"), ("tiles", "checker"), ("fence", "stripes"))
    unseen_shift: int = 3  # unseen = (colour i, shape i + shift)
    train_videos: int = 48  # many short videos: appearances vary across videos, not across frames
    val_videos: int = 8
    num_frames: int = 20
    size: tuple[int, int] = (96, 96)  # square, as the CLIP input and the training crops
    corrupt_prob: float = 0.15
    objects_per_video: tuple[int, int] = (3, 5)
    seed: int = 0

    def things(self) -> list[tuple[str, str]]:
        return [(c, s) for c in self.colours for s in self.shapes]

    def unseen_pairs(self) -> set[tuple[str, str]]:
        n = len(self.shapes)
        return {(c, self.shapes[(i + self.unseen_shift) % n]) for i, c in enumerate(self.colours)}

    def class_names(self) -> tuple[str, ...]:
        """Stuff (grounds) first, then every colour x shape composition."""
        return tuple(name for name, _ in self.grounds) + tuple(f"{c} {s}" for c, s in self.things())

    def seen_names(self) -> list[str]:
        unseen = {f"{c} {s}" for c, s in self.unseen_pairs()}
        return [n for n in self.class_names() if n not in unseen]

    def styles(self) -> tuple[ClassStyle, ...]:
        greys = ((150, 150, 160), (110, 120, 110), (170, 160, 140), (90, 95, 105))
        stuff = [ClassStyle("stuff", greys[i % len(greys)], texture=t) for i, (_, t) in enumerate(self.grounds)]
        fill = dict(zip(self.shapes, self.fills))
        return tuple(stuff) + tuple(ClassStyle("thing", COLOURS[c], shape=s, texture=fill[s]) for c, s in self.things())

    def key(self) -> str:
        """A short stable name for caches."""
        import hashlib

        text = json.dumps([self.colours, self.shapes, self.fills, self.grounds, self.unseen_shift, self.train_videos,
                           self.val_videos, self.num_frames, self.size, self.corrupt_prob,
                           self.objects_per_video, self.seed])
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def corrupt(image: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A heavily corrupted copy of an (H, W, 3) uint8 frame: 'noise', 'blur' or 'drop' (flat grey)."""
    if kind == "noise":
        return np.clip(image.astype(np.float32) + rng.normal(0, 70, image.shape), 0, 255).astype(np.uint8)
    if kind == "blur":
        return np.asarray(Image.fromarray(image).filter(ImageFilter.BoxBlur(5)))
    return np.full_like(image, 128)


def write_world(spec: WorldSpec, root: str | Path) -> SyntheticVSPW:
    """Write the world in the VSPW layout (train/val splits, seen_classes.json, corrupted.json)."""
    corrupted: dict[str, list[int]] = {}
    kinds = ("noise", "blur", "drop")

    def nuisances(image, label, video, frame, rng):
        if frame > 0 and rng.random() < spec.corrupt_prob:  # never the first frame: it seeds the memory
            corrupted.setdefault(f"video_{video:03d}", []).append(frame)
            image = corrupt(image, kinds[int(rng.integers(len(kinds)))], rng)
        return image, label

    info = write_synthetic_vspw(
        root, class_names=spec.class_names(), styles=spec.styles(), num_videos=spec.train_videos + spec.val_videos,
        num_frames=spec.num_frames, size=spec.size, seed=spec.seed,
        splits={"train": spec.train_videos, "val": spec.val_videos}, seen_classes=spec.seen_names(),
        objects_per_video=spec.objects_per_video, others_prob=0.0, frame_hook=nuisances,
    )
    Path(root, CORRUPTED_FILE).write_text(json.dumps(corrupted, indent=1))
    return info


def read_corrupted(root: str | Path) -> dict[str, set[int]]:
    """{video name: corrupted frame indices} of a written world."""
    data = json.loads(Path(root, CORRUPTED_FILE).read_text())
    return {video: set(frames) for video, frames in data.items()}
