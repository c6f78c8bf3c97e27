"""`agora mix`: choose a reproducible training mixture from a curation run's curated documents.

Flow: candidate documents (curated, active sources, chosen languages and sources) → license
policy → a held-out split per language → a tokenizer trained on the training documents → real
token counts (parallel tasks, tokens.py) → budgets per language (temperature or UniMax) and per
source → which documents, how many times, in which order (the manifest). Documents are rows of
DuckDB tables throughout, never Python objects, so memory is bounded by `memory_limit` and not by
the corpus: DuckDB gets a quarter of it here (past that it spills to WORKSPACE/tmp) and half,
shared, in the tokenizing tasks (each reads whole row groups of stored text, ~100 MB); the rest is
for the processes themselves. The run's documents are read as `agora export` reads them
(curation.stages.kept): its decisions over the stage-1 store. The tokenizer learns from a sample of
at most TOKENIZER_SAMPLE_BYTES.
The manifest and holdout are Parquet beside the catalog; the catalog holds the mixture's parameters
and its language × source table. The same inputs and seed give the same manifest, byte for byte,
for any number of workers.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError, NotFound
from curation.core.ids import content_key
from curation.core.workspace import Workspace
from curation.mixture import selection
from curation.mixture.budgets import MixtureError, epochs, language_budgets, license_allowed, split_across_sources
from curation.mixture.tokens import index_files, pack_manifest, tokenize_documents
from curation.stages.kept import Kept, kept_documents
from curation.stages.runs import latest_run

TOKENIZE_BATCH = 256
MEMORY_LIMIT = 2 * 2**30  # bytes; the default of --memory-limit
TOKENIZER_SAMPLE_BYTES = 100 * 2**20  # the tokenizer learns from at most this much text (a seeded sample)
MANIFEST_ROWS = 1 << 20  # rows per Parquet row group of the manifest and holdout
MANIFEST_SCHEMA = pa.schema([("position", pa.int64()), ("doc_id", pa.string()), ("lang", pa.string()),
                             ("source", pa.string()), ("n_tokens", pa.int64())])
HOLDOUT_SCHEMA = pa.schema([("doc_id", pa.string()), ("lang", pa.string()), ("source", pa.string())])
DOC_IDS = pa.schema([("doc_id", pa.string())])


def mixture_dir(workspace: Workspace, name: str, version: int) -> Path:
    return workspace.root / "mixtures" / name / f"v{version}"


def create_mixture(workspace: Workspace, name: str, *, budget_tokens: int, run_id: str | None = None,
                   method: str = "temperature", temperature: float | None = 0.3, max_epochs: float | None = None,
                   languages: list[str] | None = None, sources: list[str] | None = None,
                   weights: dict[str, float] | None = None, license_policy: str = "any", holdout: float = 0.01,
                   seed: int = 0, vocab_size: int = 8192, tokenizer: str | None = None, workers: int = 1,
                   memory_limit: int = MEMORY_LIMIT) -> dict:
    run_id = run_id or latest_run(workspace)
    params = {
        "budget_tokens": budget_tokens, "method": method, "temperature": temperature, "max_epochs": max_epochs,
        "languages": sorted(languages or []), "sources": sorted(sources or []), "weights": weights or {},
        "license_policy": license_policy, "holdout": holdout, "seed": seed, "vocab_size": vocab_size,
        "tokenizer": str(Path(tokenizer).resolve()) if tokenizer else None,
    }
    curated = kept_documents(workspace, run_id)
    con = selection.connect(workspace.root / "tmp", f"{memory_limit // 4 // 2**20}MB")
    try:
        source_rows = _candidates(con, workspace, curated, run_id, languages, sources)
        fingerprint = content_key([run_id, params, sorted(source_rows)], 16)
        with open_catalog(workspace) as cat:
            same = fetch_dicts(cat, "SELECT version FROM mixtures WHERE name = ? AND fingerprint = ?",
                               [name, fingerprint])
            version = cat.execute("SELECT coalesce(max(version), 0) + 1 FROM mixtures WHERE name = ?",
                                  [name]).fetchall()[0][0]
        if same:
            return {**show_mixture(workspace, name, same[0]["version"]), "already_exists": True}
        out = mixture_dir(workspace, name, version)
        tmp = out.with_name(out.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        parts, train_tokens = _build(con, tmp, curated, source_rows, params, workers, memory_limit)
    finally:
        con.close()
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)

    with open_catalog(workspace) as cat:
        cat.execute("BEGIN TRANSACTION")
        cat.execute("INSERT INTO mixtures (name, version, curation_run, params, fingerprint, tokenizer_dir, path, "
                    "train_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [name, version, run_id, json.dumps(params), fingerprint, str(out / "tokenizer"), str(out),
                     train_tokens])
        cat.executemany("INSERT INTO mixture_parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [[name, version, p["lang"], p["source"], p["source_version"], p["license_class"], p["docs"],
                          p["heldout_docs"], p["available_tokens"], p["target_tokens"], p["epochs"], p["share"],
                          p["excluded_reason"]] for p in parts])
        cat.execute("COMMIT")
    return {**show_mixture(workspace, name, version), "already_exists": False}


def _build(con: duckdb.DuckDBPyConnection, out: Path, curated: Kept, source_rows: dict, params: dict, workers: int,
           memory_limit: int) -> tuple[list[dict], int]:
    """Write the mixture's files into `out` from the `candidates` table; returns (parts, training tokens)."""
    excluded = {}
    for (source, _), license_class in source_rows.items():
        allowed, reason = license_allowed(license_class, params["license_policy"])
        if not allowed:
            excluded[source] = reason
    con.execute("CREATE TEMP TABLE usable AS SELECT * FROM candidates WHERE NOT list_contains(?, source)",
                [sorted(excluded)])
    if not con.execute("SELECT count(*) FROM usable").fetchall()[0][0]:
        raise MixtureError("no documents left for this mixture (check --languages, --sources and --license-policy)")
    seed = params["seed"]
    selection.hold_out(con, "usable", params["holdout"], seed)
    _write(con, "SELECT doc_id, lang, source FROM usable SEMI JOIN held_out USING (doc_id) ORDER BY doc_id",
           HOLDOUT_SCHEMA, out / "holdout.parquet")
    con.execute("CREATE TEMP TABLE training AS SELECT * FROM usable ANTI JOIN held_out USING (doc_id)")
    _write(con, "SELECT doc_id FROM training ORDER BY doc_id", DOC_IDS, out / "tokens" / "documents.parquet")

    if params["tokenizer"]:
        tok = _given_tokenizer(params["tokenizer"], out / "tokenizer")
    else:
        selection.tokenizer_sample(con, "training", TOKENIZER_SAMPLE_BYTES, seed)
        _write(con, "SELECT doc_id FROM tokenizer_sample ORDER BY doc_id", DOC_IDS, out / "tokens" / "sample.parquet")
        tok = _trained_tokenizer(out / "tokens" / "sample.parquet", curated, params["vocab_size"], out / "tokenizer")
    tokenize_documents(out / "tokens" / "documents.parquet", curated, out / "tokenizer", tok.eos_token_id, len(tok),
                       out / "tokens", workers, memory_limit)
    con.execute("CREATE TEMP TABLE counted AS SELECT t.doc_id, t.lang, t.source, c.n_tokens "
                "FROM training t JOIN read_parquet(?) c USING (doc_id)", [index_files(out / "tokens")])

    available = {(lang, source): tokens for lang, source, tokens in con.execute(
        "SELECT lang, source, sum(n_tokens)::BIGINT FROM counted GROUP BY ALL ORDER BY ALL").fetchall()}
    by_lang: dict[str, dict[str, int]] = {}
    for (lang, source), tokens in available.items():
        by_lang.setdefault(lang, {})[source] = tokens
    budgets = language_budgets({lang: sum(s.values()) for lang, s in by_lang.items()}, params["budget_tokens"],
                               params["method"], max_epochs=params["max_epochs"], weights=params["weights"],
                               alpha=params["temperature"] if params["method"] == "temperature" else None)
    targets = {(lang, source): target for lang, lang_target in sorted(budgets.items())
               for source, target in split_across_sources(lang_target, by_lang[lang]).items()}
    selection.sample(con, "counted", targets, seed)
    selection.order(con, seed)
    _write(con, "SELECT * FROM manifest ORDER BY position", MANIFEST_SCHEMA, out / "manifest.parquet")

    parts = _parts(con, source_rows, available, targets, excluded)
    return parts, con.execute("SELECT coalesce(sum(n_tokens), 0)::BIGINT FROM manifest").fetchall()[0][0]


