"""`agora report`: one self-contained HTML page about a workspace — its sources and contributors, a
curation run's funnel, shared duplicates, a mixture and a model's training and evaluation.

The page needs nothing from the network: charts are inline SVG (`curation.governance.charts`), styles are inline,
fonts are the system's. Every string from the catalog is escaped. A section whose data does not
exist yet says so in one line.

Which run, mixture and model: an explicit choice wins; the others follow its lineage (a model's
mixture, a mixture's curation run; downstream, the latest mixture of a run and the latest finished
model of a mixture). With no choice at all the report starts from the latest finished training run,
else the latest mixture, else the latest finished curation run.
"""
from __future__ import annotations

import os
from datetime import datetime
from html import escape
from pathlib import Path

from curation.governance import charts
from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.mixture.build import show_mixture
from curation.stages.runs import show_run
from curation.core.workspace import Workspace

STEPS = ("langid", "quality", "dedup")
STEP_COLORS = ["#0072B2", "#E69F00", "#D55E00", "#999999"]  # kept, then each step's drops
MAX_CONTRIBUTORS = 30  # the duplicate matrix shows the contributors in the most clusters
MAX_POINTS = 1000  # loss points drawn per series

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


# ---------------------------------------------------------------- data


def _gather(workspace: Workspace, run_id, mixture, model_run) -> dict:
    why = {"run": "chosen" if run_id else None, "mixture": "chosen" if mixture else None,
           "model": "chosen" if model_run else None}
    with open_catalog(workspace) as con:
        model = None
        if model_run:
            rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [model_run])
            if not rows:
                raise NotFound(f"no training run {model_run!r} (see the training_runs table)")
            model = rows[0]
        mix_key = None  # (name, version)
        if mixture:
            row = con.execute("SELECT max(version) FROM mixtures WHERE name = ?", [mixture]).fetchone()
            mix_key = (mixture, row[0])  # version None: show_mixture below says which names exist
        elif model:
            mix_key, why["mixture"] = _model_mixture(con, model), "the model's"
        elif run_id:
            row = con.execute("SELECT name, version FROM mixtures WHERE curation_run = ? "
                              "ORDER BY created_at DESC, version DESC LIMIT 1", [run_id]).fetchone()
            mix_key, why["mixture"] = (tuple(row) if row else None), "latest of the run"
        if not model_run:
            if mix_key:
                model, why["model"] = _latest_model(con, mix_key), "latest on the mixture"
            elif not run_id:
                model, why["model"] = _latest_model(con, None), "latest"
                if model:
                    mix_key, why["mixture"] = _model_mixture(con, model), "the model's"
        if not mix_key and not mixture and not run_id:
            row = con.execute("SELECT name, version FROM mixtures ORDER BY created_at DESC, version DESC "
                              "LIMIT 1").fetchone()
            mix_key, why["mixture"] = (tuple(row) if row else None), "latest"
        if not run_id and mix_key and mix_key[1] is not None:
            row = con.execute("SELECT curation_run FROM mixtures WHERE name = ? AND version = ?",
                              list(mix_key)).fetchone()
            run_id, why["run"] = row[0], "the mixture's"
        if not run_id:
            row = con.execute("SELECT run_id FROM runs WHERE kind = 'curate' AND status = 'finished' "
                              "ORDER BY finished_at DESC LIMIT 1").fetchone()
            run_id, why["run"] = (row[0], "latest") if row else (None, None)
        sources = fetch_dicts(con, "SELECT name, version, status, records, malformed, license, license_class, "
                                   "languages, contributor, organization, country FROM source_overview "
                                   "ORDER BY name, version")
        trained = fetch_dicts(con, "SELECT run_id, kind, mixture, mixture_version, base_run, status, steps, "
                                   "first_loss, last_loss, tokens_per_s, finished_at FROM training_runs "
                                   "ORDER BY started_at NULLS LAST, run_id")
        loss, evals = [], []
        if model:
            loss = con.execute("SELECT step, loss FROM train_metrics WHERE run_id = ? ORDER BY step",
                               [model["run_id"]]).fetchall()
            evals = con.execute("SELECT step, lang, arg_max(bits_per_byte, evaluated_at) FROM eval_metrics "
                                "WHERE run_id = ? GROUP BY step, lang ORDER BY lang, step",
                                [model["run_id"]]).fetchall()
        shared = _shared_clusters(con, run_id) if run_id else None
    run = show_run(workspace, run_id) if run_id else None
    mix = show_mixture(workspace, mix_key[0], mix_key[1]) if mix_key else None
    if not model:
        why["model"] = None
    if not mix:
        why["mixture"] = None
    return {"run": run, "mixture": mix, "model": model, "why": why, "sources": sources, "trained": trained,
            "loss": loss, "evals": evals, "shared": shared}


