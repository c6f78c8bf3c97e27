"""Stage 3: apply a recipe's thresholds to stored signals and clusters; decide, with reasons.

Every document gets one decision row: kept, or the first rule it broke in pipeline order
(langid, then quality, then dedup), with the measured value and the threshold. The row also holds
the document's language as the policy sees it and the rule that gave it (`_Languages`): declared and
detected codes are compared as languages (`curation.text.languages`), and a language the detector
does not know is not junk. Language-specific thresholds (stop words above all) need a language we
can trust: detected with confidence AND declared by the source (or its macrolanguage, or a close
relative). Otherwise the "und" thresholds apply, because a detector that knows fifty languages
labels the other thousands as their neighbours, with confidence. Changing a threshold re-runs only
this stage: a query over stored rows, not a re-crawl.

A run's curated set is these decisions over the stored stage-1 rows, not a copy of the text:
`curation.stages.kept` reads it, for `agora export`, mixtures and training alike.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

from curation.stages.ranking import rank_joins, rank_order, register_ranks, source_priority
from curation.text.langid import UNDETERMINED, get_identifier
from curation.text.languages import match_declared, unknown_to
from curation.text.quality import SIGNAL_NAMES, failed_rules, thresholds_for

DECISION_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()), ("lang", pa.string()), ("lang_rule", pa.string()), ("kept", pa.bool_()),
        ("step", pa.string()), ("rule", pa.string()), ("value", pa.float64()), ("threshold", pa.float64()),
        ("detail", pa.string()),
    ]
)
BATCH_ROWS = 10_000


def decide(con: duckdb.DuckDBPyConnection, recipe, stage1_files: list[str], clusters_path: str,
           declared: dict[str, list[str]]) -> None:
    """Leaves the temp table `decisions` (one row per document) on `con`."""
    # stage-1 rows written before the store was made compact also have shingles: left out like the text
    con.execute("CREATE OR REPLACE TEMP TABLE docs AS SELECT COLUMNS(lambda c: c NOT IN ('text', 'shingles', "
                "'signature')) FROM read_parquet(?, union_by_name = true)", [stage1_files])
    con.register("prelim_view", _filter_decisions(con, recipe, declared))
    con.execute("CREATE OR REPLACE TEMP TABLE prelim AS SELECT * FROM prelim_view")
    con.unregister("prelim_view")
    register_ranks(con, source_priority(recipe.dedup.get("source_priority")))
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE decisions AS
        WITH ranked AS (
            SELECT c.doc_id, d.content_hash,
                   first_value(c.doc_id) OVER w AS keeper,
                   first_value(d.content_hash) OVER w AS keeper_hash,
                   row_number() OVER w AS position
            FROM read_parquet($1) c
            JOIN prelim p ON p.doc_id = c.doc_id AND p.kept
            JOIN docs d ON d.doc_id = c.doc_id
            {rank_joins("d")}
            WINDOW w AS (PARTITION BY c.cluster_id ORDER BY c.is_representative DESC, {rank_order("d")})
        )
        SELECT p.doc_id, p.lang, p.lang_rule,
               p.kept AND coalesce(r.position, 1) = 1 AS kept,
               CASE WHEN r.position > 1 THEN 'dedup' ELSE p.step END AS step,
               CASE WHEN r.position > 1 AND r.content_hash = r.keeper_hash THEN 'exact_duplicate'
                    WHEN r.position > 1 THEN 'near_duplicate' ELSE p.rule END AS rule,
               CASE WHEN r.position > 1 THEN NULL ELSE p.value END AS value,
               CASE WHEN r.position > 1 THEN NULL ELSE p.threshold END AS threshold,
               CASE WHEN r.position > 1 THEN 'duplicate of ' || r.keeper ELSE p.detail END AS detail
        FROM prelim p LEFT JOIN ranked r USING (doc_id)
        ORDER BY p.doc_id
        """,
        [clusters_path],
    )


