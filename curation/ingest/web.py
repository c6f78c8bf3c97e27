"""Web pages and WARC archives: the main text of each HTML page becomes a record that keeps its URL
and fetch date.

What is not a page is counted, not lost: a WARC request, metadata or non-HTML record and a page
with no main text are `Skipped` with the reason; a page whose bytes cannot be decoded and a WARC
record whose header is broken are `Malformed` with the file and byte position. After a broken
record the reader finds the next record start (the next gzip member of a `.warc.gz`, the next
`WARC/1.` line of a plain `.warc`) and goes on, so one bad record costs one record.
"""
from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

import charset_normalizer
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeadersParserException

from curation.ingest.containers import CONTAINER_ERRORS, error_line
from curation.ingest.records import Malformed, Record, Skipped
from curation.text.extract import canonical_url, main_text

HTML_TYPES = ("text/html", "application/xhtml+xml")
PAGE_RECORDS = ("response", "resource")  # WARC record types that carry a fetched page
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
PRESCAN_BYTES = 4096
RESYNC_CHUNK = 1 << 20
_WARC_ERRORS = (ArchiveLoadFailed, StatusAndHeadersParserException, *CONTAINER_ERRORS)


class UndecodableHTML(ValueError):
    """The page's bytes are in no encoding Agora can name."""


def decode_html(data: bytes, declared: str | None = None) -> str:
    """The page as text: its byte-order mark, else the declared charset (HTTP header, then `<meta>`),
    else UTF-8, else the best guess of charset-normalizer; `UndecodableHTML` when all fail."""
    meta = _META_CHARSET.search(data[:PRESCAN_BYTES])
    named = [name for name in (declared, meta.group(1).decode("ascii") if meta else None) if name]
    bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
    for codec in (bom, *map(_known_codec, named)):
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    guess = charset_normalizer.from_bytes(data).best()
    if guess is not None:
        return str(guess)
    unknown = [name for name in named if not _known_codec(name)]
    said = f"declares unknown encoding {unknown[0]!r} and " if unknown else "no encoding fits: "
    raise UndecodableHTML(f"{said}is not UTF-8 (first bad byte at {first_bad})")


def _known_codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def html_item(data: bytes, rel: str, line: int | None, record_id: str, declared: str | None = None,
              meta: dict | None = None) -> Record | Malformed | Skipped:
    """One page: its main text as a record, or why not. The record keeps `meta` (a WARC record's URL
    and date), else the URL the page gives for itself."""
    try:
        html = decode_html(data, declared)
    except UndecodableHTML as exc:
        return Malformed(rel, line, f"HTML {exc}")
    text = main_text(html)
    if not text:
        return Skipped(rel, line, "no main text")
    url = canonical_url(html)
    return Record(record_id, text, {"text": text}, rel, line, meta or ({"url": url} if url else {}))


def warc_items(path: Path, rel: str) -> Iterator[Record | Malformed | Skipped]:
    """Every record of a `.warc` or `.warc.gz`; record ids are `file@offset` (the record's byte offset)."""
    gzipped = path.name.lower().endswith(".gz")
    with open(path, "rb") as raw:
        start = 0
        while start is not None:
            raw.seek(start)
            records = ArchiveIterator(raw)
            try:
                for record in records:
                    yield _warc_item(record, records, rel)
                return
            except _WARC_ERRORS as exc:
                broken = records.offset
                yield Malformed(rel, broken, f"broken WARC record at byte {broken}: {error_line(exc)}")
                start = _next_record_start(raw, broken + 1, gzipped)


def _warc_item(record, records, rel: str) -> Record | Malformed | Skipped:
    if not record.rec_type:
        offset = records.get_record_offset()
        return Malformed(rel, offset, f"broken WARC record at byte {offset}: no WARC-Type header")
    if record.rec_type not in PAGE_RECORDS:
        return Skipped(rel, records.get_record_offset(), f"WARC {record.rec_type} record")
    status = record.http_headers.get_statuscode() if record.http_headers else None
    if status and not status.startswith("2"):
        return Skipped(rel, records.get_record_offset(), f"HTTP status {status}")
    content_type = (record.http_headers.get_header("Content-Type") if record.http_headers
                    else record.rec_headers.get_header("Content-Type")) or ""
    mime = (record.rec_headers.get_header("WARC-Identified-Payload-Type") or content_type).split(";")[0].strip()
    if mime.lower() not in HTML_TYPES:
        return Skipped(rel, records.get_record_offset(), f"non-HTML payload ({mime.lower() or 'no type'})")
    data = record.content_stream().read()
    offset = records.get_record_offset()
    charset = _HEADER_CHARSET.search(content_type)
    headers = record.rec_headers
    meta = {"url": headers.get_header("WARC-Target-URI"), "fetched_at": headers.get_header("WARC-Date")}
    return html_item(data, rel, offset, f"{rel}@{offset}", charset.group(1) if charset else None, meta)


def _next_record_start(raw, position: int, gzipped: bool) -> int | None:
    """The byte offset of the next gzip member (`.warc.gz`) or `WARC/1.` line (`.warc`) from `position`."""
    marker = b"\x1f\x8b\x08" if gzipped else b"\nWARC/1."
    skip = 0 if gzipped else 1  # a WARC line starts after the newline
    raw.seek(position)
    carried = b""
    chunk_start = position
    while chunk := raw.read(RESYNC_CHUNK):
        window = carried + chunk
        found = window.find(marker)
        if found >= 0:
            return chunk_start - len(carried) + found + skip
        carried = window[-(len(marker) - 1):]
        chunk_start += len(chunk)
    return None
