"""Stage 1: per-document work as datatrove pipeline steps, one small step per job.

read registered source → normalize → language id → quality signals → PII redaction →
content hash + MinHash → Parquet (one file per task and source version, written atomically).

The steps run on datatrove's executors (local processes or Ray), which resume a killed run task
by task. Output is keyed by source version and by the recipe settings stage 1 depends on, so a
source that did not change is never processed twice.
"""
from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from curation.core.errors import AgoraError
from curation.core.ids import doc_id
from curation.ingest.readers import Malformed, Skipped, SourceSpec, iter_records
from curation.ingest.shards import Shard, plan
from curation.stages.progress import ReportProgress
from curation.text.langid import get_identifier
from curation.text.minhash import content_hash, shingles, signature
from curation.text.normalize import normalize
from curation.text.pii import KINDS as PII_KINDS
from curation.text.pii import redact_pii
from curation.text.quality import SIGNAL_NAMES, quality_signals
from curation.text.quality_model import load_model, model_path
from curation.text.scripts import detect_script, has_word_spaces

BATCH_ROWS = 1000
RECORD_META = ("split", "config", "url", "fetched_at")  # per-record facts a reader keeps beside the text
# Bump when stage 1 computes something differently, so stored signals are not reused wrongly.
STAGE1_CODE_VERSION = 5  # 2: Yi, Tai Tham and Tai Viet scripts recognised; 3: agora langid votes with word lists;
# 4: rows keep the record's split, config, URL and fetch date (dataset repositories, HTML, WARC);
# 5: adult_word_density (LDNOOBW lists) and quality_model_score (the recipe's learned model)

STAGE1_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("source", pa.string()),
        ("source_version", pa.int32()),
        ("source_id", pa.int32()),
        ("record_id", pa.string()),
        *[(key, pa.string()) for key in RECORD_META],
        ("stage1_key", pa.string()),
        ("license_class", pa.string()),
        ("text", pa.string()),  # normalized, PII redacted: what `agora export` and mixtures read
        ("n_bytes", pa.int64()),
        ("lang", pa.string()),
        ("lang_score", pa.float64()),
        ("script", pa.string()),
        *[(f"pii_{kind}", pa.int32()) for kind in PII_KINDS],
        *[(name, pa.float64()) for name in SIGNAL_NAMES],
        ("quality", pa.float64()),  # recipe-independent score that ranks duplicate copies
        ("content_hash", pa.string()),
        ("signature", pa.list_(pa.uint32())),
    ]
)
# Rows written before the store was made compact (issue 10) also hold the shingle set, a
# list<uint32> column "shingles"; stage 2 uses it where present and shingles the text otherwise.
_LIST_COLUMNS = ("signature",)  # uint32 arrays: to Arrow from numpy, not via Python lists
_SCALAR_SCHEMA = pa.schema([field for field in STAGE1_SCHEMA if field.name not in _LIST_COLUMNS])
# How the store stays near 1x the text's UTF-8 bytes (1.8x and more before): zstd at level 9 (text
# to ~0.35x; it compresses ~55 MB/s, stage 1 processes ~1.7 MB/s per core, and no longer writes shingle
# sets), dictionaries only where values repeat, and signatures as byte-stream-split values (a MinHash
# minimum has leading zero bits that zstd then finds).
_UNIQUE_COLUMNS = ("doc_id", "record_id", "url", "text", "content_hash", "signature")
PARQUET_OPTIONS = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": [field.name for field in STAGE1_SCHEMA if field.name not in _UNIQUE_COLUMNS],
    "column_encoding": {"signature.list.element": "BYTE_STREAM_SPLIT"},
}


def source_dir(stage1_root: Path, source: dict) -> Path:
    return stage1_root / source["name"] / f"v{source['version']}"


class ReadSources(PipelineStep):
    """Task `rank` reads its shards of the registered sources (see curation.ingest.shards.plan) and
    counts what it read, so a run can show that every record was read exactly once."""

    name = "read registered sources"
    type = "📖 - READER"

    def __init__(self, sources: list[dict], plan_file: str):
        super().__init__()
        self.sources, self.plan_file = sources, plan_file

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        shards = [Shard.of(s) for s in json.loads(Path(self.plan_file).read_text())["tasks"][rank]]
        counts = {"task": rank, "shards": len(shards), "records": 0, "malformed": 0, "skipped": 0}
        for index, group in itertools.groupby(shards, key=lambda shard: shard.source):
            source = self.sources[index]
            for item in iter_records(SourceSpec.of(source), list(group)):
                if isinstance(item, Malformed):
                    counts["malformed"] += 1
                    continue
                if isinstance(item, Skipped):
                    counts["skipped"] += 1
                    continue
                counts["records"] += 1
                yield Document(
                    text=item.text,
                    id=doc_id(source["name"], source["version"], item.record_id),
                    metadata={"source": source, "record_id": item.record_id, "record_meta": item.meta},
                )
        for key in ("records", "malformed", "skipped"):
            self.stat_update(key, value=counts[key])
        _write_json(task_counts_file(Path(self.plan_file).parent, rank), counts)


