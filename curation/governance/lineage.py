"""`agora lineage`: answer "where did this come from?" from what the catalog recorded, never by
recomputing. A model traces to its mixture, sources, contributors and licenses; a document to
its record, signals, decision, duplicate cluster, mixtures and the training steps that saw it."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace
from curation.models import find_run, model_dir, training_chain
from curation.stages.runs import show_doc


def model_lineage(workspace: Workspace, run_id_or_dir: str) -> dict:
    with open_catalog(workspace) as con:
        run = find_run(con, run_id_or_dir)
        if not run:
            raise NotFound(f"no training run, run folder or model folder {run_id_or_dir!r} in this workspace")
        chain = training_chain(con, run["run_id"])
        pretrain = chain[-1]
        sources = fetch_dicts(
            con,
            """
            SELECT p.source AS name, p.source_version AS version, o.contributor, o.organization, o.country,
                   o.license, o.license_class, o.status, sum(p.docs)::BIGINT AS docs,
                   sum(p.target_tokens)::BIGINT AS tokens, list(p.lang ORDER BY p.lang) AS languages,
                   list({'lang': p.lang, 'docs': p.docs, 'tokens': p.target_tokens} ORDER BY p.lang) AS by_language
            FROM mixture_parts p JOIN source_overview o ON o.name = p.source AND o.version = p.source_version
            WHERE p.mixture = ? AND p.version = ? AND p.excluded_reason IS NULL AND p.target_tokens > 0
            GROUP BY ALL ORDER BY p.source
            """,
            [pretrain["mixture"], pretrain["mixture_version"]],
        ) if pretrain["mixture"] else []
        mixture = fetch_dicts(con, "SELECT name, version, curation_run, params FROM mixtures "
                                   "WHERE name = ? AND version = ?",
                              [pretrain["mixture"], pretrain["mixture_version"]])
        finetune_sources = fetch_dicts(
            con, "SELECT name, version, contributor, organization, country, license, license_class, status "
                 "FROM source_overview WHERE name IN (SELECT source FROM training_runs WHERE run_id IN "
                 "(SELECT unnest(?::VARCHAR[])) AND source IS NOT NULL) ORDER BY name, version",
            [[r["run_id"] for r in chain]])
    return {
        "run_id": run["run_id"], "kind": run["kind"], "run_dir": run["run_dir"], "model_dir": str(model_dir(run)),
        "training_chain": [{"run_id": r["run_id"], "kind": r["kind"], "mixture": r["mixture"],
                            "mixture_version": r["mixture_version"], "source": r["source"]} for r in chain],
        "mixture": {**mixture[0], "params": json.loads(mixture[0]["params"])} if mixture else None,
        "curation_run": mixture[0]["curation_run"] if mixture else None,
        "sources": sources, "finetune_sources": finetune_sources,
    }


def doc_lineage(workspace: Workspace, doc_id: str) -> dict:
    explained = show_doc(workspace, doc_id)
    with open_catalog(workspace) as con:
        source = explained["record"]["source"]
        contributor = fetch_dicts(con, "SELECT contributor, organization, country, license, license_class, status "
                                       "FROM source_overview WHERE name = ? AND version = ?",
                                  [source["name"], source["version"]])[0]
        mixtures = fetch_dicts(con, "SELECT name, version, path FROM mixtures ORDER BY name, version")
        runs = fetch_dicts(con, "SELECT run_id, kind, mixture, mixture_version, run_dir, config FROM training_runs "
                                "WHERE mixture IS NOT NULL ORDER BY run_id")
    used_in = []
    for mixture in mixtures:
        repeats, held_out = _in_mixture(Path(mixture["path"]), doc_id)
        if repeats or held_out:
            used_in.append({"name": mixture["name"], "version": mixture["version"], "repeats": repeats,
                            "held_out": held_out})
    training = []
    for run in runs:
        mixture = next((m for m in mixtures if m["name"] == run["mixture"] and m["version"] == run["mixture_version"]),
                       None)
        if mixture and any(m["name"] == mixture["name"] and m["version"] == mixture["version"] and m["repeats"]
                           for m in used_in):
            seq_len = json.loads(run["config"])["seq_len"]
            training.append({"run_id": run["run_id"], "kind": run["kind"],
                             "steps": steps_that_saw(Path(run["run_dir"]), Path(mixture["path"]) / "packed",
                                                     seq_len, doc_id)})
    return {
        "doc_id": doc_id, "source": source["name"], "source_version": source["version"],
        "record_id": explained["record"]["record_id"], "contributor": contributor["contributor"],
        "organization": contributor["organization"], "country": contributor["country"],
        "license": contributor["license"], "license_class": contributor["license_class"],
        "source_status": contributor["status"], "curation_run": explained["run_id"],
        "signals": explained["signals"], "decision": explained["decision"], "cluster": explained["cluster"],
        "quality_model": explained["quality_model"], "mixtures": used_in, "training_runs": training,
    }


def _in_mixture(path: Path, doc_id: str) -> tuple[int, bool]:
    con = duckdb.connect()
    try:
        repeats = con.execute("SELECT count(*) FROM read_parquet(?) WHERE doc_id = ?",
                              [str(path / "manifest.parquet"), doc_id]).fetchone()[0]
        held = con.execute("SELECT count(*) FROM read_parquet(?) WHERE doc_id = ?",
                           [str(path / "holdout.parquet"), doc_id]).fetchone()[0]
    finally:
        con.close()
    return repeats, bool(held)


def steps_that_saw(run_dir: Path, packed_dir: Path, seq_len: int, doc_id: str) -> list[int]:
    """Training steps (1-based, as in train_metrics) whose batches held tokens of the document: the
    run's record of token windows joined with the packed shards' token→document index."""
    windows = sorted((run_dir / "windows").glob("*.parquet"))
    if not windows:
        return []
    con = duckdb.connect()
    try:
        rows = con.execute(
            """
            SELECT DISTINCT w.step + 1 AS step
            FROM read_parquet(?) w, (SELECT start, n_tokens FROM read_parquet(?) WHERE doc_id = ?) d
            WHERE w.start < d.start + d.n_tokens AND d.start < w.start + ? + 1
            ORDER BY step
            """,
            [[str(f) for f in windows], str(packed_dir / "index.parquet"), doc_id, seq_len],
        ).fetchall()
    finally:
        con.close()
    return [step for (step,) in rows]
