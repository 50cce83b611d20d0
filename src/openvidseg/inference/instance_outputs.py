"""Writing a tracked video's outputs (`segment --task instance`), one frame at a time:

    instances/<frame index, 5 digits>.png  palette PNGs: value = track id (1..255), 0 = no track
    overlay.mp4    each track blended in its own colour, outlined, with "<id> <class>" drawn at the object
    tracks.json    the tracks in the YouTube-VIS results format (`score --task instance` reads it): per track
                   video_id 1, category_id (class index + 1), score, one COCO RLE or null per frame, plus
                   track_id and category_name
    summary.json   per track: class, score, colour, first/last frame, frames present, pixel share; per class:
                   track count; frame count, fps, size, the resolved settings, "complete"

Which tracks a frame shows and their classes are decided causally (inference/instance_segment.py), so frames
are written as the video goes; tracks.json holds each track's final class and score and exactly the masks of
the instance PNGs. The rules are semantic `segment`'s (inference/outputs.py): Ctrl-C, SIGTERM, a truncated
video or a full disk keep what was written (tracks.json of the frames done included) and mark the summary
incomplete; the summary is rewritten every few seconds; an existing output is never replaced without
`overwrite`.

Resuming: every frame's shown tracks are appended to a hidden `.tracks.jsonl` as it is written, and with each
periodic summary, after a decoded unit, the tracking state (the tracker's memory, the running scores, the ids
given) goes to `.tracking.safetensors`. `resume=True` skips a complete output; an incomplete one restores the
state, replays the frames before it from `.tracks.jsonl` (overlay and statistics are rebuilt from frame 0) and
continues the model there, so the outputs equal an uninterrupted run's. Both hidden files go once the output
is complete.
"""
from __future__ import annotations

import itertools
import json
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openvidseg import __version__
from openvidseg.data.frame_source import FrameSource
from openvidseg.data.rle import decode_rles
from openvidseg.errors import DataError
from openvidseg.inference.instance_segment import ShownTrack, TrackedFrame, TrackSegmenter
from openvidseg.inference.output_folder import PARTIAL, OutputFolder, _write_atomically
from openvidseg.inference.outputs import DEFAULT_FPS, _write, check_output_options, output_settings, resume_point
from openvidseg.inference.run_record import RunRecord
from openvidseg.inference.track_statistics import TrackInfo, TrackStatistics
from openvidseg.viz.instances import save_track_png, track_colors, track_overlay_frame

INSTANCES, TRACKS, SPOOL, STATE = "instances", "tracks.json", ".tracks.jsonl", ".tracking.safetensors"
VIDEO_ID = 1  # the one video of a segment output, in tracks.json


class InstanceOutputFolder(OutputFolder):
    """An output folder laid out for tracks (see the module docstring); `masks` is instances/."""

    def __init__(self, path: str | Path):
        super().__init__(path)
        self.masks = self.path / INSTANCES
        self.tracks = self.path / TRACKS
        self.spool = self.path / SPOOL
        self.state = self.path / STATE

    def clear(self) -> None:
        """Delete what `segment` writes, of either task (and nothing else)."""
        OutputFolder(self.path).clear()
        super().clear()
        for file in (self.tracks, self.spool, self.state):
            file.unlink(missing_ok=True)

    def write_mask(self, index: int, ids: np.ndarray, colors: np.ndarray) -> None:
        """Save an (H, W) uint8 map of track ids as instances/<index>.png, atomically."""
        final = self.mask_path(index)
        _write_atomically(final.with_name(final.name + PARTIAL), final, lambda path: save_track_png(ids, path, colors))

    def save_state(self, state: dict[str, torch.Tensor], frames: int, spool_bytes: int) -> None:
        """The tracking state after `frames` frames, whose records fill the first `spool_bytes` of the spool."""
        from safetensors.torch import save_file

        partial = self.state.with_name(self.state.name + ".partial")
        save_file({k: v.contiguous() for k, v in state.items()}, str(partial),
                  metadata={"frames": str(frames), "spool_bytes": str(spool_bytes)})
        os.replace(partial, self.state)

    def read_state(self) -> tuple[dict[str, torch.Tensor], int, int] | None:
        """(state, frames, spool bytes) of the last saved tracking state, or None when there is none usable."""
        from safetensors import safe_open

        try:
            with safe_open(str(self.state), "pt") as file:
                meta = file.metadata()
                state = {k: file.get_tensor(k) for k in file.keys()}
            frames, spool_bytes = int(meta["frames"]), int(meta["spool_bytes"])
        except (OSError, ValueError, KeyError, TypeError, Exception):  # missing, truncated or not ours
            return None
        if not self.spool.is_file() or self.spool.stat().st_size < spool_bytes:
            return None
        return state, frames, spool_bytes


