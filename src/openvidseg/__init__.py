"""openvidseg: open-vocabulary video segmentation.

Give it a video and any list of class names in plain words; it labels every pixel of every frame.
The package imports lazily so that `import openvidseg` and the command line start fast: heavy
modules (torch, transformers) load on first use of the names below.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "load_clip": "openvidseg.clip",
    "ClipModel": "openvidseg.clip",
    "load_config": "openvidseg.config",
    "create_model": "openvidseg.models",
    "list_models": "openvidseg.models",
    "load_model": "openvidseg.models",
    "push_to_hub": "openvidseg.models.publish",
    "OpenVidSegError": "openvidseg.errors",
    "segment_video": "openvidseg.inference.segment",
    "load_segmenter": "openvidseg.inference.segment",
    "Segmenter": "openvidseg.inference.segment",
    "write_segmentation": "openvidseg.inference.outputs",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from openvidseg.clip import ClipModel, load_clip
    from openvidseg.config import load_config
    from openvidseg.errors import OpenVidSegError
    from openvidseg.inference.outputs import write_segmentation
    from openvidseg.inference.segment import Segmenter, load_segmenter, segment_video
    from openvidseg.models import create_model, list_models, load_model
    from openvidseg.models.publish import push_to_hub


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openvidseg' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
