"""Models: shapes, gradients, class-order independence, determinism, registry and checkpoints."""
from __future__ import annotations

import json

import pytest
import torch

from openvidseg.errors import InputError, WeightsError
from openvidseg.models import (
    create_model,
    get_variant,
    list_models,
    load_model,
    load_weights,
    save_model,
)
from openvidseg.models.base import masked_cross_entropy
from openvidseg.models.layers import Attention, P2TPooling
from openvidseg.models.ov2vss.fusion import CrossScaleAggregation

CLASSES = ["red circle", "blue star", "sky", "grass", "person"]
TRAINABLE = ["ov2vss_tiny", "frame_tiny", "ov2vss_tiny_sam", "ov2vss_tiny_dinov2"]


def clip_batch(batch=2, steps=4, size=(64, 96), seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (batch, steps, 3, *size), generator=g, dtype=torch.uint8)
    random_frame = torch.randint(0, 256, (batch, 3, *size), generator=g, dtype=torch.uint8)
    return frames, random_frame


@pytest.fixture(scope="module")
def tiny_models():
    torch.manual_seed(0)
    return {name: create_model(name).eval() for name in ["ov2vss_tiny", "frame_tiny", "dense_clip_tiny"]}


@pytest.mark.parametrize("name", ["ov2vss_tiny", "frame_tiny", "dense_clip_tiny"])
@pytest.mark.parametrize("classes, size", [(1, (64, 96)), (3, (80, 80)), (7, (50, 130))])
def test_output_shapes_for_any_vocabulary_and_input_size(tiny_models, name, classes, size):
    frames, random_frame = clip_batch(size=size)
    with torch.no_grad():
        logits = tiny_models[name](frames, CLASSES[:classes] + ["x"] * 0 if classes <= 5 else
                                   CLASSES + [f"class {i}" for i in range(classes - 5)], random_frame)["logits"]
    assert logits.shape == (2, classes, *size)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", TRAINABLE)
def test_frozen_clip_gets_no_gradient_and_every_trainable_module_does(name):
    torch.manual_seed(0)
    model = create_model(name).train()
    frames, random_frame = clip_batch()
    labels = torch.randint(0, 3, (2, 64, 96))
    labels[:, :4] = 255
    out = model(frames, CLASSES[:3], random_frame, labels)
    assert set(out) >= {"loss", "loss_ce", "loss_aux", "logits"}
    out["loss"].backward()
    assert not any(p.requires_grad or p.grad is not None for p in model.clip.parameters())
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)]
    assert not missing, f"trainable parameters without gradient: {missing}"
    groups = model.parameter_groups()
    assert groups["head"] and sum(map(len, groups.values())) == sum(p.requires_grad for p in model.parameters())
    backbone_trainable = any(p.requires_grad for p in model.backbone.parameters())
    assert bool(groups["backbone"]) == backbone_trainable


