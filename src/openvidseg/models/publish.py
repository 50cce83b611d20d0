"""Publishing a trained model on the Hugging Face hub: model.safetensors, model.json and a generated model
card (README.md) uploaded through huggingface_hub (`HfApi.create_repo` + `HfApi.upload_folder`). The other
direction is `load_model("user/repo")` / `--checkpoint user/repo` (`models.checkpoint.resolve_checkpoint`).

    model.push_to_hub("user/ov2vss-vspw")                       # a model in memory
    push_to_hub("runs/ov2vss", "user/ov2vss-vspw")              # a run folder, with its evaluations
    openvidseg train --config ... --push-to-hub user/ov2vss-vspw
"""
from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from torch import nn

from openvidseg.errors import HubError, InputError
from openvidseg.metrics.report import METRICS_NAME
from openvidseg.metrics.result import ScoreResult
from openvidseg.models.checkpoint import WEIGHTS_NAME, info_path, read_info, resolve_checkpoint, save_model
from openvidseg.models.model_card import model_card

CARD_NAME = "README.md"
SAVED_BY_SAVE_MODEL = ("format", "model", "options", "openvidseg_version")


def check_can_push(repo_id: str, token: str | None = None) -> None:
    """Refuse, before any work, a push that cannot succeed: a malformed repository id, offline mode, or no
    Hugging Face token (`hf auth login` or HF_TOKEN)."""
    from huggingface_hub import constants, get_token

    from openvidseg.hub import HUB_ID

    if not HUB_ID.match(repo_id):
        raise InputError(f"hub repository '{repo_id}' is not of the form 'user/name' (or 'organisation/name')")
    if constants.HF_HUB_OFFLINE:
        raise InputError(f"cannot push to '{repo_id}': HF_HUB_OFFLINE is set; unset it where there is internet")
    if token is None and get_token() is None:
        raise InputError(f"cannot push to '{repo_id}': no Hugging Face token; log in with `hf auth login` (or set "
                         "HF_TOKEN) first")


def run_evaluations(folder: Path, dataset: str | None) -> list[tuple[str, ScoreResult]]:
    """The scores a run folder holds: each `openvidseg eval` output (<run>/eval_<protocol>/metrics.json) and the
    last evaluation during training (<run>/eval/iter_N/metrics.json), labelled for the model card."""
    where = f"{dataset}, " if dataset else ""
    found = [(f"{where}{path.parent.name}", path) for path in sorted(folder.glob(f"eval_*/{METRICS_NAME}"))]
    during = sorted(folder.glob(f"eval/iter_*/{METRICS_NAME}"))
    if during:
        found.append((f"{where}step {int(during[-1].parent.name.split('_')[1])} of training", during[-1]))
    return [(label, ScoreResult.from_json(json.loads(path.read_text()))) for label, path in found]


def _as_evaluation(item: str | Path | ScoreResult | tuple[str, ScoreResult], number: int) -> tuple[str, ScoreResult]:
    if isinstance(item, tuple):
        return item
    if isinstance(item, ScoreResult):
        return f"evaluation {number}", item
    path = Path(item).expanduser()
    path = path / METRICS_NAME if path.is_dir() else path
    if not path.is_file():
        raise InputError(f"evaluation {path} not found: give a metrics.json written by `openvidseg eval` or `score`")
    return path.parent.name, ScoreResult.from_json(json.loads(path.read_text()))


def push_to_hub(source: nn.Module | str | Path, repo_id: str, *,
                evaluations: Sequence[str | Path | ScoreResult | tuple[str, ScoreResult]] = (),
                private: bool | None = None, token: str | None = None, commit_message: str | None = None) -> str:
    """Upload a model to hub repository `repo_id` (created when missing) and return the commit's URL.

    source: a model built by `create_model` / `load_model`, or a local checkpoint (its .safetensors file or a
    run folder), whose run folder also gives its evaluations. evaluations: more scores for the card
    (metrics.json paths, `ScoreResult`s, or (label, result) pairs)."""
    from huggingface_hub import HfApi

    check_can_push(repo_id, token)
    scores = [_as_evaluation(item, n) for n, item in enumerate(evaluations, start=1)]
    with tempfile.TemporaryDirectory(prefix="openvidseg-push-") as tmp:
        folder = Path(tmp)
        if isinstance(source, nn.Module):
            saved = getattr(source, "checkpoint_info", {})
            save_model(source, folder / WEIGHTS_NAME, {k: v for k, v in saved.items() if k not in SAVED_BY_SAVE_MODEL})
        else:
            weights = resolve_checkpoint(source)
            read_info(weights)  # an openvidseg checkpoint, or a clear error
            shutil.copyfile(weights, folder / WEIGHTS_NAME)
            shutil.copyfile(info_path(weights), info_path(folder / WEIGHTS_NAME))
        info = json.loads(info_path(folder / WEIGHTS_NAME).read_text())
        if not isinstance(source, nn.Module):
            scores = run_evaluations(resolve_checkpoint(source).parent, info.get("training", {}).get("dataset")) + scores
        (folder / CARD_NAME).write_text(model_card(repo_id, info, scores))
        api = HfApi(token=token)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            commit = api.upload_folder(repo_id=repo_id, folder_path=folder,
                                       commit_message=commit_message or f"openvidseg: {info['model']}")
        except Exception as err:  # network, authentication, permissions: one line, nothing local is lost
            raise HubError(f"cannot push to '{repo_id}': {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                           "; check your login (`hf auth login`), write access and network, then push again") from None
    return str(getattr(commit, "commit_url", commit))

