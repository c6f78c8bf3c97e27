"""Stable identities: documents, runs and mixtures get ids from what they are, never from run order or chance."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime


def doc_id(source: str, version: int, record_id: str) -> str:
    """16 hex characters of blake2b over (source, version, record key); never run order or chance."""
    key = f"{source}\x1f{version}\x1f{record_id}".encode()
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def content_key(value, length: int = 12) -> str:
    """A short sha1 of a JSON-able value (sorted keys): ids of runs and mixtures come from their inputs."""
    return hashlib.sha1(json.dumps(value, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:length]


def utc_now() -> datetime:
    """The catalog stores naive UTC timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)
