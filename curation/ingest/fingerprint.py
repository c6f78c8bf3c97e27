"""A content fingerprint over a source's files, so re-registering unchanged data is a no-op."""
from __future__ import annotations

import hashlib

from curation.ingest.files import relative_name
from curation.ingest.hf import hub_fingerprint, repo_card
from curation.ingest.readers import select
from curation.ingest.records import SourceSpec

CHUNK = 1 << 20


def fingerprint(spec: SourceSpec) -> tuple[str, int]:
    """sha256 over each data file's relative path and bytes, in sorted order; also the total file size.
    A dataset repository's README header is covered too: its license and splits are part of the data."""
    if spec.format == "hf" and spec.location.startswith("hf://"):
        return hub_fingerprint(spec.location), 0
    selection = select(spec)
    card = repo_card(spec.location)
    files = sorted([*selection.files, card.path]) if card else selection.files
    digest = hashlib.sha256()
    total = 0
    for path in files:
        digest.update(relative_name(path, selection.base).encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
        digest.update(b"\0")
    return "sha256:" + digest.hexdigest(), total