def test_attention_finetuning_trains_clip_attention_only():
    model = create_model("ov2vss_tiny", finetune_clip="attention").train()
    frames, random_frame = clip_batch(batch=1)
    model(frames, CLASSES[:2], random_frame, torch.zeros(1, 64, 96, dtype=torch.long))["loss"].backward()
    trained = {n for n, p in model.clip.named_parameters() if p.grad is not None}
    position = "model.vision_model.embeddings.position_embedding.weight"  # interpolated to 128 px, still trained
    assert position in trained and all(".self_attn." in n and "vision_model" in n for n in trained - {position})
    backbone_group = {id(p) for p in model.parameter_groups()["backbone"]}
    assert any(id(p) in backbone_group for p in model.clip.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", ["ov2vss_tiny", "frame_tiny", "dense_clip_tiny"])
def test_permuting_the_classes_permutes_the_logits(tiny_models, name):
    model = tiny_models[name]
    frames, random_frame = clip_batch(batch=1)
    order = [3, 0, 4, 1, 2]
    with torch.no_grad():
        logits = model(frames, CLASSES, random_frame)["logits"]
        permuted = model(frames, [CLASSES[i] for i in order], random_frame)["logits"]
    torch.testing.assert_close(permuted, logits[:, order], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["ov2vss_tiny", "frame_tiny", "dense_clip_tiny"])
def test_eval_mode_is_deterministic(tiny_models, name):
    frames, random_frame = clip_batch(batch=1)
    with torch.no_grad():
        first = tiny_models[name](frames, CLASSES, random_frame)["logits"]
        second = tiny_models[name](frames, CLASSES, random_frame)["logits"]
    assert torch.equal(first, second)


def test_temporal_modules_use_the_other_frames(tiny_models):
    """OV2VSS output depends on reference and random frames; the frame model ignores them."""
    frames, random_frame = clip_batch(batch=1)
    changed = frames.clone()
    changed[:, 0] = 255 - changed[:, 0]  # the oldest reference only
    other_random = 255 - random_frame
    with torch.no_grad():
        for name, should_change in (("ov2vss_tiny", True), ("frame_tiny", False)):
            model = tiny_models[name]
            base = model(frames, CLASSES, random_frame)["logits"]
            refs = model(changed, CLASSES, random_frame)["logits"]
            rand = model(frames, CLASSES, other_random)["logits"]
            assert (not torch.allclose(base, refs)) == should_change
            assert (not torch.allclose(base, rand)) == should_change


def test_p2t_token_count_follows_the_configured_ratios():
    x = torch.randn(1, 8, 30, 30)
    assert P2TPooling(8, (2, 4, 6, 8))(x).shape == (1, 225 + 64 + 25 + 16, 8)  # the spec's 330
    assert P2TPooling(8, (3, 5))(x).shape == (1, 100 + 36, 8)  # the public code ignored the config here


def test_cross_scale_aggregation_merges_coarser_levels_into_finer_ones():
    torch.manual_seed(0)
    levels, hidden, grid, keys = 3, 4, (5, 6), 7
    module = CrossScaleAggregation(levels, hidden)
    torch.nn.init.normal_(module.expand.weight)  # away from the near-identity start
    torch.nn.init.normal_(module.expand.bias)
    logits = torch.randn(2, levels, grid[0] * grid[1], keys)
    # written out level by level: squeeze each level's map per key, sum the squeezed maps of this level
    # and every coarser one (later levels are coarser), expand with this level's 1x1 weights, add
    maps = logits.permute(0, 3, 1, 2).reshape(2 * keys, levels, *grid)
    squeezed = module.squeeze(maps).unflatten(1, (levels, hidden))
    weight, bias = module.expand.weight.view(levels, hidden), module.expand.bias
    expected = torch.stack([maps[:, level] + torch.einsum("nchw,c->nhw", squeezed[:, level:].sum(1), weight[level])
                            + bias[level] for level in range(levels)], dim=1)
    expected = expected.reshape(2, keys, levels, -1).permute(0, 2, 3, 1)
    torch.testing.assert_close(module(logits, grid), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_attention_computes_what_torch_multihead_attention_computes(cross):
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(32, 4, batch_first=True)
    torch.manual_seed(0)
    ours = Attention(32, 4)
    for name, value in reference.state_dict().items():  # the same names, shapes and initial values
        torch.testing.assert_close(ours.state_dict()[name], value, rtol=0, atol=0)
    assert ours.state_dict().keys() == reference.state_dict().keys()
    query, memory = torch.randn(3, 7, 32, requires_grad=True), torch.randn(3, 5, 32)
    keys = memory if cross else query
    expected = reference(query, keys, keys, need_weights=False)[0]
    got = ours(query, memory if cross else None)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    (grad_ours,) = torch.autograd.grad(got.square().sum(), query)
    (grad_reference,) = torch.autograd.grad(expected.square().sum(), query)
    torch.testing.assert_close(grad_ours, grad_reference, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="not divisible"):
        Attention(30, 4)


@pytest.mark.parametrize("attention", ["qq", "kk", "vv", "qq+kk", "standard"])
def test_dense_clip_last_block_modes(attention):
    model = create_model("dense_clip_tiny", attention=attention).eval()
    frames, _ = clip_batch(batch=1, steps=1)
    with torch.no_grad():
        logits = model(frames, CLASSES)["logits"]
    assert logits.shape == (1, 5, 64, 96) and torch.isfinite(logits).all()
    if attention == "standard":  # CLIP's own last block: the projected final tokens of the CLIP wrapper
        clip = model.clip
        window = clip.preprocess(frames[:, 0], model.working_size(64, 96))[..., :64, :64]
        expected = torch.nn.functional.normalize(clip.dense_features(window).embeddings, dim=1)
        torch.testing.assert_close(model._window_embeddings(window), expected, rtol=1e-4, atol=1e-5)


def test_public_code_flags_build_and_run():
    model = create_model("ov2vss_tiny", raw_dot_attention=True, aggregation="linear").eval()
    frames, random_frame = clip_batch(batch=1)
    with torch.no_grad():
        assert torch.isfinite(model(frames, CLASSES, random_frame)["logits"]).all()


def test_checkpoint_round_trips_exactly(tmp_path):
    torch.manual_seed(1)
    model = create_model("ov2vss_tiny", num_regions=4).eval()
    for p in model.parameters():  # move away from the initialisation
        if p.requires_grad:
            p.data.add_(torch.randn_like(p) * 0.01)
    path = save_model(model, tmp_path / "model.safetensors")
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["model"] == "ov2vss_tiny" and info["options"]["num_regions"] == 4
    restored = load_model(path).eval()
    assert restored.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(restored.state_dict()[k], v) for k, v in model.state_dict().items())
    frames, random_frame = clip_batch(batch=1)
    with torch.no_grad():
        assert torch.equal(restored(frames, CLASSES, random_frame)["logits"], model(frames, CLASSES, random_frame)["logits"])
    # frozen CLIP weights are not stored
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        assert not any(k.startswith("clip.") for k in f.keys())


def test_checkpoint_of_another_architecture_counts_the_mismatched_keys_and_names_a_few(tmp_path):
    path = save_model(create_model("frame_tiny"), tmp_path / "frame.safetensors")
    target = create_model("ov2vss_tiny")
    with pytest.raises(WeightsError) as err:
        load_weights(target, path)
    first, *lines = str(err.value).splitlines()
    assert "checkpoint of 'frame_tiny' loaded into 'ov2vss_tiny'" in first
    temporal = ("fusion.", "frame_enhancement.", "text_encoder.")  # the modules the per-frame model lacks
    missing = sum(k.startswith(temporal) for k in target.state_dict())
    assert f"({missing} missing, 2 unexpected keys)" in first and "  unexpected: fuse_levels.weight" in lines
    # three keys of each kind, then a count of the rest (not hundreds of lines)
    assert [line.strip().split(":")[0] for line in lines if not line.strip().startswith("...")].count("missing") == 3
    assert any(line.strip() == f"... and {missing - 3} more missing" for line in lines) and len(lines) <= 8
    with pytest.raises(WeightsError, match="not an openvidseg checkpoint"):
        (tmp_path / "frame.json").unlink()
        load_model(path)


def test_registry_errors_name_close_matches():
    with pytest.raises(InputError, match="Did you mean: ov2vss_vitb16"):
        create_model("ov2vss_vitb61")
    with pytest.raises(InputError, match="has no option 'num_region'.*num_regions"):
        create_model("ov2vss_tiny", num_region=3)
    with pytest.raises(InputError, match="has no option 'num_regions'"):
        create_model("dense_clip_tiny", num_regions=3)


def test_every_variant_names_its_clip_and_an_existing_preset():
    from openvidseg.config import list_presets

    names = list_models()
    assert {"ov2vss_vitb16", "ov2vss_vitb16_sam", "frame_vitb16", "dense_clip_vitb16", "dense_clip_vitl14"} <= set(names)
    for name in names:
        variant = get_variant(name)
        assert variant.clip and variant.preset in list_presets(), name


@pytest.mark.parametrize("name, clip, extra", [  # dense_clip_vitl14: benchmarks/variants.py (ViT-L takes minutes)
    ("ov2vss_vitb16", "random:vit-b-16", {}),
    ("ov2vss_vitb16_sam", "random:vit-b-16", {"backbone_source": "random"}),
    ("ov2vss_vitb16_dinov2", "random:vit-b-16", {"backbone_source": "random"}),
    ("frame_vitb16", "random:vit-b-16", {}),
    ("dense_clip_vitb16", "random:vit-b-16", {}),
])
def test_real_size_variants_build_and_run_with_random_weights(name, clip, extra, all_cores):
    model = create_model(name, clip=clip, **extra).eval()
    frames, random_frame = clip_batch(batch=1, steps=4, size=(96, 128))
    with torch.no_grad():
        logits = model(frames, CLASSES[:2], random_frame)["logits"]
    assert logits.shape == (1, 2, 96, 128) and torch.isfinite(logits).all()


def test_cross_entropy_averages_over_labelled_pixels_and_is_zero_without_any():
    logits = torch.tensor([[[[2.0, 0.5]], [[-1.0, 1.5]]]])  # (B=1, K=2, H=1, W=2)
    labelled = torch.tensor([[[0, 255]]])
    expected = -torch.log(torch.exp(torch.tensor(2.0)) / (torch.exp(torch.tensor(2.0)) + torch.exp(torch.tensor(-1.0))))
    torch.testing.assert_close(masked_cross_entropy(logits, labelled), expected)
    both = torch.tensor([[[0, 1]]])
    expected_both = (expected - torch.log(torch.exp(torch.tensor(1.5)) / (torch.exp(torch.tensor(0.5)) + torch.exp(torch.tensor(1.5))))) / 2
    torch.testing.assert_close(masked_cross_entropy(logits, both), expected_both)


def test_a_crop_without_labelled_pixels_gives_zero_loss_and_zero_gradient():
    """VSPW crops of unseen classes only are all 255: the loss must not turn NaN (the NaN guard would stop the run)."""
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny").train()
    frames, random_frame = clip_batch(batch=1)
    out = model(frames, CLASSES[:3], random_frame, torch.full((1, 64, 96), 255))
    assert out["loss"].item() == 0.0 and out["loss_ce"].item() == 0.0 and out["loss_aux"].item() == 0.0
    out["loss"].backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is None or not g.abs().sum() > 0 for g in grads)


