"""Which documents a mixture holds out, takes, how many times and in which order: SQL over DuckDB tables.

The arithmetic that decides how much (budgets.py) is small and pure; what it applies to is one row
per document, which at ten million documents must not become Python objects. So these steps run as
queries on the mixture's DuckDB connection, which spills to disk past its memory limit.

Every random choice is a 64-bit draw, blake2b of (purpose, seed, doc_id): the same in every process,
and a document's draw does not change when other documents are added or removed.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa

from curation.mixture.budgets import MixtureError, holdout_cut, holdout_size


def connect(spill_dir: Path | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the `draw` function; past `memory_limit` it spills to `spill_dir`."""
    con = duckdb.connect()
    if spill_dir:
        spill_dir.mkdir(parents=True, exist_ok=True)
        con.execute("SET temp_directory = ?", [str(spill_dir)])
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    con.create_function("draw", _draws, ["VARCHAR", "BIGINT", "VARCHAR"], "UBIGINT", type="arrow")
    return con


def draw(purpose: str, seed: int, doc_id: str) -> int:
    """A 64-bit draw per document, stable across processes (unlike hash()) and independent per purpose."""
    key = f"{purpose}\x1f{seed}\x1f{doc_id}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big")


def _draws(purpose: pa.Array, seed: pa.Array, doc_ids: pa.Array) -> pa.Array:
    """`draw` over a column, for DuckDB (purpose and seed are the same in every row of a call)."""
    if not len(doc_ids):
        return pa.array([], pa.uint64())
    p, s = purpose[0].as_py(), seed[0].as_py()
    return pa.array([draw(p, s, d) for d in doc_ids.to_pylist()], pa.uint64())


def hold_out(con: duckdb.DuckDBPyConnection, docs: str, fraction: float, seed: int) -> None:
    """Table `held_out(doc_id)`: the documents of `docs` (doc_id, lang) kept out of training.

    Per language, a document is held out when its draw falls below `fraction`, so the choice is the
    same on every run and a held-out document stays held out when documents are added; the number
    is then adjusted by `budgets.holdout_size` (a few at least, one left for training), taking the
    documents with the lowest draws.
    """
    cut = holdout_cut(fraction)
    con.execute(f"CREATE OR REPLACE TEMP TABLE holdout_draws AS "
                f"SELECT doc_id, lang, draw('holdout', ?, doc_id) AS d FROM {docs}", [seed])
    sizes = con.execute("SELECT lang, count(*), count(*) FILTER (WHERE d::HUGEINT < ?::HUGEINT) "
                        "FROM holdout_draws GROUP BY lang", [cut]).fetchall()
    con.register("holdout_quota", pa.table({"lang": [lang for lang, _, _ in sizes],
                                            "k": [holdout_size(n, below, fraction) for _, n, below in sizes]}))
    con.execute("CREATE OR REPLACE TEMP TABLE held_out AS SELECT doc_id FROM holdout_draws JOIN holdout_quota "
                "USING (lang) QUALIFY row_number() OVER (PARTITION BY lang ORDER BY d, doc_id) <= k")
    con.execute("DROP TABLE holdout_draws")
    con.unregister("holdout_quota")


def sample(con: duckdb.DuckDBPyConnection, docs: str, targets: dict[tuple[str, str], int], seed: int) -> None:
    """Table `chosen(doc_id, lang, source, n_tokens, repeats)`: the documents of `docs` (doc_id,
    lang, source, n_tokens) that cover each (lang, source) part's target, sorted by doc_id.

    Every document of a part is taken floor(target / available) times; the remainder is covered by
    documents in their draw order, stopping at the first one that reaches or passes it. So a part
    overshoots its target by less than one document and never falls short, and the extra documents
    are always a prefix of the same order: adding a document changes the selection only if it
    ranks before the cut. Documents of zero tokens are skipped.
    """
    con.register("part_targets", pa.table({"lang": [lang for lang, _ in targets],
                                           "source": [source for _, source in targets],
                                           "target": pa.array(list(targets.values()), pa.int64())}))
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE part_docs AS
            SELECT d.doc_id, d.lang, d.source, d.n_tokens, t.target, draw('sample', ?, d.doc_id) AS d
            FROM {docs} d JOIN part_targets t USING (lang, source) WHERE d.n_tokens > 0 AND t.target > 0""", [seed])
        for lang, source, target in con.execute("SELECT t.lang, t.source, t.target FROM part_targets t ANTI JOIN "
                                                "part_docs USING (lang, source) WHERE t.target > 0 ORDER BY ALL "
                                                "LIMIT 1").fetchall():
            raise MixtureError(f"cannot take {target} tokens of {lang} from {source}: its documents have no tokens")
        con.execute("""
            CREATE OR REPLACE TEMP TABLE chosen AS
            WITH passes AS (
                SELECT lang, source, target // sum(n_tokens) AS whole, target % sum(n_tokens) AS remainder
                FROM part_docs GROUP BY lang, source, target),
            ranked AS (
                SELECT doc_id, lang, source, n_tokens,
                       sum(n_tokens) OVER (PARTITION BY lang, source ORDER BY d, doc_id
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
                FROM part_docs)
            SELECT doc_id, lang, source, n_tokens, (whole + (coalesce(before, 0) < remainder)::INT)::BIGINT AS repeats
            FROM ranked JOIN passes USING (lang, source)
            WHERE repeats > 0 ORDER BY doc_id""")
        con.execute("DROP TABLE part_docs")
    finally:
        con.unregister("part_targets")


def order(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    """Table `manifest(position, doc_id, lang, source, n_tokens)`: the training order of `chosen`.

    Each document draws one phase u in [0, 1); its k-th of r copies sits at (k + u) / r of the run.
    With equal repeats this is the same shuffle pass after pass; copies of a document are 1/r of the
    run apart, never adjacent while another document appears at least as often.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE manifest AS
        WITH phased AS (
            SELECT doc_id, lang, source, n_tokens, repeats,
                   draw('order', ?, doc_id)::DOUBLE / 18446744073709551616::DOUBLE AS phase
            FROM chosen),
        copies AS (SELECT *, unnest(range(repeats)) AS k FROM phased)
        SELECT (row_number() OVER (ORDER BY (k + phase) / repeats, doc_id) - 1)::BIGINT AS position,
               doc_id, lang, source, n_tokens
        FROM copies ORDER BY position""", [seed])


def tokenizer_sample(con: duckdb.DuckDBPyConnection, docs: str, max_bytes: int, seed: int) -> None:
    """Table `tokenizer_sample(doc_id)`: documents of `docs` (doc_id, n_bytes) in draw order up to
    `max_bytes` of text (all of them when they hold less), for the tokenizer to learn from: its
    memory and time grow with the text it reads, not with what it is then used on."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE tokenizer_sample AS
        SELECT doc_id FROM (
            SELECT doc_id, sum(n_bytes) OVER (ORDER BY draw('tokenizer', ?, doc_id), doc_id
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
            FROM {docs})
        WHERE coalesce(before, 0) < ?""", [seed, max_bytes])
