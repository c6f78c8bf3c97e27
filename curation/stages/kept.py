"""A curation run's curated set: its decisions over the stored stage-1 rows, read on demand.

A run stores no copy of the text it keeps: it adds its decisions and duplicate clusters (a few
percent of the text's bytes), and the stage-1 store holds each document's text once, for every
run. Everything that needs the kept documents reads them through `Kept` — `agora export`, and
mixtures (candidates, the tokenizer's sample, token counts), so training too: a run's stage-1
Parquet files joined with its decisions where kept, with the language the policy gave the document.

    kept = kept_documents(workspace, run_id)
    sql, params = kept.query(("doc_id", "text"))
    con.execute(f"SELECT count(*) FROM ({sql})", params)
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.core.catalog import fetch_dicts, open_catalog, work_connection
from curation.core.errors import AgoraError, NotFound
from curation.core.workspace import Workspace
from curation.stages.stage1 import RECORD_META, source_dir

# What a kept document is, as exported: its record, the policy's language, its license and text.
KEPT_COLUMNS = ("doc_id", "source", "source_version", "record_id", "lang", "script", "license_class", "n_bytes",
                "text", *RECORD_META)
FORMATS = ("parquet", "jsonl")
PART_ROWS = 500_000  # documents per exported file
EXPORT_BATCH = 4096


@dataclass(frozen=True)
class Kept:
    """The kept documents of one finished run (picklable: tokenizing tasks get it as it is)."""

    run_id: str
    stage1_files: tuple[str, ...]  # the run's stage-1 Parquet files
    decisions: str  # the run's decisions.parquet
    stored: frozenset[str]  # columns the stage-1 files have (older stores lack the newer ones)

    def query(self, columns: tuple[str, ...] = KEPT_COLUMNS) -> tuple[str, list]:
        """SQL over the kept documents with these columns, and its parameters (the files, in order).
        Use it as a subquery: `f"SELECT … FROM ({sql}) k …"` with `params + [your own]`."""
        unknown = set(columns) - set(KEPT_COLUMNS)
        if unknown:
            raise ValueError(f"not a column of kept documents: {', '.join(sorted(unknown))}")
        select = ", ".join("d.lang" if c == "lang" else f"s.{c}" if c in self.stored else f"NULL::VARCHAR AS {c}"
                           for c in columns)
        sql = (f"SELECT {select} FROM read_parquet(?, union_by_name = true) s "
               "JOIN read_parquet(?) d ON d.doc_id = s.doc_id AND d.kept")
        return sql, [list(self.stage1_files), self.decisions]


def kept_documents(workspace: Workspace, run_id: str) -> Kept:
    """The curated set of finished curation run `run_id`."""
    with open_catalog(workspace) as con:
        runs = fetch_dicts(con, "SELECT status FROM runs WHERE run_id = ? AND kind = 'curate'", [run_id])
        if not runs:
            raise NotFound(f"no curation run {run_id!r} (see `agora runs`)")
        if runs[0]["status"] != "finished":
            raise AgoraError(f"run {run_id} is not finished; run `agora curate` again to complete it first")
        sources = fetch_dicts(con, "SELECT r.stage1_key, s.name, s.version FROM run_sources r "
                                   "JOIN sources s USING (source_id) WHERE r.run_id = ? ORDER BY s.name", [run_id])
    files = [str(path) for source in sources
             for path in sorted(source_dir(workspace.root / "stage1" / source["stage1_key"], source)
                                .glob("part-*.parquet"))]
    decisions = workspace.run_dir(run_id) / "decisions.parquet"
    if not files or not decisions.is_file():
        raise AgoraError(f"run {run_id} has lost its stored rows ({'decisions' if files else 'stage-1 files'} "
                         f"missing under {workspace.root}); curate again")
    stored = frozenset(name for path in files for name in pq.read_schema(path).names)
    return Kept(run_id, tuple(files), str(decisions), stored)


def export(workspace: Workspace, run_id: str, fmt: str, out: Path) -> dict:
    """Write run `run_id`'s kept documents to `out`, one folder per language (OUT/de/part-00000.parquet
    or .jsonl; a new part every PART_ROWS documents), sorted by doc_id: loadable with
    `datasets.load_dataset("parquet", data_dir=OUT)`. One sorted pass over the store, streamed in
    Arrow batches. `out` must not exist or be empty; the folder appears whole or not at all."""
    if fmt not in FORMATS:
        raise AgoraError(f"unknown export format {fmt!r}; choose {' or '.join(FORMATS)}")
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise AgoraError(f"{out} already exists and is not an empty folder; give a new or empty --out")
    kept = kept_documents(workspace, run_id)
    tmp = out.with_name(f".{out.name}.export-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sql, params = kept.query()
    con = work_connection(workspace)
    try:
        reader = con.sql(f"SELECT * FROM ({sql}) ORDER BY lang, doc_id", params=params).to_arrow_reader(EXPORT_BATCH)
        with _Parts(tmp, fmt) as parts:
            for batch in reader:
                langs = batch.column("lang").to_pylist()
                start = 0
                for end in range(1, len(langs) + 1):  # the batch is sorted: one slice per language in it
                    if end == len(langs) or langs[end] != langs[start]:
                        parts.write(langs[start], batch.slice(start, end - start))
                        start = end
        languages = dict(sorted(parts.counts.items()))
    finally:
        con.close()
    if out.exists():
        out.rmdir()
    os.replace(tmp, out)
    return {"run_id": run_id, "format": fmt, "out": str(out), "docs": sum(c["docs"] for c in languages.values()),
            "bytes": sum(c["bytes"] for c in languages.values()), "languages": languages}


class _Parts:
    """The export's open file: Parquet (zstd) or JSON Lines, per language, a new part every PART_ROWS rows."""

    def __init__(self, folder: Path, fmt: str):
        self.folder, self.fmt = folder, fmt
        self.lang: str | None = None  # the language being written
        self.writer = None
        self.counts: dict[str, dict] = {}

    def write(self, lang: str, rows: pa.RecordBatch) -> None:
        counts = self.counts.setdefault(lang, {"docs": 0, "bytes": 0, "files": []})
        if self.lang != lang or counts["docs"] % PART_ROWS == 0:
            self._open(lang, counts, rows.schema)
        room = PART_ROWS - counts["docs"] % PART_ROWS
        head, rest = rows.slice(0, room), rows.slice(room)
        if self.fmt == "parquet":
            self.writer.write_batch(head)
        else:
            self.writer.writelines(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in head.to_pylist())
        counts["docs"] += head.num_rows
        counts["bytes"] += pc.sum(head.column("n_bytes")).as_py() or 0
        if rest.num_rows:
            self.write(lang, rest)

    def _open(self, lang: str, counts: dict, schema: pa.Schema) -> None:
        self._close()
        name = f"{lang}/part-{len(counts['files']):05d}.{self.fmt}"
        (self.folder / lang).mkdir(exist_ok=True)
        self.writer = (pq.ParquetWriter(self.folder / name, schema, compression="zstd") if self.fmt == "parquet"
                       else open(self.folder / name, "w", encoding="utf-8"))
        counts["files"].append(name)
        self.lang = lang

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def __enter__(self) -> _Parts:
        return self

    def __exit__(self, *exc) -> None:
        self._close()
