"""The catalog's public SQL interface over per-document Parquet: documents, signals, decisions,
dup_clusters. Paths are relative to the workspace (the catalog sets file_search_path; with the
duckdb CLI, start it inside the workspace folder), so a workspace can be moved or copied."""
from __future__ import annotations

import duckdb

from curation.text.pii import KINDS as PII_KINDS
from curation.text.quality import SIGNAL_NAMES

STAGE1_GLOB = "stage1/*/*/*/part-*.parquet"

VIEWS = {
    "documents": f"""
        SELECT DISTINCT doc_id, source, source_version, record_id, content_hash, n_chars::BIGINT AS n_chars, n_bytes
        FROM read_parquet('{STAGE1_GLOB}')
    """,
    "signals": f"""
        SELECT r.run_id, s.doc_id, s.source, s.lang, s.lang_score, s.script,
               {', '.join(f's.pii_{k}' for k in PII_KINDS)}, {', '.join(f's.{n}' for n in SIGNAL_NAMES)}, s.quality
        FROM read_parquet('{STAGE1_GLOB}') s
        JOIN run_sources r ON r.source_id = s.source_id AND r.stage1_key = s.stage1_key
    """,
    # union_by_name: runs made before decisions had a lang_rule column read it as null
    "decisions": "SELECT * FROM read_parquet('runs/*/decisions.parquet', union_by_name = true)",
    "dup_clusters": "SELECT * FROM read_parquet('runs/*/dup_clusters.parquet')",
}


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the views; called by the driver after each run, once the files exist."""
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
