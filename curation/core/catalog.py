"""The workspace's DuckDB catalog: opening it safely, and creating or upgrading its schema.

Only one process may write at a time (DuckDB locks the file). Connections are short-lived, so a
second process waits briefly for the first and then says the workspace is busy, instead of
failing with DuckDB's lock error or, worse, corrupting anything.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from curation.core.errors import WorkspaceBusy
from curation.core.workspace import Workspace

BUSY_TIMEOUT_S = 10.0

# Each entry upgrades the schema by one version. Never edit a released entry: append a new one.
MIGRATIONS: list[str] = [
    # 1: contributors, versioned sources, runs
    """
    CREATE SEQUENCE contributor_ids START 1;
    CREATE TABLE contributors (
        contributor_id INTEGER PRIMARY KEY DEFAULT nextval('contributor_ids'),
        name VARCHAR NOT NULL,
        organization VARCHAR,
        country VARCHAR NOT NULL,
        contact VARCHAR,
        created_at TIMESTAMP DEFAULT current_timestamp
    );
    CREATE SEQUENCE source_ids START 1;
    CREATE TABLE sources (
        source_id INTEGER PRIMARY KEY DEFAULT nextval('source_ids'),
        name VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        contributor_id INTEGER NOT NULL REFERENCES contributors (contributor_id),
        license VARCHAR NOT NULL,
        license_class VARCHAR NOT NULL,
        languages VARCHAR[] NOT NULL,
        format VARCHAR NOT NULL,
        location VARCHAR NOT NULL,
        text_fields VARCHAR[] NOT NULL,
        id_field VARCHAR,
        columns VARCHAR[],
        description VARCHAR,
        homepage VARCHAR,
        fingerprint VARCHAR NOT NULL,
        records BIGINT NOT NULL,
        malformed BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        file_bytes BIGINT NOT NULL,
        language_profile VARCHAR NOT NULL,
        status VARCHAR NOT NULL DEFAULT 'active',
        registered_at TIMESTAMP DEFAULT current_timestamp,
        UNIQUE (name, version)
    );
    CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        recipe VARCHAR,
        code_version VARCHAR,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        status VARCHAR NOT NULL,
        counts VARCHAR
    );
    """,
    # 2: what registration learned beyond counts: malformed examples, attribution, language mismatch
    """
    ALTER TABLE sources ADD COLUMN attribution VARCHAR;
    ALTER TABLE sources ADD COLUMN language_mismatch VARCHAR[];
    CREATE TABLE malformed_records (
        source_id INTEGER NOT NULL,
        file VARCHAR NOT NULL,
        line BIGINT,
        problem VARCHAR NOT NULL
    );
    CREATE VIEW source_overview AS
    SELECT s.source_id, s.name, s.version, s.status, s.records, s.malformed, s.bytes, s.file_bytes,
           s.license, s.license_class, s.languages, s.language_profile, s.language_mismatch,
           c.name AS contributor, c.organization, c.country, s.fingerprint, s.format, s.location,
           s.text_fields, s.id_field, s.columns, s.description, s.homepage, s.attribution, s.registered_at
    FROM sources s JOIN contributors c USING (contributor_id);
    """,
    # 3: curation runs: which source versions (and which stage-1 rows) each run used
    """
    ALTER TABLE runs ADD COLUMN parent_run VARCHAR;
    CREATE TABLE run_sources (
        run_id VARCHAR NOT NULL,
        source_id INTEGER NOT NULL,
        stage1_key VARCHAR NOT NULL,
        PRIMARY KEY (run_id, source_id)
    );
    """,
    # 4: mixtures and training runs (their per-document rows live in Parquet beside the catalog)
    """
    CREATE TABLE mixtures (
        name VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        curation_run VARCHAR NOT NULL,
        params VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        tokenizer_dir VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        train_tokens BIGINT NOT NULL,
        created_at TIMESTAMP DEFAULT current_timestamp,
        PRIMARY KEY (name, version)
    );
    CREATE TABLE mixture_parts (
        mixture VARCHAR NOT NULL,
        version INTEGER NOT NULL,
        lang VARCHAR NOT NULL,
        source VARCHAR NOT NULL,
        source_version INTEGER NOT NULL,
        license_class VARCHAR NOT NULL,
        docs BIGINT NOT NULL,
        heldout_docs BIGINT NOT NULL,
        available_tokens BIGINT NOT NULL,
        target_tokens BIGINT NOT NULL,
        epochs DOUBLE NOT NULL,
        share DOUBLE NOT NULL,
        excluded_reason VARCHAR
    );
    CREATE TABLE training_runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        mixture VARCHAR,
        mixture_version INTEGER,
        base_run VARCHAR,
        source VARCHAR,
        config VARCHAR NOT NULL,
        tokenizer_dir VARCHAR,
        out_dir VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        started_at TIMESTAMP,
        finished_at TIMESTAMP,
        steps INTEGER,
        first_loss DOUBLE,
        last_loss DOUBLE,
        tokens_per_s DOUBLE
    );
    CREATE TABLE train_metrics (run_id VARCHAR NOT NULL, step INTEGER NOT NULL, loss DOUBLE NOT NULL, lr DOUBLE);
    CREATE TABLE eval_metrics (
        run_id VARCHAR NOT NULL,
        step INTEGER NOT NULL,
        lang VARCHAR NOT NULL,
        bits_per_byte DOUBLE NOT NULL,
        docs BIGINT NOT NULL,
        bytes BIGINT NOT NULL,
        evaluated_at TIMESTAMP DEFAULT current_timestamp
    );
    """,
    # 5: withdrawals (a source is never deleted: it is marked, with the reason and time)
    """
    ALTER TABLE sources ADD COLUMN withdrawn_reason VARCHAR;
    ALTER TABLE sources ADD COLUMN withdrawn_at TIMESTAMP;
    CREATE OR REPLACE VIEW source_overview AS
    SELECT s.source_id, s.name, s.version, s.status, s.records, s.malformed, s.bytes, s.file_bytes,
           s.license, s.license_class, s.languages, s.language_profile, s.language_mismatch,
           c.name AS contributor, c.organization, c.country, s.fingerprint, s.format, s.location,
           s.text_fields, s.id_field, s.columns, s.description, s.homepage, s.attribution, s.registered_at,
           s.withdrawn_reason, s.withdrawn_at
    FROM sources s JOIN contributors c USING (contributor_id);
    """,
    # 6: the checkpoints a training run kept (the newest ones; older ones are pruned by the trainer)
    """
    CREATE TABLE checkpoints (run_id VARCHAR NOT NULL, step INTEGER NOT NULL, path VARCHAR NOT NULL);
    """,
    # 7: one key, one meaning: a training run's folder is its run_dir (the model is run_dir/model)
    """
    ALTER TABLE training_runs RENAME COLUMN out_dir TO run_dir;
    """,
    # 8: contributions as shipped: which files a source reads (include/exclude globs), records skipped
    #    by reason (WARC requests, pages without main text), and notes (left-out files, README metadata)
    """
    ALTER TABLE sources ADD COLUMN include VARCHAR[];
    ALTER TABLE sources ADD COLUMN exclude VARCHAR[];
    ALTER TABLE sources ADD COLUMN skipped BIGINT DEFAULT 0;
    ALTER TABLE sources ADD COLUMN skipped_reasons VARCHAR DEFAULT '{}';
    ALTER TABLE sources ADD COLUMN notes VARCHAR[];
    CREATE OR REPLACE VIEW source_overview AS
    SELECT s.source_id, s.name, s.version, s.status, s.records, s.malformed, s.bytes, s.file_bytes,
           s.license, s.license_class, s.languages, s.language_profile, s.language_mismatch,
           c.name AS contributor, c.organization, c.country, s.fingerprint, s.format, s.location,
           s.text_fields, s.id_field, s.columns, s.description, s.homepage, s.attribution, s.registered_at,
           s.withdrawn_reason, s.withdrawn_at, s.include, s.exclude, s.skipped, s.skipped_reasons, s.notes
    FROM sources s JOIN contributors c USING (contributor_id);
    """,
    # 9: quality models trained by `agora quality train`: the file, what it was trained on, how well it did
    """
    CREATE TABLE quality_models (
        model_id VARCHAR PRIMARY KEY,
        name VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        path VARCHAR NOT NULL,
        training_data VARCHAR NOT NULL,
        metrics VARCHAR NOT NULL,
        created_at TIMESTAMP DEFAULT current_timestamp
    );
    """,
    # 10: throughput per logged training step: tokens/s over all processes, MFU (NULL off GPUs)
    """
    ALTER TABLE train_metrics ADD COLUMN tokens_per_s DOUBLE;
    ALTER TABLE train_metrics ADD COLUMN mfu DOUBLE;
    """,
    # 11: what each stage-1 task of a curation run read: across tasks, every record exactly once
    """
    CREATE TABLE stage1_tasks (
        run_id VARCHAR NOT NULL,
        task INTEGER NOT NULL,
        shards INTEGER NOT NULL,
        records BIGINT NOT NULL,
        malformed BIGINT NOT NULL,
        skipped BIGINT NOT NULL,
        PRIMARY KEY (run_id, task)
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT max(version) FROM schema_version").fetchone()[0] or 0


def migrate(con: duckdb.DuckDBPyConnection, target: int = SCHEMA_VERSION) -> int:
    """Apply the migrations the catalog lacks, each in its own transaction; returns the new version."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER, applied_at TIMESTAMP)")
    current = schema_version(con)
    for version in range(current + 1, target + 1):
        con.execute("BEGIN TRANSACTION")
        con.execute(MIGRATIONS[version - 1])
        con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)", [version])
        con.execute("COMMIT")
    return max(current, target)


def _connect_waiting(path: str, timeout_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + timeout_s
    delay = 0.05
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WorkspaceBusy(
                    f"workspace is busy: another agora process is writing to {path}; try again when it finishes"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


@contextmanager
def open_catalog(workspace: Workspace, timeout_s: float = BUSY_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an up-to-date catalog, closed (and the lock released) on exit."""
    workspace.root.mkdir(parents=True, exist_ok=True)
    con = _connect_waiting(str(workspace.catalog_path), timeout_s)
    try:
        # The per-document views read Parquet by paths relative to the workspace, so it can move.
        con.execute("SET file_search_path = ?", [str(workspace.root)])
        migrate(con)
        yield con
    finally:
        con.close()


def work_connection(workspace: Workspace) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for work over the stored Parquet (stages 2-3, export) that spills to
    WORKSPACE/tmp when it outgrows memory, so the catalog itself stays free for other commands."""
    spill = workspace.root / "tmp"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET temp_directory = ?", [str(spill)])
    con.execute("SET preserve_insertion_order = false")
    return con


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]
