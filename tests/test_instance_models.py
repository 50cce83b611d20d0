"""Instance models (CLIP-VIS, OVFormer): shapes, gradients, class-order independence, checkpoints, losses,
matching and the temporal schemes, on tiny random models and synthetic tensors."""
from __future__ import annotations

import pytest
import torch

from openvidseg.errors import InputError, WeightsError
from openvidseg.models import create_model, get_variant, load_model, save_model
from openvidseg.models.instance.backbone import divisible_size
from openvidseg.models.instance.classification import geometric_ensemble, mask_pooled_embeddings
from openvidseg.models.instance.criterion import InstanceCriterion, federated_columns, mask_iou
from openvidseg.models.instance.matcher import HungarianMatcher
from openvidseg.models.instance.query_decoder import tile_frames, untile_frames
from openvidseg.models.instance.structures import InstanceOutput, InstanceTargets
from openvidseg.models.instance.tracking import ClipLinker, MaskLinker, TopKEnhancedMatcher, UnitDetections
from openvidseg.models.layers.feature_pyramid import SimpleFeaturePyramid

VARIANTS = ["clip_vis_tiny", "ovformer_tiny"]
CLASSES = ["red circle", "blue star", "green square", "yellow triangle", "person", "dog", "car"]


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {name: create_model(name).eval() for name in VARIANTS}


def frames_batch(batch=2, steps=3, size=(64, 96), seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, steps, 3, *size), generator=g, dtype=torch.uint8)


