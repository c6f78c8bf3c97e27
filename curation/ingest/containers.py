"""Compressed files and archives, read in place as streams: nothing is unpacked to disk and no file
is held in memory whole, so a 50 GB `.tar.gz` of JSONL costs what reading it once costs.

A broken container (a truncated `.gz`, a corrupt zip member) raises one of `CONTAINER_ERRORS`
while it is read; readers turn that into a malformed item naming the file and the position.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import zstandard

COMPRESSION_SUFFIXES = (".gz", ".bz2", ".xz", ".zst")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")

# What a truncated or corrupt container raises part-way through reading (OSError covers
# gzip.BadGzipFile and bz2's "Invalid data stream").
CONTAINER_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, tarfile.TarError,
                    zstandard.ZstdError)


def error_line(exc: Exception) -> str:
    """An exception as the one line a malformed item reports."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


def compression_of(name: str) -> str | None:
    """The compression suffix of a file name (`.gz`, …), or None."""
    lower = name.lower()
    return next((suffix for suffix in COMPRESSION_SUFFIXES if lower.endswith(suffix)), None)


def strip_compression(name: str) -> str:
    suffix = compression_of(name)
    return name[: -len(suffix)] if suffix else name


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def decompress(raw: BinaryIO, name: str) -> BinaryIO:
    """`raw` decompressed as its name says (a plain stream is returned as it is)."""
    suffix = compression_of(name)
    if suffix == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if suffix == ".bz2":
        return bz2.BZ2File(raw, "rb")
    if suffix == ".xz":
        return lzma.LZMAFile(raw, "rb")
    if suffix == ".zst":
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return raw


def open_binary(path: Path) -> BinaryIO:
    """A file's bytes, decompressed by its suffix."""
    return decompress(open(path, "rb"), path.name)


def open_range(path: Path, start: int, end: int) -> BinaryIO:
    """Bytes `start` to `end` of an uncompressed file, as a stream that ends there (a shard of it)."""
    raw = open(path, "rb")
    raw.seek(start)
    return io.BufferedReader(_Range(raw, end - start))


class _Range(io.RawIOBase):
    def __init__(self, raw: BinaryIO, length: int):
        self.raw, self.left = raw, length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            return 0
        n = self.raw.readinto(memoryview(buffer)[: self.left])
        self.left -= n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def archive_members(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """(member name, decompressed stream) for each regular file, in archive order. Each stream must be
    read before the next member is asked for: a tar is one forward pass over its (compressed) bytes."""
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    with archive.open(info) as member:
                        yield info.filename, decompress(member, info.filename)
        return
    with tarfile.open(path, mode="r|*") as archive:
        for info in archive:
            if info.isfile():
                yield info.name, decompress(archive.extractfile(info), info.name)


def archive_names(path: Path) -> list[str]:
    """The regular files in an archive, in order (a zip's directory; a tar's headers, read as a stream)."""
    if path.name.lower().endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()]
    with tarfile.open(path, mode="r|*") as archive:
        return [info.name for info in archive if info.isfile()]