def _filter_decisions(con: duckdb.DuckDBPyConnection, recipe, declared: dict[str, list[str]]) -> pa.Table:
    """langid and quality rules, per document, with per-language thresholds (Python: few µs a row)."""
    languages = _Languages(recipe, declared)
    require_declared = bool(recipe.langid.get("require_declared", True))
    thresholds_cache: dict[tuple[str, str], dict] = {}
    columns = {name: [] for name in DECISION_SCHEMA.names}
    reader = con.sql(
        f"SELECT doc_id, source, lang, lang_score, script, {', '.join(SIGNAL_NAMES)} FROM docs ORDER BY doc_id"
    ).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        for row in batch.to_pylist():
            lang, lang_rule = languages.of(row)
            decision = _first_failure(row, lang, lang_rule, require_declared, declared.get(row["source"], []),
                                      thresholds_cache, recipe.quality)
            values = (row["doc_id"], lang, lang_rule, decision is None, *(decision or (None,) * 5))
            for name, value in zip(DECISION_SCHEMA.names, values):
                columns[name].append(value)
    return pa.table(columns, schema=DECISION_SCHEMA)


class _Languages:
    """A document's language as the policy sees it, and the rule that gave it (decisions.lang_rule):

    - uncertain: detected below `langid.min_score` or in under `min_chars` characters → "und";
    - not_declared: the source declared no language → the detected one;
    - declared / macrolanguage / relative: the detected language is a declared one, or in its ISO 639-3
      macrolanguage, or in a `langid.relatives` group with it → that declared language;
    - unknown_to_detector: the source declares a language the backend cannot answer, so its text is
      labelled as something else → that declared language (or "und" when several are unknown);
    - undeclared: confidently another language → the detected one (dropped by `require_declared`).
    """

    def __init__(self, recipe, declared: dict[str, list[str]]):
        self.recipe, self.declared = recipe, declared
        self.min_score = float(recipe.langid.get("min_score", 0.0))
        self.min_chars = int(recipe.langid.get("min_chars", 0))
        self.relatives = [frozenset(group) for group in recipe.langid.get("relatives") or []]
        self._verdicts: dict[tuple[str, str], tuple[str, str]] = {}
        self._known: frozenset[str] | None = None

    def of(self, row: dict) -> tuple[str, str]:
        if row["lang_score"] < self.min_score or row["n_chars"] < self.min_chars:
            return UNDETERMINED, "uncertain"
        key = (row["lang"], row["source"])
        if key not in self._verdicts:
            self._verdicts[key] = self._verdict(*key)
        return self._verdicts[key]

    def _verdict(self, detected: str, source: str) -> tuple[str, str]:
        declared = self.declared.get(source, [])
        if not declared:
            return detected, "not_declared"
        if match := match_declared(detected, declared, self.relatives):
            return match
        if unknown := unknown_to(self.known(), declared):
            return (unknown[0] if len(unknown) == 1 else UNDETERMINED), "unknown_to_detector"
        return detected, "undeclared"

    def known(self) -> frozenset[str]:
        """What the recipe's backend can answer: loaded once, and only when a document needs it."""
        if self._known is None:
            self._known = get_identifier(self.recipe.langid_backend, **self.recipe.langid_options()).known
        return self._known


# The rules under which the policy trusts a document's language enough for its specific thresholds.
# Not unknown_to_detector: stage 1 counted stop words in the language the detector guessed.
TRUSTED_LANGUAGE = ("declared", "macrolanguage", "relative")


def _first_failure(row: dict, lang: str, lang_rule: str, require_declared: bool, declared: list[str],
                   thresholds_cache: dict, quality: dict) -> tuple | None:
    if require_declared and lang_rule == "undeclared":
        return ("langid", "undeclared_language", row["lang_score"], None,
                f"detected {lang}; declared {', '.join(declared)}")
    rules_lang = lang if lang_rule in TRUSTED_LANGUAGE else UNDETERMINED
    key = (rules_lang, row["script"])
    if key not in thresholds_cache:
        thresholds_cache[key] = thresholds_for(quality, rules_lang, row["script"])
    failures = failed_rules({name: row[name] for name in SIGNAL_NAMES}, thresholds_cache[key])
    if failures:
        rule, value, threshold = failures[0]
        return ("quality", rule, float(value), float(threshold), None)
    return None


def write_decisions(con: duckdb.DuckDBPyConnection, run_id: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    con.execute("COPY (SELECT ? AS run_id, * FROM decisions) TO ? (FORMAT parquet, COMPRESSION zstd)",
                [run_id, str(tmp)])
    os.replace(tmp, path)
