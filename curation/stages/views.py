"""The catalog's public SQL interface over per-document Parquet: documents, signals, decisions,
dup_clusters. Paths are relative to the workspace (the catalog sets file_search_path; with the
duckdb CLI, start it inside the workspace folder), so a workspace can be moved or copied."""
from __future__ import annotations

import duckdb

from curation.stages.stage1 import RECORD_META
from curation.text.pii import KINDS as PII_KINDS
from curation.text.quality import SIGNAL_NAMES

STAGE1_GLOB = "stage1/*/*/*/part-*.parquet"
# union_by_name: stage-1 rows written by older code (another stage1_key) lack newer columns; they read as null
STAGE1_ROWS = f"read_parquet('{STAGE1_GLOB}', union_by_name = true)"

VIEWS = {
    "documents": f"""
        SELECT doc_id, source, source_version, record_id, content_hash, n_chars::BIGINT AS n_chars, n_bytes,
               {', '.join(f'max({key}) AS {key}' for key in RECORD_META)}
        FROM (SELECT * FROM {STAGE1_ROWS}
              UNION ALL BY NAME SELECT {', '.join(f'NULL::VARCHAR AS {key}' for key in RECORD_META)} WHERE false)
        -- one row per document and text; the empty row gives the record facts' columns to a workspace whose
        -- stage-1 rows were all written before they were kept, where they read as null
        GROUP BY ALL
    """,
    "signals": f"""
        SELECT r.run_id, s.doc_id, s.source, s.lang, s.lang_score, s.script,
               {', '.join(f's.pii_{k}' for k in PII_KINDS)}, {', '.join(f's.{n}' for n in SIGNAL_NAMES)}, s.quality
        FROM {STAGE1_ROWS} s
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