def _record(tracked: TrackedFrame) -> str:
    """A frame's line of the spool: {"t": index, "tracks": [[id, label, score, RLE counts], ...]}."""
    tracks = [[t.id, t.label, round(t.score, 6), t.rle["counts"]] for t in tracked.tracks]
    return json.dumps({"t": tracked.index, "tracks": tracks}, separators=(",", ":")) + "\n"


def _replayed(line: str | None, index: int, size: tuple[int, int], spool: Path) -> TrackedFrame:
    """The `TrackedFrame` of a spool line (frame `index`, of (H, W) `size`)."""
    try:
        record = json.loads(line or "")
        if record["t"] != index:
            raise ValueError
        tracks = [ShownTrack(i, label, score, {"size": list(size), "counts": counts})
                  for i, label, score, counts in record["tracks"]]
    except (ValueError, KeyError, TypeError):
        raise DataError(f"cannot resume: {spool} is damaged at frame {index}; pass --overwrite to redo the "
                        "output") from None
    ids = np.zeros(size, dtype=np.uint8)
    for track, mask in zip(tracks, decode_rles([t.rle for t in tracks], *size)):
        ids[mask] = track.id
    return TrackedFrame(index, ids, tracks)


def tracks_json(spool: Path, tracks: dict[int, TrackInfo], class_names: Sequence[str], frames: int,
                size: tuple[int, int]) -> list[dict[str, Any]]:
    """tracks.json from the spool's first `frames` frames (of (H, W) `size`) and each track's final class and
    score."""
    segmentations: dict[int, list[dict | None]] = {}
    with open(spool, encoding="utf-8") as file:
        for line in itertools.islice(file, frames):
            record = json.loads(line)
            for track_id, _, _, counts in record["tracks"]:
                segs = segmentations.setdefault(track_id, [None] * frames)
                segs[record["t"]] = {"size": list(size), "counts": counts}
    return [{"video_id": VIDEO_ID, "category_id": tracks[i].label + 1, "score": round(tracks[i].score, 6),
             "segmentations": segs, "track_id": i, "category_name": class_names[tracks[i].label]}
            for i, segs in sorted(segmentations.items())]


