"""Every way a video can come in: in-memory frames (NumPy arrays, PIL images, a (T, H, W, 3) array, any
iterable) through the Python API, http(s) URLs (a local server), standard input (a non-seekable pipe),
folders of videos, cameras (where there is one); each gives the frames, or class maps, of the same video
read from a file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from segment_reference import read_masks, scene, write_video

import openvidseg
from openvidseg.data.array_frames import ArrayFrames
from openvidseg.data.video import open_frames
from openvidseg.errors import DataError, InputError

CLASSES = "red wall, blue sky, green ball"


@pytest.fixture(scope="module")
def model():
    return openvidseg.create_model("ov2vss_tiny")  # uses reference frames: the order of frames matters (random head:
    # allow_untrained, since only the equality of two paths is checked)


@pytest.fixture(scope="module")
def frames():
    return scene(5)


@pytest.fixture(scope="module")
def from_files(model, frames, tmp_path_factory):
    """The class maps of the frames saved as a folder of PNGs (lossless): the reference."""
    folder = tmp_path_factory.mktemp("png_frames")
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i}.png")
    maps = openvidseg.segment_video(folder, CLASSES, model=model, device="cpu", allow_untrained=True)
    return [labels for _, labels in maps]


def run(model, source, **kwargs):
    maps = openvidseg.segment_video(source, CLASSES, model=model, device="cpu", allow_untrained=True, **kwargs)
    return [labels for _, labels in maps]


@pytest.mark.parametrize("form", ["array", "list of arrays", "list of PIL images", "generator"])
def test_in_memory_frames_give_the_maps_of_the_same_frames_from_files(model, frames, from_files, form):
    source = {"array": lambda: np.stack(frames), "list of arrays": lambda: list(frames),
              "list of PIL images": lambda: [Image.fromarray(f) for f in frames],
              "generator": lambda: (f for f in frames)}[form]()
    maps = run(model, source)
    assert len(maps) == 5
    for got, expected in zip(maps, from_files):
        np.testing.assert_array_equal(got, expected)


def test_frame_source_facts_and_one_image(frames):
    video = open_frames(np.stack(frames), fps=10)
    assert (video.num_frames, video.height, video.width, video.fps) == (5, 64, 96, 10)
    assert open_frames(f for f in frames).num_frames is None  # an iterable's length is unknown
    one = open_frames(Image.fromarray(frames[0]))
    assert one.num_frames == 1 and [i for i, _ in one] == [0]
    gray = open_frames(np.zeros((3, 8, 10), np.uint8))  # (T, H, W): gray frames
    assert [f.shape for _, f in gray] == [(8, 10, 3)] * 3


def test_write_segmentation_from_memory(model, frames, from_files, tmp_path):
    summary = openvidseg.write_segmentation(iter(frames), CLASSES, tmp_path / "out", model=model, device="cpu",
                                            allow_untrained=True,
                                            fps=5, video=False)
    assert summary["complete"] and summary["frames"] == 5 and summary["fps"] == 5 and summary["input"] == "frames"
    saved = [np.asarray(Image.open(tmp_path / "out" / "masks" / f"{i:05d}.png")) for i in range(5)]
    for got, expected in zip(saved, from_files):
        np.testing.assert_array_equal(got, expected)


def test_bad_in_memory_frames_name_the_frame(frames):
    with pytest.raises(InputError, match="frame 2 is 48x32 but frame 0 is 96x64"):
        list(ArrayFrames([frames[0], frames[1], np.zeros((32, 48, 3), np.uint8)]))
    with pytest.raises(InputError, match="has no frames"):
        ArrayFrames([])
    with pytest.raises(InputError, match=r"frames array has shape \(2, 3, 4, 5, 6\)"):
        ArrayFrames(np.zeros((2, 3, 4, 5, 6), np.uint8))
    video = ArrayFrames(f for f in frames)
    list(video)
    with pytest.raises(InputError, match="has been read already"):
        list(video)


# --- streams: http(s) URLs, standard input, folders of videos, cameras -------------------------------------------

def write_mkv(path, frames, fps: int = 10):
    """An H.264 Matroska file: a container that stores no frame count (a stream of unknown length)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decoded(source) -> list[np.ndarray]:
    with open_frames(source) as video:
        return [frame for _, frame in video]


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A folder with an MP4 whose index comes last (as most encoders write them) and an MKV; 40 frames of
    noise so that the MP4 is larger than FFmpeg's read buffer."""
    from segment_reference import write_video

    folder = tmp_path_factory.mktemp("served")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (64, 96, 3), dtype=np.uint8) for _ in range(40)]
    write_video(folder / "walk.mp4", frames)
    write_mkv(folder / "live.mkv", frames[:12])
    assert (folder / "walk.mp4").stat().st_size > 64 * 1024
    return folder


