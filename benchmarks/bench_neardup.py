"""Near-duplicate detection: Agora's MinHash dedup against datatrove's 4-stage MinHash pipeline.

    .venv/bin/python -m benchmarks.bench_neardup [--docs N] [--seed S] [--write-results]

Both methods run on the same generated corpus (benchmarks.neardup_corpus), each end to end in a
fresh subprocess (read the JSONL corpus -> signatures -> clusters), single-process and
single-threaded (DuckDB threads=1; datatrove workers=1), so wall time, CPU time and peak RSS
(os.wait4 of the subprocess) compare like for like on a shared machine. Quality is pairwise
precision / recall / F1 of "same cluster" against the ideal clustering: connected components of
all pairs with exact shingle Jaccard >= 0.8.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks.neardup_corpus import (
    Doc,
    family_pairs,
    make_corpus,
    read_corpus,
    shingle_sets,
    truth_pairs,
    write_corpus,
)
from benchmarks.shared_data import REPO_ROOT, find_shared_data

THRESHOLD = 0.8
RESULTS = REPO_ROOT / "benchmarks" / "RESULTS.md"
AGORA_SETUP = (
    "word 5-grams (character 5-grams for scripts without spaces), 128 MinHash values, LSH 17 bands x 7 rows "
    "(`choose_bands(0.8, 128)`), candidates verified by exact shingle Jaccard in DuckDB (shingle sets are not "
    "stored: stage 2 shingles the stored text of the documents in candidate pairs again), components by min-label "
    "propagation; time includes computing and writing the stage-1 Parquet (text, script, hash, signature)."
)
DATATROVE_SETUP = (
    "0.10.1, `MinhashConfig(hash_config=HashConfig(precision=64))`, 14 bands x 8 rows, 5-grams, no verification. "
    "Word tokenizer per document language: spaCy blank pipelines where datatrove has them offline (en, de, es, fr, "
    "ru, el, tr, ro, ...; one pipeline per spaCy language), spaCy `xx` where it would need Stanza, pyvi or "
    "indic-nlp or does not know the code, and characters for scripts without spaces (its zh/th/ja tokenizers need "
    "jieba, pythainlp, SudachiPy). Ground truth uses Agora's shingles; datatrove's differ a little (spaCy tokens, "
    "digits to 0, accents stripped). Its extra removals are mostly planted pairs with J 0.6-0.8, which its "
    "unverified 14 x 8 curve (steep near 0.72) accepts."
)
SECTION = "## Near-duplicate detection"


# ---- the methods (each runs in its own subprocess) --------------------------------------------

def run_agora(workdir: Path) -> list[tuple[int, str]]:
    """Stage 1 as workers would (content hash, signature, text and script -> Parquet), then stage 2."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.stages.dedup import INPUT_SCHEMA, find_duplicates
    from curation.stages.stage1 import PARQUET_OPTIONS
    from curation.text.minhash import content_hash, shingles, signature
    from curation.text.scripts import has_word_spaces

    out = workdir / "agora"
    out.mkdir()
    docs = read_corpus(workdir / "corpus.jsonl")
    per_task = 5_000  # one Parquet file per stage-1 task, as workers write them
    for task, start in enumerate(range(0, len(docs), per_task)):
        rows = []
        for d in docs[start : start + per_task]:
            sh = shingles(d.text, d.use_words)
            # the corpus decides word or character shingles by its own script list; where it and
            # has_word_spaces disagree on a script, a stand-in script that says the same
            script = d.script if has_word_spaces(d.script) == d.use_words else ("Latn" if d.use_words else "Hani")
            rows.append({"doc_id": d.doc_id, "source": d.source, "license_class": d.license_class,
                         "quality": d.quality, "content_hash": content_hash(d.text), "signature": signature(sh),
                         "text": d.text, "script": script})
        options = {**PARQUET_OPTIONS, "use_dictionary": ["source", "license_class", "script"]}
        pq.write_table(pa.Table.from_pylist(rows, schema=INPUT_SCHEMA), out / f"{task:05d}.parquet", **options)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    clusters = find_duplicates(con, str(out / "*.parquet"), threshold=THRESHOLD)
    index = {d.doc_id: i for i, d in enumerate(docs)}
    return [(index[doc_id], cluster) for doc_id, cluster in clusters.select("doc_id, cluster_id").fetchall()]