def test_reference_offsets_are_sorted_once_so_every_path_runs_oldest_first():
    from openvidseg.inference import VideoPredictor

    torch.manual_seed(0)
    sorted_model = create_model("ov2vss_tiny").eval()
    unsorted = create_model("ov2vss_tiny", ref_offsets=(-3, -9, -6)).eval()
    unsorted.load_state_dict(sorted_model.state_dict())
    assert unsorted.ref_offsets == (-9, -6, -3)
    video = [f.permute(1, 2, 0).numpy() for f in clip_batch(batch=1, steps=12, size=(48, 48))[0][0]]
    a = [p.logits for p in VideoPredictor(sorted_model, CLASSES, return_logits=True).run(video)]
    b = [p.logits for p in VideoPredictor(unsorted, CLASSES, return_logits=True).run(video)]
    assert all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("finetune_clip", ["none", "attention"])
def test_a_vocabulary_cached_under_inference_mode_serves_training(finetune_clip):
    """A predictor (inference_mode) caches the vocabulary's text embeddings; training the same model with the
    same names afterwards must work ("Inference tensors cannot be saved for backward" before)."""
    from openvidseg.inference import ClipPredictor

    torch.manual_seed(0)
    model = create_model("ov2vss_tiny", finetune_clip=finetune_clip)
    ClipPredictor(model, CLASSES[:3]).predict(lambda i: torch.zeros(3, 64, 96, dtype=torch.uint8), 0, [0, 0, 0], 0)
    model.train()
    frames, random_frame = clip_batch(batch=1)
    out = model(frames, CLASSES[:3], random_frame, torch.randint(0, 3, (1, 64, 96)))
    out["loss"].backward()
    assert model.text_encoder.alpha.grad is not None and torch.isfinite(out["loss"])


