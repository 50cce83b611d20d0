"""InstancePredictor: streaming equals clip mode, tracks out with bounded memory, the peers' video scores and
the YouTube-VIS results format."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from openvidseg.inference.instance_predictor import InstancePredictor, youtube_vis_results
from openvidseg.data.rle import decode_rles, encode_masks
from openvidseg.inference.instance_tracks import TrackAccumulator
from openvidseg.models import create_model
from openvidseg.models.instance.scoring import ClipVisScoring, OvformerScoring

CLASSES = ["red circle", "blue star", "green square"]


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: create_model(name).eval() for name in ("clip_vis_tiny", "ovformer_tiny")}


def video(count=7, size=(60, 90), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (*size, 3), dtype=np.uint8) for _ in range(count)]


def summary(detections):
    return [(d.track_id, d.label, round(d.score, 5), [None if s is None else s["counts"] for s in d.segmentations])
            for d in detections]


@pytest.mark.parametrize("name", ["clip_vis_tiny", "ovformer_tiny"])
def test_streaming_gives_what_clip_mode_gives(models, name):
    predictor = InstancePredictor(models[name], CLASSES, short_side=64, max_detections=12)
    streamed = list(predictor.run(video()))
    streamed_detections = summary(predictor.detections())
    batched = predictor.predict_clip(video())
    assert [f.index for f in streamed] == list(range(7)) == [f.index for f in batched]
    for a, b in zip(streamed, batched):
        assert a.track_ids.tolist() == b.track_ids.tolist() and a.rles == b.rles
        np.testing.assert_allclose(a.scores, b.scores, rtol=1e-4, atol=1e-5)
    assert summary(predictor.detections()) == streamed_detections and len(streamed_detections) == 12


def test_ovformer_decodes_5_frame_clips_as_the_model_does_in_clip_mode(models):
    model = models["ovformer_tiny"]
    frames = video(count=5, size=(64, 96))
    predictor = InstancePredictor(model, CLASSES)
    assert [len(predictor.step(f)) for f in frames] == [0, 0, 0, 0, 5]
    predictor.reset()
    out = list(predictor.run(frames))
    clip = torch.stack([torch.from_numpy(f).permute(2, 0, 1) for f in frames])[None]
    with torch.no_grad():
        reference = model(clip, CLASSES)["masks"][0]  # (Q, T, 16, 24), first clip: tracks = queries
    for t, frame in enumerate(out):
        expected = F.interpolate(reference[:, t : t + 1], size=(64, 96), mode="bilinear", align_corners=False)[:, 0] > 0
        visible = expected.flatten(1).any(1).nonzero().flatten()
        assert frame.track_ids.tolist() == visible.tolist()
        assert np.array_equal(frame.masks(), expected[visible].numpy())


def test_memory_stays_bounded_over_a_long_stream(models):
    predictor = InstancePredictor(models["clip_vis_tiny"], CLASSES, short_side=32)
    frame = video(count=1, size=(32, 48))[0]
    sizes = []
    for t in range(40):
        predictor.step(frame)
        sizes.append((predictor.tracker.nbytes(), len(predictor.buffer), tuple(predictor.accumulator.evidence.shape)))
    assert sizes[10] == sizes[-1] == (9 * 10 * 32 * 4, 0, (10, 3))  # 9 frames of 10 x 32 query embeddings
    assert predictor.accumulator.num_frames == 40


def test_permuting_the_vocabulary_permutes_the_detected_labels(models):
    frames = video(count=3)
    order = [2, 0, 1]
    results = []
    for names in (CLASSES, [CLASSES[i] for i in order]):
        predictor = InstancePredictor(models["clip_vis_tiny"], names, max_detections=6)
        list(predictor.run(frames))
        results.append(predictor.detections())
    base, permuted = results
    assert [(d.track_id, CLASSES[d.label], round(d.score, 5)) for d in base] == \
        [(d.track_id, CLASSES[order[d.label]], round(d.score, 5)) for d in permuted]


def test_results_entries_follow_the_youtube_vis_format(models):
    predictor = InstancePredictor(models["clip_vis_tiny"], CLASSES, max_detections=5)
    list(predictor.run(video(count=4)))
    entries = youtube_vis_results(17, predictor.detections(), category_ids=[5, 9, 11])
    assert len(entries) == 5 and [e["score"] for e in entries] == sorted((e["score"] for e in entries), reverse=True)
    for entry in entries:
        assert set(entry) == {"video_id", "category_id", "score", "segmentations"} and entry["video_id"] == 17
        assert entry["category_id"] in (5, 9, 11) and len(entry["segmentations"]) == 4
        masks = [s for s in entry["segmentations"] if s is not None]
        assert masks and all(s["size"] == [60, 90] and isinstance(s["counts"], str) for s in masks)


def rle_box(top: int) -> dict:
    mask = np.zeros((1, 8, 8), dtype=bool)
    mask[0, top : top + 2, 2:6] = True
    return encode_masks(mask)[0]


def test_clip_vis_video_scores_and_frame_dropping_by_hand():
    """Two tracks, two classes, three frames. Track 0: class-1 evidence 0.8, 0.8, 0.02 (frame 2 < 0.1 x mean
    0.54 -> dropped); objectness 0.9; mask scores 0.5, 0.7, 0.9 -> score sqrt(0.54 x 0.9) x 0.7. Track 1 is
    visible in no frame -> never detected."""
    accumulator = TrackAccumulator(2, 2, ClipVisScoring(), keep_classes=2)
    evidences = [torch.tensor([[0.1, 0.8], [0.5, 0.5]]), torch.tensor([[0.1, 0.8], [0.5, 0.5]]),
                 torch.tensor([[0.3, 0.02], [0.5, 0.5]])]
    for t, (evidence, mask_score) in enumerate(zip(evidences, (0.5, 0.7, 0.9))):
        accumulator.add_unit(evidence, torch.tensor([0.9, 0.9]))
        accumulator.add_frame(t, [0], [rle_box(t)], torch.tensor([mask_score]), evidence[:1])
    detections = accumulator.detections(max_detections=5)
    assert [(d.track_id, d.label) for d in detections] == [(0, 1), (0, 0)]
    assert detections[0].score == pytest.approx((0.54 * 0.9) ** 0.5 * 0.7, rel=1e-5)
    assert detections[1].score == pytest.approx((0.5 / 3 * 0.9) ** 0.5 * 0.7, rel=1e-5)
    kept = [s is not None for s in detections[0].segmentations]
    assert kept == [True, True, False]  # class-1 evidence 0.02 < 0.1 x 0.54 in frame 2
    assert [s is not None for s in detections[1].segmentations] == [True, True, True]  # 0.1 >= 0.1 x 0.167
    assert decode_rles([detections[0].segmentations[1]], 8, 8)[0, 1:3, 2:6].all()


def test_ovformer_scores_average_logits_over_clips():
    accumulator = TrackAccumulator(1, 2, OvformerScoring())
    for logits in (torch.tensor([[2.0, -1.0]]), torch.tensor([[0.0, -3.0]])):
        accumulator.add_unit(logits, torch.tensor([0.64]))
    accumulator.add_frame(0, [0], [rle_box(0)], torch.tensor([0.3]), torch.tensor([[1.0, -2.0]]))
    expected = (torch.sigmoid(torch.tensor([1.0, -2.0])) * 0.64).sqrt()
    torch.testing.assert_close(accumulator.video_scores()[0], expected)


@pytest.mark.parametrize("name", ["clip_vis_tiny", "ovformer_tiny"])
def test_the_mask_linking_baseline_streams_and_resumes_like_an_uninterrupted_run(name):
    torch.manual_seed(0)
    model = create_model(name, tracking="mask_linking").eval()
    frames = video(count=10, size=(48, 64))
    whole = InstancePredictor(model, CLASSES, short_side=48)
    expected = list(whole.run(frames))
    first = InstancePredictor(model, CLASSES, short_side=48)
    head = [f for frame in frames[:5] for f in first.step(frame)]
    assert first.tracker.alive.any()  # detections to link (the random model finds some objects)
    resumed = InstancePredictor(model, CLASSES, short_side=48)
    resumed.load_state_dict(first.state_dict())
    tail = [f for frame in frames[5:] for f in resumed.step(frame)] + resumed.flush()
    assert [f.index for f in head + tail] == list(range(10))
    for a, b in zip(expected, head + tail):
        assert a.track_ids.tolist() == b.track_ids.tolist() and a.rles == b.rles
