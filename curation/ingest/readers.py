"""Stream the records of a contributed dataset, whatever its format, without changing the files.

Every reader yields `Record`s and, for input it cannot use, `Malformed` items that say where and
why, so a broken line is counted and reported instead of aborting a run or vanishing.
"""
from __future__ import annotations

import csv
import glob
import gzip
import io
import json
import os
import socket
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from curation.core.errors import AgoraError

INPUT_FORMATS = ("jsonl", "parquet", "csv", "tsv", "text", "hf")
HUB_PREFIX = "hf://"
# If none of the first this-many records has a text field, the field name is wrong, not the data.
FIELD_PROBE_RECORDS = 100

_SUFFIX_FORMATS = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl",
    ".parquet": "parquet", ".csv": "csv", ".tsv": "tsv", ".txt": "text",
}
_COMPRESSION_SUFFIXES = (".gz", ".zst")


@dataclass(frozen=True)
class SourceSpec:
    """How to read one registered source: where it is and which fields hold what."""

    location: str
    format: str
    text_fields: tuple[str, ...] = ("text",)
    id_field: str | None = None
    columns: tuple[str, ...] | None = None

    @classmethod
    def of(cls, source: dict, text_fields: tuple[str, ...] | None = None) -> SourceSpec:
        """The spec of a registration or a catalog row (`sources`); `text_fields` reads other fields."""
        return cls(source["location"], source["format"], tuple(text_fields or source["text_fields"]),
                   source["id_field"], tuple(source["columns"]) if source["columns"] else None)


@dataclass
class Record:
    record_id: str
    text: str
    fields: dict = field(repr=False)
    file: str
    line: int | None  # 1-based line for text formats, 0-based row for Parquet / HF


@dataclass
class Malformed:
    file: str
    line: int | None
    problem: str

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


# ---------------------------------------------------------------- locating files and formats


def is_hub(location: str) -> bool:
    return location.startswith(HUB_PREFIX)


def resolve_files(location: str) -> tuple[Path, list[Path]]:
    """The base folder (record ids are relative to it) and the data files, sorted."""
    path = Path(location).expanduser()
    if glob.has_magic(location):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        base = Path(_glob_prefix(str(path)))
        if not files:
            raise AgoraError(f"no files match {location}")
        return base, files
    if path.is_file():
        return path.parent, [path]
    if path.is_dir():
        if _is_hf_folder(path):
            return path, [p for p in sorted(path.rglob("*")) if p.is_file()]
        files = sorted(p for p in path.rglob("*")
                       if p.is_file() and not _is_hidden(p, path) and p.name != "datacard.yaml")
        if not files:
            raise AgoraError(f"folder {location} holds no files")
        return path, files
    raise AgoraError(f"path not found: {location}")


