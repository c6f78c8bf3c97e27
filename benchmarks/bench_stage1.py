"""Stage-1 throughput: Agora's whole stage 1 (normalize, language id, all quality signals, PII,
content hash, MinHash, Parquet) against datatrove's stock JsonlReader -> GopherQualityFilter
(spaCy word tokenizer) -> JsonlWriter, on the same real web documents, in one process, alternating.

    .venv/bin/python -m benchmarks.bench_stage1 [--rounds 2]
"""
from __future__ import annotations

import argparse
import gzip
import json
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.results import write_section
from benchmarks.shared_data import find_shared_data

CORPUS_FILES = ("dolma-test-fixtures/cc-main-2019-30/*.jsonl.gz", "dolma-test-fixtures/cc-en-head/*.jsonl.gz",
                "dolma-test-fixtures/dedup-pii/documents.jsonl.gz")


def web_texts(shared: Path) -> list[dict]:
    """The non-empty web documents under corpora/, with ids."""
    docs = []
    for pattern in CORPUS_FILES:
        for path in sorted((shared / "corpora").glob(pattern)):
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                docs += [{"id": f"{path.name}:{i}", "text": row["text"]}
                         for i, row in enumerate(map(json.loads, handle)) if row["text"].strip()]
    return docs


def web_documents(shared: Path, out: Path) -> tuple[Path, int, int]:
    """One JSONL of the non-empty web documents under corpora/, as both pipelines will read it."""
    docs = web_texts(shared)
    target = out / "web.jsonl"
    target.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return target, len(docs), sum(len(d["text"].encode("utf-8")) for d in docs)


def run_agora(data: Path, work: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor

    from curation.stages.recipe import load_recipe
    from curation.stages.stage1 import build_pipeline, write_plan

    source = {"name": "web", "version": 1, "source_id": 1, "location": str(data), "format": "jsonl",
              "text_fields": ["text"], "id_field": "id", "columns": None, "license_class": "attribution"}
    write_plan(work / "plan.json", [source], n_tasks=1)
    pipeline = build_pipeline([source], load_recipe(), work / "stage1", work / "plan.json")
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(work / "logs-agora")).run()


def run_datatrove(data: Path, work: Path) -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import GopherQualityFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    pipeline = [JsonlReader(str(data.parent), glob_pattern=data.name), GopherQualityFilter(),
                JsonlWriter(str(work / "out-datatrove"))]
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(work / "logs-datatrove")).run()


def timed(fn, *args) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: this benchmark needs the team's real corpora")
    from loguru import logger

    with tempfile.TemporaryDirectory() as tmp:
        data, n_docs, n_bytes = web_documents(shared, Path(tmp))
        logger.remove()
        # Warm-up outside the timings: spaCy's and the detectors' loading is a per-process cost.
        run_datatrove(data, Path(tmp) / "warm-dt")
        run_agora(data, Path(tmp) / "warm-agora")
        times: dict[str, list[tuple[float, float]]] = {"agora": [], "datatrove": []}
        for r in range(args.rounds):
            times["datatrove"].append(timed(run_datatrove, data, Path(tmp) / f"dt{r}"))
            times["agora"].append(timed(run_agora, data, Path(tmp) / f"agora{r}"))
    rows = []
    for name, label in (("datatrove", "datatrove JsonlReader → GopherQualityFilter (spaCy) → JsonlWriter"),
                        ("agora", "Agora stage 1: normalize, langid, Gopher/C4/FineWeb signals, PII, hash, MinHash "
                                  "→ Parquet")):
        cpu = statistics.median(c for _, c in times[name])
        wall = statistics.median(w for w, _ in times[name])
        rows.append((label, n_docs / cpu, n_bytes / cpu / 1e6, cpu * 1000 / n_docs, wall))
    ratio = rows[1][1] / rows[0][1]
    table = ["| pipeline (1 worker) | docs / CPU-s | MB / CPU-s | CPU ms / doc | wall s |", "|---|---|---|---|---|"]
    table += [f"| {label} | {docs:.0f} | {mb:.2f} | {ms:.2f} | {wall:.1f} |" for label, docs, mb, ms, wall in rows]
    body = "\n".join([
        f"{n_docs} non-empty web documents ({n_bytes / 1e6:.1f} MB) from `corpora/dolma-test-fixtures` "
        f"(CC-MAIN-2019-30 sample, cc_net head, dedup-pii docs); median of {args.rounds} alternating rounds after a "
        "warm-up, one process each, CPU time.", "", *table, "",
        f"**Agora's whole stage 1 runs at {ratio:.2f}× the stock single-filter pipeline's docs/CPU-s** (target ≥ 3×).",
    ])
    write_section("Stage 1 throughput", "python -m benchmarks.bench_stage1", body)
    print(body)


if __name__ == "__main__":
    main()
