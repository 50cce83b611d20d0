"""Presets for training and zero-shot evaluation: the public run's recipe, the Cityscapes evaluation preset
run through `openvidseg eval`, and the generated data of the tiny presets."""
from __future__ import annotations

import json

import pytest

from openvidseg.cli import main
from openvidseg.config import load_config
from openvidseg.data import CITYSCAPES_CLASSES, prepare_dataset
from openvidseg.data.build import build_augmentation
from openvidseg.errors import DataError


def test_the_public_run_preset_matches_its_schedule_in_optimiser_updates():
    """ov2vss_vitb16_sam_vspw is the public OV2VSS run: its 100k mmcv iterations are micro-batches, i.e.
    25k optimiser updates of 4 accumulated clips, and its 1,500 warm-up iterations 375 updates."""
    cfg = load_config("ov2vss_vitb16_sam_vspw")
    t, d = cfg.train, cfg.data
    assert cfg.model.name == "ov2vss_vitb16_sam" and d.dataset == "vspw" and d.split == "ov2vss"
    assert (t.max_iters * t.accumulation * d.batch_size, t.warmup_iters * t.accumulation) == (100_000, 1500)
    assert (t.lr, t.head_lr_mult, t.weight_decay, t.warmup_ratio, t.poly_power) == (3e-6, 10.0, 0.01, 1e-6, 0.9)
    assert t.eval_interval * t.accumulation == 10_000
    assert d.crop_size == [480, 480] and d.batch_size == 1 and d.photometric_per == "frame"
    assert (d.ratio_range, d.scale, d.cat_max_ratio, d.reverse_prob) == ([0.5, 2.0], 1024, 0.75, 0.5)
    assert build_augmentation(d).photometric_per == "frame"


@pytest.mark.parametrize("preset, model", [("ov2vss_vitb16_vspw", "ov2vss_vitb16"), ("frame_vitb16_vspw", "frame_vitb16")])
def test_clip_backbone_presets_share_the_schedule_with_catsegs_learning_rates(preset, model):
    cfg, public = load_config(preset), load_config("ov2vss_vitb16_sam_vspw")
    t = cfg.train
    assert cfg.model.name == model and cfg.data.photometric_per == "clip"
    assert (t.max_iters, t.warmup_iters, t.accumulation) == (public.train.max_iters, public.train.warmup_iters, 4)
    assert t.lr == pytest.approx(2e-6) and t.lr * t.head_lr_mult == pytest.approx(2e-4)


def test_cityscapes_zero_shot_preset_evaluates_a_checkpoint(tmp_path):
    from openvidseg.models import create_model
    from openvidseg.models.checkpoint import save_model
    from test_data_cityscapes import fake_cityscapes

    root = fake_cityscapes(tmp_path / "cityscapes", {"val": [("aachen", 119), ("bonn", 40)]})
    weights = save_model(create_model("frame_tiny"), tmp_path / "model.safetensors")
    out = tmp_path / "eval"
    assert main(["eval", "--config", "cityscapes_zero_shot", "--checkpoint", str(weights), "--out", str(out),
                 "--no-progress", f"data.root={root}", "data.test_short_side=16"]) == 0
    scores = json.loads((out / "metrics.json").read_text())
    assert scores["protocol"] == "gzsl" and list(scores["per_class"]) == list(CITYSCAPES_CLASSES)
    assert scores["num_videos"] == 2 and scores["num_frames"] == 2  # one labelled frame per snippet


def test_tiny_presets_generate_their_data_once_and_check_its_settings(tmp_path):
    cfg = load_config("ov2vss_tiny_synthetic", [f"data.root={tmp_path / 'set'}", "data.synthetic.num_frames=3",
                                                "data.synthetic.size=[16,24]"])
    assert cfg.data.dataset == "synthetic" and load_config("frame_tiny_synthetic").data == load_config("ov2vss_tiny_synthetic").data
    prepare_dataset(cfg.data)
    written = json.loads((tmp_path / "set" / "synthetic.json").read_text())
    assert written["splits"] == {"train": 4, "val": 2} and written["num_frames"] == 3
    assert len(list((tmp_path / "set" / "data" / "video_000").glob("origin/*.jpg"))) == 3
    marker = (tmp_path / "set" / "train.txt").stat().st_mtime_ns
    prepare_dataset(cfg.data)  # present: left as it is
    assert (tmp_path / "set" / "train.txt").stat().st_mtime_ns == marker
    assert not list(tmp_path.glob(".set.tmp-*"))
    cfg.data.synthetic.num_frames = 4
    with pytest.raises(DataError, match="generated with other settings \\(num_frames differ"):
        prepare_dataset(cfg.data)
