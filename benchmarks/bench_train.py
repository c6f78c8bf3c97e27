"""Training speed and quality on tiny-shakespeare: Agora's trainer against nanoGPT, in one run.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_train [--iters 2000]

nanoGPT's CPU configuration for shakespeare_char: character vocabulary (65 + EOS here), first 90%
train / last 10% validation, block 64, batch 12, 4 layers, 4 heads, width 128, no dropout, AdamW
(betas 0.9/0.99, weight decay 0.1, clip 1.0), lr 1e-3 with 100 warmup steps and cosine decay to 1e-4
over 2000 iterations; nanoGPT reports validation loss 1.898 after 2000 iterations. Three contestants
train on the very same batches, taking turns every CHUNK iterations so machine noise hits them alike:

  agora      training.train.train with the `tiny` model (Llama-style) and the same hyperparameters
  bare       the same model, initialisation and batches in a bare loop (forward, backward, clip,
             step): Agora's loop overhead is its time over this one's
  nanogpt    a minimal nanoGPT written here (learned positions, LayerNorm, GELU MLP, plain AdamW loop)

Validation loss is measured on the same fixed validation batches after every chunk; evaluation time
is not training time. Writes the "## Training (tiny-shakespeare)" section of benchmarks/RESULTS.md.

On a GPU (`--preset small --device cuda --iters 200`) it runs Agora's trainer and the bare loop only
and prints tokens/s and MFU against H200_BF16_FLOPS.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from benchmarks.results import write_section
from benchmarks.shared_data import find_shared_data
from training.batches import PackedBatches
from training.model import build_model, count_parameters, flops_per_token
from training.packing import PackedTokens, pack_ids
from training.train import TrainConfig, build_optimizer, lr_at, train

TITLE = "Training (tiny-shakespeare)"
H200_BF16_FLOPS = 989e12  # H200 SXM dense bf16 peak, NVIDIA's datasheet figure without sparsity
CHUNK = 50  # iterations each contestant runs before the next one takes its turn
VAL_BATCHES = 50
TARGET_LOSS = 1.90
TARGETS = {"time_ratio": 0.6, "overhead": 0.05}
NANOGPT = dict(n_layer=4, n_head=4, n_embd=128, block=64, batch=12, lr=1e-3, min_lr=1e-4, warmup=100,
               betas=(0.9, 0.99), weight_decay=0.1, grad_clip=1.0)


# --- nanoGPT, reduced to what this configuration uses (no dropout, no biases switch, no generation) ---

class Block(nn.Module):
    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.n_head = n_head
        self.ln_1, self.ln_2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)
        self.c_attn, self.c_proj = nn.Linear(n_embd, 3 * n_embd), nn.Linear(n_embd, n_embd)
        self.c_fc, self.mlp_proj = nn.Linear(n_embd, 4 * n_embd), nn.Linear(4 * n_embd, n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2)
                   for z in self.c_attn(self.ln_1(x)).split(c, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.c_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class NanoGPT(nn.Module):
    def __init__(self, vocab_size: int, block: int, n_layer: int, n_head: int, n_embd: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def nanogpt_lr(it: int, iters: int) -> float:
    """nanoGPT's get_lr: linear warmup, cosine decay to min_lr at lr_decay_iters = iters."""
    c = NANOGPT
    if it < c["warmup"]:
        return c["lr"] * (it + 1) / (c["warmup"] + 1)
    ratio = (it - c["warmup"]) / (iters - c["warmup"])
    return c["min_lr"] + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (c["lr"] - c["min_lr"])


class Contestant:
    """A model trained by a bare loop, one chunk at a time, timing only the training."""

    def __init__(self, model: nn.Module, optimizer, forward, lr_of, batches: PackedBatches, device):
        self.model, self.optimizer, self.forward, self.lr_of = model, optimizer, forward, lr_of
        self.batches, self.device, self.step, self.seconds, self.losses = batches, device, 0, 0.0, []
        self.chunks: list[float] = []  # seconds per chunk

    def run(self, n: int) -> None:
        began = time.perf_counter()
        for _ in range(n):
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_of(self.step)
            inputs, targets = (t.to(self.device) for t in self.batches.batch(self.batches.positions(self.step, 0, 0)))
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):  # as train()
                loss = F.cross_entropy(self.forward(inputs).flatten(0, 1).float(), targets.flatten())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), NANOGPT["grad_clip"])
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.losses.append(loss.item())
            self.step += 1
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.chunks.append(time.perf_counter() - began)
        self.seconds += self.chunks[-1]


