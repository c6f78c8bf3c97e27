"""A content fingerprint over a source's files, so re-registering unchanged data is a no-op."""
from __future__ import annotations

import hashlib

from curation.ingest.readers import hub_fingerprint, is_hub, relative_name, resolve_files

CHUNK = 1 << 20


def fingerprint(location: str) -> tuple[str, int]:
    """sha256 over each file's relative path and bytes, in sorted order; also the total file size."""
    if is_hub(location):
        return hub_fingerprint(location), 0
    base, files = resolve_files(location)
    digest = hashlib.sha256()
    total = 0
    for path in files:
        digest.update(relative_name(path, base).encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest(), total
