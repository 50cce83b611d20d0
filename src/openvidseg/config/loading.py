"""Load a config: packaged or file presets that compose through a `base:` list, then dotted
`key=value` overrides; strict about unknown keys and types (OmegaConf structured configs)."""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from openvidseg.config.schema import ExperimentConfig
from openvidseg.config.validate import check_config
from openvidseg.errors import ConfigError

PRESET_SUFFIX = ".yaml"


def list_presets() -> list[str]:
    """Names of the packaged presets."""
    folder = resources.files("openvidseg.config").joinpath("presets")
    return sorted(p.name[: -len(PRESET_SUFFIX)] for p in folder.iterdir() if p.name.endswith(PRESET_SUFFIX))


def load_config(preset: str | Path | None = None, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Build the typed config from a preset (packaged name or YAML path; may be None) and overrides
    like `train.lr=1e-5` or `model.ref_offsets=[-6,-3]`; every value is checked (`check_config`)."""
    cfg = OmegaConf.structured(ExperimentConfig)
    if preset is not None:
        cfg = _merge(cfg, _preset_tree(str(preset), ()), f"preset '{preset}'")
    cfg = _merge(cfg, _parse_overrides(overrides), "command line")
    typed = OmegaConf.to_object(cfg)
    check_config(typed)  # every value in range, before anything is built or written
    return typed


def config_to_yaml(cfg: ExperimentConfig) -> str:
    """The resolved config as YAML text (what gets saved beside a run's outputs)."""
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def save_config(cfg: ExperimentConfig, folder: str | Path, name: str = "config.yaml") -> Path:
    """Write the resolved config into `folder` and return the file's path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config_to_yaml(cfg))
    return path


def _preset_path(name: str, relative_to: Path | None) -> tuple[Path | None, str]:
    packaged = resources.files("openvidseg.config").joinpath("presets", name + PRESET_SUFFIX)
    if packaged.is_file():
        return Path(str(packaged)), f"preset '{name}'"
    for candidate in ((relative_to / name) if relative_to else None, Path(name)):
        if candidate is not None and candidate.is_file():
            return candidate, str(candidate)
    return None, name


def _preset_tree(name: str, chain: tuple[str, ...], relative_to: Path | None = None) -> DictConfig:
    """The preset merged over its bases (recursively), with the `base` key removed."""
    path, label = _preset_path(name, relative_to)
    if path is None:
        close = difflib.get_close_matches(name, list_presets(), n=3)
        hint = f" Close matches: {', '.join(close)}." if close else ""
        raise ConfigError(f"unknown preset '{name}': not a packaged preset nor a YAML file.{hint} "
                          f"Packaged presets: {', '.join(list_presets())}")
    if label in chain:
        raise ConfigError(f"presets include each other in a loop: {' -> '.join((*chain, label))}")
    try:
        node = OmegaConf.load(path)
    except Exception as err:  # YAML syntax errors
        raise ConfigError(f"cannot read {label}: {err}") from err
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{label} must hold a mapping of config keys")
    bases = node.pop("base", None) or []
    bases = [bases] if isinstance(bases, str) else list(bases)
    merged = OmegaConf.create()
    for base in bases:
        merged = OmegaConf.merge(merged, _preset_tree(str(base), (*chain, label), path.parent))
    # each file is checked against the schema on its own, so an error names the file it is in
    _merge(OmegaConf.structured(ExperimentConfig), node, label)
    return OmegaConf.merge(merged, node)


def _parse_overrides(overrides: Iterable[str]) -> DictConfig:
    items = list(overrides)
    for item in items:
        if "=" not in item or item.startswith("="):
            raise ConfigError(f"override '{item}' is not of the form key=value (e.g. train.lr=1e-5)")
    try:
        return OmegaConf.from_dotlist(items)
    except OmegaConfBaseException as err:
        raise ConfigError(f"cannot parse overrides {items}: {err}") from err


def _merge(cfg: DictConfig, other: DictConfig, source: str) -> DictConfig:
    try:
        return OmegaConf.merge(cfg, other)
    except ConfigKeyError as err:
        key = err.full_key or str(err.key)
        close = difflib.get_close_matches(key, all_keys(), n=3, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise ConfigError(f"{source}: unknown config key '{key}'{hint}") from None
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        reason = str(err).splitlines()[0]
        raise ConfigError(f"{source}: bad value for config key '{key}': {reason}") from None


def all_keys(schema: type = ExperimentConfig, prefix: str = "") -> list[str]:
    """Every dotted key of the schema, e.g. 'train.lr'."""
    keys: list[str] = []
    for f in fields(schema):
        name = prefix + f.name
        keys.append(name)
        kind = f.default_factory() if callable(f.default_factory) else None  # type: ignore[misc]
        if is_dataclass(kind):
            keys += all_keys(type(kind), name + ".")
    return keys
