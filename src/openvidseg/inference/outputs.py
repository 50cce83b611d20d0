"""Writing a segmented video's outputs, one frame at a time: masks (PNG, npz or COCO RLE, see
`mask_formats`), optional class probabilities (scores/, float16), an overlay video with the input's sound,
timeline.csv (class shares per frame), classes.json and summary.json (per-class statistics as running sums,
plus the resolved settings).

Interruptions: on Ctrl-C or SIGTERM (KeyboardInterrupt), a truncated/corrupt video or a failed write (a
full disk), everything written is kept, the overlay is closed (it stays playable), and summary.json says
"complete": false with the frames done and the error. summary.json is also rewritten every few seconds
while the run goes on, and the overlay is a fragmented MP4, so even a killed process (SIGKILL, power
loss) leaves a playable overlay and a summary that is never ahead of the saved masks.

Resuming (`resume=True`): a complete output made with the same settings is skipped; an incomplete one
continues at the first frame whose mask is missing (frame r). Frames 0..r-1 are decoded again; their
saved masks are read back (for the overlay and the statistics, which are both rebuilt from frame 0),
and the frames the model still needs (the reference frames before r and the long-range memory frame)
are encoded to warm the predictor up (`VideoPredictor.warm_up`), so frames r.. come out exactly as in an
uninterrupted run. Without saved masks (`masks=False`) an incomplete output starts again at frame 0.

Threads (`background_io=True`): frames are decoded ahead and the masks and overlay are written behind the
model on background threads (inference/background.py); the outputs are the same as without them.
"""
from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg import __version__
from openvidseg.data.frame_source import FrameSource
from openvidseg.errors import DataError, InputError, OutputWriteError, os_reason
from openvidseg.inference.mask_formats import COCO_NAME
from openvidseg.inference.output_folder import OutputFolder
from openvidseg.inference.predictor import FramePrediction
from openvidseg.inference.segment import Segmenter
from openvidseg.inference.statistics import ClassStatistics
from openvidseg.inference.timeline import TimelineWriter
from openvidseg.models.base import VideoSegmenter
from openvidseg.vocabulary import NO_CLASS

DEFAULT_FPS = 25.0  # for frame folders and globs, which carry no frame rate
SUMMARY_INTERVAL_S = 2.0  # summary.json is rewritten this often while a run goes on
UNFINISHED = "unfinished: still running, or stopped abruptly (run again with --resume to continue)"
RESUME_HINT = "free some space or fix the folder, then run again with --resume to continue"
NOT_COMPARED = ("device", "audio")  # settings that may change between a run and its resumption
SETTING_DEFAULTS = {"format": "png", "save_scores": False}  # for outputs written before these settings existed
SEMANTIC_OUTPUTS = {"mask_format": "png", "save_scores": False}  # write_outputs' options the instance task lacks


def output_settings(segmenter: Segmenter, masks: bool, video: bool, alpha: float, max_frames: int | None,
                    mask_format: str = "png", save_scores: bool = False, audio: bool = True) -> dict[str, Any]:
    """Everything that decides the outputs' content (compared when resuming) plus the device."""
    return {**segmenter.settings(), "masks": masks, "overlay": video, "alpha": alpha, "max_frames": max_frames,
            "format": mask_format, "save_scores": save_scores, "audio": audio}


def check_output_options(alpha: float, max_frames: int | None) -> None:
    """`InputError` for an overlay opacity outside 0..1 or a frame limit below 1 (every task's outputs)."""
    if not 0.0 <= alpha <= 1.0:
        raise InputError(f"overlay opacity (alpha) {alpha}: use a value from 0 to 1")
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max frames {max_frames}: use a number of frames >= 1, or leave it unset for all")


