"""The bi-directional audio-visual attention block against a direct per-token implementation, and its
properties: identity at zero layer scale, frame-local attention through the offset biases, pyramids."""
from __future__ import annotations

import torch

from openvidseg.models.audio_visual.fusion import AudioVisualBiAttention, fuse_pyramid


def direct(block: AudioVisualBiAttention, visual: torch.Tensor, audio: torch.Tensor):
    """The block written with loops over batch, frames, heads and tokens."""
    b_, t_, n_, _ = visual.shape
    h, d = block.heads, block.head_dim
    v, a = block.visual_norm(visual), block.audio_norm(audio)
    out_v, out_a = visual.clone(), audio.clone()
    for b in range(b_):
        keys = torch.cat([a[b], block.silence[0]], 0)  # (T + 1, C_a)
        k, av = block.audio_key(keys), block.audio_value(keys)
        logits = torch.zeros(t_, h, n_, t_ + 1)
        for f in range(t_):
            q = block.visual_query(v[b, f]) / d ** 0.5
            for head in range(h):
                sl = slice(head * d, (head + 1) * d)
                logits[f, head] = q[:, sl] @ k[:, sl].T
                for t in range(t_):
                    logits[f, head, :, t] += block.offset_bias[head, t - f + block.max_frames - 1]
        for f in range(t_):
            heads = [logits[f, head].softmax(-1) @ av[:, head * d:(head + 1) * d] for head in range(h)]
            out_v[b, f] = visual[b, f] + block.visual_scale * block.visual_out(torch.cat(heads, -1))
        vv = block.visual_value(v[b]).reshape(t_ * n_, -1)
        for t in range(t_):
            heads = []
            for head in range(h):
                weights = logits[:, head, :, t].reshape(-1).softmax(0)  # over every frame's tokens
                heads.append(weights @ vv[:, head * d:(head + 1) * d])
            out_a[b, t] = audio[b, t] + block.audio_scale * block.audio_out(torch.cat(heads, -1))
    return out_v, out_a


def test_matches_a_direct_implementation():
    torch.manual_seed(0)
    block = AudioVisualBiAttention(12, 8, inner_dim=16, heads=2, max_frames=4, layer_scale=0.5)
    with torch.no_grad():
        block.offset_bias.normal_()
        block.silence.normal_()
    visual, audio = torch.randn(2, 3, 5, 12), torch.randn(2, 3, 8)
    ours, expected = block(visual, audio), direct(block, visual, audio)
    assert torch.allclose(ours[0], expected[0], atol=1e-5) and torch.allclose(ours[1], expected[1], atol=1e-5)


def test_zero_layer_scale_is_the_identity_and_the_default_is_one_sixth():
    block = AudioVisualBiAttention(12, 8, inner_dim=16, heads=2, layer_scale=0.0)
    visual, audio = torch.randn(1, 2, 4, 12), torch.randn(1, 2, 8)
    out_v, out_a = block(visual, audio)
    assert torch.equal(out_v, visual) and torch.equal(out_a, audio)
    default = AudioVisualBiAttention(12, 8, inner_dim=16, heads=2)
    assert torch.allclose(default.visual_scale, torch.full((12,), 1 / 6)) and default.heads == 2


def test_offset_biases_can_keep_each_frame_to_its_own_second():
    block = AudioVisualBiAttention(12, 8, inner_dim=16, heads=2, max_frames=4)
    with torch.no_grad():
        block.offset_bias.fill_(-1e4)
        block.offset_bias[:, block.max_frames - 1] = 0.0  # offset 0: the frame's own second
        block.silence.fill_(0.0)
        block.audio_key.weight.zero_()  # equal content scores: the biases decide
    visual, audio = torch.randn(1, 3, 4, 12), torch.randn(1, 3, 8)
    changed = audio.clone()
    changed[0, 1] = torch.randn(8)  # (a constant shift would vanish in the LayerNorm)
    before, after = block(visual, audio)[0], block(visual, changed)[0]
    assert torch.equal(before[0, 0], after[0, 0]) and torch.equal(before[0, 2], after[0, 2])
    assert not torch.allclose(before[0, 1], after[0, 1])


def test_pyramid_levels_keep_their_shapes_and_positions():
    torch.manual_seed(1)
    block = AudioVisualBiAttention(6, 4, inner_dim=8, heads=2)
    levels = [torch.randn(4, 6, 4, 4), torch.randn(4, 6, 2, 2)]  # 2 clips of 2 frames
    audio = torch.randn(2, 2, 4)
    out, fused_audio = fuse_pyramid(block, levels, audio, frames=2)
    assert [o.shape for o in out] == [lv.shape for lv in levels]
    tokens = torch.cat([lv.flatten(2).transpose(1, 2) for lv in levels], 1).view(2, 2, 20, 6)
    visual, expected_audio = block(tokens, audio)  # every level's tokens attended together
    assert torch.allclose(out[0].flatten(2).transpose(1, 2), visual.flatten(0, 1)[:, :16], atol=1e-6)
    assert torch.allclose(out[1].flatten(2).transpose(1, 2), visual.flatten(0, 1)[:, 16:], atol=1e-6)
    assert torch.allclose(fused_audio, expected_audio)
