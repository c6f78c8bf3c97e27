"""Stream the records of a contributed dataset, whatever its format, without changing the files.

Every reader yields `Record`s, `Malformed` items that say where and why input could not be used,
and `Skipped` items for input that is not a document, so a broken line is counted and reported
instead of aborting a run or vanishing. Which files are read is decided in `files.py`, how
containers open in `containers.py`, rows in `tabular.py`, web pages and WARC in `web.py`, and
Hugging Face datasets in `hf.py`; this module puts them together.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from curation.core.errors import AgoraError
from curation.ingest.containers import CONTAINER_ERRORS, archive_members, error_line, is_archive, open_binary
from curation.ingest.files import STREAMED_FORMATS, Selection, relative_name, select_files, skip_reason
from curation.ingest.hf import NO_SPLIT, hf_rows, repo_card
from curation.ingest.records import INPUT_FORMATS, Malformed, Pending, Record, Skipped, SourceSpec
from curation.ingest.tabular import arrow_rows, csv_rows, jsonl_rows, parquet_rows, records_from_rows, text_record
from curation.ingest.web import html_item, warc_items

Item = Record | Malformed | Skipped
_ROW_READERS = {"jsonl": jsonl_rows, "csv": csv_rows, "tsv": csv_rows}
_FILE_ROW_READERS = {"parquet": parquet_rows, "arrow": arrow_rows}


def select(spec: SourceSpec) -> Selection:
    """The data files this source reads."""
    return select_files(spec.location, spec.format, spec.include, spec.exclude)


def iter_records(spec: SourceSpec, rank: int = 0, world_size: int = 1) -> Iterator[Item]:
    """Every record of the source in a stable order, with malformed and skipped input reported in place;
    with `world_size` > 1, only every `world_size`-th item from `rank` on (a stage-1 task's share).
    Records of a dataset repository (README.md with a YAML header) carry their split and config."""
    if spec.format not in INPUT_FORMATS:
        raise AgoraError(f"unknown format {spec.format!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if spec.format == "hf":
        records = _share(records_from_rows(spec, hf_rows(spec.location)), rank, world_size)
        return (_with_meta(r, {"split": r.file} if r.file != NO_SPLIT else {}) for r in records)
    items = _share(records_from_rows(spec, _items(spec, select(spec))), rank, world_size)
    card = repo_card(spec.location)
    return (_with_meta(item, card.split_of(item.file)) for item in items) if card else items


def _share(items: Iterator, rank: int, world_size: int) -> Iterator[Item]:
    """The items of one task, counted over all items; a pending page is extracted only in its task."""
    for index, item in enumerate(items):
        if index % world_size == rank:
            yield item.resolve() if isinstance(item, Pending) else item


def _with_meta(item: Item, meta: dict) -> Item:
    if isinstance(item, Record):
        item.meta = {**meta, **item.meta}
    return item


def _items(spec: SourceSpec, selection: Selection) -> Iterator:
    """Items, and rows as (file, line, row) for the row formats, file after file."""
    for path in selection.files:
        rel = relative_name(path, selection.base)
        if spec.format == "warc":
            yield from warc_items(path, rel)
        elif spec.format not in STREAMED_FORMATS:
            if is_archive(path.name):
                raise AgoraError(f"{spec.format} files are not read from inside archives ({rel}): "
                                 "they need random access; unpack it")
            yield from _FILE_ROW_READERS[spec.format](path, rel, spec)
        elif is_archive(path.name):
            yield from _archive(spec, path, rel)
        else:
            with open_binary(path) as stream:
                yield from _entry(spec, rel, stream)


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
