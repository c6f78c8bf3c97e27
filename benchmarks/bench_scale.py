"""Scale: wall and CPU time, peak memory and bytes written per command as the corpus grows 10x and 100x.

Run from the repository root (1M documents takes hours on 2 cores; measure the small sizes first):

    .venv/bin/python -m benchmarks.bench_scale --sizes 10k,100k
    .venv/bin/python -m benchmarks.bench_scale --sizes 1M --commands register,curate
    .venv/bin/python -m benchmarks.bench_scale --sizes 10k,100k,1M --commands "mix create,pack,mix show,mix rebuild"

Corpora come from benchmarks/scale_corpus.py. Every command runs in its own subprocess and is
measured on its own: wall seconds; CPU seconds of its whole process tree (os.wait4's count, or the
sum of every process's own time sampled every 0.1 s where that is more); peak RSS (the largest
process, as /usr/bin/time reports it, and the largest sum of PSS over its process tree, sampled, which
counts shared pages once); bytes
written (how much the workspace grew). The log-log slope between two sizes is
log(t2 / t1) / log(n2 / n1): 1 is linear, 2 quadratic.

Each size has its own corpus and workspace under --workdir, kept with its measurements in
measurements.json, so runs add up: the commands --commands names are measured (again), after
any earlier command the workspace lacks, and the table reports every size measured so far.
(register and curate do nothing the second time in a workspace: measure them again in a fresh
--workdir.) The mixture's budget is
TOKENS_PER_DOC tokens per document, so 1M documents pack 50M tokens. Writes the "## Scale"
section of benchmarks/RESULTS.md with the table of every size measured so far.

To measure another command, add a function `(ctx) -> argv` to COMMANDS (in the order a workspace
needs them), and a target to TARGETS if it has one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.results import write_section
from benchmarks.scale_corpus import Source, make_corpus
from benchmarks.shared_data import find_shared_data

TITLE = "Scale"
TOKENS_PER_DOC = 50
MIXTURE = "scale"
SIZES = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
MIX_COMMANDS = ("mix create", "pack", "mix show", "mix rebuild")


@dataclass
class Context:
    """What a command needs: the size, its corpus, its workspace, the workers to use."""

    docs: int
    sources: list[Source]
    workspace: Path
    workers: int

    def agora(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "curation.cli", *args, "--workspace", str(self.workspace)]


def register(ctx: Context) -> list[list[str]]:
    return [ctx.agora("register", *source.register_args(), "--json") for source in ctx.sources]


def curate(ctx: Context) -> list[list[str]]:
    return [ctx.agora("curate", "--workers", str(ctx.workers), "--json")]


def runs_show(ctx: Context) -> list[list[str]]:
    return [ctx.agora("runs", "show", _latest_run(ctx), "--json")]


def docs_show(ctx: Context) -> list[list[str]]:
    return [ctx.agora("docs", "show", _catalog_value(ctx, "SELECT max(doc_id) FROM documents"), "--json")]


def export(ctx: Context) -> list[list[str]]:
    out = ctx.workspace.parent / f"export-{ctx.docs}"
    shutil.rmtree(out, ignore_errors=True)
    return [ctx.agora("export", _latest_run(ctx), "--format", "parquet", "--out", str(out), "--json")]


def html_report(ctx: Context) -> list[list[str]]:
    return [ctx.agora("report", "--out", str(ctx.workspace / "report.html"), "--json")]


def _latest_run(ctx: Context) -> str:
    return _catalog_value(ctx, "SELECT run_id FROM runs WHERE kind = 'curate' AND status = 'finished' "
                               "ORDER BY finished_at DESC LIMIT 1")


def _catalog_value(ctx: Context, sql: str):
    from curation.core.catalog import open_catalog
    from curation.core.workspace import Workspace

    with open_catalog(Workspace(ctx.workspace)) as con:
        return con.execute(sql).fetchone()[0]


def mix_create(ctx: Context) -> list[list[str]]:
    _forget_mixture(ctx.workspace)  # a fresh mixture each time: creating the same one again is a no-op
    return [ctx.agora("mix", "create", MIXTURE, "--budget-tokens", str(TOKENS_PER_DOC * ctx.docs),
                      "--workers", str(ctx.workers), "--json")]


def pack(ctx: Context) -> list[list[str]]:
    """Packing for training: what `agora train` does first (the manifest's token ids into shards)."""
    code = ("import sys; from pathlib import Path; from curation.core.workspace import Workspace; "
            "from curation.mixture.build import pack_mixture, show_mixture; ws = Workspace(Path(sys.argv[1])); "
            "mix = show_mixture(ws, sys.argv[2]); print(pack_mixture(ws, mix, workers=int(sys.argv[3])))")
    return [[sys.executable, "-c", code, str(ctx.workspace), MIXTURE, str(ctx.workers)]]


def mix_show(ctx: Context) -> list[list[str]]:
    return [ctx.agora("mix", "show", MIXTURE, "--json")]


def mix_rebuild(ctx: Context) -> list[list[str]]:
    return [ctx.agora("mix", "rebuild", MIXTURE, "--workers", str(ctx.workers), "--json")]


COMMANDS = {"register": register, "curate": curate, "runs show": runs_show, "docs show": docs_show, "export": export,
            "report": html_report, "mix create": mix_create, "pack": pack, "mix show": mix_show,
            "mix rebuild": mix_rebuild}
TARGETS = ["log-log slope <= 1.1 for every command (issues 10 and 11)",
           "1M documents curated in <= 8 min wall, peak RSS <= 3 GB (issue 10)",
           "stage-1 store <= 1.2x the documents' UTF-8 text bytes; a run's own files <= 10% of them (issue 10)",
           "`mix create` on 1M documents <= 0.3x `curate`'s wall time, peak RSS <= 2 GB (issue 11)",
           "packing 50M tokens (1M documents) <= 3 min (issue 11)"]


def _forget_mixture(workspace: Path) -> None:
    """Remove the benchmark's mixture (its rows and folders) so that it is built again."""
    import duckdb

    if (workspace / "catalog.duckdb").is_file():
        con = duckdb.connect(str(workspace / "catalog.duckdb"))
        try:
            con.execute("DELETE FROM mixture_parts WHERE mixture = ?", [MIXTURE])
            con.execute("DELETE FROM mixtures WHERE name = ?", [MIXTURE])
        finally:
            con.close()
    shutil.rmtree(workspace / "mixtures" / MIXTURE, ignore_errors=True)


def measure(argvs: list[list[str]], workspace: Path) -> dict:
    """Run the commands one after another, each in its own process; their costs added up (peaks: the max)."""
    total = {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0, "tree_mb": 0.0, "bytes_written": 0}
    for argv in argvs:
        before = _size(workspace)
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            began = time.perf_counter()
            process = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
            tree = _TreeSampler(process.pid)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, with its children's
            total["wall_s"] += time.perf_counter() - began
            tree.stop()
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode:
                err.seek(0)
                raise SystemExit(f"{' '.join(argv[2:6])} ... failed (exit {process.returncode}):\n{err.read()[-3000:]}")
            out.seek(0)
            total["output"] = out.read()[-500:]
        total["cpu_s"] += max(usage.ru_utime + usage.ru_stime, sum(tree.cpu.values()))
        total["peak_rss_mb"] = max(total["peak_rss_mb"], usage.ru_maxrss / 1024)
        total["tree_mb"] = max(total["tree_mb"], tree.peak / 2**20)
        total["bytes_written"] += _size(workspace) - before
    return total


class _TreeSampler:
    """Every 0.1 s, in a thread: the summed PSS of a process and its descendants, and each one's own CPU
    seconds. A worker pool's processes are not always waited for by the command itself (datatrove's
    forkserver workers), so os.wait4 alone would miss their CPU time."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.cpu, self._stop = pid, 0, {}, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            pids = _tree(self.pid)
            self.peak = max(self.peak, sum(_pss(pid) for pid in pids))
            for pid in pids:
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu(pid))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        try:
            for task in Path(f"/proc/{pids[i]}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
        i += 1
    return pids


def _cpu(pid: int) -> float:
    """The process's own user + system CPU seconds (not its children's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pss(pid: int) -> int:
    """Proportional set size: the process's private memory plus its share of pages it shares with others
    (libraries, a forked parent's pages), so that the sum over processes counts each page once."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.exists() else 0


def _storage(ctx: Context) -> dict:
    """Text bytes of the registered documents, the stage-1 store and the run's own folder."""
    text = _catalog_value(ctx, "SELECT sum(bytes) FROM sources")
    return {"text_bytes": int(text), "stage1_bytes": _size(ctx.workspace / "stage1"),
            "run_bytes": _size(ctx.workspace / "runs" / _latest_run(ctx))}


def slope(n1: int, t1: float, n2: int, t2: float) -> float:
    return math.log(t2 / t1) / math.log(n2 / n1)


def run_size(label: str, ctx: Context, wanted: list[str], store: dict) -> None:
    """Measure the wanted commands of one size, and before them any earlier command this workspace has
    not run yet (each needs the ones before it); keep the results in `store`."""
    done = store.setdefault(label, {})
    names = list(COMMANDS)
    last = max(names.index(name) for name in wanted)
    for name in names[:last + 1]:
        if name in wanted or name not in done:
            print(f"{label}: {name} ...", file=sys.stderr, flush=True)
            done[name] = measure(COMMANDS[name](ctx), ctx.workspace)
            if name == "curate":
                done[name] |= _storage(ctx)
            print(f"{label}: {name}: {done[name]['wall_s']:.1f} s wall, {done[name]['cpu_s']:.1f} s CPU, "
                  f"{done[name]['tree_mb']:.0f} MB", file=sys.stderr, flush=True)


def report(store: dict, workers: int) -> str:
    labels = [label for label in SIZES if label in store]
    lines = [f"Corpora from `benchmarks/scale_corpus.py` (75 languages, Zipf-weighted; 4 sources; 2% exact and 2% "
             f"near copies); `--workers {workers}` for curate, mix create, pack and mix rebuild; mixture budget "
             f"{TOKENS_PER_DOC} tokens per document (vocabulary 8192, holdout 0.01). Each command in its own "
             "process; peak memory is the largest process's RSS / the largest sum of PSS over its process tree.", "",
             "| command | documents | wall s | CPU s | peak MB (process RSS / tree PSS) | bytes written |",
             "|---|---|---|---|---|---|"]
    for name in COMMANDS:
        for label in labels:
            if m := store[label].get(name):
                lines.append(f"| {name} | {label} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['peak_rss_mb']:,.0f} / "
                             f"{m['tree_mb']:,.0f} | {m['bytes_written'] / 1e6:,.1f} MB |")
    lines += ["", "Log-log slope of wall time between consecutive sizes (1 = linear):", "",
              "| command | " + " | ".join(f"{a} → {b}" for a, b in zip(labels, labels[1:])) + " |",
              "|---|" + "---|" * max(len(labels) - 1, 1)]
    for name in COMMANDS:
        cells = [f"{slope(SIZES[a], store[a][name]['wall_s'], SIZES[b], store[b][name]['wall_s']):.2f}"
                 if name in store[a] and name in store[b] else "–" for a, b in zip(labels, labels[1:])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Storage after curate: stage-1 store and the run's own folder against the documents' text:", "",
              "| documents | text MB | stage-1 store MB (x text) | run folder MB (% of text) |", "|---|---|---|---|"]
    for label in labels:
        if "text_bytes" in (m := store[label].get("curate", {})):
            lines.append(f"| {label} | {m['text_bytes'] / 1e6:,.1f} | {m['stage1_bytes'] / 1e6:,.1f} "
                         f"({m['stage1_bytes'] / m['text_bytes']:.2f}x) | {m['run_bytes'] / 1e6:,.1f} "
                         f"({m['run_bytes'] / m['text_bytes']:.1%}) |")
    lines += ["", "Targets (2 cores):", ""] + [f"- {target}" for target in TARGETS]
    if "1M" in store and "curate" in store["1M"]:
        big = store["1M"]["curate"]
        lines += ["", f"At 1M documents: curate {big['wall_s']:.0f} s wall (target ≤ 480), peak "
                      f"{big['tree_mb']:,.0f} MB summed over its processes (target ≤ 3,072)."]
    if "1M" in store and {"curate", "mix create", "pack"} <= set(store["1M"]):
        big = store["1M"]
        ratio = big["mix create"]["wall_s"] / big["curate"]["wall_s"]
        lines += ["", f"At 1M documents: mix create / curate = {ratio:.2f} (target ≤ 0.3); mix create's memory "
                      f"{big['mix create']['tree_mb']:,.0f} MB summed over its processes (target ≤ 2,048); "
                      f"packing {big['pack']['wall_s']:.0f} s (target ≤ 180)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10k,100k", help=f"comma-separated, of {', '.join(SIZES)}")
    parser.add_argument("--commands", help="measure these (comma-separated; default: all), after any earlier "
                                           "command the workspace has not run yet")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "agora-bench-scale")
    args = parser.parse_args(argv)
    shared = find_shared_data()
    sentences = shared / "langid" / "language-testdata" / "sentences" if shared else None
    if sentences is None or not sentences.is_dir():
        print("the language-id sentences are absent: expected shared/data/langid/language-testdata/sentences")
        return 1
    wanted = args.commands.split(",") if args.commands else list(COMMANDS)
    unknown = set(wanted) - set(COMMANDS)
    if unknown:
        parser.error(f"unknown commands {sorted(unknown)}; known: {', '.join(COMMANDS)}")
    store_file = args.workdir / "measurements.json"
    args.workdir.mkdir(parents=True, exist_ok=True)
    store = json.loads(store_file.read_text()) if store_file.is_file() else {}
    for label in args.sizes.split(","):
        sources = make_corpus(sentences, SIZES[label], args.workdir / f"corpus-{label}")
        ctx = Context(SIZES[label], sources, args.workdir / f"workspace-{label}", args.workers)
        if not (ctx.workspace / "catalog.duckdb").is_file():
            subprocess.run(ctx.agora("init"), check=True, capture_output=True)
        run_size(label, ctx, wanted, store)
        store_file.write_text(json.dumps(store, indent=1))
    body = report(store, args.workers)
    print(body)
    write_section(TITLE, "python -m benchmarks.bench_scale " + " ".join(argv if argv is not None else sys.argv[1:]),
                  body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
