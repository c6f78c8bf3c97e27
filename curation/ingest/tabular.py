"""Records from rows: JSONL, CSV/TSV (streams, so any compression or archive member), Parquet and Arrow
IPC (files, read a batch at a time), and one-document-per-file text. Every row reader yields
`(file, line, row)` tuples or `Malformed` items; `records_from_rows` turns rows into `Record`s."""
from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from curation.core.errors import AgoraError
from curation.ingest.records import Malformed, Record, SourceSpec

# If none of the first this-many records has a text field, the field name is wrong, not the data.
FIELD_PROBE_RECORDS = 100
BATCH_ROWS = 1024


def records_from_rows(spec: SourceSpec, rows: Iterable) -> Iterator[Record | Malformed]:
    """Turn (file, line, row) into Records, checking the text and id fields on the way."""
    seen_text_field = False
    probed = 0
    for item in rows:
        if not isinstance(item, tuple):
            yield item
            continue
        file, line, row = item
        probed += 1
        present = [f for f in spec.text_fields if f in row]
        if present:
            seen_text_field = True
        elif not seen_text_field and probed >= FIELD_PROBE_RECORDS:
            raise _missing_field_error(spec, file, row)
        yield _make_record(spec, file, line, row, present)
    if probed and not seen_text_field:
        raise _missing_field_error(spec, file, row)


def _missing_field_error(spec: SourceSpec, file: str, row: dict) -> AgoraError:
    wanted = ", ".join(repr(f) for f in spec.text_fields)
    return AgoraError(
        f"text field {wanted} not found in {file}; fields there: {', '.join(map(str, row)) or '(none)'} "
        f"(choose one with --text-field)"
    )


def _make_record(spec: SourceSpec, file: str, line: int | None, row: dict, present: list[str]) -> Record | Malformed:
    if not present:
        return Malformed(file, line, f"no text field ({', '.join(spec.text_fields)})")
    parts = [str(row[f]).strip() for f in present if row[f] is not None and str(row[f]).strip()]
    if not parts:
        return Malformed(file, line, "empty text")
    if spec.id_field:
        record_id = row.get(spec.id_field)
        if record_id is None or str(record_id) == "":
            return Malformed(file, line, f"no id field {spec.id_field!r}")
        record_id = str(record_id)
    else:
        record_id = f"{file}:{line}" if spec.format in ("jsonl", "csv", "tsv") else f"{file}#{line}"
    return Record(record_id, "\n\n".join(parts), row, file, line)


def jsonl_rows(stream: BinaryIO, rel: str, spec: SourceSpec, first_line: int = 1) -> Iterator:
    for number, raw in enumerate(stream, start=first_line):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield Malformed(rel, number, f"invalid UTF-8 at byte {exc.start}")
            continue
        except json.JSONDecodeError as exc:
            yield Malformed(rel, number, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(row, dict):
            yield Malformed(rel, number, f"expected a JSON object, found {type(row).__name__}")
            continue
        yield rel, number, row


def csv_rows(stream: BinaryIO, rel: str, spec: SourceSpec, first_line: int = 1,
             header: list[str] | None = None) -> Iterator:
    """Rows of a CSV/TSV stream; a shard that starts mid-file passes its first line's number and the
    file's header."""
    reader = _csv_reader(stream, spec)
    header = header or (list(spec.columns) if spec.columns else next(reader, None))
    if header is None:
        return
    while True:
        start = first_line + reader.line_num
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Malformed(rel, start, f"bad {spec.format.upper()} row: {exc}")
            continue
        if not any(v.strip() for v in values):
            continue
        if any(_has_surrogates(v) for v in values):
            yield Malformed(rel, start, "invalid UTF-8")
        elif len(values) != len(header):
            yield Malformed(rel, start, f"expected {len(header)} columns ({', '.join(header)}), found {len(values)}")
        else:
            yield rel, start, dict(zip(header, values))


def csv_header(stream: BinaryIO, spec: SourceSpec) -> list[str] | None:
    """The column names of a CSV/TSV file: the recipe's, else its first row."""
    return list(spec.columns) if spec.columns else next(_csv_reader(stream, spec), None)


def _csv_reader(stream: BinaryIO, spec: SourceSpec):
    csv.field_size_limit(sys.maxsize)
    # TSV files in the wild are rarely quoted and often contain quote marks inside fields.
    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if spec.format == "tsv" else {}
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return csv.reader(text, **dialect)


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def text_record(stream: BinaryIO, rel: str) -> Record | Malformed:
    """A whole file as one document (a document is small; a source of them is not read whole)."""
    try:
        text = stream.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        return Malformed(rel, None, f"invalid UTF-8 at byte {exc.start}")
    if not text.strip():
        return Malformed(rel, None, "empty text")
    return Record(rel, text.strip(), {"text": text}, rel, None)


def parquet_rows(path: Path, rel: str, spec: SourceSpec, groups: range | None = None) -> Iterator:
    """Rows of a Parquet file, or of the row groups `groups` (a shard), numbered from the file's first row."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    groups = groups if groups is not None else range(file.num_row_groups)
    first = sum(file.metadata.row_group(g).num_rows for g in range(groups.start))
    yield from _numbered(rel, file.iter_batches(batch_size=BATCH_ROWS, row_groups=list(groups)), first)


def arrow_rows(path: Path, rel: str, spec: SourceSpec) -> Iterator:
    """Arrow IPC, file or stream flavour (`datasets` writes streams), memory-mapped: not read into memory."""
    import pyarrow as pa

    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_file(source)
        batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        source.seek(0)
        batches = pa.ipc.open_stream(source)
    yield from _numbered(rel, _sliced(batches))


def _sliced(batches: Iterable) -> Iterator:
    """Record batches cut to at most BATCH_ROWS rows, so a huge batch never becomes one Python list."""
    for batch in batches:
        for start in range(0, batch.num_rows, BATCH_ROWS):
            yield batch.slice(start, BATCH_ROWS)


def _numbered(rel: str, batches: Iterable, row_number: int = 0) -> Iterator:
    for batch in batches:
        for row in batch.to_pylist():
            yield rel, row_number, row
            row_number += 1
