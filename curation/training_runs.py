"""Training runs in the catalog: `agora train`, `finetune`, `eval`, `generate` around training/.

training/ knows nothing of workspaces; this module turns a mixture into packed shards, runs the
loop (in this process, or in N processes under torchrun), and records every run — config, mixture,
tokenizer, loss and throughput per step, per-language bits per byte — in the catalog, with a model
card in each saved model folder.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from curation.core.errors import AgoraError
from curation.core.ids import content_key
from curation.core.workspace import Workspace
from curation.governance.model_card import write_model_card
from curation.ingest.readers import Record, SourceSpec, iter_records
from curation.ingest.sources import show_source
from curation.mixture.build import pack_mixture, show_mixture, text_reader
from curation.models import (
    finish_run,
    finished_run,
    model_step,
    pretraining_mixture,
    record_eval,
    resolve_model,
    start_run,
)


@dataclass(frozen=True)
class Launch:
    """Where training runs: in this process, or `nproc` processes on each of `nnodes` machines (torchrun).

    Node 0 packs the data, records the run and evaluates it; every node runs `agora train` with the
    same settings, its own `node_rank` and node 0's address, on a workspace they all mount."""

    nproc: int = 1
    nnodes: int = 1
    node_rank: int = 0
    master_addr: str | None = None

    @property
    def world(self) -> int:
        return self.nproc * self.nnodes


def pretrain(workspace: Workspace, mixture: str, *, model: str = "tiny", steps: int = 200,
             batch_tokens: int = 8192, lr: float = 1e-3, seed: int = 0, resume: bool = False,
             out: str | None = None, quiet: bool = False, launch: Launch = Launch(), compile: bool = False) -> dict:
    """Train `model` (a preset, a config.json, or a Hugging Face model folder to continue pretraining)
    on a mixture's manifest; see Launch for --nproc."""
    from training.model import PRESETS
    from training.train import TrainConfig, context_length

    mix = show_mixture(workspace, mixture)
    if model not in PRESETS and Path(model).is_dir():
        model = str(Path(model).resolve())
        _check_tokenizer(model, mix)
    seq_len = context_length(model)
    per_rank = max(batch_tokens // (seq_len * launch.world), 1)  # sequences per process and step
    config = {"model": model, "steps": steps, "batch_tokens": batch_tokens, "seq_len": seq_len, "lr": lr,
              "seed": seed} | ({"world_size": launch.world} if launch.world > 1 else {})
    run_id = "train-" + content_key([mix["name"], mix["version"], config])
    run_dir = Path(out).resolve() if out else workspace.root / "models" / run_id
    if (done := finished_run(workspace, run_id)) and not resume:
        return done
    train_config = TrainConfig(run_dir=str(run_dir), model=model, tokenizer=mix["tokenizer_dir"], steps=steps,
                               lr=lr, seed=seed, resume=resume, quiet=quiet, compile=compile,
                               warmup=min(100, max(steps // 10, 1)), checkpoint_every=max(steps // 4, 1))
    packed, result_file = Path(mix["path"]) / "packed", run_dir / "result.json"
    args = _train_args(train_config, packed, seq_len, per_rank, launch.world, result_file)
    if launch.node_rank:  # node 0 packs and records; this node only runs its processes
        if not (packed / "meta.json").is_file():
            raise AgoraError("the mixture is not packed yet: start node 0 first (it packs, then waits for the others)")
        _torchrun(launch, args)
        return {"run_id": run_id, "run_dir": str(run_dir), "node_rank": launch.node_rank}
    pack_mixture(workspace, mix)
    start_run(workspace, run_id, "pretrain", config, run_dir, mix["tokenizer_dir"],
              mixture=(mix["name"], mix["version"]), resume=resume)
    if launch.world == 1:
        return _finish(workspace, run_id, _train_here(train_config, packed, seq_len, per_rank))
    from training.train import TrainResult

    result_file.unlink(missing_ok=True)
    _torchrun(launch, args)
    return _finish(workspace, run_id, TrainResult.load(result_file))


def _train_here(config, packed: Path, seq_len: int, micro_batch: int):
    from training.batches import PackedBatches
    from training.packing import PackedTokens
    from training.throughput import set_cpu_threads
    from training.train import train

    set_cpu_threads()
    return train(config, PackedBatches(PackedTokens(packed), seq_len, micro_batch, config.seed))


def _train_args(config, packed: Path, seq_len: int, per_rank: int, world: int, result: Path) -> list[str]:
    """`python -m training.train` arguments for the run `_train_here` would do in this process."""
    args = ["--data", str(packed), "--out", config.run_dir, "--model", config.model, "--tokenizer", config.tokenizer,
            "--steps", str(config.steps), "--seq-len", str(seq_len), "--micro-batch", str(per_rank),
            "--batch-tokens", str(per_rank * seq_len * world), "--lr", str(config.lr), "--seed", str(config.seed),
            "--warmup", str(config.warmup), "--checkpoint-every", str(config.checkpoint_every),
            "--result", str(result)]
    return args + ["--resume"] * config.resume + ["--quiet"] * config.quiet + ["--compile"] * config.compile


def _torchrun(launch: Launch, train_args: list[str]) -> None:
    """Run training.train under torchrun, with each process's CPU threads set by the rule
    (training.throughput.cpu_threads); a failure leaves the run resumable."""
    from training.throughput import cpu_threads

    rendezvous = ["--standalone"] if launch.nnodes == 1 else [
        "--nnodes", str(launch.nnodes), "--node-rank", str(launch.node_rank),
        "--master-addr", launch.master_addr or "", "--master-port", "29500"]
    if launch.nnodes > 1 and not launch.master_addr:
        raise AgoraError("--nnodes > 1 needs --master-addr: the address of node 0")
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(launch.nproc), *rendezvous,
               "-m", "training.train", *train_args]
    env = {**os.environ, "OMP_NUM_THREADS": str(cpu_threads(launch.nproc))}
    done = subprocess.run(command, env=env)
    if done.returncode:
        raise AgoraError(f"training under torchrun stopped (exit {done.returncode}); what it checkpointed is kept: "
                         f"run the same command with --resume to continue")


def _check_tokenizer(model_dir: str, mix: dict) -> None:
    """Continued pretraining needs the mixture tokenized with the model's own tokenizer: same vocabulary
    (when the folder holds a tokenizer) and no more ids than the model has embeddings."""
    from transformers import AutoConfig

    from training.tokenizer import load_tokenizer

    data = load_tokenizer(mix["tokenizer_dir"])
    fix = f"create the mixture with `agora mix create {mix['name']} --tokenizer {model_dir} ...`"
    vocab_size = getattr(AutoConfig.from_pretrained(model_dir), "vocab_size", None)
    if vocab_size is not None and len(data) > vocab_size:
        raise AgoraError(f"the model in {model_dir} has {vocab_size} token ids but mixture {mix['name']} "
                         f"v{mix['version']} was tokenized into {len(data)}: {fix}")
    try:
        own = load_tokenizer(model_dir)
    except (OSError, ValueError):  # a model folder without a tokenizer: the mixture's is saved with the result
        return
    if own.get_vocab() != data.get_vocab() or own.eos_token != data.eos_token:
        raise AgoraError(f"mixture {mix['name']} v{mix['version']} was tokenized with another tokenizer than the "
                         f"model in {model_dir}: {fix}")


def finetune(workspace: Workspace, base: str, source: str, *, fmt: str = "instruct", prompt_field: str = "prompt",
             response_field: str = "response", steps: int = 100, batch_tokens: int = 4096, lr: float = 3e-4,
             seed: int = 0, out: str | None = None, quiet: bool = False) -> dict:
    """Continue training a model on a registered source: `instruct` learns only the responses of
    (prompt, response) records; `text` continues pretraining on the source's texts."""
    from training.batches import PackedBatches
    from training.instruct import InstructBatches, encode_pairs
    from training.packing import PackedTokens, pack_texts
    from training.throughput import set_cpu_threads
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
    records = [r for r in iter_records(_spec(src, fmt, prompt_field, response_field)) if isinstance(r, Record)]
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
    set_cpu_threads()
    result = train(TrainConfig(run_dir=str(run_dir), model=str(model_dir), tokenizer=str(model_dir), steps=steps,
                               lr=lr, seed=seed, quiet=quiet, warmup=max(steps // 10, 1),
                               checkpoint_every=max(steps // 2, 1)), batches)
    return _finish(workspace, run_id, result)


def _spec(src: dict, fmt: str, prompt_field: str, response_field: str) -> SourceSpec:
    return SourceSpec.of(src, (prompt_field, response_field) if fmt == "instruct" else None)


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
    from training.throughput import set_cpu_threads

    set_cpu_threads()
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
    from training.throughput import set_cpu_threads

    set_cpu_threads()
    _, model_dir = resolve_model(workspace, model)
    return generate(model_dir, prompt, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
