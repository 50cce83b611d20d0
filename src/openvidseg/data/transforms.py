"""Clip augmentation for training, the test-time resize, and normalisation.

`ClipAugmentation` draws one set of parameters per clip (`sample`) and applies it to every frame of
the clip, the random frame and the target label alike (`apply`), following mmsegmentation's pipeline:
keep-ratio random resize (long side = scale * ratio, ratio ~ U(ratio_range)), random crop with
cat_max_ratio, horizontal flip, photometric distortion, and padding to the crop size (image 0,
label 255). Images stay (H, W, 3) uint8 RGB; labels (H, W) uint8 with 255 = ignore. Masks always use
nearest interpolation, so no new ids appear.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from openvidseg.data.classes import IGNORE_INDEX
from openvidseg.data.photometric import PhotometricParams, apply_photometric, sample_photometric
from openvidseg.errors import ConfigError, DataError

CAT_MAX_RATIO_TRIES = 10  # mmseg's RandomCrop redraws the crop up to 10 times
PHOTOMETRIC_PER = ("clip", "frame")


@dataclass(frozen=True)
class AugmentParams:
    """One clip's draw: the resized size, the crop box in the resized image, flip and photometric."""

    resized: tuple[int, int]  # (height, width) after the random resize
    crop: tuple[int, int, int, int]  # (y0, y1, x0, x1) in the resized image
    flip: bool
    photometric: PhotometricParams | tuple[PhotometricParams, ...] | None  # one for the clip, or one per image


def keep_ratio_size(height: int, width: int, long_side: float) -> tuple[int, int]:
    """(height, width) scaled so that the long side is `long_side` (mmcv's rounding: int(x * f + 0.5))."""
    factor = long_side / max(height, width)
    return max(int(height * factor + 0.5), 1), max(int(width * factor + 0.5), 1)


