"""A synthetic open-vocabulary audio-visual world, written in the AVSBench-semantic layout.

Videos of 5 frames at 1 fps (5 s, as AVSBench's v1 clips) show 3-4 moving, occluding shapes over textured
ground (the semantic demo's world: classes are "<colour> <shape>", novel ones new combinations of
attributes). Each shape class has its own sound (demo/sounds.py: the colour sets the pitch, the shape the
timbre). About half of a video's objects are its sound sources, the others silent distractors that look
just as they would when sounding; in every second only some of the visible sources sound. The masks hold
the sounding objects only (everything else is background), so what sounds decides what is segmented: a
model that outlines every shape it sees pays for every silent one. Training videos show base
classes only: novel classes are never seen nor heard in training. Each test video is also written as an
MP4 with its sound (`videos/<uid>.mp4`) for `segment`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from openvidseg.data.audio_video_writer import write_video_with_audio
from openvidseg.data.avsbench_layout import AVSVideo
from openvidseg.data.avsbench_writer import write_label_file, write_metadata, write_video
from openvidseg.data.synthetic import draw_video
from openvidseg.demo.sounds import TIMBRES, mix_second
from openvidseg.demo.world import WorldSpec

SEEN_FILE, VIDEO_DIR, SILENT_FILE = "seen_classes.json", "videos", "silent_objects.json"
GENERATOR_VERSION = 3  # part of the cache key: bump when the same spec would write other data
SOUND_VERSION = 2  # part of the sound key: bump when the same classes would sound otherwise


def _visual_default() -> WorldSpec:
    return WorldSpec(num_frames=5, seed=0)


@dataclass(frozen=True)
class AudioWorldSpec:
    """Everything that defines an audio-visual world; equal specs write identical datasets (the cache key).

    `visual`: the drawing and the classes (its things are the sounding classes, its grounds are background);
    `pitches`: one per colour (Hz), `timbres`: one per shape; `silent_share`: the share of a video's objects
    that never sound (rounded at random, at least one object sounds); `sound_prob`: each visible source's chance
    to sound in a second (at least one sounds); `novel_share`: the share of test videos that show a novel class
    (every 1 / novel_share-th one, the novel classes taking turns)."""

    visual: WorldSpec = field(default_factory=_visual_default)
    pitches: tuple[float, ...] = (262.0, 392.0, 587.0, 880.0)
    timbres: tuple[str, ...] = TIMBRES
    train_videos: int = 96
    test_videos: int = 24
    frames: int = 5
    objects_per_video: tuple[int, int] = (3, 4)
    silent_share: float = 0.5
    sound_prob: float = 0.8
    novel_share: float = 0.5
    sample_rate: int = 16_000

    def class_names(self) -> tuple[str, ...]:
        """The sounding classes (id = position + 1; 0 is background): every colour x shape composition, in
        AVSBench's raw form ("red-circle"; prompts read the clean form, "red circle")."""
        return tuple(f"{c}-{s}" for c, s in self.visual.things())

    def novel_names(self) -> list[str]:
        return [f"{c}-{s}" for c, s in self.visual.things() if (c, s) in self.visual.unseen_pairs()]

    def base_names(self) -> list[str]:
        novel = set(self.novel_names())
        return [n for n in self.class_names() if n not in novel]

    def signature(self, name: str) -> tuple[float, str]:
        """(pitch Hz, timbre) of a class: its colour's pitch and its shape's timbre."""
        colour, shape = name.split("-")
        return self.pitches[self.visual.colours.index(colour)], self.timbres[self.visual.shapes.index(shape)]

    def key(self) -> str:
        """A short stable name for caches."""
        text = json.dumps([GENERATOR_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]

    def sound_key(self) -> str:
        """A short stable name of what the classes sound like (names, pitches, timbres, sample rate), the same for
        worlds that differ only in their drawing or their videos (e.g. the demo's seeds)."""
        v = self.visual
        text = json.dumps([SOUND_VERSION, v.colours, v.shapes, v.unseen_shift, self.pitches, self.timbres,
                           self.sample_rate])
        return hashlib.sha1(text.encode()).hexdigest()[:10]


def _sources(candidates: list[int], spec: AudioWorldSpec, rng: np.random.Generator) -> list[int]:
    """A video's sound sources among its objects (the first always among them): all but a `silent_share` of
    them, the count of silent ones rounded at random."""
    silent = min(int(len(candidates) * spec.silent_share + rng.random()), len(candidates) - 1)
    return candidates[:len(candidates) - silent]


def _visible(label: np.ndarray, ids: list[int]) -> list[int]:
    """The style ids among `ids` that cover at least 1% of a frame's label map."""
    return [c for c in ids if (label == c).mean() >= 0.01]


def _sounding(label: np.ndarray, sources: list[int], spec: AudioWorldSpec, rng: np.random.Generator) -> list[int]:
    """The style ids that sound in one second: each visible source with probability sound_prob, at least one."""
    visible = _visible(label, sources)
    if not visible:
        return []
    chosen = [c for c in visible if rng.random() < spec.sound_prob]
    return chosen or [visible[int(rng.integers(len(visible)))]]


def write_audio_world(spec: AudioWorldSpec, root: str | Path) -> list[AVSVideo]:
    """Write the world under `root`: AVSBench-semantic layout (metadata.csv, label2idx.json, v1m/<uid>/...),
    seen_classes.json (the base names, for `class_split=`), videos/<uid>.mp4 of the test videos and
    silent_objects.json ({uid: {silent distractor's name: the frames where it is visible}})."""
    root = Path(root)
    visual, names = spec.visual, spec.class_names()
    styles = visual.styles()
    num_stuff = len(visual.grounds)
    thing_ids = {name: num_stuff + i + 1 for i, name in enumerate(names)}  # ids among the drawing's styles
    base = [thing_ids[n] for n in spec.base_names()]
    novel = [thing_ids[n] for n in spec.novel_names()]
    videos, silent = [], {}
    for index in range(spec.train_videos + spec.test_videos):
        split = "train" if index < spec.train_videos else "test"
        rng = np.random.default_rng([visual.seed, 7, index])
        count = int(rng.integers(spec.objects_per_video[0], spec.objects_per_video[1] + 1))
        candidates = [int(c) for c in rng.choice(base, size=count, replace=False)]
        test_index = index - spec.train_videos
        if split == "test" and int((test_index + 1) * spec.novel_share) > int(test_index * spec.novel_share):
            shown = int(test_index * spec.novel_share)  # the novel classes take turns
            candidates[0] = novel[shown % len(novel)]
        sources = _sources(candidates, spec, rng)
        frames, masks, sound, heard, seen_silent = [], {}, [], set(), {}
        drawn = draw_video(styles, spec.frames, visual.size, rng, (count, count), 0.0, things=candidates)
        for k, (image, label) in enumerate(drawn):
            sounding = _sounding(label, sources, spec, rng)
            heard.update(sounding)
            for cid in _visible(label, [c for c in candidates if c not in sources]):
                seen_silent.setdefault(names[cid - num_stuff - 1], []).append(k)
            mask = np.zeros_like(label)
            for cid in sounding:
                mask[label == cid] = cid - num_stuff
            frames.append(image)
            masks[k] = mask
            sound.append(mix_second([spec.signature(names[c - num_stuff - 1]) for c in sounding], spec.sample_rate, rng))
        uid = f"{split}_{index:03d}"
        silent[uid] = seen_silent
        video = AVSVideo(root, uid, "v1m", split, tuple(names[c - num_stuff - 1] for c in sorted(heard)))
        audio = np.concatenate(sound)
        write_video(video, frames, masks, audio, spec.sample_rate)
        if split == "test":
            (root / VIDEO_DIR).mkdir(parents=True, exist_ok=True)
            write_video_with_audio(root / VIDEO_DIR / f"{uid}.mp4", frames, 1.0, audio, spec.sample_rate)
        videos.append(video)
    write_metadata(root, videos)
    write_label_file(root, names)
    (root / SEEN_FILE).write_text(json.dumps(spec.base_names()))
    (root / SILENT_FILE).write_text(json.dumps(silent))
    return videos
