"""The catalog's record of trained models: the `training_runs` table and the tables keyed by it.

Every question about a training run that the catalog can answer is answered here, in SQL: which
runs exist, where a run's folder (`run_dir`) and its Hugging Face model (`model_dir`, always
`run_dir/model`) are, and which runs a fine-tune stands on. Running the training itself is
`curation.training_runs`; this module never imports training/.
"""
from __future__ import annotations

import json
from pathlib import Path

import duckdb

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError, NotFound
from curation.core.ids import utc_now
from curation.core.workspace import Workspace

MODEL_SUBDIR = "model"  # run_dir/model: the final model, loadable with AutoModelForCausalLM


def list_runs(workspace: Workspace) -> list[dict]:
    """One row per training run, oldest first (`agora models`)."""
    with open_catalog(workspace) as con:
        return fetch_dicts(con, "SELECT run_id, kind, mixture, mixture_version, base_run, source, status, steps, "
                                "first_loss, last_loss, tokens_per_s, run_dir FROM training_runs ORDER BY started_at")


def find_run(con: duckdb.DuckDBPyConnection, ref: str) -> dict | None:
    """The training run named by a run id, its run folder or its model folder (what `agora train` prints)."""
    folder = Path(ref).resolve()
    run_dir = folder.parent if folder.name == MODEL_SUBDIR else folder
    rows = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ? OR run_dir = ? ORDER BY run_id = ? DESC",
                       [ref, str(run_dir), ref])
    return rows[0] if rows else None


def resolve_model(workspace: Workspace, ref: str) -> tuple[str | None, Path]:
    """(training run id, model folder) for a run id, run folder or model folder; a model folder that
    no run of this workspace made is accepted with run id None."""
    with open_catalog(workspace) as con:
        run = find_run(con, ref)
    if run:
        if run["status"] != "finished":
            raise AgoraError(f"training run {run['run_id']} is {run['status']}, not finished")
        return run["run_id"], model_dir(run)
    folder = Path(ref)
    for candidate in (folder, folder / MODEL_SUBDIR):
        if (candidate / "config.json").is_file():
            return None, candidate.resolve()
    raise NotFound(f"{ref!r} is neither a training run (see `agora models`) nor a model folder")


def model_dir(run: dict) -> Path:
    return Path(run["run_dir"]) / MODEL_SUBDIR


def training_chain(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict]:
    """The run, then the run it fine-tuned, and so on down to the pretraining run."""
    chain = fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [run_id])
    while chain and chain[-1]["base_run"]:
        chain += fetch_dicts(con, "SELECT * FROM training_runs WHERE run_id = ?", [chain[-1]["base_run"]])
    return chain


def finished_run(workspace: Workspace, run_id: str) -> dict | None:
    """The summary of a finished run with these settings: training again would give the same model."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT run_id, run_dir, steps, first_loss, last_loss, tokens_per_s FROM training_runs "
                                "WHERE run_id = ? AND status = 'finished'", [run_id])
    if not rows:
        return None
    return {**rows[0], "model_dir": str(model_dir(rows[0])), "already_done": True}


def start_run(workspace: Workspace, run_id: str, kind: str, config: dict, run_dir: Path, tokenizer_dir: str,
              mixture: tuple[str, int] | None = None, base_run: str | None = None, source: str | None = None,
              resume: bool = False) -> None:
    with open_catalog(workspace) as con:
        existing = fetch_dicts(con, "SELECT status FROM training_runs WHERE run_id = ?", [run_id])
        if existing and not resume:
            raise AgoraError(f"training run {run_id} with these settings was interrupted; "
                             f"use --resume to continue it from its last checkpoint")
        if existing:
            con.execute("UPDATE training_runs SET status = 'running' WHERE run_id = ?", [run_id])
            return
        con.execute(
            "INSERT INTO training_runs (run_id, kind, mixture, mixture_version, base_run, source, config, "
            "tokenizer_dir, run_dir, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
            [run_id, kind, mixture[0] if mixture else None, mixture[1] if mixture else None, base_run, source,
             json.dumps(config), tokenizer_dir, str(run_dir), utc_now()])


def finish_run(workspace: Workspace, run_id: str, result, checkpoints: list[Path]) -> None:
    """Record a training result (training.train.TrainResult): its checkpoints, loss per step, learning rate
    and throughput (tokens/s, MFU) per logged step, and summary."""
    with open_catalog(workspace) as con:
        con.execute("DELETE FROM checkpoints WHERE run_id = ?", [run_id])
        for folder in checkpoints:
            con.execute("INSERT INTO checkpoints VALUES (?, ?, ?)",
                        [run_id, int(folder.name.split("-")[1]), str(folder)])
        con.execute("DELETE FROM train_metrics WHERE run_id = ?", [run_id])
        logged = {row["step"]: row for row in result.logged}
        con.executemany("INSERT INTO train_metrics (run_id, step, loss, lr, tokens_per_s, mfu) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [[run_id, step, loss, *(logged[step][key] if step in logged else None
                                                for key in ("lr", "tokens_per_s", "mfu"))]
                         for step, loss in enumerate(result.losses, start=1)])
        con.execute("UPDATE training_runs SET status = 'finished', finished_at = ?, steps = ?, first_loss = ?, "
                    "last_loss = ?, tokens_per_s = ? WHERE run_id = ?",
                    [utc_now(), result.steps, result.first_loss, result.last_loss, result.tokens_per_s, run_id])


def pretraining_mixture(workspace: Workspace, run_id: str | None) -> tuple[str, int] | None:
    """(name, version) of the mixture a model was pretrained on, following fine-tunes to their base."""
    if not run_id:
        return None
    with open_catalog(workspace) as con:
        pretrain = training_chain(con, run_id)[-1]
    return (pretrain["mixture"], pretrain["mixture_version"]) if pretrain["mixture"] else None


def model_step(workspace: Workspace, run_id: str | None) -> int | None:
    if not run_id:
        return None
    with open_catalog(workspace) as con:
        return con.execute("SELECT steps FROM training_runs WHERE run_id = ?", [run_id]).fetchone()[0]


def record_eval(workspace: Workspace, run_id: str, step: int | None, scores: dict[str, float],
                texts: dict[str, list[str]]) -> None:
    """Bits per byte per language at the model's step, with the documents and bytes they cover."""
    with open_catalog(workspace) as con:
        for lang, value in scores.items():
            con.execute("INSERT INTO eval_metrics (run_id, step, lang, bits_per_byte, docs, bytes) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [run_id, step, lang, value, len(texts[lang]), sum(len(t.encode("utf-8")) for t in texts[lang])])
