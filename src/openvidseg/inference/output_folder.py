"""The output folder of one segmented video: its files, safe names derived from inputs, and what is already
there (nothing, a complete output, an interrupted one to resume, or something else).

Layout of `OUT/<name>/`: `masks/<frame index, 5 digits>.png` (or .npz, or .json for COCO RLEs, gathered into
`annotations.json` when the video is complete; see `mask_formats`), `scores/<frame>.npz` (with --save-scores),
`overlay.mp4`, `timeline.csv`, `classes.json`, `summary.json`.
`summary.json` is written when the output is started (with "complete": false), every few seconds while
it runs, and when it ends, so a folder holding one is recognisably an output of `segment`, finished or
not. While a run goes on, a hidden `.space-reserve` file holds enough disk space to write the final
summary even when the disk fills up (it is deleted just before that write).
"""
from __future__ import annotations

import itertools
import json
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openvidseg.errors import DataError, InputError

GLOB_CHARS = "*?["
GENERIC_FOLDERS = ("origin", "frames", "images", "imgs", "jpegimages", "rgb")  # e.g. VSPW's <video>/origin/
UNSAFE_CHARS = set('/\\:*?"<>|')
MAX_NAME_LENGTH = 100
MASKS, OVERLAY, CLASSES, SUMMARY = "masks", "overlay.mp4", "classes.json", "summary.json"
SCORES, TIMELINE = "scores", "timeline.csv"
# masks and scores are written under this suffix and renamed, so such a file is always whole; the name does not
# end in the format's suffix, so one left by a killed process is never taken for a mask (resuming removes it)
PARTIAL = ".partial"
RESERVE = ".space-reserve"


def input_name(source: str | Path) -> str:
    """A readable name for an input: a video's file name without suffix, a folder's name, or for a glob
    the last folder before the pattern ('clips/a/*.png' -> 'a'; 'frame_*.png' -> 'frames'). A frame
    folder with a generic name takes its parent's: VSPW's 'dog/origin' -> 'dog'; '-' is 'stdin', a URL its
    file name or host."""
    from openvidseg.data.video import STDIN, is_url, stream_name

    if str(source) == STDIN or is_url(str(source)):
        return stream_name(str(source))
    path = Path(source).expanduser()
    if path.is_dir():
        return _named_folder(path.resolve().parts) or "frames"
    if path.is_file():
        return path.stem or path.name
    fixed = list(itertools.takewhile(lambda part: not any(c in part for c in GLOB_CHARS), path.parts))
    return _named_folder(fixed) or "frames"


def _named_folder(parts: Sequence[str]) -> str | None:
    """The last folder name of `parts` that is not a generic frame-folder name."""
    named = [p for p in parts if p not in ("/", ".", "..")]
    while len(named) > 1 and named[-1].casefold() in GENERIC_FOLDERS:
        named.pop()
    return named[-1] if named else None


def safe_folder_name(name: str) -> str:
    """`name` usable as one folder name anywhere: path separators, control characters and characters
    Windows forbids become '_', leading dots (hidden folders, '..') and trailing dots/spaces are
    dropped, long names are cut; an empty result becomes 'input'."""
    name = unicodedata.normalize("NFC", name)
    name = "".join("_" if ord(c) < 32 or ord(c) == 127 or c in UNSAFE_CHARS else c for c in name)
    name = name.strip().lstrip(".").rstrip(". ")[:MAX_NAME_LENGTH].rstrip(". ")
    return name or "input"


def unique_folder_names(names: Sequence[str]) -> list[str]:
    """Safe names made unique in input order (ignoring case): the second 'clip' becomes 'clip-2', and so on."""
    used: set[str] = set()
    unique = []
    for name in map(safe_folder_name, names):
        candidate = name
        for number in itertools.count(2):
            if candidate.casefold() not in used:
                break
            candidate = f"{name}-{number}"
        used.add(candidate.casefold())
        unique.append(candidate)
    return unique


def mask_name(index: int, suffix: str = ".png") -> str:
    return f"{index:05d}{suffix}"