def resume_point(folder: OutputFolder, settings: dict[str, Any], source: FrameSource) -> int | None:
    """Where an existing output continues: None when it is complete (skip it), else the first frame to
    predict. Raises `InputError` when it was made with other settings or from an input of another size."""
    saved = folder.read_summary()
    if saved is None:
        return 0
    before = saved.get("settings", {})
    changed = [k for k in settings if k not in NOT_COMPARED and before.get(k, SETTING_DEFAULTS.get(k)) != settings[k]]
    if changed:
        diffs = "; ".join(f"{k}: {before.get(k)!r} then, {settings[k]!r} now" for k in changed)
        raise InputError(f"cannot resume {folder.path}: it was made with other settings ({diffs}); pass the same "
                         "options, or --overwrite to redo it")
    if (saved.get("width"), saved.get("height")) not in ((None, None), (source.width, source.height)):
        raise InputError(f"cannot resume {folder.path}: it was made from a {saved['width']}x{saved['height']} video, "
                         f"the input is {source.width}x{source.height}; pass --overwrite to redo it")
    if saved.get("complete"):
        return None
    return folder.saved_frames(scores=settings["save_scores"]) if settings["masks"] else 0


def classes_json(segmenter: Segmenter, colors) -> dict[str, Any]:
    """classes.json: names in index order, their RGB colours, and the value of "no class"."""
    return {"names": list(segmenter.class_names), "colors": [[int(c) for c in rgb] for rgb in colors],
            "no_class": NO_CLASS}


