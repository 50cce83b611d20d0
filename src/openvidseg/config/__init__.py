"""Typed configs: the schema (`ExperimentConfig` and its sections), packaged presets that compose, and
loading with dotted overrides."""
from openvidseg.config.loading import all_keys, config_to_yaml, list_presets, load_config, save_config
from openvidseg.config.schema import (
    DataConfig, EvalConfig, ExperimentConfig, ModelConfig, SyntheticDataConfig, TrainConfig,
)

__all__ = [
    "DataConfig", "EvalConfig", "ExperimentConfig", "ModelConfig", "SyntheticDataConfig", "TrainConfig",
    "all_keys", "config_to_yaml", "list_presets", "load_config", "save_config",
]
