"""Fetching model folders from the Hugging Face hub: the cache first, then the network; offline with no
cached copy, one clear error that says how to pass a local copy instead."""
from __future__ import annotations

import re
from pathlib import Path

from openvidseg.errors import WeightsNotFoundError

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
HUB_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


def is_hub_id(source: str) -> bool:
    """'org/name' that is not an existing path."""
    return bool(HUB_ID.match(source)) and not source.startswith((".", "/", "~")) and not Path(source).exists()


def download_snapshot(repo_id: str, *, what: str, how_to_pass: str, weights: bool = True) -> Path:
    """Local folder of a hub repository's config, tokenizer and (if `weights`) safetensors weights: from
    the huggingface_hub cache when present, else downloaded. Offline, the error names `what` is missing
    ("CLIP weights") and `how_to_pass` a local copy ("--clip /path/to/folder")."""
    from huggingface_hub import hf_hub_download, snapshot_download

    patterns = ["*.json", "*.txt", "*.safetensors"] if weights else ["*.json", "*.txt"]
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=patterns, local_files_only=True))
    except Exception:  # not cached: go online
        try:
            folder = Path(snapshot_download(repo_id, allow_patterns=patterns))
        except Exception as err:
            raise WeightsNotFoundError(
                f"cannot get {what} '{repo_id}': not in the Hugging Face cache and the hub cannot be reached "
                f"({type(err).__name__}). Download it where there is internet (hf download {repo_id} "
                f"--local-dir {repo_id.split('/')[-1]}) and pass that folder instead, e.g. {how_to_pass}"
            ) from None
    if weights and (folder / "config.json").is_file() and not any((folder / f).is_file() for f in HUB_WEIGHT_FILES):
        try:
            hf_hub_download(repo_id, "pytorch_model.bin")  # repositories without safetensors weights
        except Exception as err:
            raise WeightsNotFoundError(f"hub repository '{repo_id}' has no weights this package can read ({err})") from None
    return folder


def hub_weights_file(folder: Path) -> Path:
    """The weights file of a hub-layout folder (safetensors first), or a clear error."""
    found = next((folder / f for f in HUB_WEIGHT_FILES if (folder / f).is_file()), None)
    if found is None:
        raise WeightsNotFoundError(f"{folder} has no weights: expected one of {', '.join(HUB_WEIGHT_FILES)}")
    return found