def cpu_bf16_check(preset: str, batches: PackedBatches, config: TrainConfig, steps: int = 10) -> str:
    """Step time of float32 against bf16 autocast on the CPU: same model, initialisation and batches."""
    contestants = {}
    for name in ("float32", "bfloat16"):
        torch.manual_seed(config.seed)
        model = build_model(preset, batches.vocab_size)
        contestants[name] = Contestant(model, build_optimizer(model, config), lambda x, m=model: m(input_ids=x).logits,
                                       lambda step: lr_at(step, config), batches, torch.device("cpu"))
    for n in (2, steps // 2, steps - steps // 2):  # warm up, then time `steps` in alternating halves
        for name, contestant in contestants.items():
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=name == "bfloat16"):
                contestant.run(n)
    fp32, bf16 = contestants["float32"], contestants["bfloat16"]
    timed = lambda c: sum(c.chunks[1:]) / (c.step - 2) * 1e3  # noqa: E731  ms per step, warm-up excluded
    verdict = "slower" if timed(bf16) > timed(fp32) else "faster"
    return (f"CPU bf16 autocast: {timed(bf16):.0f} ms/step against {timed(fp32):.0f} ms/step in float32 "
            f"(loss after {fp32.step} steps {bf16.losses[-1]:.3f} vs {fp32.losses[-1]:.3f}): {verdict} here, "
            f"and the trainer uses float32 on CPU.")


@torch.no_grad()
def val_loss(forward, model: nn.Module, val_windows: torch.Tensor) -> float:
    model.eval()
    losses = [F.cross_entropy(forward(w[:, :-1]).flatten(0, 1), w[:, 1:].flatten()).item() for w in val_windows]
    model.train()
    return float(np.mean(losses))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=2000)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--block", type=int, help="default: 64 (tiny), else the model's context")
    parser.add_argument("--batch", type=int, help="sequences per step; default 12 (tiny), 32 otherwise")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads; 1 by default: on a shared 2-core machine two OpenMP threads stall")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)
    root = find_shared_data()
    source = root / "shakespeare" / "input.txt" if root else None
    if source is None or not source.is_file():
        print("tiny-shakespeare is absent: expected shared/data/shakespeare/input.txt (see benchmarks/shared_data.py)")
        return 1
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    comparison = args.preset == "tiny"
    block = args.block or (NANOGPT["block"] if comparison else None)
    batch = args.batch or (NANOGPT["batch"] if comparison else 32)

    text = source.read_text("utf-8")
    chars = sorted(set(text))
    vocab = {c: i for i, c in enumerate(chars)}
    eos = len(chars)  # the packer puts one EOS after the single training document
    data = np.array([vocab[c] for c in text], dtype=np.int64)
    split = int(0.9 * len(data))
    with tempfile.TemporaryDirectory() as tmp:
        pack_ids([("shakespeare-train", data[:split])], len(chars) + 1, eos, Path(tmp) / "train")
        tokens = PackedTokens(Path(tmp) / "train")
        probe = build_model(args.preset, len(chars) + 1)
        block = block or probe.config.max_position_embeddings
        batches = PackedBatches(tokens, block, batch, args.seed)
        rng = np.random.default_rng(args.seed + 1)
        val = data[split:]
        val_windows = torch.from_numpy(np.stack([
            np.stack([val[s:s + block + 1] for s in rng.integers(0, len(val) - block - 1, batch)])
            for _ in range(VAL_BATCHES)])).to(device)
        report = run(args, device, batches, val_windows, comparison, Path(tmp) / "run")
    print(report)
    if comparison and args.device == "cpu":
        write_section(TITLE, "python -m benchmarks.bench_train " + " ".join(argv if argv is not None else sys.argv[1:]),
                      report)
    return 0


