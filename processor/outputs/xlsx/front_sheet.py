"""A sheet put in front of a finished workbook, without reading its other sheets: the
package's parts are copied as they are, and only the workbook's list of sheets, its
relationships, content types and styles are edited. A void batch's batch.xlsx gets its
VOID sheet this way, in the same time however many rows its other sheets hold."""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from processor.outputs.xlsx.sheet_xml import LEVEL, _control, _info

_NAME = "sheetFront.xml"
_REL = "rIdFront"
_WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _text(value: str) -> str:
    return _control(escape(value))


def _sheet_xml(lines: list[str], first_style: int, rest_style: int) -> str:
    rows = []
    for i, line in enumerate(lines, start=1):
        style = first_style if i == 1 else rest_style
        # an inline string: text, never a formula, whatever it starts with
        rows.append(
            f'<row r="{i}"><c r="A{i}" s="{style}" t="inlineStr"><is><t xml:space="preserve">'
            f"{_text(line)}</t></is></c></row>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}">'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
        '<cols><col min="1" max="1" width="120" customWidth="1"/></cols>'
        f"<sheetData>{''.join(rows)}</sheetData>"
        '<pageSetup orientation="landscape"/></worksheet>'
    )


def _styles(xml: str) -> tuple[str, int, int]:
    """The styles part with two cell formats added (a large bold red line, and plain
    wrapped text); returns it and their indexes."""
    fonts = re.search(r'<fonts count="(\d+)"[^>]*>', xml)
    n_fonts = int(fonts[1])
    red = '<font><b/><sz val="20"/><color rgb="FFB00020"/><name val="Calibri"/></font>'
    xml = xml.replace("</fonts>", red + "</fonts>", 1)
    xml = (
        xml[: fonts.start()]
        + fonts[0].replace(f'"{n_fonts}"', f'"{n_fonts + 1}"', 1)
        + xml[fonts.end() :]
    )
    xfs = re.search(r'<cellXfs count="(\d+)"[^>]*>', xml)
    n_xfs = int(xfs[1])
    added = (
        f'<xf numFmtId="0" fontId="{n_fonts}" fillId="0" borderId="0" xfId="0" '
        'applyFont="1"/>'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
        '<alignment wrapText="1" vertical="top"/></xf>'
    )
    at = xml.index("</cellXfs>")
    xml = xml[:at] + added + xml[at:]
    xml = xml[: xfs.start()] + xfs[0].replace(f'"{n_xfs}"', f'"{n_xfs + 2}"', 1) + xml[xfs.end() :]
    return xml, n_xfs, n_xfs + 1


def _workbook(xml: str, name: str) -> str:
    ids = [int(m) for m in re.findall(r'<sheet [^>]*sheetId="(\d+)"', xml)]
    sheet = f'<sheet name={quoteattr(name)} sheetId="{max(ids, default=0) + 1}" r:id="{_REL}"/>'
    xml = xml.replace("<sheets>", "<sheets>" + sheet, 1)
    # names local to a sheet count sheets from 0: each moves one along
    xml = re.sub(r'localSheetId="(\d+)"', lambda m: f'localSheetId="{int(m[1]) + 1}"', xml)
    xml = re.sub(r'\s(activeTab|firstSheet)="\d+"', "", xml)  # the new sheet is shown first
    return xml


def add_front_sheet(path: Path, name: str, lines: list[str], target: Path | None = None) -> None:
    """Put a sheet called ``name`` holding ``lines`` (the first large and red) in front
    of the workbook at ``path``, written to ``target`` (default: ``path``, replaced whole).
    The sheet is the one shown when the workbook opens."""
    path = Path(path)
    target = Path(target or path)
    tmp = target.with_name(f".{target.name}.front")
    with (
        zipfile.ZipFile(path) as src,
        zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as dst,
    ):
        styles, first, rest = _styles(src.read("xl/styles.xml").decode("utf-8"))
        for info in src.infolist():
            name_in = info.filename
            if name_in == "xl/styles.xml":
                dst.writestr(_info(info), styles)
            elif name_in == "xl/workbook.xml":
                dst.writestr(_info(info), _workbook(src.read(info).decode("utf-8"), name))
            elif name_in == "xl/_rels/workbook.xml.rels":
                rels = src.read(info).decode("utf-8")
                rel = f'<Relationship Id="{_REL}" Type="{_WORKSHEET}" Target="worksheets/{_NAME}"/>'
                dst.writestr(
                    _info(info), rels.replace("</Relationships>", rel + "</Relationships>")
                )
            elif name_in == "[Content_Types].xml":
                types = src.read(info).decode("utf-8")
                part = f'<Override PartName="/xl/worksheets/{_NAME}" ContentType="{_TYPE}"/>'
                dst.writestr(_info(info), types.replace("</Types>", part + "</Types>"))
            elif re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name_in):
                # only the front sheet is selected (two selected tabs would be grouped):
                # the mark is in a sheet's first bytes, and the rest is copied as it is
                with src.open(info) as r, dst.open(_info(info), "w", force_zip64=True) as w:
                    w.write(r.read(1 << 16).replace(b' tabSelected="1"', b"", 1))
                    shutil.copyfileobj(r, w)
            else:
                with src.open(info) as r, dst.open(_info(info), "w", force_zip64=True) as w:
                    shutil.copyfileobj(r, w)
        dst.writestr(
            _info(zipfile.ZipInfo(f"xl/worksheets/{_NAME}")), _sheet_xml(lines, first, rest)
        )
    os.replace(tmp, target)
