"""Clip augmentation: one draw for every frame, cat_max_ratio, nearest masks, padding, photometric, normalisation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from openvidseg.data.photometric import PhotometricParams, apply_photometric, sample_photometric, shift_hue_saturation
from openvidseg.data.transforms import (
    AugmentParams, ClipAugmentation, Normalize, crop_class_ratio_ok, keep_ratio_size, resize_image, resize_short_side,
)
from openvidseg.errors import ConfigError


def gradient_frame(height: int, width: int, frame_id: int) -> np.ndarray:
    """R grows with x, G with y, B = a constant that names the frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    red = (xx * 255 // (width - 1)).astype(np.uint8)
    green = (yy * 255 // (height - 1)).astype(np.uint8)
    return np.stack([red, green, np.full_like(red, 40 * frame_id)], axis=-1)


def test_keep_ratio_resize_puts_the_long_side_at_scale_times_ratio():
    assert keep_ratio_size(480, 854, 1024) == (576, 1024)
    assert keep_ratio_size(854, 480, 512) == (512, 288)
    aug = ClipAugmentation(crop_size=(64, 64), scale=200, ratio_range=(0.5, 2.0), cat_max_ratio=1.0, photometric=False)
    label = np.zeros((60, 120), np.uint8)
    for seed in range(20):
        params = aug.sample(label, np.random.default_rng(seed))
        assert 100 <= max(params.resized) <= 400 and params.resized == keep_ratio_size(60, 120, max(params.resized))


def test_every_frame_gets_the_same_crop_box_and_flip():
    height, width = 90, 160
    frames = [gradient_frame(height, width, k) for k in range(5)]
    label = (np.mgrid[0:height, 0:width][1] * 4 // width).astype(np.uint8)  # 4 vertical bands of classes 0..3
    aug = ClipAugmentation(crop_size=(48, 64), scale=200, ratio_range=(0.8, 1.6), cat_max_ratio=1.0, photometric=False)
    flips = set()
    for seed in range(12):
        params = aug.sample(label, np.random.default_rng(seed))
        out, out_label = aug.apply(frames, label, params)
        flips.add(params.flip)
        for k, image in enumerate(out):
            assert np.array_equal(image[..., :2], out[0][..., :2])  # same geometry on every frame
            assert (image[..., 2] == 40 * k).all()  # and each frame's own content
        red = out[0][..., 0].astype(int)
        step = np.sign(np.diff(red, axis=1).sum())
        assert step == (-1 if params.flip else 1)  # x runs backwards exactly when flipped
        # the label sits on the same pixels as the image: band c holds red values of that quarter
        for band in np.unique(out_label).tolist():
            reds = red[out_label == band]
            assert reds.min() >= band * 64 - 8 and reds.max() <= (band + 1) * 64 + 8
    assert flips == {True, False}


def test_resizing_only_the_crop_window_matches_resizing_everything():
    frame = np.random.default_rng(0).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    aug = ClipAugmentation(crop_size=(64, 64), scale=400, ratio_range=(0.6, 1.4), cat_max_ratio=1.0,
                           flip_prob=0.0, photometric=False)
    for seed in range(6):
        params = aug.sample(np.zeros(frame.shape[:2], np.uint8), np.random.default_rng(seed))
        (out,), _ = aug.apply([frame], None, params)
        y0, y1, x0, x1 = params.crop
        full = resize_image(frame, params.resized)[y0:y1, x0:x1]
        assert np.abs(out[: y1 - y0, : x1 - x0].astype(int) - full).max() <= 2


def test_cat_max_ratio_check_counts_labelled_pixels_only():
    assert not crop_class_ratio_ok(np.array([[0, 0, 0, 1]], np.uint8), 0.75)  # 0.75 is not < 0.75
    assert crop_class_ratio_ok(np.array([[0, 0, 1, 255, 255]], np.uint8), 0.75)
    assert not crop_class_ratio_ok(np.array([[3, 3, 255]], np.uint8), 0.75)  # a single class never passes


def test_cat_max_ratio_is_honoured_when_a_crop_allows_it():
    label = np.zeros((100, 200), np.uint8)
    label[:, 140:] = 1  # a 100-wide crop passes only when it starts after x = 65
    ratio = 0.75

    def passing(aug):
        ok = 0
        for seed in range(200):
            y0, y1, x0, x1 = aug.sample(label, np.random.default_rng(seed)).crop
            ok += crop_class_ratio_ok(label[y0:y1, x0:x1], ratio)
        return ok

    kwargs = dict(crop_size=(100, 100), scale=200, ratio_range=(1.0, 1.0), photometric=False)
    assert passing(ClipAugmentation(cat_max_ratio=ratio, **kwargs)) >= 195  # 11 tries fail with p ~ 0.01
    assert passing(ClipAugmentation(cat_max_ratio=1.0, **kwargs)) < 100  # without the check: ~35%


def test_masks_use_nearest_so_no_new_ids_appear():
    rng = np.random.default_rng(0)
    label = rng.choice(np.array([3, 7, 200, 255], np.uint8), size=(12, 20)).repeat(5, 0).repeat(5, 1)
    aug = ClipAugmentation(crop_size=(50, 70), scale=150, ratio_range=(0.37, 1.9), cat_max_ratio=0.75)
    for seed in range(10):
        _, out = aug([gradient_frame(60, 100, 0)], label, np.random.default_rng(seed))
        assert set(np.unique(out)) <= {3, 7, 200, 255}


def test_padding_fills_images_with_zero_and_labels_with_255():
    aug = ClipAugmentation(crop_size=(64, 64), scale=60, ratio_range=(1.0, 1.0), cat_max_ratio=0.75,
                           flip_prob=0.0, photometric=False)
    frame = np.full((30, 60, 3), 200, np.uint8)
    label = np.full((30, 60), 5, np.uint8)
    (out,), out_label = aug([frame], label, np.random.default_rng(0))
    assert out.shape == (64, 64, 3) and out_label.shape == (64, 64)
    assert (out[:30, :60] == 200).all() and (out[30:] == 0).all() and (out[:, 60:] == 0).all()
    assert (out_label[:30, :60] == 5).all() and (out_label[30:] == 255).all() and (out_label[:, 60:] == 255).all()
    brighter = AugmentParams(resized=(30, 60), crop=(0, 30, 0, 60), flip=False,
                             photometric=PhotometricParams(brightness=30.0, contrast=0.5, contrast_first=False))
    (out,), _ = aug.apply([frame], label, brighter)
    assert (out[:30, :60] == 115).all() and (out[30:] == 0).all()  # distortion first, then zero padding


def test_augmentation_is_deterministic_under_a_seed():
    frames = [np.random.default_rng(k).integers(0, 256, (80, 120, 3), dtype=np.uint8) for k in range(3)]
    label = np.random.default_rng(9).integers(0, 4, (80, 120)).astype(np.uint8)
    aug = ClipAugmentation(crop_size=(48, 48), scale=160)
    first, second = aug(frames, label, np.random.default_rng(5)), aug(frames, label, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip(first[0], second[0])) and np.array_equal(first[1], second[1])
    other = aug(frames, label, np.random.default_rng(6))
    assert not np.array_equal(first[0][0], other[0][0])


def test_photometric_params_are_shared_by_the_frames_of_a_clip():
    frame = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    aug = ClipAugmentation(crop_size=(40, 40), scale=40, ratio_range=(1.0, 1.0), cat_max_ratio=1.0, flip_prob=0.0)
    for seed in range(8):
        out, _ = aug([frame, frame.copy(), frame.copy()], np.zeros((40, 40), np.uint8), np.random.default_rng(seed))
        assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])


def test_photometric_per_frame_draws_each_image_on_its_own_with_one_geometry():
    """data.photometric_per=frame (the public code): identical frames come out distorted differently, with the
    same crop and flip, and each as its own draw applied alone would distort it."""
    frame = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    aug = ClipAugmentation(crop_size=(40, 40), scale=40, ratio_range=(1.0, 1.0), cat_max_ratio=1.0, flip_prob=0.0,
                           photometric_per="frame")
    differing = 0
    for seed in range(8):
        params = aug.sample(np.zeros((40, 40), np.uint8), np.random.default_rng(seed), num_images=3)
        assert isinstance(params.photometric, tuple) and len(params.photometric) == 3
        out, _ = aug.apply([frame, frame.copy(), frame.copy()], None, params)
        assert all(np.array_equal(o, apply_photometric(frame, p)) for o, p in zip(out, params.photometric))
        differing += not (np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2]))
    assert differing >= 6
    with pytest.raises(ConfigError, match="photometric_per"):
        ClipAugmentation(photometric_per="video")