def run_datatrove(workdir: Path) -> list[tuple[int, str]]:
    """MinhashDedupSignature -> Buckets -> Cluster -> Filter with the defaults (14 x 8, 5-grams).

    datatrove tokenizes words per language. Offline here, spaCy blank pipelines serve en, de, es,
    ro, ru, el, tr, ...; languages routed to Stanza / pyvi / indic-nlp, or unknown, get spaCy's
    multi-language `xx` tokenizer; scripts without word spaces (its zh/th/ja tokenizers need
    jieba / pythainlp / SudachiPy, not installed) get characters, the same unit as Agora's.
    """
    import struct

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.hashing import HashConfig
    from datatrove.utils.word_tokenizers import SpaCyTokenizer, WordTokenizer, load_word_tokenizer

    class CharTokenizer(WordTokenizer):
        def word_tokenize(self, text: str) -> list[str]:
            return [c for c in text if not c.isspace()]

        def sent_tokenize(self, text: str) -> list[str]:
            return [text]

        def span_tokenize(self, text: str) -> list[tuple[int, int]]:
            return [(0, len(text))]

    loaded: dict[tuple[str, str | None], WordTokenizer] = {}  # one spaCy pipeline per spaCy language

    def tokenizer_for(lang: str, use_words: bool) -> WordTokenizer:
        if not use_words:
            return loaded.setdefault(("chars", None), CharTokenizer())
        try:
            tokenizer = load_word_tokenizer(lang)
            tokenizer = loaded.setdefault((type(tokenizer).__name__, tokenizer.language), tokenizer)
            tokenizer.word_tokenize("a test")  # some fail only when first used
            return tokenizer
        except Exception:  # noqa: BLE001 - any offline failure means: fall back to spaCy xx
            return loaded.setdefault(("SpaCyTokenizer", "xx"), SpaCyTokenizer("xx"))

    class PerLanguageSignature(MinhashDedupSignature):
        """Stage 1 with the word tokenizer of each document's language (one language per step upstream)."""

        def __init__(self, *args, tokenizers: dict[str, WordTokenizer], **kwargs):
            super().__init__(*args, **kwargs)
            self.tokenizers = tokenizers

        def run(self, data, rank: int = 0, world_size: int = 1):
            def switching(docs):
                for doc in docs:
                    self.word_tokenizer = self.tokenizers[f"{doc.metadata['lang']}/{doc.metadata['use_words']}"]
                    yield doc

            return super().run(switching(data), rank, world_size)

    docs = read_corpus(workdir / "corpus.jsonl")
    tokenizers = {f"{lang}/{words}": tokenizer_for(lang, words)
                  for lang, words in {(d.lang, d.use_words) for d in docs}}
    config = MinhashConfig(hash_config=HashConfig(precision=64))
    base = workdir / "datatrove"
    reader = JsonlReader(str(workdir), glob_pattern="corpus.jsonl", text_key="text", id_key="doc_id")
    stages = [
        ([reader, PerLanguageSignature(str(base / "signatures"), config=config, tokenizers=tokenizers)], 1),
        ([MinhashDedupBuckets(str(base / "signatures"), str(base / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(str(base / "buckets"), str(base / "remove"), config=config, save_cluster_id=True)], 1),
        ([reader, MinhashDedupFilter(str(base / "remove")), JsonlWriter(str(base / "output"))], 1),
    ]
    for i, (pipeline, tasks) in enumerate(stages):
        LocalPipelineExecutor(pipeline, tasks=tasks, workers=1, logging_dir=str(base / f"logs{i}")).run()
    raw = (base / "remove" / "000000.clusters").read_bytes()
    pairs = struct.iter_unpack("<2I", raw)  # (document index in the task, cluster id)
    return [(doc_index, str(cluster)) for doc_index, cluster in pairs]


METHODS = {"agora": run_agora, "datatrove": run_datatrove}


# ---- the driver ------------------------------------------------------------------------------

def _measure(method: str, workdir: Path) -> dict:
    """Run one method in a fresh interpreter; wall time, CPU time and peak RSS of that process tree."""
    with open(workdir / f"{method}.log", "w") as log:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_neardup", "--run", method, "--workdir", str(workdir)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    if child.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{(workdir / f'{method}.log').read_text()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024}


def _components(n: int, pairs: list[tuple[int, int, float]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b, _ in pairs:
        parent[find(a)] = find(b)
    return [find(i) for i in range(n)]


def _scores(truth: list[int], predicted: list[object]) -> dict:
    """Pairwise precision / recall / F1 of two clusterings, by counting (no pair enumeration)."""
    def pairs(counter: Counter) -> int:
        return sum(k * (k - 1) // 2 for k in counter.values())

    true_pairs, predicted_pairs = pairs(Counter(truth)), pairs(Counter(predicted))
    hits = pairs(Counter(zip(truth, predicted)))
    precision = hits / predicted_pairs if predicted_pairs else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    removed = len(predicted) - len(set(predicted))
    return {"precision": precision, "recall": recall, "f1": f1, "removed": removed}


def _predicted(n: int, assignments: list[tuple[int, str]]) -> list[object]:
    labels: list[object] = list(range(n))  # singletons: their own index
    for index, cluster in assignments:
        labels[index] = f"c{cluster}"
    return labels


def _table(rows: dict[str, dict]) -> str:
    lines = ["| method | precision | recall | F1 | docs removed | wall s | CPU s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['removed']:,} | "
                     f"{r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_mib']:.0f} |")
    return "\n".join(lines)


def _write_results(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = current.find(SECTION)
    if start == -1:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = current.find("\n## ", start + len(SECTION))
        updated = current[:start] + text + (current[end + 1 :] if end != -1 else "")
    RESULTS.write_text(updated.rstrip("\n") + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-results", action="store_true", help=f"replace '{SECTION}' in {RESULTS.name}")
    parser.add_argument("--run", choices=sorted(METHODS), help=argparse.SUPPRESS)  # internal: one method
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        assignments = METHODS[args.run](args.workdir)
        (args.workdir / f"{args.run}.json").write_text(json.dumps(assignments))
        return

    root = find_shared_data()
    if root is None:
        sys.exit("../shared/data not found (set AGORA_SHARED_DATA)")
    with tempfile.TemporaryDirectory(prefix="bench_neardup_") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        docs: list[Doc] = make_corpus(root, args.docs, args.seed)
        write_corpus(docs, workdir / "corpus.jsonl")
        sets = shingle_sets(docs)
        truth = truth_pairs(sets, THRESHOLD)
        planted = family_pairs(docs, sets)
        print(f"corpus: {len(docs):,} docs, {len(truth):,} pairs with J >= {THRESHOLD} "
              f"({time.perf_counter() - started:.0f} s to build)", flush=True)
        truth_labels = _components(len(docs), truth)
        ideal = len(docs) - len(set(truth_labels))

        rows = {}
        for method in ("agora", "datatrove"):
            measured = _measure(method, workdir)
            assignments = json.loads((workdir / f"{method}.json").read_text())
            rows[method] = {**_scores(truth_labels, _predicted(len(docs), assignments)), **measured}
            print(method, {k: round(v, 4) for k, v in rows[method].items()}, flush=True)

    table = _table(rows)
    a, d = rows["agora"], rows["datatrove"]
    kinds = Counter(doc.kind for doc in docs)
    scripts = Counter(doc.script for doc in docs if not doc.use_words)
    near = sum(1 for *_, j in planted if 0.7 <= j < THRESHOLD)
    summary = (
        f"{SECTION}\n\n"
        f"`.venv/bin/python -m benchmarks.bench_neardup --docs {args.docs} --seed {args.seed} --write-results` "
        f"({datetime.date.today().isoformat()}, {os.cpu_count()}-core shared machine, one process per method, "
        f"DuckDB threads=1, datatrove workers=1).\n\n"
        f"Corpus: {len(docs):,} documents from real text under ../shared/data ({kinds['base']:,} originals; variants: "
        + ", ".join(f"{k} {v:,}" for k, v in kinds.items() if k != "base")
        + f"), {len(docs) - sum(doc.use_words for doc in docs):,} shingled by character ("
        + ", ".join(f"{k} {v}" for k, v in scripts.most_common(6))
        + f", ...). Ground truth: all {len(truth):,} pairs with exact 5-gram shingle Jaccard >= {THRESHOLD} "
        f"(prefix-filtered all-pairs join over the whole corpus, not just planted families; {near:,} planted pairs "
        f"sit just below, in [0.7, 0.8)); scores are pairwise over clusters against its connected components "
        f"(ideal removal {ideal:,} docs).\n\n"
        f"{table}\n\n"
        f"Agora vs datatrove: F1 {a['f1']:.3f} vs {d['f1']:.3f}, wall time {a['wall_s'] / d['wall_s']:.2f}x, "
        f"peak memory {a['peak_mib'] / d['peak_mib']:.2f}x.\n\n"
        f"- agora: {AGORA_SETUP}\n- datatrove: {DATATROVE_SETUP}\n"
    )
    print("\n" + summary)
    if args.write_results:
        _write_results(summary)


if __name__ == "__main__":
    main()
