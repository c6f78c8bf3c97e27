"""What a reader yields: usable `Record`s, `Malformed` input (counted and reported with its place) and
`Skipped` items (input that is not a document, such as a WARC request record: counted by reason).

Keeping the three apart is what lets registration say "nothing was lost": every item a reader sees
is either read, reported as broken, or counted as deliberately left out, each with where and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field

INPUT_FORMATS = ("jsonl", "parquet", "arrow", "csv", "tsv", "text", "html", "warc", "hf")


@dataclass(frozen=True)
class SourceSpec:
    """How to read one registered source: where it is, which files, and which fields hold what."""

    location: str
    format: str
    text_fields: tuple[str, ...] = ("text",)
    id_field: str | None = None
    columns: tuple[str, ...] | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: dict, text_fields: tuple[str, ...] | None = None) -> SourceSpec:
        """The spec of a registration or a catalog row (`sources`); `text_fields` reads other fields."""
        return cls(source["location"], source["format"], tuple(text_fields or source["text_fields"]),
                   source["id_field"], tuple(source["columns"]) if source["columns"] else None,
                   tuple(source.get("include") or ()), tuple(source.get("exclude") or ()))


@dataclass
class Record:
    record_id: str
    text: str
    fields: dict = field(repr=False)
    file: str
    line: int | None  # 1-based line for text formats, 0-based row for Parquet / Arrow / HF, byte offset for WARC
    meta: dict = field(default_factory=dict)  # per-record facts kept beside the text: split, config, url, fetched_at


@dataclass
class Malformed:
    file: str
    line: int | None
    problem: str

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file


@dataclass
class Skipped:
    """Input that is well-formed but holds no document (a WARC request, a page with no main text)."""

    file: str
    line: int | None
    reason: str
