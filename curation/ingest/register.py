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
from curation.ingest.files import archive_skips, detect_format, is_hub, skipped_note
from curation.ingest.fingerprint import fingerprint
from curation.ingest.hf import repo_card
from curation.ingest.licenses import license_class, normalize_spdx
from curation.ingest.readers import Malformed, Skipped, SourceSpec, iter_records, select
from curation.ingest.records import INPUT_FORMATS
from curation.ingest.sources import public_source
from curation.text.langid import get_identifier
from curation.text.languages import match_declared

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
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # which metadata came from a README header

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
        if self.format == "auto":
            self.format = detect_format(self.location, self.include, self.exclude)
        if self.columns and self.format not in ("csv", "tsv"):
            raise AgoraError("--columns is only for header-less CSV/TSV files")
        if self.id_field and self.format in ("text", "html", "warc"):
            raise AgoraError(f"--id-field is for formats with fields; {self.format} records are named by their file"
                             f"{' and offset' if self.format == 'warc' else ''}")
        if not is_hub(self.location):
            select(self.spec())  # raises "path not found" or "no data files" early
        return self

    def left_out(self) -> list[str]:
        """One note listing the files (and archive members) this source does not read, if any."""
        if is_hub(self.location):
            return []
        selection = select(self.spec())
        skipped = selection.skipped + archive_skips(selection, self.format, self.include, self.exclude)
        return [skipped_note(skipped)] if skipped else []

    def spec(self) -> SourceSpec:
        return SourceSpec.of(vars(self))


REQUIRED_FIELDS = ("name", "contributor", "country", "license")
README_FIELDS = ("license", "languages", "description")  # what a dataset repository's README header may fill


def registration_from(fields: dict) -> Registration:
    """A Registration from data-card fields, with command-line flags already merged over them; a dataset
    repository's README header fills the fields still missing, with a note saying so."""
    location = fields.get("path") or fields.get("data")
    if not location:
        raise AgoraError("no data to register: give a PATH (or a data card with a `data:` field)")
    card = repo_card(str(location))
    notes = []
    if card:
        from_readme = {k: v for k, v in card.metadata().items() if k in README_FIELDS and not fields.get(k)}
        fields = {**fields, **from_readme}
        _check_from_readme(from_readme, card.path.name)
        notes += [f"{key} from the {card.path.name} header: {_shown(value)}" for key, value in from_readme.items()]
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
        include=list(fields.get("include") or []), exclude=list(fields.get("exclude") or []), notes=notes,
    )


def _check_from_readme(fields: dict, readme: str) -> None:
    """A license or language the README header gives is checked here, so its error can name the README."""
    checks = {"license": lambda value: normalize_spdx(str(value)), "languages": normalize_languages}
    for key, check in checks.items():
        if key in fields:
            try:
                check(fields[key])
            except AgoraError as exc:
                raise AgoraError(f"{exc} (from the {readme} header; pass --{key})") from None


def _shown(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


@dataclass
class Scan:
    """What one pass over the records found."""

    records: int = 0
    malformed: int = 0
    text_bytes: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason → count
    splits: Counter = field(default_factory=Counter)   # split → records, for dataset repositories
    malformed_examples: list[Malformed] = field(default_factory=list)
    sample: list[str] = field(default_factory=list)
    language_profile: dict[str, float] = field(default_factory=dict)


@dataclass
class RegistrationResult:
    status: str  # "registered" or "already registered"
    source: dict
    warnings: list[str]
    notes: list[str] = field(default_factory=list)


def register(workspace: Workspace, request: Registration, progress: bool = True) -> RegistrationResult:
    request.validate()
    content_fingerprint, file_bytes = fingerprint(request.spec())
    with open_catalog(workspace) as con:
        existing = _latest_version(con, request.name)
        if existing and existing["fingerprint"] == content_fingerprint:
            return RegistrationResult("already registered", existing, [])
    scan = scan_source(request.spec(), progress=progress)
    if scan.records == 0:
        raise AgoraError(f"empty source: no usable records in {request.location}"
                         f"{_malformed_summary(scan)}{_skipped_summary(scan)}")
    notes = [*request.notes, *request.left_out()]
    if scan.splits:
        notes.append("splits: " + ", ".join(f"{split} {n:,}" for split, n in sorted(scan.splits.items())))
    scan.language_profile = language_profile(scan.sample)
    mismatch = _language_mismatch(request.languages, scan.language_profile)
    warnings = list(mismatch)
    with open_catalog(workspace) as con:
        warnings += _same_content_elsewhere(con, request.name, content_fingerprint)
        existing = _latest_version(con, request.name)
        if existing and existing["fingerprint"] == content_fingerprint:  # registered meanwhile
            return RegistrationResult("already registered", existing, [])
        version = existing["version"] + 1 if existing else 1
        _insert(con, request, version, content_fingerprint, file_bytes, scan, mismatch, notes)
        source = _latest_version(con, request.name)
    if scan.malformed:
        warnings.append(f"{scan.malformed} malformed record(s) skipped{_malformed_summary(scan)}")
    return RegistrationResult("registered", source, warnings, notes)


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
        if isinstance(item, Skipped):
            scan.skipped[item.reason] += 1
            continue
        scan.records += 1
        if "split" in item.meta:
            scan.splits[item.meta["split"]] += 1
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
    """Warnings where sample and declaration disagree, compared as languages (mg is declared plt)."""
    if not declared:
        return []
    undeclared = [
        f"detected {lang!r} in {share:.0%} of sampled documents but it is not declared"
        for lang, share in profile.items()
        if lang != "und" and share >= MISMATCH_SHARE and not match_declared(lang, declared)
    ]
    missing = [f"declared {lang!r} but no sampled document is in it" for lang in declared
               if not any(match_declared(detected, [lang]) for detected in profile)]
    return undeclared + missing


def _skipped_summary(scan: Scan) -> str:
    if not scan.skipped:
        return ""
    return " (skipped: " + ", ".join(f"{reason} {n}" for reason, n in scan.skipped.most_common()) + ")"


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
            mismatch: list[str], notes: list[str]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        contributor_id = _contributor_id(con, request)
        source_id = con.execute(
            """
            INSERT INTO sources (name, version, contributor_id, license, license_class, languages, format, location,
                text_fields, id_field, columns, description, homepage, attribution, fingerprint, records, malformed,
                bytes, file_bytes, language_profile, language_mismatch, include, exclude, skipped, skipped_reasons,
                notes)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING source_id
            """,
            [
                request.name, version, contributor_id, request.license, license_class(request.license),
                request.languages, request.format, _stored_location(request.location), request.text_fields,
                request.id_field, request.columns, request.description, request.homepage, request.attribution,
                content_fingerprint, scan.records, scan.malformed, scan.text_bytes, file_bytes,
                json.dumps(scan.language_profile), mismatch, request.include or None, request.exclude or None,
                sum(scan.skipped.values()), json.dumps(dict(scan.skipped.most_common())), notes,
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