def _model_mixture(con, model: dict) -> tuple | None:
    """The mixture a model was trained on, following a fine-tune's base runs."""
    seen = set()
    while model and model["run_id"] not in seen:
        seen.add(model["run_id"])
        if model.get("mixture"):
            version = model.get("mixture_version")
            if version is None:
                row = con.execute("SELECT max(version) FROM mixtures WHERE name = ?", [model["mixture"]]).fetchone()
                version = row[0] if row else None
            return (model["mixture"], version) if version is not None else None
        rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [model.get("base_run")])
        model = rows[0] if rows else None
    return None


def _latest_model(con, mix_key: tuple | None) -> dict | None:
    rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE status = 'finished' "
                            "ORDER BY finished_at DESC NULLS LAST, run_id DESC")
    if mix_key is None:
        return rows[0] if rows else None
    return next((r for r in rows if _model_mixture(con, r) == tuple(mix_key)), None)


def _shared_clusters(con, run_id: str) -> dict:
    """Duplicate clusters by contributor: pairs that share a cluster, and clusters within one contributor."""
    rows = con.execute(
        """
        WITH m AS (
            SELECT DISTINCT c.cluster_id, o.contributor
            FROM dup_clusters c JOIN documents d USING (doc_id)
            JOIN source_overview o ON o.name = d.source AND o.version = d.source_version
            WHERE c.run_id = ?
        ), n AS (SELECT cluster_id, count(*) AS k FROM m GROUP BY cluster_id)
        SELECT a.contributor, b.contributor, count(*)
        FROM m a JOIN m b USING (cluster_id) JOIN n USING (cluster_id)
        WHERE a.contributor <> b.contributor OR n.k = 1
        GROUP BY ALL
        """, [run_id]).fetchall()
    return {(a, b): n for a, b, n in rows}


# ---------------------------------------------------------------- sections


def _sources_section(data) -> str:
    rows, run = data["sources"], data["run"]
    if not rows:
        return _section("sources", "Sources and contributors", _none("No sources registered yet (`agora register`)."))
    used = {(s["name"], s["version"]) for s in (run or {}).get("sources", [])}
    per_source = (run or {}).get("funnel", {}).get("sources", {})
    head = ["source", "v", "contributor", "country", "license", "license class", "languages", "records",
            "malformed", "in run", "kept"]
    body = []
    for s in rows:
        counts = per_source.get(s["name"], {}) if (s["name"], s["version"]) in used else {}
        name = s["name"] + ("" if s["status"] == "active" else f" ({s['status']})")
        who = _e(s["contributor"])
        if s["organization"] and s["organization"] != s["contributor"]:
            who += f'<br><small>{_e(s["organization"])}</small>'
        body.append([name, s["version"], _Html(who), s["country"], _nowrap(s["license"]), _nowrap(s["license_class"]),
                     ", ".join(s["languages"] or []), s["records"], s["malformed"],
                     counts.get("docs_in", ""), counts.get("docs_out", "")])
    note = ("<p>Every registered source version. <em>in run</em> and <em>kept</em> count its documents in the "
            "curation run above (blank: this version was not part of it).</p>")
    return _section("sources", "Sources and contributors", note + _table(head, body))