def _candidates(con: duckdb.DuckDBPyConnection, workspace: Workspace, curated: Kept, run_id: str,
                languages: list[str] | None, sources: list[str] | None) -> dict[tuple[str, int], str]:
    """Table `candidates`: the curated documents of the run from sources that are still active, in the
    chosen languages and sources; returns (source, version) → license class of those sources."""
    with open_catalog(workspace) as cat:
        active = fetch_dicts(cat, "SELECT name AS source, version AS source_version, license_class FROM sources "
                                  "WHERE status = 'active'")
    con.register("active_sources", pa.Table.from_pylist(active, pa.schema([
        ("source", pa.string()), ("source_version", pa.int64()), ("license_class", pa.string())])))
    sql, kept_params = curated.query(("doc_id", "source", "source_version", "lang", "n_bytes"))
    con.execute(f"CREATE TEMP TABLE curated AS {sql}", kept_params)
    for wanted, column, what in ((languages, "lang", "language"), (sources, "source", "source")):
        known = [value for (value,) in con.execute(f"SELECT DISTINCT {column} FROM curated ORDER BY 1").fetchall()]
        missing = sorted(set(wanted or []) - set(known))
        if missing:
            raise NotFound(f"no curated documents in run {run_id} for {what}(s) {', '.join(missing)}; "
                           f"there are: {', '.join(known)}")
    con.execute("CREATE TEMP TABLE candidates AS SELECT c.*, a.license_class FROM curated c "
                "JOIN active_sources a USING (source, source_version) "
                "WHERE (len(?::VARCHAR[]) = 0 OR list_contains(?, c.lang)) "
                "AND (len(?::VARCHAR[]) = 0 OR list_contains(?, c.source))",
                [languages or [], languages or [], sources or [], sources or []])
    con.execute("DROP TABLE curated")
    con.unregister("active_sources")
    return {(source, version): license_class for source, version, license_class in con.execute(
        "SELECT DISTINCT source, source_version, license_class FROM candidates ORDER BY ALL").fetchall()}