def test_video_text_encoding_is_x_clips_prompt_block():
    """T' = T + alpha * (X + MLP(LN(X))) with X = T + Attn(LN(T), LN(F)): the MLP sees T plus the attention
    update, and the decoder's output keeps T (X-CLIP's video-specific prompt generator)."""
    from openvidseg.models.ov2vss.text_encoding import VideoTextEncoder

    torch.manual_seed(0)
    vte = VideoTextEncoder(16, heads=2, alpha_init=0.5)
    text, visual = torch.randn(3, 4, 16), torch.randn(2, 16, 5, 6)
    with torch.no_grad():
        queries = text.reshape(1, 12, 16).expand(2, -1, -1)
        memory = vte.memory_norm(visual.flatten(2).transpose(1, 2))
        x = queries + vte.attention(vte.query_norm(queries), memory)
        expected = (queries + vte.alpha * (x + vte.mlp(vte.mlp_norm(x)))).reshape(2, 3, 4, 16)
        torch.testing.assert_close(vte(text, visual), expected)


def test_ov2vss_reads_clips_value_dense_path_by_default():
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny").eval()
    standard = create_model("ov2vss_tiny", dense_path="standard").eval()
    frames = clip_batch(batch=1, steps=1)[0][:, 0]
    pixels = model.clip.preprocess(frames, model.clip_image_size)
    with torch.no_grad():
        value = model.clip.dense_features(pixels, path="value").embeddings
        torch.testing.assert_close(model.encode_frames(frames).clip, value)
        assert not torch.allclose(standard.encode_frames(frames).clip, value, atol=1e-3)
    assert model.dense_path == "value" and create_model("frame_tiny").dense_path == "value"
