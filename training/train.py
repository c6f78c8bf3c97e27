"""The training loop, in nanoGPT's spirit: `_train` reads top to bottom.

AdamW with linear warmup and cosine decay to 10% of the peak rate, gradient clipping and
accumulation, bf16 autocast on GPUs that have it (float32 on CPU, where bf16 autocast measured ~10x
slower without AMX), optional torch.compile, DDP under torchrun. Batches come from a `BatchSource`
(packed pretraining windows or instruct examples), so pretraining and fine-tuning share this loop.

A run folder holds:
  checkpoints/step-NNNNNNNN/   config.json + model.safetensors + trainer_state.pt (see checkpoint.py)
  windows/FIRST-LAST.parquet   step, micro_step, rank, start of every sequence trained on
  model/                       the final model in Hugging Face format, with the tokenizer when given

Under torchrun:  torchrun --nproc-per-node 2 -m training.train --data PACKED --out RUN --model tiny ...
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm
from transformers import PreTrainedModel

from training.batches import IGNORE, BatchSource, PackedBatches, write_windows
from training.checkpoint import latest_checkpoint, load_trainer_state, save_checkpoint
from training.model import build_model, context_length, count_parameters, flops_per_token, load_model, save_model
from training.packing import PackedTokens
from training.throughput import mfu, peak_flops, set_cpu_threads
from training.tokenizer import load_tokenizer

MIN_LR_RATIO = 0.1  # the cosine decays to this fraction of the peak learning rate


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or infinite; nothing after the last checkpoint was saved."""


@dataclass
class TrainConfig:
    run_dir: str  # checkpoints, window records and the final model (its model/ subfolder)
    model: str = "tiny"  # a preset, a config.json (fresh weights) or a saved model folder (fine-tune its weights)
    tokenizer: str | None = None  # folder saved into the final model; default: the model folder's own, if any
    steps: int = 1000
    grad_accum: int = 1  # micro-batches per optimizer step on each rank
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"  # "auto": this rank's GPU when there is one, else the CPU
    compile: bool = False
    checkpoint_every: int = 500  # steps; the last step is always checkpointed
    log_every: int = 10  # steps between records of throughput (tokens/s, MFU); the last step is always logged
    resume: bool = False  # continue from the run folder's latest checkpoint
    quiet: bool = False