def _parts(con: duckdb.DuckDBPyConnection, source_rows: dict, available: dict, targets: dict,
           excluded: dict[str, str]) -> list[dict]:
    """The mixture's language × source table: every part with training documents, then excluded sources."""
    versions = dict(source_rows)
    classes = {source: license_class for (source, _), license_class in source_rows.items()}
    docs = {(lang, source): (n, held) for lang, source, n, held in con.execute(
        "SELECT lang, source, count(*) FILTER (WHERE h.doc_id IS NULL), count(h.doc_id) "
        "FROM usable LEFT JOIN held_out h USING (doc_id) GROUP BY ALL").fetchall()}
    parts = [{"lang": lang, "source": source, "license_class": classes[source], "docs": docs[(lang, source)][0],
              "heldout_docs": docs[(lang, source)][1], "available_tokens": tokens,
              "target_tokens": targets[(lang, source)], "epochs": epochs(targets[(lang, source)], tokens),
              "excluded_reason": None} for (lang, source), tokens in available.items()]
    parts += [{"lang": lang, "source": source, "license_class": classes[source], "docs": n, "heldout_docs": 0,
               "available_tokens": 0, "target_tokens": 0, "epochs": 0.0, "excluded_reason": excluded[source]}
              for lang, source, n in con.execute(
                  "SELECT lang, source, count(*) FROM candidates WHERE list_contains(?, source) "
                  "GROUP BY ALL ORDER BY ALL", [sorted(excluded)]).fetchall()]
    total = sum(p["target_tokens"] for p in parts)
    for part in parts:
        part["share"] = part["target_tokens"] / total if total else 0.0
        part["source_version"] = next(v for (s, v) in versions if s == part["source"])
    return parts