@pytest.fixture(scope="module")
def http_server(videos):
    """A local HTTP server on 127.0.0.1 that answers byte ranges, as real web servers do (FFmpeg seeks to an
    MP4's index with them)."""
    import functools
    import http.server
    import re
    import threading

    class RangeHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_head(self):
            match = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            path = Path(self.translate_path(self.path))
            if match is None or not path.is_file():
                return super().send_head()
            data = path.read_bytes()
            start = int(match.group(1))
            end = min(int(match.group(2) or len(data) - 1), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            import io

            return io.BytesIO(data[start: end + 1])

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(videos)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_http_urls_decode_like_the_files(videos, http_server):
    for name in ("walk.mp4", "live.mkv"):
        remote, local = decoded(f"{http_server}/{name}?token=abc"), decoded(videos / name)
        assert len(remote) == len(local) > 0
        for a, b in zip(remote, local):
            np.testing.assert_array_equal(a, b)
    with open_frames(f"{http_server}/live.mkv") as video:
        assert video.num_frames is None and video.name == "live" and video.fps == 10  # unknown length


def test_a_server_without_byte_ranges_is_read_like_a_pipe(videos):
    """Python's own http.server answers no Range requests, which FFmpeg needs for an MP4 whose index comes
    last: such a URL is streamed and spooled instead, and gives the same frames."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(videos)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/walk.mp4"
        remote, local = decoded(url), decoded(videos / "walk.mp4")
        assert len(remote) == len(local) == 40 and all(np.array_equal(a, b) for a, b in zip(remote, local))
        with pytest.raises(DataError, match="HTTP Error 404"):
            open_frames(f"http://127.0.0.1:{server.server_port}/missing.mp4")
    finally:
        server.shutdown()


def test_segment_a_url_of_unknown_length(videos, http_server, tmp_path, capsys):
    from openvidseg.cli import main

    args = ["segment", "--classes", CLASSES, "--model", "dense_clip_tiny", "--quiet", "--no-video"]
    assert main([*args, f"{http_server}/live.mkv", "--out", str(tmp_path / "url")]) == 0
    assert main([*args, str(videos / "live.mkv"), "--out", str(tmp_path / "file")]) == 0
    summary = json.loads((tmp_path / "url" / "live" / "summary.json").read_text())
    assert summary["complete"] and summary["frames"] == 12 and summary["declared_frames"] is None
    assert summary["input"] == f"{http_server}/live.mkv"
    remote, local = read_masks(tmp_path / "url" / "live"), read_masks(tmp_path / "file" / "live")
    assert len(remote) == len(local) == 12 and all(np.array_equal(a, b) for a, b in zip(remote, local))
    capsys.readouterr()
    assert main([*args, f"{http_server}/missing.mp4", "--out", str(tmp_path / "o")]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "404" in line and "missing.mp4" in line and "check the address" in line and "Traceback" not in line


@pytest.mark.parametrize("name", ["live.mkv", "walk.mp4"])
def test_standard_input_is_read_from_a_pipe_without_seeking(videos, name, monkeypatch):
    """A non-seekable pipe: an MKV streams (length unknown), an MP4 whose index comes last is spooled."""
    import io
    import os
    import threading

    data = (videos / name).read_bytes()
    read_end, write_end = os.pipe()

    def feed():
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(data)

    threading.Thread(target=feed, daemon=True).start()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(os.fdopen(read_end, "rb")))
    with open_frames("-") as video:
        assert video.name == "stdin" and video.num_frames == (None if name.endswith(".mkv") else 40)
        frames = [frame for _, frame in video]
    expected = decoded(videos / name)
    assert len(frames) == len(expected)
    for a, b in zip(frames, expected):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(DataError, match="can be read only once"):
        list(video)


@pytest.mark.slow  # a subprocess: 40 s under a load of 25 on 2 cores
def test_segment_dash_reads_a_piped_video(videos, tmp_path):
    """The command as a user types it: `cat walk.mp4 | openvidseg segment - ...` (a real pipe)."""
    import subprocess
    import sys

    from train_helpers import single_thread_env

    command = [sys.executable, "-m", "openvidseg", "segment", "-", "--classes", CLASSES, "--model", "dense_clip_tiny",
               "--no-video", "--quiet", "--out", str(tmp_path / "out")]
    done = subprocess.run(command, input=(videos / "walk.mp4").read_bytes(), capture_output=True,
                          env=single_thread_env(), timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"out/stdin: 40 frames, complete" in done.stdout
    summary = json.loads((tmp_path / "out" / "stdin" / "summary.json").read_text())
    assert summary["input"] == "-" and summary["frames"] == 40
    terminal = subprocess.run(command[:-1] + [str(tmp_path / "tty")], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=single_thread_env(), timeout=300)
    assert terminal.returncode == 1 and terminal.stderr.strip().count("\n") == 0  # an empty pipe: one line
    assert "nothing was piped into standard input" in terminal.stderr


def test_a_folder_of_videos_is_a_batch_of_its_videos(videos, tmp_path, capsys):
    from openvidseg.cli import main
    from openvidseg.data.video import expand_inputs

    assert expand_inputs([str(videos), "x.mp4"]) == [str(videos / "live.mkv"), str(videos / "walk.mp4"), "x.mp4"]
    code = main(["segment", str(videos), "--classes", CLASSES, "--model", "dense_clip_tiny", "--quiet",
                 "--no-video", "--max-frames", "3", "--out", str(tmp_path)])
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["live", "walk"]
    assert "folder" not in capsys.readouterr().err
    assert main(["segment", "-", "-", "--classes", "a", "--out", str(tmp_path / "twice")]) == 2
    assert "given more than once" in capsys.readouterr().err


def test_stream_names():
    from openvidseg.data.video import stream_name
    from openvidseg.inference.output_folder import input_name

    assert stream_name("https://example.org/videos/clip.mp4?x=1") == "clip"
    assert stream_name("rtsp://cam.local:554/") == "cam.local"
    assert stream_name("rtsp://10.0.0.2/live/stream1") == "stream1"
    assert input_name("-") == "stdin" and input_name("http://h/a/b.webm") == "b"


def test_a_camera_that_is_not_there_says_which_exist():
    with pytest.raises(DataError, match=r"camera /dev/video97 not found; cameras here: "):
        open_frames("/dev/video97")


def test_a_camera_is_opened_through_v4l2_and_read_once_live(tmp_path, monkeypatch):
    """No camera here: the device node is a stand-in file, and FFmpeg's v4l2 input is replaced by the file
    demuxer reading a real video, so everything of ours (routing, read once, no sound, live length) runs."""
    import av

    from openvidseg.data import video as video_module

    source = tmp_path / "clip.mkv"  # MKV: no frame count stored, like a live device
    write_video(source, scene(4), codec="ffv1", rate=10)
    (tmp_path / "video0").touch()
    monkeypatch.setattr(video_module, "CAMERA_PREFIX", str(tmp_path / "video"))
    real_open, opened = av.open, []

    def fake_open(target, *args, format=None, **kwargs):
        opened.append((target, format))
        return real_open(str(source) if format == "v4l2" else target, *args, **kwargs)

    monkeypatch.setattr(av, "open", fake_open)
    with open_frames(str(tmp_path / "video0")) as camera:
        frames = [frame for _, frame in camera]
        assert (camera.num_frames, camera.audio_source, camera.reopenable) == (None, None, False)
        with pytest.raises(DataError, match="can be read only once"):
            list(camera)
    assert opened[0] == (str(tmp_path / "video0"), "v4l2")
    assert len(frames) == 4 and frames[0].shape == (64, 96, 3)


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def publish_rtsp(url: str, frames: list[np.ndarray], fps: int, stop) -> None:
    """Publish frames to an RTSP server in real time (FFmpeg's RTSP muxer: ANNOUNCE + RECORD), until `stop`."""
    import time

    import av

    deadline = time.time() + 20
    while True:  # the server may still be starting
        try:
            out = av.open(url, "w", format="rtsp", options={"rtsp_transport": "udp"})
            break
        except OSError:
            if time.time() > deadline or stop.is_set():
                raise
            time.sleep(0.3)
    with out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        stream.options = {"tune": "zerolatency", "preset": "ultrafast", "g": str(fps)}
        start = time.time()
        for i in range(10 * len(frames)):
            if stop.is_set():
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgb24")):
                out.mux(packet)
            time.sleep(max(0.0, start + (i + 1) / fps - time.time()))


@pytest.mark.skipif(shutil.which("rtsp-server-perl") is None,
                    reason="no local RTSP server (apt install rtsp-server-perl) to publish a test stream to")
def test_an_rtsp_stream_is_live_and_of_unknown_length(tmp_path):
    """A real RTSP session on 127.0.0.1: rtsp-server-perl relays what PyAV publishes to our reader."""
    import itertools
    import subprocess
    import threading
    import time

    clients, sources = free_port(), free_port()
    server = subprocess.Popen(["rtsp-server-perl", "-c", str(clients), "-s", str(sources), "--rtp_start_port",
                               str(20000 + clients % 20000)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    try:
        deadline = time.time() + 90  # perl takes a while to start on a busy machine
        while not all(port_open(port) for port in (clients, sources)):
            assert server.poll() is None and time.time() < deadline, "rtsp-server-perl did not start"
            time.sleep(0.3)
        publisher = threading.Thread(target=publish_rtsp, daemon=True,
                                     args=(f"rtsp://127.0.0.1:{sources}/live", scene(10, 96, 128), 10, stop))
        publisher.start()
        deadline, video = time.time() + 20, None
        while video is None:
            try:
                video = open_frames(f"rtsp://127.0.0.1:{clients}/live")
            except DataError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        with video:
            assert video.num_frames is None and video.name == "live" and (video.height, video.width) == (96, 128)
            frames = [frame for _, frame in itertools.islice(video, 12)]
        assert len(frames) == 12 and frames[0].shape == (96, 128, 3)
        assert frames[0][48, 10, 0] > 150 and frames[0][48, 120, 2] > 150  # red left half, blue right half
    finally:
        stop.set()
        server.terminate()
        server.wait(timeout=10)