def _languages_section(data) -> str:
    run, mix = data["run"], data["mixture"]
    if not run:
        return _section("languages", "Languages", _none("No finished curation run yet (`agora curate`)."))
    langs = run["funnel"].get("languages", {})
    cats = list(langs)
    parts = [
        _figure(charts.bar_chart(
            cats, {"before curation": [langs[l]["docs_in"] for l in cats],
                   "after curation": [langs[l]["docs_out"] for l in cats]},
            title="Documents per language, before and after curation", value_label="documents",
            category_label="language", colors=["#56B4E9", "#0072B2"],
            desc=_series_desc(cats, langs, "docs_in", "docs_out")),
            "Light bars: documents read; dark bars: documents kept. Language is the detected one "
            "(<code>und</code>: too short or unclear to tell)."),
        _figure(charts.bar_chart(
            cats, {"before curation": [langs[l]["bytes_in"] for l in cats],
                   "after curation": [langs[l]["bytes_out"] for l in cats]},
            title="Bytes per language, before and after curation", value_label="UTF-8 bytes",
            category_label="language", colors=["#56B4E9", "#0072B2"], fmt=_bytes,
            desc=_series_desc(cats, langs, "bytes_in", "bytes_out")),
            "The same in UTF-8 bytes: scripts outside Latin take 2-3 bytes per character, so compare a language "
            "with itself before and after rather than across scripts."),
    ]
    if mix:
        tokens = _by_lang(mix["parts"], "target_tokens")
        total_bytes = sum(langs[l]["bytes_out"] for l in cats) or 1
        total_tokens = sum(tokens.values()) or 1
        order = [l for l in cats if langs[l]["bytes_out"] or tokens.get(l)] + [l for l in tokens if l not in langs]
        parts.append(_figure(charts.bar_chart(
            order, {"share of curated bytes": [langs.get(l, {}).get("bytes_out", 0) / total_bytes for l in order],
                    "share of mixture tokens": [tokens.get(l, 0) / total_tokens for l in order]},
            title=f"Share per language: curated bytes vs tokens in mixture {mix['name']}",
            value_label="share of the total", category_label="language", colors=["#0072B2", "#009E73"],
            fmt=_pct, notes=[charts.human(tokens.get(l, 0)) + " tokens" for l in order]),
            f"How the mixture re-weights languages: green is each language's share of the "
            f"{charts.human(total_tokens)} target tokens (number at the end of each pair), blue its share of the "
            f"curated bytes. Green longer than blue: the language is up-sampled."))
    return _section("languages", "Languages", "\n".join(parts))


def _funnel_section(data) -> str:
    run = data["run"]
    if not run:
        return _section("funnel", "What curation dropped, and why", _none("No finished curation run yet."))
    f = run["funnel"]
    steps = f.get("steps", [])
    cats = ["input"] + [s["step"] for s in steps]
    after = [f["docs_in"]] + [s["docs_after"] for s in steps]
    dropped = [0] + [s["docs_dropped"] for s in steps]
    parts = [_figure(charts.bar_chart(
        cats, {"documents left": after, "dropped at this step": dropped}, stacked=True, horizontal=False,
        title="Filter funnel: documents left after each step", value_label="documents", category_label="step",
        colors=["#0072B2", "#D55E00"], notes=[f"{charts.human(a)}" for a in after]),
        f"Steps run left to right. The blue part is what goes on to the next step, the red top what this step "
        f"dropped: {f['docs_in']:,} documents in, {f['docs_out']:,} kept ({_pct(f['docs_out'] / (f['docs_in'] or 1))})."
    )]
    for key, label in (("languages", "language"), ("sources", "source")):
        rows = f.get(key, {})
        if not rows:
            continue
        cats = list(rows)
        series = {"kept": [rows[c]["docs_out"] for c in cats]}
        series |= {f"dropped: {s}": [rows[c]["dropped"].get(s, 0) for c in cats] for s in STEPS}
        parts.append(_figure(charts.bar_chart(
            cats, series, stacked=True, title=f"Documents kept and dropped per {label}, by step",
            value_label="documents", category_label=label, colors=STEP_COLORS,
            notes=[_pct(rows[c]["docs_out"] / (rows[c]["docs_in"] or 1)) + " kept" for c in cats]),
            f"Each bar is all of a {label}'s documents: blue kept, then what language id, the quality rules and "
            f"deduplication dropped."))
    if f.get("rules"):
        parts.append("<p>Reasons, most frequent first (<code>agora docs show DOC_ID</code> explains one document):"
                     "</p>" + _table(["step", "rule", "documents"], [[r["step"], r["rule"], r["docs"]]
                                                                    for r in f["rules"]]))
    return _section("funnel", "What curation dropped, and why", "\n".join(parts))