def _write(con: duckdb.DuckDBPyConnection, sql: str, schema: pa.Schema, path: Path) -> None:
    """A query's rows as Parquet, streamed in row groups of exactly MANIFEST_ROWS (whatever sizes DuckDB
    hands out), so the bytes depend on the rows alone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, schema) as writer:
        pending, rows, groups = [], 0, 0
        for batch in con.sql(sql).to_arrow_reader(MANIFEST_ROWS):
            pending.append(batch.cast(schema))
            rows += batch.num_rows
            if rows >= MANIFEST_ROWS:
                table = pa.Table.from_batches(pending, schema)
                writer.write_table(table.slice(0, MANIFEST_ROWS), row_group_size=MANIFEST_ROWS)
                pending, rows, groups = table.slice(MANIFEST_ROWS).to_batches(), rows - MANIFEST_ROWS, groups + 1
        if rows or not groups:
            writer.write_table(pa.Table.from_batches(pending, schema), row_group_size=MANIFEST_ROWS)


def text_reader(workspace: Workspace, run_id: str):
    """A function from doc_ids to their curated texts, in the same order, streamed from Parquet."""
    sql, params = kept_documents(workspace, run_id).query(("doc_id", "text"))

    def texts(doc_ids):
        wanted = list(doc_ids)
        con = duckdb.connect()
        try:
            con.register("wanted", pa.table({"doc_id": wanted, "position": list(range(len(wanted)))}))
            reader = con.sql(f"SELECT c.text FROM ({sql}) c JOIN wanted w USING (doc_id) ORDER BY w.position",
                             params=params).to_arrow_reader(TOKENIZE_BATCH)
            for batch in reader:
                yield from batch.column("text").to_pylist()
        finally:
            con.close()
    return texts


def _trained_tokenizer(sample: Path, curated: Kept, vocab_size: int, out_dir: Path):
    """A tokenizer learned from the documents listed in `sample`, in a child process: the trainer leaves
    hundreds of MB in the allocator's arenas, which would otherwise stay in this process (and in every
    process datatrove forks from it) for the rest of the mixture."""
    from training.tokenizer import load_tokenizer

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        child.submit(train_on_documents, str(sample), curated, vocab_size, str(out_dir)).result()
    return load_tokenizer(out_dir)


def train_on_documents(sample: str, curated: Kept, vocab_size: int, out_dir: str) -> None:
    """Train the mixture's tokenizer on the curated texts of the documents listed in `sample`, streamed."""
    from training.tokenizer import train_tokenizer

    con = duckdb.connect()
    try:
        sql, params = curated.query(("doc_id", "text"))
        reader = con.sql(f"SELECT c.text FROM ({sql}) c SEMI JOIN read_parquet(?) USING (doc_id)",
                         params=[*params, sample]).to_arrow_reader(TOKENIZE_BATCH)
        train_tokenizer((text for batch in reader for text in batch.column("text").to_pylist()), vocab_size, out_dir)
    finally:
        con.close()


def _given_tokenizer(existing: str, out_dir: Path):
    """The tokenizer in folder `existing` (a tokenizer or model folder), saved to `out_dir`. Documents are
    separated by its end-of-sequence token, so it must have one."""
    from training.tokenizer import load_tokenizer

    try:
        tokenizer = load_tokenizer(existing)
    except (OSError, ValueError) as exc:
        raise AgoraError(f"no tokenizer in {existing}: {exc}") from None
    if tokenizer.eos_token_id is None:
        raise MixtureError(f"the tokenizer in {existing} has no end-of-sequence token (eos_token), which packing "
                           f"puts between documents; set one in its tokenizer_config.json")
    if not tokenizer.is_fast:
        raise MixtureError(f"the tokenizer in {existing} has no fast (tokenizers) version to count tokens with")
    tokenizer.save_pretrained(str(out_dir))
    return tokenizer


def show_mixture(workspace: Workspace, name: str, version: int | None = None) -> dict:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM mixtures WHERE name = ? ORDER BY version DESC", [name])
        if version is not None:
            rows = [r for r in rows if r["version"] == version]
        if not rows:
            known = [n for (n,) in con.execute("SELECT DISTINCT name FROM mixtures ORDER BY name").fetchall()]
            raise NotFound(f"no mixture named {name!r}; there are: {', '.join(known) or '(none)'}")
        mixture = rows[0]
        parts = fetch_dicts(con, "SELECT lang, source, source_version, license_class, docs, heldout_docs, "
                                 "available_tokens, target_tokens, epochs, share, excluded_reason FROM mixture_parts "
                                 "WHERE mixture = ? AND version = ? ORDER BY excluded_reason NULLS FIRST, lang, source",
                            [name, mixture["version"]])
    return {
        "name": name, "version": mixture["version"], "curation_run": mixture["curation_run"],
        "params": json.loads(mixture["params"]), "train_tokens": mixture["train_tokens"],
        "tokenizer_dir": mixture["tokenizer_dir"], "path": mixture["path"],
        "created_at": mixture["created_at"].isoformat(timespec="seconds"), "parts": parts,
        "excluded": sorted({(p["source"], p["excluded_reason"]) for p in parts if p["excluded_reason"]}),
    }


