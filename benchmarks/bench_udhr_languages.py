"""Fair language rules on the UDHR: every translation registered as its own source, declaring its
language as a contributor would (its ISO 639-3 code, or the 639-1 code where one exists), curated
with pipelines/default.yaml. Reports, per language, whether the text is kept and by which language
rule (`decisions.lang_rule`), and the same run judged the way Agora did before languages were
compared as languages: declared and detected codes as strings, so every text kept only through a
macrolanguage, a close relative or a language the detector cannot answer counts as dropped
("undeclared_language").

    .venv/bin/python -m benchmarks.bench_udhr_languages
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
from curation.core.errors import AgoraError
from curation.ingest.codes import normalize_language

FAIR_RULES = ("macrolanguage", "relative", "unknown_to_detector")  # a string comparison dropped these


def main() -> None:
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: this benchmark needs the team's real corpora")
    by_code, unusable = _texts_by_language(shared / "corpora" / "udhr" / "udhr.jsonl.gz")
    with tempfile.TemporaryDirectory() as tmp:
        rows = _curate(Path(tmp), by_code)
    body = _report(rows, unusable)
    write_section("Declared languages kept (UDHR)", "python -m benchmarks.bench_udhr_languages", body)
    print(body)


def _texts_by_language(path: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """UDHR records grouped by the code a contributor would declare; codes ISO 639 lacks are listed."""
    by_code: dict[str, list[dict]] = defaultdict(list)
    unusable = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in map(json.loads, handle):
            try:
                by_code[normalize_language(row["iso639_3"])].append({"id": row["id"], "text": row["text"]})
            except AgoraError:
                unusable.append(row["iso639_3"])
    return by_code, sorted(set(unusable))


def _curate(root: Path, by_code: dict[str, list[dict]]) -> list[tuple]:
    """(declared, detected, lang, lang_rule, kept, step, rule) per text, from the catalog."""
    ws = ["--workspace", str(root / "ws"), "--json"]
    assert agora(["init", *ws]) == 0
    for code, records in sorted(by_code.items()):
        path = root / f"{code}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
        assert agora(["register", str(path), "--name", f"udhr-{code}", "--id-field", "id", "--languages", code,
                      "--contributor", "OHCHR", "--country", "CH", "--license", "CC0-1.0", *ws]) == 0
    assert agora(["curate", *ws]) == 0
    con = duckdb.connect(str(root / "ws" / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(root / "ws")])
    rows = con.execute(
        "SELECT substr(s.source, 6) AS declared, s.lang AS detected, x.lang, x.lang_rule, x.kept, x.step, x.rule "
        "FROM decisions x JOIN signals s USING (run_id, doc_id) ORDER BY declared").fetchall()
    con.close()
    return rows


def _report(rows: list[tuple], unusable: list[str]) -> str:
    by_language: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_language[row[0]].append(row)
    kept = {lang: all(r[4] or r[5] == "dedup" for r in docs) for lang, docs in by_language.items()}
    as_strings = {lang: kept[lang] and not any(r[3] in FAIR_RULES for r in docs) for lang, docs in by_language.items()}
    rules = Counter(r[3] for r in rows)
    n = len(by_language)
    lines = [
        f"{len(rows)} texts in {n} declared languages (codes ISO 639 does not know, skipped: {', '.join(unusable)}).",
        "A language counts as kept when all its texts are kept (dropping a duplicate copy counts as kept).",
        "",
        "| languages compared | languages kept | share |",
        "|---|---|---|",
        f"| as strings (before) | {sum(as_strings.values())} | {sum(as_strings.values()) / n:.1%} |",
        f"| as languages (now) | {sum(kept.values())} | {sum(kept.values()) / n:.1%} |",
        "",
        "Texts per language rule: " + ", ".join(f"{rule} {count}" for rule, count in rules.most_common()) + ".",
        "",
        "Kept only by the fair rules (declared ← detected, rule):",
        "",
        ", ".join(f"{r[0]} ← {r[1]} ({r[3]})" for r in rows if r[3] in FAIR_RULES and r[4]) or "none",
        "",
        "Still dropped (declared ← detected: step/rule):",
        "",
        ", ".join(f"{r[0]} ← {r[1]}: {r[5]}/{r[6]}" for r in rows if not r[4] and r[5] != "dedup") or "none",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
