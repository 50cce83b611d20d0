"""Evaluate any model over a dataset's videos under an evaluation protocol, in clip mode (every labelled
frame a target with its own references, clamped at the video start, and the long-range frame) or in
streaming mode (causal, bounded memory). Under DDP, videos are shared out over processes and the metrics
are summed. Used by `openvidseg eval`, periodic evaluation during training, and the demo."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openvidseg.data.sampling import eval_clip_indices
from openvidseg.data.splits import EvalProtocol
from openvidseg.engine.distributed import is_main_process, shard
from openvidseg.errors import ConfigError
from openvidseg.inference import ClipPredictor, VideoPredictor
from openvidseg.metrics.result import ScoreResult
from openvidseg.metrics.video_scores import VideoScores
from openvidseg.models.base import VideoSegmenter

MODES = ("clip", "streaming")


def prediction_id_lut(protocol: EvalProtocol) -> np.ndarray:
    """(256,) uint8: vocabulary index -> dataset id (as in the masks); background and no class -> 0."""
    table = np.zeros(256, dtype=np.uint8)
    table[: protocol.num_classes] = protocol.class_ids
    return table


def _save_prediction(folder: Path, video: Any, index: int, labels: np.ndarray, lut: np.ndarray) -> None:
    from PIL import Image

    target = folder / video.name
    target.mkdir(parents=True, exist_ok=True)
    Image.fromarray(lut[labels]).save(target / f"{video.frame_names[index]}.png")


def _predictions(video, predictor, mode: str, offsets: Sequence[int], use_random: bool):
    """(frame index, (H, W) uint8 vocabulary indices) for the labelled frames of one video, in time order."""
    labelled = sorted(video.labelled)
    if mode == "clip":
        predictor.reset()
        for t in labelled:
            refs, random_index = eval_clip_indices(t, len(video), offsets)
            out = predictor.predict(video.frame, t, refs, random_index if use_random else None)
            yield t, out.labels.numpy().astype(np.uint8)
        return
    wanted, last = set(labelled), labelled[-1] if labelled else -1
    predictor.reset()
    for t in range(last + 1):  # causal: frames after the last labelled one are not needed
        out = predictor.step(video.frame(t))
        if t in wanted:
            yield t, out.labels.numpy().astype(np.uint8)


def evaluate(
    model: VideoSegmenter,
    videos: Sequence[Any],
    protocol: EvalProtocol,
    *,
    class_name_form: str = "clean",
    split: str = "val",
    mode: str = "clip",
    device: str | torch.device | None = None,
    precision: str = "fp32",
    short_side: int | None = None,
    memory_interval: int = 30,
    test_mode: str = "whole",
    predictions_dir: str | Path | None = None,
    progress: bool = True,
    on_prediction: Callable[[Any, int, np.ndarray, np.ndarray], None] | None = None,
) -> ScoreResult:
    """Scores of `model` on `videos` (records with .name, len(), .frame(i), .mask(i), .labelled,
    .frame_names) under `protocol`; mode 'clip' or 'streaming'; test_mode 'whole' or 'slide' (see
    `inference.views`). predictions_dir: also write
    <dir>/<video>/<frame>.png holding dataset ids, the layout `openvidseg score` reads.
    on_prediction(video, frame index, prediction, ground truth): called for every scored frame with both
    (H, W) maps in protocol indices, for metrics of one's own (e.g. over a subset of frames)."""
    if mode not in MODES:
        raise ConfigError(f"unknown evaluation mode '{mode}': use {' or '.join(MODES)}")
    vocabulary = protocol.vocabulary(class_name_form)
    kwargs = dict(device=device, precision=precision, short_side=short_side, test_mode=test_mode)
    was_training = model.training  # before the predictor switches the model to eval mode
    predictor = (ClipPredictor(model, vocabulary, **kwargs) if mode == "clip" else
                 VideoPredictor(model, vocabulary, memory_interval=memory_interval, **kwargs))
    scores = VideoScores(protocol, class_name_form)
    gt_lut, id_lut = protocol.gt_lut(), prediction_id_lut(protocol)
    mine = shard(list(videos))  # each process its share of the videos
    bar = None
    if progress and is_main_process():
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(v.labelled) for v in mine), unit="frame", desc=f"eval ({mode})", dynamic_ncols=True)
    try:
        for video in mine:
            scores.start_video()
            for t, labels in _predictions(video, predictor, mode, model.ref_offsets, model.uses_random_frame):
                gt = gt_lut[video.mask(t)]
                scores.update(torch.from_numpy(labels), torch.from_numpy(gt))
                if on_prediction is not None:
                    on_prediction(video, t, labels, gt)
                if predictions_dir is not None:
                    _save_prediction(Path(predictions_dir), video, t, labels, id_lut)
                if bar is not None:
                    bar.update(1)
            scores.end_video()
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    return scores.result(split)
