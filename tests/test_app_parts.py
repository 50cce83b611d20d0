"""The web app's parts that need no Gradio: class shares over time (a hand-computed case and a second
implementation), the input checks and their messages, jobs (same files as `segment`, live snapshots,
two at once without mixing, stopping, truncated input, cleanup), the model cache, examples, settings."""
from __future__ import annotations

import importlib.util
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from segment_reference import decode, read_masks, scene, write_video

import openvidseg
from openvidseg.app.examples import EXAMPLES, write_examples
from openvidseg.app.job import SegmentJob
from openvidseg.app.models import ModelCache
from openvidseg.app.request import NO_CLASSES, NO_VIDEO, prepare_request
from openvidseg.app.settings import AppSettings, ModelChoice, model_choices
from openvidseg.app.timeline import NO_CLASS_LABEL, ShareTimeline, clock
from openvidseg.errors import DataError, InputError

TINY = ModelChoice("dense_clip_tiny", "dense_clip_tiny")
SETTINGS = AppSettings(models=(TINY,), device="cpu", examples=False)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def models():
    """One tiny model shared by the module's jobs, as the app shares one per menu entry."""
    from openvidseg.inference.segment import build_segment_model

    model = build_segment_model("dense_clip_tiny")  # as `segment` builds it (its default speed profile)
    return ModelCache(build=lambda choice: model)


@pytest.fixture(scope="module")
def street(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("videos") / "street.mp4", scene(16), rate=20)


def run_job(request, folder, models):
    job = SegmentJob(request, folder, models, device="cpu")
    snapshots = list(job.updates(interval=0.05))
    return job, snapshots


# --- class shares over time -------------------------------------------------------------------------

def test_timeline_by_hand():
    """max_bins=4: after 4 one-frame bins, the 5th frame merges them into 2 bins of 2 frames."""
    a, b, none = (np.full((2, 2), v, np.uint8) for v in (0, 1, 255))
    half = np.array([[0, 0], [1, 1]], np.uint8)
    timeline = ShareTimeline(max_bins=4)
    for labels in (a, b, half, none, a, b):
        timeline.update(labels)
    assert (timeline.width, len(timeline.bins)) == (2, 3)
    shares = timeline.shares()
    assert np.allclose(shares[:, [0, 1, 255]], [[0.5, 0.5, 0], [0.25, 0.25, 0.5], [0.5, 0.5, 0]])
    rows = timeline.rows(["a", "b"], fps=2.0)  # 2 frames per bin at 2 fps: bins start at 0, 1 and 2 s
    assert [r["time"] for r in rows[::3]] == ["0:00.0", "0:01.0", "0:02.0"]
    assert rows[3:6] == [{"time": "0:01.0", "class": "a", "share": 25.0},
                         {"time": "0:01.0", "class": "b", "share": 25.0},
                         {"time": "0:01.0", "class": NO_CLASS_LABEL, "share": 50.0}]


