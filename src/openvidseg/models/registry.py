"""The front door to every model: `create_model(name, **overrides)` and `list_models()`.

Variants are plain data (see variants.py) registered when this module is imported, so nothing is ever
"not registered because never imported"; a family's builder module is imported only when a model of
that family is created, which keeps `list_models()` and the command line fast.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openvidseg.errors import InputError


TASKS = ("semantic", "instance", "audio-visual")


@dataclass(frozen=True)
class ModelVariant:
    """A named model: its family's builder, its default CLIP, its default config preset and options, and the task
    it does (the `--task` of segment / eval / score / demo)."""

    name: str
    family: str
    clip: str
    preset: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    task: str = "semantic"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"model '{self.name}' names unknown task '{self.task}' (use one of {', '.join(TASKS)})")


# family -> "module:function" building it; the function takes `clip` and keyword options
FAMILIES: dict[str, str] = {}
_VARIANTS: dict[str, ModelVariant] = {}


def register_family(family: str, builder: str) -> None:
    """Register a model family's builder, given as 'package.module:function'."""
    FAMILIES[family] = builder


def register_model(variant: ModelVariant) -> ModelVariant:
    """Register a named variant; names are unique."""
    if variant.name in _VARIANTS:
        raise ValueError(f"model '{variant.name}' is registered twice")
    if variant.family not in FAMILIES:
        raise ValueError(f"model '{variant.name}' names unknown family '{variant.family}'")
    _VARIANTS[variant.name] = variant
    return variant


def list_models(pattern: str = "*") -> list[str]:
    """Names of the registered variants matching a shell-style pattern, sorted."""
    return sorted(n for n in _VARIANTS if fnmatch.fnmatch(n, pattern))


def get_variant(name: str) -> ModelVariant:
    """The registered variant called `name`, or an error listing close matches."""
    try:
        return _VARIANTS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_VARIANTS), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise InputError(
            f"unknown model '{name}'.{hint} Registered models: {', '.join(list_models())} (see `openvidseg info`)"
        ) from None


def family_builder(family: str):
    module, function = FAMILIES[family].split(":")
    return getattr(importlib.import_module(module), function)


def accepted_options(builder) -> list[str]:
    """A builder's keyword options: its named parameters and, when it forwards **options, the
    parameters of the class it returns (its return annotation)."""
    params = inspect.signature(builder).parameters
    names = [n for n, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        built = typing.get_type_hints(builder)["return"]
        names += [n for n, p in inspect.signature(built).parameters.items()
                  if n not in names and p.kind is p.KEYWORD_ONLY]
    return names


def resolve_options(name: str, overrides: Mapping[str, Any]) -> tuple[ModelVariant, dict[str, Any]]:
    """The variant and its full option set after `overrides` (None values keep the default), checked
    against the family builder's signature."""
    variant = get_variant(name)
    options: dict[str, Any] = {"clip": variant.clip, **variant.options}
    options.update({k: v for k, v in overrides.items() if v is not None})
    accepted = accepted_options(family_builder(variant.family))
    unknown = [k for k in options if k not in accepted]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(accepted), n=3)
        hint = f" (close: {', '.join(close)})" if close else ""
        raise InputError(
            f"model '{name}' ({variant.family}) has no option '{unknown[0]}'{hint}; its options: {', '.join(accepted)}"
        )
    return variant, options


def create_model(name: str, **overrides: Any):
    """Build the registered model `name`; keyword overrides replace the variant's default options.
    The model records `variant_name` and `build_options` so a checkpoint can rebuild it, and
    `trained_weights` = None (its trainable parts, if any, are random until weights are loaded)."""
    variant, options = resolve_options(name, overrides)
    try:
        model = family_builder(variant.family)(**options)
    except ValueError as err:  # an option value the family cannot build (e.g. aggregation='bogus')
        raise InputError(f"model '{name}' cannot be built with these options: {err}") from None
    model.variant_name = name
    model.build_options = options
    model.trained_weights = None
    return model


importlib.import_module("openvidseg.models.variants")  # registers every variant
