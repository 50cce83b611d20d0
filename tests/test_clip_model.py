"""ClipModel: dense features at any size, intermediate layers, precision, freezing, and the text classifier."""
from __future__ import annotations

import pytest
import torch

from openvidseg.clip import ClipModel, load_clip, load_templates
from openvidseg.errors import InputError


@pytest.mark.parametrize("size", [(224, 224), (384, 384), (96, 160), (480, 272)])
def test_dense_feature_shapes_at_any_size(tiny_clip: ClipModel, size):
    images = torch.randint(0, 256, (2, 3, *size), dtype=torch.uint8)
    out = tiny_clip.dense_features(tiny_clip.preprocess(images), layers=(1, 3, 4))
    grid = (size[0] // 16, size[1] // 16)
    assert out.embeddings.shape == (2, tiny_clip.embed_dim, *grid)
    assert [tuple(f.shape) for f in out.layers] == [(2, tiny_clip.width, *grid)] * 3


def test_dense_path_matches_transformers_at_native_and_interpolated_sizes(tiny_clip: ClipModel):
    """Our token path equals transformers' own vision forward, including bicubic position interpolation."""
    vision = tiny_clip.model.vision_model
    for size in (224, 384):
        pixels = tiny_clip.preprocess(torch.rand(1, 3, size, size) * 255)
        with torch.no_grad():
            ref = vision(pixel_values=pixels, interpolate_pos_encoding=True).last_hidden_state
            ours, _ = tiny_clip.forward_tokens(pixels)
        torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)


def test_dense_embeddings_are_the_projected_final_tokens(tiny_clip: ClipModel):
    pixels = tiny_clip.preprocess(torch.rand(1, 3, 64, 96) * 255)
    with torch.no_grad():
        tokens, saved = tiny_clip.forward_tokens(pixels, layers=(4,))
        expected = tiny_clip.model.visual_projection(tiny_clip.model.vision_model.post_layernorm(tokens[:, 1:]))
    out = tiny_clip.dense_features(pixels, layers=(4,))
    torch.testing.assert_close(out.embeddings.flatten(2).transpose(1, 2), expected)
    # the last intermediate layer is the final residual stream, before the final LayerNorm
    torch.testing.assert_close(out.layers[0].flatten(2).transpose(1, 2), saved[4][:, 1:])


def test_value_dense_path_against_a_hand_written_last_block(tiny_clip: ClipModel):
    """dense_path 'value' (CAT-Seg's): the last block's attention is replaced by its value path,
    y = x + W_o (W_v LN1(x) + b_v) + b_o, then y + MLP(LN2(y)), written here from transformers' own
    hidden states and weights, at the native and an interpolated size."""
    vision = tiny_clip.model.vision_model
    block = vision.encoder.layers[-1]
    for size in ((224, 224), (96, 160)):
        pixels = tiny_clip.preprocess(torch.rand(2, 3, *size) * 255)
        with torch.no_grad():
            hidden = vision(pixel_values=pixels, interpolate_pos_encoding=True, output_hidden_states=True).hidden_states
            x = hidden[-2]  # the residual stream entering the last block
            v = torch.nn.functional.linear(block.layer_norm1(x), block.self_attn.v_proj.weight, block.self_attn.v_proj.bias)
            y = x + torch.nn.functional.linear(v, block.self_attn.out_proj.weight, block.self_attn.out_proj.bias)
            h = block.layer_norm2(y) @ block.mlp.fc1.weight.T + block.mlp.fc1.bias
            y = y + block.mlp.fc2(block.mlp.activation_fn(h))
            expected = tiny_clip.model.visual_projection(vision.post_layernorm(y[:, 1:]))
            out = tiny_clip.dense_features(pixels, layers=(2, 4), path="value")
            standard = tiny_clip.dense_features(pixels, layers=(2, 4))
        grid = (size[0] // 16, size[1] // 16)
        torch.testing.assert_close(out.embeddings, expected.transpose(1, 2).reshape(2, -1, *grid), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out.layers[1], y[:, 1:].transpose(1, 2).reshape(2, -1, *grid), rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out.layers[0], standard.layers[0])  # earlier layers are untouched
        assert not torch.allclose(out.embeddings, standard.embeddings, atol=1e-3)
    with pytest.raises(ValueError, match="dense path"):
        tiny_clip.dense_features(pixels, path="values")


def test_sizes_that_are_not_patch_multiples_and_bad_layers_are_rejected(tiny_clip: ClipModel):
    with pytest.raises(ValueError, match="multiple of the patch"):
        tiny_clip.dense_features(torch.zeros(1, 3, 100, 96))
    with pytest.raises(ValueError, match="out of range"):
        tiny_clip.dense_features(torch.zeros(1, 3, 64, 64), layers=(0,))


def test_bfloat16_runs_and_stays_close_to_float32():
    clip32 = load_clip("random:tiny")
    clip16 = load_clip("random:tiny", dtype=torch.bfloat16)
    images = torch.randint(0, 256, (1, 3, 96, 96), dtype=torch.uint8)
    a = clip32.dense_features(clip32.preprocess(images)).embeddings
    b = clip16.dense_features(clip16.preprocess(images)).embeddings
    assert b.dtype == torch.bfloat16
    rel = (a - b.float()).norm() / a.norm()
    assert rel < 0.05
    assert clip16.text_classifier(["cat"], "single").dtype == torch.bfloat16


def test_frozen_by_default_and_attention_finetuning():
    clip = load_clip("random:tiny")
    assert not any(p.requires_grad for p in clip.parameters())
    pixels = clip.preprocess(torch.rand(1, 3, 64, 64) * 255)
    assert not clip.dense_features(pixels).embeddings.requires_grad  # no graph kept when frozen
    clip.set_trainable("attention")
    trainable = {n for n, p in clip.named_parameters() if p.requires_grad}
    position = "model.vision_model.embeddings.position_embedding.weight"
    assert position in trainable  # as CAT-Seg, which tunes the position embeddings with the attention
    assert all("vision_model" in n and ".self_attn." in n for n in trainable - {position})
    out = clip.dense_features(pixels).embeddings
    out.sum().backward()
    assert all(p.grad is not None for n, p in clip.named_parameters() if n in trainable)
    with pytest.raises(InputError):
        clip.set_trainable("everything")


def test_text_classifier_shape_and_normalisation(tiny_clip: ClipModel):
    emb = tiny_clip.text_classifier(["dog", "handrail or fence", "sky"])
    assert emb.shape == (3, 80, tiny_clip.embed_dim)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3, 80))
    # different classes get different embeddings
    assert not torch.allclose(emb[0], emb[1])


