"""Which copy of a duplicated text is kept: one ranking, shared by stage 2 (a cluster's
representative) and stage 3 (the next copy when the representative itself was filtered out).

Order: the recipe's source priority (listed sources first, in list order), then the license
class (most permissive first, `curation.ingest.licenses.license_classes`), then the quality
score (higher first), then doc_id, so the choice never depends on chance or file order.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb
import pyarrow as pa

from curation.ingest.licenses import license_classes

UNLISTED = 2**31 - 1  # sources without a recipe priority and unknown license classes rank last


def source_priority(names: Sequence[str] | None) -> dict[str, int]:
    """The recipe's `dedup.source_priority` list as name -> rank."""
    return {str(name): rank for rank, name in enumerate(names or [])}


def register_ranks(con: duckdb.DuckDBPyConnection, priority: Mapping[str, int]) -> None:
    """The views `_rank_source(source, priority)` and `_rank_license(license_class, rank)` on `con`."""
    con.register("_rank_source", pa.table(
        {"source": list(priority), "priority": list(priority.values())},
        schema=pa.schema([("source", pa.string()), ("priority", pa.int64())]),
    ))
    classes = license_classes()
    con.register("_rank_license", pa.table({"license_class": classes, "rank": list(range(len(classes)))}))


def rank_joins(alias: str) -> str:
    """SQL joining the rank views to the documents aliased `alias` (columns source, license_class)."""
    return (f"LEFT JOIN _rank_source _rs ON _rs.source = {alias}.source "
            f"LEFT JOIN _rank_license _rl ON _rl.license_class = {alias}.license_class")


def rank_order(alias: str) -> str:
    """SQL ORDER BY terms, best copy first, for documents aliased `alias` joined by `rank_joins`."""
    return (f"coalesce(_rs.priority, {UNLISTED}), coalesce(_rl.rank, {UNLISTED}), "
            f"{alias}.quality DESC NULLS LAST, {alias}.doc_id")
