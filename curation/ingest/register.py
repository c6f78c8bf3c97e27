"""Register a contributed dataset: validate its metadata, read it once, record what was found."""
from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError
from curation.core.workspace import Workspace
from curation.ingest.codes import normalize_country, normalize_languages
from curation.ingest.fingerprint import fingerprint
from curation.ingest.licenses import license_class, normalize_spdx
from curation.ingest.readers import (
    INPUT_FORMATS,
    Malformed,
    SourceSpec,
    detect_format,
    is_hub,
    iter_records,
    resolve_files,
)
from curation.ingest.sources import public_source
from curation.text.langid import get_identifier

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
PROFILE_SAMPLE = 200          # documents whose language is detected at registration
MISMATCH_SHARE = 0.10         # an undeclared language this common in the sample is flagged
MALFORMED_KEPT = 20           # examples of malformed records stored (all are counted)


@dataclass
class Registration:
    """What a user asks to register; `validate` normalizes it or says what is wrong."""

    location: str
    name: str
    contributor: str
    country: str
    license: str
    organization: str | None = None
    contact: str | None = None
    languages: list[str] = field(default_factory=list)
    format: str = "auto"
    text_fields: list[str] = field(default_factory=lambda: ["text"])
    id_field: str | None = None
    columns: list[str] | None = None
    description: str | None = None
    homepage: str | None = None
    attribution: str | None = None

    def validate(self) -> Registration:
        if not NAME_PATTERN.match(self.name or ""):
            raise AgoraError(f"source name {self.name!r} must be lower-case letters, digits, '.', '_' or '-' (max 64)")
        if not (self.contributor or "").strip():
            raise AgoraError("a contributor is required (--contributor)")
        self.country = normalize_country(self.country or "")
        self.license = normalize_spdx(self.license or "")
        self.languages = normalize_languages(self.languages)
        if self.format not in ("auto", *INPUT_FORMATS):
            raise AgoraError(f"unknown format {self.format!r}; choose one of auto, {', '.join(INPUT_FORMATS)}")
        if not is_hub(self.location):
            resolve_files(self.location)  # raises "path not found" early
        if self.format == "auto":
            self.format = detect_format(self.location)
        if self.columns and self.format not in ("csv", "tsv"):
            raise AgoraError("--columns is only for header-less CSV/TSV files")
        return self

    def spec(self) -> SourceSpec:
        return SourceSpec.of(vars(self))


REQUIRED_FIELDS = ("name", "contributor", "country", "license")


def registration_from(fields: dict) -> Registration:
    """A Registration from data-card fields, with command-line flags already merged over them."""
    location = fields.get("path") or fields.get("data")
    if not location:
        raise AgoraError("no data to register: give a PATH (or a data card with a `data:` field)")
    for required in REQUIRED_FIELDS:
        if not fields.get(required):
            raise AgoraError(f"missing --{required} (or `{required}:` in the data card)")
    text_fields = fields.get("text_field") or ["text"]
    return Registration(
        location=str(location), name=str(fields["name"]), contributor=str(fields["contributor"]),
        country=str(fields["country"]), license=str(fields["license"]), organization=fields.get("organization"),
        contact=fields.get("contact"), languages=list(fields.get("languages") or []),
        format=fields.get("format") or "auto",
        text_fields=text_fields if isinstance(text_fields, list) else [str(text_fields)],
        id_field=fields.get("id_field"), columns=fields.get("columns"), description=fields.get("description"),
        homepage=fields.get("homepage"), attribution=fields.get("attribution"),
    )


@dataclass
class Scan:
    """What one pass over the records found."""

    records: int = 0
    malformed: int = 0
    text_bytes: int = 0
    malformed_examples: list[Malformed] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    language_profile: dict[str, float] = field(default_factory=dict)


@dataclass
class RegistrationResult:
    status: str  # "registered" or "already registered"
    source: dict
    warnings: list[str]


def register(workspace: Workspace, request: Registration, progress: bool = True) -> RegistrationResult:
    request.validate()
    content_fingerprint, file_bytes = fingerprint(request.location)
    with open_catalog(workspace) as con:
        existing = _latest_version(con, request.name)
        if existing and existing["fingerprint"] == content_fingerprint:
            return RegistrationResult("already registered", existing, [])
    scan = scan_source(request.spec(), progress=progress)
    if scan.records == 0:
        raise AgoraError(f"empty source: no usable records in {request.location}{_malformed_summary(scan)}")
    scan.language_profile = language_profile(scan.sample)
    mismatch = _language_mismatch(request.languages, scan.language_profile)
    warnings = list(mismatch)
    with open_catalog(workspace) as con:
        warnings += _same_content_elsewhere(con, request.name, content_fingerprint)
        existing = _latest_version(con, request.name)
        if existing and existing["fingerprint"] == content_fingerprint:  # registered meanwhile
            return RegistrationResult("already registered", existing, [])
        version = existing["version"] + 1 if existing else 1
        _insert(con, request, version, content_fingerprint, file_bytes, scan, mismatch)
        source = _latest_version(con, request.name)
    if scan.malformed:
        warnings.append(f"{scan.malformed} malformed record(s) skipped{_malformed_summary(scan)}")
    return RegistrationResult("registered", source, warnings)


