"""Convert CLIP checkpoints in OpenAI's original layout (also used by open_clip for ViT models) to the
Hugging Face `transformers` layout, and infer the architecture from the tensor shapes.

OpenAI layout (ViT): `visual.conv1.weight`, `visual.class_embedding`, `visual.positional_embedding`,
`visual.ln_pre/ln_post`, `visual.proj` (width x dim, applied as x @ proj),
`visual.transformer.resblocks.N.{attn.in_proj_weight, attn.in_proj_bias, attn.out_proj, ln_1, ln_2,
mlp.c_fc, mlp.c_proj}`, and for text `token_embedding`, `positional_embedding`, `transformer.resblocks.N`,
`ln_final`, `text_projection`, `logit_scale`. The attention input projection stacks q, k, v row-wise.
"""
from __future__ import annotations

import math
import re


from openvidseg.errors import WeightsError
from openvidseg.weights import StateDict

HEAD_WIDTH = 64  # every released CLIP ViT uses 64-dimensional attention heads

_BLOCK_RENAMES = {
    "attn.out_proj.weight": "self_attn.out_proj.weight",
    "attn.out_proj.bias": "self_attn.out_proj.bias",
    "ln_1.weight": "layer_norm1.weight",
    "ln_1.bias": "layer_norm1.bias",
    "ln_2.weight": "layer_norm2.weight",
    "ln_2.bias": "layer_norm2.bias",
    "mlp.c_fc.weight": "mlp.fc1.weight",
    "mlp.c_fc.bias": "mlp.fc1.bias",
    "mlp.c_proj.weight": "mlp.fc2.weight",
    "mlp.c_proj.bias": "mlp.fc2.bias",
}
_VISUAL_RENAMES = {
    "visual.class_embedding": "vision_model.embeddings.class_embedding",
    "visual.positional_embedding": "vision_model.embeddings.position_embedding.weight",
    "visual.conv1.weight": "vision_model.embeddings.patch_embedding.weight",
    "visual.ln_pre.weight": "vision_model.pre_layrnorm.weight",
    "visual.ln_pre.bias": "vision_model.pre_layrnorm.bias",
    "visual.ln_post.weight": "vision_model.post_layernorm.weight",
    "visual.ln_post.bias": "vision_model.post_layernorm.bias",
}
_TEXT_RENAMES = {
    "token_embedding.weight": "text_model.embeddings.token_embedding.weight",
    "positional_embedding": "text_model.embeddings.position_embedding.weight",
    "ln_final.weight": "text_model.final_layer_norm.weight",
    "ln_final.bias": "text_model.final_layer_norm.bias",
    "logit_scale": "logit_scale",
}
# buffers or extras some exports carry that have no counterpart in the transformers model
_DROPPED = ("attn_mask", "input_resolution", "context_length", "vocab_size")
_BLOCK = re.compile(r"^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)$")


def detect_layout(state: StateDict) -> str:
    """'transformers', 'openai' (also open_clip ViT checkpoints), or raise for anything else."""
    if any(k.startswith(("vision_model.", "text_model.")) for k in state):
        return "transformers"
    if "visual.conv1.weight" in state and any(k.startswith("visual.transformer.resblocks.") for k in state):
        return "openai"
    if any(k.startswith("visual.layer1.") for k in state):
        raise WeightsError("this is a ResNet CLIP checkpoint; only ViT CLIP models are supported")
    if "logit_bias" in state:
        raise WeightsError("this looks like a SigLIP checkpoint, not CLIP; only CLIP ViT models are supported")
    sample = ", ".join(sorted(state)[:3])
    raise WeightsError(f"not a CLIP checkpoint: expected keys like 'visual.conv1.weight' or 'vision_model.*', found {sample}")


def _num_blocks(state: StateDict, prefix: str) -> int:
    found = {int(m.group(2)) for k in state if (m := _BLOCK.match(k)) and (m.group(1) or "") == prefix}
    if not found:
        raise WeightsError(f"no '{prefix}transformer.resblocks.*' keys: not a CLIP ViT checkpoint")
    return max(found) + 1


def infer_config(state: StateDict, hidden_act: str = "quick_gelu") -> dict:
    """The `transformers.CLIPConfig` arguments that match an OpenAI-layout state dict."""
    conv = state["visual.conv1.weight"]  # (width, 3, patch, patch)
    vision_width, patch = conv.shape[0], conv.shape[-1]
    grid = math.isqrt(state["visual.positional_embedding"].shape[0] - 1)
    text_width = state["ln_final.weight"].shape[0]
    vocab_size = state["token_embedding.weight"].shape[0]
    return dict(
        projection_dim=state["visual.proj"].shape[1],
        vision_config=dict(
            hidden_size=vision_width,
            intermediate_size=state["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            num_hidden_layers=_num_blocks(state, "visual."),
            num_attention_heads=vision_width // HEAD_WIDTH,
            patch_size=patch,
            image_size=grid * patch,
            hidden_act=hidden_act,
        ),
        text_config=dict(
            hidden_size=text_width,
            intermediate_size=state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
            num_hidden_layers=_num_blocks(state, ""),
            num_attention_heads=text_width // HEAD_WIDTH,
            max_position_embeddings=state["positional_embedding"].shape[0],
            vocab_size=vocab_size,
            bos_token_id=vocab_size - 2,
            eos_token_id=vocab_size - 1,
            pad_token_id=vocab_size - 1,
            hidden_act=hidden_act,
        ),
    )


def openai_to_transformers(state: StateDict) -> StateDict:
    """Rename and reshape an OpenAI-layout CLIP state dict into the `transformers.CLIPModel` layout."""
    if any(k.startswith("text.") for k in state):
        raise WeightsError("open_clip checkpoints with a separate text tower ('text.*' keys) are not supported")
    out: StateDict = {}
    for key, value in state.items():
        if key.split(".")[-1] in _DROPPED:
            continue
        if key in _VISUAL_RENAMES:
            out[_VISUAL_RENAMES[key]] = value
        elif key in _TEXT_RENAMES:
            out[_TEXT_RENAMES[key]] = value
        elif key == "visual.proj":
            out["visual_projection.weight"] = value.t().contiguous()
        elif key == "text_projection":
            out["text_projection.weight"] = value.t().contiguous()
        elif match := _BLOCK.match(key):
            tower = "vision_model" if match.group(1) else "text_model"
            prefix = f"{tower}.encoder.layers.{match.group(2)}."
            rest = match.group(3)
            if rest in ("attn.in_proj_weight", "attn.in_proj_bias"):
                kind = rest.rsplit("_", 1)[1]  # weight | bias
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                    out[f"{prefix}self_attn.{name}.{kind}"] = part.contiguous()
            elif rest in _BLOCK_RENAMES:
                out[prefix + _BLOCK_RENAMES[rest]] = value
            else:
                out[key] = value  # left as is: the strict load reports it as unexpected
        else:
            out[key] = value
    return out
