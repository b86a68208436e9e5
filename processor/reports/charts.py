"""Bar charts as inline SVG, for the report notebooks.

Drawn here rather than with matplotlib: a report needs three plain bar charts, and
matplotlib's import and drawing were a third of a report's time. Every label is
escaped (it may be an account's name), the amounts shown are the exact figures as
text, and only the bars' lengths are scaled.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

BLUE = "#305496"
RED = "#cf222e"
GREY = "#8c959f"
FONT = "font-family:sans-serif;font-size:11px"
LABEL_CHARS = 32


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _span(values: Sequence[Decimal]) -> tuple[Decimal, Decimal]:
    """The axis from the lowest value (or 0) to the highest (or 0), never empty."""
    low, high = min([Decimal(0), *values]), max([Decimal(0), *values])
    return low, (high if high != low else low + 1)


def horizontal_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[Decimal | int],
    shown: Sequence[str],
    colours: Sequence[str] | None = None,
    width: int = 520,
) -> str:
    """One bar per label, top to bottom, each with its figure (``shown``) at its end."""
    values = [Decimal(v) for v in values]
    colours = list(colours or [BLUE] * len(values))
    label_w, value_w, row, top = 210, 80, 20, 28
    plot_w = width - label_w - value_w
    low, high = _span(values)
    scale = Decimal(plot_w) / (high - low)
    zero = label_w + float((0 - low) * scale)
    height = top + row * len(values) + 8
    parts = [f'<text x="0" y="16" style="{FONT};font-weight:bold">{escape(title)}</text>']
    for i, (label, value, text, colour) in enumerate(
        zip(labels, values, shown, colours, strict=True)
    ):
        y = top + i * row
        start = label_w + float((min(value, 0) - low) * scale)
        length = float(abs(value) * scale)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" style="{FONT}">'
            f"<title>{escape(label)}</title>{escape(_cut(label))}</text>"
            f'<rect x="{start:.1f}" y="{y + 3}" width="{max(length, 1):.1f}" height="{row - 6}" '
            f'fill="{colour}"/>'
            f'<text x="{start + length + 4:.1f}" y="{y + 13}" style="{FONT}">{escape(text)}</text>'
        )
    parts.append(
        f'<line x1="{zero:.1f}" y1="{top}" x2="{zero:.1f}" y2="{height - 8}" stroke="#57606a"/>'
    )
    return _svg(width, height, title, parts)


def vertical_bars(
    title: str,
    labels: Sequence[str],
    values: Sequence[Decimal | int],
    high_label: str,
    width: int = 520,
    height: int = 250,
) -> str:
    """One bar per label, left to right (days), with the axis's top figure marked."""
    values = [Decimal(v) for v in values]
    left, top, bottom, right = 60, 28, 66, 40  # room for the slanted dates
    plot_h = height - top - bottom
    low, high = _span(values)
    scale = Decimal(plot_h) / (high - low)
    zero = top + float((high - 0) * scale)
    step = (width - left - right) / max(len(values), 1)
    every = max(1, round(len(values) / 16))  # at most ~16 labels under the bars
    parts = [
        f'<text x="0" y="16" style="{FONT};font-weight:bold">{escape(title)}</text>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" style="{FONT}">'
        f"{escape(high_label)}</text>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#57606a"/>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + i * step
        y = top + float((high - max(value, 0)) * scale)
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{max(float(abs(value) * scale), 1):.1f}" fill="{BLUE}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        if i % every == 0:
            lx, ly = x + step / 2, top + plot_h + 8
            parts.append(
                f'<text x="{lx:.1f}" y="{ly}" transform="rotate(60 {lx:.1f} {ly})" '
                f'style="{FONT}">{escape(label)}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{zero:.1f}" x2="{width - right}" y2="{zero:.1f}" stroke="#57606a"/>'
    )
    return _svg(width, height, title, parts)


def _svg(width: int, height: int, title: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        + "".join(parts)
        + "</svg>"
    )


def side_by_side(*charts: str) -> str:
    """Charts in a row that wraps on a narrow page."""
    return "<div style='display:flex;flex-wrap:wrap;gap:24px'>" + "".join(charts) + "</div>"
