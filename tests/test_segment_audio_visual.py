"""`openvidseg segment --task audio-visual`: outputs (masks, an overlay with the sound kept, summary), a real
clip with sound segmented with random weights, and the errors of missing sound and misplaced options."""
from __future__ import annotations

import json

import av
import numpy as np
import pytest

from openvidseg.cli import main
from openvidseg.data.audio_video_writer import write_video_with_audio

TINY = ["--task", "audio-visual", "--model", "ov_avss_tiny", "--size", "64", "--quiet", "--allow-untrained"]


def clip(path, seconds: float = 2.0, fps: float = 5.0, sound: bool = True):
    frames = [np.full((64, 80, 3), 20 * i, np.uint8) for i in range(int(seconds * fps))]
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * 16000)) / 16000)).astype(np.float32)
    return write_video_with_audio(path, frames, fps, tone if sound else None, 16000)


def streams(path):
    with av.open(str(path)) as container:
        return {s.type: float(s.duration * s.time_base) if s.duration else None for s in container.streams}


def test_outputs_of_a_clip_with_sound(tmp_path, capsys):
    source = clip(tmp_path / "tone.mp4")
    code = main(["segment", str(source), "--classes", "bell, drum", "--out", str(tmp_path / "out"), *TINY])
    assert code == 0
    out = tmp_path / "out" / "tone"
    assert len(list((out / "masks").glob("*.png"))) == 10
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["task"] == "audio-visual" and summary["frames"] == 10
    assert summary["audio"]["duration_s"] == pytest.approx(2.0, abs=0.05) and summary["settings"]["model"] == "ov_avss_tiny"
    assert json.loads((out / "classes.json").read_text())["names"] == ["bell", "drum"]
    kinds = streams(out / "overlay.mp4")
    assert kinds["audio"] == pytest.approx(2.0, abs=0.1) and kinds["video"] == pytest.approx(2.0, abs=0.25)
    assert "tone: 10 frames, complete; sounding:" in capsys.readouterr().out


def test_a_real_clip_with_sound_and_random_weights(shared_data, tmp_path):
    source = shared_data / "videos" / "0BLiYNtFSjA.mp4"
    assert main(["segment", str(source), "--classes", "man, woman, guitar", "--max-frames", "10",
                 "--out", str(tmp_path), *TINY]) == 0
    out = tmp_path / "0BLiYNtFSjA"
    assert len(list((out / "masks").glob("*.png"))) == 10
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["width"], summary["height"]) == (320, 240) and summary["audio"]["duration_s"] == 5.0
    kinds = streams(out / "overlay.mp4")  # the sound of the 10 frames written, not the whole 5 s track
    assert set(kinds) == {"video", "audio"} and kinds["audio"] == pytest.approx(10 / summary["fps"], abs=0.1)


def test_missing_sound_and_misplaced_options(tmp_path, capsys):
    silent = clip(tmp_path / "silent.mp4", sound=False)
    args = [str(silent), "--classes", "bell", "--out", str(tmp_path / "out"), *TINY]
    assert main(["segment", *args]) == 1  # a failed input
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no audio track" in err[0] and "--audio-missing silence" in err[0]
    assert main(["segment", *args, "--audio-missing", "silence"]) == 0
    assert main(["segment", *args, "--background", "--overwrite"]) == 2
    assert "background (--background) is for task semantic, not audio-visual" in capsys.readouterr().err
    assert main(["segment", str(silent), str(silent), "--audio", str(silent), "--classes", "bell", *TINY]) == 2
    assert "--audio gives the sound of one input" in capsys.readouterr().err
    assert main(["segment", str(silent), "--classes", "bell", "--audio-missing", "silence"]) == 2
    assert "audio_missing (--audio-missing) is for task audio-visual, not semantic" in capsys.readouterr().err
    assert main(["segment", str(silent), "--classes", "bell", "--task", "audio-visual", "--model", "clip_vis_tiny",
                 "--out", str(tmp_path / "x"), "--audio-missing", "silence"]) == 2
    assert "does instance segmentation, not audio-visual" in capsys.readouterr().err
    assert main(["segment", *args, "--speed", "fast", "--overwrite"]) == 2
    assert "speed (--speed) is for task semantic, not audio-visual" in capsys.readouterr().err
    assert main(["segment", *args, "--format", "npz", "--overwrite"]) == 2
    assert "format (--format) is for task semantic, not audio-visual" in capsys.readouterr().err
    assert main(["segment", *args, "--no-audio", "--overwrite"]) == 2
    assert "its overlay keeps the sound" in capsys.readouterr().err
    assert main(["segment", *args, "--precision", "bf16", "--overwrite"]) == 2
    assert "OV-AVSS runs in fp32" in capsys.readouterr().err
    untrained = [a for a in args if a != "--allow-untrained"] + ["--audio-missing", "silence", "--overwrite"]
    assert main(["segment", *untrained]) == 2
    assert "has no trained weights" in capsys.readouterr().err
