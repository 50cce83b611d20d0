"""VSPW-layout datasets: training clips (`VSPWDataset[i]`) and per-video evaluation access (`.videos`).

The seen/unseen split is applied on the fly through `ClassSplit.train_lut()` (the mask files are
never rewritten), so one copy of the data serves every split. The class list comes from
`dataset_classes(root)`: VSPW's 124 classes, or the folder's own class file (generated datasets).

Training item (the models depend on it exactly):
    "frames":       uint8 (T, 3, H, W), reference frames oldest -> newest, then the target frame
    "random_frame": uint8 (3, H, W), a far-away frame of the same video (when random_frame is on)
    "label":        int64 (H, W), the target's label in training indices (seen 0..S-1, 255 ignore)
    "video":        str; "frame_ids": int64 (T,); "random_id": int (indices into the original video)
Images stay RGB 0..255: the models normalise inside.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from openvidseg.data.classes import CLASS_NAME_FORMS, class_names_in_form
from openvidseg.data.frame_source import ImageFrames
from openvidseg.data.io import check_mask, read_mask, valid_id_table
from openvidseg.data.sampling import DEFAULT_OFFSETS, check_offsets, item_rng, sample_training_clip
from openvidseg.data.splits import ClassSplit, load_split
from openvidseg.data.transforms import ClipAugmentation
from openvidseg.data.vspw_layout import FRAME_DIR, FRAME_SUFFIXES, MASK_DIR, check_root, dataset_classes, split_videos
from openvidseg.errors import ConfigError, DataError


class VSPWVideo(ImageFrames):
    """One video of a VSPW-layout folder, read lazily.

    `frame_names` (stems, in time order), `len(video)`, `frame(i)` -> (H, W, 3) uint8 RGB,
    `mask(i)` -> (H, W) uint8 raw dataset ids (not remapped; size and ids checked), `labelled` (indices
    of frames with a mask file). Iterating yields (index, frame) like any `FrameSource`.
    """

    def __init__(self, root: str | Path, name: str, num_classes: int):
        self.root = Path(root)
        folder = self.root / "data" / name / FRAME_DIR
        if not folder.is_dir():
            raise DataError(f"video '{name}' is listed in a split file but {folder} does not exist: "
                            "remove it from the split file or restore the video")
        paths = sorted((p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES), key=lambda p: p.stem)
        if not paths:
            raise DataError(f"video '{name}' has no frames in {folder}")
        super().__init__(paths, name=name)
        self.frame_names = [p.stem for p in paths]
        self._valid = valid_id_table(num_classes)

    def mask_path(self, index: int) -> Path:
        return self.root / "data" / self.name / MASK_DIR / f"{self.frame_names[index]}.png"

    @cached_property
    def labelled(self) -> list[int]:
        """Indices of the frames that have a mask (all of them in VSPW train/val; none in test)."""
        folder = self.root / "data" / self.name / MASK_DIR
        present = {p.stem for p in folder.glob("*.png")} if folder.is_dir() else set()
        orphans = sorted(present - set(self.frame_names))
        if orphans:
            raise DataError(f"missing frame: {self.paths[0].parent / orphans[0]}.jpg (its mask {folder / orphans[0]}.png "
                            f"exists; {len(orphans)} such frame(s) in '{self.name}'): restore the frames or remove "
                            "their masks (`openvidseg data check` lists them all)")
        return [i for i, stem in enumerate(self.frame_names) if stem in present]

    def mask(self, index: int) -> np.ndarray:
        """(H, W) uint8 dataset ids of frame `index` (0 = others, 1..N classes, 255 ignore)."""
        path = self.mask_path(index)
        mask = read_mask(path)
        check_mask(mask, path, self._valid, frame_size=self.size, frame_path=self.paths[index])
        return mask


def chw_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 array -> (3, H, W) uint8 tensor (copied only when the array is read-only or strided)."""
    if not image.flags.writeable or not image.flags.c_contiguous:
        image = np.array(image, order="C")
    return torch.from_numpy(image).permute(2, 0, 1)


