"""Every way a video can come in: in-memory frames (NumPy arrays, PIL images, a (T, H, W, 3) array, any
iterable) through the Python API; each gives the class maps of the same frames read from files."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from segment_reference import scene

import openvidseg
from openvidseg.data.array_frames import ArrayFrames
from openvidseg.data.video import open_frames
from openvidseg.errors import InputError

CLASSES = "red wall, blue sky, green ball"


@pytest.fixture(scope="module")
def model():
    return openvidseg.create_model("ov2vss_tiny")  # uses reference frames: the order of frames matters


@pytest.fixture(scope="module")
def frames():
    return scene(5)


@pytest.fixture(scope="module")
def from_files(model, frames, tmp_path_factory):
    """The class maps of the frames saved as a folder of PNGs (lossless): the reference."""
    folder = tmp_path_factory.mktemp("png_frames")
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"{i}.png")
    return [labels for _, labels in openvidseg.segment_video(folder, CLASSES, model=model, device="cpu")]


def run(model, source, **kwargs):
    return [labels for _, labels in openvidseg.segment_video(source, CLASSES, model=model, device="cpu", **kwargs)]


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
