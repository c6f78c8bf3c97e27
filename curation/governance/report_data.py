"""What the report shows, read from the catalog: which curation run, mixture and model (an explicit
choice, else their lineage, else the latest; see report.py), the sources, the training runs, the
chosen model's loss and evaluations, and the duplicate clusters contributors share.
"""
from __future__ import annotations

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace
from curation.mixture.build import show_mixture
from curation.stages.runs import show_run


def _gather(workspace: Workspace, run_id, mixture, model_run) -> dict:
    why = {"run": "chosen" if run_id else None, "mixture": "chosen" if mixture else None,
           "model": "chosen" if model_run else None}
    with open_catalog(workspace) as con:
        model = None
        if model_run:
            rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [model_run])
            if not rows:
                raise NotFound(f"no training run {model_run!r} (see the training_runs table)")
            model = rows[0]
        mix_key = None  # (name, version)
        if mixture:
            row = con.execute("SELECT max(version) FROM mixtures WHERE name = ?", [mixture]).fetchone()
            mix_key = (mixture, row[0])  # version None: show_mixture below says which names exist
        elif model:
            mix_key, why["mixture"] = _model_mixture(con, model), "the model's"
        elif run_id:
            row = con.execute("SELECT name, version FROM mixtures WHERE curation_run = ? "
                              "ORDER BY created_at DESC, version DESC LIMIT 1", [run_id]).fetchone()
            mix_key, why["mixture"] = (tuple(row) if row else None), "latest of the run"
        if not model_run:
            if mix_key:
                model, why["model"] = _latest_model(con, mix_key), "latest on the mixture"
            elif not run_id:
                model, why["model"] = _latest_model(con, None), "latest"
                if model:
                    mix_key, why["mixture"] = _model_mixture(con, model), "the model's"
        if not mix_key and not mixture and not run_id:
            row = con.execute("SELECT name, version FROM mixtures ORDER BY created_at DESC, version DESC "
                              "LIMIT 1").fetchone()
            mix_key, why["mixture"] = (tuple(row) if row else None), "latest"
        if not run_id and mix_key and mix_key[1] is not None:
            row = con.execute("SELECT curation_run FROM mixtures WHERE name = ? AND version = ?",
                              list(mix_key)).fetchone()
            run_id, why["run"] = row[0], "the mixture's"
        if not run_id:
            row = con.execute("SELECT run_id FROM runs WHERE kind = 'curate' AND status = 'finished' "
                              "ORDER BY finished_at DESC LIMIT 1").fetchone()
            run_id, why["run"] = (row[0], "latest") if row else (None, None)
        sources = fetch_dicts(con, "SELECT name, version, status, records, malformed, license, license_class, "
                                   "languages, contributor, organization, country FROM source_overview "
                                   "ORDER BY name, version")
        trained = fetch_dicts(con, "SELECT run_id, kind, mixture, mixture_version, base_run, status, steps, "
                                   "first_loss, last_loss, tokens_per_s, finished_at FROM training_runs "
                                   "ORDER BY started_at NULLS LAST, run_id")
        loss, evals = [], []
        if model:
            loss = con.execute("SELECT step, loss FROM train_metrics WHERE run_id = ? ORDER BY step",
                               [model["run_id"]]).fetchall()
            evals = con.execute("SELECT step, lang, arg_max(bits_per_byte, evaluated_at) FROM eval_metrics "
                                "WHERE run_id = ? GROUP BY step, lang ORDER BY lang, step",
                                [model["run_id"]]).fetchall()
        shared = _shared_clusters(con, run_id) if run_id else None
    run = show_run(workspace, run_id) if run_id else None
    mix = show_mixture(workspace, mix_key[0], mix_key[1]) if mix_key else None
    if not model:
        why["model"] = None
    if not mix:
        why["mixture"] = None
    return {"run": run, "mixture": mix, "model": model, "why": why, "sources": sources, "trained": trained,
            "loss": loss, "evals": evals, "shared": shared}


def _model_mixture(con, model: dict) -> tuple | None:
    """The mixture a model was trained on, following a fine-tune's base runs."""
    seen = set()
    while model and model["run_id"] not in seen:
        seen.add(model["run_id"])
        if model.get("mixture"):
            version = model.get("mixture_version")
            if version is None:
                row = con.execute("SELECT max(version) FROM mixtures WHERE name = ?", [model["mixture"]]).fetchone()
                version = row[0] if row else None
            return (model["mixture"], version) if version is not None else None
        rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [model.get("base_run")])
        model = rows[0] if rows else None
    return None


def _latest_model(con, mix_key: tuple | None) -> dict | None:
    rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE status = 'finished' "
                            "ORDER BY finished_at DESC NULLS LAST, run_id DESC")
    if mix_key is None:
        return rows[0] if rows else None
    return next((r for r in rows if _model_mixture(con, r) == tuple(mix_key)), None)


def _shared_clusters(con, run_id: str) -> dict:
    """Duplicate clusters by contributor: pairs that share a cluster, and clusters within one contributor."""
    rows = con.execute(
        """
        WITH m AS (
            SELECT DISTINCT c.cluster_id, o.contributor
            FROM dup_clusters c JOIN documents d USING (doc_id)
            JOIN source_overview o ON o.name = d.source AND o.version = d.source_version
            WHERE c.run_id = ?
        ), n AS (SELECT cluster_id, count(*) AS k FROM m GROUP BY cluster_id)
        SELECT a.contributor, b.contributor, count(*)
        FROM m a JOIN m b USING (cluster_id) JOIN n USING (cluster_id)
        WHERE a.contributor <> b.contributor OR n.k = 1
        GROUP BY ALL
        """, [run_id]).fetchall()
    return {(a, b): n for a, b, n in rows}
