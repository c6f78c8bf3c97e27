"""Training runs in the catalog: `agora train`, `finetune`, `eval`, `generate` around training/.

training/ knows nothing of workspaces; this module turns a mixture into packed shards, runs the
loop, and records every run — config, mixture, tokenizer, loss per step, per-language bits per
byte — in the catalog, with a model card in each saved model folder.
"""
from __future__ import annotations

import json
from pathlib import Path

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError, NotFound
from curation.core.ids import content_key, utc_now
from curation.mixture.build import mixture_dir, show_mixture, text_reader
from curation.governance.model_card import write_model_card
from curation.ingest.readers import Malformed, SourceSpec, iter_records
from curation.ingest.sources import show_source
from curation.core.workspace import Workspace


def pretrain(workspace: Workspace, mixture: str, *, model: str = "tiny", steps: int = 200,
             batch_tokens: int = 8192, lr: float = 1e-3, seed: int = 0, resume: bool = False,
             out: str | None = None, quiet: bool = False) -> dict:
    from training.batches import PackedBatches
    from training.packing import PackedTokens
    from training.train import TrainConfig, context_length, train

    mix = show_mixture(workspace, mixture)
    packed = _packed(workspace, mix)
    seq_len = context_length(model)
    micro_batch = max(batch_tokens // seq_len, 1)
    config = {"model": model, "steps": steps, "batch_tokens": batch_tokens, "seq_len": seq_len, "lr": lr,
              "seed": seed}
    run_id = "train-" + content_key([mix["name"], mix["version"], config])
    out_dir = Path(out).resolve() if out else workspace.root / "models" / run_id
    if (done := _finished(workspace, run_id)) and not resume:
        return done
    _start(workspace, run_id, "pretrain", config, out_dir, mix["tokenizer_dir"], mixture=(mix["name"], mix["version"]),
           resume=resume)
    result = train(TrainConfig(out_dir=str(out_dir), model=model, tokenizer=mix["tokenizer_dir"], steps=steps,
                               lr=lr, seed=seed, resume=resume, quiet=quiet,
                               warmup=min(100, max(steps // 10, 1)), checkpoint_every=max(steps // 4, 1)),
                   PackedBatches(PackedTokens(packed), seq_len, micro_batch, seed))
    return _finish(workspace, run_id, result)


def finetune(workspace: Workspace, base: str, source: str, *, fmt: str = "instruct", prompt_field: str = "prompt",
             response_field: str = "response", steps: int = 100, batch_tokens: int = 4096, lr: float = 3e-4,
             seed: int = 0, out: str | None = None, quiet: bool = False) -> dict:
    """Continue training a model on a registered source: `instruct` learns only the responses of
    (prompt, response) records; `text` continues pretraining on the source's texts."""
    from training.batches import PackedBatches
    from training.instruct import InstructBatches, encode_pairs
    from training.packing import PackedTokens, pack_texts
    from training.tokenizer import load_tokenizer
    from training.train import TrainConfig, context_length, train

    base_run, model_dir = resolve_model(workspace, base)
    src = show_source(workspace, source)["versions"][0]
    if src["status"] != "active":
        raise AgoraError(f"source {source!r} is {src['status']}: it cannot be used for fine-tuning")
    tokenizer = load_tokenizer(model_dir)
    seq_len = context_length(str(model_dir))
    micro_batch = max(batch_tokens // seq_len, 1)
    config = {"base": str(model_dir), "source": source, "source_version": src["version"], "format": fmt,
              "prompt_field": prompt_field, "response_field": response_field, "steps": steps,
              "batch_tokens": batch_tokens, "lr": lr, "seed": seed}
    run_id = "ft-" + content_key(config)
    out_dir = Path(out).resolve() if out else workspace.root / "models" / run_id
    if done := _finished(workspace, run_id):
        return done
    records = [r for r in iter_records(_spec(src, fmt, prompt_field, response_field)) if not isinstance(r, Malformed)]
    if fmt == "instruct":
        pairs = [(str(r.fields[prompt_field]), str(r.fields[response_field])) for r in records]
        examples, skipped = encode_pairs(tokenizer, pairs, seq_len)
        if skipped and not quiet:
            print(f"{len(skipped)} record(s) whose prompt fills the context were left out")
        batches = InstructBatches(examples, micro_batch, seed, len(tokenizer), tokenizer.eos_token_id)
    else:
        packed = out_dir.parent / f"{run_id}-packed"
        pack_texts(((r.record_id, r.text) for r in records), tokenizer, packed)
        batches = PackedBatches(PackedTokens(packed), seq_len, micro_batch, seed)
    _start(workspace, run_id, "finetune", config, out_dir, str(model_dir), base_run=base_run, source=source)
    result = train(TrainConfig(out_dir=str(out_dir), model=str(model_dir), tokenizer=str(model_dir), steps=steps,
                               lr=lr, seed=seed, quiet=quiet, warmup=max(steps // 10, 1),
                               checkpoint_every=max(steps // 2, 1)), batches)
    return _finish(workspace, run_id, result)


def _spec(src: dict, fmt: str, prompt_field: str, response_field: str) -> SourceSpec:
    fields = (prompt_field, response_field) if fmt == "instruct" else tuple(src["text_fields"])
    return SourceSpec(src["location"], src["format"], fields, src["id_field"],
                      tuple(src["columns"]) if src["columns"] else None)


def resolve_model(workspace: Workspace, run_or_dir: str) -> tuple[str | None, Path]:
    """(training run id or None, the Hugging Face model folder) for a run id or a model folder."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT run_id, out_dir, status FROM training_runs WHERE run_id = ?", [run_or_dir])
    if rows:
        if rows[0]["status"] != "finished":
            raise AgoraError(f"training run {run_or_dir} is {rows[0]['status']}, not finished")
        return rows[0]["run_id"], Path(rows[0]["out_dir"]) / "model"
    folder = Path(run_or_dir)
    for candidate in (folder, folder / "model"):
        if (candidate / "config.json").is_file():
            with open_catalog(workspace) as con:
                run = con.execute("SELECT run_id FROM training_runs WHERE out_dir = ?",
                                  [str(candidate.resolve().parent)]).fetchone()
            return (run[0] if run else None), candidate.resolve()
    raise NotFound(f"{run_or_dir!r} is neither a training run (see `agora models`) nor a model folder")


def _packed(workspace: Workspace, mix: dict) -> Path:
    """The mixture's manifest tokenized and packed once (reused by every run on this mixture)."""
    from training.packing import pack_texts
    from training.tokenizer import load_tokenizer
    import pyarrow.parquet as pq

    packed = mixture_dir(workspace, mix["name"], mix["version"]) / "packed"
    if (packed / "meta.json").is_file():
        return packed
    order = pq.read_table(Path(mix["path"]) / "manifest.parquet", columns=["doc_id"]).column("doc_id").to_pylist()
    texts = text_reader(workspace, mix["curation_run"])(order)
    pack_texts(zip(order, texts), load_tokenizer(mix["tokenizer_dir"]), packed)
    return packed


def _start(workspace: Workspace, run_id: str, kind: str, config: dict, out_dir: Path, tokenizer_dir: str,
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
            "tokenizer_dir, out_dir, status, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)",
            [run_id, kind, mixture[0] if mixture else None, mixture[1] if mixture else None, base_run, source,
             json.dumps(config), tokenizer_dir, str(out_dir), utc_now()])


def _finished(workspace: Workspace, run_id: str) -> dict | None:
    """The summary of a finished run with these settings: training again would give the same model."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT run_id, out_dir, steps, first_loss, last_loss, tokens_per_s FROM training_runs "
                                "WHERE run_id = ? AND status = 'finished'", [run_id])
    if not rows:
        return None
    return {**rows[0], "out_dir": str(Path(rows[0]["out_dir"]) / "model"), "already_done": True}


def _finish(workspace: Workspace, run_id: str, result) -> dict:
    from training.checkpoint import checkpoints

    with open_catalog(workspace) as con:
        con.execute("DELETE FROM checkpoints WHERE run_id = ?", [run_id])
        for folder in checkpoints(result.out_dir):
            con.execute("INSERT INTO checkpoints VALUES (?, ?, ?)", [run_id, int(folder.name.split("-")[1]), str(folder)])
        con.execute("DELETE FROM train_metrics WHERE run_id = ?", [run_id])
        con.executemany("INSERT INTO train_metrics VALUES (?, ?, ?, NULL)",
                        [[run_id, step + 1, loss] for step, loss in enumerate(result.losses)])
        con.execute("UPDATE training_runs SET status = 'finished', finished_at = ?, steps = ?, first_loss = ?, "
                    "last_loss = ?, tokens_per_s = ? WHERE run_id = ?",
                    [utc_now(), result.steps, result.first_loss, result.last_loss, result.tokens_per_s, run_id])
    write_model_card(workspace, run_id)
    return {"run_id": run_id, "out_dir": str(result.model_dir), "steps": result.steps,
            "first_loss": result.first_loss, "last_loss": result.last_loss, "tokens_per_s": result.tokens_per_s,
            "parameters": result.n_params, "already_done": False}




def evaluate(workspace: Workspace, model: str, mixture: str | None = None) -> dict:
    """Bits per byte per language on a mixture's held-out documents (default: the model's own
    mixture), stored in the catalog with the model's step. Languages with no held-out document
    (a single document cannot be both trained on and held out) are listed with None."""
    import pyarrow.parquet as pq

    from training.evaluate import bits_per_byte

    run_id, model_dir = resolve_model(workspace, model)
    mix = show_mixture(workspace, mixture) if mixture else _mixture_of(workspace, run_id)
    held = pq.read_table(Path(mix["path"]) / "holdout.parquet").to_pylist()
    texts = dict(zip([h["doc_id"] for h in held], text_reader(workspace, mix["curation_run"])(h["doc_id"] for h in held)))
    by_lang: dict[str, list[str]] = {}
    for row in held:
        by_lang.setdefault(row["lang"], []).append(texts[row["doc_id"]])
    scores = bits_per_byte(model_dir, by_lang)
    languages = sorted({p["lang"] for p in mix["parts"] if not p["excluded_reason"]})
    step = _model_step(workspace, run_id)
    if run_id:
        with open_catalog(workspace) as con:
            for lang, value in scores.items():
                con.execute("INSERT INTO eval_metrics (run_id, step, lang, bits_per_byte, docs, bytes) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            [run_id, step, lang, value, len(by_lang[lang]),
                             sum(len(t.encode("utf-8")) for t in by_lang[lang])])
        write_model_card(workspace, run_id)
    return {"run_id": run_id, "model_dir": str(model_dir), "mixture": mix["name"], "mixture_version": mix["version"],
            "step": step, "bits_per_byte": {lang: scores.get(lang) for lang in languages}}


def _mixture_of(workspace: Workspace, run_id: str | None) -> dict:
    """The mixture a model was pretrained on (following fine-tunes back to their base)."""
    with open_catalog(workspace) as con:
        while run_id:
            row = fetch_dicts(con, "SELECT mixture, mixture_version, base_run FROM training_runs WHERE run_id = ?",
                              [run_id])[0]
            if row["mixture"]:
                return show_mixture(workspace, row["mixture"], row["mixture_version"])
            run_id = row["base_run"]
    raise AgoraError("this model has no mixture in the catalog: pass --mixture NAME")


def _model_step(workspace: Workspace, run_id: str | None) -> int | None:
    if not run_id:
        return None
    with open_catalog(workspace) as con:
        return con.execute("SELECT steps FROM training_runs WHERE run_id = ?", [run_id]).fetchone()[0]


def generate_text(workspace: Workspace, model: str, prompt: str, max_new_tokens: int, temperature: float,
                  seed: int) -> str:
    from training.generate import generate

    _, model_dir = resolve_model(workspace, model)
    return generate(model_dir, prompt, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
