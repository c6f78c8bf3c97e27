"""HTML pieces for the report: the page's stylesheet, escaping, sections, figures, tables and the
number formats its captions and tables use. Every value from the catalog goes through `_e`; only
markup built here (`_Html`) is inserted as it is.
"""
from __future__ import annotations

from html import escape

from curation.governance import charts

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111;max-width:1000px;margin:2em auto;
padding:0 1em;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:0}dl.meta dt{color:#555}
dl.meta dd{margin:0}code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
figure{margin:1.2em 0;break-inside:avoid}figcaption{color:#444;font-size:.92em;max-width:760px}
svg.chart{max-width:100%;height:auto;display:block}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}th,td{padding:.2em .6em;border-bottom:1px solid #e3e3e3;
text-align:left;vertical-align:top}th{background:#f4f4f4}td:first-child,.nw{white-space:nowrap}small{color:#555}
td.n{text-align:right;font-variant-numeric:tabular-nums}
p.none{color:#666;font-style:italic}
@media print{@page{margin:1.5cm}body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
"""


def _e(value) -> str:
    return escape("" if value is None else str(value))


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>\n{body}\n</section>'


def _none(text: str) -> str:
    return f'<p class="none">{_e(text)}</p>'


def _figure(svg: str, caption: str, escape_caption: bool = True) -> str:
    caption = _e(caption).replace("&lt;code&gt;", "<code>").replace("&lt;/code&gt;", "</code>") \
        if escape_caption else caption
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


class _Html(str):
    """Markup built from escaped parts (here or in the report's sections); `_table` inserts it as it is."""


def _nowrap(value) -> _Html:
    return _Html(f'<span class="nw">{_e(value)}</span>')


def _table(head: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, _Html):
            return f"<td>{v}</td>"
        return f'<td class="n">{v:,}</td>' if isinstance(v, int) and not isinstance(v, bool) else f"<td>{_e(v)}</td>"
    return ("<table><thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(cell(v) for v in r) + "</tr>" for r in rows) + "</tbody></table>")


def _meta(items: list[tuple[str, str]]) -> str:
    return '<dl class="meta">' + "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def _bytes(value) -> str:
    return charts.human(value) + "B"


def _pct(value) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def _num(value) -> str:
    return "" if value is None else f"{value:.3g}"
