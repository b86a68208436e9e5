"""An executed report notebook as one static HTML page: its prose and outputs, no code.

Written here rather than by nbconvert's lab template: that page carried 280 KB of
JupyterLab's CSS and was parsed again with BeautifulSoup, a third of a small report's
time, for a page that needs a heading font and table rules. The outputs are the HTML the
report code made (every text from a workbook, an export or a batch folder is escaped
there); any other output is shown as escaped text. No script: the page fetches nothing.
"""

from __future__ import annotations

import re
from functools import cache
from html import escape

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 font-size:14px;color:#1f2328;max-width:1100px;margin:24px auto;padding:0 16px}
h1{font-size:24px;margin:0 0 12px}h2{font-size:18px;margin:28px 0 8px;
 border-bottom:1px solid #d0d7de;padding-bottom:4px}
table.report{border-collapse:collapse;margin:8px 0}
table.report th{border-bottom:2px solid #57606a;background:#f6f8fa}
table.report td{border-bottom:1px solid #d8dee4}
table.report tr:last-child td{border-bottom:0}
code{background:#f6f8fa;padding:1px 4px;border-radius:3px}
pre{background:#f6f8fa;padding:8px;overflow-x:auto}
pre.error{background:#ffebe9;color:#82071e}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{break-inside:auto}}
"""
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.I | re.S)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@cache
def _markdown():
    import mistune

    # our own prose (headings, `code`, emphasis); any HTML in it is shown as text
    return mistune.create_markdown(escape=True)


def _output(out) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        return f"<pre>{escape(out.get('text', ''))}</pre>"
    if kind == "error":
        lines = _ANSI.sub("", "\n".join(out.get("traceback", [])))
        return f"<pre class='error'>{escape(lines)}</pre>"
    data = out.get("data", {})
    if "text/html" in data:
        return _text(data["text/html"])
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    if "image/png" in data:
        return f"<img alt='chart' src='data:image/png;base64,{_text(data['image/png'])}'>"
    if "text/markdown" in data:
        return _markdown()(_text(data["text/markdown"]))
    return f"<pre>{escape(_text(data.get('text/plain', '')))}</pre>"


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


_HEADING = re.compile(r"<h1>(.*?)</h1>", re.S)


def page_html(nb, default_title: str) -> str:
    """The page of an executed notebook (an nbformat node): markdown cells and outputs,
    titled as its first heading."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            parts.append(_markdown()(_text(cell.source)))
        elif cell.cell_type == "code":
            parts += [_output(o) for o in cell.get("outputs", [])]
    body = _SCRIPT.sub("", "\n".join(parts))
    heading = _HEADING.search(body)  # already escaped text: the report's own heading
    title = re.sub(r"<[^>]*>", "", heading.group(1)) if heading else escape(default_title)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><style>{STYLE}</style></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )
