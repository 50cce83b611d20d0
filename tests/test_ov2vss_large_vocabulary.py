"""OV2VSS for large vocabularies: the exact shortcut (class maps from the model's own output grid) and the
options of ours that change the model (VTE on class queries, template mixtures, coarse class attention)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from openvidseg.inference import VideoPredictor
from openvidseg.inference.class_map import class_map, upsampled_class_map
from openvidseg.models import create_model
from openvidseg.models.ov2vss.cost import CostAggregation, TemplateMixing, cosine_cost
from openvidseg.models.ov2vss.pruning import unprune
from openvidseg.models.ov2vss.text_encoding import VideoTextEncoder


@pytest.mark.parametrize("classes, low, size", [(124, (24, 24), (480, 854)), (7, (5, 9), (37, 61)), (3, (4, 4), (4, 4)),
                                                (20, (12, 20), (200, 100))])
def test_class_map_of_upsampled_logits_skips_losing_classes_without_changing_a_pixel(classes, low, size):
    torch.manual_seed(classes)
    logits = torch.randn(1, classes, *low) * 3
    logits[:, : classes // 2] -= 20  # classes that win nowhere: left out by the shortcut
    full = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    expected = full[0].argmax(dim=0)
    assert torch.equal(class_map(full), expected)
    assert torch.equal(upsampled_class_map(logits, size), expected)


def test_class_map_of_pruned_logits_equals_the_class_map_of_the_kept_classes_alone():
    torch.manual_seed(0)
    kept_logits, kept = torch.randn(1, 20, 24, 24) * 3, torch.randperm(124)[:20].sort().values
    logits = unprune(kept_logits, kept, 124)  # the other 104 classes constant, far below: cut by the global test
    full = F.interpolate(logits, size=(200, 300), mode="bilinear", align_corners=False)
    assert torch.equal(upsampled_class_map(logits, (200, 300)), full[0].argmax(dim=0))
    assert torch.equal(upsampled_class_map(logits, (200, 300)), kept[upsampled_class_map(kept_logits, (200, 300))])


def test_streaming_class_maps_are_unchanged_by_the_native_grid_shortcut():
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny").eval()
    rng = np.random.default_rng(0)
    video = [rng.integers(0, 256, (45, 70, 3), dtype=np.uint8) for _ in range(4)]
    names = [f"class {i}" for i in range(9)]
    fast = VideoPredictor(model, names)
    full = VideoPredictor(model, names, return_logits=True)  # full-size logits: the path before the shortcut
    assert fast.low_res and not full.low_res
    for a, b in zip(fast.run(video), full.run(video)):
        assert a.labels.shape == (45, 70)
        assert torch.equal(a.labels, b.logits.argmax(dim=0))


def test_template_mixing_is_a_1x1_conv_over_the_template_channels_of_the_cost_volume():
    torch.manual_seed(0)
    mixing = TemplateMixing(num_templates=6, mixtures=3)
    visual, text = torch.randn(2, 16, 5, 7), torch.randn(4, 6, 16)
    full = cosine_cost(visual, text)  # (B, K, P, h, w)
    expected = torch.einsum("bkphw,mp->bkmhw", full, mixing.weight)
    torch.testing.assert_close(cosine_cost(visual, mixing(text), normalize_text=False), expected, rtol=1e-5, atol=1e-6)


def test_vte_on_class_queries_adds_one_update_per_class_that_of_its_normalised_template_average():
    torch.manual_seed(0)
    encoder = VideoTextEncoder(16, heads=2, queries="classes")
    with torch.no_grad():
        encoder.alpha.fill_(0.5)
    reference = VideoTextEncoder(16, heads=2)
    reference.load_state_dict(encoder.state_dict())
    text, visual = torch.randn(5, 4, 16), torch.randn(2, 16, 3, 3)
    out = encoder(text, visual)
    average = F.normalize(text.mean(dim=1, keepdim=True), dim=-1)  # (K, 1, D): one "template" per class
    update = reference(average, visual) - average  # alpha x the decoder's output, as the template path has it
    torch.testing.assert_close(out, text + update, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="VTE queries"):
        VideoTextEncoder(16, heads=2, queries="bogus")


def test_class_attention_on_a_coarser_grid_sees_every_class_and_stride_1_is_the_specification():
    torch.manual_seed(0)
    plain = CostAggregation(8, 4, layers=1, heads=2)
    coarse = CostAggregation(8, 4, layers=1, heads=2, class_stride=2)
    coarse.load_state_dict(plain.state_dict())
    cost, guidance = torch.randn(1, 5, 8, 6, 7), torch.randn(1, 4, 6, 7)
    block = plain.classes[0]

    def channels_first(f):  # the blocks work channels-last, (B, K, h, w, C)
        return lambda y: f(y.permute(0, 1, 3, 4, 2)).permute(0, 1, 4, 2, 3)

    x = channels_first(lambda y: plain.spatial[0](y, guidance))(cost)
    torch.testing.assert_close(plain(cost, guidance), channels_first(block)(x))
    pooled = F.avg_pool2d(x.flatten(0, 1), 2, ceil_mode=True)
    update = channels_first(block)(pooled.unflatten(0, (1, 5))).flatten(0, 1) - pooled
    expected = x + F.interpolate(update, size=(6, 7), mode="bilinear", align_corners=False).unflatten(0, (1, 5))
    torch.testing.assert_close(coarse(cost, guidance), expected)
    permutation = torch.randperm(5)  # still no class order
    torch.testing.assert_close(coarse(cost[:, permutation], guidance), coarse(cost, guidance)[:, permutation])


def test_large_vocabulary_options_build_train_and_are_kept_by_the_config():
    from openvidseg.config import load_config

    cfg = load_config("ov2vss_tiny_synthetic", ["model.vte_queries=classes", "model.cost_templates=2",
                                                "model.class_attention_stride=2"])
    assert (cfg.model.vte_queries, cfg.model.cost_templates, cfg.model.class_attention_stride) == ("classes", 2, 2)
    torch.manual_seed(0)
    model = create_model("ov2vss_tiny", vte_queries="classes", cost_templates=2, class_attention_stride=2)
    assert model.cost_embedding.conv.in_channels == 2
    frames = torch.randint(0, 256, (1, 4, 3, 48, 64), dtype=torch.uint8)
    out = model(frames, ["a", "b", "c"], torch.randint(0, 256, (1, 3, 48, 64), dtype=torch.uint8),
                torch.randint(0, 3, (1, 48, 64)))
    out["loss"].backward()
    assert model.template_mixing.weight.grad.abs().sum() > 0


def test_the_decoder_gives_the_same_logits_class_chunk_by_class_chunk():
    from openvidseg.models.ov2vss.decoder import UpsamplingDecoder

    torch.manual_seed(0)
    decoder = UpsamplingDecoder(8, (4, 4), (3, 2)).eval()
    x, guidance = torch.randn(2, 21, 8, 5, 6), [torch.randn(2, 3, 10, 12), torch.randn(2, 2, 20, 24)]
    with torch.no_grad():
        chunked = decoder(x, guidance)
        decoder.class_chunk = 0
        whole = decoder(x, guidance)
    assert chunked.shape == (2, 21, 20, 24)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)


def test_cost_aggregation_gives_the_same_result_with_its_spatial_blocks_run_class_chunk_by_class_chunk():
    torch.manual_seed(0)
    aggregation = CostAggregation(8, 4, layers=2, heads=2).eval()
    aggregation.class_chunk = 3
    cost, guidance = torch.randn(2, 10, 8, 5, 6), torch.randn(2, 4, 5, 6)
    with torch.no_grad():
        chunked = aggregation(cost, guidance)
        aggregation.class_chunk = 0
        whole = aggregation(cost, guidance)
    torch.testing.assert_close(chunked, whole, rtol=0, atol=1e-6)
