"""Stage 2 out of core: `find_duplicates` on synthetic signatures and shingle sets (no text).

    .venv/bin/python -m benchmarks.bench_stage2 [--sizes 1M,10M] [--memory-limit 4GB] [--compare-upto 1M]
                                               [--workdir DIR] [--write-results]

Input is generated directly in stage 2's `SHINGLED_SCHEMA` (doc_id, source, license_class, quality,
content_hash, signature, shingles), in Parquet files of CHUNK documents: every document has 16-96
random 32-bit shingles and a random 128-value signature; EXACT_SHARE of them are exact copies and
NEAR_SHARE near copies (Jaccard 0.6-1.0, so about half above the 0.8 threshold) of one of the
WINDOW documents before them, copies of copies included. A near copy's signature keeps each of the
original's values with probability equal to the two sets' exact Jaccard and draws the others anew:
the distribution MinHash gives. The same size and seed give the same files.

Each size runs `find_duplicates` in a fresh process under DuckDB `memory_limit` (default 4GB) with a
temp_directory to spill to, reporting wall and CPU time per step, peak RSS and peak spill. Up to
--compare-upto it also runs (a) the same query under --spill-limit, small enough to spill, and (b) in
memory (no memory_limit, spilling disabled), whose clusters must both be identical row for row, and
(c) an independent numpy/Python reference (LSH buckets by sorting, exact Jaccard by np.intersect1d,
union-find), whose partition into clusters must be identical.

How this relates to the real path: `agora curate` stores no shingle sets; there stage 2 shingles the
stored text of the documents in candidate pairs (a few percent) and verifies those sets with the same
SQL. Here the sets are stored, so the bench measures the DuckDB part at a scale no text corpus on
this machine reaches; the near-dup benchmark measures the text path (and F1) on real text.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.results import write_section

REPO_ROOT = Path(__file__).resolve().parent.parent
TITLE = "Stage 2 out of core"
NUM_PERM, THRESHOLD = 128, 0.8
CHUNK = 1_000_000  # documents per Parquet file (a stage-1 task's output)
MIN_SHINGLES, MAX_SHINGLES = 16, 96
EXACT_SHARE, NEAR_SHARE = 0.02, 0.04
WINDOW = 10_000
SOURCES = (("web", "permissive"), ("news", "attribution"), ("forum", "share-alike"), ("radio", "non-commercial"))
STEPS = ("_load_documents", "_signature_length", "_candidate_pairs", "_shingle_sets", "_verified_edges",
         "_connected_components")


# ---- the synthetic input --------------------------------------------------------------------------

def make_input(folder: Path, n_docs: int, seed: int = 0) -> dict:
    """Write `n_docs` documents as folder/part-NNNNN.parquet (reused when complete); returns counts."""
    done = folder / "_SUCCESS"
    if done.is_file():
        return json.loads(done.read_text())
    from curation.stages.dedup import SHINGLED_SCHEMA

    folder.mkdir(parents=True, exist_ok=True)
    counts = {"docs": n_docs, "exact": 0, "near": 0, "bytes": 0}
    for part, first in enumerate(range(0, n_docs, CHUNK)):
        table, exact, near = _chunk(np.random.default_rng([seed, part]), first, min(CHUNK, n_docs - first))
        path = folder / f"part-{part:05d}.parquet"
        pq.write_table(table.cast(SHINGLED_SCHEMA), path, compression="zstd", row_group_size=128 * 1024)
        counts["exact"] += exact
        counts["near"] += near
        counts["bytes"] += path.stat().st_size
    done.write_text(json.dumps(counts))
    return counts


def _chunk(rng: np.random.Generator, first: int, n: int) -> tuple[pa.Table, int, int]:
    sizes = rng.integers(MIN_SHINGLES, MAX_SHINGLES + 1, n)
    keys = (np.repeat(np.arange(n, dtype=np.uint64), sizes) << np.uint64(32)) | rng.integers(
        0, 2**32, int(sizes.sum()), dtype=np.uint64)
    keys.sort()  # by document, then value: sorted sets; repeats dropped next
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    sizes = np.bincount((keys >> np.uint64(32)).astype(np.int64), minlength=n)
    sets = np.split((keys & np.uint64(0xFFFFFFFF)).astype(np.uint32), np.cumsum(sizes)[:-1])
    signatures = rng.integers(0, 2**32, (n, NUM_PERM), dtype=np.uint32)
    hashes = [f"h{first + i:011d}" for i in range(n)]
    kind = rng.random(n)
    copies = np.flatnonzero(kind[1:] < EXACT_SHARE + NEAR_SHARE) + 1
    for j in copies:
        o = j - 1 - int(rng.integers(0, min(j, WINDOW)))
        if kind[j] < EXACT_SHARE:
            sets[j], signatures[j], hashes[j] = sets[o], signatures[o], hashes[o]
            continue
        target = rng.uniform(0.6, 1.0)
        original = sets[o]
        k = max(1, round(len(original) * (1 - target) / (1 + target)))
        kept = np.delete(original, rng.choice(len(original), k, replace=False))
        sets[j] = np.union1d(kept, rng.integers(0, 2**32, k, dtype=np.uint32))
        common = len(np.intersect1d(original, sets[j], assume_unique=True))
        jaccard = common / (len(original) + len(sets[j]) - common)
        signatures[j] = np.where(rng.random(NUM_PERM) < jaccard, signatures[o],
                                 rng.integers(0, 2**32, NUM_PERM, dtype=np.uint32))
    source = rng.integers(0, len(SOURCES), n)
    lengths = np.array([len(s) for s in sets])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    table = pa.table({
        "doc_id": [f"d{first + i:010d}" for i in range(n)],
        "source": pa.array([SOURCES[s][0] for s in source]),
        "license_class": pa.array([SOURCES[s][1] for s in source]),
        "quality": np.round(rng.random(n), 4),
        "content_hash": hashes,
        "signature": pa.ListArray.from_arrays(np.arange(0, (n + 1) * NUM_PERM, NUM_PERM, dtype=np.int32),
                                              signatures.ravel()),
        "shingles": pa.ListArray.from_arrays(offsets, np.concatenate(sets)),
    })
    exact = int(np.sum(kind[copies] < EXACT_SHARE))
    return table, exact, len(copies) - exact


# ---- one measured run, in a child process -----------------------------------------------------------

def run_duckdb(input_glob: str, out: Path, memory_limit: str | None, temp: Path | None) -> dict:
    """find_duplicates under the given limit; clusters to `out`; seconds per step to the result."""
    import duckdb

    from curation.stages import dedup

    timings: dict[str, float] = {}

    def timed(name: str):
        step = getattr(dedup, name)

        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return step(*args, **kwargs)
            finally:
                timings[name.lstrip("_")] = round(time.perf_counter() - started, 2)
        return run

    for name in STEPS:  # time each step where find_duplicates calls it
        setattr(dedup, name, timed(name))
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET temp_directory = ?", [str(temp)])
    else:
        con.execute("SET temp_directory = ''")  # in memory: nothing may spill
    started = time.perf_counter()
    dedup.find_duplicates(con, input_glob, threshold=THRESHOLD)
    con.execute("COPY (SELECT * FROM dedup_clusters ORDER BY doc_id) TO ? (FORMAT parquet)", [str(out)])
    timings["total"] = round(time.perf_counter() - started, 2)
    return timings


def run_reference(input_glob: str, out: Path) -> dict:
    """The same clustering in memory with numpy and a Python union-find (partition only)."""
    started = time.perf_counter()
    table = pq.read_table(sorted(glob.glob(input_glob)), columns=["doc_id", "content_hash", "signature", "shingles"])
    n = table.num_rows
    from curation.text.minhash import choose_bands

    bands, rows = choose_bands(THRESHOLD, NUM_PERM)
    _, rep_of = np.unique(np.array(table.column("content_hash").to_pylist()), return_inverse=True)
    first_of = np.full(rep_of.max() + 1, -1, dtype=np.int64)
    first_of[rep_of[::-1]] = np.arange(n)[::-1]  # the first document of each content hash stands for it
    reps = np.unique(first_of)
    signatures = table.column("signature").combine_chunks().flatten().to_numpy().reshape(n, NUM_PERM)[reps]
    pairs, largest = set(), 0
    for band in range(bands):
        keys = np.ascontiguousarray(signatures[:, band * rows:(band + 1) * rows]).view(f"V{4 * rows}").ravel()
        order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1]), axis=None))
        ends = np.append(starts[1:], len(ordered))
        for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1]):
            members = sorted(reps[order[s:e]])
            largest = max(largest, len(members))
            pairs.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    shingles = table.column("shingles").combine_chunks()
    offsets, values = shingles.offsets.to_numpy(), shingles.values.to_numpy()
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        x, y = values[offsets[a]:offsets[a + 1]], values[offsets[b]:offsets[b + 1]]
        common = len(np.intersect1d(x, y, assume_unique=True))
        if common >= THRESHOLD * (len(x) + len(y) - common) - 1e-9:
            parent[find(a)] = find(b)
    for i in range(n):
        parent[find(i)] = find(first_of[rep_of[i]])  # exact copies join their representative
    labels = np.array([find(i) for i in range(n)])
    ids = np.array(table.column("doc_id").to_pylist())
    sizes = np.bincount(labels, minlength=n)
    clustered = sizes[labels] > 1
    pq.write_table(pa.table({"doc_id": ids[clustered], "label": labels[clustered]}), out)
    return {"total": round(time.perf_counter() - started, 2), "candidate_pairs": len(pairs), "largest_bucket": largest}


def _measure(mode: str, input_dir: Path, out: Path, memory_limit: str | None, temp: Path) -> dict:
    """Run one mode in a fresh interpreter: its timings, wall and CPU seconds, peak RSS, peak spill."""
    temp.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "benchmarks.bench_stage2", "--run", mode, "--input", str(input_dir / "*.parquet"),
            "--out", str(out), "--temp", str(temp)] + (["--limit", memory_limit] if memory_limit else [])
    peak_spill, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.wait(0.5):
            size = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())
            peak_spill[0] = max(peak_spill[0], size)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{mode} failed with exit code {child.returncode}")
    steps = json.loads(child.stdout.read().strip().splitlines()[-1])
    return {"steps": steps, "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024), "peak_spill_mib": round(peak_spill[0] / 2**20)}


# ---- the driver ------------------------------------------------------------------------------------

def _agree(limited: Path, other: Path, reference: bool) -> bool:
    """Clusters identical row for row (DuckDB in memory), or the same partition (the reference)."""
    import duckdb

    con = duckdb.connect()
    if not reference:
        sql = "SELECT count(*) FROM (SELECT * FROM read_parquet($a) EXCEPT ALL SELECT * FROM read_parquet($b))"
        return all(con.execute(sql, {"a": str(x), "b": str(y)}).fetchall()[0][0] == 0
                   for x, y in ((limited, other), (other, limited)))
    mine = "SELECT doc_id, cluster_id AS smallest FROM read_parquet($a)"  # cluster_id: the smallest doc_id
    theirs = "SELECT doc_id, min(doc_id) OVER (PARTITION BY label) AS smallest FROM read_parquet($b)"
    return all(con.execute(f"SELECT count(*) FROM ({x} EXCEPT ALL {y})", {"a": str(limited), "b": str(other)})
               .fetchall()[0][0] == 0 for x, y in ((mine, theirs), (theirs, mine)))


def _clusters(path: Path) -> tuple[int, int]:
    import duckdb

    return duckdb.sql("SELECT count(DISTINCT cluster_id), count(*) FROM read_parquet(?)",
                      params=[str(path)]).fetchall()[0]


def _size(text: str) -> int:
    scale = {"k": 10**3, "m": 10**6}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _label(n: int) -> str:
    return f"{n // 10**6}M" if n % 10**6 == 0 else f"{n // 10**3}k" if n % 10**3 == 0 else str(n)


def report(results: list[dict], args: argparse.Namespace) -> str:
    lines = [f"DuckDB {_duckdb_version()}, default threads, on a shared machine.", "",
             f"Synthetic input in `SHINGLED_SCHEMA`, no text: {MIN_SHINGLES}-{MAX_SHINGLES} random shingles and "
             f"{NUM_PERM} MinHash values per document; {EXACT_SHARE:.0%} exact and {NEAR_SHARE:.0%} near copies "
             "(Jaccard 0.6-1.0; a near copy keeps each signature value with probability = its exact Jaccard) of one "
             f"of the {WINDOW:,} documents before them; {_label(CHUNK)} documents per Parquet file. Threshold "
             f"{THRESHOLD}, LSH 17 bands x 7 rows. `limited`: `SET memory_limit = '{args.memory_limit}'` with a "
             f"temp_directory; `limited {args.spill_limit}`: a limit small enough that the comparison size "
             "spills; `in memory`: no memory_limit and spilling disabled (temp_directory ''). Each run is a fresh "
             "process; peak spill is the temp_directory's largest size, polled every 0.5 s.", "",
             "| documents | input MB | run | wall s | CPU s | peak RSS MiB | peak spill MiB | clusters | docs in "
             "clusters | agrees |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for mode, m in r["runs"].items():
            lines.append(f"| {_label(r['docs'])} | {r['input_mb']:,} | {mode} | {m['wall_s']:,} | {m['cpu_s']:,} | "
                         f"{m['peak_rss_mib']:,} | {m.get('peak_spill_mib', 0):,} | {m.get('clusters', '')} | "
                         f"{m.get('clustered', '')} | {m.get('agrees', '')} |")
    lines += ["", "Seconds per step of `find_duplicates` (limited runs):", "",
              "| documents | " + " | ".join(s.lstrip("_") for s in STEPS) + " | total |",
              "|---|" + "---|" * (len(STEPS) + 1)]
    for r in results:
        steps = r["runs"]["limited"]["steps"]
        lines.append(f"| {_label(r['docs'])} | " + " | ".join(str(steps.get(s.lstrip('_'), '')) for s in STEPS)
                     + f" | {steps['total']} |")
    lines += ["", "- agrees: the run gives the same clusters table row for row (doc_id, cluster_id, kind, "
              "representative) as `limited`; `reference` (numpy LSH buckets, exact Jaccard, union-find; all pairs "
              "in a bucket, largest bucket "
              + ", ".join(str(r["largest_bucket"]) for r in results if "largest_bucket" in r)
              + ") gives the same partition into clusters.",
              "- `memory_limit` bounds DuckDB's buffer manager ('4GB' is 4·10^9 bytes, 3,815 MiB); peak RSS adds "
              "the Python interpreter and its libraries.",
              "- How this relates to `agora curate`: the real stage-1 store keeps no shingle sets (issue 10: they "
              "were 40% of it); there stage 2 shingles the stored text of the documents in candidate pairs, a few "
              "percent of the corpus, and verifies them with the same SQL. This bench stores the sets instead, to "
              "measure the DuckDB part at sizes no text corpus on this machine reaches; the near-duplicate "
              "benchmark measures the text path and its F1."]
    return "\n".join(lines) + "\n"


def _duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1M,10M", help="documents per run, e.g. 100k,1M,10M")
    parser.add_argument("--memory-limit", default="4GB", help="DuckDB memory_limit of the limited runs")
    parser.add_argument("--compare-upto", default="1M", help="compare with in-memory runs up to this size")
    parser.add_argument("--spill-limit", default="500MB",
                        help="up to --compare-upto, also a run under this memory_limit, small enough to spill")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/agora-bench-stage2"))
    parser.add_argument("--write-results", action="store_true",
                        help=f"replace the '{TITLE}' section of benchmarks/RESULTS.md")
    parser.add_argument("--run", choices=("duckdb", "reference"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--temp", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", help=argparse.SUPPRESS)  # a child's memory_limit; none: in memory
    args = parser.parse_args()
    if args.run:  # a child: one measured run
        if args.run == "reference":
            print(json.dumps(run_reference(args.input, args.out)))
        else:
            print(json.dumps(run_duckdb(args.input, args.out, args.limit, args.temp)))
        return

    results = []
    for n in map(_size, args.sizes.split(",")):
        folder = args.workdir / f"input-{_label(n)}"
        started = time.perf_counter()
        counts = make_input(folder, n, args.seed)
        print(f"{_label(n)}: input {counts} ({time.perf_counter() - started:.0f} s)", flush=True)
        result = {"docs": n, "input_mb": round(counts["bytes"] / 2**20), "runs": {}}
        modes = [("limited", args.memory_limit)]
        if n <= _size(args.compare_upto):
            modes += [(f"limited {args.spill_limit}", args.spill_limit), ("in memory", None), ("reference", None)]
        for mode, limit in modes:
            out = args.workdir / f"clusters-{_label(n)}-{mode.replace(' ', '-')}.parquet"
            measured = _measure("reference" if mode == "reference" else "duckdb", folder, out, limit,
                                args.workdir / "spill")
            if mode == "reference":
                result["largest_bucket"] = measured["steps"].get("largest_bucket")
                measured["agrees"] = "same partition" if _agree(result["limited_out"], out, True) else "DIFFERENT"
            else:
                measured["clusters"], measured["clustered"] = (f"{x:,}" for x in _clusters(out))
                if mode == "limited":
                    result["limited_out"] = out
                else:
                    measured["agrees"] = "identical" if _agree(result["limited_out"], out, False) else "DIFFERENT"
            result["runs"][mode] = measured
            print(f"  {mode}: {measured}", flush=True)
        result.pop("limited_out")
        results.append(result)
    text = report(results, args)
    print("\n" + text)
    if args.write_results:
        write_section(TITLE, "python -m benchmarks.bench_stage2 " + " ".join(sys.argv[1:]), text)


if __name__ == "__main__":
    main()
