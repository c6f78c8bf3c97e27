"""Which files of a contributed folder, glob or archive are data, and in which format.

Contributions come as they are shipped: a dataset repository with a README, a LICENSE and
`.gitattributes` beside the data, a ground-truth TSV beside JSONL shards. Documentation and
repository files are never read as records; `--format` reads only files of that format;
`--include/--exclude` pick files by glob. The same rules apply to the members of an archive, so a
source reads the same records at registration and in every curation run.
"""
from __future__ import annotations

import glob
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from curation.core.errors import AgoraError
from curation.ingest.containers import archive_names, compression_of, is_archive, strip_compression
from curation.ingest.records import INPUT_FORMATS

HUB_PREFIX = "hf://"
_SUFFIX_FORMATS = {
    ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".arrow": "arrow",
    ".feather": "arrow", ".ipc": "arrow", ".csv": "csv", ".tsv": "tsv", ".txt": "text", ".html": "html",
    ".htm": "html", ".warc": "warc",
}
# Formats read from a stream (so from any compression and from inside archives); Parquet and Arrow
# need random access, and warcio reads WARC plain or gzipped only.
STREAMED_FORMATS = ("jsonl", "csv", "tsv", "text", "html")
# Repository and documentation files, by name: never records, unless the name is also that of a
# structured data file (`sources.jsonl` is data; `LICENSE-CC-BY-4.0.txt` and `SOURCE.md` are not).
DOC_PATTERNS = ("readme*", "license*", "licence*", "*.md", "source*", "datacard.yaml", "datacard.yml")
STRUCTURED_FORMATS = ("jsonl", "parquet", "arrow", "csv", "tsv", "warc")


@dataclass
class Selection:
    """The data files of a location (sorted; record ids are relative to `base`) and what was left out."""

    base: Path
    files: list[Path]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative name, why)


def is_hub(location: str) -> bool:
    return location.startswith(HUB_PREFIX)


def is_hf_folder(path: Path) -> bool:
    """A `datasets.save_to_disk` folder: state.json (Dataset) or dataset_dict.json (DatasetDict)."""
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def relative_name(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.name


def format_of(name: str) -> str | None:
    """The input format a file name says (`news.jsonl.gz` → jsonl), None if it says none we read."""
    compression = compression_of(name)
    fmt = _SUFFIX_FORMATS.get(Path(strip_compression(name).lower()).suffix)
    if compression and fmt not in STREAMED_FORMATS and not (fmt == "warc" and compression == ".gz"):
        return None
    return fmt


def skip_reason(rel: str, fmt: str | None, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> str | None:
    """Why a file (or archive member) at this relative path is not read, or None when it is data."""
    parts = rel.split("/")
    name = parts[-1].lower()
    if any(part.startswith(".") for part in parts) or (
            any(fnmatchcase(name, p) for p in DOC_PATTERNS) and format_of(name) not in STRUCTURED_FORMATS):
        return "documentation"
    include, exclude = list(include), list(exclude)
    if include and not any(_matches(rel, p) for p in include):
        return "not in --include"
    if any(_matches(rel, p) for p in exclude):
        return "--exclude"
    if fmt and fmt != "hf" and not is_archive(rel) and format_of(rel) != fmt:
        return f"not {fmt}"
    return None


def _matches(rel: str, pattern: str) -> bool:
    """A pattern with a `/` matches the relative path, one without matches the file name (as .gitignore)."""
    return fnmatchcase(rel, pattern) if "/" in pattern else fnmatchcase(rel.rsplit("/", 1)[-1], pattern)


def select_files(location: str, fmt: str | None = None, include: Iterable[str] = (),
                 exclude: Iterable[str] = ()) -> Selection:
    """The data files at a file, folder or glob. A file named on its own is always read."""
    path = Path(location).expanduser()
    if glob.has_magic(location):
        base = Path(_glob_prefix(str(path)))
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise AgoraError(f"no files match {location}")
    elif path.is_file():
        return Selection(path.parent, [path])
    elif path.is_dir():
        base, found = path, sorted(p for p in path.rglob("*") if p.is_file())
        if fmt == "hf" or (fmt is None and is_hf_folder(path)):
            return Selection(base, found)
    else:
        raise AgoraError(f"path not found: {location}")
    selection = Selection(base, [])
    for file in found:
        why = skip_reason(relative_name(file, base), fmt, include, exclude)
        if why:
            selection.skipped.append((relative_name(file, base), why))
        else:
            selection.files.append(file)
    if not selection.files:
        left_out = f" ({skipped_note(selection.skipped)})" if selection.skipped else ""
        raise AgoraError(f"no {fmt + ' ' if fmt else ''}data files in {location}{left_out}")
    return selection


def _glob_prefix(pattern: str) -> str:
    parts = Path(pattern).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))]]
    return str(Path(*fixed)) if fixed else "."


def archive_skips(selection: Selection, fmt: str | None, include: Iterable[str] = (),
                  exclude: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(member path, why) for the archive members the readers will leave out."""
    return [(name, why) for name in _archive_members(selection) if (why := skip_reason(name, fmt, include, exclude))]


def _archive_members(selection: Selection) -> Iterator[str]:
    """`archive/member` paths of every archive in the selection (names only: nothing is unpacked)."""
    for file in selection.files:
        if is_archive(file.name):
            rel = relative_name(file, selection.base)
            yield from (f"{rel}/{name}" for name in archive_names(file))


def skipped_note(skipped: list[tuple[str, str]], shown: int = 5) -> str:
    """One line: the left-out files grouped by why ("skipped 2 file(s): README.md, LICENSE (documentation)")."""
    groups: dict[str, list[str]] = {}
    for name, why in skipped:
        groups.setdefault(why, []).append(name)
    parts = [", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
             + f" ({why})" for why, names in groups.items()]
    return f"skipped {len(skipped)} file(s): " + "; ".join(parts)


def detect_format(location: str, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> str:
    """The one format of a location's data files (archive members included), or a clear error."""
    if is_hub(location):
        return "hf"
    path = Path(location).expanduser()
    if path.is_dir() and is_hf_folder(path):
        return "hf"
    selection = select_files(location, None, include, exclude)
    names = [relative_name(f, selection.base) for f in selection.files if not is_archive(f.name)]
    names += [name for name in _archive_members(selection) if not skip_reason(name, None, include, exclude)]
    formats = {format_of(name) for name in names}
    if len(formats) == 1 and None not in formats:
        return formats.pop()
    unknown = sorted({Path(n).name for n in names if format_of(n) is None})[:3]
    if unknown:
        raise AgoraError(
            f"unknown format for {', '.join(unknown)} in {location}: pass --format ({'|'.join(INPUT_FORMATS)})"
        )
    if not formats:
        raise AgoraError(f"no data files in {location}")
    listed = ", ".join(sorted(formats))
    raise AgoraError(f"{location} mixes formats ({listed}): pass --format to read one of them "
                     f"(or --include/--exclude to pick files)")

