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
    """Consecutive lines of a file: the first one's number, their text, their notes, and
    the error of a line that could not be read at all (one past LINE_LIMIT)."""

    first: int
    texts: pa.StringArray
    notes: list[str] | None  # None: no line has a note
    errors: list[str | None] | None = None  # None: every line was read

    def __len__(self) -> int:
        return len(self.texts)

    def slice(self, start: int, stop: int | None = None) -> Block:
        stop = len(self) if stop is None else stop
        notes = None if self.notes is None else self.notes[start:stop]
        errors = None if self.errors is None else self.errors[start:stop]
        return Block(self.first + start, self.texts.slice(start, stop - start), notes, errors)


def joined(blocks: list[Block]) -> Block:
    """Consecutive blocks as one (their lines copied once)."""
    blocks = [b for b in blocks if len(b)] or blocks[:1]
    if len(blocks) == 1:
        return blocks[0]
    notes = errors = None
    if any(b.notes is not None for b in blocks):
        notes = [n for b in blocks for n in (b.notes or [""] * len(b))]
    if any(b.errors is not None for b in blocks):
        errors = [e for b in blocks for e in (b.errors or [None] * len(b))]
    texts = pa.concat_arrays([b.texts for b in blocks])
    return Block(blocks[0].first, texts, notes, errors)


# The longest line read: a line past it (a log padded with gigabytes of NUL, a file that
# is one endless line) is passed over without being held, so memory stays flat and time
# grows with its length only. NUL bytes alone make a blank line; anything else, an
# unparseable row.
LINE_LIMIT = 64 << 20


def _passed_over(number: int, size: int, only_nul: bool) -> Block:
    if only_nul:
        return Block(number, pa.array([""], pa.string()), None)
    error = (
        f"the line is {size:,} bytes long, more than the {LINE_LIMIT >> 20} MiB a line may "
        "hold, so it was not read"
    )
    return Block(number, pa.array(["[a line too long to read]"], pa.string()), None, [error])


def _line_break(data: bytes) -> int:
    """Where the first line break in ``data`` ends (-1: none)."""
    at = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    if not at:
        return -1
    i = min(at)
    return i + 2 if data[i : i + 2] == b"\r\n" else i + 1


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
    over: list | None = None  # [bytes, only NUL so far] of a line past LINE_LIMIT
    for data in blocks:
        if first and data.startswith(BOM):
            data = data[len(BOM) :]
        first = False
        if over is not None:  # passing over a line too long to read, to its end
            end = _line_break(data)
            body = data if end < 0 else data[:end].rstrip(b"\r\n")
            over[0] += len(body)
            over[1] = over[1] and not body.strip(b"\x00")
            if end < 0:
                continue
            number += 1
            yield _passed_over(number, over[0], over[1])
            over, data = None, data[end:]
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
            if size > LINE_LIMIT:  # held no longer: passed over to its end
                over, parts, size = [size, not buf.strip(b"\x00")], [], 0
            continue  # one line longer than a piece: read on
        out = _lines(number + 1, head, encoding)
        number += len(out)
        yield out
    if over is not None:
        yield _passed_over(number + 1, over[0], over[1])
        return
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
