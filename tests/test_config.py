"""Typed configs: presets compose, overrides apply, unknown keys and wrong types fail clearly."""
from __future__ import annotations

import pytest

from openvidseg.config import ExperimentConfig, all_keys, config_to_yaml, list_presets, load_config, save_config
from openvidseg.errors import ConfigError


def test_defaults_are_typed_dataclasses():
    cfg = load_config()
    assert isinstance(cfg, ExperimentConfig)
    assert cfg.model.ref_offsets is None and cfg.data.crop_size == [480, 480]
    assert cfg.train.lr == pytest.approx(3e-6)


def test_every_packaged_preset_loads():
    names = list_presets()
    assert "ov2vss_vitb16_vspw" in names
    for name in names:
        assert isinstance(load_config(name), ExperimentConfig)


def test_preset_composes_over_its_base_and_overrides_win():
    cfg = load_config("ov2vss_vitb16_vspw", ["train.lr=1e-5", "model.ref_offsets=[-6,-3]", "model.use_stf=false"])
    assert cfg.data.dataset == "vspw"  # from the base preset
    assert cfg.model.name == "ov2vss_vitb16"  # from the preset itself
    assert cfg.train.lr == pytest.approx(1e-5)
    assert cfg.model.ref_offsets == [-6, -3]
    assert cfg.model.use_stf is False


def test_file_presets_compose_relative_to_each_other(tmp_path):
    (tmp_path / "base.yaml").write_text("train:\n  lr: 0.5\n  seed: 7\n")
    (tmp_path / "child.yaml").write_text("base: base.yaml\ntrain:\n  lr: 0.25\n")
    cfg = load_config(tmp_path / "child.yaml")
    assert cfg.train.lr == 0.25 and cfg.train.seed == 7


def test_unknown_key_names_the_key_and_close_matches():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["train.lrr=1"])
    message = str(err.value)
    assert "train.lrr" in message and "train.lr" in message and "command line" in message


def test_unknown_key_in_a_preset_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  nmae: x\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*model\.nmae.*model\.name"):
        load_config(path)


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match=r"train\.max_iters.*could not be converted"):
        load_config(None, ["train.max_iters=many"])


def test_malformed_override_and_unknown_preset():
    with pytest.raises(ConfigError, match="key=value"):
        load_config(None, ["train.lr"])
    with pytest.raises(ConfigError, match="ov2vss_vitb16_vspw"):
        load_config("ov2vss_vitb16_vsp")


def test_preset_loop_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="loop"):
        load_config(tmp_path / "a.yaml")


def test_saved_config_round_trips(tmp_path):
    cfg = load_config("ov2vss_vitb16_vspw", ["train.seed=3"])
    path = save_config(cfg, tmp_path / "run")
    assert path.read_text() == config_to_yaml(cfg)
    assert load_config(path) == cfg


def test_all_keys_lists_nested_keys():
    keys = all_keys()
    assert {"model.name", "model.ref_offsets", "train.lr", "eval.protocol", "device"} <= set(keys)