def run(args, device: torch.device, batches: PackedBatches, val_windows: torch.Tensor, comparison: bool,
        run_dir: Path) -> str:
    vocab_size = batches.vocab_size
    config = TrainConfig(run_dir=str(run_dir), model=args.preset, steps=args.iters, lr=NANOGPT["lr"],
                         warmup=NANOGPT["warmup"], weight_decay=NANOGPT["weight_decay"], betas=NANOGPT["betas"],
                         grad_clip=NANOGPT["grad_clip"], seed=args.seed, device=args.device, compile=args.compile,
                         checkpoint_every=args.iters, quiet=True)

    torch.manual_seed(args.seed)  # as train() does, so the bare loop starts from the same weights
    bare_model = build_model(args.preset, vocab_size).to(device)
    bare_forward = torch.compile(bare_model) if args.compile else bare_model
    bare = Contestant(bare_model, build_optimizer(bare_model, config), lambda x: bare_forward(input_ids=x).logits,
                      lambda step: lr_at(step, config), batches, device)
    others = [bare]
    if comparison:
        torch.manual_seed(args.seed)
        c = NANOGPT
        gpt = NanoGPT(vocab_size, batches.seq_len, c["n_layer"], c["n_head"], c["n_embd"]).to(device)
        groups = [{"params": [p for p in gpt.parameters() if p.dim() >= 2], "weight_decay": c["weight_decay"]},
                  {"params": [p for p in gpt.parameters() if p.dim() < 2], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=c["lr"], betas=c["betas"], fused=True)
        others.append(Contestant(gpt, optimizer, gpt, lambda it: nanogpt_lr(it, args.iters), batches, device))

    agora = {"seconds": 0.0, "chunks": []}  # chunk seconds
    curves = {"agora": {}, "nanogpt": {}}  # step -> validation loss
    elapsed = {"agora": {}, "nanogpt": {}}  # step -> training seconds so far
    clock = {"resumed": time.perf_counter()}

    def take_turns(step: int, loss: float, model) -> None:
        """Agora's on_step: at each chunk's end, pause its clock and let the other contestants run."""
        if step % CHUNK and step != args.iters:
            return
        agora["chunks"].append(time.perf_counter() - clock["resumed"])
        agora["seconds"] += agora["chunks"][-1]
        for other in others:
            other.run(step - other.step)
        progress = f"{step} iterations: agora {agora['seconds']:.0f} s, bare {bare.seconds:.0f} s"
        if comparison:
            curves["agora"][step] = val_loss(lambda x: model(input_ids=x).logits, model, val_windows)
            curves["nanogpt"][step] = val_loss(others[1].forward, others[1].model, val_windows)
            elapsed["agora"][step], elapsed["nanogpt"][step] = agora["seconds"], others[1].seconds
            progress += (f", nanoGPT {others[1].seconds:.0f} s; val loss agora {curves['agora'][step]:.4f}, "
                         f"nanoGPT {curves['nanogpt'][step]:.4f}")
        print(progress, file=sys.stderr, flush=True)
        clock["resumed"] = time.perf_counter()

    result = train(config, batches, take_turns)
    tokens = args.iters * batches.micro_batch * batches.seq_len
    agora_tps, bare_tps = tokens / agora["seconds"], tokens / bare.seconds
    overhead_total = agora["seconds"] / bare.seconds - 1
    overhead_median = float(np.median(np.array(agora["chunks"]) / np.array(bare.chunks))) - 1
    same_losses = float(np.max(np.abs(np.array(result.losses) - np.array(bare.losses))))
    model = build_model(args.preset, vocab_size)
    lines = [f"Model `{args.preset}`: {count_parameters(model):,} parameters, "
             f"{flops_per_token(model, batches.seq_len) / 1e6:.1f} MFLOP/token; batch {batches.micro_batch} x "
             f"block {batches.seq_len}, {args.iters} iterations, {torch.get_num_threads()} thread(s), "
             f"device {device}.", ""]
    if comparison:
        lines += ["Both train on the same batches with nanoGPT's hyperparameters: AdamW (0.9, 0.99), weight decay "
                      "0.1, gradient clip 1.0, lr 1e-3 with 100 warmup iterations and cosine decay to 1e-4, "
                      "no dropout.", ""]
    if device.type == "cuda":  # steady state: whole chunks between the first (CUDA start-up, compilation) and the
        middle = agora["chunks"][1:-1]  # last (the final checkpoint)
        steady_tps = CHUNK * batches.micro_batch * batches.seq_len * len(middle) / sum(middle) if middle else agora_tps
        mfu = steady_tps * flops_per_token(model, batches.seq_len) / H200_BF16_FLOPS
        lines.append(f"Steady state (whole chunks of {CHUNK} iterations but the first and last): "
                     f"{steady_tps:,.0f} tokens/s, MFU {100 * mfu:.1f}% of {H200_BF16_FLOPS / 1e12:.0f} TFLOP/s "
                     f"(H200 bf16 dense peak).")
    if not comparison:
        middle = slice(1, -1) if len(bare.chunks) > 2 else slice(None)  # without start-up and the final checkpoint
        steady_overhead = sum(agora["chunks"][middle]) / sum(bare.chunks[middle]) - 1
        lines.append(f"agora {agora_tps:,.0f} tokens/s, bare loop {bare_tps:,.0f} tokens/s; overhead "
                     f"{100 * overhead_total:.1f}% in all, {100 * steady_overhead:.1f}% without the first and last "
                     f"chunk (start-up, final checkpoint) when there are more than two.")
        return "\n".join(lines)

    nano_tps = tokens / others[1].seconds
    reach = {name: next((step for step, loss in sorted(curve.items()) if loss <= TARGET_LOSS), None)
             for name, curve in curves.items()}
    reach_s = {name: elapsed[name][step] if step else None for name, step in reach.items()}
    ratio = reach_s["agora"] / reach_s["nanogpt"] if reach_s["agora"] and reach_s["nanogpt"] else None
    rows = [f"| {step} | {curves['agora'][step]:.4f} | {curves['nanogpt'][step]:.4f} |"
            for step in sorted(curves["agora"]) if step % 250 == 0 or step == args.iters]
    met = lambda ok: "met" if ok else "not met"  # noqa: E731
    lines += [
        "| contestant | tokens/s | val loss at end | iterations to val ≤ 1.90 | training s to val ≤ 1.90 |",
        "|---|---|---|---|---|",
        f"| agora (tiny, Llama-style, its trainer) | {agora_tps:,.0f} | {curves['agora'][args.iters]:.4f} | "
        f"{reach['agora'] or '—'} | {_seconds(reach_s['agora'])} |",
        f"| bare loop, same model and batches | {bare_tps:,.0f} | — | — | — |",
        f"| nanoGPT reference | {nano_tps:,.0f} | {curves['nanogpt'][args.iters]:.4f} | "
        f"{reach['nanogpt'] or '—'} | {_seconds(reach_s['nanogpt'])} |",
        "",
        "| iteration | agora val loss | nanoGPT val loss |",
        "|---|---|---|",
        *rows,
        "",
        f"Validation loss is the mean over {VAL_BATCHES} fixed batches of {batches.micro_batch} x {batches.seq_len} "
        f"validation tokens, measured every {CHUNK} iterations (so 'iterations to 1.90' is a multiple of {CHUNK}).",
        f"Agora's per-step losses equal the bare loop's to {same_losses:.1e} (same model, initialisation and batches).",
        "",
        f"- Time to val loss {TARGET_LOSS:.2f}: agora / nanoGPT = "
        + (f"{ratio:.2f}" if ratio else "undefined (one of them did not reach it)")
        + f" (target ≤ {TARGETS['time_ratio']}): {met(ratio is not None and ratio <= TARGETS['time_ratio'])}.",
        f"- Loop overhead, agora over the bare loop: {100 * overhead_total:.1f}% of training time (median over chunks "
        f"{100 * overhead_median:.1f}%; target ≤ {100 * TARGETS['overhead']:.0f}%): "
        f"{met(overhead_total <= TARGETS['overhead'])}.",
    ]
    if device.type == "cpu":
        lines += ["", cpu_bf16_check(args.preset, batches, config)]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return f"{value:.1f}" if value else "—"


if __name__ == "__main__":
    raise SystemExit(main())
