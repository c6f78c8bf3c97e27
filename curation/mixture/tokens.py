"""Token ids of a mixture's documents: computed once, in parallel tasks, then packed in manifest order.

`mix create` tokenizes every training document with the mixture's tokenizer in `--workers`
datatrove tasks (the executor curation's stage 1 runs on). Task i of n takes the i-th of n equal
slices of the documents in doc_id order and writes them as a packed folder (training.packing)
under `tokens/task-0000i/`: its index holds each document's token count, which is what the
budgets need. Packing for training (`pack_manifest`) then copies each manifest entry's ids from
there, in manifest order, into the packed shards training reads. Tokenizing is the expensive part
and runs once per document, not once per repeat; everything written is a function of the
documents and the tokenizer alone, so the manifest and the packed shards are the same bytes for
any number of workers.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
from datatrove.pipeline.base import PipelineStep

from curation.core.errors import AgoraError
from curation.stages.executors import Execution, datatrove_output_to, run_pipeline
from curation.stages.kept import Kept

ENCODE_BATCH = 1_000  # documents read and tokenized at a time in a task
GATHER_BATCH = 65_536  # manifest rows read at a time when packing


class TokenizeSlice(PipelineStep):
    """One task: tokenize the rank-th slice of the documents listed in `docs` into `out/task-RANK`."""

    name = "tokenize"
    type = "🔢 - TOKENIZE"

    def __init__(self, docs: str, texts: Kept, tokenizer_file: str, eos_id: int, vocab_size: int, out: str,
                 memory_limit: int, single_thread: bool):
        super().__init__()
        self.docs, self.texts, self.tokenizer_file, self.out = docs, texts, tokenizer_file, out
        self.eos_id, self.vocab_size = eos_id, vocab_size
        self.memory_limit, self.single_thread = memory_limit, single_thread

    def run(self, data, rank: int = 0, world_size: int = 1):
        from tokenizers import Tokenizer

        from training.packing import pack_ids

        if self.single_thread:  # n tasks share the cores: one thread each, not n x all of them
            os.environ["TOKENIZERS_PARALLELISM"] = "false"
        tokenizer = Tokenizer.from_file(self.tokenizer_file)
        con = duckdb.connect(config={"threads": 1, "memory_limit": f"{self.memory_limit // 2**20}MB"})
        try:
            n = pq.read_metadata(self.docs).num_rows
            first, last = rank * n // world_size, (rank + 1) * n // world_size
            con.execute("CREATE TEMP TABLE slice AS SELECT doc_id FROM read_parquet(?) LIMIT ? OFFSET ?",
                        [self.docs, last - first, first])
            low, high = con.execute("SELECT min(doc_id), max(doc_id) FROM slice").fetchall()[0]
            sql, params = self.texts.query(("doc_id", "text"))
            reader = con.sql(f"SELECT c.doc_id, c.text FROM ({sql}) c SEMI JOIN slice USING (doc_id) "
                             "WHERE c.doc_id BETWEEN ? AND ?",  # pushed into the scan: other rows' text stays unread
                             params=[*params, low or "", high or ""]).to_arrow_reader(ENCODE_BATCH)

            def encoded() -> Iterator[tuple[str, list[int]]]:
                for batch in reader:
                    texts = batch.column("text").to_pylist()
                    self.stat_update("documents", value=len(texts))
                    for doc_id, encoding in zip(batch.column("doc_id").to_pylist(),
                                                tokenizer.encode_batch(texts, add_special_tokens=False)):
                        yield doc_id, encoding.ids

            pack_ids(encoded(), self.vocab_size, self.eos_id, Path(self.out) / f"task-{rank:05d}")
        finally:
            con.close()
        yield from ()


def tokenize_documents(docs: Path, texts: Kept, tokenizer_dir: Path, eos_id: int, vocab_size: int, out: Path,
                       workers: int, memory_limit: int) -> None:
    """Tokenize the documents listed in `docs` (Parquet, one doc_id per row, sorted), kept documents of the
    curation run `texts`, in `workers` parallel tasks; see the module docstring."""
    step = TokenizeSlice(str(docs), texts, str(tokenizer_dir / "tokenizer.json"), eos_id, vocab_size, str(out),
                         memory_limit // (2 * workers), single_thread=workers > 1)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with datatrove_output_to(logs / "datatrove.log", "tokenizing"):
        run_pipeline(Execution(workers=workers), [step], logs, out)


def index_files(store: Path) -> str:
    """Every task's index (doc_id, shard, start, n_tokens; n_tokens counts the document's EOS), as a glob."""
    return str(store / "task-*" / "index.parquet")


def pack_manifest(manifest: Path, store: Path, out: Path, memory_limit: int) -> dict:
    """Pack the manifest's documents, in manifest order, from the token store `tokenize_documents`
    wrote; returns the packed folder's meta (training.packing). Reads each document's ids with one
    positioned read, so memory holds a batch of manifest rows, not the store."""
    from training.packing import pack_ids

    tasks = sorted(store.glob("task-*"))
    meta = json.loads((tasks[0] / "meta.json").read_text()) if tasks else None
    if meta is None:
        raise AgoraError(f"{store} holds no tokenized documents")
    con = duckdb.connect(config={"memory_limit": f"{memory_limit // 2 // 2**20}MB"})
    try:
        con.execute("CREATE TEMP TABLE store AS SELECT doc_id, shard, start, n_tokens, "
                    "regexp_extract(filename, 'task-(\\d+)', 1)::INTEGER AS task "
                    "FROM read_parquet(?, filename = true)", [index_files(store)])
        missing = con.execute("SELECT count(*), any_value(doc_id) FROM read_parquet(?) ANTI JOIN store USING (doc_id)",
                              [str(manifest)]).fetchall()[0]
        if missing[0]:
            raise AgoraError(f"{missing[0]} manifest document(s) are not in {store} (e.g. {missing[1]})")
        reader = con.sql("SELECT m.doc_id, s.task, s.shard, s.start, s.n_tokens FROM read_parquet(?) m "
                         "JOIN store s USING (doc_id) ORDER BY m.position",
                         params=[str(manifest)]).to_arrow_reader(GATHER_BATCH)
        with _Shards(tasks, np.dtype(meta["dtype"])) as shards:
            def gathered() -> Iterator[tuple[str, np.ndarray]]:
                for batch in reader:
                    columns = [batch.column(i).to_numpy() for i in range(1, 5)]
                    for doc_id, task, shard, start, n in zip(batch.column(0).to_pylist(), *columns):
                        yield doc_id, shards.read(int(task), int(shard), int(start), int(n) - 1)  # without EOS

            return pack_ids(gathered(), meta["vocab_size"], meta["eos_id"], out)
    finally:
        con.close()


class _Shards:
    """Positioned reads from every task's token shards (no memory map: pages read stay out of RSS)."""

    def __init__(self, tasks: list[Path], dtype: np.dtype):
        self.dtype = dtype
        self.files: list[list[int]] = []
        self.offsets: list[list[int]] = []  # global token offset of each shard's first token, per task
        for task in tasks:
            shards = sorted(task.glob("tokens-*.bin"))
            self.files.append([os.open(shard, os.O_RDONLY) for shard in shards])
            sizes = [shard.stat().st_size // dtype.itemsize for shard in shards]
            self.offsets.append([sum(sizes[:i]) for i in range(len(sizes))])

    def read(self, task: int, shard: int, start: int, n: int) -> np.ndarray:
        offset = (start - self.offsets[task][shard]) * self.dtype.itemsize
        return np.frombuffer(os.pread(self.files[task][shard], n * self.dtype.itemsize, offset), self.dtype)

    def __enter__(self) -> _Shards:
        return self

    def __exit__(self, *exc) -> None:
        for task in self.files:
            for fd in task:
                os.close(fd)
