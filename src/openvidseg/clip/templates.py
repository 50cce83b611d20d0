"""Prompt templates are data: packaged text files, one template per line, `{}` marks the class name.

Packaged sets: `imagenet80` (the 80 ImageNet prompt templates of the CLIP paper), `vild14` (the 14
scene templates open-vocabulary detectors and CLIP-VIS average over) and `single`
("a photo of a {}."). Any path to a text file in the same format works too.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from openvidseg.errors import InputError

PACKAGED = ("imagenet80", "single", "vild14")


@lru_cache(maxsize=len(PACKAGED))
def _packaged(name: str) -> str:
    return resources.files("openvidseg.clip").joinpath("templates", f"{name}.txt").read_text("utf-8")


def load_templates(name_or_path: str = "imagenet80") -> tuple[str, ...]:
    """Return the templates of a packaged set (by name) or of a text file (by path)."""
    if name_or_path in PACKAGED:
        text = _packaged(name_or_path)
        source = f"packaged template set '{name_or_path}'"
    else:
        path = Path(name_or_path)
        if not path.is_file():
            raise InputError(
                f"unknown prompt templates '{name_or_path}': use one of {', '.join(PACKAGED)} "
                "or the path of a text file with one template per line"
            )
        text = path.read_text("utf-8")
        source = str(path)
    templates = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not templates:
        raise InputError(f"{source} holds no templates")
    bad = [t for t in templates if t.count("{}") != 1]
    if bad:
        raise InputError(f"{source}: every template needs exactly one '{{}}' for the class name; bad: {bad[0]!r}")
    return templates
