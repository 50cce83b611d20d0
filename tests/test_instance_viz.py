"""The pieces of `segment --task instance` on hand-made inputs: which tracks a frame shows (ids in order of
appearance, the higher score on top, the score threshold), track-id PNGs, outlines, label points and the
overlay of tracks."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from openvidseg.data.rle import decode_rle, encode_masks
from openvidseg.inference.instance_segment import TrackSelector
from openvidseg.inference.instance_tracks import FrameInstances
from openvidseg.viz.instances import (
    label_point, save_track_png, track_colors, track_outlines, track_overlay_frame,
)
from openvidseg.viz.overlay import blend


def box(top, left, bottom, right, size=(20, 30)):
    mask = np.zeros(size, dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def frame_of(index, queries, masks):
    return FrameInstances(index, (20, 30), np.array(queries), encode_masks(np.stack(masks)),
                          np.zeros((len(queries), 2)), np.zeros(len(queries)))


def test_selector_ids_overlaps_and_threshold():
    selector = TrackSelector(num_queries=4, min_score=0.3)
    # query: best class and video score so far; query 2 is below the threshold
    scores = torch.tensor([[0.1, 0.6], [0.8, 0.2], [0.25, 0.1], [0.5, 0.4]])
    a, b, c = box(0, 0, 10, 10), box(5, 5, 15, 15), box(0, 20, 5, 25)
    tracked = selector.select(frame_of(0, [0, 1, 2], [a, b, c]), scores)
    # ids in order of score: query 1 (0.8) gets 1, query 0 (0.6) gets 2; query 2 is not shown
    assert [(t.id, t.label, round(t.score, 2)) for t in tracked.tracks] == [(1, 0, 0.8), (2, 1, 0.6)]
    assert (tracked.ids[b] == 1).all()  # the higher score holds the overlap
    assert (tracked.ids[a & ~b] == 2).all() and (tracked.ids[c] == 0).all()
    assert int((tracked.ids > 0).sum()) == int((a | b).sum())
    for track in tracked.tracks:
        assert np.array_equal(decode_rle(track.rle), tracked.ids == track.id)
    # next frame: query 3 appears (id 3), query 0 is fully covered by query 1 and is not shown, ids stay
    scores = torch.tensor([[0.1, 0.6], [0.9, 0.2], [0.25, 0.1], [0.5, 0.7]])
    tracked = selector.select(frame_of(1, [0, 1, 3], [box(6, 6, 9, 9), b, c]), scores)
    assert [(t.id, t.label) for t in tracked.tracks] == [(1, 0), (3, 1)]
    assert sorted(selector.tracks(scores)) == [1, 2, 3]
    assert selector.tracks(scores)[3].label == 1 and round(selector.tracks(scores)[2].score, 2) == 0.6
    restored = TrackSelector(4, 0.3)
    restored.load_state_dict(selector.state_dict())
    again = restored.select(frame_of(2, [0, 3], [a, c]), scores)
    assert [t.id for t in again.tracks] == [2, 3]


def test_track_png_keeps_ids_with_track_colours(tmp_path):
    ids = np.zeros((8, 8), np.uint8)
    ids[:4, :4], ids[4:, 4:] = 1, 7
    colors = track_colors()
    save_track_png(ids, tmp_path / "00000.png", colors)
    with Image.open(tmp_path / "00000.png") as image:
        assert image.mode == "P" and np.array_equal(np.asarray(image), ids)
        palette = np.array(image.getpalette()[:3 * 8]).reshape(8, 3)
    assert palette[0].tolist() == [0, 0, 0] and palette[7].tolist() == colors[6].tolist()
    assert len({tuple(c) for c in colors[:50]}) == 50  # distinct colours per track


def test_outlines_are_the_border_of_each_track():
    ids = np.zeros((10, 10), np.uint8)
    ids[2:7, 2:7] = 3
    edge = track_outlines(ids)
    expected = np.zeros_like(edge)
    expected[2:7, 2:7] = True
    expected[3:6, 3:6] = False
    assert np.array_equal(edge, expected)


def test_label_point_lies_inside_even_a_c_shape():
    yy, xx = np.mgrid[0:41, 0:41]
    ring = ((yy - 20) ** 2 + (xx - 20) ** 2 <= 400) & ((yy - 20) ** 2 + (xx - 20) ** 2 >= 144)
    c_shape = ring & ~((xx > 20) & (np.abs(yy - 20) < 6))
    y, x = label_point(c_shape)
    assert c_shape[y, x] and not ring[20, 20]  # the centroid (20, 20) is outside the object
    assert label_point(np.zeros((5, 5), bool)) is None


def test_overlay_blends_outlines_and_labels_each_track():
    frame = np.full((120, 160, 3), 100, np.uint8)
    ids = np.zeros((120, 160), np.uint8)
    ids[10:60, 10:70], ids[70:110, 90:150] = 1, 2
    colors = track_colors()
    out = track_overlay_frame(frame, ids, [(1, "1 red circle"), (2, "2 dog")], colors, alpha=0.5)
    plain = blend(frame, np.where(ids > 0, ids - 1, 255).astype(np.uint8), colors, 0.5)
    assert out[10, 30].tolist() == colors[0].tolist()  # the outline, in the track's colour
    assert out[15, 15].tolist() == plain[15, 15].tolist() != frame[15, 15].tolist()  # blended, away from the label
    assert out[115, 5].tolist() == frame[115, 5].tolist()  # no track: untouched
    for track_id in (1, 2):  # a label box around each track's label point
        y, x = label_point(ids == track_id)
        changed = np.abs(out[y - 3:y + 4, x - 10:x + 11].astype(int) - plain[y - 3:y + 4, x - 10:x + 11]).sum(-1) > 30
        assert changed.mean() > 0.3