def scan_source(spec: SourceSpec, progress: bool = True) -> Scan:
    """Count records, bytes and malformed input; keep a seeded reservoir sample for language id."""
    scan = Scan()
    rng = random.Random(0)
    records = iter_records(spec)
    for item in tqdm(records, desc=f"reading {spec.location}", unit=" rec", disable=not progress, leave=False):
        if isinstance(item, Malformed):
            scan.malformed += 1
            if len(scan.malformed_examples) < MALFORMED_KEPT:
                scan.malformed_examples.append(item)
            continue
        scan.records += 1
        scan.text_bytes += len(item.text.encode("utf-8"))
        if len(scan.sample) < PROFILE_SAMPLE:
            scan.sample.append(item.text)
        else:
            slot = rng.randrange(scan.records)
            if slot < PROFILE_SAMPLE:
                scan.sample[slot] = item.text
    return scan


def language_profile(texts: list[str]) -> dict[str, float]:
    """Share of each detected language in the sample, largest first (deterministic: seeded langdetect)."""
    if not texts:
        return {}
    identifier = get_identifier("langdetect", seed=0)
    counts = Counter(identifier.identify(text).lang for text in texts)
    return {lang: round(n / len(texts), 3) for lang, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _language_mismatch(declared: list[str], profile: dict[str, float]) -> list[str]:
    if not declared:
        return []
    undeclared = [
        f"detected {lang!r} in {share:.0%} of sampled documents but it is not declared"
        for lang, share in profile.items()
        if lang not in declared and lang != "und" and share >= MISMATCH_SHARE
    ]
    missing = [f"declared {lang!r} but no sampled document is in it" for lang in declared if lang not in profile]
    return undeclared + missing


def _malformed_summary(scan: Scan) -> str:
    if not scan.malformed_examples:
        return ""
    first = "; ".join(f"{m.where()}: {m.problem}" for m in scan.malformed_examples[:3])
    return f" (first: {first})"


def _latest_version(con, name: str) -> dict | None:
    rows = fetch_dicts(con, "SELECT * FROM source_overview WHERE name = ? ORDER BY version DESC LIMIT 1", [name])
    return public_source(rows[0]) if rows else None


def _same_content_elsewhere(con, name: str, content_fingerprint: str) -> list[str]:
    rows = con.execute(
        "SELECT DISTINCT name FROM sources WHERE fingerprint = ? AND name <> ? ORDER BY name",
        [content_fingerprint, name],
    ).fetchall()
    return [f"the same content is already registered as source {other!r}" for (other,) in rows]


def _contributor_id(con, request: Registration) -> int:
    row = con.execute(
        "SELECT contributor_id FROM contributors "
        "WHERE name = ? AND organization IS NOT DISTINCT FROM ? AND country = ?",
        [request.contributor.strip(), request.organization, request.country],
    ).fetchone()
    if row:
        return row[0]
    return con.execute(
        "INSERT INTO contributors (name, organization, country, contact) VALUES (?, ?, ?, ?) RETURNING contributor_id",
        [request.contributor.strip(), request.organization, request.country, request.contact],
    ).fetchone()[0]


def _insert(con, request: Registration, version: int, content_fingerprint: str, file_bytes: int, scan: Scan,
            mismatch: list[str]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        contributor_id = _contributor_id(con, request)
        source_id = con.execute(
            """
            INSERT INTO sources (name, version, contributor_id, license, license_class, languages, format, location,
                text_fields, id_field, columns, description, homepage, attribution, fingerprint, records, malformed,
                bytes, file_bytes, language_profile, language_mismatch)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING source_id
            """,
            [
                request.name, version, contributor_id, request.license, license_class(request.license),
                request.languages, request.format, _stored_location(request.location), request.text_fields,
                request.id_field, request.columns, request.description, request.homepage, request.attribution,
                content_fingerprint, scan.records, scan.malformed, scan.text_bytes, file_bytes,
                json.dumps(scan.language_profile), mismatch,
            ],
        ).fetchone()[0]
        for m in scan.malformed_examples:
            con.execute("INSERT INTO malformed_records VALUES (?, ?, ?, ?)", [source_id, m.file, m.line, m.problem])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def _stored_location(location: str) -> str:
    """Absolute, so curation finds the files whatever directory it runs from."""
    return location if is_hub(location) else str(Path(location).expanduser().absolute())
