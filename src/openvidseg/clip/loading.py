"""One path for CLIP weights: every source becomes (CLIPConfig, transformers-layout state dict, tokenizer)
and is loaded strictly into a freshly built model.

Sources, tried in this order:
- `random:<size>`: random weights of a real architecture (tests, benchmarks; see random_clip.py);
- a local directory laid out like a hub snapshot (config.json + model.safetensors or shards or
  pytorch_model.bin, tokenizer files), or an open_clip hub folder (open_clip_config.json + weights);
- a single checkpoint file: OpenAI's `.pt` release (TorchScript or plain state dict), an open_clip
  checkpoint, or a safetensors/bin file next to its config.json;
- a hub id such as `openai/clip-vit-base-patch16`, fetched once into the huggingface_hub cache.
"""
from __future__ import annotations

import json
from contextvars import ContextVar
from pathlib import Path

import torch
from transformers import AutoTokenizer, CLIPConfig, CLIPModel, PreTrainedTokenizerBase

from openvidseg.clip.convert import detect_layout, infer_config, openai_to_transformers
from openvidseg.clip.model import ClipModel
from openvidseg.clip.random_clip import RANDOM_SIZES, byte_tokenizer, random_clip_config
from openvidseg.errors import WeightsError, WeightsNotFoundError
from openvidseg.hub import HUB_WEIGHT_FILES, download_snapshot, hub_weights_file, is_hub_id
from openvidseg.weights import StateDict, build_with_weights, read_state_dict

# how the running command takes a CLIP path: `--clip PATH` (segment, the default) or `model.clip=PATH`
# (train and eval, which set it); hints name the option the user can actually pass
CLIP_OPTION: ContextVar[str] = ContextVar("clip_option", default="--clip ")


def how_to_pass() -> str:
    """'--clip /path/to/clip-vit-base-patch16 (a folder ...)', with the running command's option."""
    return (f"{CLIP_OPTION.get()}/path/to/clip-vit-base-patch16 (a folder with config.json and model.safetensors, "
            "or an OpenAI .pt file)")

OPEN_CLIP_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer.json", "vocab.json")
DEFAULT_TOKENIZER_HUB_ID = "openai/clip-vit-base-patch32"  # every OpenAI CLIP shares this tokenizer
IGNORED_KEYS = ("embeddings.position_ids",)  # a buffer older exports saved; rebuilt on load


def load_clip(
    source: str,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
    tokenizer: str | None = None,
    hidden_act: str | None = None,
    seed: int = 0,
) -> ClipModel:
    """Load CLIP from a hub id, local directory, checkpoint file, or `random:<size>`; frozen, in eval mode.

    tokenizer: a directory or hub id to take the tokenizer from, when the source has none
    (OpenAI `.pt` files); hidden_act: override the MLP activation for checkpoints that do not record it
    (OpenAI models use quick_gelu, most open_clip LAION models gelu); seed: for `random:` sources.
    """
    if source.startswith("random:"):
        model, tok = _random_model(source.split(":", 1)[1], seed)
    else:
        config, state, tok = _resolve(source, tokenizer, hidden_act)
        model = build_clip(config, state, source)
    clip = ClipModel(model, tok, name=source)
    return clip.to(device=device or "cpu", dtype=dtype)


def build_clip(config: CLIPConfig, state: StateDict, source: str) -> CLIPModel:
    """Build a CLIPModel without random initialisation and load `state` into it strictly."""
    state = {k: v for k, v in state.items() if not k.endswith(IGNORED_KEYS)}
    return build_with_weights(lambda: CLIPModel(config), state, source, describe_config(config),
                              ignore=IGNORED_KEYS, rebuild_buffers=_position_ids).eval()


def _position_ids(module: torch.nn.Module, name: str, meta: torch.Tensor) -> torch.Tensor:
    """CLIP's non-persistent `position_ids` buffers: 0..n-1 with a leading batch axis."""
    if name != "position_ids":
        raise ValueError(f"no rule to rebuild buffer {name}")
    return torch.arange(meta.shape[-1]).expand((1, -1))


def describe_config(config: CLIPConfig) -> str:
    """'CLIP ViT (width 768, 12 layers, patch 16, 224 px; text width 512)'."""
    v, t = config.vision_config, config.text_config
    return (
        f"CLIP ViT (width {v.hidden_size}, {v.num_hidden_layers} layers, patch {v.patch_size}, "
        f"{v.image_size} px; text width {t.hidden_size}, {t.num_hidden_layers} layers)"
    )


