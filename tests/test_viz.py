"""Class colours, palette PNGs, overlays and the video writer."""
from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from openvidseg.inference.video_writer import VideoWriter
from openvidseg.viz import blend, class_colors, overlay_frame, save_label_png


def test_colors_are_distinct_and_deterministic():
    colors = class_colors(124)
    assert colors.shape == (124, 3) and colors.dtype == np.uint8
    assert len({tuple(c) for c in colors}) == 124
    assert np.array_equal(colors[:5], class_colors(5))


def test_label_png_keeps_indices_and_shows_colours(tmp_path):
    labels = np.array([[0, 1, 255], [2, 2, 1]], dtype=np.uint8)
    colors = class_colors(3)
    save_label_png(labels, tmp_path / "m.png", colors)
    image = Image.open(tmp_path / "m.png")
    assert image.mode == "P" and np.array_equal(np.asarray(image), labels)
    rgb = np.asarray(image.convert("RGB"))
    assert tuple(rgb[0, 1]) == tuple(colors[1]) and tuple(rgb[0, 2]) == (0, 0, 0)


def test_blend_mixes_only_labelled_pixels():
    frame = np.full((2, 2, 3), 100, dtype=np.uint8)
    colors = np.array([[200, 0, 0]], dtype=np.uint8)
    out = blend(frame, np.array([[0, 255], [255, 0]]), colors, alpha=0.5)
    assert tuple(out[0, 0]) == (150, 50, 50) and tuple(out[0, 1]) == (100, 100, 100)


def test_overlay_draws_a_legend_of_present_classes_only():
    frame = np.zeros((120, 200, 3), dtype=np.uint8)
    labels = np.full((120, 200), 255, dtype=np.uint8)
    labels[60:, 100:] = 2
    colors = class_colors(3)
    out = overlay_frame(frame, labels, ["cat", "dog", "ball"], colors)
    legend = out[:30, :60]
    # the swatch of class 2 is drawn, the colours of absent classes are not
    assert (legend == colors[2]).all(axis=-1).any()
    assert not (legend == colors[0]).all(axis=-1).any() and not (legend == colors[1]).all(axis=-1).any()


@pytest.mark.parametrize("size", [(64, 96), (57, 101)])
def test_video_writer_keeps_size_fps_and_count(tmp_path, size):
    path = tmp_path / "v.mp4"
    with VideoWriter(path, fps=12.5, width=size[1], height=size[0]) as writer:
        for i in range(7):
            writer.write(np.full((*size, 3), i * 30, dtype=np.uint8))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert (stream.height, stream.width) == size and len(frames) == 7
        assert float(stream.average_rate) == pytest.approx(12.5)
