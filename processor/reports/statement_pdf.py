"""A client's statement as a PDF (fpdf2): the operator's name and address, the client and
the period at the top; the statement's table, its header row on every page; the totals;
the account, period and page x of y at each page's foot. A statement whose text is all
Latin-1 is set in the PDF's own Helvetica (nothing to embed: fast); any other is set in
DejaVu Sans (which matplotlib installs), so every client's name prints as written."""

from __future__ import annotations

from pathlib import Path

from processor.reports.batch import Batch
from processor.reports.statement_files import COLUMNS, Statement, headers, title_lines

_PAD = 2.5  # mm beside a cell's text
_ROW = 4.6  # mm a row takes
_SIZE = 7.5  # points


def _font_files() -> tuple[Path, Path] | None:
    """DejaVu Sans and its bold, from matplotlib's data (a dependency), or the system's."""
    try:
        import matplotlib

        base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        base = Path("/usr/share/fonts/truetype/dejavu")
    regular, bold = base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"
    return (regular, bold) if regular.is_file() and bold.is_file() else None


def _latin1(texts) -> bool:
    try:
        for t in texts:
            t.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _document(footer: str, embed: bool):
    from fpdf import FPDF

    class StatementPDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(self.face, "", 7)
            self.set_text_color(90)
            self.cell(0, 5, footer, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(0)

    pdf = StatementPDF(orientation="portrait", unit="mm", format="A4")
    fonts = _font_files() if embed else None
    if fonts:
        pdf.add_font("DejaVu", "", str(fonts[0]))
        pdf.add_font("DejaVu", "B", str(fonts[1]))
        pdf.face = "DejaVu"
    else:  # the PDF's own font: Latin-1 text only
        pdf.face = "Helvetica"
    pdf.cut = "…" if fonts else "..."
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(12, 12, 12)
    pdf.alias_nb_pages()
    return pdf


def _fit(pdf, text: str, width: float) -> str:
    """Text cut to fit a cell, with … where it was cut."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + pdf.cut) > width:
        text = text[:-1]
    return text + pdf.cut


def _widths(pdf, heads: list[str], rows: list[list[str]]) -> tuple[list[float], list[float]]:
    """Each column's natural width (its header or its widest text, whichever is wider) and
    its least (its header): measured on the longest texts by characters."""
    pdf.set_font(pdf.face, "B", _SIZE)
    least = [pdf.get_string_width(h) + _PAD for h in heads]
    natural = list(least)
    for j in range(len(heads)):
        longest = sorted({r[j] or "" for r in rows}, key=len)[-8:]
        for t in longest:
            natural[j] = max(natural[j], pdf.get_string_width(t) + _PAD)
    return natural, least


def _fitted(sizes: tuple[list[float], list[float]], width: float) -> list[float]:
    """Widths that fill the page: spare room shared out, or the widest columns cut down
    to fit (never below their header)."""
    natural, least = sizes
    total = sum(natural)
    if total <= width:
        return [w * width / total for w in natural]
    widths = list(natural)
    while sum(widths) > width + 0.01:
        over = sum(widths) - width
        room = [w - m for w, m in zip(widths, least, strict=True)]
        j = max(range(len(widths)), key=lambda k: room[k])
        if room[j] <= 0:
            break
        widths[j] -= min(room[j], over)
    return widths


def _texts(pdf, y: float, placed: list[tuple[float, str]]) -> None:
    """Black texts on one baseline, as ``FPDF.text`` writes each, in one content-stream
    line: a statement of thousands of charges writes in a fraction of the time. Falls
    back to ``FPDF.text`` where this fpdf2 lacks what it uses."""
    font = getattr(pdf, "current_font", None)
    if font is None or not hasattr(font, "encode_text") or not hasattr(pdf, "_out"):
        for x, text in placed:
            pdf.text(x, y, text)
        return
    if not pdf.current_font_is_set_on_page:
        pdf._out(pdf._set_font_for_page(font, pdf.font_size_pt))
    k, top = pdf.k, pdf.h - y
    # encode_text gives the string and its show operator, as FPDF.text writes them
    ops = " ".join(
        f"BT {x * k:.2f} {top * k:.2f} Td {font.encode_text(pdf.normalize_text(t))} ET"
        for x, t in placed
    )
    pdf._out(f"q 0 g {ops} Q")


def write_pdf(batch: Batch, account: str, name: str, st: Statement, path: Path) -> Path:
    """The statement of one account as ``path`` (a PDF)."""
    m = batch.manifest
    operator = m.get("operator") or {"name": m["location"], "address": ""}
    title = title_lines(batch, account, name)
    footer = f"{name} ({account}) · {title[-1]}"
    texts = [footer, *title, operator["name"], operator.get("address", "")]
    texts += [t for r in [*st.rows, *st.totals, st.grand] for t in r]
    pdf = _document(footer, embed=not _latin1(texts))
    if pdf.face == "Helvetica":  # Latin-1 only: anything else printed as ?

        def clean(t: str) -> str:
            return t.encode("latin-1", "replace").decode("latin-1")
    else:

        def clean(t: str) -> str:
            return t

    kept = st.kept
    heads = headers(kept, batch.currency)
    right = [COLUMNS[i].kind != "text" or COLUMNS[i].header == "Duration" for i in kept]
    table = [*st.rows, *(t for t in st.totals if t[2] == "Total"), st.grand]  # not plan lines
    natural = _widths(pdf, heads, [st.shown(r) for r in table])
    portrait = pdf.w - pdf.l_margin - pdf.r_margin
    # a table wider than a portrait page is printed landscape; headers are never cut
    pdf.add_page(orientation="portrait" if sum(natural[0]) <= portrait else "landscape")
    width = pdf.w - pdf.l_margin - pdf.r_margin
    widths = _fitted(natural, width)
    # the header block: who bills, then who is billed and for what
    pdf.set_font(pdf.face, "B", 13)
    pdf.cell(width, 7, clean(operator["name"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.face, "", 8.5)
    for line in [p.strip() for p in operator.get("address", "").replace("\n", ",").split(",")]:
        if line:
            pdf.cell(width, 4.2, clean(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if batch.void:
        pdf.set_text_color(180, 0, 0)
        pdf.set_font(pdf.face, "B", 10)
        pdf.multi_cell(width, 5, clean(title[0]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.set_font(pdf.face, "B", 11)
    pdf.cell(width, 6, clean(title[-2]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.face, "", 8.5)
    pdf.cell(width, 5, clean(title[-1]), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)

    bottom = pdf.h - 16

    def header_row() -> None:
        pdf.set_font(pdf.face, "B", _SIZE)
        pdf.set_fill_color(48, 84, 150)
        pdf.set_text_color(255)
        for h, w, r in zip(heads, widths, right, strict=True):
            pdf.cell(w, _ROW + 1, _fit(pdf, clean(h), w - 1), border=0, fill=True,
                     align="R" if r else "L")  # fmt: skip
        pdf.ln(_ROW + 1)
        pdf.set_text_color(0)

    lefts = [pdf.l_margin + sum(widths[:j]) for j in range(len(widths))]
    chars: dict[tuple[str, bool], float] = {}  # each character's width, measured once

    def measure(text: str, bold: bool) -> float:
        """A text's width: the sum of its characters' (fpdf2 sets these fonts unkerned)."""
        total = 0.0
        for ch in text:
            w = chars.get((ch, bold))
            if w is None:
                w = chars[(ch, bold)] = pdf.get_string_width(ch)
            total += w
        return total

    def row(cells: list[str], bold: bool = False, shade: bool = False) -> None:
        """One row, each text placed at its column (cut to fit): ``text`` rather than
        ``cell`` keeps a statement of thousands of charges quick."""
        if pdf.get_y() + _ROW > bottom:
            pdf.add_page()
            header_row()
        if pdf.font_style != ("B" if bold else ""):
            pdf.set_font(pdf.face, "B" if bold else "", _SIZE)
        y = pdf.get_y()
        if shade:
            pdf.set_fill_color(235, 239, 247)
            pdf.rect(pdf.l_margin, y, width, _ROW, style="F")
        base = y + _ROW * 0.72
        placed = []
        for text, x, w, r in zip(cells, lefts, widths, right, strict=True):
            if not text:
                continue
            text = clean(text)
            size = measure(text, bold)
            if size > w - 1:
                text = _fit(pdf, text, w - 1)
                size = measure(text, bold)
            placed.append((x + w - 0.5 - size if r else x + 0.5, text))
        _texts(pdf, base, placed)
        pdf.set_y(y + _ROW)

    header_row()
    for r in st.rows:
        row(st.shown(r))
    pdf.ln(1.5)
    for r in st.totals:
        plan = r[2] != "Total"
        if plan:  # a plan's line reads across the row
            if pdf.get_y() + _ROW > bottom:
                pdf.add_page()
                header_row()
            pdf.set_font(pdf.face, "", _SIZE)
            pdf.cell(width, _ROW, _fit(pdf, clean(f"{r[1]}: {r[2]}"), width), new_x="LMARGIN",
                     new_y="NEXT")  # fmt: skip
            continue
        row(st.shown(r), bold=True)
    row(st.shown(st.grand), bold=True, shade=True)
    pdf.output(str(path))
    return path