@dataclass
class TrainResult:
    steps: int
    first_loss: float
    last_loss: float
    losses: list[float]  # one per step since step 0, resumed steps included
    tokens_per_s: float  # over the steps this call ran, all ranks together
    run_dir: Path
    model_dir: Path | None  # the final Hugging Face model (written by rank 0 only)
    n_params: int
    elapsed_s: float
    logged: list[dict]  # every log_every steps: step, lr, tokens_per_s (all ranks), mfu (None off GPUs)
    peak_memory: int | None = None  # bytes of GPU memory this rank allocated at most; None on CPUs

    def save(self, path: str | Path) -> None:
        """As JSON: how a torchrun job hands its result to the process that launched it."""
        Path(path).write_text(json.dumps({**asdict(self), "run_dir": str(self.run_dir),
                                          "model_dir": str(self.model_dir) if self.model_dir else None}))

    @classmethod
    def load(cls, path: str | Path) -> TrainResult:
        fields = json.loads(Path(path).read_text())
        return cls(**{**fields, "run_dir": Path(fields["run_dir"]),
                      "model_dir": Path(fields["model_dir"]) if fields["model_dir"] else None})


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warmup over `warmup` steps, then cosine decay to MIN_LR_RATIO of the peak at the last step."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    progress = (step - config.warmup) / max(config.steps - config.warmup, 1)
    return config.lr * (MIN_LR_RATIO + (1 - MIN_LR_RATIO) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train(config: TrainConfig, batches: BatchSource,
          on_step: Callable[[int, float, PreTrainedModel], None] | None = None) -> TrainResult:
    """Train for `config.steps` optimizer steps on `batches`; on rank 0, call `on_step(steps_done, loss, model)`
    after each step. Raises NonFiniteLoss on a NaN/inf loss, before it reaches the weights.

    Under torchrun (WORLD_SIZE > 1) it joins the process group itself (NCCL on GPUs, gloo on CPU).
    """
    device = _device(config.device)
    rank, world, owns_group = _init_distributed(device)
    try:
        return _train(config, batches, on_step, device, rank, world)
    finally:
        if owns_group:
            dist.destroy_process_group()


def _train(config: TrainConfig, batches: BatchSource, on_step, device: torch.device, rank: int,
           world: int) -> TrainResult:
    out = Path(config.run_dir)
    checkpoint = latest_checkpoint(out) if config.resume else None
    if not config.resume and latest_checkpoint(out):
        raise FileExistsError(f"{out} already holds checkpoints: resume it or train into an empty folder")

    torch.manual_seed(config.seed)
    if checkpoint:
        model = load_model(checkpoint)
    elif Path(config.model, "config.json").is_file():
        model = load_model(config.model)
    else:
        model = build_model(config.model, batches.vocab_size)
    if model.get_input_embeddings().num_embeddings < batches.vocab_size:
        raise ValueError(f"the model knows {model.get_input_embeddings().num_embeddings} token ids, the data "
                         f"uses {batches.vocab_size}: train it with the tokenizer it was built for")
    model.config.pad_token_id = None  # windows are never padded: skip transformers' padding check (a GPU sync)
    model.to(device).train()
    optimizer = build_optimizer(model, config)
    start, losses, logged = load_trainer_state(checkpoint, optimizer) if checkpoint else (0, [], [])
    if rank == 0:
        _drop_windows_from(out / "windows", start)
    bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else nullcontext()
    net = torch.compile(model) if config.compile else model
    if world > 1:
        net = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    windows: list = []  # rank 0: (step, micro_step, rank, positions) of every rank since the last checkpoint
    peak = peak_flops(device)
    tokens, began = 0, time.perf_counter()
    interval = (0, began)  # tokens and time at the last logged step
    progress = tqdm(total=config.steps, initial=start, disable=config.quiet or rank != 0, desc="train",
                    dynamic_ncols=True)
    for step in range(start, config.steps):
        lr = lr_at(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss_sum = torch.zeros((), device=device)
        for micro in range(config.grad_accum):
            positions = batches.positions(step, micro, rank)
            if rank == 0:
                windows += [(step, micro, r, batches.positions(step, micro, r) if r else positions)
                            for r in range(world)]
            inputs, targets = (t.to(device, non_blocking=True) for t in batches.batch(positions))
            if world > 1:  # all-reduce gradients on the last micro-step only
                net.require_backward_grad_sync = micro == config.grad_accum - 1
            with autocast:
                logits = net(input_ids=inputs).logits
                loss = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE)
            (loss / config.grad_accum).backward()
            loss_sum += loss.detach()
            tokens += inputs.numel() * world
        if world > 1:
            dist.all_reduce(loss_sum)
        loss_value = loss_sum.item() / config.grad_accum / world
        if not math.isfinite(loss_value):
            if rank == 0:
                write_windows(out / "windows" / f"{windows[0][0]:08d}-{step:08d}.parquet", windows)
            raise NonFiniteLoss(f"loss is {loss_value} at step {step + 1} of {config.steps}; stopped before it "
                                f"reached the weights. Last good checkpoint: {latest_checkpoint(out) or 'none'}. "
                                f"The step's windows are recorded in {out / 'windows'}.")
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss_value)

        done = step + 1
        if rank == 0:
            if done % config.log_every == 0 or done == config.steps:
                now = time.perf_counter()
                rate = (tokens - interval[0]) / (now - interval[1])
                logged.append({"step": done, "lr": lr, "tokens_per_s": rate,
                               "mfu": mfu(rate / world, flops_per_token(model, inputs.shape[1]), peak)})
                interval = (tokens, now)
                progress.set_postfix_str(f"loss {loss_value:.4f}, {rate:,.0f} tok/s" + (
                    f", MFU {logged[-1]['mfu']:.1%}" if peak else ""), refresh=False)
            progress.update()
            if done % config.checkpoint_every == 0 or done == config.steps:
                write_windows(out / "windows" / f"{windows[0][0]:08d}-{step:08d}.parquet", windows)
                windows = []
                save_checkpoint(out, done, model, optimizer, losses, logged)
            if on_step:
                on_step(done, loss_value, model)
    elapsed = time.perf_counter() - began
    progress.close()

    model_dir = _save_final(model, out, config) if rank == 0 else None
    if world > 1:
        dist.barrier()  # the other ranks wait until rank 0 has written the model
    return TrainResult(steps=config.steps, first_loss=losses[0], last_loss=losses[-1], losses=losses,
                       tokens_per_s=tokens / elapsed if elapsed else 0.0, run_dir=out, model_dir=model_dir,
                       n_params=count_parameters(model), elapsed_s=elapsed, logged=logged,
                       peak_memory=torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None)


