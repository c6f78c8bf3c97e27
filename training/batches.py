"""Where each training step's tokens come from, and a record of it.

A batch source is two pure functions: `positions(step, micro_step, rank)` says what a micro-batch is
made of (window starts in a packed stream, or example indices), and `batch(positions)` builds the
tensors. Positions depend only on the seed and the step, so a resumed run sees the same batches as
an uninterrupted one, and rank 0 can record every rank's windows without asking them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from training.packing import PackedTokens

WINDOW_SCHEMA = pa.schema([("step", pa.int64()), ("micro_step", pa.int32()), ("rank", pa.int32()),
                           ("start", pa.int64())])
IGNORE = -100  # target id that the loss skips (cross_entropy's ignore_index, Hugging Face's label convention)


class BatchSource(Protocol):
    vocab_size: int

    def positions(self, step: int, micro_step: int, rank: int) -> np.ndarray:
        """int64 ids of the micro-batch's rows: what `batch` is built from and what the run records."""

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs, targets), both [rows, length] int64; targets are IGNORE where nothing is learned."""


class PackedBatches:
    """Random windows of `seq_len + 1` tokens from a packed stream, as nanoGPT samples them."""

    def __init__(self, tokens: PackedTokens, seq_len: int, micro_batch: int, seed: int):
        if len(tokens) < seq_len + 1:
            raise ValueError(f"{tokens.path} holds {len(tokens)} tokens, too few for windows of {seq_len + 1}")
        self.tokens, self.seq_len, self.micro_batch, self.seed = tokens, seq_len, micro_batch, seed
        self.vocab_size = tokens.vocab_size

    def positions(self, step: int, micro_step: int, rank: int) -> np.ndarray:
        """Window starts, drawn uniformly from a generator seeded by (seed, step, micro_step, rank)."""
        rng = np.random.default_rng([self.seed, step, micro_step, rank])
        return rng.integers(0, len(self.tokens) - self.seq_len, self.micro_batch, dtype=np.int64)

    def batch(self, positions: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        windows = torch.from_numpy(np.stack([self.tokens.window(int(s), self.seq_len + 1) for s in positions]))
        return windows[:, :-1], windows[:, 1:]


def write_windows(path: Path, rows: list[tuple[int, int, int, np.ndarray]]) -> None:
    """Write `(step, micro_step, rank, positions)` rows as a Parquet file, one row per sequence."""
    step, micro, rank, start = ([] for _ in range(4))
    for s, m, r, positions in rows:
        step += [s] * len(positions)
        micro += [m] * len(positions)
        rank += [r] * len(positions)
        start += positions.tolist()
    table = pa.Table.from_arrays([pa.array(column, field.type) for column, field in
                                  zip((step, micro, rank, start), WINDOW_SCHEMA)], schema=WINDOW_SCHEMA)
    tmp = path.with_name(f".{path.name}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, tmp)
    tmp.replace(path)


def read_windows(run_dir: str | Path) -> pa.Table:
    """Every sequence a run trained on: step, micro_step, rank, start (a window's first token, or an
    instruct example's index), in step order."""
    files = sorted((Path(run_dir) / "windows").glob("*.parquet"))
    return pa.concat_tables([pq.read_table(file) for file in files]) if files else WINDOW_SCHEMA.empty_table()
