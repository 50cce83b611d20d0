"""Video instance segmentation datasets: training clips (`VideoInstanceDataset[i]`) and per-video
evaluation access (`.videos`), for every layout `load_instance_annotations` reads (YouTube-VIS 2019/2021,
OVIS, LV-VIS, BURST, COCO/LVIS images as one-frame videos).

Training item (the instance models depend on it exactly):
    "frames":      uint8 (T, 3, H, W), RGB 0..255, in time order (reversed when the clip is played backwards)
    "masks":       bool (N, T, H, W), the N tracks that are visible in at least one frame of the clip
    "present":     bool (N, T), track n has a non-empty mask in frame t (False: absent, occluded, cropped out)
    "labels":      int64 (N,), training class index 0..S-1 = position in `dataset.class_names` (seen classes)
    "track_ids":   int64 (N,), the dataset's annotation ids: the same object has the same id in every frame
    "category_ids": int64 (N,), the dataset's category ids
    "video":       str (frame folder name), "video_id": int, "frame_ids": int64 (T,) indices into the video
Tracks of unseen (novel) classes and crowd tracks are left out of training items. A clip is T =
`num_frames` frames around a reference frame (`sample_instance_clip`); every frame of every video with
a training track is one item's reference. `transform` (a `ClipAugmentation`) applies one geometric and
photometric draw to the whole clip; for image datasets (COCO/LVIS) each of the T copies of the image
gets its own draw, making a pseudo video as the peers train on images. Items differ in N (and, without
a transform, in size): batch them with `collate_instance_clips`.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from openvidseg.data.classes import CLASS_NAME_FORMS, class_names_in_form
from openvidseg.data.frame_source import ImageFrames
from openvidseg.data.instances import InstanceAnnotations, InstanceTrack, VideoInfo
from openvidseg.data.rle import decode_rles
from openvidseg.data.sampling import item_rng, sample_instance_clip
from openvidseg.data.splits import ClassSplit
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.data.vspw import chw_tensor
from openvidseg.errors import ConfigError, DataError


class InstanceVideo(ImageFrames):
    """One video of an instance dataset, read lazily: `frame(i)` -> (H, W, 3) uint8, `tracks` (every
    track of the video, any class, crowd included), `masks(i)` -> (N, H, W) bool of those tracks."""

    def __init__(self, info: VideoInfo, tracks: Sequence[InstanceTrack], image_root: Path):
        super().__init__([image_root / name for name in info.file_names], name=info.name)
        self.info = info
        self.video_id = info.id
        self.tracks = list(tracks)

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` -> (H, W, 3) uint8 RGB, checked to have the size the annotations give the video."""
        image = super().frame(index)
        if image.shape[:2] != (self.info.height, self.info.width):
            raise DataError(f"frame {self.paths[index]} is {image.shape[1]}x{image.shape[0]} but its annotations say "
                            f"{self.info.width}x{self.info.height}: frames and masks must have one size")
        return image

    def masks(self, index: int, tracks: Sequence[InstanceTrack] | None = None) -> np.ndarray:
        """(N, H, W) bool masks of `tracks` (default: all of the video's) in frame `index`."""
        tracks = self.tracks if tracks is None else tracks
        return decode_rles([t.segmentations[index] for t in tracks], self.info.height, self.info.width)


