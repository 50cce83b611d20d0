"""Frame sources: video files through PyAV (counts, fps, rotation, pixel formats, truncation, errors),
frame folders and globs, and dataset videos behind the same interface."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from openvidseg.data import FrameSource, open_frames, write_synthetic_vspw
from openvidseg.data.video import VideoFileFrames
from openvidseg.errors import DataError

av = pytest.importorskip("av")


def can_encode(codec: str, pix_fmt: str) -> bool:
    try:
        formats = av.codec.Codec(codec, "w").video_formats or []
    except Exception:
        return False
    return pix_fmt in [f.name for f in formats]


def write_video(path: Path, frames: list[np.ndarray], codec: str = "libx264", pix_fmt: str = "yuv420p",
                fmt: str = "rgb24", rate: int = 25, rotation: int | None = None, hflip: bool = False,
                options: dict | None = None) -> Path:
    """Encode `frames` ((H, W, 3) rgb24, (H, W, 4) rgba or (H, W) gray) into `path` with PyAV."""
    if not can_encode(codec, pix_fmt):
        pytest.skip(f"this PyAV/FFmpeg build cannot encode {pix_fmt} with {codec}")
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation, hflip=hflip)
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format=fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def level(i: int) -> int:
    return 20 + 3 * i


def levels(n: int, height: int = 48, width: int = 64) -> list[np.ndarray]:
    """n flat grey frames of increasing brightness (so order and count can be checked); n <= 70."""
    return [np.full((height, width, 3), level(i), np.uint8) for i in range(n)]


def test_mp4_count_fps_order_and_size(tmp_path):
    path = write_video(tmp_path / "clip.mp4", levels(30), rate=25)
    with open_frames(path) as video:
        assert isinstance(video, VideoFileFrames) and video.name == "clip.mp4"
        assert (video.num_frames, video.fps, video.height, video.width) == (30, 25.0, 48, 64)
        frames = list(video)
    assert [i for i, _ in frames] == list(range(30))
    means = [frame.mean() for _, frame in frames]
    assert all(abs(m - level(i)) < 3 for i, m in enumerate(means))
    assert frames[0][1].shape == (48, 64, 3) and frames[0][1].dtype == np.uint8


def test_a_second_pass_starts_again_from_the_first_frame(tmp_path):
    video = open_frames(write_video(tmp_path / "clip.mp4", levels(8)))
    first = [f.mean() for _, f in video]
    for index, _ in video:  # a partial pass ...
        if index == 2:
            break
    assert [f.mean() for _, f in video] == first  # ... then a full one
    video.close()


def test_mkv_has_no_declared_count_but_every_frame_is_read(tmp_path):
    with open_frames(write_video(tmp_path / "clip.mkv", levels(12), rate=10)) as video:
        assert video.num_frames is None and video.fps == 10.0
        assert sum(1 for _ in video) == 12


@pytest.mark.parametrize("rotation, hflip, corner", [
    (90, False, (1, 0)),  # counter-clockwise: the top-left corner goes to the bottom-left
    (-90, False, (0, 1)),
    (180, False, (1, 1)),
    (0, True, (0, 1)),  # mirrored only
])
def test_display_matrix_is_applied(tmp_path, rotation, hflip, corner):
    frame = np.zeros((32, 64, 3), np.uint8)
    frame[:16, :32] = (220, 30, 30)  # red top-left quarter
    path = write_video(tmp_path / "rot.mp4", [frame] * 3, pix_fmt="yuv444p", rotation=rotation, hflip=hflip)
    with open_frames(path) as video:
        out = next(iter(video))[1]
        swapped = rotation in (90, -90)
        assert (video.height, video.width) == ((64, 32) if swapped else (32, 64)) and out.shape[:2] == (video.height, video.width)
    h, w = out.shape[0] // 2, out.shape[1] // 2
    quarters = [[out[:h, :w, 0].mean(), out[:h, w:, 0].mean()], [out[h:, :w, 0].mean(), out[h:, w:, 0].mean()]]
    red = [(r, c) for r in range(2) for c in range(2) if quarters[r][c] > 110]
    assert red == [corner]


@pytest.mark.parametrize("name, codec, pix_fmt, fmt, channels", [
    ("gray.mkv", "ffv1", "gray", "gray", 1),
    ("rgba.mov", "png", "rgba", "rgba", 4),
    ("yuva.mkv", "ffv1", "yuva420p", "rgba", 4),
    ("ten_bit.mp4", "libx264", "yuv420p10le", "rgb24", 3),
    ("ten_bit_hevc.mp4", "libx265", "yuv420p10le", "rgb24", 3),
    ("ffv1_16.mkv", "ffv1", "gray16le", "gray16le", 1),
])
def test_other_pixel_formats_come_out_as_rgb24(tmp_path, name, codec, pix_fmt, fmt, channels):
    base = np.zeros((48, 64), np.uint8)
    base[:, 32:] = 180
    if fmt == "gray16le":
        frame = base.astype(np.uint16) * 257
    elif channels == 1:
        frame = base
    else:
        frame = np.stack([base] * 3 + ([np.full_like(base, 128)] if channels == 4 else []), axis=-1)
    with open_frames(write_video(tmp_path / name, [frame] * 4, codec=codec, pix_fmt=pix_fmt, fmt=fmt)) as video:
        frames = [f for _, f in video]
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    assert frames[0][:, :28].mean() < 25 and abs(frames[0][:, 36:].mean() - 180) < 12


def test_odd_sizes_work(tmp_path):
    frames = [np.full((47, 63, 3), 90, np.uint8)] * 3
    with open_frames(write_video(tmp_path / "odd.mkv", frames, codec="ffv1", pix_fmt="yuv444p")) as video:
        assert (video.height, video.width) == (47, 63) and [f.shape for _, f in video] == [(47, 63, 3)] * 3


def test_truncated_video_keeps_the_frames_decoded_so_far(tmp_path):
    path = write_video(tmp_path / "full.mp4", levels(60), options={"movflags": "faststart"})
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    kept = []
    with pytest.raises(DataError, match=r"cut.mp4 is truncated: (\d+) of the 60 frames") as info:
        with open_frames(cut) as video:
            for index, frame in video:
                kept.append(frame)
    assert 0 < len(kept) < 60 and f"{len(kept)} of the 60 frames" in str(info.value)
    assert all(abs(f.mean() - level(i)) < 3 for i, f in enumerate(kept))  # the kept frames are right


def test_a_cut_before_any_frame(tmp_path):
    data = write_video(tmp_path / "full.mp4", levels(10), options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "empty.mp4").write_bytes(data[: data.find(b"mdat") + 4])
    with pytest.raises(DataError, match=r"empty.mp4 holds a video stream with zero frames although its container declares 10"):
        open_frames(tmp_path / "empty.mp4")
    (tmp_path / "headless.mp4").write_bytes(data[len(data) // 2:])
    with pytest.raises(DataError, match=r"cannot open .*headless.mp4 as a video"):
        open_frames(tmp_path / "headless.mp4")


def test_missing_and_non_video_files(tmp_path):
    with pytest.raises(DataError, match=r"no such video file, frame folder or glob: .*nothing.mp4"):
        open_frames(tmp_path / "nothing.mp4")
    (tmp_path / "notes.mp4").write_text("these are not frames\n" * 50)
    with pytest.raises(DataError, match=r"cannot open .*notes.mp4 as a video"):
        open_frames(tmp_path / "notes.mp4")
    with pytest.raises(DataError, match=r"no image files match"):
        open_frames(str(tmp_path / "*.png"))
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(DataError, match=r"empty_folder holds no frames"):
        open_frames(tmp_path / "empty_folder")


def test_frame_folder_glob_and_single_image(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (10, 2, 1):  # natural order: 1, 2, 10
        Image.fromarray(np.full((6, 8, 3), i * 10, np.uint8)).save(folder / f"frame{i}.png")
    (folder / "notes.txt").write_text("ignored")
    with open_frames(folder, fps=12.0) as video:
        assert (video.name, video.num_frames, video.fps, video.height, video.width) == ("frames", 3, 12.0, 6, 8)
        assert [int(f[0, 0, 0]) for _, f in video] == [10, 20, 100]
    assert [int(f[0, 0, 0]) for _, f in open_frames(str(folder / "frame*.png"))] == [10, 20, 100]
    assert open_frames(folder / "frame2.png").num_frames == 1
    Image.fromarray(np.zeros((7, 8, 3), np.uint8)).save(folder / "frame3.png")
    with pytest.raises(DataError, match=r"frame3.png is 8x7 but frame1.png is 8x6"):
        list(open_frames(folder))


def test_dataset_videos_share_the_interface(tmp_path):
    from openvidseg.data import VSPWDataset

    info = write_synthetic_vspw(tmp_path / "synth", num_videos=2, num_frames=5, size=(16, 24), seed=0,
                                splits={"train": 1, "val": 1})
    video = VSPWDataset(info.root, "val", split="all").videos[0]
    assert open_frames(video) is video and isinstance(video, FrameSource)
    with open_frames(video) as source:
        frames = list(source)
    assert [i for i, _ in frames] == list(range(5)) and frames[0][1].shape == (16, 24, 3)
    assert open_frames(info.root / "data" / video.name / "origin").num_frames == 5


def test_real_video(shared_data):
    with open_frames(shared_data / "videos" / "bedroom.mp4") as video:
        assert (video.num_frames, video.fps, video.height, video.width) == (200, 30.0, 540, 960)
        count = 0
        for index, frame in video:
            assert index == count and frame.shape == (540, 960, 3)
            count += 1
            if count == 10:
                break


def _collect_garbage() -> None:
    import gc

    gc.collect()


def _leave_frames_in_a_garbage_cycle(path: Path) -> None:
    """Decode until the truncation error and keep the error in a cycle with its own traceback."""
    try:
        list(open_frames(path))
    except DataError as err:
        kept = err  # err -> traceback -> this frame -> kept: a cycle holding the decoder's last frame
        assert kept is not None


def test_forked_workers_can_free_frames_left_by_the_parent(tmp_path):
    """A DataLoader worker forked while decoded frames wait in a garbage cycle (e.g. kept alive by an
    exception's traceback) must be able to free them: no FFmpeg thread pool may live inside them."""
    import gc
    import multiprocessing

    frames = levels(20, height=360, width=640)  # large enough for FFmpeg to thread the colour conversion
    data = write_video(tmp_path / "full.mp4", frames, options={"movflags": "faststart"}).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 8 // 10])
    gc.collect()
    gc.disable()  # leave the cycle for the child to collect
    try:
        _leave_frames_in_a_garbage_cycle(tmp_path / "cut.mp4")
        child = multiprocessing.get_context("fork").Process(target=_collect_garbage)
        child.start()
        child.join(timeout=30)
        hung = child.is_alive()
        if hung:
            child.kill()
        assert not hung and child.exitcode == 0
    finally:
        gc.enable()
