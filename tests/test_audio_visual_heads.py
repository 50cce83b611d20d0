"""Open-vocabulary classification of mask crops by CLIP and the painting of sounding objects into a map."""
from __future__ import annotations

import pytest
import torch

from openvidseg.errors import InputError
from openvidseg.models.audio_visual.crop_classifier import MaskCropClassifier, square_box
from openvidseg.models.audio_visual.painting import paint, select_objects


def test_square_box_around_a_mask():
    mask = torch.zeros(20, 30, dtype=torch.bool)
    mask[4:8, 10:20] = True  # 4 x 10 box
    assert square_box(mask, margin=0.0) == (1, 11, 10, 20)  # a 10 x 10 square centred on it
    assert square_box(mask, margin=0.1) == (0, 12, 9, 21)
    mask[:] = False
    mask[0:2, 0:2] = True
    assert square_box(mask, margin=0.5) == (0, 3, 0, 3)  # a 4 x 4 square around (1, 1), clipped at the border


def test_crop_probabilities_average_over_frames_and_ignore_what_is_outside(tiny_clip):
    torch.manual_seed(0)
    classifier = MaskCropClassifier(crop_size=32, embedding="pooled")
    frames = torch.randint(0, 256, (3, 3, 40, 48), dtype=torch.uint8)
    masks = torch.zeros(3, 3, 40, 48, dtype=torch.bool)
    masks[0, 0, 5:20, 5:25] = True
    masks[0, 2, 10:30, 20:40] = True
    masks[1, 1, 0:40, 0:48] = True
    text = torch.nn.functional.normalize(torch.randn(4, 2, tiny_clip.embed_dim), dim=-1)
    probs = classifier(tiny_clip, frames, masks, text)
    assert probs.shape == (3, 4) and torch.allclose(probs[:2].sum(1), torch.ones(2)) and not probs[2].any()
    single = [classifier(tiny_clip, frames, masks[:1] & (torch.arange(3) == t).view(1, 3, 1, 1), text)[0] for t in (0, 2)]
    assert torch.allclose(probs[0], (single[0] + single[1]) / 2, atol=1e-5)
    outside = frames.clone()
    outside[0, :, 5:20, 25:48] = 0  # beside the mask (and inside the crop's square): filled with CLIP's mean
    outside[2, :, 0:10] = 255
    assert torch.allclose(classifier(tiny_clip, outside, masks, text), probs, atol=1e-6)
    best_patch = MaskCropClassifier(crop_size=32, embedding="best_patch")(tiny_clip, frames, masks, text)
    assert torch.allclose(best_patch[:2].sum(1), torch.ones(2)) and not torch.allclose(best_patch, probs)
    with pytest.raises(InputError, match="do not fit frames"):
        classifier(tiny_clip, frames, masks[:, :2], text)


def test_painting_keeps_the_best_objects_first():
    masks = torch.zeros(4, 2, 4, 4, dtype=torch.bool)
    masks[0, :, :2] = True  # top half, class 1
    masks[1, :, 1:3] = True  # middle rows, class 0, better score: wins where they overlap
    masks[2, :, 3] = True  # bottom row: too weak
    sounding = torch.tensor([0.9, 0.95, 0.2, 0.99])  # query 3 has no mask
    probs = torch.tensor([[0.1, 0.9], [0.9, 0.1], [0.5, 0.5], [0.6, 0.4]])
    kept = select_objects(masks, sounding, probs, top_k=10, threshold=0.3)
    assert kept.classes.tolist() == [0, 1] and kept.scores.tolist() == pytest.approx([0.95 * 0.9, 0.9 * 0.9])
    semantic = paint(kept, 2, (4, 4))
    assert semantic[0, :, 0].tolist() == [2, 1, 1, 0] and torch.equal(semantic[0], semantic[1])
    assert select_objects(masks, sounding, probs, top_k=1).classes.tolist() == [0]