def box_targets(batch=2, steps=3, size=(64, 96)):
    """Clip 0: two instances (one leaves after frame 1); clip 1: one instance."""
    masks = torch.zeros(batch, 2, steps, *size, dtype=torch.bool)
    masks[0, 0, :, 8:30, 10:40] = True
    masks[0, 1, :2, 34:60, 50:90] = True
    masks[1, 0, :, 20:50, 20:70] = True
    return [InstanceTargets(torch.tensor([0, 2]), masks[0]), InstanceTargets(torch.tensor([1]), masks[1, :1])]


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("classes, size", [(1, (64, 96)), (3, (80, 80)), (7, (50, 130))])
def test_output_shapes_for_any_vocabulary_and_input_size(models, name, classes, size):
    model = models[name]
    with torch.no_grad():
        out = model(frames_batch(size=size), CLASSES[:classes])
    height, width = (s // 4 for s in divisible_size(*size, 32))
    joint = model.joint_frames
    assert out["masks"].shape == ((2, 10, 3) if joint else (6, 10, 1)) + (height, width)
    assert out["class_logits"].shape == ((2 if joint else 6), 10, classes)
    assert out["objectness"].shape[-1] == 2 and torch.isfinite(out["class_logits"]).all()


@pytest.mark.parametrize("name", VARIANTS)
def test_frozen_clip_gets_no_gradient_and_every_trainable_module_does(name):
    torch.manual_seed(0)
    model = create_model(name).train()
    out = model(frames_batch(), CLASSES[:3], box_targets())
    expected = {"loss", "loss_objectness", "loss_mask", "loss_dice"} | (
        {"loss_class"} if name.startswith("ovformer") else {"loss_iou"})
    assert expected <= set(out) and torch.isfinite(out["loss"])
    out["loss"].backward()
    assert not any(p.requires_grad or p.grad is not None for p in model.clip.parameters())
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"trainable parameters without gradient: {missing}"
    # the deformable attention starts with zero sampling-offset and attention-weight matrices (Deformable
    # DETR's init), so the level embedding, seen only through them, gets a zero gradient on the first step
    zero = {n for n, p in model.named_parameters() if p.requires_grad and not p.grad.abs().sum() > 0}
    assert zero <= {"pixel_decoder.decoder.level_embed"}, zero
    groups = model.parameter_groups()
    assert not groups["backbone"] and len(groups["head"]) == sum(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name", VARIANTS)
def test_permuting_the_classes_permutes_the_class_logits(models, name):
    frames = frames_batch(batch=1)
    order = [4, 0, 6, 2, 1, 5, 3]
    with torch.no_grad():
        base = models[name](frames, CLASSES)["class_logits"]
        shuffled = models[name](frames, [CLASSES[i] for i in order])["class_logits"]
    torch.testing.assert_close(shuffled, base[..., order], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", VARIANTS)
def test_checkpoint_round_trip_and_a_checkpoint_of_another_model(tmp_path, models, name):
    model = models[name]
    path = save_model(model, tmp_path / f"{name}.safetensors")
    from safetensors.torch import load_file

    assert not any(k.startswith("clip.") for k in load_file(str(path)))  # the frozen CLIP is not saved
    restored = load_model(path).eval()
    frames = frames_batch(batch=1)
    with torch.no_grad():
        a, b = model(frames, CLASSES[:3]), restored(frames, CLASSES[:3])
    torch.testing.assert_close(a["masks"], b["masks"])
    torch.testing.assert_close(a["class_logits"], b["class_logits"])
    other = create_model([v for v in VARIANTS if v != name][0])
    from openvidseg.models import load_weights

    with pytest.raises(WeightsError, match=f"checkpoint of '{name}' loaded into"):
        load_weights(other, path)


def test_variants_are_instance_models_and_options_are_checked():
    assert get_variant("clip_vis_vitb16").task == "instance" and get_variant("ovformer_tiny").task == "instance"
    assert create_model("ovformer_tiny", clip_frames=3).frames_per_decode == 3
    assert create_model("clip_vis_tiny").frames_per_decode == 1
    with pytest.raises(InputError, match="has no option 'use_stf'"):
        create_model("clip_vis_tiny", use_stf=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["clip_vis_vitb16", "ovformer_vitb16"])
def test_real_size_variants_build_with_random_weights(all_cores, name):
    model = create_model(name, clip="random:vit-b-16").eval()
    assert model.num_queries == 100 and len(model.query_decoder.decoder.layers) == 9
    with torch.no_grad():
        out = model(frames_batch(batch=1, steps=1, size=(224, 320)), CLASSES[:5])
    assert out["masks"].shape == (1, 100, 1, 56, 80) and out["class_logits"].shape == (1, 100, 5)


def test_frames_tile_side_by_side_and_back():
    x = torch.arange(2 * 3 * 4 * 5 * 6, dtype=torch.float32).view(6, 4, 5, 6)  # B*T = 2*3 frames
    tiled = tile_frames(x, 3)
    assert tiled.shape == (2, 4, 5, 18)
    torch.testing.assert_close(tiled[1, :, :, 12:18], x[5])  # clip 1, frame 2
    masks = torch.randn(2, 7, 5, 18)
    torch.testing.assert_close(untile_frames(masks, 3)[1, :, 2], masks[1, :, :, 12:18])


@pytest.mark.parametrize("stride", [16, 14])
def test_simple_feature_pyramid_gives_strides_4_to_32(stride):
    pyramid = SimpleFeaturePyramid([8, 8, 8, 8], 32, stride)
    grid = (96 // stride, 128 // stride)
    levels = pyramid([torch.randn(2, 8, *grid) for _ in range(4)], (96, 128))
    assert [tuple(x.shape[-2:]) for x in levels] == [(24, 32), (12, 16), (6, 8), (3, 4)]


def test_hungarian_matcher_recovers_a_shuffled_permutation():
    torch.manual_seed(0)
    targets = torch.zeros(6, 2, 32, 32, dtype=torch.bool)
    for n in range(6):
        targets[n, :, 4 * n : 4 * n + 8, (5 * n) % 24 : (5 * n) % 24 + 8] = True
    perm = torch.randperm(6)
    logits = torch.full((8, 2, 16, 16), -8.0)
    downsampled = torch.nn.functional.interpolate(targets.float(), size=(16, 16), mode="area") > 0.5
    logits[:6][downsampled[perm]] = 8.0  # query i predicts target perm[i]; queries 6, 7 predict nothing
    rows, cols = HungarianMatcher(num_points=2048)(logits, torch.zeros(8, 6), targets)
    assert rows.tolist() == list(range(6)) and cols.tolist() == perm.tolist()


def test_topk_matcher_and_clip_linker_recover_shuffled_queries_with_bounded_memory():
    torch.manual_seed(0)
    tracks = torch.randn(12, 16)
    for tracker in (TopKEnhancedMatcher(memory=9, top_k=5), ClipLinker()):
        assert tracker.align(tracks).tolist() == list(range(12))
        for _ in range(15):
            perm = torch.randperm(12)
            shuffled = tracks[perm] + 0.05 * torch.randn(12, 16)
            aligned = tracker.align(shuffled)
            assert torch.equal(perm[aligned], torch.arange(12))  # track j continues with its own embedding
        assert tracker.nbytes() == (9 if isinstance(tracker, TopKEnhancedMatcher) else 1) * 12 * 16 * 4


def test_topk_matching_outvotes_one_corrupted_memory_frame():
    """Track 0 and 1 swap embeddings in one (recent) frame only; the top-5-of-9 vote keeps their identities."""
    torch.manual_seed(1)
    tracks = torch.randn(4, 8)
    matcher = TopKEnhancedMatcher(memory=9, top_k=5)
    for step in range(9):
        frame = tracks.clone()
        if step == 8:
            frame[[0, 1]] = frame[[1, 0]]
        matcher.memory.append(frame)
    assert matcher.align(tracks).tolist() == [0, 1, 2, 3]


def test_topk_matching_with_fewer_memory_frames_than_k_follows_the_best_matching_frame():
    """Memory: an exact frame, then a noisy one with tracks 0 and 1 swapped. With 2 < K frames the exact frame
    (the lowest matched cost) decides alone, as CLIP-VIS's released inference does; the recency-weighted average
    of both would follow the newer, swapped frame."""
    torch.manual_seed(2)
    tracks = torch.randn(4, 8)
    swapped = tracks[[1, 0, 2, 3]] + 0.3 * torch.randn(4, 8)
    matcher = TopKEnhancedMatcher(memory=9, top_k=5)
    matcher.memory.extend([tracks, swapped])
    assert matcher.align(tracks).tolist() == [0, 1, 2, 3]


def _box(top: int, left: int, size: int = 4) -> torch.Tensor:
    mask = torch.zeros(1, 12, 12, dtype=torch.bool)
    mask[0, top : top + size, left : left + size] = True
    return mask


def test_mask_linker_links_by_class_and_mask_iou_and_starts_new_identities():
    """Hand-worked: frame 0 holds a cat (query 0) and a dog (query 1); in frame 1 the queries come in another
    order, the cat moved one pixel (IoU 12/20 with its last mask), the dog's box is now named cat (no link:
    another class), and a new object appears; the linker keeps the cat's track, gives the relabelled dog and the
    new object slots never used before, and fills the rest with the non-detections."""
    linker = MaskLinker(iou_threshold=0.3)
    empty = torch.zeros(1, 12, 12, dtype=torch.bool)
    first = UnitDetections(torch.stack([_box(0, 0), _box(6, 6), empty, empty, empty]),
                           torch.tensor([0, 1, 0, 0, 0]), torch.tensor([True, True, False, False, False]))
    assert linker.align(torch.zeros(5, 4), first).tolist() == [0, 1, 2, 3, 4]
    second = UnitDetections(torch.stack([empty, _box(6, 6), _box(0, 8), _box(1, 0), empty]),
                            torch.tensor([0, 0, 2, 0, 0]), torch.tensor([False, True, True, True, False]))
    perm = linker.align(torch.zeros(5, 4), second).tolist()
    # the cat continues track 0; the two detections left take slots 2 and 3 (never alive), the non-detections
    # slot 4 (never alive) and then slot 1 (the dog's, free now)
    assert perm == [3, 4, 1, 2, 0]
    assert linker.state_dict()["alive"].tolist() == [True, False, True, True, False]
    resumed = MaskLinker(iou_threshold=0.3)
    resumed.load_state_dict(linker.state_dict())
    third = UnitDetections(torch.stack([_box(1, 1), empty, empty, empty, empty]), torch.tensor([0, 0, 0, 0, 0]),
                           torch.tensor([True, False, False, False, False]))
    assert resumed.align(torch.zeros(5, 4), third)[0] == 0 and linker.align(torch.zeros(5, 4), third)[0] == 0


def test_mask_pooling_averages_the_dense_embeddings_inside_the_mask():
    dense = torch.zeros(1, 1, 3, 4, 4)
    dense[0, 0, 0, :2] = 1.0  # top half: class A
    dense[0, 0, 1, 2:] = 1.0  # bottom half: class B
    logits = torch.full((1, 2, 1, 8, 8), -10.0)
    logits[0, 0, 0, :4] = 10.0
    logits[0, 1, 0, 4:, 4:] = 10.0
    pooled = mask_pooled_embeddings(logits, dense)
    torch.testing.assert_close(pooled[0], torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))


def test_perfect_predictions_give_near_zero_mask_losses_and_iou_targets_of_one():
    targets = box_targets()
    masks = torch.full((2, 4, 3, 64, 96), -20.0)  # logits at the targets' resolution, queries 0.. = instances
    for b, target in enumerate(targets):
        masks[b, : len(target.labels)][target.masks] = 20.0
    objectness = torch.tensor([[8.0, -8.0]]).repeat(2, 4, 1)
    objectness[0, 2:] = torch.tensor([-8.0, 8.0])
    objectness[1, 1:] = torch.tensor([-8.0, 8.0])
    stage = InstanceOutput(torch.zeros(2, 4, 8), masks, objectness, iou=torch.ones(2, 4))
    criterion = InstanceCriterion(num_points=4096, importance_sample_ratio=0.0)  # uniform points: few on edges
    losses = criterion([stage], targets)
    assert losses["loss_mask"] < 0.3 and losses["loss_dice"] < 0.1 and losses["loss_objectness"] < 0.01
    assert losses["loss_iou"] < 1e-6  # predicted IoU 1 = the matched masks' IoU
    assert mask_iou(masks[0, :2], targets[0].masks).tolist() == [1.0, 1.0]
    wrong = InstanceOutput(torch.zeros(2, 4, 8), -masks, -objectness, iou=torch.zeros(2, 4))
    assert criterion([wrong], targets)["loss"] > 100 * losses["loss"]


def test_federated_columns_keep_the_present_classes_and_sample_the_rest():
    torch.manual_seed(0)
    labels = torch.tensor([3, 70, 3])
    columns = federated_columns(labels, 100, 50, torch.rand(100) ** 0.5)
    assert len(columns) == 50 and {3, 70} <= set(columns.tolist()) and len(set(columns.tolist())) == 50
    assert federated_columns(labels, 20, 50, None).tolist() == list(range(20))


def test_semantic_segment_refuses_an_instance_model_with_a_clear_error():
    from openvidseg.inference.segment import build_segment_model

    with pytest.raises(InputError, match="'clip_vis_tiny' does instance segmentation, not semantic"):
        build_segment_model("clip_vis_tiny")


def test_pooled_embedding_is_clips_image_embedding_and_the_dense_path_is_selectable(models):
    model = models["ovformer_tiny"]
    images = frames_batch(batch=2, steps=1, size=(224, 224))[:, 0]
    with torch.no_grad():
        features = model.encode_frames(images)
        pixels = model.clip.preprocess(images)
        reference = model.clip.model.get_image_features(pixel_values=pixels)
        reference = getattr(reference, "pooler_output", reference)
        standard = create_model("ovformer_tiny", dense_path="standard")
        standard.load_state_dict(model.state_dict())
        other = standard.eval().encode_frames(images)
    torch.testing.assert_close(features.pooled, torch.nn.functional.normalize(reference, dim=-1), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(other.pooled, features.pooled)
    assert features.clip.shape == other.clip.shape == (2, 32, 14, 14)
    assert not torch.allclose(other.clip, features.clip)  # value path vs the block as it is
    for level, expected in zip(features.levels, (56, 28, 14, 7)):
        assert level.shape == (2, 32, expected, expected)


def test_geometric_ensemble_is_the_weighted_geometric_mean_of_the_two_probabilities():
    learned = torch.tensor([[0.0, 0.0, 2.0]])  # sigmoid: 0.5, 0.5, 0.8808
    clip = torch.log(torch.tensor([[0.8, 0.15, 0.05]]))  # softmax: 0.8, 0.15, 0.05
    share = torch.tensor([0.5, 1.0, 0.0])
    probs = geometric_ensemble(learned, clip, share).sigmoid()
    expected = torch.tensor([[(0.5 * 0.8) ** 0.5, 0.15, 1 / (1 + 2.718281828 ** -2)]])
    torch.testing.assert_close(probs, expected, rtol=1e-4, atol=1e-5)


def test_clip_ensemble_option_mixes_mask_pooled_clip_into_ovformer_inference_only():
    torch.manual_seed(0)
    plain = create_model("ovformer_tiny").eval()
    torch.manual_seed(0)
    mixed = create_model("ovformer_tiny", clip_ensemble=[0.0, 1.0]).eval()  # seen: learned alone; unseen: CLIP alone
    mixed.train_class_names = tuple(CLASSES[:2])
    frames = frames_batch(batch=1)
    with torch.no_grad():
        a, b = plain(frames, CLASSES[:4]), mixed(frames, CLASSES[:4])
        features = mixed.encode_frames(frames.flatten(0, 1))
        dense = features.clip.view(1, 3, *features.clip.shape[1:])
        clip_probs = mixed.ensemble_pooling(b["masks"], dense, mixed.text_embeddings(CLASSES[:4])).softmax(-1)
    torch.testing.assert_close(b["class_logits"][..., :2], a["class_logits"][..., :2], rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(b["class_logits"][..., 2:].sigmoid(), clip_probs[..., 2:], rtol=1e-4, atol=1e-5)
    assert mixed.seen_classes(CLASSES[:4]).tolist() == [True, True, False, False]
    mixed.train()
    with torch.no_grad():  # training: the paper's classifier alone
        torch.manual_seed(1)
        c = mixed(frames, CLASSES[:4])
    plain.train()
    with torch.no_grad():
        torch.manual_seed(1)
        d = plain(frames, CLASSES[:4])
    torch.testing.assert_close(c["class_logits"], d["class_logits"])


def test_clip_ensemble_needs_an_aligned_classifier_and_shares_in_0_1():
    with pytest.raises(InputError, match="needs classifier='alignment'"):
        create_model("clip_vis_tiny", clip_ensemble=[0.4, 0.8])
    with pytest.raises(InputError, match=r"CLIP's shares in \[0, 1\]"):
        create_model("ovformer_tiny", clip_ensemble=[0.4, 1.5])


def test_load_model_gives_an_instance_model_its_training_vocabulary(tmp_path):
    model = create_model("ovformer_tiny", clip_ensemble=[0.4, 0.8])
    path = save_model(model, tmp_path / "m.safetensors", extra={"train_class_names": ["red circle", "blue star"]})
    restored = load_model(path)
    assert restored.train_class_names == ("red circle", "blue star") and restored.clip_ensemble == (0.4, 0.8)
    assert restored.seen_classes(["blue star", "dog"]).tolist() == [True, False]
