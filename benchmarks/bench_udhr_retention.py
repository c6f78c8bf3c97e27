"""Clean-text retention: every UDHR translation is clean prose, so the default recipe should keep
nearly all of them in every script. Registers the UDHR corpus in a fresh workspace, runs
`agora curate` with pipelines/default.yaml and reports the share kept per script (ISO 15924).
For the scripts below the 80 % target it lists each dropped text with every rule it breaks, then
measures what keeping them would cost: the same recipe with those rules loosened just enough,
applied to the web documents of benchmarks/bench_stage1.py (share kept, and samples of what the
loosened rules let through).

    .venv/bin/python -m benchmarks.bench_udhr_retention
"""
from __future__ import annotations

import gzip
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import duckdb

from benchmarks.bench_stage1 import web_texts
from benchmarks.results import write_section
from benchmarks.shared_data import find_shared_data
from curation.cli import main as agora
from curation.core.workspace import Workspace
from curation.stages.curate import curate
from curation.stages.recipe import load_recipe
from curation.text.quality import failed_rules, quality_signals, thresholds_for
from curation.text.scripts import detect_script

TARGET_PER_SCRIPT = 0.8


def main() -> None:
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: this benchmark needs the team's real corpora")
    udhr = shared / "corpora" / "udhr" / "udhr.jsonl.gz"
    with gzip.open(udhr, "rt", encoding="utf-8") as handle:
        texts = {row["id"]: row for row in map(json.loads, handle)}
    script_of = {record_id: row["iso15924"] for record_id, row in texts.items()}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        assert agora(["init", "--workspace", str(workspace)]) == 0
        assert agora(["register", str(udhr), "--name", "udhr", "--id-field", "id", "--contributor", "OHCHR",
                      "--country", "CH", "--license", "CC0-1.0", "--workspace", str(workspace), "--json"]) == 0
        run = curate(Workspace(workspace), progress=False)
        con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
        con.execute("SET file_search_path = ?", [str(workspace)])
        rows = con.execute("SELECT d.record_id, x.kept, x.step, x.rule FROM decisions x JOIN documents d "
                           "USING (doc_id) WHERE x.run_id = ?", [run["run_id"]]).fetchall()
        con.close()
    per_script: dict[str, Counter] = defaultdict(Counter)
    reasons: Counter = Counter()
    dropped: dict[str, list[str]] = defaultdict(list)
    for record_id, kept, step, rule in rows:
        if not kept and step != "dedup":
            dropped[script_of[record_id]].append(record_id)
        counts = per_script[script_of[record_id]]
        counts["docs"] += 1
        counts["kept"] += kept
        counts["kept_before_dedup"] += kept or step == "dedup"
        if not kept:
            reasons[f"{step}/{rule}"] += 1
    total = sum(c["docs"] for c in per_script.values())
    kept_filters = sum(c["kept_before_dedup"] for c in per_script.values())
    kept_all = sum(c["kept"] for c in per_script.values())
    table = ["| script | docs | kept by langid + quality | kept after dedup too |", "|---|---|---|---|"]
    for script, c in sorted(per_script.items(), key=lambda kv: (-kv[1]["docs"], kv[0])):
        table.append(f"| {script} | {c['docs']} | {c['kept_before_dedup'] / c['docs']:.0%} | "
                     f"{c['kept'] / c['docs']:.0%} |")
    worst = min(per_script.items(), key=lambda kv: kv[1]["kept_before_dedup"] / kv[1]["docs"])
    body = "\n".join([
        f"{total} UDHR versions in {len(per_script)} scripts, registered without declared languages and curated with "
        "`pipelines/default.yaml`. Dedup removes spelling variants of one language (e.g. deu_1901/deu_1996) on "
        "purpose, so the filter retention is the figure to judge.", "",
        f"**Kept by the filters: {kept_filters / total:.1%} overall** (target ≥ 95%); lowest script: "
        f"{worst[0]} {worst[1]['kept_before_dedup'] / worst[1]['docs']:.0%} (target ≥ 80% for every script). "
        f"After dedup: {kept_all / total:.1%}.", "",
        "Reasons for the drops: " + (", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"), "",
        *table, "",
        *cost_of_the_target(shared, per_script, dropped, texts),
    ])
    write_section("Clean-text retention (UDHR)", "python -m benchmarks.bench_udhr_retention", body)
    print(body)


def cost_of_the_target(shared: Path, per_script: dict, dropped: dict, texts: dict) -> list[str]:
    """The texts that keep a script under the target, each with every rule it breaks; then the web
    documents the recipe would also keep with those rules loosened just enough to keep the texts."""
    quality = load_recipe().quality
    below = [s for s, c in per_script.items() if c["kept_before_dedup"] / c["docs"] < TARGET_PER_SCRIPT]
    loosened = {key: dict(block) for key, block in quality.items() if isinstance(block, dict)}
    lines = ["Texts that keep a script below the target (signals as stage 1 computes them, language `und`):", ""]
    for script in sorted(below):
        for record_id in sorted(dropped[script]):
            text, articles, stage = (texts[record_id][k] for k in ("text", "n_articles", "stage"))
            broken = failed_rules(quality_signals(text, "und"), thresholds_for(quality, "und", detect_script(text)))
            repeated, times = Counter(line.strip() for line in text.splitlines() if line.strip()).most_common(1)[0]
            lines.append(f"- {script} `{record_id}` ({articles} of 30 articles, upstream stage {stage}, "
                         f"{len(text.split())} words): "
                         + ", ".join(f"{rule} {value:.3g} vs {threshold:g}" for rule, value, threshold in broken)
                         + (f"; its most repeated line, {times}×: `{repeated[:40]}`" if times > 1 else ""))
            for rule, value, _ in broken:  # loosen the default just past this text's value
                current = loosened["defaults"][rule]
                loosened["defaults"][rule] = min(current, value) if rule.startswith("min_") else max(current, value)
    changes = {rule: value for rule, value in loosened["defaults"].items() if value != quality["defaults"][rule]}
    if not changes:
        return lines
    listed = [texts[r]["text"] for script in below for r in dropped[script]]
    rescued = sum(not failed_rules(quality_signals(t, "und"), thresholds_for(loosened, "und", detect_script(t)))
                  for t in listed)
    web = web_texts(shared)
    kept_default, kept_loosened, let_through = 0, 0, []
    for doc in web:
        signals, script = quality_signals(doc["text"], "und"), detect_script(doc["text"])
        default_ok = not failed_rules(signals, thresholds_for(quality, "und", script))
        loosened_ok = not failed_rules(signals, thresholds_for(loosened, "und", script))
        kept_default += default_ok
        kept_loosened += loosened_ok
        if loosened_ok and not default_ok:
            let_through.append(" ".join(doc["text"].split())[:90])
    lines += [
        "",
        f"Loosening {', '.join(f'`{r}` to {v:.3g}' for r, v in changes.items())} keeps {rescued} of these "
        f"{len(listed)} texts. On the "
        f"{len(web)} web documents of the stage-1 benchmark (language `und`, quality rules only) that keeps "
        f"{kept_loosened} instead of {kept_default} (+{kept_loosened - kept_default}); the first of those it "
        "lets through:",
        "",
        *(f"- `{sample}`" for sample in let_through[:5]),
    ]
    return lines


if __name__ == "__main__":
    main()