def pack_mixture(workspace: Workspace, mix: dict, workers: int = 1, memory_limit: int = MEMORY_LIMIT) -> Path:
    """The mixture's manifest packed into token shards for training (once; reused by every run on it).

    The ids come from the token store `mix create` wrote; a mixture made before there was one gets
    it first, for the manifest's documents.
    """
    from training.tokenizer import load_tokenizer

    path = Path(mix["path"])
    packed, store = path / "packed", path / "tokens"
    if (packed / "meta.json").is_file():
        return packed
    if not any(store.glob("task-*")):
        tokenizer = load_tokenizer(mix["tokenizer_dir"])
        con = duckdb.connect()
        try:
            con.execute("CREATE TEMP TABLE manifest AS SELECT DISTINCT doc_id FROM read_parquet(?)",
                        [str(path / "manifest.parquet")])
            _write(con, "SELECT doc_id FROM manifest ORDER BY doc_id", DOC_IDS, store / "documents.parquet")
        finally:
            con.close()
        tokenize_documents(store / "documents.parquet", kept_documents(workspace, mix["curation_run"]),
                           Path(mix["tokenizer_dir"]), tokenizer.eos_token_id, len(tokenizer), store, workers,
                           memory_limit)
    pack_manifest(path / "manifest.parquet", store, packed, memory_limit)
    return packed


def rebuild_mixture(workspace: Workspace, name: str, workers: int = 1, memory_limit: int = MEMORY_LIMIT) -> dict:
    """A new version of a mixture, with the same settings, on the latest curation run (which leaves
    out withdrawn sources), tokenized with the same tokenizer so the counts compare; with a diff."""
    old = show_mixture(workspace, name)
    params = old["params"]
    new = create_mixture(
        workspace, name, budget_tokens=params["budget_tokens"], run_id=latest_run(workspace),
        method=params["method"], temperature=params["temperature"], max_epochs=params["max_epochs"],
        languages=params["languages"] or None, sources=_still_active(workspace, params["sources"]) or None,
        weights=params["weights"], license_policy=params["license_policy"], holdout=params["holdout"],
        seed=params["seed"], vocab_size=params["vocab_size"], tokenizer=params["tokenizer"] or old["tokenizer_dir"],
        workers=workers, memory_limit=memory_limit,
    )
    return {**new, "previous_version": old["version"], "diff": _diff(old["parts"], new["parts"])}


def _still_active(workspace: Workspace, names: list[str]) -> list[str]:
    if not names:
        return []
    with open_catalog(workspace) as con:
        active = {n for (n,) in con.execute("SELECT DISTINCT name FROM sources WHERE status = 'active'").fetchall()}
    return [n for n in names if n in active]


def _diff(before: list[dict], after: list[dict]) -> list[dict]:
    """Per language: documents and target tokens before and after, and the sources that left."""
    def per_lang(parts):
        table = defaultdict(lambda: {"docs": 0, "tokens": 0, "sources": set()})
        for p in parts:
            if not p["excluded_reason"]:
                table[p["lang"]]["docs"] += p["docs"]
                table[p["lang"]]["tokens"] += p["target_tokens"]
                table[p["lang"]]["sources"].add(p["source"])
        return table

    old, new = per_lang(before), per_lang(after)
    return [
        {"lang": lang, "docs_before": old[lang]["docs"], "docs_after": new[lang]["docs"],
         "tokens_before": old[lang]["tokens"], "tokens_after": new[lang]["tokens"],
         "sources_removed": sorted(old[lang]["sources"] - new[lang]["sources"])}
        for lang in sorted(set(old) | set(new))
    ]
