"""Pack documents into flat, memory-mapped token shards, with an index from tokens back to documents.

A packed folder holds:
  tokens-00000.bin, ...   every document's tokens followed by EOS, end to end (uint16, or uint32
                          when the vocabulary has more than 65,535 ids)
  index.parquet           one row per document occurrence, in token order: doc_id, shard, start
                          (global token offset), n_tokens (the document's tokens plus its EOS)
  meta.json               dtype, vocab_size, eos_id, n_tokens, shards
Training samples windows anywhere in the stream; `PackedTokens.documents_in` says which documents
a window came from, so every training step can be traced to its sources and licenses.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SHARD_TOKENS = 1 << 30  # a new shard starts at the first document boundary past this many tokens
ENCODE_BATCH = 1_000  # documents tokenized per call (the tokenizers library runs a batch in parallel)
INDEX_BATCH = 65_536  # index rows buffered before they are written
INDEX_SCHEMA = pa.schema([("doc_id", pa.string()), ("shard", pa.int32()), ("start", pa.int64()),
                          ("n_tokens", pa.int64())])


def pack_texts(docs: Iterable[tuple[str, str]], tokenizer, out_dir: str | Path,
               shard_tokens: int = SHARD_TOKENS) -> dict:
    """Tokenize `(doc_id, text)` pairs in order and pack them; returns meta.json's content.

    `tokenizer` is a Hugging Face tokenizer whose EOS token separates documents.
    """
    def encoded() -> Iterator[tuple[str, Sequence[int]]]:
        docs_iter = iter(docs)
        while batch := list(islice(docs_iter, ENCODE_BATCH)):
            ids = tokenizer([text for _, text in batch], add_special_tokens=False)["input_ids"]
            yield from zip((doc_id for doc_id, _ in batch), ids)

    return pack_ids(encoded(), len(tokenizer), tokenizer.eos_token_id, out_dir, shard_tokens)


def pack_ids(docs: Iterable[tuple[str, Sequence[int]]], vocab_size: int, eos_id: int, out_dir: str | Path,
             shard_tokens: int = SHARD_TOKENS) -> dict:
    """Pack already-tokenized `(doc_id, ids)` pairs in order; returns meta.json's content.

    Streams: only the current document and a batch of index rows are held in memory. The folder is
    written beside `out_dir` and renamed into place when complete, so a half-written pack never
    looks finished.
    """
    out_dir = Path(out_dir)
    if not 0 <= eos_id < vocab_size:
        raise ValueError(f"eos_id {eos_id} is outside the vocabulary (size {vocab_size})")
    dtype = np.dtype(np.uint16 if vocab_size <= 65_535 else np.uint32)
    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    eos = np.array([eos_id], dtype=dtype)
    shard, shard_len, total, rows = 0, 0, 0, []
    shard_file = open(tmp / shard_name(0), "wb")
    index = pq.ParquetWriter(tmp / "index.parquet", INDEX_SCHEMA)
    try:
        for doc_id, ids in docs:
            tokens = np.asarray(ids, dtype=np.int64)
            if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
                raise ValueError(f"document {doc_id!r} has token ids outside [0, {vocab_size})")
            if shard_len >= shard_tokens:
                shard_file.close()
                shard, shard_len = shard + 1, 0
                shard_file = open(tmp / shard_name(shard), "wb")
            shard_file.write(tokens.astype(dtype).tobytes())
            shard_file.write(eos.tobytes())
            rows.append((doc_id, shard, total, tokens.size + 1))
            shard_len += tokens.size + 1
            total += tokens.size + 1
            if len(rows) >= INDEX_BATCH:
                index.write_table(_index_table(rows))
                rows = []
        index.write_table(_index_table(rows))
    finally:
        shard_file.close()
        index.close()
    meta = {"dtype": dtype.name, "vocab_size": vocab_size, "eos_id": eos_id, "n_tokens": total,
            "shards": shard + 1}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(tmp, out_dir)
    return meta


def shard_name(shard: int) -> str:
    return f"tokens-{shard:05d}.bin"


def _index_table(rows: list[tuple[str, int, int, int]]) -> pa.Table:
    columns = list(zip(*rows)) if rows else [[], [], [], []]
    return pa.Table.from_arrays([pa.array(column, type=field.type) for column, field in zip(columns, INDEX_SCHEMA)],
                                schema=INDEX_SCHEMA)


class PackedTokens:
    """Read a packed folder: the token stream as one sequence, and the documents behind any span."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.meta = json.loads((self.path / "meta.json").read_text())
        self.vocab_size: int = self.meta["vocab_size"]
        self.eos_id: int = self.meta["eos_id"]
        self._shards = [np.memmap(self.path / shard_name(i), dtype=self.meta["dtype"], mode="r")
                        if (self.path / shard_name(i)).stat().st_size else np.zeros(0, self.meta["dtype"])
                        for i in range(self.meta["shards"])]
        self._offsets = np.cumsum([0] + [len(shard) for shard in self._shards])  # global start of each shard
        self._index: pa.Table | None = None  # doc_id and start, read on first use
        self._starts = np.zeros(0, np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def window(self, start: int, length: int) -> np.ndarray:
        """Tokens [start, start + length) as int64, across shard boundaries."""
        if start < 0 or start + length > len(self):
            raise IndexError(f"window [{start}, {start + length}) is outside the {len(self)} packed tokens")
        parts, end = [], start + length
        shard = int(np.searchsorted(self._offsets, start, side="right")) - 1
        while start < end:
            offset = self._offsets[shard]
            stop = min(end, self._offsets[shard + 1])
            parts.append(self._shards[shard][start - offset:stop - offset])
            start, shard = stop, shard + 1
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def documents_in(self, start: int, end: int) -> list[str]:
        """doc_ids of the document occurrences whose tokens overlap [start, end), in order."""
        if self._index is None:
            self._index = pq.read_table(self.path / "index.parquet", columns=["doc_id", "start"])
            self._starts = self._index.column("start").to_numpy()
        first = max(int(np.searchsorted(self._starts, start, side="right")) - 1, 0)
        last = int(np.searchsorted(self._starts, end, side="left"))
        return self._index.column("doc_id").slice(first, max(last - first, 0)).to_pylist()
