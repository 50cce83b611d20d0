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


NOT_A_CHARACTER = "\U0010FFFF"  # no font maps it: it renders as the font's missing-glyph box (.notdef)


def glyph(font, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


@pytest.mark.parametrize("name", ["café", "γάτα", "кошка", "Łódź ŠĐ"])
def test_legend_names_in_latin_greek_and_cyrillic_are_drawn_not_boxed(name):
    """Every letter's bitmap differs from the missing-glyph box of the font the legend uses for the name,
    and the drawn legend differs from one whose name is all boxes."""
    from openvidseg.viz.fonts import FontChooser
    from openvidseg.viz.overlay import legend_font_size

    frame, labels = np.zeros((120, 300, 3), np.uint8), np.zeros((120, 300), np.uint8)
    font = FontChooser(legend_font_size(120)).font_for(name)
    box = glyph(font, NOT_A_CHARACTER)
    assert all(glyph(font, c) != box for c in name if not c.isspace())
    drawn = overlay_frame(frame, labels, [name], class_colors(1))
    boxed = overlay_frame(frame, labels, [NOT_A_CHARACTER * len(name)], class_colors(1))
    assert not np.array_equal(drawn, boxed)


def test_names_beyond_the_bundled_font_come_from_the_system_or_are_reported():
    """Georgian is not in Noto Sans (Latin, Greek, Cyrillic): fontconfig finds a system font with it (DejaVu Sans
    on Debian), or, without one, the name is reported as drawn with boxes."""
    import shutil

    from openvidseg.viz.fonts import FontChooser, bundled_font, missing_glyphs, uncovered_names

    name = "ვაშლი"
    bundled = FontChooser(20).font_for("x")
    assert bundled.path == bundled_font() and missing_glyphs(bundled, name) == name
    chosen = FontChooser(20).font_for(name)
    if shutil.which("fc-match") and chosen.path != bundled_font():
        box = glyph(chosen, NOT_A_CHARACTER)
        assert all(glyph(chosen, c) != box for c in name) and uncovered_names([name]) == []
    else:
        assert uncovered_names([name]) == [(name, name)]


def test_a_font_given_by_the_user_is_tried_first(tmp_path, capsys):
    from segment_reference import scene, write_video

    from openvidseg.cli import main
    from openvidseg.viz.fonts import FontChooser, bundled_font

    chooser = FontChooser(20, user_font=bundled_font())
    assert chooser.font_for("dog").path == bundled_font()
    video = write_video(tmp_path / "clip.mp4", scene(2))
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    assert main(["segment", str(video), "--classes", "a, b", "--model", "dense_clip_tiny", "--font",
                 str(tmp_path / "broken.ttf"), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot use font" in err and ".ttf, .otf or .ttc" in err
    assert not (tmp_path / "out").exists()


def test_names_no_font_here_draws_get_a_one_line_warning(tmp_path, capsys):
    """猫 needs a CJK font; where the machine has none, segment says so (naming --font) and still runs."""
    from segment_reference import scene, write_video

    from openvidseg.cli import main
    from openvidseg.viz.fonts import uncovered_names

    video = write_video(tmp_path / "clip.mp4", scene(2))
    assert main(["segment", str(video), "--classes", "猫, dog", "--model", "dense_clip_tiny", "--out",
                 str(tmp_path / "out"), "--quiet"]) == 0
    err = capsys.readouterr().err
    if uncovered_names(["猫"]):
        assert err.count("\n") == 1 and "warning: no font here draws '猫' (U+732B) of class '猫'" in err
        assert "--font PATH" in err
    else:
        assert err == ""
