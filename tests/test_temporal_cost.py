"""Temporal cost fusion (ours): the references' cost volumes fused into the target's through attention over
a space-time window of normalised CLIP embeddings."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from openvidseg.errors import InputError
from openvidseg.inference import ClipPredictor, VideoPredictor
from openvidseg.models import create_model
from openvidseg.models.ov2vss.cost import cosine_cost
from openvidseg.models.ov2vss.temporal_cost import TemporalCostFusion

CLASSES = ["red circle", "blue star", "sky"]


def test_fused_embeddings_are_a_cost_volume_fusion():
    """cos against text of the fused embeddings = the same weights applied to the frames' cost volumes."""
    torch.manual_seed(0)
    fusion = TemporalCostFusion(8, num_frames=3, radius=1)
    with torch.no_grad():
        for parameter in (fusion.bias, fusion.trust.weight, fusion.frame_trust.weight, fusion.frame_trust.bias):
            parameter.normal_(std=0.1)
    target, refs = torch.randn(2, 8, 5, 6), [torch.randn(2, 8, 5, 6) for _ in range(2)]
    text = torch.randn(4, 3, 8)
    fused = fusion(target, refs)
    # by hand for one position (y, x) = (2, 3): softmax over the 3 frames x 9 neighbours; the prior (bias,
    # the frame's trust from its embeddings' mean and std over positions, the target's trust) times the gain
    frames = [F.normalize(f, dim=1) for f in (*refs, target)]
    query = fusion.query(fusion.norm(frames[-1][:, :, 2, 3]))
    trust = fusion.trust(fusion.norm(frames[-1][:, :, 2, 3]))[:, 0]
    scores, values = [], []
    for slot, frame in enumerate(frames):
        frame_trust = fusion.frame_trust(torch.cat([frame.mean((2, 3)), frame.flatten(2).std(-1)], 1))[:, 0]
        for i, (dy, dx) in enumerate((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
            key = fusion.key(fusion.norm(frame[:, :, 2 + dy, 3 + dx]))
            prior = fusion.bias[slot, i] + frame_trust + (trust if slot == 2 else 0)
            scores.append((query * key).sum(-1) * fusion.scale + fusion.gain * prior)
            values.append(frame[:, :, 2 + dy, 3 + dx])
    weights = torch.stack(scores, dim=1).softmax(dim=1)  # (B, 27)
    expected = torch.einsum("bm,bmd->bd", weights, torch.stack(values, dim=1))
    torch.testing.assert_close(fused[:, :, 2, 3], expected, rtol=1e-5, atol=1e-6)
    costs = torch.stack([cosine_cost(v[..., None, None], text)[..., 0, 0] for v in torch.stack(values, 1).unbind(1)], 1)
    torch.testing.assert_close(cosine_cost(fused, text, normalize_visual=False)[:, :, :, 2, 3],
                               torch.einsum("bm,bmkp->bkp", weights, costs), rtol=1e-5, atol=1e-6)


def test_training_starts_from_the_targets_own_embeddings_and_windows_stay_inside_the_map():
    torch.manual_seed(0)
    fusion = TemporalCostFusion(16, num_frames=4)
    target, refs = torch.randn(1, 16, 6, 6), [torch.randn(1, 16, 6, 6) for _ in range(3)]
    assert F.cosine_similarity(fusion(target, refs), target, dim=1).min() > 0.99
    with torch.no_grad():  # all weight on the newest reference's own position: the target is replaced
        fusion.bias.fill_(-30.0)
        fusion.bias[2, fusion.bias.shape[1] // 2] = 30.0
    torch.testing.assert_close(fusion(target, refs), F.normalize(refs[2], dim=1))
    with torch.no_grad():  # all weight on the far corner offset: only defined inside the map, never NaN
        fusion.bias.fill_(-30.0)
        fusion.bias[:, -1] = 30.0
    out = fusion(target, refs)
    assert torch.isfinite(out).all()


def test_ov2vss_with_temporal_cost_fusion_trains_and_streams_like_clip_mode():
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny", use_tcf=True, use_stf=False)
    assert model.ref_offsets == (-9, -6, -3)  # the references are read for the cost fusion alone
    frames = torch.randint(0, 256, (1, 4, 3, 48, 64), dtype=torch.uint8)
    out = model(frames, CLASSES, torch.randint(0, 256, (1, 3, 48, 64), dtype=torch.uint8),
                torch.randint(0, 3, (1, 48, 64)))
    out["loss"].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.cost_fusion.parameters())
    model.eval()
    rng = np.random.default_rng(0)
    video = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(12)]
    stream = VideoPredictor(model, CLASSES, return_logits=True, memory_interval=4)
    clip = ClipPredictor(model, CLASSES, return_logits=True)
    for prediction in stream.run(video):
        t = prediction.index
        expected = clip.predict(lambda i: video[i], t, stream.reference_indices(t), stream.memory_index_for(t))
        torch.testing.assert_close(prediction.logits, expected.logits, rtol=1e-5, atol=1e-5)
    changed = frames.clone()
    changed[:, 2] = 255 - changed[:, 2]
    with torch.no_grad():
        model.cost_fusion.bias.zero_()  # the references weigh as much as the target
        a = model(frames, CLASSES)["logits"]
        b = model(changed, CLASSES)["logits"]
    assert not torch.allclose(a, b)


def test_an_untrusted_target_takes_its_evidence_from_the_references():
    """The trust gate alone (target keys and bias untouched) can hand every position to the references."""
    torch.manual_seed(0)
    fusion = TemporalCostFusion(8, num_frames=3, radius=1)
    target, refs = torch.randn(1, 8, 4, 5), [torch.randn(1, 8, 4, 5) for _ in range(2)]
    with torch.no_grad():
        fusion.trust.bias.fill_(-1e4)
        fusion.query.weight.zero_()  # keys no longer matter: uniform weights over the references' windows
        fusion.query.bias.zero_()
    fused = fusion(target, refs)
    windows = [fusion._windows(F.normalize(r, dim=1)) for r in refs]  # (1, D, 9, hw), zero outside the map
    inside = fusion._windows(torch.ones(1, 1, 4, 5))[0, 0].sum(0)  # neighbours inside the map per position
    expected = (sum(w.sum(2) for w in windows) / (2 * inside)).reshape(1, 8, 4, 5)
    torch.testing.assert_close(fused, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fusion(torch.randn(1, 8, 4, 5), refs), fused, rtol=1e-5, atol=1e-6)


def test_a_dropped_reference_can_be_passed_over_through_its_frame_trust():
    """A flat (dropped) frame has no spread over positions: a frame trust that reads the spread hands its
    weight to the other frames, wherever they are."""
    torch.manual_seed(0)
    fusion = TemporalCostFusion(8, num_frames=3, radius=1)
    target, refs = torch.randn(1, 8, 4, 5), [torch.ones(1, 8, 4, 5), torch.randn(1, 8, 4, 5)]
    values = [F.normalize(f, dim=1) for f in (*refs, target)]
    with torch.no_grad():
        fusion.bias.zero_()
        assert fusion.weights(values)[:, 0].sum(1).min() > 0.2  # about a third: the flat frame counts as much
        fusion.frame_trust.weight[:, 8:] = 10.0  # trust grows with the spread
    assert fusion.weights(values)[:, 0].sum(1).max() < 1e-6


def test_tcf_is_a_config_option_kept_by_checkpoints_and_refused_by_the_frame_model(tmp_path):
    from openvidseg.config import load_config
    from openvidseg.models import load_model, save_model

    cfg = load_config("ov2vss_tiny_synthetic", ["model.use_tcf=true", "model.tcf_radius=1"])
    assert cfg.model.use_tcf is True and cfg.model.tcf_radius == 1
    model = create_model("ov2vss_tiny", use_tcf=True, tcf_radius=1).eval()
    assert model.cost_fusion.radius == 1 and model.cost_fusion.num_frames == 4
    with torch.no_grad():
        model.cost_fusion.bias.normal_()
    restored = load_model(save_model(model, tmp_path / "model.safetensors")).eval()
    assert restored.use_tcf and torch.equal(restored.cost_fusion.bias, model.cost_fusion.bias)
    assert create_model("ov2vss_tiny").cost_fusion is None  # the specification's model by default
    with pytest.raises(InputError, match="use_tcf"):
        create_model("frame_tiny", use_tcf=True)
