"""`agora credits`: who must be credited for a mixture or a model, and how, grouped by license class."""
from __future__ import annotations

import json

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace
from curation.ingest.licenses import license_classes, obligation
from curation.models import find_run, training_chain

CREDIT_FORMATS = ("md", "json", "bibtex")


def credits(workspace: Workspace, target: str) -> dict:
    """`target` is a mixture name (its latest version), or a training run id, run folder or model folder."""
    with open_catalog(workspace) as con:
        sources, what = _sources_behind(con, target)
        rows = []
        for name, version, tokens in sources:
            rows += [{**r, "tokens": tokens} for r in fetch_dicts(
                con, "SELECT name, version, contributor, organization, country, license, license_class, attribution, "
                     "homepage, description, status FROM source_overview WHERE name = ? AND version = ?",
                [name, version])]
    groups = []
    for license_class_name in license_classes():
        members = [r for r in rows if r["license_class"] == license_class_name]
        if members:
            groups.append({"license_class": license_class_name, "obligation": obligation(license_class_name),
                           "sources": sorted(members, key=lambda r: r["name"])})
    return {"target": target, "kind": what, "groups": groups}


def _sources_behind(con, target: str) -> tuple[list[tuple[str, int, int | None]], str]:
    """(source, version, tokens used) of a mixture, or of the mixture and fine-tuning source of a model."""
    run = find_run(con, target)
    if run:
        sources = []
        for link in training_chain(con, run["run_id"]):
            if link["mixture"]:
                sources += _mixture_sources(con, link["mixture"], link["mixture_version"])
            if link["source"]:
                sources += [(name, version, None) for name, version in con.execute(
                    "SELECT name, version FROM sources WHERE name = ? ORDER BY version DESC LIMIT 1",
                    [link["source"]]).fetchall()]
        return sources, "model"
    version = con.execute("SELECT max(version) FROM mixtures WHERE name = ?", [target]).fetchone()[0]
    if version is None:
        raise NotFound(f"{target!r} is neither a mixture nor a training run (see `agora mix show`, `agora models`)")
    return _mixture_sources(con, target, version), "mixture"


def _mixture_sources(con, name: str, version: int) -> list[tuple[str, int, int]]:
    return [tuple(r) for r in con.execute(
        "SELECT source, source_version, sum(target_tokens)::BIGINT FROM mixture_parts "
        "WHERE mixture = ? AND version = ? AND excluded_reason IS NULL AND target_tokens > 0 "
        "GROUP BY ALL ORDER BY source", [name, version]).fetchall()]


def render(result: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, ensure_ascii=False, indent=2, default=str)
    if fmt == "bibtex":
        return "\n".join(_bibtex(s) for g in result["groups"] for s in g["sources"])
    lines = [f"# Credits for {result['kind']} `{result['target']}`", ""]
    for group in result["groups"]:
        lines += [f"## {group['license_class']}", "", f"*{group['obligation']}*", ""]
        for s in group["sources"]:
            who = ", ".join(x for x in (s["contributor"], s["organization"]) if x)
            lines.append(f"- **{s['name']}** v{s['version']} — {who} ({s['country']}), {s['license']}"
                         + (f". {s['attribution']}" if s["attribution"] else "")
                         + (f" <{s['homepage']}>" if s["homepage"] else ""))
        lines.append("")
    return "\n".join(lines)


def _bibtex(source: dict) -> str:
    key = "agora-" + source["name"].replace(".", "-").replace("_", "-")
    fields = {
        "title": f"{source['name']}" + (f": {source['description']}" if source["description"] else ""),
        "author": source["organization"] or source["contributor"],
        "howpublished": source["homepage"],
        "note": f"License: {source['license']}. {source['attribution'] or ''}".strip(),
    }
    body = ",\n".join(f"  {k} = {{{_bib_escape(v)}}}" for k, v in fields.items() if v)
    return f"@misc{{{key},\n{body}\n}}\n"


def _bib_escape(value: str) -> str:
    return " ".join(str(value).split()).replace("{", "\\{").replace("}", "\\}")
