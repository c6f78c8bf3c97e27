"""`agora report`: one self-contained HTML page about a workspace — its sources and contributors, a
curation run's funnel, shared duplicates, a mixture and a model's training and evaluation.

The page needs nothing from the network: charts are inline SVG (`curation.governance.charts`), styles are inline,
fonts are the system's. Every string from the catalog is escaped. A section whose data does not
exist yet says so in one line.

Which run, mixture and model: an explicit choice wins; the others follow its lineage (a model's
mixture, a mixture's curation run; downstream, the latest mixture of a run and the latest finished
model of a mixture). With no choice at all the report starts from the latest finished training run,
else the latest mixture, else the latest finished curation run.

This module writes the page and its header. The parts: report_data.py reads the catalog,
report_sections.py renders one section per topic, report_html.py holds the HTML pieces, the
stylesheet and the number formats.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from curation.core.workspace import Workspace
from curation.governance import charts
from curation.governance.report_data import _gather
from curation.governance.report_html import CSS, _bytes, _e, _meta
from curation.governance.report_sections import (
    _duplicates_section,
    _funnel_section,
    _languages_section,
    _mixture_section,
    _sources_section,
    _training_section,
)


def write_report(workspace: Workspace, out: Path, run_id: str | None = None, mixture: str | None = None,
                 model_run: str | None = None) -> Path:
    """Write the report to `out` (atomically) and return its path."""
    page = build_report(workspace, run_id=run_id, mixture=mixture, model_run=model_run)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out


def build_report(workspace: Workspace, run_id: str | None = None, mixture: str | None = None,
                 model_run: str | None = None) -> str:
    workspace.require()
    data = _gather(workspace, run_id, mixture, model_run)
    run, mix, model = data["run"], data["mixture"], data["model"]
    body = [
        "<header><h1>Agora report</h1>",
        _meta([
            ("workspace", f"<code>{_e(workspace.root)}</code>"),
            ("curation run", _label(run and run["run_id"], run and _when(run["status"], run["finished_at"]),
                                    data["why"]["run"])),
            ("mixture", _label(mix and f"{mix['name']} v{mix['version']}",
                               mix and f"{charts.human(mix['train_tokens'])} training tokens", data["why"]["mixture"])),
            ("model", _label(model and model["run_id"], model and f"{model['kind']}, "
                             + _when(model["status"], model["finished_at"]), data["why"]["model"])),
            ("generated", _e(datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"))),
        ]),
        _glance(data), "</header>",
        _sources_section(data),
        _languages_section(data),
        _funnel_section(data),
        _duplicates_section(data),
        _mixture_section(data),
        _training_section(data),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>Agora report — {_e(workspace.root.name)}</title><style>{CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


# ---------------------------------------------------------------- header


def _label(value, detail, why) -> str:
    if not value:
        return '<span class="none">none yet</span>'
    extra = ", ".join(x for x in (detail, why and f"{why}") if x)
    return f"<code>{_e(value)}</code>" + (f" ({_e(extra)})" if extra else "")


def _when(status: str, finished) -> str:
    if status != "finished" or not finished:
        return status
    stamp = finished if isinstance(finished, str) else finished.isoformat(timespec="seconds")
    return "finished " + stamp.replace("T", " ")[:16]


def _glance(data) -> str:
    sources, run = data["sources"], data["run"]
    if not sources:
        return ""
    people = {s["contributor"] for s in sources}
    text = f"{len({s['name'] for s in sources})} sources from {len(people)} contributors in " \
           f"{len({s['country'] for s in sources})} countries"
    if run:
        f = run["funnel"]
        text += (f"; run <code>{_e(run['run_id'])}</code> read {f['docs_in']:,} documents in "
                 f"{len(f.get('languages', {}))} languages and kept {f['docs_out']:,} ({_bytes(f['bytes_out'])})")
    return f"<p>{text}.</p>"
