"""Stream the records of a contributed dataset, whatever its format, without changing the files.

Every reader yields `Record`s, `Malformed` items that say where and why input could not be used,
and `Skipped` items for input that is not a document, so a broken line is counted and reported
instead of aborting a run or vanishing. Which files are read is decided in `files.py`, how
containers open in `containers.py`, rows in `tabular.py`, web pages and WARC in `web.py`, and
Hugging Face datasets in `hf.py`; this module puts them together.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from curation.core.errors import AgoraError
from curation.ingest.containers import (
    CONTAINER_ERRORS,
    archive_members,
    error_line,
    is_archive,
    open_binary,
    open_range,
)
from curation.ingest.files import Selection, relative_name, select_files, skip_reason
from curation.ingest.hf import NO_SPLIT, hf_rows, repo_card
from curation.ingest.records import INPUT_FORMATS, Malformed, Record, Skipped, SourceSpec
from curation.ingest.shards import Shard
from curation.ingest.tabular import (
    arrow_rows,
    csv_header,
    csv_rows,
    jsonl_rows,
    parquet_rows,
    records_from_rows,
    text_record,
)
from curation.ingest.web import html_item, warc_items

Item = Record | Malformed | Skipped
_ROW_READERS = {"jsonl": jsonl_rows, "csv": csv_rows, "tsv": csv_rows}


def select(spec: SourceSpec) -> Selection:
    """The data files this source reads."""
    return select_files(spec.location, spec.format, spec.include, spec.exclude)


def iter_records(spec: SourceSpec, shards: Iterable[Shard] | None = None) -> Iterator[Item]:
    """Every record of the source in a stable order, with malformed and skipped input reported in place;
    with `shards`, only the records in those pieces of it (a stage-1 task's share, see shards.py).
    Records of a dataset repository (README.md with a YAML header) carry their split and config."""
    if spec.format not in INPUT_FORMATS:
        raise AgoraError(f"unknown format {spec.format!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if spec.format == "hf":
        records = records_from_rows(spec, hf_rows(spec.location))
        return (_with_meta(r, {"split": r.file} if r.file != NO_SPLIT else {}) for r in records)
    items = records_from_rows(spec, _items(spec, _whole_files(spec) if shards is None else shards))
    card = repo_card(spec.location)
    return (_with_meta(item, card.split_of(item.file)) for item in items) if card else items


def _whole_files(spec: SourceSpec) -> Iterator[Shard]:
    selection = select(spec)
    for path in selection.files:
        yield Shard(0, str(path), relative_name(path, selection.base))


def _with_meta(item: Item, meta: dict) -> Item:
    if isinstance(item, Record):
        item.meta = {**meta, **item.meta}
    return item


def _items(spec: SourceSpec, shards: Iterable[Shard]) -> Iterator:
    """Items, and rows as (file, line, row) for the row formats, shard after shard."""
    for shard in shards:
        path, rel = Path(shard.path), shard.rel
        if spec.format == "warc":
            yield from warc_items(path, rel)
        elif spec.format == "parquet":
            _refuse_archive(spec, path, rel)
            groups = range(shard.start, shard.end) if shard.end is not None else None
            yield from parquet_rows(path, rel, spec, groups)
        elif spec.format == "arrow":
            _refuse_archive(spec, path, rel)
            yield from arrow_rows(path, rel, spec)
        elif is_archive(path.name):
            yield from _archive(spec, path, rel)
        elif shard.end is not None:
            yield from _byte_range(spec, shard)
        else:
            with open_binary(path) as stream:
                yield from _entry(spec, rel, stream)


def _refuse_archive(spec: SourceSpec, path: Path, rel: str) -> None:
    if is_archive(path.name):
        raise AgoraError(f"{spec.format} files are not read from inside archives ({rel}): "
                         "they need random access; unpack it")


def _byte_range(spec: SourceSpec, shard: Shard) -> Iterator:
    """The rows of a newline-aligned byte range of an uncompressed JSONL/CSV/TSV file."""
    path = Path(shard.path)
    with open_range(path, shard.start, shard.end) as stream:
        if spec.format == "jsonl":
            yield from jsonl_rows(stream, shard.rel, spec, shard.first_line)
            return
        header = None
        if shard.start:
            with open_binary(path) as head:
                header = csv_header(head, spec)
        yield from csv_rows(stream, shard.rel, spec, shard.first_line, header)


def _archive(spec: SourceSpec, path: Path, rel: str) -> Iterator:
    """The members of an archive that the source's rules select, each read as a file of its own."""
    members = archive_members(path)
    while True:
        try:
            name, stream = next(members)
        except StopIteration:
            return
        except CONTAINER_ERRORS as exc:
            yield Malformed(rel, None, f"archive unreadable from here on: {error_line(exc)}")
            return
        member = f"{rel}/{name}"
        if not skip_reason(member, spec.format, spec.include, spec.exclude):
            yield from _entry(spec, member, stream)


def _entry(spec: SourceSpec, rel: str, stream: BinaryIO) -> Iterator:
    """One file's rows or items. A file that breaks off (truncated or corrupt compression) gives one
    malformed item where it broke; what was read before it stays, and the next file is read as usual."""
    line = 0
    try:
        if spec.format in _ROW_READERS:
            for item in _ROW_READERS[spec.format](stream, rel, spec):
                line = item[1] if isinstance(item, tuple) else item.line
                yield item
        elif spec.format == "text":
            yield text_record(stream, rel)
        else:
            yield html_item(stream.read(), rel, None, rel)
    except CONTAINER_ERRORS as exc:
        if spec.format in _ROW_READERS:
            yield Malformed(rel, line + 1, f"file breaks off after line {line}: {error_line(exc)}")
        else:
            yield Malformed(rel, None, f"file breaks off: {error_line(exc)}")
