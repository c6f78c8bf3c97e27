"""The funnel of a curation run: documents and bytes in and out, per step, rule, language and source."""
from __future__ import annotations

import duckdb

DECISION_STEPS = ("langid", "quality", "dedup")  # the steps that can drop a document, in policy order


def funnel(con: duckdb.DuckDBPyConnection, clusters_path: str, stage1_files: list[str]) -> dict:
    """Needs the temp tables `docs` and `decisions` that stage 3 leaves on `con`."""
    con.execute("CREATE OR REPLACE TEMP TABLE judged AS SELECT * FROM docs JOIN decisions USING (doc_id)")
    docs_in, bytes_in, docs_out, bytes_out = con.execute(
        "SELECT count(*), coalesce(sum(n_bytes), 0), count(*) FILTER (WHERE kept), "
        "coalesce(sum(n_bytes) FILTER (WHERE kept), 0) FROM judged"
    ).fetchone()
    dropped = {step: (docs, size) for step, docs, size in con.execute(
        "SELECT step, count(*), sum(n_bytes) FROM judged WHERE NOT kept GROUP BY step").fetchall()}
    steps, remaining_docs, remaining_bytes = [], docs_in, bytes_in
    for step in DECISION_STEPS:
        docs, size = dropped.get(step, (0, 0))
        remaining_docs, remaining_bytes = remaining_docs - docs, remaining_bytes - size
        steps.append({"step": step, "docs_dropped": docs, "bytes_dropped": int(size),
                      "docs_after": remaining_docs, "bytes_after": int(remaining_bytes)})
    return {
        "docs_in": docs_in, "bytes_in": int(bytes_in), "docs_out": docs_out, "bytes_out": int(bytes_out),
        "steps": steps,
        "rules": [{"step": s, "rule": r, "docs": n} for s, r, n in con.execute(
            "SELECT step, rule, count(*) AS n FROM judged WHERE NOT kept GROUP BY ALL ORDER BY n DESC, step, rule"
        ).fetchall()],
        "languages": _breakdown(con, "lang"),
        "sources": _breakdown(con, "source"),
        "dup_clusters": _cluster_summary(con, clusters_path),
    }


def _breakdown(con: duckdb.DuckDBPyConnection, column: str) -> dict:
    # `column` is one of two fixed names chosen above, never user input.
    rows = con.execute(
        f"""
        SELECT {column}, count(*), sum(n_bytes), count(*) FILTER (WHERE kept),
               coalesce(sum(n_bytes) FILTER (WHERE kept), 0),
               count(*) FILTER (WHERE step = 'langid'), count(*) FILTER (WHERE step = 'quality'),
               count(*) FILTER (WHERE step = 'dedup')
        FROM judged GROUP BY {column} ORDER BY count(*) DESC, {column}
        """
    ).fetchall()
    return {
        key: {"docs_in": n_in, "bytes_in": int(b_in), "docs_out": n_out, "bytes_out": int(b_out),
              "dropped": {"langid": lang, "quality": quality, "dedup": dedup}}
        for key, n_in, b_in, n_out, b_out, lang, quality, dedup in rows
    }


def _cluster_summary(con: duckdb.DuckDBPyConnection, clusters_path: str) -> dict:
    by_kind = dict(con.execute(
        "SELECT kind, count(DISTINCT cluster_id) FROM read_parquet(?) GROUP BY kind", [clusters_path]).fetchall())
    members, cross_source = con.execute(
        """
        WITH c AS (SELECT c.cluster_id, d.source FROM read_parquet(?) c JOIN docs d USING (doc_id))
        SELECT count(*), (SELECT count(*) FROM (SELECT cluster_id FROM c GROUP BY cluster_id
                                               HAVING count(DISTINCT source) > 1))
        FROM c
        """,
        [clusters_path],
    ).fetchone()
    return {"exact": by_kind.get("exact", 0), "fuzzy": by_kind.get("fuzzy", 0), "docs": members,
            "cross_source": cross_source}