def _duplicates_section(data) -> str:
    run, shared = data["run"], data["shared"]
    title = "Duplicates across contributors"
    if not run:
        return _section("duplicates", title, _none("No finished curation run yet."))
    summary = run["funnel"].get("dup_clusters", {})
    if not shared:
        return _section("duplicates", title, _none("No duplicate clusters in this run."))
    totals: dict[str, int] = {}
    for (a, _), n in shared.items():
        totals[a] = totals.get(a, 0) + n
    people = sorted(totals, key=lambda p: (-totals[p], p))[:MAX_CONTRIBUTORS]
    matrix = [[shared.get((a, b), 0) for b in people] for a in people]
    pairs = sorted(((n, a, b) for (a, b), n in shared.items() if a < b), reverse=True)
    top = "; ".join(f"{_e(a)} &amp; {_e(b)}: {n}" for n, a, b in pairs[:5]) or "none"
    cut = f" (the {MAX_CONTRIBUTORS} in the most clusters)" if len(totals) > MAX_CONTRIBUTORS else ""
    listed = ", ".join(f"{a} and {b}: {n}" for n, a, b in pairs[:10]) or "none"
    chart = charts.heatmap(people, people, matrix, title="Duplicate clusters shared between contributors",
                           x_label="contributor", y_label="contributor",
                           desc=f"Pairs of contributors sharing duplicate clusters: {listed}.")
    caption = (f"A cell counts the duplicate clusters (exact or near) holding text from both contributors; the "
               f"diagonal counts clusters within one contributor's own data{cut}. Run totals: "
               f"{summary.get('exact', 0)} exact and {summary.get('fuzzy', 0)} near-duplicate clusters, "
               f"{summary.get('docs', 0)} documents, {summary.get('cross_source', 0)} spanning several sources. "
               f"Most shared: {top}.")
    return _section("duplicates", title, _figure(chart, caption, escape_caption=False))


def _mixture_section(data) -> str:
    mix = data["mixture"]
    if not mix:
        return _section("mixture", "Mixture", _none("No mixture yet (`agora mix create NAME --budget-tokens N`)."))
    parts_ = [p for p in mix["parts"] if not p["excluded_reason"]]
    available, target = _by_lang(parts_, "available_tokens"), _by_lang(parts_, "target_tokens")
    langs = sorted(available, key=lambda l: (-target.get(l, 0), l))
    notes = [f"{target[l] / available[l]:.2f} epochs" if available[l] else "no tokens" for l in langs]
    p = mix["params"]
    how = f"{p.get('method')}" + (f", temperature {p['temperature']}" if p.get("method") == "temperature" else "") + \
        (f", at most {p['max_epochs']} epochs" if p.get("max_epochs") else "")
    body = [_figure(charts.bar_chart(
        langs, {"available tokens": [available[l] for l in langs], "target tokens": [target.get(l, 0) for l in langs]},
        title=f"Mixture {mix['name']} v{mix['version']}: token budget vs available tokens per language",
        value_label="tokens", category_label="language", colors=["#56B4E9", "#009E73"], notes=notes),
        f"Light bars: tokens of curated training documents available; green: the budget the mixture gives the "
        f"language ({how}; {charts.human(mix['train_tokens'])} tokens in all, built from run {mix['curation_run']}). "
        f"Epochs = budget / available: above 1, documents repeat.")]
    if mix.get("excluded"):
        body.append("<p>Excluded: " + "; ".join(f"{_e(s)} ({_e(r)})" for s, r in mix["excluded"]) + "</p>")
    return _section("mixture", "Mixture", "\n".join(body))


