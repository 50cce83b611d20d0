"""Folders built through a temporary sibling renamed into place."""
from __future__ import annotations

import pytest

from openvidseg.files import build_folder_atomically


def write_two_files(folder):
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")


def test_a_built_folder_appears_whole_and_replaces_an_empty_one(tmp_path):
    target = tmp_path / "cache" / "world"
    assert build_folder_atomically(target, write_two_files) == target
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "b.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    build_folder_atomically(empty, write_two_files)
    assert (empty / "b.txt").read_text() == "b"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_a_failed_build_leaves_nothing_behind(tmp_path):
    def fail(folder):
        folder.mkdir()
        (folder / "half.txt").write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        build_folder_atomically(tmp_path / "world", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_copy_finished_first_by_another_process_is_kept(tmp_path):
    target = tmp_path / "world"

    def finished_meanwhile(folder):
        write_two_files(folder)
        target.mkdir()
        (target / "theirs.txt").write_text("theirs")

    build_folder_atomically(target, finished_meanwhile)
    assert [p.name for p in target.iterdir()] == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["world"]
