"""Withdrawal: a contributor withdraws consent, or a takedown arrives.

The source is marked withdrawn (never deleted: history must still explain old models), and the
latest curation is re-run over the remaining sources. That re-run reuses every stored stage-1 row
and recomputes duplicate clusters, so a cluster whose kept copy came from the withdrawn source
keeps another contributor's copy: text that others also gave is not lost.
"""
from __future__ import annotations

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError, NotFound
from curation.core.ids import utc_now
from curation.core.workspace import Workspace
from curation.stages.curate import curate, run_recipe
from curation.stages.runs import latest_run


def withdraw(workspace: Workspace, name: str, reason: str, progress: bool = True) -> dict:
    if not reason.strip():
        raise AgoraError("say why the source is withdrawn (--reason)")
    with open_catalog(workspace) as con:
        versions = fetch_dicts(con, "SELECT version, status FROM sources WHERE name = ?", [name])
        if not versions:
            raise NotFound(f"no source named {name!r}")
        if all(v["status"] == "withdrawn" for v in versions):
            raise AgoraError(f"source {name!r} is already withdrawn")
        con.execute("UPDATE sources SET status = 'withdrawn', withdrawn_reason = ?, withdrawn_at = ? WHERE name = ?",
                    [reason, utc_now(), name])
        impact = usage(con, name)
    previous = _latest_run_or_none(workspace)
    if previous:
        recurated = curate(workspace, run_recipe(workspace, previous), progress=progress)
        impact["curation_run"] = {"before": previous, "after": recurated["run_id"],
                                  "docs_out_before": _docs_out(workspace, previous),
                                  "docs_out_after": recurated["docs_out"]}
    return {"source": name, "reason": reason, **impact}


def usage(con, name: str) -> dict:
    """Mixtures and training runs that used a source, and how many of its tokens each took."""
    mixtures = fetch_dicts(
        con, "SELECT mixture, version, sum(target_tokens)::BIGINT AS tokens FROM mixture_parts "
             "WHERE source = ? AND target_tokens > 0 GROUP BY mixture, version ORDER BY mixture, version", [name])
    training = fetch_dicts(
        con, "SELECT t.run_id, t.kind, t.mixture, t.mixture_version, sum(p.target_tokens)::BIGINT AS tokens "
             "FROM training_runs t JOIN mixture_parts p ON p.mixture = t.mixture AND p.version = t.mixture_version "
             "WHERE p.source = ? AND p.target_tokens > 0 GROUP BY ALL ORDER BY t.run_id", [name])
    finetuned = fetch_dicts(con, "SELECT run_id, kind FROM training_runs WHERE source = ? ORDER BY run_id", [name])
    return {"mixtures": mixtures, "training_runs": training + [{**f, "tokens": None} for f in finetuned]}


def _latest_run_or_none(workspace: Workspace) -> str | None:
    try:
        return latest_run(workspace)
    except NotFound:
        return None


def _docs_out(workspace: Workspace, run_id: str) -> int | None:
    from curation.stages.runs import show_run

    return show_run(workspace, run_id)["docs_out"]
