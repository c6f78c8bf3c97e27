"""Stage 1's input cut into shards, so that across all tasks every record is read exactly once.

A shard is a whole file, a range of a Parquet file's row groups, or a newline-aligned byte range of
an uncompressed JSONL / CSV / TSV file. Compressed files, archives, WARC and Hugging Face folders
cannot be entered in the middle and are one shard each. Shards are cut to about the input's size
divided by the number of tasks, then given to tasks in order, so the plan depends only on the files
and the task count: a killed run resumes with the same plan and redoes only unfinished tasks.

Record ids of the line formats are `file:line`, so a byte range must know the line it starts on.
The planner learns it by counting newlines once (a byte scan at memory speed, no parsing); in CSV a
newline inside a quoted field is not a record boundary, which an odd count of `"` before it shows.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from curation.ingest.containers import compression_of, is_archive
from curation.ingest.files import relative_name, select_files
from curation.ingest.records import SourceSpec

SPLITTABLE = ("jsonl", "csv", "tsv")
TASK_BYTES = 64 << 20  # the default task count gives each task about this much input
SCAN_CHUNK = 16 << 20


@dataclass(frozen=True)
class Shard:
    """One piece of one source. `path` None is the whole source (a Hugging Face folder)."""

    source: int  # index of the source in stage 1's list
    path: str | None = None
    rel: str | None = None  # the file's name in record ids
    start: int = 0  # first byte (line formats) or first row group (Parquet)
    end: int | None = None  # byte or row group after the last; None: to the end of the file
    first_line: int = 1  # line number at `start` (line formats)

    @classmethod
    def of(cls, data: dict) -> Shard:
        return cls(**data)

    def as_dict(self) -> dict:
        return asdict(self)


def default_tasks(input_bytes: int, workers: int) -> int:
    """Enough tasks that each reads about TASK_BYTES, and at least one per worker."""
    return max(workers, math.ceil(input_bytes / TASK_BYTES))


def input_bytes(specs: list[SourceSpec]) -> int:
    return sum(size for spec in specs for _, _, size in _files(spec))


def plan(specs: list[SourceSpec], n_tasks: int) -> list[list[Shard]]:
    """The shards of each task, `n_tasks` lists (some may be empty when the input has fewer pieces)."""
    files = [(index, path, rel, size) for index, spec in enumerate(specs) for path, rel, size in _files(spec)]
    total = sum(size for *_, size in files)
    piece = max(total / n_tasks, 1)
    units = [unit for index, path, rel, size in files
             for unit in _cut(specs[index], index, path, rel, size, piece)]
    tasks: list[list[Shard]] = [[] for _ in range(n_tasks)]
    done = 0
    for shard, size in units:
        tasks[min(int((done + size / 2) / max(total, 1) * n_tasks), n_tasks - 1)].append(shard)
        done += size
    return tasks


def _files(spec: SourceSpec) -> Iterator[tuple[Path | None, str | None, int]]:
    if spec.format == "hf":
        yield None, None, _folder_bytes(Path(spec.location))
        return
    selection = select_files(spec.location, spec.format, spec.include, spec.exclude)
    for path in selection.files:
        yield path, relative_name(path, selection.base), path.stat().st_size


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def _cut(spec: SourceSpec, index: int, path: Path | None, rel: str | None, size: int,
         piece: float) -> Iterator[tuple[Shard, int]]:
    """(shard, bytes) for one file: whole, or in pieces of about `piece` bytes where it can be entered."""
    whole = Shard(index, str(path) if path else None, rel)
    pieces = math.ceil(size / piece)
    if path is None or pieces < 2 or compression_of(path.name) or is_archive(path.name):
        yield whole, size
    elif spec.format in SPLITTABLE:
        yield from _byte_ranges(index, path, rel, size, pieces, quoted=spec.format == "csv")
    elif spec.format == "parquet":
        yield from _row_group_ranges(index, path, rel, piece)
    else:
        yield whole, size


def _byte_ranges(index: int, path: Path, rel: str, size: int, pieces: int,
                 quoted: bool) -> Iterator[tuple[Shard, int]]:
    cuts = [(0, 1), *_line_starts(path, [size * k // pieces for k in range(1, pieces)], quoted), (size, 0)]
    for (start, line), (end, _) in zip(cuts, cuts[1:]):
        if end > start:
            yield Shard(index, str(path), rel, start, end, line), end - start


def _line_starts(path: Path, targets: list[int], quoted: bool) -> Iterator[tuple[int, int]]:
    """For each target byte, the first record start at or after it, with its line number: (byte, line).
    One pass over the file counting newlines (and quote marks, for CSV)."""
    pending = iter(targets)
    target = next(pending, None)
    newlines = quotes = 0
    offset = 0
    with open(path, "rb") as stream:
        while target is not None and (chunk := stream.read(SCAN_CHUNK)):
            scanned = 0  # newlines and quotes of chunk[:scanned] are counted
            while target is not None:
                found = chunk.find(b"\n", max(target - offset, scanned))
                if found < 0:
                    break
                newlines += chunk.count(b"\n", scanned, found + 1)
                quotes += chunk.count(b'"', scanned, found + 1) if quoted else 0
                scanned = found + 1
                if quotes % 2:  # inside a quoted field: try the next newline
                    target = offset + scanned
                    continue
                yield offset + scanned, newlines + 1
                while target is not None and target <= offset + scanned:
                    target = next(pending, None)
            newlines += chunk.count(b"\n", scanned)
            quotes += chunk.count(b'"', scanned) if quoted else 0
            offset += len(chunk)


def _row_group_ranges(index: int, path: Path, rel: str, piece: float) -> Iterator[tuple[Shard, int]]:
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    start, size = 0, 0
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        size += sum(row_group.column(c).total_compressed_size for c in range(row_group.num_columns))
        if size >= piece or group == meta.num_row_groups - 1:
            yield Shard(index, str(path), rel, start, group + 1), size
            start, size = group + 1, 0