def _resolve_split(split: str | ClassSplit, class_names: tuple[str, ...], root: Path) -> ClassSplit:
    if isinstance(split, ClassSplit):
        if tuple(split.class_names) != tuple(class_names):
            raise ConfigError(f"split '{split.name}' is defined over other classes than the dataset at {root}")
        return split
    return load_split(split, class_names)


class VSPWDataset(Dataset):
    """Training clips and evaluation videos of one video split (ROOT/<video_split>.txt) of a VSPW-layout folder.

    `split` ('ov2vss', 'all', a JSON file of seen names, or a ClassSplit) decides the training classes;
    `class_names` ('clean' or 'raw') the form of `self.class_names` (the seen classes in training-index
    order). Every labelled frame of every video is one training item (its target); `transform` (e.g.
    `ClipAugmentation`) is applied to the whole clip with one draw. Randomness comes from
    (seed, epoch, index): call `set_epoch` before each epoch's DataLoader iteration.
    """

    def __init__(
        self,
        root: str | Path,
        video_split: str = "train",
        *,
        split: str | ClassSplit = "ov2vss",
        class_names: str = "clean",
        ref_offsets: Sequence[int] = DEFAULT_OFFSETS,
        random_frame: bool = True,
        reverse_prob: float = 0.5,
        transform: ClipAugmentation | None = None,
        seed: int = 0,
    ):
        if class_names not in CLASS_NAME_FORMS:
            raise ConfigError(f"unknown class-name form '{class_names}': use one of {', '.join(CLASS_NAME_FORMS)}")
        self.root = check_root(root)
        self.video_split = video_split
        self.all_class_names: tuple[str, ...] = dataset_classes(self.root)  # raw, id = position + 1
        self.split = _resolve_split(split, self.all_class_names, self.root)
        self.class_names_form = class_names
        self.class_names = class_names_in_form(self.split.names(self.split.seen, "raw"), class_names)
        self.ref_offsets = check_offsets(ref_offsets)
        self.random_frame = random_frame
        self.reverse_prob = reverse_prob
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self.videos = [VSPWVideo(self.root, name, len(self.all_class_names)) for name in split_videos(self.root, video_split)]
        self._lut = self.split.train_lut()
        self._items = [(v, t) for v, video in enumerate(self.videos) for t in video.labelled]

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of every item (DataLoader workers see it when their iterator starts)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._items)

    def train_label(self, video: VSPWVideo, index: int) -> np.ndarray:
        """(H, W) uint8 label of frame `index` in training indices (seen 0..S-1; unseen, others, ignore -> 255)."""
        return self._lut[video.mask(index)]

    def __getitem__(self, index: int) -> dict[str, object]:
        video_index, target = self._items[index]
        video = self.videos[video_index]
        rng = item_rng(self.seed, self.epoch, index)
        clip = sample_training_clip(target, len(video), rng, self.ref_offsets, self.random_frame, self.reverse_prob)
        cache: dict[int, np.ndarray] = {}
        for i in clip.frame_ids + ((clip.random_id,) if clip.random_id is not None else ()):
            if i not in cache:
                cache[i] = video.frame(i)
        images = [cache[i] for i in clip.frame_ids]
        if clip.random_id is not None:
            images.append(cache[clip.random_id])
        label = self.train_label(video, target)
        if self.transform is not None:
            images, label = self.transform(images, label, rng)
        tensors = [chw_tensor(im) for im in images]
        num = len(clip.frame_ids)
        item: dict[str, object] = {
            "frames": torch.stack(tensors[:num]),
            "label": torch.from_numpy(label.astype(np.int64)),
            "video": video.name,
            "frame_ids": torch.tensor(clip.frame_ids, dtype=torch.int64),
        }
        if clip.random_id is not None:
            item["random_frame"] = tensors[num]
            item["random_id"] = clip.random_id
        return item