def write_plan(plan_file: Path, sources: list[dict], n_tasks: int) -> None:
    """Cut the sources into shards for `n_tasks` tasks (curation.ingest.shards) and write the plan
    ReadSources reads; the source list is kept beside it, so a resumed run knows it is the same plan."""
    tasks = plan([SourceSpec.of(s) for s in sources], n_tasks)
    _write_json(plan_file, {"sources": plan_key(sources), "n_tasks": n_tasks,
                            "tasks": [[shard.as_dict() for shard in task] for task in tasks]})


def plan_key(sources: list[dict]) -> list[str]:
    return [f"{s['name']} v{s['version']}" for s in sources]


def task_counts_file(logs: Path, rank: int) -> Path:
    """Where stage-1 task `rank` leaves what it read (records, malformed, skipped)."""
    return logs / "reads" / f"{rank:05d}.json"


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class Normalize(PipelineStep):
    key = "normalize"  # its name in run fingerprints (STEPS)
    name = "normalize (NFC, controls, whitespace)"
    type = "🔻 - FORMAT"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            document.text = normalize(document.text)
            yield document


class IdentifyLanguage(PipelineStep):
    key = "langid"  # its name in run fingerprints (STEPS)
    name = "language id"
    type = "🏷 - TAGGER"

    def __init__(self, backend: str, options: dict):
        super().__init__()
        self.backend, self.options = backend, options

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        identifier = get_identifier(self.backend, **self.options)  # made per task: models do not deepcopy well
        for document in data:
            guess = identifier.identify(document.text)
            document.metadata.update(lang=guess.lang, lang_score=guess.score, script=detect_script(document.text))
            yield document


class QualitySignals(PipelineStep):
    key = "quality"  # its name in run fingerprints (STEPS)
    name = "quality signals (Gopher, C4, FineWeb, adult words, learned model)"
    type = "🏷 - TAGGER"

    def __init__(self, model_path: str | None):
        super().__init__()
        self.model_path = model_path  # the recipe's quality model, resolved by the driver; None: no model

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        model = load_model(Path(self.model_path)) if self.model_path else None  # per task, like the detectors
        for document in data:
            meta = document.metadata
            signals = quality_signals(document.text, meta["lang"], tuple(meta["source"].get("languages") or ()), model)
            document.metadata["signals"] = signals
            document.metadata["quality"] = quality_score(signals)
            yield document


def quality_score(signals: dict) -> float:
    """Ranks copies of one text: well-punctuated, unrepetitive, wordy lines score higher."""
    parts = [signals["fw_punct_lines_frac"], 1.0 - signals["dup_line_frac"], signals["alpha_words_frac"]]
    return round(float(np.mean(parts)), 6)


class RedactPII(PipelineStep):
    key = "pii"  # its name in run fingerprints (STEPS)
    name = "PII redaction"
    type = "🔻 - FORMAT"

    def __init__(self, kinds: list[str]):
        super().__init__()
        self.kinds = kinds

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            redaction = redact_pii(document.text, self.kinds)
            document.text = redaction.text
            document.metadata["pii"] = redaction.counts
            self.stat_update(*(f"pii_{kind}" for kind, n in redaction.counts.items() if n))
            yield document


class HashAndSign(PipelineStep):
    """Exact-duplicate key and MinHash signature of the text as it will be curated. The shingle set
    is not kept: stage 2 shingles the stored text again for the few documents whose pairs it verifies."""

    key = "dedup"  # its name in run fingerprints (STEPS)
    name = "content hash + MinHash"
    type = "🫂 - DEDUP"

    def __init__(self, ngram: int, num_perm: int):
        super().__init__()
        self.ngram, self.num_perm = ngram, num_perm

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in data:
            shingle_set = shingles(document.text, has_word_spaces(document.metadata["script"]), self.ngram)
            document.metadata.update(content_hash=content_hash(document.text),
                                     signature=signature(shingle_set, self.num_perm))
            yield document