def _device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":  # under torchrun, this rank's GPU
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        return device
    return torch.device(name)


def _init_distributed(device: torch.device) -> tuple[int, int, bool]:
    """(rank, world size, whether this call started the process group)."""
    if int(os.environ.get("WORLD_SIZE", 1)) == 1:
        return 0, 1, False
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), owns


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW, fused; weight decay on matrices and embeddings only, as nanoGPT does."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, fused=True)


def _drop_windows_from(folder: Path, step: int) -> None:
    """Remove window records of steps >= `step`: they belong to an abandoned run that is now redone."""
    for file in folder.glob("*.parquet"):
        if int(file.stem.split("-")[1]) >= step:
            file.unlink()


def _save_final(model: PreTrainedModel, out: Path, config: TrainConfig) -> Path:
    """`out/model`: the model in Hugging Face format and, when known, its tokenizer, renamed into place."""
    final, tmp = out / "model", out / ".model.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer_dir = config.tokenizer or (config.model if Path(config.model, "tokenizer.json").is_file() else None)
    if tokenizer_dir:
        tokenizer = load_tokenizer(tokenizer_dir)
        for settings in (model.config, model.generation_config):
            settings.bos_token_id = settings.eos_token_id = settings.pad_token_id = tokenizer.eos_token_id
        tokenizer.save_pretrained(tmp)
    save_model(model, tmp)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def main(argv: list[str] | None = None) -> int:
    """Pretrain on a packed folder; the entry point torchrun runs (`-m training.train`)."""
    parser = argparse.ArgumentParser(prog="python -m training.train", description=main.__doc__)
    parser.add_argument("--data", required=True, help="packed token folder (training.packing)")
    parser.add_argument("--out", required=True, help="run folder")
    parser.add_argument("--model", default="tiny", help="preset (tiny, small), config.json or model folder")
    parser.add_argument("--tokenizer", help="tokenizer folder to save with the final model")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-tokens", type=int, default=8192, help="tokens per optimizer step, all ranks")
    parser.add_argument("--seq-len", type=int, help="default: the model's context length")
    parser.add_argument("--micro-batch", type=int, help="sequences per forward pass; default: no accumulation")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--result", help="rank 0 writes the result here as JSON (how `agora train --nproc` reads it)")
    args = parser.parse_args(argv)

    if args.device == "cpu" or not torch.cuda.is_available():
        set_cpu_threads(int(os.environ.get("LOCAL_WORLD_SIZE", 1)))
    world = int(os.environ.get("WORLD_SIZE", 1))
    seq_len = args.seq_len or context_length(args.model)
    per_rank = args.batch_tokens // (seq_len * world)  # sequences per rank and step
    micro_batch = args.micro_batch or per_rank
    if per_rank < 1 or per_rank % micro_batch:
        parser.error(f"--batch-tokens {args.batch_tokens} is not a multiple of seq_len {seq_len} x ranks {world}"
                     f" x micro-batch {micro_batch}")
    config = TrainConfig(run_dir=args.out, model=args.model, tokenizer=args.tokenizer, steps=args.steps,
                         grad_accum=per_rank // micro_batch, lr=args.lr, warmup=args.warmup, seed=args.seed,
                         device=args.device, compile=args.compile, checkpoint_every=args.checkpoint_every,
                         resume=args.resume, quiet=args.quiet)
    result = train(config, PackedBatches(PackedTokens(args.data), seq_len, micro_batch, args.seed))
    if result.model_dir and args.result:  # launched by `agora train`, which records and reports the run
        result.save(args.result)
    elif result.model_dir and not args.quiet:
        print(summary(result))
    return 0


def summary(result: TrainResult) -> str:
    """One line: steps, loss, throughput (the median logged interval: steady state, without start-up or
    compilation) and, on a GPU, MFU and this rank's peak memory."""
    line = f"{result.steps} steps, loss {result.first_loss:.4f} -> {result.last_loss:.4f}"
    if result.logged:
        line += f", {statistics.median(r['tokens_per_s'] for r in result.logged):,.0f} tokens/s"
        if result.logged[-1]["mfu"] is not None:
            line += f", MFU {statistics.median(r['mfu'] for r in result.logged):.1%}"
    if result.peak_memory is not None:
        line += f", peak memory {result.peak_memory / 2**30:.1f} GiB"
    return line + (f"; model in {result.model_dir}" if result.model_dir else "")


if __name__ == "__main__":
    raise SystemExit(main())