def _glob_prefix(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return str(Path(*fixed)) if fixed else "."


def _is_hidden(path: Path, base: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def _is_hf_folder(path: Path) -> bool:
    # datasets.save_to_disk writes state.json (Dataset) or dataset_dict.json (DatasetDict).
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def detect_format(location: str) -> str:
    if is_hub(location):
        return "hf"
    path = Path(location).expanduser()
    if path.is_dir() and _is_hf_folder(path):
        return "hf"
    _, files = resolve_files(location)
    formats = {_format_of(f) for f in files}
    if len(formats) == 1 and None not in formats:
        return formats.pop()
    unknown = sorted({f.name for f in files if _format_of(f) is None})[:3]
    if unknown:
        raise AgoraError(
            f"unknown format for {', '.join(unknown)} in {location}: pass --format ({'|'.join(INPUT_FORMATS)})"
        )
    raise AgoraError(f"{location} mixes formats ({', '.join(sorted(formats))}): register each format separately")


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return _SUFFIX_FORMATS.get(Path(name).suffix)


# ---------------------------------------------------------------- reading records


def iter_records(spec: SourceSpec) -> Iterator[Record | Malformed]:
    """Every record of the source in a stable order, with malformed input reported in place."""
    if spec.format not in INPUT_FORMATS:
        raise AgoraError(f"unknown format {spec.format!r}; choose one of {', '.join(INPUT_FORMATS)}")
    if spec.format == "hf":
        rows = _hf_rows(spec.location)
        return _records_from_rows(spec, rows)
    base, files = resolve_files(spec.location)
    if spec.format == "text":
        return _text_files(base, files)
    row_reader = {"jsonl": _jsonl_rows, "parquet": _parquet_rows, "csv": _csv_rows, "tsv": _csv_rows}[spec.format]
    rows = (item for path in files for item in row_reader(path, relative_name(path, base), spec))
    return _records_from_rows(spec, rows)


def relative_name(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


def _records_from_rows(spec: SourceSpec, rows: Iterable) -> Iterator[Record | Malformed]:
    """Turn (file, line, row) into Records, checking the text and id fields on the way."""
    seen_text_field = False
    probed = 0
    for item in rows:
        if isinstance(item, Malformed):
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


def _open_binary(path: Path) -> io.BufferedIOBase:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def _jsonl_rows(path: Path, rel: str, spec: SourceSpec) -> Iterator:
    with _open_binary(path) as handle:
        for number, raw in enumerate(handle, start=1):
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


def _parquet_rows(path: Path, rel: str, spec: SourceSpec) -> Iterator:
    import pyarrow.parquet as pq

    row_number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            yield rel, row_number, row
            row_number += 1


def _csv_rows(path: Path, rel: str, spec: SourceSpec) -> Iterator:
    csv.field_size_limit(sys.maxsize)
    tsv = spec.format == "tsv"
    # TSV files in the wild are rarely quoted and often contain quote marks inside fields.
    dialect = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if tsv else {}
    text = io.TextIOWrapper(_open_binary(path), encoding="utf-8-sig", errors="surrogateescape", newline="")
    with text:
        reader = csv.reader(text, **dialect)
        header = list(spec.columns) if spec.columns else next(reader, None)
        if header is None:
            return
        while True:
            start = reader.line_num + 1
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
                yield Malformed(rel, start,
                                f"expected {len(header)} columns ({', '.join(header)}), found {len(values)}")
            else:
                yield rel, start, dict(zip(header, values))


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _text_files(base: Path, files: list[Path]) -> Iterator[Record | Malformed]:
    for path in files:
        rel = relative_name(path, base)
        try:
            text = _open_binary(path).read().decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Malformed(rel, None, f"invalid UTF-8 at byte {exc.start}")
            continue
        if not text.strip():
            yield Malformed(rel, None, "empty text")
            continue
        yield Record(rel, text.strip(), {"text": text}, rel, None)


def _hf_rows(location: str) -> Iterator:
    for split, dataset in _load_hf(location):
        for index, row in enumerate(dataset):
            yield split, index, row


def _load_hf(location: str) -> list[tuple[str, object]]:
    """(split, dataset) pairs from a save_to_disk folder or a hub dataset (hf://NAME[/CONFIG])."""
    if is_hub(location):
        _go_offline_unless_hub_reachable()
    import datasets

    if not is_hub(location):
        loaded = datasets.load_from_disk(location)
    else:
        name, _, config = location[len(HUB_PREFIX):].partition("/")
        try:
            loaded = datasets.load_dataset(name, config or None)
        except Exception as exc:  # datasets raises many types for "not cached, no network"
            raise AgoraError(
                f"cannot load {location} from the Hugging Face hub or the local cache: {str(exc).splitlines()[0]}"
            ) from None
    if isinstance(loaded, datasets.DatasetDict):
        return list(loaded.items())
    return [("data", loaded)]


def _go_offline_unless_hub_reachable() -> None:
    """Without network, datasets retries for half a minute; offline mode fails (or hits the cache) at once."""
    if "HF_HUB_OFFLINE" not in os.environ and not _hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        # The libraries read the variable once, at import: tell the already imported ones too.
        for module, attribute in (("huggingface_hub.constants", "HF_HUB_OFFLINE"),
                                  ("datasets.config", "HF_HUB_OFFLINE")):
            if module in sys.modules:
                setattr(sys.modules[module], attribute, True)


def _hub_reachable() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=2).close()
    except OSError:
        return False
    return True


def hub_fingerprint(location: str) -> str:
    return "hf:" + ",".join(f"{split}={dataset._fingerprint}" for split, dataset in _load_hf(location))
