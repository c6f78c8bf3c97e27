"""Training runs in the catalog: `agora train`, `finetune`, `eval`, `generate` around training/.

training/ knows nothing of workspaces; this module turns a mixture into packed shards, runs the
loop, and records every run — config, mixture, tokenizer, loss per step, per-language bits per
byte — in the catalog, with a model card in each saved model folder.
"""
from __future__ import annotations

from pathlib import Path

from curation.core.errors import AgoraError
from curation.core.ids import content_key
from curation.core.workspace import Workspace
from curation.governance.model_card import write_model_card
from curation.ingest.readers import Malformed, SourceSpec, iter_records
from curation.ingest.sources import show_source
from curation.mixture.build import mixture_dir, show_mixture, text_reader
from curation.models import (
    finish_run,
    finished_run,
    model_step,
    pretraining_mixture,
    record_eval,
    resolve_model,
    start_run,
)


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
    run_dir = Path(out).resolve() if out else workspace.root / "models" / run_id
    if (done := finished_run(workspace, run_id)) and not resume:
        return done
    start_run(workspace, run_id, "pretrain", config, run_dir, mix["tokenizer_dir"],
              mixture=(mix["name"], mix["version"]), resume=resume)
    result = train(TrainConfig(run_dir=str(run_dir), model=model, tokenizer=mix["tokenizer_dir"], steps=steps,
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
    run_dir = Path(out).resolve() if out else workspace.root / "models" / run_id
    if done := finished_run(workspace, run_id):
        return done
    records = [r for r in iter_records(_spec(src, fmt, prompt_field, response_field)) if not isinstance(r, Malformed)]
    if fmt == "instruct":
        pairs = [(str(r.fields[prompt_field]), str(r.fields[response_field])) for r in records]
        examples, skipped = encode_pairs(tokenizer, pairs, seq_len)
        if skipped and not quiet:
            print(f"{len(skipped)} record(s) whose prompt fills the context were left out")
        batches = InstructBatches(examples, micro_batch, seed, len(tokenizer), tokenizer.eos_token_id)
    else:
        packed = run_dir.parent / f"{run_id}-packed"
        pack_texts(((r.record_id, r.text) for r in records), tokenizer, packed)
        batches = PackedBatches(PackedTokens(packed), seq_len, micro_batch, seed)
    start_run(workspace, run_id, "finetune", config, run_dir, str(model_dir), base_run=base_run, source=source)
    result = train(TrainConfig(run_dir=str(run_dir), model=str(model_dir), tokenizer=str(model_dir), steps=steps,
                               lr=lr, seed=seed, quiet=quiet, warmup=max(steps // 10, 1),
                               checkpoint_every=max(steps // 2, 1)), batches)
    return _finish(workspace, run_id, result)


def _spec(src: dict, fmt: str, prompt_field: str, response_field: str) -> SourceSpec:
    return SourceSpec.of(src, (prompt_field, response_field) if fmt == "instruct" else None)


def _packed(workspace: Workspace, mix: dict) -> Path:
    """The mixture's manifest tokenized and packed once (reused by every run on this mixture)."""
    import pyarrow.parquet as pq

    from training.packing import pack_texts
    from training.tokenizer import load_tokenizer

    packed = mixture_dir(workspace, mix["name"], mix["version"]) / "packed"
    if (packed / "meta.json").is_file():
        return packed
    order = pq.read_table(Path(mix["path"]) / "manifest.parquet", columns=["doc_id"]).column("doc_id").to_pylist()
    texts = text_reader(workspace, mix["curation_run"])(order)
    pack_texts(zip(order, texts), load_tokenizer(mix["tokenizer_dir"]), packed)
    return packed


def _finish(workspace: Workspace, run_id: str, result) -> dict:
    from training.checkpoint import checkpoints

    finish_run(workspace, run_id, result, checkpoints(result.run_dir))
    write_model_card(workspace, run_id)
    return {"run_id": run_id, "run_dir": str(result.run_dir), "model_dir": str(result.model_dir),
            "steps": result.steps, "first_loss": result.first_loss, "last_loss": result.last_loss,
            "tokens_per_s": result.tokens_per_s, "parameters": result.n_params, "already_done": False}


def evaluate(workspace: Workspace, model: str, mixture: str | None = None) -> dict:
    """Bits per byte per language on a mixture's held-out documents (default: the model's own
    mixture), stored in the catalog with the model's step. Languages with no held-out document
    (a single document cannot be both trained on and held out) are listed with None."""
    import pyarrow.parquet as pq

    from training.evaluate import bits_per_byte

    run_id, model_dir = resolve_model(workspace, model)
    mix = show_mixture(workspace, *_eval_mixture(workspace, run_id, mixture))
    held = pq.read_table(Path(mix["path"]) / "holdout.parquet").to_pylist()
    texts = dict(zip([h["doc_id"] for h in held],
                     text_reader(workspace, mix["curation_run"])(h["doc_id"] for h in held)))
    by_lang: dict[str, list[str]] = {}
    for row in held:
        by_lang.setdefault(row["lang"], []).append(texts[row["doc_id"]])
    scores = bits_per_byte(model_dir, by_lang)
    languages = sorted({p["lang"] for p in mix["parts"] if not p["excluded_reason"]})
    step = model_step(workspace, run_id)
    if run_id:
        record_eval(workspace, run_id, step, scores, by_lang)
        write_model_card(workspace, run_id)
    return {"run_id": run_id, "model_dir": str(model_dir), "mixture": mix["name"], "mixture_version": mix["version"],
            "step": step, "bits_per_byte": {lang: scores.get(lang) for lang in languages}}


def _eval_mixture(workspace: Workspace, run_id: str | None, name: str | None) -> tuple[str, int | None]:
    """The mixture named on the command line (its latest version), else the model's own."""
    if name:
        return name, None
    if mixture := pretraining_mixture(workspace, run_id):
        return mixture
    raise AgoraError("this model has no mixture in the catalog: pass --mixture NAME")


def generate_text(workspace: Workspace, model: str, prompt: str, max_new_tokens: int, temperature: float,
                  seed: int) -> str:
    from training.generate import generate

    _, model_dir = resolve_model(workspace, model)
    return generate(model_dir, prompt, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
