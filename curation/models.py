"""The catalog's record of trained models: the `training_runs` table and the tables keyed by it.

Every question about a training run that the catalog can answer is answered here, in SQL: which
runs exist, which folder a run or model lives in, and which runs a fine-tune stands on. Running
the training itself is `curation.training_runs`; this module never imports training/.
"""
from __future__ import annotations

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.workspace import Workspace


def list_runs(workspace: Workspace) -> list[dict]:
    """One row per training run, oldest first (`agora models`)."""
    with open_catalog(workspace) as con:
        return fetch_dicts(con, "SELECT run_id, kind, mixture, mixture_version, base_run, source, status, steps, "
                                "first_loss, last_loss, tokens_per_s, out_dir FROM training_runs ORDER BY started_at")
