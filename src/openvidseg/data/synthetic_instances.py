"""A synthetic open-vocabulary *instance* world in the YouTube-VIS layout, for tests and the instance demo.

Objects are coloured, filled shapes named by attribute words ("red circle", "blue star") moving over a
panning textured ground. Each object is one track with one identity: objects occlude each other (later
ones in front), enter from outside the frame and leave it, and several objects of one class may share a
video. So that identity is not free, a video may hold a crossing pair (`crossing_prob`): two objects of one
class that start on opposite sides of the frame and swap places, the smaller passing behind the larger (hidden
for a frame or two) at mid-video. A track's segmentation is null in the frames where nothing of it is visible, as YouTube-VIS writes.

Classes split over compositions as in the semantic demo world: the novel classes are the "diagonal"
(colour i, shape i + shift) pairs, every other pair is base. Categories carry LV-VIS's `partition`
field (0 = base, 2 = novel), so `split="partition"` gives base/novel. Training videos show base classes
only (as LV-VIS's training set); validation videos show every class.

    ROOT/train.json  ROOT/train/JPEGImages/<video>/<frame>.jpg
    ROOT/val.json    ROOT/val/JPEGImages/<video>/<frame>.jpg
    ROOT/base_classes.json (the base names, a split file)   ROOT/world.json (the spec)
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from openvidseg.data.instances import InstanceAnnotations, InstanceCategory, InstanceTrack, VideoInfo
from openvidseg.data.rle import encode_masks
from openvidseg.data.synthetic_styles import COLOURS, ClassStyle
from openvidseg.data.ytvis import write_ytvis_json
from openvidseg.errors import ConfigError, DataError
from openvidseg.files import build_folder_atomically

SPEC_NAME = "world.json"
BASE_CLASSES_NAME = "base_classes.json"
BASE_PARTITION, NOVEL_PARTITION = 0, 2


@dataclass(frozen=True)
class InstanceWorldSpec:
    """Everything that defines an instance world; equal specs write identical datasets."""

    colours: tuple[str, ...] = ("red", "green", "blue", "yellow")
    shapes: tuple[str, ...] = ("circle", "square", "triangle", "star")
    fills: tuple[str, ...] = ("flat", "stripes", "checker", "dots")  # one per shape
    novel_shift: int = 3  # novel = (colour i, shape i + shift)
    train_videos: int = 24
    val_videos: int = 8
    num_frames: int = 12
    size: tuple[int, int] = (96, 128)  # (height, width)
    tracks_per_video: tuple[int, int] = (2, 4)
    same_class_prob: float = 0.25  # chance that a track repeats the class of the video's first track
    crossing_prob: float = 0.0  # chance that a video's first two tracks are a same-class crossing pair
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.fills) != len(self.shapes) or not self.colours or not self.shapes:
            raise ConfigError("an instance world needs colours, shapes, and one fill per shape")
        if min(self.size) < 16 or self.num_frames < 2 or self.tracks_per_video[0] < 2:
            raise ConfigError(f"an instance world needs frames of at least 16x16, 2 frames and 2 tracks per video, got "
                              f"{self.size}, {self.num_frames} and {self.tracks_per_video}")

    def pairs(self) -> list[tuple[str, str]]:
        """(colour, shape) of every class, in category order (id = position + 1)."""
        return [(c, s) for c in self.colours for s in self.shapes]

    def is_novel(self, colour: str, shape: str) -> bool:
        i = self.colours.index(colour)
        return shape == self.shapes[(i + self.novel_shift) % len(self.shapes)]

    def class_names(self) -> tuple[str, ...]:
        return tuple(f"{c} {s}" for c, s in self.pairs())

    def base_names(self) -> list[str]:
        return [f"{c} {s}" for c, s in self.pairs() if not self.is_novel(c, s)]

    def categories(self) -> list[InstanceCategory]:
        return [InstanceCategory(i + 1, f"{c} {s}", NOVEL_PARTITION if self.is_novel(c, s) else BASE_PARTITION)
                for i, (c, s) in enumerate(self.pairs())]

    def styles(self) -> list[ClassStyle]:
        fill = dict(zip(self.shapes, self.fills))
        return [ClassStyle("thing", COLOURS[c], shape=s, texture=fill[s]) for c, s in self.pairs()]


class _Track:
    """One object's class, size and straight path; `kind` 'enter' starts outside the frame and moves in,
    'leave' moves out through the nearest border, 'roam' bounces inside the frame."""

    def __init__(self, class_id: int, kind: str, size: tuple[int, int], num_frames: int, rng: np.random.Generator):
        height, width = size
        self.class_id = class_id
        self.radius = float(rng.uniform(0.13, 0.22) * min(height, width))
        speed = float(rng.uniform(0.05, 0.09) * width)
        self.y = float(rng.uniform(0.25, 0.75) * height)
        self.vy = float(rng.uniform(-0.02, 0.02) * height)
        self.size = size
        self.bounce = kind == "roam"
        direction = 1.0 if rng.random() < 0.5 else -1.0
        if kind == "enter":  # starts fully outside on one side, heading in
            self.x = -1.3 * self.radius if direction > 0 else width + 1.3 * self.radius
            self.vx = direction * max(speed, 2.6 * self.radius / max(num_frames // 2, 1))
        elif kind == "leave":  # starts inside, heading out fast enough to be gone before the end
            self.x = float(rng.uniform(0.35, 0.65) * width)
            distance = (width - self.x if direction > 0 else self.x) + 1.3 * self.radius
            self.vx = direction * max(speed, distance / max(num_frames - 3, 1))
        else:
            self.x = float(rng.uniform(0.15, 0.85) * width)
            self.vx = speed * direction

    def cross(self, other: _Track, num_frames: int, rng: np.random.Generator) -> None:
        """Make this track and `other` (in front, larger) a crossing pair: one row, opposite sides, swapping places
        at mid-video, this one about 0.6x the other's size (so it is hidden behind it as they pass)."""
        height, width = self.size
        other.radius = float(rng.uniform(0.18, 0.22) * min(height, width))
        self.radius = 0.6 * other.radius
        self.y = other.y = float(rng.uniform(0.35, 0.65) * height)
        self.vy = other.vy = 0.0
        self.bounce = other.bounce = False
        start = float(rng.uniform(0.2, 0.3) * width)
        direction = 1.0 if rng.random() < 0.5 else -1.0
        self.x, other.x = (start, width - start) if direction > 0 else (width - start, start)
        self.vx = direction * (width - 2 * start) / max(num_frames - 1, 1)
        other.vx = -self.vx

    def step(self) -> None:
        self.x += self.vx
        self.y += self.vy
        if not 0 <= self.y < self.size[0]:
            self.vy, self.y = -self.vy, float(np.clip(self.y, 0, self.size[0] - 1))
        if self.bounce and not 0 <= self.x < self.size[1]:
            self.vx, self.x = -self.vx, float(np.clip(self.x, 0, self.size[1] - 1))


