"""Charts drawn on the server as SVG: the page and the PDF embed the very same markup.

No script and nothing fetched: plain SVG elements with a text alternative
(`role="img"`, `<title>`, `<desc>`), sized by a viewBox so they scale to the
column they sit in. On the page the text takes the page's font; the PDF names
its embedded CJK font (`font_family`), since an SVG does not inherit the
document's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#d97706", "#0891b2")
GRID = "#e5e7eb"
AXIS = "#6b7280"
FONT = 11


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    kind: str = "bar"  # "bar" or "line"
    color: str | None = None


def _attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


def nice_ceiling(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt(value: float) -> str:
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1000:
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _frame(width: int, height: int, title: str, desc: str, body: list[str], font_family: str | None) -> Markup:
    family = f' font-family="{_attr(font_family)}"' if font_family else ""
    return Markup(
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{_attr(title)}" preserveAspectRatio="xMidYMid meet" '
        f'font-size="{FONT}"{family}><title>{escape(title)}</title><desc>{escape(desc)}</desc>'
        + "".join(body) + "</svg>"
    )


def trend_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 560,
                height: int = 240, font_family: str | None = None) -> Markup:
    """Bars for `bar` series and lines for `line` series over the same categories (months, weeks)."""
    left, right, top, bottom = 44, 12, 28, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    ceiling = nice_ceiling(max(values) if values else 0)
    n = max(len(labels), 1)
    slot = plot_w / n
    body: list[str] = []
    for i in range(5):  # horizontal grid and axis labels
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{AXIS}">'
                    f'{_fmt(ceiling * i / 4)}</text>')
    bars = [s for s in series if s.kind == "bar"]
    bar_w = slot * 0.7 / max(len(bars), 1)
    for b, s in enumerate(bars):
        color = s.color or PALETTE[b % len(PALETTE)]
        for i, v in enumerate(s.values):
            if not v:
                continue
            h = plot_h * v / ceiling
            x = left + i * slot + slot * 0.15 + b * bar_w
            body.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                        f'height="{h:.1f}" fill="{color}"><title>{escape(labels[i])}: {escape(_fmt(v))}'
                        f'</title></rect>')
    for j, s in enumerate(x for x in series if x.kind == "line"):
        color = s.color or PALETTE[(len(bars) + j) % len(PALETTE)]
        points = [(left + i * slot + slot / 2, top + plot_h - plot_h * v / ceiling)
                  for i, v in enumerate(s.values) if v is not None]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
            if len(points) <= 60:
                body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}"/>' for x, y in points]
    every = max(1, math.ceil(n / max(plot_w / 56, 1)))  # keep labels from overlapping
    for i, label in enumerate(labels):
        if i % every == 0:
            x = left + i * slot + slot / 2
            body.append(f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{AXIS}">'
                        f'{escape(label)}</text>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{AXIS}"/>')
    body += _legend(series, left, 14, bars)
    desc = "; ".join(f"{s.name}: " + ", ".join(f"{labels[i]} {_fmt(v)}" for i, v in enumerate(s.values)
                                               if v is not None) for s in series)
    return _frame(width, height, title, desc, body, font_family)


def _legend(series: Sequence[Series], x: float, y: float, bars: Sequence[Series]) -> list[str]:
    out = []
    for k, s in enumerate(series):
        index = bars.index(s) if s in bars else len(bars) + [t for t in series if t.kind == "line"].index(s)
        color = s.color or PALETTE[index % len(PALETTE)]
        mark = (f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{color}"/>' if s.kind == "bar" else
                f'<line x1="{x:.1f}" y1="{y - 4}" x2="{x + 12:.1f}" y2="{y - 4}" stroke="{color}" stroke-width="2"/>')
        out.append(mark + f'<text x="{x + 16:.1f}" y="{y}" fill="#111827">{escape(s.name)}</text>')
        x += 28 + 13 * len(s.name) * (1.6 if any(ord(c) > 0x2E80 for c in s.name) else 0.75)
    return out


def bar_list(items: Sequence[tuple[str, float | None, float | None]], *, title: str,
             value_format: Callable[[float], str] = _fmt, primary: str = "", secondary: str = "",
             width: int = 560, row_height: int = 24, font_family: str | None = None) -> Markup:
    """Horizontal bars, one row per item: (label, value, optional second value drawn lighter behind).

    Used for the top diagnoses (cases) and the times per tier (median, with the
    90th percentile behind it).
    """
    label_w, right = 150, 110
    top = 22 if (primary or secondary) else 6
    height = top + row_height * max(len(items), 1) + 6
    plot_w = width - label_w - right
    values = [v for _, a, b in items for v in (a, b) if v is not None]
    ceiling = max(values) if values else 1.0
    body: list[str] = []
    if primary or secondary:
        body.append(f'<rect x="{label_w}" y="4" width="10" height="10" fill="{PALETTE[0]}"/>'
                    f'<text x="{label_w + 14}" y="13">{escape(primary)}</text>')
        if secondary:
            body.append(f'<rect x="{label_w + 120}" y="4" width="10" height="10" fill="{PALETTE[0]}" '
                        f'fill-opacity="0.3"/><text x="{label_w + 134}" y="13">{escape(secondary)}</text>')
    for i, (label, value, behind) in enumerate(items):
        y = top + i * row_height
        short = label if len(label) <= 13 else label[:12] + "…"
        body.append(f'<text x="{label_w - 8}" y="{y + row_height * 0.65:.1f}" text-anchor="end" fill="#111827">'
                    f'<title>{escape(label)}</title>{escape(short)}</text>')
        if behind is not None and ceiling:
            body.append(f'<rect x="{label_w}" y="{y + 4}" width="{plot_w * behind / ceiling:.1f}" '
                        f'height="{row_height - 8}" fill="{PALETTE[0]}" fill-opacity="0.3"/>')
        if value is not None and ceiling:
            w = plot_w * value / ceiling
            body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_height - 8}" '
                        f'fill="{PALETTE[0]}"/>')
            text = value_format(value) + (f" / {value_format(behind)}" if behind is not None else "")
            body.append(f'<text x="{label_w + plot_w * max(value, behind or 0) / ceiling + 6:.1f}" '
                        f'y="{y + row_height * 0.65:.1f}" fill="#111827">{escape(text)}</text>')
    desc = "; ".join(f"{label}: {'' if v is None else value_format(v)}" for label, v, _ in items)
    return _frame(width, height, title, desc, body, font_family)