def write_outputs(segmenter: Segmenter, source: FrameSource, out_dir: str | Path, *, masks: bool = True,
                  video: bool = True, alpha: float = 0.5, max_frames: int | None = None, resume: bool = False,
                  overwrite: bool = False, show_progress: bool = False, input_label: str | None = None,
                  on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
                  background_io: bool = True, font: str | Path | None = None, mask_format: str = "png",
                  save_scores: bool = False, audio: bool = True) -> dict[str, Any]:
    """Segment `source` (its first `max_frames` frames, when given) into `out_dir` (see the module
    docstring) and return the summary (`font`: a font file for the legend's names, tried first;
    mask_format: png | npz | coco-rle; save_scores: also scores/<frame>.npz with the (K, H, W) float16 class
    probabilities; audio: copy the input's sound into the overlay). A complete
    output skipped by `resume` returns its saved summary with "skipped": true. A truncated or corrupt
    video raises `DataError` after its decoded frames are written and the summary marked incomplete.
    on_frame(index, frame (H, W, 3) uint8, class map (H, W) uint8) is called after each frame is segmented
    (live progress, e.g. the web app; its mask and overlay frame are written behind it on the writer thread);
    an exception it raises stops the run as Ctrl-C does."""
    from tqdm.auto import tqdm

    from openvidseg.inference.background import OrderedWorker, Prefetch
    from openvidseg.inference.stream import predict_frames
    from openvidseg.inference.video_writer import VideoWriter
    from openvidseg.viz import class_colors, overlay_frame

    check_output_options(alpha, max_frames)
    folder = OutputFolder(out_dir, mask_format, segmenter.num_classes)
    folder.check_can_write(overwrite=overwrite, resume=resume)
    settings = output_settings(segmenter, masks, video, alpha, max_frames, mask_format, save_scores, audio)
    start = resume_point(folder, settings, source) if resume and folder.exists() else 0
    if start is None:
        return {**folder.read_summary(), "skipped": True}
    if start == 0:
        _write(folder.clear)
    if masks:
        _write(folder.masks.mkdir, 0o777, True, True)
    if save_scores:
        _write(folder.scores.mkdir, 0o777, True, True)
    names, colors = segmenter.class_names, class_colors(segmenter.num_classes)
    fps = source.fps or DEFAULT_FPS
    stats = ClassStatistics(segmenter.num_classes)
    info = {"fps": fps, "width": source.width, "height": source.height, "declared_frames": source.num_frames}
    run = {"settings": settings, "openvidseg_version": __version__,
           "resumed_from": start if resume and start > 0 else None}
    _write(folder.write_json, folder.classes, classes_json(segmenter, colors))

    def summary(complete: bool, error: str | None, elapsed: float, predicted: int) -> dict[str, Any]:
        return {"input": input_label or source.name, "complete": complete, "error": error, "frames": stats.frames,
                **info, **stats.to_json(names, colors, fps), **run, "elapsed_s": round(elapsed, 3),
                "frames_per_s": round(predicted / elapsed, 3) if elapsed > 0 else None}

    started, predicted = time.perf_counter(), 0
    _write(folder.write_json, folder.summary, summary(False, UNFINISHED, 0.0, 0))
    # room for the final summary (it grows a little: timings, counts), even when the disk fills up
    _write(folder.reserve_space, 2 * folder.summary.stat().st_size + 65536)
    predictor = segmenter.predictor(return_logits=save_scores)
    total = source.num_frames if max_frames is None else min(max_frames, source.num_frames or max_frames)
    progress = tqdm(total=total, desc=folder.path.name, unit="frame", disable=not show_progress)
    failure: BaseException | None = None
    saved, writer, timeline = started, None, None
    frames = itertools.islice(source, max_frames)
    frames = Prefetch(frames) if background_io else frames
    background = OrderedWorker(enabled=background_io)

    def finish_frame(index: int, frame: np.ndarray, labels: np.ndarray, prediction: FramePrediction | None) -> None:
        """Write a frame's mask (and scores) and overlay frame, then count it (on the writer thread when
        background_io); prediction is None for a frame whose mask was saved before the resume point."""
        nonlocal saved
        if masks and prediction is not None:
            _write(folder.write_mask, index, labels, colors)
        if save_scores and prediction is not None:
            _write(folder.write_scores, index, segmenter.probabilities(prediction))
        if writer is not None:
            _write(writer.write, overlay_frame(frame, labels, names, colors, alpha, font))
        counts = stats.update(index, labels)  # a frame counts once its mask and overlay frame are written
        _write(timeline.write, index, counts)
        if time.perf_counter() - saved > SUMMARY_INTERVAL_S:  # a true record even if the process is killed
            _write(folder.write_json, folder.summary, summary(False, UNFINISHED, time.perf_counter() - started,
                                                              predicted))
            saved = time.perf_counter()

    try:
        writer = (VideoWriter(folder.overlay, fps, source.width, source.height,
                              audio=source.audio_source if audio else None) if video else None)
        timeline = TimelineWriter(folder.timeline, names, fps)
        for index, frame, prediction in predict_frames(predictor, frames, start=start,
                                                       batch_size=segmenter.batch_size):
            if prediction is None:  # before the resume point: the saved mask
                labels = folder.read_mask(index, frame.shape[:2])
            else:
                labels = segmenter.class_map(prediction)
                predicted += 1
            background.submit(finish_frame, index, frame, labels, prediction)
            if on_frame is not None:
                on_frame(index, frame, labels)
            progress.update()
        background.close()
        if masks and hasattr(folder.format, "finish"):  # COCO RLEs: one annotations.json for the video
            _write(folder.format.finish, folder.masks, folder.path / COCO_NAME, names, stats.frames, fps)
    except BaseException as err:  # Ctrl-C/SIGTERM, a bad input, a full disk: keep what was written, then re-raise
        failure = err
    background.close(raise_error=False)  # what was queued is written before the files are closed
    if background_io:
        frames.close()
    progress.close()
    if timeline is not None:
        try:
            timeline.close()
        except OSError as err:
            failure = failure or OutputWriteError(f"cannot write {folder.timeline}: {os_reason(err)}")
    if writer is not None:
        try:
            writer.close()
        except (OSError, OutputWriteError) as err:  # a full disk: the overlay is incomplete (--resume rebuilds it)
            failure = failure or (err if isinstance(err, OutputWriteError) else
                                  OutputWriteError(f"cannot write the overlay {folder.overlay}: {os_reason(err)}"))
    folder.release_space()
    final = summary(failure is None, _describe(failure), time.perf_counter() - started, predicted)
    try:
        folder.write_json(folder.summary, final)
    except OSError as err:
        failure = failure or OutputWriteError(f"cannot write {folder.summary}: {os_reason(err)}")
    if isinstance(failure, DataError):
        hint = f"; {RESUME_HINT}" if isinstance(failure, OutputWriteError) else ""
        raise type(failure)(f"{failure}{hint} ({stats.frames} frames written to {folder.path}, marked incomplete)") \
            from None
    if failure is not None:
        raise failure
    return final