def test_hue_and_saturation_against_hand_computed_colours():
    pixels = np.array([[[255, 0, 0], [200, 100, 100], [77, 77, 77]]], np.uint8)
    assert shift_hue_saturation(pixels, hue=60).tolist() == [[[0, 255, 0], [100, 200, 100], [77, 77, 77]]]
    assert shift_hue_saturation(pixels, hue=-60)[0, 0].tolist() == [0, 0, 255]
    assert shift_hue_saturation(pixels, saturation=0.5)[0, 1].tolist() == [200, 150, 150]
    assert shift_hue_saturation(pixels, saturation=3.0)[0, 1].tolist() == [200, 0, 0]  # clipped at S = 1
    image = np.random.default_rng(2).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(shift_hue_saturation(image, hue=0), image)  # the HSV round trip is exact


def test_contrast_before_or_after_the_colour_steps():
    pixel = np.array([[[200, 100, 100]]], np.uint8)
    first = PhotometricParams(contrast=1.5, contrast_first=True, saturation=0.5)
    last = PhotometricParams(contrast=1.5, contrast_first=False, saturation=0.5)
    assert apply_photometric(pixel, first)[0, 0].tolist() == [255, 202, 202]  # (255,150,150) then S/2
    assert apply_photometric(pixel, last)[0, 0].tolist() == [255, 225, 225]  # (200,150,150) then x1.5
    assert apply_photometric(pixel, PhotometricParams(brightness=-20.5))[0, 0].tolist() == [179, 79, 79]


