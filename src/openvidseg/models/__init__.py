"""Models: a registry of named variants (`create_model`, `list_models`) over the model families."""
from openvidseg.models.registry import ModelVariant, create_model, get_variant, list_models, register_model

__all__ = ["ModelVariant", "create_model", "get_variant", "list_models", "register_model"]
