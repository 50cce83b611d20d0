"""The app served over HTTP and called through `gradio_client` (its API endpoint /segment): results equal
to `segment`'s, clear one-line messages for bad input, telemetry off, 127.0.0.1, files deleted on close;
and `openvidseg app` from the command line (Ctrl-C or SIGTERM stops it and deletes its temporary folder)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
import zipfile

import numpy as np
import pytest
from app_helpers import free_port, start_tiny_app
from segment_reference import decode, read_masks, scene, write_video

import openvidseg
from openvidseg.app.request import NO_CLASSES
from openvidseg.cli import main

gradio_client = pytest.importorskip("gradio_client", reason="the app tests need the dev extra (gradio)")

CLASSES = "red wall, blue sky, green ball"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = start_tiny_app(tmp_path_factory.mktemp("app"), examples=False, max_seconds=10)
    yield app
    app.close()


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    return gradio_client.Client(server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))


def segment(client, video, classes, model="dense_clip_tiny", background=False, min_confidence=0.0, alpha=0.5):
    return client.predict(gradio_client.handle_file(str(video)), classes, model, background, min_confidence, alpha,
                          api_name="/segment")


def test_the_api_returns_what_segment_writes(server, client, tmp_path):
    video = write_video(tmp_path / "street.mp4", scene(12), rate=20)
    status, preview, overlay, table, chart, downloads = segment(client, video, CLASSES, alpha=0.4)
    assert status.startswith("**Done:** 12 frames") and preview["visible"] is False
    assert len(decode(overlay["value"])[0]) == 12
    assert sorted(os.path.basename(p) for p in downloads) == ["masks.zip", "summary.json"]
    masks_zip = next(p for p in downloads if p.endswith("masks.zip"))
    summary = json.loads(open(next(p for p in downloads if p.endswith("summary.json"))).read())
    reference = openvidseg.write_segmentation(video, CLASSES, tmp_path / "ref", model="dense_clip_tiny", alpha=0.4)
    assert summary["classes"] == reference["classes"] and summary["input"] == "street.mp4"
    with zipfile.ZipFile(masks_zip) as zipped:
        zipped.extractall(tmp_path / "unzipped")
    assert all(np.array_equal(a, b) for a, b in zip(read_masks(tmp_path / "unzipped"), read_masks(tmp_path / "ref")))
    # the table names every class with its share; the chart has a row per (time bin, class)
    names = [row[0].split("</span>")[-1] for row in table["data"]]
    assert sorted(names) == sorted(CLASSES.split(", "))
    shares = {c["name"]: f"{100 * c['pixel_share']:.1f} %" for c in summary["classes"]}
    assert all(row[1] == shares[name] for row, name in zip(table["data"], names))
    assert len(chart["value"]["data"]) == 12 * 3
    assert not any((server.runtime.jobs).iterdir())  # the job's folder is gone once its results were served


def test_two_users_at_once_each_get_their_own_result(client, tmp_path):
    """Two jobs submitted together: the queue runs them one after the other (--concurrency 1), each with
    its own video, classes and files."""
    jobs = [(write_video(tmp_path / "a.mp4", scene(10), rate=10), "red wall, blue sky"),
            (write_video(tmp_path / "b.mp4", scene(6, 48, 80)[::-1], rate=12), "ball, sky, wall, grass")]
    pending = [client.submit(gradio_client.handle_file(str(v)), c, "dense_clip_tiny", False, 0.0, 0.5,
                             api_name="/segment") for v, c in jobs]
    for (video, classes), job in zip(jobs, pending):
        summary_file = next(p for p in job.result(timeout=120)[5] if p.endswith("summary.json"))
        summary = json.loads(open(summary_file).read())
        assert summary["input"] == video.name and [c["name"] for c in summary["classes"]] == classes.split(", ")
        assert summary["frames"] == len(decode(video)[0]) and summary["complete"]


def test_bad_input_is_one_clear_line(client, tmp_path):
    video = write_video(tmp_path / "street.mp4", scene(4), rate=20)
    with pytest.raises(gradio_client.exceptions.AppError) as info:
        segment(client, video, " ")
    assert str(info.value) == NO_CLASSES
    notes = tmp_path / "notes.mp4"
    notes.write_text("shopping list")
    with pytest.raises(gradio_client.exceptions.AppError) as info:
        segment(client, notes, "dog")
    assert str(info.value).startswith("cannot open notes.mp4 as a video") and "Traceback" not in str(info.value)
    long = write_video(tmp_path / "long.mp4", scene(11 * 4), rate=4)
    too_long = r"long.mp4 is 11.0 s long; this app segments videos up to 10 s"
    with pytest.raises(gradio_client.exceptions.AppError, match=too_long):
        segment(client, long, "dog")


def test_offline_and_local_by_default(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False" and server.page.analytics_enabled is False
    for path in ("", "theme.css"):  # the page and its theme: fonts come from the server itself
        with urllib.request.urlopen(server.url + path) as response:
            text = response.read().decode()
        assert "googleapis" not in text and "gstatic" not in text


def test_closing_the_server_deletes_its_files(tmp_path):
    app = start_tiny_app(tmp_path, examples=True)
    root = app.runtime.root
    assert root.parent == tmp_path and len(list((root / "examples").glob("*.mp4"))) == 2
    app.close()
    assert not root.exists()


@pytest.mark.slow
def test_the_command_serves_until_stopped_then_deletes_its_folder(tmp_path):
    """SIGTERM (as a service manager stops it) takes the Ctrl-C path: the server closes, its folder goes."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GRADIO_")}, "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "openvidseg", "app", "--model", "dense_clip_tiny", "--port", str(port),
               "--no-examples"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watchdog = threading.Timer(180, process.kill)  # a server that never comes up fails the test, not the suite
    watchdog.start()
    try:
        output = []
        for line in process.stdout:  # until the command says it serves (or ends)
            output.append(line)
            if f"serving on http://127.0.0.1:{port}/" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200, "".join(output)
        assert len(list(tmp_path.glob("openvidseg-app-*/uploads"))) == 1  # Gradio's cache is inside the app's folder
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        watchdog.cancel()
        process.kill()
    assert process.returncode == 0
    assert not list(tmp_path.glob("openvidseg-app-*")) and not (tmp_path / "gradio").exists()


def test_the_command_refuses_an_unknown_model(capsys):
    assert main(["app", "--model", "dense_clip_tiy"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("openvidseg app: error:") and "dense_clip_tiny" in err and "\n" not in err
