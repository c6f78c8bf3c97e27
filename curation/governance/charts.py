"""Tiny dependency-free SVG charts for the HTML report: bars (grouped or stacked, either direction),
lines with several series, and a heatmap. Each chart is one inline `<svg role="img">` with a
`<title>` and `<desc>`, axis labels, a legend, and a tooltip (`<title>`) on every bar, point and cell.
Every string is escaped here, so callers may pass text straight from the catalog.
"""
from __future__ import annotations

import hashlib
import math
import unicodedata
from html import escape

# Okabe-Ito, distinguishable with the common colour-vision deficiencies; its yellow is darkened to read on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#B8A000", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3")  # after the palette runs out, lines differ by dash as well
FONT = 12
AXIS = "#444"
GRID = "#ddd"


def human(value: float) -> str:
    """1234 -> '1.2k', 5_600_000 -> '5.6M', 0.0123 -> '0.0123', 3.0 -> '3'."""
    if value is None:
        return ""
    a = abs(value)
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= size:
            return f"{value / size:.3g}{unit}"
    if a == 0 or a >= 1 and float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3g}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start, stop = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    return [round(start + i * step, 12) for i in range(round((stop - start) / step) + 1)]


def text_width(text: str, size: float = FONT) -> float:
    """A rough width in pixels: wide (CJK) characters count double."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text) * size


def _clip(text: str, max_px: float) -> str:
    text = str(text)
    while len(text) > 1 and text_width(text) > max_px:
        text = text[:-2] + "…"
    return text


def _open(title: str, desc: str, width: float, height: float) -> list[str]:
    uid = "c" + hashlib.sha1(title.encode("utf-8")).hexdigest()[:10]
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{uid}t {uid}d" class="chart" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">',
        f'<title id="{uid}t">{escape(title)}</title>',
        f'<desc id="{uid}d">{escape(desc or title)}</desc>',
    ]


def _text(x, y, text, anchor="start", extra="", full: str | None = None) -> str:
    tip = f"<title>{escape(full)}</title>" if full and full != text else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{escape(str(text))}{tip}</text>'


def _legend(names: list[str], colors: list[str], x: float, y: float, width: float, line: bool = False) -> list[str]:
    """Swatches in rows from (x, y); returns the SVG pieces (the caller reserved the height)."""
    out, cx, cy = ['<g class="legend">'], x, y
    for i, (name, color) in enumerate(zip(names, colors)):
        w = 18 + text_width(name) + 14
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 18
        if line:
            dash = DASHES[(i // len(PALETTE)) % len(DASHES)]
            out.append(f'<line x1="{cx}" y1="{cy + 6}" x2="{cx + 14}" y2="{cy + 6}" stroke="{color}" '
                       f'stroke-width="2.5" stroke-dasharray="{dash}"/>')
        else:
            out.append(f'<rect x="{cx}" y="{cy}" width="12" height="12" fill="{color}"/>')
        out.append(_text(cx + 18, cy + 10, name))
        cx += w
    out.append("</g>")
    return out


def _legend_height(names: list[str], width: float) -> float:
    rows, cx = 1, 0.0
    for name in names:
        w = 18 + text_width(name) + 14
        if cx + w > width and cx > 0:
            rows, cx = rows + 1, 0.0
        cx += w
    return rows * 18 + 8


def bar_chart(categories: list[str], series: dict[str, list[float]], *, title: str, value_label: str,
              category_label: str = "", desc: str = "", horizontal: bool = True, stacked: bool = False,
              colors: list[str] | None = None, notes: list[str] | None = None, fmt=human,
              width: float = 760) -> str:
    """Bars per category: one per series side by side, or stacked; `notes` are printed after each bar."""
    names = list(series)
    colors = list(colors or PALETTE)
    n, k = len(categories), len(names)
    totals = [sum(series[s][i] or 0 for s in names) if stacked else max([series[s][i] or 0 for s in names] or [0])
              for i in range(n)]
    ticks = nice_ticks(0, max(totals + [0]) or 1)
    legend_h = _legend_height(names, width - 20) if k > 1 else 0
    if horizontal:
        label_w = min(220, max([text_width(str(c)) for c in categories] + [20]) + 12)
        note_w = max([text_width(t) for t in notes or []] + [0]) + (10 if notes else 0)
        band = (18 if stacked or k == 1 else 12 * k + 6) + 8
        left, top = label_w + (18 if category_label else 0), 10 + legend_h
        plot_w, plot_h = width - left - 20 - note_w, band * n
        height = top + plot_h + 44
    else:
        left, top = 64, 10 + legend_h
        band = max(24, min(90, (width - left - 20) / max(n, 1)))
        plot_w, plot_h = band * n, 240
        label_w = band - 4
        width = left + plot_w + 20
        rotated = any(text_width(_clip(c, 110)) > label_w for c in categories)
        height = top + plot_h + (64 if rotated else 44)
    scale = (plot_w if horizontal else plot_h) / ticks[-1]
    out = _open(title, desc, width, height)
    out += _legend(names, colors, 10, 8, width - 20) if k > 1 else []
    for t in ticks:  # grid and value axis
        if horizontal:
            x = left + t * scale
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{GRID}"/>')
            out.append(_text(x, top + plot_h + 16, fmt(t), "middle"))
        else:
            y = top + plot_h - t * scale
            out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
            out.append(_text(left - 6, y + 4, fmt(t), "end"))
    for i, cat in enumerate(categories):
        start = 0.0
        for j, name in enumerate(names):
            value = series[name][i] or 0
            size = value * scale
            offset = start if stacked else 0
            thick = (band - 8) if stacked or k == 1 else 12
            pos = 4 + (0 if stacked or k == 1 else j * 12)
            if horizontal:
                x, y, w, h = left + offset, top + i * band + pos, size, thick
            else:
                thick = min(thick if stacked or k == 1 else (band - 8) / k, 60)
                pos = (band - (thick if stacked or k == 1 else thick * k)) / 2 + (0 if stacked or k == 1 else j * thick)
                x, y, w, h = left + i * band + pos, top + plot_h - offset - size, thick, size
            tip = f"{cat} — {name}: {fmt(value)}" if k > 1 else f"{cat}: {fmt(value)}"
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                       f'fill="{colors[j % len(colors)]}"><title>{escape(tip)}</title></rect>')
            start += size
        if horizontal:
            cy = top + i * band + band / 2 + 4
            out.append(_text(left - 6, cy, _clip(cat, label_w - 12), "end", full=str(cat)))
            if notes and notes[i]:
                out.append(_text(left + totals[i] * scale + 6, cy, notes[i], extra='fill="#333"'))
        else:
            cx, cy = left + i * band + band / 2, top + plot_h + 14
            label = _clip(cat, 110)
            rotate = f'transform="rotate(-35 {cx:.1f} {cy:.1f})"' if text_width(label) > label_w else ""
            out.append(_text(cx, cy, label, "end" if rotate else "middle", rotate, full=str(cat)))
            if notes and notes[i]:
                out.append(_text(cx, top + plot_h - totals[i] * scale - 4, notes[i], "middle"))
    if horizontal:
        out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{AXIS}"/>')
        out.append(_text(left + plot_w / 2, height - 8, value_label, "middle", 'font-weight="600"'))
        if category_label:
            out.append(_text(12, top + plot_h / 2, category_label, "middle",
                             f'font-weight="600" transform="rotate(-90 12 {top + plot_h / 2:.1f})"'))
    else:
        out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{AXIS}"/>')
        out.append(_text(14, top + plot_h / 2, value_label, "middle",
                         f'font-weight="600" transform="rotate(-90 14 {top + plot_h / 2:.1f})"'))
        if category_label:
            out.append(_text(left + plot_w / 2, height - 6, category_label, "middle", 'font-weight="600"'))
    return "\n".join(out + ["</svg>"])


def line_chart(series: dict[str, list[tuple[float, float]]], *, title: str, x_label: str, y_label: str,
               desc: str = "", fmt_x=human, fmt_y=human, width: float = 760, height: float = 320) -> str:
    """One line per series over a shared x axis; points are marked when a series is short."""
    names = [s for s in series if series[s]]
    points = [p for s in names for p in series[s]]
    xs, ys = [p[0] for p in points] or [0, 1], [p[1] for p in points] or [0, 1]
    xt = nice_ticks(min(xs), max(xs))
    pad = (max(ys) - min(ys)) * 0.05 or abs(max(ys)) * 0.05 or 1
    yt = nice_ticks(min(ys) - pad, max(ys) + pad)
    legend_h = _legend_height(names, width - 20) if len(names) > 1 else 0
    left, top = 64, 10 + legend_h
    plot_w, plot_h = width - left - 24, height - top - 46

    def px(x):
        return left + (x - xt[0]) / (xt[-1] - xt[0]) * plot_w

    def py(y):
        return top + plot_h - (y - yt[0]) / (yt[-1] - yt[0]) * plot_h

    out = _open(title, desc, width, height)
    if len(names) > 1:
        out += _legend(names, list(PALETTE) * (len(names) // len(PALETTE) + 1), 10, 8, width - 20, line=True)
    for t in xt:
        out.append(f'<line x1="{px(t):.1f}" y1="{top}" x2="{px(t):.1f}" y2="{top + plot_h}" stroke="{GRID}"/>')
        out.append(_text(px(t), top + plot_h + 16, fmt_x(t), "middle"))
    for t in yt:
        out.append(f'<line x1="{left}" y1="{py(t):.1f}" x2="{left + plot_w}" y2="{py(t):.1f}" stroke="{GRID}"/>')
        out.append(_text(left - 6, py(t) + 4, fmt_y(t), "end"))
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="{AXIS}"/>')
    for i, name in enumerate(names):
        color, dash = PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)]
        pts = sorted(series[name])
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        out.append(f'<g class="series"><title>{escape(str(name))}</title>')
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2" '
                   f'stroke-dasharray="{dash}" stroke-linejoin="round"/>')
        if len(pts) <= 40:
            out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}">'
                    f'<title>{escape(f"{name}: {fmt_y(y)} at {x_label.lower()} {fmt_x(x)}")}</title></circle>'
                    for x, y in pts]
        out.append("</g>")
    out.append(_text(left + plot_w / 2, height - 8, x_label, "middle", 'font-weight="600"'))
    out.append(_text(14, top + plot_h / 2, y_label, "middle",
                     f'font-weight="600" transform="rotate(-90 14 {top + plot_h / 2:.1f})"'))
    return "\n".join(out + ["</svg>"])


def heatmap(rows: list[str], cols: list[str], values: list[list[float]], *, title: str, x_label: str,
            y_label: str, desc: str = "", fmt=human, cell: float = 40) -> str:
    """A matrix of numbers: darker is more; zero cells stay blank; each cell prints its value."""
    label_w = min(200, max([text_width(str(r)) for r in rows] + [20]) + 12)
    col_h = min(150, max([text_width(str(c)) for c in cols] + [20]) * 0.75 + 16)
    left, top = label_w + 20, 10
    width, height = left + cell * len(cols) + 20, top + cell * len(rows) + col_h + 30
    peak = max([v for row in values for v in row] + [0]) or 1
    out = _open(title, desc, width, height)
    for i, row in enumerate(rows):
        y = top + i * cell
        out.append(_text(left - 6, y + cell / 2 + 4, _clip(row, label_w - 12), "end", full=str(row)))
        for j, col in enumerate(cols):
            v, x = values[i][j] or 0, left + j * cell
            shade = v / peak
            fill = "#fafafa" if not v else _blend("#deebf7", "#08306b", shade)
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cell}" height="{cell}" fill="{fill}" stroke="#fff">'
                       f'<title>{escape(f"{row} × {col}: {fmt(v)}")}</title></rect>')
            if v:
                ink = "#fff" if shade > 0.5 else "#111"
                out.append(_text(x + cell / 2, y + cell / 2 + 4, fmt(v), "middle", f'fill="{ink}"'))
    base = top + cell * len(rows) + 8
    for j, col in enumerate(cols):
        cx = left + j * cell + cell / 2
        out.append(_text(cx, base, _clip(col, 180), "end", f'transform="rotate(-45 {cx:.1f} {base:.1f})"',
                         full=str(col)))
    out.append(_text(left + cell * len(cols) / 2, height - 6, x_label, "middle", 'font-weight="600"'))
    out.append(_text(12, top + cell * len(rows) / 2, y_label, "middle",
                     f'font-weight="600" transform="rotate(-90 12 {top + cell * len(rows) / 2:.1f})"'))
    return "\n".join(out + ["</svg>"])


def _blend(a: str, b: str, t: float) -> str:
    ca, cb = (tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in (a, b))
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb))
