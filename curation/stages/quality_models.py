"""`agora quality train | list | show`: quality models trained offline on the user's own data.

Training reads labeled documents — registered sources named as positive (good text) and negative
(junk), or one labeled JSONL file — and prepares each as stage 1 does (normalized; language by the
default recipe's detector; quality signals with the lists of that language and of the source's
declared ones), then cross-validates and fits
(curation/stages/quality_fit.py), writes the model to WORKSPACE/quality_models/<id>.npz and records
in the catalog (`quality_models`) what it was trained on (source versions and fingerprints, or the
file's sha256) and how well it did. A recipe names the model by id (`quality_model: qm-…`), so a run
and its documents say exactly which model judged them. Reading streams; only the features (a few
thousand numbers per document) are held, as training needs them all.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import AgoraError, NotFound
from curation.core.workspace import Workspace
from curation.ingest.fingerprint import fingerprint
from curation.ingest.readers import iter_records
from curation.ingest.records import Record, SourceSpec
from curation.ingest.sources import list_sources
from curation.stages.quality_fit import Examples, cross_validate, fit
from curation.stages.recipe import load_recipe
from curation.text.langid import get_identifier
from curation.text.normalize import normalize
from curation.text.quality import quality_signals
from curation.text.quality_model import METHOD, save_model

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def train(workspace: Workspace, name: str, positive: list[str], negative: list[str], labeled: Path | None = None,
          label_field: str | None = None, text_field: str = "text", progress: bool = True) -> dict:
    """Fit, cross-validate, save and record a model; the same data gives the same model (a no-op)."""
    if not NAME_PATTERN.match(name):
        raise AgoraError(f"model name {name!r} must be lower-case letters, digits, '.', '_' or '-' (max 64)")
    if labeled and (positive or negative):
        raise AgoraError("give either --labeled FILE or --positive/--negative sources, not both")
    if labeled and not label_field:
        raise AgoraError("--labeled needs --label-field (the field holding true/false or 1/0)")
    if not labeled and not (positive and negative):
        raise AgoraError("name the training data: --positive A,B and --negative C,D (registered sources), "
                         "or --labeled FILE.jsonl --label-field FIELD")
    recipe = load_recipe()  # its language id, as stage 1 would run it
    examples = _Examples(get_identifier(recipe.langid_backend, **recipe.langid_options()))
    if labeled:
        training_data = _from_file(examples, labeled, label_field, text_field)
    else:
        training_data = _from_sources(examples, workspace, positive, negative)
    n_positive = int(examples.labels.sum())
    if n_positive == 0 or n_positive == len(examples):
        raise AgoraError(f"training needs positive and negative documents; got {n_positive} positive "
                         f"and {len(examples) - n_positive} negative")
    if progress:
        print(f"training on {len(examples):,} documents ({n_positive:,} positive); cross-validating", file=sys.stderr)
    training_data["langid"] = recipe.langid_backend
    metrics = {"docs": len(examples), "positives": n_positive, "negatives": len(examples) - n_positive,
               **cross_validate(examples)}
    model = fit(examples)
    path = save_model(model, workspace.root)
    with open_catalog(workspace) as con:
        existing = fetch_dicts(con, "SELECT * FROM quality_models WHERE model_id = ?", [model.model_id])
        if not existing:
            con.execute("INSERT INTO quality_models (model_id, name, method, path, training_data, metrics) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [model.model_id, name, METHOD, str(path.relative_to(workspace.root)),
                         json.dumps(training_data), json.dumps(metrics)])
    return {**show_model(workspace, model.model_id), "already_trained": bool(existing)}


class _Examples(Examples):
    """Examples prepared from raw text as stage 1 prepares documents."""

    def __init__(self, identifier) -> None:
        super().__init__()
        self.identifier = identifier

    def add_text(self, raw: str, declared: tuple[str, ...], positive: bool, key: str) -> None:
        text = normalize(raw)
        self.add(text, quality_signals(text, self.identifier.identify(text).lang, declared), positive, key)


def _from_sources(examples: _Examples, workspace: Workspace, positive: list[str], negative: list[str]) -> dict:
    """Every document of the latest version of each named source, labeled by the list it is in."""
    sources = {s["name"]: s for s in list_sources(workspace)}
    missing = [n for n in (*positive, *negative) if n not in sources]
    if missing:
        raise NotFound(f"no source named {', '.join(map(repr, missing))}; registered: {', '.join(sorted(sources))}")
    if both := set(positive) & set(negative):
        raise AgoraError(f"a source cannot be both positive and negative: {', '.join(sorted(both))}")
    described: dict[str, list[dict]] = {"positive": [], "negative": []}
    for label, names in (("positive", positive), ("negative", negative)):
        for name in names:
            source = sources[name]
            docs = 0
            for item in iter_records(SourceSpec.of(source)):
                if isinstance(item, Record):
                    examples.add_text(item.text, tuple(source["languages"]), label == "positive",
                                      f"{name}\x1f{item.record_id}")
                    docs += 1
            described[label].append({"name": name, "version": source["version"],
                                     "fingerprint": source["fingerprint"], "docs": docs})
    return {"kind": "sources", **described}


def _from_file(examples: _Examples, path: Path, label_field: str, text_field: str) -> dict:
    """The records of a labeled JSONL file; a record whose label is not true/false or 1/0 is skipped."""
    if not path.is_file():
        raise AgoraError(f"no such file: {path}")
    spec = SourceSpec(str(path.resolve()), "jsonl", (text_field,))
    skipped = 0
    for item in iter_records(spec):
        label = item.fields.get(label_field) if isinstance(item, Record) else None
        if isinstance(label, bool | int) and label in (0, 1):  # JSON true/false or 1/0 (True == 1)
            examples.add_text(item.text, (), bool(label), item.record_id)
        else:
            skipped += 1
    digest, _ = fingerprint(spec)
    return {"kind": "file", "path": str(path.resolve()), "fingerprint": digest,
                      "label_field": label_field, "text_field": text_field, "skipped": skipped}


def list_models(workspace: Workspace) -> list[dict]:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM quality_models ORDER BY name, created_at")
    return [_public(row) for row in rows]


def show_model(workspace: Workspace, ref: str) -> dict:
    """A model by id, or the newest model of that name."""
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM quality_models WHERE model_id = ? OR name = ? "
                                "ORDER BY created_at DESC LIMIT 1", [ref, ref])
    if not rows:
        raise NotFound(f"no quality model {ref!r} (see `agora quality list`; train one with `agora quality train`)")
    return _public(rows[0])


def _public(row: dict) -> dict:
    """A catalog row as commands print it, with the recipe lines that use the model (the suggested
    threshold keeps 95 % of the positive documents, cross-validated)."""
    metrics = json.loads(row["metrics"])
    return {"model_id": row["model_id"], "name": row["name"], "method": row["method"], "path": row["path"],
            "training_data": json.loads(row["training_data"]), "metrics": metrics,
            "created_at": row["created_at"].isoformat(timespec="seconds"),
            "recipe": {"quality_model": row["model_id"],
                       "quality": {"defaults": {"min_quality_model_score": metrics["suggested_min_score"]}}}}
