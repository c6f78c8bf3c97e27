"""Read registered sources back out of the catalog, in the stable shape `agora sources --json` prints."""
from __future__ import annotations

import json

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace

# The public fields of `agora sources --json`, documented in the README: keep them stable.
PUBLIC_FIELDS = (
    "name", "version", "status", "records", "malformed", "bytes", "file_bytes", "license", "license_class",
    "languages", "language_profile", "language_mismatch", "contributor", "organization", "country",
    "fingerprint", "format", "location", "text_fields", "id_field", "columns", "description", "homepage",
    "attribution", "registered_at", "withdrawn_reason", "withdrawn_at", "include", "exclude", "skipped",
    "skipped_reasons", "notes",
)


def public_source(row: dict) -> dict:
    source = {key: row[key] for key in PUBLIC_FIELDS}
    source["language_profile"] = json.loads(row["language_profile"])
    source["language_mismatch"] = row["language_mismatch"] or []
    source["skipped_reasons"] = json.loads(row["skipped_reasons"] or "{}")
    for key in ("include", "exclude", "notes"):
        source[key] = row[key] or []
    source["registered_at"] = row["registered_at"].isoformat(timespec="seconds")
    source["withdrawn_at"] = row["withdrawn_at"].isoformat(timespec="seconds") if row["withdrawn_at"] else None
    return source


def list_sources(workspace: Workspace) -> list[dict]:
    """The latest version of every source, by name."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(
            con,
            """
            SELECT * FROM source_overview
            QUALIFY version = max(version) OVER (PARTITION BY name)
            ORDER BY name
            """,
        )
    return [public_source(row) for row in rows]


def show_source(workspace: Workspace, name: str) -> dict:
    """Every version of one source, newest first, each with its first malformed records."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM source_overview WHERE name = ? ORDER BY version DESC", [name])
        if not rows:
            known = [n for (n,) in con.execute("SELECT DISTINCT name FROM sources ORDER BY name").fetchall()]
            raise NotFound(f"no source named {name!r}; registered: {', '.join(known) or '(none)'}")
        versions = []
        for row in rows:
            version = public_source(row)
            version["malformed_examples"] = fetch_dicts(
                con, "SELECT file, line, problem FROM malformed_records WHERE source_id = ? ORDER BY file, line",
                [row["source_id"]],
            )
            versions.append(version)
    return {"name": name, "versions": versions}