class WriteStage1(PipelineStep):
    """One Parquet file per task and source version, renamed into place only when complete."""

    name = "write stage-1 Parquet"
    type = "💽 - WRITER"

    def __init__(self, stage1_root: str, stage1_key: str):
        super().__init__()
        self.stage1_root, self.stage1_key = Path(stage1_root), stage1_key

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        current, rows = None, []
        writer: _AtomicParquet | None = None
        for document in data:
            source = document.metadata["source"]
            if source is not current:
                if writer:
                    writer.close(rows)
                current, rows = source, []
                writer = _AtomicParquet(source_dir(self.stage1_root, source) / f"part-{rank:05d}.parquet")
            rows.append(self._row(document))
            if len(rows) >= BATCH_ROWS:
                writer.write(rows)
                rows = []
        if writer:
            writer.close(rows)
        return
        yield  # a writer ends the pipeline: it yields nothing

    def _row(self, document: Document) -> dict:
        meta = document.metadata
        source = meta["source"]
        return {
            "doc_id": document.id, "source": source["name"], "source_version": source["version"],
            "source_id": source["source_id"], "record_id": meta["record_id"],
            **{key: meta["record_meta"].get(key) for key in RECORD_META}, "stage1_key": self.stage1_key,
            "license_class": source["license_class"], "text": document.text,
            "n_bytes": len(document.text.encode("utf-8")), "lang": meta["lang"], "lang_score": meta["lang_score"],
            "script": meta["script"], **{f"pii_{kind}": n for kind, n in meta["pii"].items()},
            **{name: _number(meta["signals"][name]) for name in SIGNAL_NAMES},
            "quality": meta["quality"], "content_hash": meta["content_hash"],
            "signature": meta["signature"],
        }


def _number(value) -> float | None:
    return None if value is None else float(value)


class _AtomicParquet:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.tmp = path, path.with_name(path.name + ".tmp")
        self.writer = pq.ParquetWriter(self.tmp, STAGE1_SCHEMA, **PARQUET_OPTIONS)

    def write(self, rows: list[dict]) -> None:
        self.writer.write_table(_table(rows))

    def close(self, rows: list[dict]) -> None:
        if rows:
            self.write(rows)
        self.writer.close()
        os.replace(self.tmp, self.path)


def _table(rows: list[dict]) -> pa.Table:
    """Rows as a STAGE1_SCHEMA table: scalars through Arrow's row conversion, lists straight from numpy."""
    scalars = pa.Table.from_pylist(rows, schema=_SCALAR_SCHEMA)
    columns = [
        _uint32_lists([row[field.name] for row in rows]) if field.name in _LIST_COLUMNS else scalars[field.name]
        for field in STAGE1_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=STAGE1_SCHEMA)


def _uint32_lists(arrays: list[np.ndarray]) -> pa.ListArray:
    """One list per array, from their concatenation and offsets: no Python object per value."""
    offsets = np.zeros(len(arrays) + 1, dtype=np.int32)
    np.cumsum([len(a) for a in arrays], out=offsets[1:])
    return pa.ListArray.from_arrays(offsets, np.concatenate(arrays).astype(np.uint32, copy=False))


# The per-document steps in pipeline order. A curation run's id covers them, so a run made by a
# different pipeline is a different run (recipes once listed them; the code decides the order).
STEPS = tuple(step.key for step in (Normalize, IdentifyLanguage, QualitySignals, RedactPII, HashAndSign))


def build_pipeline(sources: list[dict], recipe, stage1_root: Path, plan_file: Path) -> list[PipelineStep]:
    return [
        ReadSources(sources, str(plan_file)),
        Normalize(),
        IdentifyLanguage(recipe.langid_backend, recipe.langid_options()),
        QualitySignals(_quality_model_file(recipe, stage1_root)),
        RedactPII(recipe.pii_redact),
        HashAndSign(recipe.fuzzy["ngram"], recipe.fuzzy["num_perm"]),
        ReportProgress(str(Path(plan_file).parent)),  # documents done, for the live progress line
        WriteStage1(str(stage1_root), recipe.stage1_key()),
    ]


def _quality_model_file(recipe, stage1_root: Path) -> str | None:
    """The recipe's quality model in the workspace that holds `stage1_root` (WORKSPACE/stage1/KEY)."""
    if not recipe.quality_model:
        return None
    path = model_path(stage1_root.parent.parent, recipe.quality_model)
    if not path.is_file():
        raise AgoraError(f"the recipe's quality_model {recipe.quality_model} is not in this workspace ({path}); "
                         "train one with `agora quality train` (see `agora quality list`)")
    return str(path)


def stage1_files(stage1_root: Path, sources: list[dict]) -> Iterator[Path]:
    for source in sources:
        yield from sorted(source_dir(stage1_root, source).glob("part-*.parquet"))
