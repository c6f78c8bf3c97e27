"""The report's sections, one function each: sources and contributors, languages, the filter
funnel, duplicates shared across contributors, the mixture, and training and evaluation. Each takes
the data report_data.py gathered and returns a `<section>`; one whose data does not exist yet says
so in one line.
"""
from __future__ import annotations

from curation.governance import charts
from curation.governance.report_html import (
    _bytes,
    _e,
    _figure,
    _Html,
    _none,
    _nowrap,
    _num,
    _pct,
    _section,
    _table,
)
from curation.stages.funnel import DECISION_STEPS

STEP_COLORS = ["#0072B2", "#E69F00", "#D55E00", "#999999"]  # kept, then each step's drops
MAX_CONTRIBUTORS = 30  # the duplicate matrix shows the contributors in the most clusters
MAX_POINTS = 1000  # loss points drawn per series


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
            cats, {"before curation": [langs[lang]["docs_in"] for lang in cats],
                   "after curation": [langs[lang]["docs_out"] for lang in cats]},
            title="Documents per language, before and after curation", value_label="documents",
            category_label="language", colors=["#56B4E9", "#0072B2"],
            desc=_series_desc(cats, langs, "docs_in", "docs_out")),
            "Light bars: documents read; dark bars: documents kept. Language is the detected one "
            "(<code>und</code>: too short or unclear to tell)."),
        _figure(charts.bar_chart(
            cats, {"before curation": [langs[lang]["bytes_in"] for lang in cats],
                   "after curation": [langs[lang]["bytes_out"] for lang in cats]},
            title="Bytes per language, before and after curation", value_label="UTF-8 bytes",
            category_label="language", colors=["#56B4E9", "#0072B2"], fmt=_bytes,
            desc=_series_desc(cats, langs, "bytes_in", "bytes_out")),
            "The same in UTF-8 bytes: scripts outside Latin take 2-3 bytes per character, so compare a language "
            "with itself before and after rather than across scripts."),
    ]
    if mix:
        tokens = _by_lang(mix["parts"], "target_tokens")
        total_bytes = sum(langs[lang]["bytes_out"] for lang in cats) or 1
        total_tokens = sum(tokens.values()) or 1
        order = ([lang for lang in cats if langs[lang]["bytes_out"] or tokens.get(lang)]
                 + [lang for lang in tokens if lang not in langs])
        parts.append(_figure(charts.bar_chart(
            order, {"share of curated bytes": [langs.get(lang, {}).get("bytes_out", 0) / total_bytes for lang in order],
                    "share of mixture tokens": [tokens.get(lang, 0) / total_tokens for lang in order]},
            title=f"Share per language: curated bytes vs tokens in mixture {mix['name']}",
            value_label="share of the total", category_label="language", colors=["#0072B2", "#009E73"],
            fmt=_pct, notes=[charts.human(tokens.get(lang, 0)) + " tokens" for lang in order]),
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
        series |= {f"dropped: {s}": [rows[c]["dropped"].get(s, 0) for c in cats] for s in DECISION_STEPS}
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
    langs = sorted(available, key=lambda lang: (-target.get(lang, 0), lang))
    notes = [f"{target[lang] / available[lang]:.2f} epochs" if available[lang] else "no tokens" for lang in langs]
    p = mix["params"]
    how = f"{p.get('method')}" + (f", temperature {p['temperature']}" if p.get("method") == "temperature" else "") + \
        (f", at most {p['max_epochs']} epochs" if p.get("max_epochs") else "")
    body = [_figure(charts.bar_chart(
        langs, {"available tokens": [available[lang] for lang in langs],
                "target tokens": [target.get(lang, 0) for lang in langs]},
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
        langs = sorted(last, key=lambda lang: last[lang][1])
        body.append(_figure(charts.bar_chart(
            langs, {"bits per byte": [last[lang][1] for lang in langs]},
            title=f"Bits per byte per language at the last evaluation of {model['run_id']}",
            value_label="bits per byte (lower is better)", category_label="language", colors=["#CC79A7"], fmt=_num,
            notes=[f"{last[lang][1]:.3f}"
                   + (f" (step {last[lang][0]})" if len({v[0] for v in last.values()}) > 1 else "")
                   for lang in langs]),
            "The latest evaluation of each language on its held-out documents, best first."))
    else:
        body.append(_none(f"No evaluation of {model['run_id']} yet."))
    return _section("training", "Training and evaluation", "\n".join(body))


# ---------------------------------------------------------------- helpers


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