@pytest.mark.parametrize("frames", [1, 7, 8, 9, 33, 100])
def test_timeline_matches_grouping_all_frames_at_once(frames):
    """Second implementation: the bin width is the smallest power of two giving at most max_bins bins;
    each bin's shares are computed from its frames' masks directly."""
    rng = np.random.default_rng(frames)
    masks = [rng.choice(np.array([0, 1, 2, 255], np.uint8), size=(3, 5)) for _ in range(frames)]
    timeline = ShareTimeline(max_bins=8)
    for mask in masks:
        timeline.update(mask)
    width = next(w for w in (2**k for k in range(10)) if -(-frames // w) <= 8)
    expected = [np.stack(masks[i:i + width]) for i in range(0, frames, width)]
    expected = np.array([[np.mean(group == v) for v in range(256)] for group in expected])
    assert timeline.width == width and np.allclose(timeline.shares(), expected)


def test_clock_labels_stay_distinct_for_short_bins():
    timeline = ShareTimeline(max_bins=8)
    for _ in range(5):
        timeline.update(np.zeros((1, 1), np.uint8))
    assert timeline.labels(fps=25.0) == ["0:00.00", "0:00.04", "0:00.08", "0:00.12", "0:00.16"]
    assert clock(75.0) == "1:15.0" and clock(59.99) == "1:00.0"


# --- input checks -----------------------------------------------------------------------------------

def test_missing_classes_or_video_are_named(street):
    for classes in (None, "", " , "[:1], "   "):
        with pytest.raises(InputError, match="no classes: type class names"):
            prepare_request(SETTINGS, street, classes)
    assert NO_CLASSES.startswith("no classes")
    with pytest.raises(InputError, match="duplicate class names"):
        prepare_request(SETTINGS, street, "dog, Dog")
    with pytest.raises(InputError, match="empty class name"):
        prepare_request(SETTINGS, street, "dog,, cat")
    with pytest.raises(InputError) as info:
        prepare_request(SETTINGS, None, "dog")
    assert str(info.value) == NO_VIDEO
    with pytest.raises(InputError, match="unknown model 'big'"):
        prepare_request(SETTINGS, street, "dog", model="big")


def test_an_unreadable_upload_is_named_without_the_server_path(tmp_path):
    upload = tmp_path / "cache" / "3f2a" / "holiday.mp4"
    upload.parent.mkdir(parents=True)
    upload.write_text("not a video")
    with pytest.raises(DataError) as info:
        prepare_request(SETTINGS, upload, "dog")
    message = str(info.value)
    assert message.startswith("cannot open holiday.mp4 as a video") and str(tmp_path) not in message


def test_size_and_length_limits(street, tmp_path):
    size_mb = street.stat().st_size / 2**20
    with pytest.raises(InputError, match=r"street.mp4 is \d+\.\d MB; this app accepts videos up to"):
        prepare_request(AppSettings(models=(TINY,), max_upload_mb=size_mb / 2), street, "dog")
    with pytest.raises(InputError, match=r"street.mp4 is 0.8 s long; this app segments videos up to 0.5 s"):
        prepare_request(AppSettings(models=(TINY,), max_seconds=0.5), street, "dog")
    request = prepare_request(AppSettings(models=(TINY,), max_seconds=0.8, max_upload_mb=size_mb * 2), street, "dog")
    assert (request.total, request.fps, request.max_frames, request.classes) == (16, 20.0, None, ("dog",))
    # a container that does not store its length (MKV): the job stops at the limit instead
    mkv = write_video(tmp_path / "walk.mkv", scene(16), rate=20)
    request = prepare_request(AppSettings(models=(TINY,), max_seconds=0.5), mkv, "dog, cat", background=True)
    assert (request.total, request.max_frames, request.classes) == (None, 10, ("dog", "cat", "background"))


# --- jobs -------------------------------------------------------------------------------------------

def test_a_job_writes_what_segment_writes(street, tmp_path, models):
    request = prepare_request(SETTINGS, street, "red wall, blue sky, green ball", alpha=0.4)
    job, snapshots = run_job(request, tmp_path / "job", models)
    result = snapshots[-1].result
    assert result is not None and result.error is None and all(s.result is None for s in snapshots[:-1])
    frames = [s.frames for s in snapshots]
    assert frames == sorted(frames) and frames[-1] == 16 and snapshots[-1].phase == "done"
    reference = openvidseg.write_segmentation(street, "red wall, blue sky, green ball", tmp_path / "ref",
                                              model="dense_clip_tiny", alpha=0.4)
    masks = read_masks(result.summary_file.parent)
    assert len(masks) == 16 and all(np.array_equal(a, b) for a, b in zip(masks, read_masks(tmp_path / "ref")))
    assert result.summary["classes"] == reference["classes"] == snapshots[-1].statistics["classes"]
    assert len(decode(result.overlay)[0]) == 16
    import zipfile

    with zipfile.ZipFile(result.masks_zip) as zipped:
        names = zipped.namelist()
        assert names == [f"masks/{i:05d}.png" for i in range(16)] + ["classes.json", "summary.json"]
        assert json.loads(zipped.read("summary.json"))["frames"] == 16
    last = snapshots[-1]
    shares = np.array([[r["share"] for r in last.timeline if r["time"] == t] for t in last.time_labels])
    assert shares.shape == (16, 3) and np.allclose(shares.sum(axis=1), 100, atol=0.1)
    assert snapshots[-1].preview.shape == (64, 96, 3)
    job.close()
    assert not (tmp_path / "job").exists()


def test_two_jobs_at_once_do_not_mix(street, tmp_path, models):
    other = write_video(tmp_path / "other.mp4", scene(12, 48, 80)[::-1], rate=10)
    requests = [prepare_request(SETTINGS, street, "red wall, blue sky"),
                prepare_request(SETTINGS, other, "ball, wall, sky")]
    results = {}

    def run(i):
        results[i] = run_job(requests[i], tmp_path / f"job{i}", models)[1][-1].result

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, (video, classes) in enumerate(((street, "red wall, blue sky"), (other, "ball, wall, sky"))):
        alone = [labels for _, labels in openvidseg.segment_video(video, classes, model="dense_clip_tiny")]
        together = read_masks(results[i].summary_file.parent)
        assert len(together) == len(alone) and all(np.array_equal(a, b) for a, b in zip(together, alone))


def test_closing_a_job_stops_it_and_deletes_its_folder(tmp_path, models):
    long = write_video(tmp_path / "long.mp4", scene(300), rate=25)
    job = SegmentJob(prepare_request(SETTINGS, long, "red, blue"), tmp_path / "job", models, device="cpu")
    for snapshot in job.updates(interval=0.02):
        if snapshot.frames >= 2:
            break
    job.close()
    assert job.wait(timeout=30) and job.result is None and job.error is None
    assert 2 <= job.snapshot().frames < 300 and not (tmp_path / "job").exists()


def test_stopping_a_job_keeps_the_frames_done_so_far(tmp_path, models):
    from openvidseg.app.job import STOPPED
    from openvidseg.app.runtime import AppRuntime

    runtime = AppRuntime(SETTINGS, tmp_path, models)
    long = write_video(tmp_path / "long.mp4", scene(300), rate=25)
    job = runtime.start(prepare_request(SETTINGS, long, "red, blue"), owner="session-1")
    assert not runtime.stop("session-2")  # another session's Stop does not touch it
    for snapshot in job.updates(interval=0.02):
        if snapshot.frames >= 2 and snapshot.result is None:
            assert runtime.stop("session-1")
    result = snapshot.result
    kept = result.summary["frames"]
    assert result.error == STOPPED and 2 <= kept < 300 and result.summary["complete"] is False
    assert snapshot.frames == kept and snapshot.statistics["classes"] == result.summary["classes"]
    assert len(read_masks(result.summary_file.parent)) == kept and len(decode(result.overlay)[0]) == kept
    runtime.finish("session-1", job)
    assert not job.folder.exists() and not runtime.stop("session-1")
    runtime.close()
    assert not runtime.root.exists()


def test_a_truncated_video_ends_with_the_frames_before_the_cut(tmp_path, models):
    data = write_video(tmp_path / "full.mp4", scene(30), options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.7)])
    request = prepare_request(SETTINGS, tmp_path / "cut.mp4", "red, blue", name="my clip.mp4")
    job, snapshots = run_job(request, tmp_path / "job", models)
    result = snapshots[-1].result
    assert result.error.startswith("my clip.mp4 is truncated") and str(tmp_path) not in result.error
    assert 0 < result.summary["frames"] < 30 and result.summary["complete"] is False
    assert len(read_masks(result.summary_file.parent)) == result.summary["frames"]
    job.close()


