"""OV-AVSS on the instance stack: the registered tiny variant, its losses and gradients, what the audio
changes, the audio-reading decoder, checkpoints, and training and evaluation through the shared engine on a
generated audio-visual world."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from openvidseg.cli import main
from openvidseg.models import create_model, get_variant, load_model, save_model
from openvidseg.models.audio_visual.model import sounding_targets
from openvidseg.models.audio_visual.query_decoder import NormThenAudio


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return create_model("ov_avss_tiny")


def clip_batch(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    frames = torch.randint(0, 256, (2, 3, 3, 64, 64), dtype=torch.uint8, generator=gen)
    audio = torch.randn(2, 3, 15_600, generator=gen) * 0.1
    labels = torch.zeros(2, 3, 64, 64, dtype=torch.long)
    labels[0, :, 8:30, 8:30] = 1  # sounds in every frame
    labels[1, 1:, 30:60, 4:20] = 3  # silent in frame 0
    labels[1, :, 0:4] = 255  # not scored
    return {"frames": frames, "audio": audio, "labels": labels}


def test_sounding_targets_from_labels():
    labels = clip_batch()["labels"][1]
    targets = sounding_targets(labels)
    assert targets.labels.tolist() == [2] and targets.masks.shape == (1, 3, 64, 64)
    assert not targets.masks[0, 0].any() and targets.masks[0, 1].sum() == 30 * 16
    assert sounding_targets(torch.zeros(2, 4, 4, dtype=torch.long)).masks.shape == (0, 2, 4, 4)


def test_variant_losses_and_gradients(model):
    assert get_variant("ov_avss_tiny").task == "audio-visual" and get_variant("ov_avss_vitb16").task == "audio-visual"
    model.train()
    out = model(class_names=(), **model.batch_inputs(clip_batch(), torch.device("cpu")))
    assert out["masks"].shape == (2, 10, 3, 16, 16) and out["objectness"].shape == (2, 10, 2)
    assert set(out) >= {"loss", "loss_mask", "loss_dice", "loss_objectness"} and torch.isfinite(out["loss"])
    model.zero_grad()
    out["loss"].backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    for name in ("fusion.visual_out.weight", "audio.project.0.weight", "query_decoder.first_audio.attention.in_proj_weight",
                 "query_decoder.decoder.layers.0.self_attn_layer_norm.audio.attention.in_proj_weight"):
        assert grads[name] is not None and grads[name].abs().sum() > 0, name
    assert not any(n.startswith(("clip.", "audio.encoder.")) for n in grads)  # CLIP and VGGish stay frozen
    model.eval()


def test_the_audio_changes_what_is_segmented(model):
    batch = clip_batch()
    with torch.no_grad():
        features = model.encode_frames(batch["frames"].flatten(0, 1))
        heard = model.decode(features, batch["audio"], 3)[-1]
        other = model.decode(features, batch["audio"].flip(0), 3)[-1]
    assert not torch.allclose(heard.masks, other.masks) and not torch.allclose(heard.objectness, other.objectness)
    layers = model.query_decoder.decoder.layers
    assert all(isinstance(layer.self_attn_layer_norm, NormThenAudio) for layer in layers)
    assert model.query_decoder.audio_context is None  # set only during a forward
    with pytest.raises(ValueError, match="needs the clips' audio tokens"):
        model.query_decoder(model.pixel_decoder(list(features.levels))[1], features.levels[0], 3)


def test_sounding_objects_and_checkpoints(model, tmp_path):
    batch = clip_batch()
    objects = model.sounding_objects(batch["frames"][0], batch["audio"][0], ["a", "b", "c"], threshold=0.0)
    assert objects.masks.shape[1:] == (3, 64, 64) and objects.masks.dtype == torch.bool
    assert len(objects.classes) <= 10 and (objects.scores[:-1] >= objects.scores[1:]).all()
    path = save_model(model, tmp_path / "model.safetensors")
    again = load_model(path)
    with torch.no_grad():
        a = model(batch["frames"], batch["audio"])["masks"]
        b = again(batch["frames"], batch["audio"])["masks"]
    assert torch.equal(a, b)


@pytest.mark.slow
def test_trains_and_evaluates_through_the_engine(tmp_path):
    from openvidseg.config import load_config
    from openvidseg.data.avsbench import AVSBenchDataset
    from openvidseg.engine.audio_visual_evaluator import evaluate_audio_visual, other_videos_audio
    from openvidseg.engine.training import run_training

    cfg = load_config("ov_avss_tiny_synthetic", [f"output_dir={tmp_path / 'run'}", f"data.root={tmp_path / 'world'}",
                                                 "data.audio_world.train_videos=2", "data.audio_world.test_videos=2",
                                                 "train.max_iters=2", "train.checkpoint_interval=2"])
    summary = run_training(cfg, progress=False)
    assert summary.final_model.is_file() and np.isfinite(summary.last_losses["loss"])
    model = load_model(summary.final_model)
    data = AVSBenchDataset(tmp_path / "world", "test", class_split=str(tmp_path / "world" / "seen_classes.json"),
                           audio_timing="frames")
    scores = evaluate_audio_visual(model, data, short_side=64, threshold=0.0)
    assert scores.num_frames == 10 and scores.num_videos == 2 and scores.miou is not None
    assert len(scores.per_class) == 17 and scores.groups["novel"] == ["red star", "green circle", "blue square",
                                                                      "yellow triangle"]
    shuffled = other_videos_audio(data)
    assert not torch.equal(shuffled(0), data[0]["audio"]) and torch.equal(shuffled(0), data[1]["audio"])
    # the same through `openvidseg eval --task audio-visual`, reports included
    args = ["eval", "--config", "ov_avss_tiny_synthetic", "--checkpoint", str(summary.final_model), "--no-progress",
            f"data.root={tmp_path / 'world'}", f"output_dir={tmp_path / 'run'}"]
    assert main([args[0], "--task", "audio-visual", *args[1:]]) == 0
    metrics = json.loads((tmp_path / "run" / "eval_audio_visual" / "metrics.json").read_text())
    assert metrics["task"] == "audio-visual" and metrics["num_frames"] == 10 and metrics["F_mode"] == "exact"
    assert (tmp_path / "run" / "eval_audio_visual" / "report.md").is_file()
    assert main([*args, "--out", str(tmp_path / "semantic")]) == 2
