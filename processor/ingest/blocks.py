"""A file read in blocks of lines: gzip unpacked, UTF-16 made UTF-8, a BOM dropped, lines
ending in LF, CRLF or CR alone; a line not valid in its encoding is decoded with
replacement (or as cp1252 when none is declared) and flagged in its note."""

from __future__ import annotations

import codecs
import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from processor import arrow
from processor.errors import ExportError
from processor.ingest.binary import GZIP_MAGIC, UTF16_BOMS, refusal

LINE_BREAK = re.compile(rb"\r\n|\r|\n")


BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    note: str


def open_blocks(
    path: Path, encoding: str | None, block: int = 1 << 20, done: list[int] | None = None
) -> tuple[Iterator[bytes], str | None]:
    """The file's bytes in blocks (gzip unpacked, UTF-16 turned into UTF-8), and the
    encoding to decode them with.

    Raises:
        ExportError: the file is a workbook, an archive, a PDF or binary.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    opened = open
    if head.startswith(GZIP_MAGIC):
        opened = gzip.open
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(4096)
        except (OSError, EOFError, zlib.error):
            raise ExportError(
                f"{path.name}: is a damaged gzip file; copy the export again from the device"
            ) from None
    utf16 = head.startswith(UTF16_BOMS) or (
        encoding is not None and codecs.lookup(encoding).name.startswith("utf-16")
    )
    if not utf16:
        problem = refusal(head, path, opened)
        if problem:
            raise ExportError(f"{path.name}: {problem}")

    def raw() -> Iterator[bytes]:
        with path.open("rb") as base:
            fh = gzip.GzipFile(fileobj=base) if opened is gzip.open else base
            try:
                while True:
                    data = fh.read(block)
                    if done is not None:
                        done[0] = base.tell()
                    if not data:
                        return
                    yield data
            except (OSError, EOFError, zlib.error):
                raise ExportError(
                    f"{path.name}: is a damaged gzip file (it ends early or is corrupt); copy "
                    "the export again from the device"
                ) from None

    if not utf16:
        return raw(), encoding

    def transcoded() -> Iterator[bytes]:
        # a byte-order mark says what the file is, whatever the Formats sheet declares
        name = "utf-16" if head.startswith(UTF16_BOMS) else encoding
        decoder = codecs.getincrementaldecoder(name)(errors="replace")
        for data in raw():
            yield decoder.decode(data).encode("utf-8")
        yield decoder.decode(b"", final=True).encode("utf-8")

    return transcoded(), "utf-8"


@dataclass(frozen=True)
class Block:
    """Consecutive lines of a file: the first one's number, their text, their notes."""

    first: int
    texts: pa.StringArray
    notes: list[str] | None  # None: no line has a note

    def __len__(self) -> int:
        return len(self.texts)

    def slice(self, start: int, stop: int | None = None) -> Block:
        stop = len(self) if stop is None else stop
        notes = None if self.notes is None else self.notes[start:stop]
        return Block(self.first + start, self.texts.slice(start, stop - start), notes)


def joined(blocks: list[Block]) -> Block:
    """Consecutive blocks as one (their lines copied once)."""
    blocks = [b for b in blocks if len(b)] or blocks[:1]
    if len(blocks) == 1:
        return blocks[0]
    notes = None
    if any(b.notes is not None for b in blocks):
        notes = [n for b in blocks for n in (b.notes or [""] * len(b))]
    return Block(blocks[0].first, pa.concat_arrays([b.texts for b in blocks]), notes)


def iter_blocks(
    path: Path,
    encoding: str | None,
    block: int = 1 << 20,
    done: list[int] | None = None,
    piece: int = 8 << 20,
) -> Iterator[Block]:
    """The decoded lines of a file in blocks of about ``piece`` bytes, numbered from 1,
    whatever the line endings.

    ``done[0]``, when given, follows the bytes read so far (for progress bars).

    Raises:
        ExportError: the file is not a text export (see ``open_blocks``).
    """
    blocks, encoding = open_blocks(path, encoding, block, done)
    number = 0
    first = True
    buf = b""
    parts: list[bytes] = []  # joined once a piece is full (+= would copy it each block)
    size = 0
    for data in blocks:
        if first and data.startswith(BOM):
            data = data[len(BOM) :]
        first = False
        parts.append(data)
        size += len(data)
        if size < piece:
            continue
        buf, parts, size = b"".join(parts), [], 0
        # cut after the last line break; a CR at the very end may be half a CRLF
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r", 0, len(buf) - 1))
        head, buf = buf[: cut + 1], buf[cut + 1 :]
        parts, size = [buf], len(buf)
        if cut < 0:
            continue  # one line longer than a piece: read on
        out = _lines(number + 1, head, encoding)
        number += len(out)
        yield out
    buf = b"".join(parts)
    if buf and not buf.endswith(b"\n"):
        buf += b"\n"  # the last line has no break (or ends in a CR alone)
    if buf:
        yield _lines(number + 1, buf, encoding)


def _lines(first: int, piece: bytes, encoding: str | None) -> Block:
    """A piece of a file ending in a line break, as a block of lines."""
    texts = arrow.lines_of(piece, encoding)
    if texts is not None:
        return Block(first, texts, None)
    # the per-line reader: CR-only breaks, bytes not in the encoding (flagged in the note)
    parts = LINE_BREAK.split(piece)
    parts.pop()  # after the final break
    lines = [decode_line(first + i, raw, encoding) for i, raw in enumerate(parts)]
    notes = [ln.note for ln in lines]
    return Block(
        first, pa.array([ln.text for ln in lines], pa.string()), notes if any(notes) else None
    )


def decode_line(number: int, raw: bytes, encoding: str | None) -> Line:
    """One line, one at a time (the reference the block decoder is tested against): in its
    encoding, else with replacement (or cp1252 when none is declared), noted."""
    try:
        return Line(number, raw.decode(encoding or "utf-8"), "")
    except UnicodeDecodeError:
        if encoding is None:
            return Line(
                number,
                raw.decode("cp1252", errors="replace"),
                "not valid UTF-8; read as Windows-1252",
            )
        return Line(
            number,
            raw.decode(encoding, errors="replace"),
            f"invalid {encoding} bytes replaced with �",
        )