def test_a_failing_job_raises_its_error_to_the_reader(street, tmp_path):
    def broken(choice):
        raise InputError("no such model here")

    job = SegmentJob(prepare_request(SETTINGS, street, "dog"), tmp_path / "job", ModelCache(build=broken), device="cpu")
    with pytest.raises(InputError, match="no such model here"):
        list(job.updates(interval=0.02))
    job.close()
    assert not (tmp_path / "job").exists()


def test_the_model_cache_builds_each_entry_once_and_keeps_the_latest():
    built = []

    def build(choice):
        built.append(choice.label)
        return object()

    cache = ModelCache(capacity=1, build=build)
    first, second = ModelChoice("a", "a"), ModelChoice("b", "b")
    threads = [threading.Thread(target=cache.get, args=(first,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["a"] and cache.get(first) is cache.get(first)
    cache.get(second)
    assert built == ["a", "b"] and not cache.loaded(first) and cache.loaded(second)


# --- examples and settings --------------------------------------------------------------------------

def test_examples_are_generated_videos_of_their_classes(tmp_path):
    examples = write_examples(tmp_path)
    assert [e.classes for e in examples] == [", ".join(spec.classes) for spec in EXAMPLES]
    for example, spec in zip(examples, EXAMPLES):
        frames, fps = decode(example.video)
        assert len(frames) == spec.frames and fps == spec.fps and frames[0].shape == (*spec.size, 3)
        assert frames[0].std() > 20  # drawn scenes, not blank frames


def test_model_menu_and_settings_checks():
    assert [c.label for c in model_choices()] == ["dense_clip_vitb16"]
    menu = model_choices(["dense_clip_tiny", "ov2vss_tiny", "dense_clip_tiny"], checkpoint="runs/x/model.safetensors")
    assert menu == (ModelChoice("model.safetensors (checkpoint, dense_clip_tiny)", "dense_clip_tiny",
                                "runs/x/model.safetensors"), ModelChoice("ov2vss_tiny", "ov2vss_tiny"))
    assert model_choices(clip="random:tiny")[0] == ModelChoice("dense_clip_vitb16 (CLIP random:tiny)",
                                                               "dense_clip_vitb16", None, "random:tiny")
    settings = AppSettings(models=menu)
    assert settings.choice(None) is menu[0] and settings.choice("ov2vss_tiny") is menu[1]
    for bad, message in (({"max_seconds": 0}, "--max-seconds 0"), ({"concurrency": 0}, "--concurrency 0"),
                         ({"models": ()}, "at least one model"), ({"queue_size": 0}, "--queue-size 0")):
        with pytest.raises(InputError, match=message):
            AppSettings(**bad)


def test_the_space_entry_is_configured_by_environment_variables(monkeypatch):
    from openvidseg.app import server
    from openvidseg.app.settings import settings_from_env

    environ = {"OPENVIDSEG_APP_MODELS": "dense_clip_tiny, ov2vss_tiny", "OPENVIDSEG_APP_MAX_SECONDS": "30",
               "OPENVIDSEG_APP_EXAMPLES": "0", "OPENVIDSEG_APP_DEVICE": "cpu", "OPENVIDSEG_APP_CONCURRENCY": "2"}
    settings = settings_from_env(environ)
    assert [c.model for c in settings.models] == ["dense_clip_tiny", "ov2vss_tiny"]
    assert (settings.max_seconds, settings.examples, settings.device, settings.concurrency) == (30.0, False, "cpu", 2)
    assert settings_from_env({}) == AppSettings()
    with pytest.raises(InputError, match="OPENVIDSEG_APP_MAX_SECONDS='half' is not a number"):
        settings_from_env({"OPENVIDSEG_APP_MAX_SECONDS": "half"})
    # app.py: importing it starts nothing; main() serves at Gradio's address (set by a Space) with these settings
    spec = importlib.util.spec_from_file_location("space_app", REPO / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(server, "launch_app", lambda *args, **kwargs: calls.append((args, kwargs)))
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    module.main()
    assert calls == [((settings,), {"host": None, "port": None})]


def test_gradio_is_an_optional_extra(monkeypatch, capsys):
    import tomllib

    from openvidseg.cli import main

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("gradio") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    assert any(d.startswith("gradio") for d in extras["app"]) and any(d.startswith("gradio") for d in extras["dev"])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None if name == "gradio" else object())
    assert main(["app", "--model", "dense_clip_tiny"]) == 1  # a missing extra: the command failed here
    assert capsys.readouterr().err.strip() == ("openvidseg app: error: the web app needs Gradio, an optional extra: "
                                               "pip install 'openvidseg[app]'")
