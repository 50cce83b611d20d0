"""Every named model variant. Adding a model = one `register_model` call here (plus its family builder)."""
from __future__ import annotations