def _random_model(size: str, seed: int) -> tuple[CLIPModel, PreTrainedTokenizerBase]:
    if size not in RANDOM_SIZES:
        raise WeightsError(f"unknown random CLIP size '{size}': use random:{' | random:'.join(RANDOM_SIZES)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CLIPModel(random_clip_config(size))
    return model.eval(), byte_tokenizer()


def _resolve(source: str, tokenizer: str | None, hidden_act: str | None) -> tuple[CLIPConfig, StateDict, PreTrainedTokenizerBase]:
    path = Path(source).expanduser()
    if path.is_dir():
        return _from_directory(path, tokenizer, hidden_act)
    if path.is_file():
        if path.parent.joinpath("config.json").is_file() and path.name in HUB_WEIGHT_FILES:
            return _from_directory(path.parent, tokenizer, hidden_act)
        return _from_file(path, tokenizer, hidden_act)
    if is_hub_id(source):
        return _from_directory(download_snapshot(source, what="CLIP weights", how_to_pass=how_to_pass()), tokenizer, hidden_act)
    raise WeightsNotFoundError(
        f"CLIP weights '{source}' not found: it is not an existing file or directory, nor a hub id like "
        "'openai/clip-vit-base-patch16'"
    )


def _from_directory(folder: Path, tokenizer: str | None, hidden_act: str | None):
    if (folder / "config.json").is_file():
        config = CLIPConfig.from_pretrained(str(folder))
        if getattr(config, "model_type", "clip") != "clip":
            raise WeightsError(f"{folder} holds a '{config.model_type}' model, not CLIP")
        if hidden_act:
            config.vision_config.hidden_act = config.text_config.hidden_act = hidden_act
        state = read_state_dict(hub_weights_file(folder))
        if detect_layout(state) != "transformers":
            state = openai_to_transformers(state)
        return config, state, _tokenizer(tokenizer, folder, str(folder))
    open_clip_weights = next((folder / f for f in OPEN_CLIP_WEIGHT_FILES if (folder / f).is_file()), None)
    if open_clip_weights is not None:
        if hidden_act is None:
            cfg_file = folder / "open_clip_config.json"
            model_cfg = json.loads(cfg_file.read_text()).get("model_cfg", {}) if cfg_file.is_file() else {}
            hidden_act = "quick_gelu" if model_cfg.get("quick_gelu", False) else "gelu"
        return _from_file(open_clip_weights, tokenizer, hidden_act)
    raise WeightsNotFoundError(
        f"{folder} is not a CLIP model folder: expected config.json with model.safetensors (a Hugging Face "
        "snapshot), or open_clip_config.json with open_clip_model.safetensors; to load a single checkpoint "
        "file, pass the file itself"
    )


def _from_file(path: Path, tokenizer: str | None, hidden_act: str | None):
    state = read_state_dict(path)
    layout = detect_layout(state)
    if layout == "transformers":
        raise WeightsError(
            f"{path} holds transformers-layout weights but no architecture: pass the folder that holds it "
            "together with its config.json"
        )
    config = CLIPConfig(**infer_config(state, hidden_act or "quick_gelu"))
    return config, openai_to_transformers(state), _tokenizer(tokenizer, path.parent, str(path))


def _tokenizer(explicit: str | None, folder: Path, source: str) -> PreTrainedTokenizerBase:
    """Explicit tokenizer, else tokenizer files in `folder`, else the hub's CLIP tokenizer (cached or online)."""
    if explicit is not None:
        where = Path(explicit).expanduser()
        target = str(where) if where.is_dir() else str(download_snapshot(explicit, what="a CLIP tokenizer", how_to_pass=how_to_pass(), weights=False))
        return AutoTokenizer.from_pretrained(target)
    if any((folder / f).is_file() for f in TOKENIZER_FILES):
        return AutoTokenizer.from_pretrained(str(folder))
    try:
        return AutoTokenizer.from_pretrained(str(download_snapshot(DEFAULT_TOKENIZER_HUB_ID, what="a CLIP tokenizer", how_to_pass=how_to_pass(), weights=False)))
    except WeightsNotFoundError:
        raise WeightsNotFoundError(
            f"no tokenizer for {source}: put the CLIP tokenizer files (vocab.json and merges.txt, or "
            "tokenizer.json) beside it, or pass a tokenizer folder (load_clip(..., tokenizer=DIR))"
        ) from None