def _ground(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 grey textured ground (noise or checks), the same class-free background kind everywhere."""
    grey = tuple(int(v) for v in rng.integers(90, 170, 3))
    texture = "noise" if rng.random() < 0.5 else "checker"
    return ClassStyle("stuff", grey, texture=texture).paint(height, width, rng)


def _draw_video(spec: InstanceWorldSpec, classes: list[int], styles: list[ClassStyle], rng: np.random.Generator):
    """(frames (T, H, W, 3) uint8, visible masks (N, T, H, W) bool, class ids (N,)) of one video."""
    height, width = spec.size
    count = int(rng.integers(spec.tracks_per_video[0], spec.tracks_per_video[1] + 1))
    chosen = [int(rng.choice(classes))]
    for _ in range(count - 1):
        chosen.append(chosen[0] if rng.random() < spec.same_class_prob else int(rng.choice(classes)))
    kinds = ["enter", "leave"] + [str(rng.choice(["roam", "enter", "leave"])) for _ in range(count - 2)]
    crossing = spec.crossing_prob > 0 and rng.random() < spec.crossing_prob  # no draw at 0: older worlds stay
    if crossing:
        chosen[1] = chosen[0]
    tracks = [_Track(cid, kind, spec.size, spec.num_frames, rng) for cid, kind in zip(chosen, kinds)]
    order = list(rng.permutation(count))  # depth: later in `order` is in front
    if crossing:
        tracks[0].cross(tracks[1], spec.num_frames, rng)
        back, front = sorted((order.index(0), order.index(1)))
        order[back], order[front] = 0, 1  # the larger (track 1) in front
    pan = int(rng.integers(1, 3)) * int(rng.choice([-1, 1]))
    ground = _ground(height, width + abs(pan) * spec.num_frames, rng)
    sprites = [styles[t.class_id - 1].paint(height, width, rng) for t in tracks]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = np.zeros((spec.num_frames, height, width, 3), dtype=np.uint8)
    visible = np.zeros((count, spec.num_frames, height, width), dtype=bool)
    for t in range(spec.num_frames):
        shift = (t * pan) % max(abs(pan) * spec.num_frames, 1)
        frames[t] = ground[:, shift:shift + width]
        for n in order:
            track = tracks[n]
            shape = styles[track.class_id - 1].shape_mask(yy, xx, track.y, track.x, track.radius)
            frames[t][shape] = sprites[n][shape]
            visible[:, t][:, shape] = False
            visible[n, t] = shape
        for track in tracks:
            track.step()
    return frames, visible, chosen


def _write_split(spec: InstanceWorldSpec, root: Path, split: str, num_videos: int, classes: list[int],
                 seed_offset: int) -> InstanceAnnotations:
    styles = spec.styles()
    videos, tracks = [], []
    height, width = spec.size
    for v in range(num_videos):
        rng = np.random.default_rng([spec.seed, seed_offset, v])
        name = f"video_{v:03d}"
        folder = root / split / "JPEGImages" / name
        folder.mkdir(parents=True, exist_ok=True)
        frames, visible, class_ids = _draw_video(spec, classes, styles, rng)
        files = []
        for t, frame in enumerate(frames):
            Image.fromarray(frame).save(folder / f"{t:05d}.jpg", quality=92, subsampling=0)
            files.append(f"{name}/{t:05d}.jpg")
        video = VideoInfo(v + 1, name, tuple(files), height, width)
        videos.append(video)
        for n, cid in enumerate(class_ids):
            rles = encode_masks(visible[n])
            segs = tuple(rle if visible[n, t].any() else None for t, rle in enumerate(rles))
            if any(s is not None for s in segs):
                tracks.append(InstanceTrack(len(tracks) + 1, video.id, cid, segs))
    annotations = InstanceAnnotations(videos, spec.categories(), tracks, layout="ytvis")
    write_ytvis_json(annotations, root / f"{split}.json")
    return annotations


@dataclass(frozen=True)
class InstanceWorld:
    """What `write_instance_world` wrote."""

    root: Path
    train_file: Path
    val_file: Path
    class_names: tuple[str, ...]
    base_names: tuple[str, ...]
    novel_names: tuple[str, ...]


def _describe(spec: InstanceWorldSpec, root: Path) -> InstanceWorld:
    names = spec.class_names()
    base = tuple(spec.base_names())
    return InstanceWorld(root, root / "train.json", root / "val.json", names, base,
                         tuple(n for n in names if n not in base))


def write_instance_world(spec: InstanceWorldSpec, root: str | Path) -> InstanceWorld:
    """Write the world under `root` (train: base classes only; val: every class). Deterministic under the spec."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    all_ids = [c.id for c in spec.categories()]
    base_ids = [c.id for c in spec.categories() if c.partition == BASE_PARTITION]
    _write_split(spec, root, "train", spec.train_videos, base_ids, 0)
    _write_split(spec, root, "val", spec.val_videos, all_ids, 1)
    (root / BASE_CLASSES_NAME).write_text(json.dumps(spec.base_names()))
    (root / SPEC_NAME).write_text(json.dumps(asdict(spec), indent=1) + "\n")
    return _describe(spec, root)


def ensure_instance_world(spec: InstanceWorldSpec, root: str | Path) -> InstanceWorld:
    """Return the world at `root`, writing it first when absent (safe when several processes ask at
    once); a folder holding a world of another spec is an error."""
    root = Path(root).expanduser()
    wanted = json.loads(json.dumps(asdict(spec)))
    if not (root / SPEC_NAME).is_file():
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise DataError(f"{root} exists but holds no instance world ({SPEC_NAME} missing): remove it or pick "
                            "another folder")
        build_folder_atomically(root, lambda folder: write_instance_world(spec, folder))
    found = {**json.loads(json.dumps(asdict(InstanceWorldSpec()))), **json.loads((root / SPEC_NAME).read_text())}
    if found != wanted:
        changed = sorted(k for k in wanted if found.get(k) != wanted[k])
        raise DataError(f"{root} holds an instance world of another spec ({', '.join(changed)} differ): delete the "
                        "folder to regenerate it, or use another folder")
    return _describe(spec, root)