def test_photometric_draws_stay_in_mmseg_ranges():
    rng = np.random.default_rng(0)
    draws = [sample_photometric(rng) for _ in range(300)]
    assert all(-32 <= d.brightness <= 32 for d in draws if d.brightness is not None)
    assert all(0.5 <= d.contrast <= 1.5 for d in draws if d.contrast is not None)
    assert all(-18 <= d.hue < 18 for d in draws if d.hue is not None)
    assert 100 < sum(d.saturation is None for d in draws) < 200 and {d.contrast_first for d in draws} == {True, False}


def test_normalize_numpy_and_torch_agree():
    image = np.random.default_rng(3).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    norm = Normalize()
    by_numpy = norm(image)
    by_torch = norm(torch.from_numpy(image).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
    assert by_numpy.dtype == np.float32 and np.allclose(by_numpy, by_torch, atol=1e-5)
    assert np.allclose(Normalize()(np.array([[[123.675, 116.28, 103.53]]], np.float32)), 0)
    with pytest.raises(ConfigError):
        Normalize(std=(1.0, 0.0, 1.0))


def test_test_time_resize_keeps_the_aspect_ratio():
    out = resize_short_side(np.zeros((480, 854, 3), np.uint8), 240)
    assert out.shape == (240, 427, 3)
    assert resize_short_side(np.zeros((100, 50, 3), np.uint8), 80).shape == (160, 80, 3)


def test_bad_augmentation_settings_are_config_errors():
    with pytest.raises(ConfigError, match="ratio_range"):
        ClipAugmentation(ratio_range=(2.0, 1.0))
    with pytest.raises(ConfigError, match="crop_size"):
        ClipAugmentation(crop_size=(0, 10))
    assert isinstance(ClipAugmentation().sample(np.zeros((10, 10), np.uint8), np.random.default_rng(0)), AugmentParams)