def write_track_outputs(segmenter: TrackSegmenter, source: FrameSource, out_dir: str | Path, *, masks: bool = True,
                        video: bool = True, alpha: float = 0.5, max_frames: int | None = None, resume: bool = False,
                        overwrite: bool = False, show_progress: bool = False, input_label: str | None = None,
                        on_frame: Callable[[int, np.ndarray, np.ndarray], None] | None = None,
                        font: str | Path | None = None, audio: bool = True) -> dict[str, Any]:
    """Segment and track `source` (its first `max_frames` frames) into `out_dir` (see the module docstring) and
    return the summary; arguments as `write_outputs` (on_frame gets the (H, W) uint8 track-id map; audio: copy
    the input's sound into the overlay)."""
    from tqdm.auto import tqdm

    from openvidseg.inference.video_writer import VideoWriter

    check_output_options(alpha, max_frames)
    folder = InstanceOutputFolder(out_dir)
    folder.check_can_write(overwrite=overwrite, resume=resume)
    settings = output_settings(segmenter, masks, video, alpha, max_frames)
    saved = None
    if resume and folder.exists():
        if resume_point(folder, settings, source) is None:
            return {**folder.read_summary(), "skipped": True}
        saved = folder.read_state()
    if saved is None:
        _write(folder.clear)
    if masks:
        _write(folder.masks.mkdir, 0o777, True, True)
    names, colors = segmenter.class_names, track_colors()
    fps = source.fps or DEFAULT_FPS
    predictor, selector, stats = segmenter.predictor(), segmenter.selector(), TrackStatistics()
    start = 0
    if saved is not None:
        state, start, spool_bytes = saved
        predictor.load_state_dict({k[10:]: v for k, v in state.items() if k.startswith("predictor.")})
        selector.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith("selector.")})
        with open(folder.spool, "r+b") as file:
            file.truncate(spool_bytes)
    else:
        folder.spool.write_bytes(b"")
    info = {"task": "instance", "fps": fps, "width": source.width, "height": source.height,
            "declared_frames": source.num_frames}
    run_info = {"settings": settings, "openvidseg_version": __version__, "resumed_from": start if start else None}
    predicted = 0

    def current() -> dict[int, TrackInfo]:
        return selector.tracks(predictor.accumulator.video_scores())

    def summary(complete: bool, error: str | None, elapsed: float) -> dict[str, Any]:
        return {"input": input_label or source.name, "complete": complete, "error": error, "frames": stats.frames,
                **info, **stats.to_json(current(), names, colors, fps), **run_info, "elapsed_s": round(elapsed, 3),
                "frames_per_s": round(predicted / elapsed, 3) if elapsed > 0 else None}

    record = RunRecord(folder, summary, lambda: stats.frames)
    record.begin()
    total = source.num_frames if max_frames is None else min(max_frames, source.num_frames or max_frames)
    progress = tqdm(total=total, desc=folder.path.name, unit="frame", disable=not show_progress)
    failure: BaseException | None = None
    writer, spool = None, None

    def finish(frame: np.ndarray, tracked: TrackedFrame, new: bool) -> None:
        """Write one frame's outputs; it counts once its mask, spool line and overlay frame are written."""
        if new:
            if masks:
                _write(folder.write_mask, tracked.index, tracked.ids, colors)
            _write(spool.write, _record(tracked))
        if writer is not None:
            labels = [(t.id, f"{t.id} {names[t.label]}") for t in tracked.tracks]
            writer.write(track_overlay_frame(frame, tracked.ids, labels, colors, alpha, font))
        stats.update(tracked.index, tracked.ids)
        if on_frame is not None:
            on_frame(tracked.index, frame, tracked.ids)
        progress.update()

    try:
        writer = (VideoWriter(folder.overlay, fps, source.width, source.height,
                              audio=source.audio_source if audio else None) if video else None)
        replay = _spool_lines(folder.spool, start)
        spool = open(folder.spool, "a", encoding="utf-8")
        waiting: deque[np.ndarray] = deque()  # frames stepped into the predictor, not decoded yet
        for index, frame in itertools.islice(source, max_frames):
            if index < start:
                finish(frame, _replayed(next(replay, None), index, frame.shape[:2], folder.spool), new=False)
                continue
            waiting.append(frame)
            decoded = predictor.step(frame)
            scores = predictor.accumulator.video_scores() if decoded else None
            for instances in decoded:
                finish(waiting.popleft(), selector.select(instances, scores), new=True)
                predicted += 1
            if decoded and record.due():  # after a decoded unit: nothing waits, the state is whole
                spool.flush()
                state = {**{f"predictor.{k}": v for k, v in predictor.state_dict().items()},
                         **{f"selector.{k}": v for k, v in selector.state_dict().items()}}
                _write(folder.save_state, state, index + 1, spool.tell())
                record.save()
        decoded = predictor.flush()
        scores = predictor.accumulator.video_scores() if decoded else None
        for instances in decoded:
            finish(waiting.popleft(), selector.select(instances, scores), new=True)
            predicted += 1
    except BaseException as err:  # Ctrl-C/SIGTERM, a bad input, a full disk: keep what was written, then re-raise
        failure = err
    progress.close()
    closers = [(spool.close, str(folder.spool))] if spool is not None else []
    if writer is not None:
        closers.append((writer.close, f"the overlay {folder.overlay}"))
    tracks = lambda: tracks_json(folder.spool, current(), names, stats.frames, (source.height, source.width))  # noqa: E731
    closers.append((lambda: folder.write_json(folder.tracks, tracks()), str(folder.tracks)))
    try:
        final = record.end(failure, closers)
    finally:
        predictor.reset()
    for file in (folder.spool, folder.state):  # complete: nothing to resume
        file.unlink(missing_ok=True)
    return final


def _spool_lines(path: Path, count: int) -> Iterator[str]:
    """The first `count` lines of the spool (the frames before a resume point), read lazily."""
    if count == 0:
        return iter(())
    file = open(path, encoding="utf-8")
    return itertools.islice(_closing_lines(file), count)


def _closing_lines(file) -> Iterator[str]:
    with file:
        yield from file
