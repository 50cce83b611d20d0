"""Reading a video from a pipe (standard input), where nothing can be sought back to.

Most containers stream (MKV, WebM, MPEG-TS, an MP4 whose index comes first): they are decoded as the bytes
arrive. An MP4 or MOV whose index (the `moov` box) comes after its media data (`mdat`), as phones and most
encoders write them, cannot be decoded without seeking: its bytes are first copied into a temporary file
(deleted when closed) and read from there.
"""
from __future__ import annotations

import io
import struct
import tempfile
from typing import BinaryIO

MP4_BOX_TYPES = {b"ftyp", b"free", b"skip", b"wide", b"uuid", b"pdin", b"styp", b"moov", b"mdat"}
MAX_HEADER_BYTES = 1 << 20  # boxes before moov/mdat larger than this: copy to a file rather than hold them
CHUNK = 1 << 20


class PrefixedReader(io.RawIOBase):
    """A non-seekable reader that yields `prefix` first, then the rest of `stream`."""

    def __init__(self, prefix: bytes, stream: BinaryIO):
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if len(self._prefix):
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        data = stream.read(left)
        if not data:
            break
        chunks.append(data)
        left -= len(data)
    return b"".join(chunks)


def index_comes_last(stream: BinaryIO) -> tuple[bool, bytes]:
    """Read an MP4's top-level boxes up to its first `moov` or `mdat`: (True when `mdat` comes first, so the
    stream needs seeking; the bytes read). Anything that is not an MP4 box sequence gives False."""
    head = b""
    while len(head) <= MAX_HEADER_BYTES:
        header = _read_exactly(stream, 8)
        head += header
        if len(header) < 8:
            return False, head
        size, kind = struct.unpack(">I4s", header)
        if kind not in MP4_BOX_TYPES:
            return False, head
        if kind in (b"moov", b"mdat"):
            return kind == b"mdat", head
        if size == 1:  # a 64-bit size follows
            extended = _read_exactly(stream, 8)
            head += extended
            size = struct.unpack(">Q", extended)[0] - 8 if len(extended) == 8 else 0
        if size < 8 or size > MAX_HEADER_BYTES:
            return size > MAX_HEADER_BYTES, head
        head += _read_exactly(stream, size - 8)
    return True, head


def readable_pipe(stream: BinaryIO) -> BinaryIO:
    """A file object PyAV can decode from: the pipe itself (with what was read to look at it put back), or,
    for an MP4 whose index comes last, a temporary file holding all of it."""
    needs_seeking, head = index_comes_last(stream)
    if not head:
        from openvidseg.errors import DataError

        raise DataError("nothing was piped into standard input ('-'): e.g. `cat clip.mp4 | openvidseg segment - ...`")
    if not needs_seeking:
        return io.BufferedReader(PrefixedReader(head, stream), buffer_size=CHUNK)
    spool = tempfile.TemporaryFile(prefix="openvidseg-stdin-")
    spool.write(head)
    while data := stream.read(CHUNK):
        spool.write(data)
    spool.seek(0)
    return spool
