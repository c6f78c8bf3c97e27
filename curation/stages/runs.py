"""Read curation runs and documents back out of the catalog: funnels, decisions, clusters."""
from __future__ import annotations

import json

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace


def list_runs(workspace: Workspace) -> list[dict]:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM runs WHERE kind = 'curate' ORDER BY started_at DESC")
    return [run_summary(workspace, row) for row in rows]


def show_run(workspace: Workspace, run_id: str) -> dict:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM runs WHERE run_id = ? AND kind = 'curate'", [run_id])
        if not rows:
            raise NotFound(f"no curation run {run_id!r} (see `agora runs`)")
        sources = fetch_dicts(
            con, "SELECT o.name, o.version, o.license_class "
                 "FROM run_sources r JOIN source_overview o USING (source_id) "
                 "WHERE r.run_id = ? ORDER BY o.name", [run_id])
        reads = fetch_dicts(
            con, "SELECT count(*) AS tasks, sum(shards) AS shards, sum(records) AS records, "
                 "sum(malformed) AS malformed, sum(skipped) AS skipped FROM stage1_tasks WHERE run_id = ?", [run_id])
    stage1 = {k: int(v) for k, v in reads[0].items()} if reads[0]["tasks"] else None
    return {**run_summary(workspace, rows[0]), "sources": sources, "stage1_read": stage1}


def latest_run(workspace: Workspace) -> str:
    with open_catalog(workspace) as con:
        row = con.execute("SELECT run_id FROM runs WHERE kind = 'curate' AND status = 'finished' "
                          "ORDER BY finished_at DESC LIMIT 1").fetchone()
    if not row:
        raise NotFound("no finished curation run yet (run `agora curate`)")
    return row[0]


def find_run(workspace: Workspace, run_id: str) -> dict | None:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM runs WHERE run_id = ? AND kind = 'curate'", [run_id])
    return run_summary(workspace, rows[0]) if rows else None


def run_summary(workspace: Workspace, row: dict) -> dict:
    """A `runs` row as commands print it: counts unpacked, the funnel and the recipe ({path, data})."""
    counts = json.loads(row["counts"]) if row["counts"] else {}
    return {
        "run_id": row["run_id"], "status": row["status"], "parent_run": row["parent_run"],
        "started_at": _iso(row["started_at"]), "finished_at": _iso(row["finished_at"]),
        "docs_in": counts.get("docs_in"), "docs_out": counts.get("docs_out"),
        "bytes_in": counts.get("bytes_in"), "bytes_out": counts.get("bytes_out"),
        "funnel": counts, "recipe": json.loads(row["recipe"]),
    }


def _iso(value) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def show_doc(workspace: Workspace, doc_id: str, run_id: str | None = None) -> dict:
    """A document's source record, signals, decision and duplicate cluster in one run (default: latest)."""
    run_id = run_id or latest_run(workspace)
    with open_catalog(workspace) as con:
        docs = fetch_dicts(con, "SELECT * FROM documents WHERE doc_id = ?", [doc_id])
        if not docs:
            raise NotFound(f"no document {doc_id!r} in this workspace")
        source = fetch_dicts(
            con, "SELECT name, version, contributor, organization, country, license, license_class, location, format "
                 "FROM source_overview WHERE name = ? AND version = ?",
            [docs[0]["source"], docs[0]["source_version"]])[0]
        signals = fetch_dicts(con, "SELECT * EXCLUDE (run_id, doc_id) FROM signals WHERE run_id = ? AND doc_id = ?",
                              [run_id, doc_id])
        decision = fetch_dicts(con, "SELECT kept, lang, lang_rule, step, rule, value, threshold, detail FROM decisions "
                                    "WHERE run_id = ? AND doc_id = ?", [run_id, doc_id])
        cluster = fetch_dicts(con, "SELECT cluster_id, kind FROM dup_clusters WHERE run_id = ? AND doc_id = ?",
                              [run_id, doc_id])
        # the learned model whose score the run's recipe judged (quality_model_score), if it named one
        model = fetch_dicts(con, "SELECT q.model_id, q.name, q.method, q.training_data FROM runs r "
                                 "JOIN quality_models q ON q.model_id = json_extract_string(r.recipe, "
                                 "'$.data.quality_model') WHERE r.run_id = ?", [run_id])
        members = []
        if cluster:
            members = fetch_dicts(
                con,
                """
                SELECT c.doc_id, c.is_representative, d.source, d.record_id, x.kept, x.rule
                FROM dup_clusters c JOIN documents d USING (doc_id)
                JOIN decisions x ON x.run_id = c.run_id AND x.doc_id = c.doc_id
                WHERE c.run_id = ? AND c.cluster_id = ? ORDER BY c.doc_id
                """,
                [run_id, cluster[0]["cluster_id"]],
            )
    if not decision:
        raise NotFound(f"document {doc_id} was not part of run {run_id}")
    return {
        "doc_id": doc_id, "run_id": run_id, "record": {**docs[0], "source": source},
        "signals": signals[0] if signals else {}, "decision": decision[0],
        "cluster": {**cluster[0], "members": members} if cluster else None,
        "quality_model": {**model[0], "training_data": json.loads(model[0]["training_data"])} if model else None,
    }