class OutputFolder:
    """Paths and state of one video's output folder."""

    def __init__(self, path: str | Path, mask_format: str = "png", num_classes: int = 255):
        from openvidseg.inference.mask_formats import mask_format as format_of

        self.path = Path(path).expanduser()
        self.format = format_of(mask_format, num_classes)
        self.masks = self.path / MASKS
        self.scores = self.path / SCORES
        self.overlay = self.path / OVERLAY
        self.classes = self.path / CLASSES
        self.summary = self.path / SUMMARY
        self.reserve = self.path / RESERVE
        self.timeline = self.path / TIMELINE

    def mask_path(self, index: int) -> Path:
        return self.masks / mask_name(index, self.format.suffix)

    def scores_path(self, index: int) -> Path:
        return self.scores / mask_name(index, ".npz")

    def exists(self) -> bool:
        """True when the folder exists and is not empty."""
        return self.path.is_dir() and any(self.path.iterdir())

    def read_summary(self) -> dict[str, Any] | None:
        """The saved summary, or None when the folder holds none (or an unreadable one)."""
        try:
            return json.loads(self.summary.read_text())
        except (OSError, ValueError):
            return None

    def check_can_write(self, overwrite: bool, resume: bool) -> None:
        """Refuse an existing output unless --overwrite or --resume says what to do with it; check that the
        folder can be created and written."""
        if overwrite and resume:
            raise InputError("--overwrite and --resume contradict each other: pass one of them")
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"output path {self.path} exists and is not a folder: choose another --out")
        if self.exists():
            if not (overwrite or resume):
                summary = self.read_summary()
                state = "" if summary is None else " (complete)" if summary.get("complete") else " (incomplete)"
                raise InputError(f"output folder {self.path} already exists{state}: pass --resume to continue "
                                 "or skip it, --overwrite to replace it, or choose another --out")
            if resume and self.read_summary() is None:
                raise InputError(f"cannot resume into {self.path}: it holds no {SUMMARY} from `openvidseg segment`; "
                                 "pass --overwrite to replace its outputs, or choose another --out")
        self._check_writable()

    def _check_writable(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as err:
            raise InputError(f"cannot write to output folder {self.path}: {err.strerror or err}; "
                             "choose a writable --out") from None

    def clear(self) -> None:
        """Delete the files `segment` writes (and nothing else): masks and scores of any format, overlay,
        timeline, COCO annotations, classes.json, summary.json, the space reserve."""
        from openvidseg.inference.mask_formats import COCO_NAME

        for folder in (self.masks, self.scores):
            if folder.is_dir():
                for file in folder.iterdir():
                    if file.is_file() and file.suffix in (".png", ".npz", ".json") and file.name[:1].isdigit():
                        file.unlink()
                if not any(folder.iterdir()):
                    folder.rmdir()
        for file in (self.overlay, self.classes, self.summary, self.timeline, self.path / COCO_NAME, self.reserve):
            file.unlink(missing_ok=True)

    def saved_frames(self, scores: bool = False) -> int:
        """How many masks (and, with `scores`, score files) exist without a gap from frame 0 (where an
        interrupted run continues). The last ones are read: a file left unreadable by a power loss is
        deleted and made again."""
        import numpy as np

        saved = _readable_run(self.masks, self.format.suffix, self.format.read)
        if scores:
            saved = min(saved, _readable_run(self.scores, ".npz", lambda path: np.load(path)["probabilities"]))
        return saved

    def reserve_space(self, nbytes: int) -> None:
        """Hold `nbytes` of disk space in a hidden file (written out, not sparse), to be released by
        `release_space` right before the final summary is written, so that it fits on a full disk."""
        try:
            with open(self.reserve, "wb") as file:
                file.write(b"\0" * nbytes)
        except BaseException:
            self.release_space()
            raise

    def release_space(self) -> None:
        self.reserve.unlink(missing_ok=True)

    def write_mask(self, index: int, labels, colors) -> None:
        """Save an (H, W) uint8 class map as masks/<index><suffix> in the folder's format, atomically (a mask
        file is never half-written)."""
        final = self.mask_path(index)
        _write_atomically(final.with_name(final.name + PARTIAL), final,
                          lambda path: self.format.write(path, labels, colors))

    def write_scores(self, index: int, probabilities) -> None:
        """Save a (K, H, W) float16 array of class probabilities as scores/<index>.npz (key `probabilities`),
        atomically."""
        import numpy as np

        def write(path: Path) -> None:
            with open(path, "wb") as file:
                np.savez_compressed(file, probabilities=probabilities)

        final = self.scores_path(index)
        _write_atomically(final.with_name(final.name + PARTIAL), final, write)

    def read_mask(self, index: int, shape: tuple[int, int]):
        """A saved mask as an (H, W) uint8 array, checked against the frame size."""
        mask = self.format.read(self.mask_path(index))
        if mask.shape != tuple(shape):
            raise DataError(f"saved mask {self.mask_path(index)} is {mask.shape[1]}x{mask.shape[0]} but the video is "
                            f"{shape[1]}x{shape[0]}: the input changed since; pass --overwrite to redo it")
        return mask

    def write_json(self, path: Path, data: dict[str, Any]) -> None:
        """Write JSON atomically (a reader never sees half a file)."""
        text = json.dumps(data, indent=2) + "\n"
        _write_atomically(path.with_name(path.name + ".partial"), path, lambda partial: partial.write_text(text))


def _readable_run(folder: Path, suffix: str, read) -> int:
    """How many files <index, 5 digits><suffix> exist in `folder` without a gap from 0, after deleting the last
    ones (up to two) that `read` cannot read (truncated, empty or garbled by a power loss)."""
    if not folder.is_dir():
        return 0
    for leftover in folder.glob(f"*{PARTIAL}"):  # a write cut short by a killed process
        leftover.unlink()
    names = {p.name for p in folder.iterdir()}
    count = next(i for i in itertools.count() if mask_name(i, suffix) not in names)
    for index in range(count - 1, max(-1, count - 3), -1):
        path = folder / mask_name(index, suffix)
        try:
            read(path)
            break
        except (OSError, SyntaxError, ValueError, KeyError, DataError):
            path.unlink()
            count = index
    return count


def _write_atomically(partial: Path, final: Path, write) -> None:
    """`write(partial)`, then rename it to `final`; a failed write (e.g. a full disk) leaves no partial file."""
    try:
        write(partial)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
