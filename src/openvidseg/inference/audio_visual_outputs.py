"""Writing a video's audio-visual segmentation (`openvidseg segment --task audio-visual`): masks/NNNNN.png (class
index of the sounding object, 255 where nothing sounds), overlay.mp4 (the frames with the sounding objects
blended, outlined and marked by a loudspeaker, with the video's own sound), classes.json and summary.json
(per class: share of pixels, frames where it sounds, first and last; the audio track used; the settings).

Frames are read, segmented and written a clip at a time (memory holds one clip and the sound track). An
interruption keeps what was written and marks the summary incomplete; there is no resuming (run again with
--overwrite).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from openvidseg import __version__
from openvidseg.data.audio import FrameAudio
from openvidseg.data.frame_source import FrameSource
from openvidseg.errors import DataError
from openvidseg.inference.audio_visual import AudioVisualPredictor
from openvidseg.inference.output_folder import OutputFolder
from openvidseg.inference.outputs import DEFAULT_FPS, check_output_options
from openvidseg.inference.statistics import ClassStatistics
from openvidseg.vocabulary import NO_CLASS


def write_audio_visual_outputs(predictor: AudioVisualPredictor, source: FrameSource, audio: FrameAudio,
                               out_dir: str | Path, *, settings: dict[str, Any], masks: bool = True,
                               video: bool = True, alpha: float = 0.5, max_frames: int | None = None,
                               overwrite: bool = False, input_label: str | None = None) -> dict[str, Any]:
    """Segment the sounding objects of `source` (with `audio`, its frames' windows) into `out_dir` (see the
    module docstring); returns the summary."""
    from openvidseg.data.audio_video_writer import write_video_with_audio
    from openvidseg.viz import class_colors
    from openvidseg.viz.sounding import sounding_overlay

    check_output_options(alpha, max_frames)
    folder = OutputFolder(out_dir)
    folder.check_can_write(overwrite=overwrite, resume=False)
    folder.clear()
    if masks:
        folder.masks.mkdir(parents=True, exist_ok=True)
    names = predictor.class_names
    colors = class_colors(len(names))
    fps = source.fps or DEFAULT_FPS
    stats = ClassStatistics(len(names))
    track = audio.track
    info = {"task": "audio-visual", "fps": fps, "width": source.width, "height": source.height,
            "declared_frames": source.num_frames,
            "audio": {"source": track.source, "start_s": round(track.start, 3), "duration_s": round(track.duration, 3),
                      "sample_rate": track.sample_rate, "window_s": audio.window_seconds, "missing": audio.missing}}
    folder.write_json(folder.classes, {"names": list(names), "colors": [[int(c) for c in rgb] for rgb in colors],
                                       "no_class": NO_CLASS})
    started, state = time.perf_counter(), {"complete": False, "error": "started"}

    def summary() -> dict[str, Any]:
        elapsed = time.perf_counter() - started
        return {"input": input_label or source.name, "complete": state["complete"], "error": state["error"],
                "frames": stats.frames, **info, **stats.to_json(names, colors, fps), "settings": settings,
                "openvidseg_version": __version__, "elapsed_s": round(elapsed, 3),
                "frames_per_s": round(stats.frames / elapsed, 3) if elapsed > 0 else None}

    def overlays() -> Iterator[np.ndarray]:
        for result in predictor.predict(source, audio, max_frames):
            if masks:
                folder.write_mask(result.index, result.labels, colors)
            stats.update(result.index, result.labels)
            yield sounding_overlay(result.frame, result.labels, names, colors, alpha)

    folder.write_json(folder.summary, summary())
    try:
        if video:
            start = float(audio.times[0])
            span = track.end - start if max_frames is None else min(track.end - start, max_frames / fps)
            samples = track.segment(start, span)  # the sound of the frames written (--max-frames: of those)
            write_video_with_audio(folder.overlay, overlays(), fps, samples, track.sample_rate)
        else:
            for _ in overlays():
                pass
        state.update(complete=True, error=None)
    except DataError as err:
        state["error"] = str(err)
        raise DataError(f"{err} ({stats.frames} frames written to {folder.path}, marked incomplete)") from None
    except BaseException as err:
        state["error"] = "interrupted" if isinstance(err, KeyboardInterrupt) else f"{type(err).__name__}: {err}"
        raise
    finally:
        final = summary()
        folder.write_json(folder.summary, final)
    return final
