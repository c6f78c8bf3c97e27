"""`agora curate`: stages 1-3 over all active sources, resumable, recorded in the catalog.

A run's id comes from its inputs (recipe + source versions), so running the same curation again
finds the same run: finished means nothing to do, unfinished means resume where it stopped.
Workers write Parquet; only this driver process writes to the catalog.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import duckdb

from curation import __version__
from curation.core.catalog import fetch_dicts, open_catalog, work_connection
from curation.core.errors import AgoraError, NotFound
from curation.core.ids import content_key, utc_now
from curation.core.workspace import Workspace
from curation.ingest.records import SourceSpec
from curation.ingest.shards import default_tasks, input_bytes
from curation.ingest.sources import public_source
from curation.stages.dedup import find_duplicates
from curation.stages.executors import Execution, datatrove_output_to, run_pipeline
from curation.stages.funnel import funnel
from curation.stages.policy import decide, write_decisions
from curation.stages.progress import step, watch_stage1
from curation.stages.ranking import source_priority
from curation.stages.recipe import Recipe, load_recipe
from curation.stages.runs import find_run
from curation.stages.stage1 import (
    build_pipeline,
    plan_key,
    source_dir,
    stage1_files,
    task_counts_file,
    write_plan,
)
from curation.stages.views import refresh_views


def curate(workspace: Workspace, recipe: Recipe | None = None, source_names: list[str] | None = None,
           execution: Execution | None = None, progress: bool = True) -> dict:
    recipe = recipe or load_recipe()
    sources = _active_sources(workspace, source_names)
    run_id = "cur-" + content_key([recipe.fingerprint(),
                                   [(s["name"], s["version"], s["fingerprint"]) for s in sources]])
    existing = find_run(workspace, run_id)
    if existing and existing["status"] == "finished":
        return {**existing, "already_done": True}
    _start_run(workspace, run_id, recipe, parent=None)
    timings = {}
    started = time.monotonic()
    run_stage1(workspace, run_id, recipe, sources, execution or Execution(), progress)
    timings["stage1_s"] = round(time.monotonic() - started, 2)
    return _finish(workspace, run_id, recipe, sources, timings, clusters_from=None, progress=progress)


def refilter(workspace: Workspace, parent_run: str, recipe: Recipe, progress: bool = True) -> dict:
    """Stage 3 only: a new recipe over the stored signals (and clusters) of an earlier run."""
    parent = find_run(workspace, parent_run)
    if not parent:
        raise NotFound(f"no run {parent_run!r} (see `agora runs`)")
    if parent["status"] != "finished":
        raise AgoraError(f"run {parent_run} is not finished; run `agora curate` again to complete it first")
    parent_recipe = run_recipe(workspace, parent_run)
    if recipe.stage1_settings() != parent_recipe.stage1_settings():
        raise AgoraError("this recipe changes stage-1 settings (langid backend, PII kinds, MinHash or quality model); "
                         "run a full `agora curate --recipe …` instead of --refilter")
    sources = _run_sources(workspace, parent_run)
    run_id = "ref-" + content_key([parent_run, recipe.fingerprint()])
    existing = find_run(workspace, run_id)
    if existing and existing["status"] == "finished":
        return {**existing, "already_done": True}
    _start_run(workspace, run_id, recipe, parent=parent_run)
    same_dedup = recipe.dedup == parent_recipe.dedup
    return _finish(workspace, run_id, recipe, sources, {}, clusters_from=parent_run if same_dedup else None,
                   progress=progress)


def _finish(workspace: Workspace, run_id: str, recipe: Recipe, sources: list[dict], timings: dict,
            clusters_from: str | None, progress: bool = False) -> dict:
    out = workspace.run_dir(run_id)
    files = [str(p) for p in stage1_files(workspace.root / "stage1" / recipe.stage1_key(), sources)]
    if not files:
        raise AgoraError("the selected sources have no documents")
    con = work_connection(workspace)
    try:
        started = time.monotonic()
        clusters = out / "dup_clusters.parquet"
        with step("stage 2: duplicates", progress):
            if clusters_from:
                _copy_clusters(con, workspace.run_dir(clusters_from) / "dup_clusters.parquet", run_id, clusters)
            else:
                find_duplicates(con, files, threshold=recipe.fuzzy["threshold"], ngram=recipe.fuzzy["ngram"],
                                source_priority=source_priority(recipe.dedup.get("source_priority")))
                _write_clusters(con, run_id, clusters)
        timings["stage2_s"] = round(time.monotonic() - started, 2)
        started = time.monotonic()
        declared = {s["name"]: s["languages"] for s in sources}
        with step("stage 3: decisions", progress):
            decide(con, recipe, files, str(clusters), declared)
            write_decisions(con, run_id, out / "decisions.parquet")
        # the curated set is the decisions over the stored rows (curation.stages.kept), not a copy of
        # the text; a copy an older version of this run wrote goes
        shutil.rmtree(out / "curated", ignore_errors=True)
        timings["stage3_s"] = round(time.monotonic() - started, 2)
        counts = {**funnel(con, str(clusters), files), "timings": timings}
    finally:
        con.close()
    with open_catalog(workspace) as con:
        con.execute("DELETE FROM run_sources WHERE run_id = ?", [run_id])
        for source in sources:
            con.execute("INSERT INTO run_sources VALUES (?, ?, ?)", [run_id, source["source_id"], recipe.stage1_key()])
        con.execute("UPDATE runs SET status = 'finished', finished_at = ?, counts = ? WHERE run_id = ?",
                    [utc_now(), json.dumps(counts), run_id])
        refresh_views(con)
    return {**find_run(workspace, run_id), "already_done": False}


def run_stage1(workspace: Workspace, run_id: str, recipe: Recipe, sources: list[dict], execution: Execution,
               progress: bool) -> None:
    """Process the source versions that have no stored stage-1 rows for these settings yet, in tasks
    that each read their own shards (curation.ingest.shards); a re-run redoes only unfinished tasks."""
    root = workspace.root / "stage1" / recipe.stage1_key()
    pending = [s for s in sources if not (source_dir(root, s) / "_SUCCESS").exists()]
    if not pending:
        return
    logs = workspace.run_dir(run_id) / "stage1-logs"
    n_tasks = execution.tasks or default_tasks(input_bytes([SourceSpec.of(s) for s in pending]), execution.workers)
    plan_file = logs / "plan.json"
    if not _same_plan(plan_file, plan_key(pending), n_tasks):  # a fresh start: no partial output survives
        shutil.rmtree(logs, ignore_errors=True)
        for source in pending:
            shutil.rmtree(source_dir(root, source), ignore_errors=True)
        logs.mkdir(parents=True)
        write_plan(plan_file, pending, n_tasks)
    if progress:
        print(f"stage 1: {sum(s['records'] for s in pending):,} documents from {', '.join(plan_key(pending))} "
              f"in {n_tasks} task(s) on {execution.workers} {execution.executor} worker(s)", file=sys.stderr)
    pipeline = build_pipeline(pending, recipe, root, plan_file)
    with watch_stage1(logs, sum(s["records"] for s in pending), n_tasks, progress), \
            datatrove_output_to(logs / "datatrove.log", "stage 1"):
        run_pipeline(replace(execution, tasks=n_tasks), pipeline, logs, workspace.root)
    _record_task_counts(workspace, run_id, logs, n_tasks)
    for source in pending:
        (source_dir(root, source) / "_SUCCESS").write_text(json.dumps({"run_id": run_id}))


def _same_plan(plan_file: Path, names: list[str], n_tasks: int) -> bool:
    if not plan_file.is_file():
        return False
    planned = json.loads(plan_file.read_text())
    return planned.get("sources") == names and planned.get("n_tasks") == n_tasks


def _record_task_counts(workspace: Workspace, run_id: str, logs: Path, n_tasks: int) -> None:
    """What each task read, into the catalog (`agora runs show` sums it)."""
    counts = [json.loads(task_counts_file(logs, rank).read_text()) for rank in range(n_tasks)]
    with open_catalog(workspace) as con:
        con.execute("DELETE FROM stage1_tasks WHERE run_id = ?", [run_id])
        con.executemany("INSERT INTO stage1_tasks VALUES (?, ?, ?, ?, ?, ?)",
                        [[run_id, c["task"], c["shards"], c["records"], c["malformed"], c["skipped"]] for c in counts])


def _write_clusters(con: duckdb.DuckDBPyConnection, run_id: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con.execute(
        "COPY (SELECT ? AS run_id, doc_id, cluster_id, kind, is_representative, representative_doc_id "
        "FROM dedup_clusters) TO ? (FORMAT parquet, COMPRESSION zstd)", [run_id, str(tmp)])
    os.replace(tmp, path)


def _copy_clusters(con: duckdb.DuckDBPyConnection, parent: Path, run_id: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    con.execute("COPY (SELECT ? AS run_id, * EXCLUDE (run_id) FROM read_parquet(?)) TO ? (FORMAT parquet)",
                [run_id, str(parent), str(tmp)])
    os.replace(tmp, path)


def _active_sources(workspace: Workspace, names: list[str] | None) -> list[dict]:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM source_overview WHERE status = 'active' "
                                "QUALIFY version = max(version) OVER (PARTITION BY name) ORDER BY name")
    sources = [{**public_source(r), "source_id": r["source_id"]} for r in rows]
    if names:
        known = {s["name"] for s in sources}
        missing = [n for n in names if n not in known]
        if missing:
            raise NotFound(f"no active source named {', '.join(map(repr, missing))}; "
                           f"active: {', '.join(sorted(known))}")
        sources = [s for s in sources if s["name"] in names]
    if not sources:
        raise AgoraError("no active sources to curate (register one with `agora register`)")
    return sources


def _run_sources(workspace: Workspace, run_id: str) -> list[dict]:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT o.* FROM source_overview o JOIN run_sources r USING (source_id) "
                                "WHERE r.run_id = ? ORDER BY o.name", [run_id])
    return [{**public_source(r), "source_id": r["source_id"]} for r in rows]


def _start_run(workspace: Workspace, run_id: str, recipe: Recipe, parent: str | None) -> None:
    workspace.run_dir(run_id).mkdir(parents=True, exist_ok=True)
    with open_catalog(workspace) as con:
        if con.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]).fetchone()[0]:
            con.execute("UPDATE runs SET status = 'running' WHERE run_id = ?", [run_id])
            return
        con.execute(
            "INSERT INTO runs (run_id, kind, recipe, code_version, started_at, status, parent_run) "
            "VALUES (?, 'curate', ?, ?, ?, 'running', ?)",
            [run_id, json.dumps({"path": recipe.path, "data": recipe.data}), __version__, utc_now(), parent],
        )


def run_recipe(workspace: Workspace, run_id: str) -> Recipe:
    """The recipe a run used, as stored in the catalog (the file may have changed since)."""
    run = find_run(workspace, run_id)
    if not run:
        raise NotFound(f"no run {run_id!r} (see `agora runs`)")
    return Recipe(run["recipe"]["path"], run["recipe"]["data"])


