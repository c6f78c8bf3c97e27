"""Stable document identity: the same source version and record key give the same doc_id, always."""
from __future__ import annotations

import hashlib


def doc_id(source: str, version: int, record_id: str) -> str:
    """16 hex characters of blake2b over (source, version, record key); never run order or chance."""
    key = f"{source}\x1f{version}\x1f{record_id}".encode("utf-8")
    return hashlib.blake2b(key, digest_size=8).hexdigest()
