"""AVSBench-semantic-layout datasets: training clips with each frame's audio window, and evaluation clips.

The base/novel split (`ClassSplit`, default 'ov_avss': 40 base, 30 novel) is applied on the fly: masks are
never rewritten. Training sees base classes only: novel pixels are not scored (255) and, by default,
videos whose sounding classes include a novel one are left out entirely (novel classes are then never
seen nor heard in training, as OV-AVSS's zero-shot split).

Item (training and evaluation alike):
    "frames":   uint8 (T, 3, H, W) RGB 0..255, T = clip_length consecutive frames
    "audio":    float32 (T, L) each frame's audio window at 16 kHz (see `audio_timing`)
    "labels":   int64 (T, H, W): training: 0 background, 1..S the base classes in id order, 255 not scored
                (novel pixels, unlabelled frames); evaluation: dataset ids 0..N, 255 not scored
    "labelled": bool (T,) frames that have a mask
    "video": str (uid); "frame_ids": int64 (T,)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from openvidseg.data.audio import MISSING, WINDOW_SECONDS, FrameAudio, read_audio, silent_track
from openvidseg.data.avsbench_layout import (
    FPS, SUBSETS, AVSVideo, check_root, dataset_classes, read_colour_mask, read_metadata,
)
from openvidseg.data.classes import CLASS_NAME_FORMS, IGNORE_INDEX, class_names_in_form
from openvidseg.data.io import read_image
from openvidseg.data.sampling import item_rng
from openvidseg.data.splits import ClassSplit, load_split
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.errors import ConfigError, DataError

AUDIO_TIMINGS = ("vggish", "frames")
VGGISH_HOP = 0.96  # seconds between VGGish patches


@dataclass(frozen=True)
class ClipRef:
    """One clip: a video and its first frame."""

    video: AVSVideo
    start: int


def frame_audio(video: AVSVideo, timing: str = "vggish", missing: str = "error") -> FrameAudio:
    """Each frame's audio window of an AVSBench video.

    timing 'vggish': frame k hears VGGish patch k of the clip's track, [0.96 k, 0.96 k + 0.975) s, exactly
    as the public pipelines (they cut the whole track into patches); 'frames': [k, k + 0.975) s, the
    second the frame opens (frames are extracted at 1 fps).
    """
    if timing not in AUDIO_TIMINGS:
        raise ConfigError(f"unknown audio timing '{timing}': use one of {', '.join(AUDIO_TIMINGS)}")
    step = VGGISH_HOP if timing == "vggish" else 1.0 / FPS
    times = np.arange(video.num_frames, dtype=np.float64) * step
    if not video.audio_path.is_file():
        if missing == "error":
            raise DataError(f"missing audio: {video.audio_path} (video '{video.uid}'); restore it or let missing "
                            "audio be silence (data.audio_missing=silence)")
        track = silent_track(0.0, video.num_frames / FPS)
    else:
        track = read_audio(video.audio_path)
    return FrameAudio(track, times, step, window_seconds=WINDOW_SECONDS, anchor="start", missing=missing,
                      name=str(video.audio_path))


class AVSBenchDataset(Dataset):
    """Clips of the videos of one split (metadata.csv's `split` column) of an AVSBench-semantic-layout folder.

    training: every labelled frame's clip is an item, clips of `clip_length` consecutive frames drawn at
    random around it (per seed, epoch and index), `transform` applied with one draw per clip; otherwise each
    video is cut into consecutive clips (v2's 10 frames: two of 5) read at their own size.
    `subsets`: which of v1s / v1m / v2 to use. `class_names`: 'clean' or 'raw' form of `self.class_names`.
    """

    def __init__(self, root, split: str = "train", *, training: bool = False, subsets: Sequence[str] = SUBSETS,
                 class_split: str | ClassSplit = "ov_avss", class_names: str = "clean", clip_length: int = 5,
                 audio_timing: str = "vggish", audio_missing: str = "error", exclude_novel_videos: bool = True,
                 transform: ClipAugmentation | None = None, seed: int = 0) -> None:
        unknown = [s for s in subsets if s not in SUBSETS]
        if unknown or not subsets:
            raise ConfigError(f"unknown AVSBench subsets {unknown or list(subsets)}: use some of {', '.join(SUBSETS)}")
        if class_names not in CLASS_NAME_FORMS:
            raise ConfigError(f"unknown class-name form '{class_names}': use one of {', '.join(CLASS_NAME_FORMS)}")
        if audio_missing not in MISSING or audio_timing not in AUDIO_TIMINGS:
            raise ConfigError(f"audio_missing must be one of {MISSING} and audio_timing one of {AUDIO_TIMINGS}")
        if clip_length < 1:
            raise ConfigError(f"clip_length must be at least 1, got {clip_length}")
        self.root = check_root(root)
        self.all_class_names = dataset_classes(self.root)
        self.split = class_split if isinstance(class_split, ClassSplit) else load_split(class_split, self.all_class_names)
        if tuple(self.split.class_names) != tuple(self.all_class_names):
            raise ConfigError(f"split '{self.split.name}' is defined over other classes than the dataset at {self.root}")
        self.training, self.clip_length, self.transform, self.seed, self.epoch = training, clip_length, transform, seed, 0
        self.audio_timing, self.audio_missing = audio_timing, audio_missing
        self.class_names_form = class_names
        self.class_names = class_names_in_form(self.split.names(self.split.seen, "raw"), class_names)
        novel = {self.all_class_names[i - 1] for i in self.split.unseen}
        videos = [v for v in read_metadata(self.root) if v.split == split and v.subset in subsets]
        if training and exclude_novel_videos:
            videos = [v for v in videos if not novel.intersection(v.objects)]
        self.video_split, self.videos = split, videos
        lut = {0: 0, **{cid: i + 1 for i, cid in enumerate(self.split.seen)}}
        self._train_lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
        self._train_lut[list(lut)] = list(lut.values())
        if training:
            self.clips = [ClipRef(v, t) for v in videos for t in v.labelled_frames]
        else:
            self.clips = [ClipRef(v, s) for v in videos for s in range(0, v.num_frames, clip_length)]

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of every item (DataLoader workers see it when their iterator starts)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.clips)

    def mask(self, video: AVSVideo, index: int) -> np.ndarray:
        """(H, W) uint8 dataset ids of frame `index` (0 background, 1..N, 255 not scored)."""
        mask = read_colour_mask(video.mask_path(index), len(self.all_class_names) + 1)
        bad = np.unique(mask[(mask > len(self.all_class_names)) & (mask != IGNORE_INDEX)])
        if bad.size:
            raise DataError(f"{video.mask_path(index)} holds ids {bad[:6].tolist()} beyond the {len(self.all_class_names)} classes")
        return mask

    def _clip_frames(self, ref: ClipRef, rng: np.random.Generator) -> list[int]:
        count = min(self.clip_length, ref.video.num_frames)
        if not self.training:
            return list(range(ref.start, min(ref.start + count, ref.video.num_frames)))
        low, high = max(0, ref.start - count + 1), min(ref.start, ref.video.num_frames - count)
        first = int(rng.integers(low, high + 1))
        return list(range(first, first + count))

    def __getitem__(self, index: int) -> dict[str, object]:
        ref = self.clips[index]
        video = ref.video
        rng = item_rng(self.seed, self.epoch, index)
        frame_ids = self._clip_frames(ref, rng)
        images = [read_image(video.frame_path(i)) for i in frame_ids]
        labelled = [i in video.labelled_frames for i in frame_ids]
        masks = []
        for i, has_mask in zip(frame_ids, labelled):
            if not has_mask:
                masks.append(np.full(images[0].shape[:2], IGNORE_INDEX, dtype=np.uint8))
                continue
            mask = self.mask(video, i)
            if mask.shape != images[0].shape[:2]:
                raise DataError(f"mask {video.mask_path(i)} is {mask.shape[1]}x{mask.shape[0]} but its frame is "
                                f"{images[0].shape[1]}x{images[0].shape[0]}")
            masks.append(self._train_lut[mask] if self.training else mask)
        if self.transform is not None:
            params = self.transform.sample(masks[labelled.index(True)] if any(labelled) else masks[0], rng)
            images, _ = self.transform.apply(images, None, params)
            masks = [self.transform.apply([], m, params)[1] for m in masks]
        audio = frame_audio(video, self.audio_timing, self.audio_missing).windows(frame_ids)
        return {
            "frames": torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2),
            "audio": torch.from_numpy(audio),
            "labels": torch.from_numpy(np.stack(masks).astype(np.int64)),
            "labelled": torch.tensor(labelled),
            "video": video.uid,
            "frame_ids": torch.tensor(frame_ids, dtype=torch.int64),
        }