def _training_section(data) -> str:
    model, trained = data["model"], data["trained"]
    if not trained:
        return _section("training", "Training and evaluation", _none("No training run yet."))
    table = _table(["run", "kind", "mixture", "base", "status", "steps", "first loss", "last loss", "tokens/s"],
                   [[t["run_id"], t["kind"], f"{t['mixture']} v{t['mixture_version']}" if t["mixture"] else "",
                     t["base_run"] or "", t["status"], t["steps"], _num(t["first_loss"]), _num(t["last_loss"]),
                     charts.human(t["tokens_per_s"]) if t["tokens_per_s"] else ""] for t in trained])
    body = [table]
    if not model:
        body.append(_none("No finished training run selected for this report (choose one with --model RUN)."))
        return _section("training", "Training and evaluation", "\n".join(body))
    loss = data["loss"]
    if loss:
        step = max(1, len(loss) // MAX_POINTS)
        points = loss[::step] + ([loss[-1]] if (len(loss) - 1) % step else [])
        series = {"loss": points}
        if len(loss) > 20:
            series["moving average"] = _ema(loss)[::step]
        body.append(_figure(charts.line_chart(
            series, title=f"Training loss of {model['run_id']}", x_label="step", y_label="loss (nats per token)",
            fmt_y=_num), "Cross-entropy on the training batches, per logged step; lower is better."
                         + (" The smoother line is an exponential moving average." if len(series) > 1 else "")))
    else:
        body.append(_none(f"No loss logged for {model['run_id']} yet."))
    evals = data["evals"]
    if evals:
        by_lang: dict[str, list] = {}
        for s, lang, bpb in evals:
            by_lang.setdefault(lang, []).append((s, bpb))
        steps = {s for s, _, _ in evals}
        if len(steps) > 1:
            body.append(_figure(charts.line_chart(
                by_lang, title=f"Bits per byte per language during training of {model['run_id']}", x_label="step",
                y_label="bits per byte", fmt_y=_num),
                "Held-out bits per byte, one line per language (lower is better). Bytes, not tokens, so languages "
                "and tokenizers compare fairly."))
        last = {lang: sorted(pts)[-1] for lang, pts in by_lang.items()}
        langs = sorted(last, key=lambda l: last[l][1])
        body.append(_figure(charts.bar_chart(
            langs, {"bits per byte": [last[l][1] for l in langs]},
            title=f"Bits per byte per language at the last evaluation of {model['run_id']}",
            value_label="bits per byte (lower is better)", category_label="language", colors=["#CC79A7"], fmt=_num,
            notes=[f"{last[l][1]:.3f}" + (f" (step {last[l][0]})" if len({v[0] for v in last.values()}) > 1 else "")
                   for l in langs]),
            "The latest evaluation of each language on its held-out documents, best first."))
    else:
        body.append(_none(f"No evaluation of {model['run_id']} yet."))
    return _section("training", "Training and evaluation", "\n".join(body))


# ---------------------------------------------------------------- html pieces


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
    """Markup this module built (from escaped parts); `_table` inserts it as it is."""


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


def _by_lang(parts: list[dict], field: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in parts:
        out[p["lang"]] = out.get(p["lang"], 0) + (p[field] or 0)
    return out


def _series_desc(cats, rows, before, after) -> str:
    return "; ".join(f"{c}: {rows[c][before]} before, {rows[c][after]} after" for c in cats)


def _ema(points: list[tuple], alpha: float = 0.1) -> list[tuple]:
    out, value = [], None
    for step, y in points:
        value = y if value is None else alpha * y + (1 - alpha) * value
        out.append((step, value))
    return out


def _bytes(value) -> str:
    return charts.human(value) + "B"


def _pct(value) -> str:
    return f"{value:.0%}" if value >= 0.1 or value == 0 else f"{value:.1%}"


def _num(value) -> str:
    return "" if value is None else f"{value:.3g}"