def short_side_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(height, width) scaled so that the short side is `short_side`, aspect ratio kept."""
    factor = short_side / min(height, width)
    return max(int(height * factor + 0.5), 1), max(int(width * factor + 0.5), 1)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 -> (size[0], size[1], 3), bilinear."""
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) uint8 ids -> (size[0], size[1]), nearest (never invents an id)."""
    if mask.shape[:2] == tuple(size):
        return mask
    return np.asarray(Image.fromarray(mask).resize((size[1], size[0]), Image.NEAREST))


def resize_short_side(image: np.ndarray, short_side: int) -> np.ndarray:
    """Test-time resize of an (H, W, 3) uint8 image: aspect ratio kept, short side = `short_side` (bilinear)."""
    return resize_image(image, short_side_size(image.shape[0], image.shape[1], short_side))


def crop_class_ratio_ok(crop: np.ndarray, cat_max_ratio: float, ignore_index: int = IGNORE_INDEX) -> bool:
    """mmseg's test: the crop holds more than one class and none covers more than `cat_max_ratio` of its
    labelled (non-ignore) pixels."""
    counts = np.bincount(crop.ravel(), minlength=256)
    counts[ignore_index] = 0
    counts = counts[counts > 0]
    return len(counts) > 1 and counts.max() / counts.sum() < cat_max_ratio


class ClipAugmentation:
    """Training augmentation with one geometric draw per clip.

    crop_size: (height, width); scale: base of the random resize (long side = scale * ratio);
    ratio_range: (low, high) of the ratio; cat_max_ratio: 1.0 disables the crop check;
    flip_prob: horizontal flip probability; photometric: apply mmseg's photometric distortion;
    photometric_per: 'clip' (ours: one draw for every image of the clip, so colours stay consistent over
    time) or 'frame' (the public OV2VSS code: an independent draw for each image).
    """

    def __init__(
        self,
        crop_size: Sequence[int] = (480, 480),
        scale: int = 1024,
        ratio_range: Sequence[float] = (0.5, 2.0),
        cat_max_ratio: float = 0.75,
        flip_prob: float = 0.5,
        photometric: bool = True,
        photometric_per: str = "clip",
    ):
        if len(crop_size) != 2 or min(crop_size) < 1:
            raise ConfigError(f"crop_size must be [height, width] of positive ints, got {list(crop_size)}")
        if len(ratio_range) != 2 or not 0 < ratio_range[0] <= ratio_range[1]:
            raise ConfigError(f"ratio_range must be [low, high] with 0 < low <= high, got {list(ratio_range)}")
        if scale < 1:
            raise ConfigError(f"scale must be a positive number of pixels, got {scale}")
        if photometric_per not in PHOTOMETRIC_PER:
            raise ConfigError(f"photometric_per must be {' or '.join(PHOTOMETRIC_PER)}, got '{photometric_per}'")
        self.crop_size = (int(crop_size[0]), int(crop_size[1]))
        self.scale = scale
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.cat_max_ratio = cat_max_ratio
        self.flip_prob = flip_prob
        self.photometric = photometric
        self.photometric_per = photometric_per

    def _crop_box(self, resized: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int, int]:
        crop_h, crop_w = min(self.crop_size[0], resized[0]), min(self.crop_size[1], resized[1])
        y0 = int(rng.integers(resized[0] - crop_h + 1))
        x0 = int(rng.integers(resized[1] - crop_w + 1))
        return y0, y0 + crop_h, x0, x0 + crop_w

    def sample(self, label: np.ndarray, rng: np.random.Generator, num_images: int = 1) -> AugmentParams:
        """Draw the clip's parameters; `label` (H, W) uint8 (training indices, 255 ignore) drives cat_max_ratio;
        with photometric_per='frame', one photometric draw for each of the `num_images` images."""
        ratio = rng.uniform(*self.ratio_range)
        resized = keep_ratio_size(label.shape[0], label.shape[1], int(self.scale * ratio))
        crop = self._crop_box(resized, rng)
        if self.cat_max_ratio < 1.0:
            big = resize_mask(label, resized)
            for _ in range(CAT_MAX_RATIO_TRIES):
                if crop_class_ratio_ok(big[crop[0]:crop[1], crop[2]:crop[3]], self.cat_max_ratio):
                    break
                crop = self._crop_box(resized, rng)
        flip = bool(rng.random() < self.flip_prob)
        photometric = None
        if self.photometric:
            photometric = (tuple(sample_photometric(rng) for _ in range(num_images)) if self.photometric_per == "frame"
                           else sample_photometric(rng))
        return AugmentParams(resized=resized, crop=crop, flip=flip, photometric=photometric)

    def _geometry(self, array: np.ndarray, params: AugmentParams, is_mask: bool) -> np.ndarray:
        """Resize + crop + flip of one image (H, W, 3) or mask (H, W)."""
        y0, y1, x0, x1 = params.crop
        if is_mask:  # nearest on the whole mask (cheap), so the crop is exactly what `sample` checked
            out = resize_mask(array, params.resized)[y0:y1, x0:x1]
        else:  # bilinear on the crop window only: the same pixels as resizing everything, far less work
            sy, sx = array.shape[0] / params.resized[0], array.shape[1] / params.resized[1]
            box = (x0 * sx, y0 * sy, x1 * sx, y1 * sy)  # the crop window in source coordinates
            out = np.asarray(Image.fromarray(array).resize((x1 - x0, y1 - y0), Image.BILINEAR, box=box))
        return np.ascontiguousarray(out[:, ::-1] if params.flip else out)

    def _pad(self, array: np.ndarray, value: int) -> np.ndarray:
        """Pad bottom and right up to the crop size (crops of images smaller than it)."""
        pad_h, pad_w = self.crop_size[0] - array.shape[0], self.crop_size[1] - array.shape[1]
        if not (pad_h or pad_w):
            return array
        return np.pad(array, ((0, pad_h), (0, pad_w)) + (((0, 0),) if array.ndim == 3 else ()), constant_values=value)

    def apply(self, images: Sequence[np.ndarray], label: np.ndarray | None,
              params: AugmentParams) -> tuple[list[np.ndarray], np.ndarray | None]:
        """Apply one draw to frames (each (H, W, 3) uint8, all the label's size) and the label (H, W) uint8.

        Returns frames (crop_h, crop_w, 3) uint8 and the label (crop_h, crop_w) uint8 (padding 0 and 255).
        """
        out_images = []
        per_image = isinstance(params.photometric, tuple)
        if per_image and len(params.photometric) != len(images):
            raise ValueError(f"{len(params.photometric)} photometric draws for {len(images)} images")
        for i, image in enumerate(images):
            if label is not None and image.shape[:2] != label.shape:
                raise DataError(f"frame of size {image.shape[:2]} does not match its clip's label {label.shape}")
            image = self._geometry(image, params, is_mask=False)
            if params.photometric is not None:  # before padding, as mmseg: the padding stays 0
                image = apply_photometric(image, params.photometric[i] if per_image else params.photometric)
            out_images.append(self._pad(image, 0))
        out_label = None if label is None else self._pad(self._geometry(label, params, is_mask=True), IGNORE_INDEX)
        return out_images, out_label

    def apply_masks(self, masks: np.ndarray, params: AugmentParams) -> np.ndarray:
        """Apply one draw's geometry (resize nearest, crop, flip, pad with False) to instance masks:
        (N, H, W) bool -> (N, crop_h, crop_w) bool, exactly as `apply` moves the frames' pixels."""
        out = np.zeros((masks.shape[0], *self.crop_size), dtype=bool)
        for n, mask in enumerate(masks):
            moved = self._pad(self._geometry(mask.astype(np.uint8), params, is_mask=True), 0)
            out[n] = moved.astype(bool)
        return out

    def __call__(self, images: Sequence[np.ndarray], label: np.ndarray,
                 rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
        """Sample one draw and apply it to every image of the clip and to the label."""
        images_out, label_out = self.apply(images, label, self.sample(label, rng, len(images)))
        assert label_out is not None
        return images_out, label_out


# ImageNet statistics in 0..255 units (mmseg's img_norm_cfg), for models that do not normalise inside
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


class Normalize:
    """uint8 (..., 3, H, W) tensor or (H, W, 3) array in 0..255 -> float32 (x - mean) / std per channel.

    The OV2VSS models normalise inside (each encoder with its own statistics); this is for other models.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD):
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ConfigError(f"Normalize needs 3 means and 3 positive stds, got mean={list(mean)} std={list(std)}")
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, images):
        if isinstance(images, np.ndarray):  # (..., H, W, 3) channels last
            return ((images.astype(np.float32) - np.float32(self.mean)) / np.float32(self.std)).astype(np.float32)
        import torch

        shape = (3, 1, 1)
        mean = torch.tensor(self.mean, dtype=torch.float32, device=images.device).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32, device=images.device).view(shape)
        return (images.float() - mean) / std
