"""The model card (README.md) of a model on the Hugging Face hub, generated from its checkpoint JSON and its
evaluations: what the model is, its CLIP, how it was trained (preset, data, split, steps), a table of
scores, and how to run it. The metadata block (library, tags, base model, model-index scores) is written
with huggingface_hub's `ModelCardData`, so the hub shows and indexes it."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openvidseg.metrics.report import format_score
from openvidseg.metrics.result import ScoreResult

TAGS = ["openvidseg", "video-segmentation", "semantic-segmentation", "open-vocabulary", "clip"]
CARD_SCORES = (("mIoU", "miou"), ("mIoU seen", "miou_seen"), ("mIoU unseen", "miou_unseen"), ("hIoU", "hiou"),
               ("VC8", "vc8"), ("VC16", "vc16"))
MAX_LISTED_CLASSES = 40


def _metadata(repo_id: str, info: Mapping[str, Any], evaluations: Sequence[tuple[str, ScoreResult]]) -> str:
    from huggingface_hub import EvalResult, ModelCardData
    from openvidseg.hub import is_hub_id

    clip = str(info.get("options", {}).get("clip") or "")
    dataset = info.get("training", {}).get("dataset") or "custom"
    results = [EvalResult(task_type="image-segmentation", task_name="open-vocabulary video semantic segmentation",
                          dataset_type=dataset, dataset_name=label, dataset_split=result.split,
                          metric_type=label_key.lower().replace(" ", "_"), metric_name=label_key,
                          metric_value=round(getattr(result, attribute), 2))
               for label, result in evaluations for label_key, attribute in CARD_SCORES
               if getattr(result, attribute) is not None]
    data = ModelCardData(library_name="openvidseg", pipeline_tag="image-segmentation", tags=TAGS,
                         base_model=clip if is_hub_id(clip) else None, model_name=repo_id.split("/")[-1],
                         eval_results=results or None)
    return data.to_yaml()


def _training_rows(info: Mapping[str, Any]) -> list[tuple[str, str]]:
    training = info.get("training", {})
    rows = [("model", f"`{info['model']}`"), ("CLIP", f"`{info.get('options', {}).get('clip', '?')}`")]
    rows.append(("training preset", f"`{training['preset']}`" if training.get("preset") else "not recorded"))
    if training:
        rows.append(("data", f"{training['dataset']} (`{training['data_root']}`), trained on split "
                             f"`{training['train_split']}`, evaluated on `{training['val_split']}`"))
        rows.append(("seen / unseen split", f"`{training['split']}` (class names: {training['class_names']})"))
        rows.append(("training", f"{training['iterations']} steps, global batch {training['global_batch']}, "
                                 f"{training['precision']}, seed {training['seed']}"))
    elif info.get("iteration") is not None:
        rows.append(("training", f"{info['iteration']} steps"))
    names = info.get("train_class_names") or []
    if names:
        shown = ", ".join(names[:MAX_LISTED_CLASSES]) + (f", ... ({len(names) - MAX_LISTED_CLASSES} more)"
                                                          if len(names) > MAX_LISTED_CLASSES else "")
        rows.append((f"classes seen in training ({len(names)})", shown))
    rows.append(("openvidseg", info.get("openvidseg_version", "?")))
    return rows


def _evaluation_table(evaluations: Sequence[tuple[str, ScoreResult]]) -> list[str]:
    if not evaluations:
        return ["Not evaluated when it was published. Evaluate it with `openvidseg eval --config PRESET "
                "--checkpoint REPO data.root=...` (see the openvidseg docs)."]
    header = "| data | protocol | frames / videos | " + " | ".join(label for label, _ in CARD_SCORES) + " |"
    lines = [header, "|" + "---|" * (3 + len(CARD_SCORES))]
    for label, result in evaluations:
        scores = " | ".join(format_score(getattr(result, attribute)) for _, attribute in CARD_SCORES)
        lines.append(f"| {label} (`{result.split}`, split `{result.split_def}`) | {result.protocol} | "
                     f"{result.num_frames} / {result.num_videos} | {scores} |")
    lines += ["", "Scores in %; n/a where undefined (no unseen class in the data, no video longer than 16 frames)."]
    return lines


def _clip_note(clip: str) -> str:
    from openvidseg.hub import is_hub_id

    if is_hub_id(clip):
        return (f"The frozen CLIP weights are not in this repository: they come from the hub repository `{clip}` "
                "(downloaded once into the Hugging Face cache; offline, pass a local copy with `--clip PATH`).")
    return (f"The frozen CLIP weights are not in this repository: the model was trained on `{clip}`; pass that "
            "source (or a copy of it) with `--clip PATH` / `clip=`.")


def model_card(repo_id: str, info: Mapping[str, Any], evaluations: Sequence[tuple[str, ScoreResult]] = ()) -> str:
    """README.md text for hub repository `repo_id`: `info` is the checkpoint JSON (model, options,
    iteration, train_class_names, training facts), `evaluations` (label, scores) pairs."""
    clip = info.get("options", {}).get("clip", "?")
    rows = _training_rows(info)
    lines = ["---", _metadata(repo_id, info, evaluations).rstrip(), "---", "", f"# {repo_id}", "",
             f"`{info['model']}`, an open-vocabulary video segmentation model of "
             "openvidseg: give it a video and any list of class names, "
             "and it labels every pixel of every frame, including classes it never saw a mask of in training.",
             "", "| | |", "|---|---|", *[f"| {key} | {value} |" for key, value in rows], "",
             "## Evaluation", "", *_evaluation_table(evaluations), "",
             "## How to run it", "",
             "With openvidseg installed (see its README):", "", "```bash",
             f'openvidseg segment video.mp4 --classes "person, dog, ball" --checkpoint {repo_id}', "```", "",
             "```python", "import openvidseg", "",
             f'segmenter = openvidseg.load_segmenter("person, dog, ball", checkpoint="{repo_id}")',
             'labels = segmenter(image)  # (H, W) class indices of one image',
             f'for index, labels in openvidseg.segment_video("video.mp4", "person, dog, ball", checkpoint="{repo_id}"):',
             "    ...", f'model = openvidseg.load_model("{repo_id}")  # the torch module', "```", "",
             _clip_note(str(clip)), "",
             "## Files", "",
             "- `model.safetensors`: the weights (all but the frozen CLIP parameters)",
             "- `model.json`: the model's registered name, its build options and how it was trained", ""]
    return "\n".join(lines)
