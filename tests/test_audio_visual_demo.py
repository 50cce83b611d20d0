"""The audio-visual demo's machinery on a very small world and budget (its scores are not the point here; the
table, the controls and the outputs are): `openvidseg demo --task audio-visual` end to end."""
from __future__ import annotations

import json
from dataclasses import replace

import av
import pytest

from openvidseg.demo.audio_visual import ROWS, AudioDemoSettings, prepare, run_audio_demo
from openvidseg.demo.audio_visual_report import write_audio_demo_outputs
from openvidseg.demo.audio_world import AudioWorldSpec
from openvidseg.demo.world import WorldSpec


@pytest.mark.slow
def test_tiny_demo_writes_the_table_controls_and_overlay(tmp_path):
    world = AudioWorldSpec(visual=WorldSpec(num_frames=5, seed=3), train_videos=4, test_videos=3, novel_share=1.0)
    settings = AudioDemoSettings(world, clip_steps=10, train_iters=2, batch_size=2, seed=3, audio_steps=3)
    run = run_audio_demo(tmp_path / "seed3", settings, cache=tmp_path / "cache", log=lambda message: None)
    assert set(run.rows) == set(ROWS) and run.model_path.is_file()
    for scores in run.rows.values():
        assert scores.num_frames == 15 and scores.num_videos == 3 and len(scores.per_class) == 17
    # the shuffled-text row reads the same model with the control CLIP (rotated attribute words)
    assert (run.paths.shuffled_clip / "model.safetensors").is_file() and run.seconds["total"] > 0
    paths = write_audio_demo_outputs([run], tmp_path / "out", "tiny")
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| ov_avss |" in report and "| shuffled audio |" in report and "| shuffled text |" in report
    assert "True audio minus shuffled audio, mIoU:" in report and "red star" in report
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["summary"]["ov_avss"]["novel"]["seeds"] == [run.rows["ov_avss"].miou_novel]
    # another seed draws another world but shares the pretrained CLIPs and VGGish (pretrained once, seed 0)
    other = replace(settings, world=replace(world, visual=replace(world.visual, seed=4)), seed=4)
    paths_4, seconds_4 = prepare(other, tmp_path / "cache", lambda message: None)
    assert paths_4.world != run.paths.world and (paths_4.clip, paths_4.audio_encoder) == (run.paths.clip,
                                                                                          run.paths.audio_encoder)
    assert seconds_4["clip pretraining"] < 1 and seconds_4["audio pretraining"] < 1
    overlay = paths[-1]
    with av.open(str(overlay)) as container:
        kinds = {s.type for s in container.streams}
        assert kinds == {"video", "audio"} and container.streams.video[0].height == 4 * 96