def _describe(failure: BaseException | None) -> str | None:
    """The `error` of a summary: None, 'interrupted', 'terminated (SIGTERM)' or the error's message."""
    if failure is None:
        return None
    if isinstance(failure, KeyboardInterrupt):
        signum = getattr(failure, "signum", None)
        return f"terminated ({signal.Signals(signum).name})" if signum else "interrupted"
    return str(failure) if isinstance(failure, DataError) else f"{type(failure).__name__}: {failure}"


def _write(write, *args) -> None:
    """Call a writer, turning a full disk or a vanished folder into one clear error."""
    try:
        write(*args)
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        raise OutputWriteError(f"cannot write the outputs{where}: {os_reason(err)}") from None


def write_segmentation(source: str | Path | FrameSource, classes: str | Sequence[str], out_dir: str | Path, *,
                       model: str | VideoSegmenter | None = None, checkpoint: str | Path | None = None,
                       clip: str | None = None, device: str | None = None, precision: str = "fp32",
                       size: int | None = None, memory_interval: int = 30, min_confidence: float = 0.0,
                       background: bool = False, fps: float | None = None, masks: bool = True, video: bool = True,
                       alpha: float = 0.5, max_frames: int | None = None, resume: bool = False,
                       overwrite: bool = False, show_progress: bool = False, speed: str = "balanced",
                       keyframe_interval: int | None = None, batch_size: int = 1, allow_untrained: bool = False,
                       font: str | Path | None = None, mask_format: str = "png", save_scores: bool = False,
                       audio: bool = True, task: str = "semantic", min_score: float | None = None) -> dict[str, Any]:
    """Segment one video (file, frame folder, glob, URL or frames in memory) and write its outputs into
    `out_dir` itself: masks/NNNNN.png (or .npz, or annotations.json), overlay.mp4, timeline.csv,
    classes.json, summary.json; returns the summary. Arguments as
    `segment_video`, plus the outputs to write, the legend's `font` and what to do with an existing
    `out_dir` (see `write_outputs`). The output folder and the input are checked before the model is loaded.
    task="instance": instances/NNNNN.png, overlay.mp4, tracks.json, summary.json (see `write_task_outputs`)."""
    from openvidseg.data.video import open_frames
    from openvidseg.inference.segment import load_segmenter

    OutputFolder(out_dir).check_can_write(overwrite=overwrite, resume=resume)
    with open_frames(source, fps=fps) as frames:
        segmenter = load_segmenter(classes, model=model, checkpoint=checkpoint, clip=clip, device=device,
                                   precision=precision, size=size, memory_interval=memory_interval,
                                   min_confidence=min_confidence, background=background, speed=speed,
                                   keyframe_interval=keyframe_interval, batch_size=batch_size,
                                   allow_untrained=allow_untrained, task=task, min_score=min_score)
        label = str(source) if isinstance(source, (str, Path)) else None
        return write_task_outputs(segmenter, frames, out_dir, masks=masks, video=video, alpha=alpha,
                                  max_frames=max_frames, resume=resume, overwrite=overwrite,
                                  show_progress=show_progress, input_label=label, font=font,
                                  mask_format=mask_format, save_scores=save_scores, audio=audio)


def write_task_outputs(segmenter: Segmenter, source: FrameSource, out_dir: str | Path, **options) -> dict[str, Any]:
    """`write_outputs` for a semantic `Segmenter`, `write_track_outputs` (inference/instance_outputs.py) for an
    instance one (`load_segmenter(..., task=...)` makes either); options as `write_outputs`."""
    from openvidseg.inference.instance_segment import TrackSegmenter

    if isinstance(segmenter, TrackSegmenter):
        from openvidseg.inference.instance_outputs import write_track_outputs

        for name, default in SEMANTIC_OUTPUTS.items():  # instance outputs have their own files
            value = options.pop(name, default)
            if value != default:
                raise InputError(f"{name}={value!r} is for task semantic, not instance: leave it out")
        return write_track_outputs(segmenter, source, out_dir, **options)
    return write_outputs(segmenter, source, out_dir, **options)