def test_text_classifier_matches_direct_encoding(tiny_clip: ClipModel):
    templates = ("a photo of a {}.", "art of the {}.")
    emb = tiny_clip.text_classifier(["cat", "red circle"], templates)
    direct = tiny_clip.encode_text(["a photo of a cat.", "art of the cat.", "a photo of a red circle.", "art of the red circle."])
    direct = torch.nn.functional.normalize(direct, dim=-1).reshape(2, 2, -1)
    torch.testing.assert_close(emb, direct)


def test_batched_text_encoding_equals_one_batch(tiny_clip: ClipModel):
    texts = [f"a photo of class number {i}" + " long" * (i % 5) for i in range(23)]
    torch.testing.assert_close(tiny_clip.encode_text(texts, batch_size=4), tiny_clip.encode_text(texts, batch_size=64),
                               rtol=1e-5, atol=1e-5)


def test_text_cache_returns_the_same_tensor_without_reencoding(monkeypatch):
    clip = load_clip("random:tiny")
    calls = []
    original = clip.encode_text
    monkeypatch.setattr(clip, "encode_text", lambda texts, **kw: calls.append(len(texts)) or original(texts, **kw))
    first = clip.text_classifier(["cat", "dog"])
    again = clip.text_classifier(["cat", "dog"])
    assert again is first and calls == [160]
    clip.text_classifier(["dog", "cat"])  # another vocabulary (order matters for the output)
    clip.text_classifier(["cat", "dog"], "single")  # other templates
    assert calls == [160, 160, 2]
    clip.load_state_dict(clip.state_dict())  # new weights invalidate the cache
    clip.text_classifier(["cat", "dog"])
    assert calls == [160, 160, 2, 160]


def test_bad_class_names_are_rejected(tiny_clip: ClipModel):
    for names in ([], ["cat", " "]):
        with pytest.raises(InputError):
            tiny_clip.text_classifier(names)


def test_templates_are_data(tmp_path):
    templates = load_templates("imagenet80")
    assert len(templates) == 80 and len(set(templates)) == 80 and all(t.count("{}") == 1 for t in templates)
    assert load_templates("single") == ("a photo of a {}.",)
    custom = tmp_path / "t.txt"
    custom.write_text("a {} on the road\n\nthe {}\n")
    assert load_templates(str(custom)) == ("a {} on the road", "the {}")
    custom.write_text("no placeholder\n")
    with pytest.raises(InputError, match="exactly one"):
        load_templates(str(custom))
    with pytest.raises(InputError, match="imagenet80"):
        load_templates("imagenet81")