class VideoInstanceDataset(Dataset):
    """Instance training clips and evaluation videos of one annotation file.

    annotations: `InstanceAnnotations` or the path of an annotation file (any layout); image_root: the
    folder the file's frame paths are relative to (default: found next to the file); split: seen/unseen
    classes ('partition', 'frequency', 'all', a JSON list of seen names, or a ClassSplit; default: the
    file's LV-VIS partition when it has one, else 'all'); class_names: 'clean' or 'raw' form of
    `self.class_names`; num_frames / frame_range / reverse_prob: clip sampling (`sample_instance_clip`).
    Randomness comes from (seed, epoch, index): call `set_epoch` before each epoch.
    """

    def __init__(
        self,
        annotations: InstanceAnnotations | str | Path,
        image_root: str | Path | None = None,
        *,
        split: str | ClassSplit | None = None,
        class_names: str = "clean",
        num_frames: int = 2,
        frame_range: int = 20,
        reverse_prob: float = 0.0,
        transform: ClipAugmentation | None = None,
        seed: int = 0,
    ):
        from openvidseg.data.instance_layouts import load_instance_annotations, resolve_image_root

        if class_names not in CLASS_NAME_FORMS:
            raise ConfigError(f"unknown class-name form '{class_names}': use one of {', '.join(CLASS_NAME_FORMS)}")
        if transform is not None and transform.cat_max_ratio < 1.0:
            raise ConfigError("cat_max_ratio applies to semantic labels: use cat_max_ratio=1.0 for instance clips")
        if not isinstance(annotations, InstanceAnnotations):
            annotations = load_instance_annotations(annotations)
        self.annotations = annotations
        self.image_root = resolve_image_root(annotations, image_root)
        self.split = annotations.class_split(split if split is not None else annotations.default_split())
        self.class_names_form = class_names
        self.all_class_names = class_names_in_form(annotations.class_names, class_names)  # every category, in id order
        self.category_ids = annotations.category_ids  # position k of all_class_names -> dataset category id
        self.class_names = class_names_in_form(self.split.names(self.split.seen, "raw"), class_names)
        self.train_category_ids = tuple(annotations.categories[i - 1].id for i in self.split.seen)
        self.num_frames, self.frame_range, self.reverse_prob = num_frames, frame_range, reverse_prob
        self.pseudo_video = annotations.layout == "coco"  # images: T copies, one augmentation draw each
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.videos = [InstanceVideo(v, annotations.tracks_of(v.id), self.image_root) for v in annotations.videos]
        label_of = {cid: i for i, cid in enumerate(self.train_category_ids)}
        self._train_tracks = [[(t, label_of[t.category_id]) for t in video.tracks
                               if not t.iscrowd and t.category_id in label_of] for video in self.videos]
        self._items = [(v, f) for v, video in enumerate(self.videos) if self._train_tracks[v]
                       for f in range(len(video)) if any(t.segmentations[f] is not None for t, _ in self._train_tracks[v])]

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of every item."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._items)

    def _augment(self, images: list[np.ndarray], masks: np.ndarray,
                 rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
        """One draw for the clip (videos) or one per frame (pseudo videos of an image); masks (N, T, H, W)."""
        assert self.transform is not None
        groups = [[t] for t in range(len(images))] if self.pseudo_video else [list(range(len(images)))]
        out_images, out_masks = [], []
        for group in groups:
            params = self.transform.sample(np.zeros(images[group[0]].shape[:2], dtype=np.uint8), rng)
            moved, _ = self.transform.apply([images[t] for t in group], None, params)
            out_images += moved
            out_masks += [self.transform.apply_masks(masks[:, t], params) for t in group]
        return out_images, np.stack(out_masks, axis=1)

    def __getitem__(self, index: int) -> dict[str, object]:
        video_index, reference = self._items[index]
        video = self.videos[video_index]
        rng = item_rng(self.seed, self.epoch, index)
        frame_ids = sample_instance_clip(reference, len(video), self.num_frames, self.frame_range, rng,
                                         self.reverse_prob)
        cache: dict[int, np.ndarray] = {}
        for i in frame_ids:
            if i not in cache:
                cache[i] = video.frame(i)
        images = [cache[i] for i in frame_ids]
        tracks = [t for t, _ in self._train_tracks[video_index]]
        labels = np.array([label for _, label in self._train_tracks[video_index]], dtype=np.int64)
        masks = np.stack([video.masks(i, tracks) for i in frame_ids], axis=1)  # (N, T, H, W)
        if self.transform is not None:
            images, masks = self._augment(images, masks, rng)
        present = masks.any(axis=(2, 3))
        keep = present.any(axis=1)
        return {
            "frames": torch.stack([chw_tensor(im) for im in images]),
            "masks": torch.from_numpy(masks[keep]),
            "present": torch.from_numpy(present[keep]),
            "labels": torch.from_numpy(labels[keep]),
            "track_ids": torch.tensor([t.id for t, k in zip(tracks, keep) if k], dtype=torch.int64),
            "category_ids": torch.tensor([t.category_id for t, k in zip(tracks, keep) if k], dtype=torch.int64),
            "video": video.name,
            "video_id": video.video_id,
            "frame_ids": torch.tensor(frame_ids, dtype=torch.int64),
        }


def collate_instance_clips(items: Sequence[dict[str, object]]) -> dict[str, object]:
    """Batch training items: "frames" stacked to (B, T, 3, H, W) when the items share a size (else a list),
    every other key a list of B per-item values (N differs between clips)."""
    if not items:
        raise DataError("cannot collate an empty batch")
    frames = [item["frames"] for item in items]
    same = all(f.shape == frames[0].shape for f in frames)
    batch: dict[str, object] = {"frames": torch.stack(frames) if same else frames}
    for key in items[0]:
        if key != "frames":
            batch[key] = [item[key] for item in items]
    return batch
