"""Evaluating an audio-visual model on an AVSBench-semantic-layout split: every clip segmented with the
whole vocabulary (background and every class, in id order), scored by `AudioVisualScores`.

`audio_of(i)` replaces clip i's sound (the shuffled-audio control: the sound of another video's clip);
`class_names` replaces the vocabulary's prompt names (same classes, same order)."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from openvidseg.data.avsbench import AVSBenchDataset
from openvidseg.inference.audio_visual import AudioVisualPredictor
from openvidseg.metrics.audio_visual import AudioVisualScores
from openvidseg.metrics.audio_visual_result import AudioVisualScoreResult
from openvidseg.vocabulary import NO_CLASS


def other_videos_audio(dataset: AVSBenchDataset, shift: int = 1) -> Callable[[int], torch.Tensor]:
    """`audio_of` for the shuffled-audio control: clip i hears the clip `shift` videos later (cyclically) at the
    same position, so no clip keeps its own video's sound (with at least two videos)."""
    uids = list(dict.fromkeys(c.video.uid for c in dataset.clips))
    by_video: dict[str, list[int]] = {}
    for i, clip in enumerate(dataset.clips):
        by_video.setdefault(clip.video.uid, []).append(i)

    def audio_of(index: int) -> torch.Tensor:
        clip = dataset.clips[index]
        own = by_video[clip.video.uid]
        other = by_video[uids[(uids.index(clip.video.uid) + shift) % len(uids)]]
        return dataset[other[own.index(index) % len(other)]]["audio"]

    return audio_of


def evaluate_audio_visual(model, dataset: AVSBenchDataset, *, mode: str = "exact", short_side: int | None = None,
                          audio_of: Callable[[int], torch.Tensor] | None = None,
                          class_names: Sequence[str] | None = None, top_k: int | None = None,
                          threshold: float | None = None,
                          progress: bool = False) -> AudioVisualScoreResult:
    """Scores of `model` on the evaluation clips of `dataset` (built with training=False)."""
    names = tuple(class_names) if class_names is not None else dataset.split.names(form=dataset.class_names_form)
    if len(names) != len(dataset.all_class_names):
        raise ValueError(f"{len(names)} class names for the dataset's {len(dataset.all_class_names)} classes")
    predictor = AudioVisualPredictor(model, names, short_side=short_side, top_k=top_k, threshold=threshold)
    scores = AudioVisualScores(dataset.split, dataset.class_names_form, mode=mode)
    steps = range(len(dataset))
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, unit="clip", desc="evaluate")
    previous = None
    for index in steps:
        item = dataset[index]
        if item["video"] != previous:
            scores.start_video()
            previous = item["video"]
        audio = item["audio"] if audio_of is None else audio_of(index)
        frames = list(item["frames"].permute(0, 2, 3, 1).numpy())
        results = predictor.segment_clip(frames, audio.numpy())
        labelled = item["labelled"].tolist()
        predicted = [np.where(labels == NO_CLASS, 0, labels.astype(np.int64) + 1).astype(np.uint8)
                     for (labels, _), keep in zip(results, labelled) if keep]
        truth = [gt.numpy().astype(np.uint8) for gt, keep in zip(item["labels"], labelled) if keep]
        if predicted:
            scores.update(predicted, truth)
    return scores.result(dataset.video_split)
