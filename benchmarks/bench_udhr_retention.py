"""Clean-text retention: every UDHR translation is clean prose, so the default recipe should keep
nearly all of them in every script. Registers the UDHR corpus in a fresh workspace, runs
`agora curate` with pipelines/default.yaml and reports the share kept per script (ISO 15924).

    .venv/bin/python -m benchmarks.bench_udhr_retention
"""
from __future__ import annotations

import gzip
import json
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import duckdb

from benchmarks.results import write_section
from benchmarks.shared_data import find_shared_data
from curation.cli import main as agora
from curation.curate import curate
from curation.workspace import Workspace


def main() -> None:
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: this benchmark needs the team's real corpora")
    udhr = shared / "corpora" / "udhr" / "udhr.jsonl.gz"
    with gzip.open(udhr, "rt", encoding="utf-8") as handle:
        script_of = {row["id"]: row["iso15924"] for row in map(json.loads, handle)}
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
    for record_id, kept, step, rule in rows:
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
        table.append(f"| {script} | {c['docs']} | {c['kept_before_dedup'] / c['docs']:.0%} | {c['kept'] / c['docs']:.0%} |")
    worst = min(per_script.items(), key=lambda kv: kv[1]["kept_before_dedup"] / kv[1]["docs"])
    body = "\n".join([
        f"{total} UDHR versions in {len(per_script)} scripts, registered without declared languages and curated with "
        "`pipelines/default.yaml`. Dedup removes spelling variants of one language (e.g. deu_1901/deu_1996) on "
        "purpose, so the filter retention is the figure to judge.", "",
        f"**Kept by the filters: {kept_filters / total:.1%} overall** (target ≥ 95%); lowest script: "
        f"{worst[0]} {worst[1]['kept_before_dedup'] / worst[1]['docs']:.0%} (target ≥ 80% for every script). "
        f"After dedup: {kept_all / total:.1%}.", "",
        "Reasons for the drops: " + (", ".join(f"{r} {n}" for r, n in reasons.most_common()) or "none"), "",
        *table,
    ])
    write_section("Clean-text retention (UDHR)", "python -m benchmarks.bench_udhr_retention", body)
    print(body)


if __name__ == "__main__":
    main()
