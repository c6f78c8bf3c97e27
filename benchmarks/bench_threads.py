"""CPU threads per training process: tokens/s of `python -m training.train` by processes x threads.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_threads [--rounds 3] [--steps 60]

Each configuration trains the same model on the same random tokens for --steps steps, in its own
process(es) (torchrun, gloo, for two), with OMP_NUM_THREADS set; the rounds alternate the
configurations so that other load on the machine hits them alike, and the table gives the median
over rounds of each run's median logged tokens/s (start-up left out). The rule Agora applies,
training.throughput.cpu_threads, is usable cores // processes on the machine. Writes the
"## CPU threads per training process" section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.results import write_section
from training.packing import pack_ids
from training.throughput import cpu_threads

TITLE = "CPU threads per training process"
VOCAB = 8192
MODELS = {  # name -> (--model, --batch-tokens)
    "tiny (0.8M + embeddings, context 128)": ("tiny", 4096),
    "wider (4 layers, width 384, context 256)": ("wider.json", 8192),
}


def configurations(cores: int) -> list[tuple[int, int]]:
    """(processes, threads each): the rule's choice for one and two processes, and the neighbours."""
    return sorted({(1, 1), (1, cores), (2, 1), (2, max(cores // 2, 1)), (2, cores)})


def run(data: Path, out: Path, model: str, batch_tokens: int, steps: int, processes: int, threads: int) -> float:
    result = out / "result.json"
    train = ["-m", "training.train", "--data", str(data), "--out", str(out), "--model", model, "--steps", str(steps),
             "--batch-tokens", str(batch_tokens), "--device", "cpu", "--checkpoint-every", str(steps * 10),
             "--quiet", "--result", str(result)]
    launcher = [] if processes == 1 else ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                                          str(processes)]
    subprocess.run([sys.executable, *launcher, *train], check=True, capture_output=True,
                   env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    logged = json.loads(result.read_text())["logged"]
    return statistics.median(row["tokens_per_s"] for row in logged[1:] or logged)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    rates: dict[tuple[str, int, int], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pack_ids([("random", np.random.default_rng(0).integers(0, VOCAB - 1, 2_000_000))], VOCAB, VOCAB - 1,
                 work / "data")
        (work / "wider.json").write_text(json.dumps({
            "model_type": "llama", "hidden_size": 384, "intermediate_size": 1024, "num_hidden_layers": 4,
            "num_attention_heads": 6, "max_position_embeddings": 256, "tie_word_embeddings": True}))
        for round_ in range(args.rounds):
            for name, (model, batch_tokens) in MODELS.items():
                for processes, threads in configurations(cores):
                    out = work / f"run-{round_}-{processes}-{threads}-{model}"
                    rate = run(work / "data", out, str(work / model) if model.endswith(".json") else model,
                               batch_tokens, args.steps, processes, threads)
                    rates.setdefault((name, processes, threads), []).append(rate)
                    print(f"round {round_ + 1}: {name}, {processes} x {threads} threads: {rate:,.0f} tokens/s",
                          file=sys.stderr, flush=True)
    lines = [f"{cores} usable cores; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (other "
             f"work shares this machine). Median over {args.rounds} alternating rounds of each run's median logged "
             f"tokens/s (all processes together), {args.steps} steps, random tokens, vocabulary {VOCAB}.", "",
             "| model | processes x threads | tokens/s | rule's choice |", "|---|---|---|---|"]
    for (name, processes, threads), values in rates.items():
        chosen = "yes" if threads == cpu_threads(processes) else ""
        lines.append(f"| {name} | {processes} x {threads} | {statistics.median(values):,.0f} | {chosen} |")
    lines += ["", "Rule (training.throughput.cpu_threads): threads per process = usable cores // processes on the "
                  "machine, at least 1. `agora train` applies it in its own process and sets OMP_NUM_THREADS for "
                  "each torchrun process."]
    body = "\n".join(lines)
    print(body)
    write_section(TITLE, "python -m benchmarks.bench_threads " + " ".join(argv if argv is not None else sys.argv[1:]),
                  body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
