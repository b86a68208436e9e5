"""Refusing what is not a text export: a workbook, an archive, a PDF or binary, each
named with what to do."""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and .xlsx with a password


GZIP_MAGIC = b"\x1f\x8b"


UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


SAVE_AS_CSV = "open it in the program that made it and save it as CSV UTF-8, then import that"


def refusal(head: bytes, path: Path, opened) -> str | None:
    """Why a file that starts with ``head`` is not a text export (None when it is)."""
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(opened(path, "rb")) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError, EOFError):
            names = []
        if "xl/workbook.xml" in names:
            return (
                "is an Excel workbook (.xlsx), not a text export; open it in Excel, save it as "
                "CSV UTF-8 (File › Save As), and import the .csv; or describe its layout on "
                "the Formats sheet with File Type Excel"
            )
        return "is a zip archive; unzip it and import the export files inside"
    if head.startswith(OLE_MAGIC):
        return (
            f"is an old Excel (.xls) or other Office file, not a text export; {SAVE_AS_CSV}; "
            "or describe its layout on the Formats sheet with File Type Excel"
        )
    if head.startswith(b"%PDF"):
        return "is a PDF document, not a text export; export the data from the device as CSV"
    if head and not head.strip(b"\x00"):
        return (
            "starts with nothing but NUL bytes, where an export has text (a preallocated or "
            "damaged file, or a copy that failed); copy the export again from the device"
        )
    if b"\x00" in head.rstrip(b"\x00"):  # NUL padding at the end of a log is not binary
        evens, odds = head[0::2], head[1::2]
        if head and (odds.count(0) > len(odds) * 0.6 or evens.count(0) > len(evens) * 0.6):
            return (
                'looks like UTF-16 text without a byte-order mark (Excel\'s "Unicode Text" as '
                f"saved by another program); {SAVE_AS_CSV}"
            )
        return (
            "is a binary file, not a text export (it holds NUL bytes); check that you chose "
            "the export file itself"
        )
    return None
