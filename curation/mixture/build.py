"""`agora mix`: choose a reproducible training mixture from a curation run's curated documents.

Flow: candidate documents (curated, active sources, chosen languages and sources) → license
policy → a held-out split per language → a tokenizer trained on the training documents → real
token counts → budgets per language (temperature or UniMax) and per source → which documents,
how many times, in which order (the manifest). The manifest and holdout are Parquet beside the
catalog; the catalog holds the mixture's parameters and its language × source table. The same
inputs and seed give the same manifest, byte for byte.
"""
from __future__ import annotations

import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from curation.core.catalog import fetch_dicts, open_catalog
from curation.core.errors import NotFound
from curation.core.ids import content_key
from curation.core.workspace import Workspace
from curation.mixture.budgets import (
    MixtureError,
    epochs,
    holdout_split,
    language_budgets,
    license_allowed,
    manifest_order,
    sample_documents,
    split_across_sources,
)
from curation.stages.runs import latest_run

TOKENIZE_BATCH = 256


def mixture_dir(workspace: Workspace, name: str, version: int) -> Path:
    return workspace.root / "mixtures" / name / f"v{version}"


def create_mixture(workspace: Workspace, name: str, *, budget_tokens: int, run_id: str | None = None,
                   method: str = "temperature", temperature: float | None = 0.3, max_epochs: float | None = None,
                   languages: list[str] | None = None, sources: list[str] | None = None,
                   weights: dict[str, float] | None = None, license_policy: str = "any", holdout: float = 0.01,
                   seed: int = 0, vocab_size: int = 8192, tokenizer: str | None = None) -> dict:
    run_id = run_id or latest_run(workspace)
    params = {
        "budget_tokens": budget_tokens, "method": method, "temperature": temperature, "max_epochs": max_epochs,
        "languages": sorted(languages or []), "sources": sorted(sources or []), "weights": weights or {},
        "license_policy": license_policy, "holdout": holdout, "seed": seed, "vocab_size": vocab_size,
        "tokenizer": str(Path(tokenizer).resolve()) if tokenizer else None,
    }
    docs, source_rows = _candidates(workspace, run_id, languages, sources)
    fingerprint = content_key([run_id, params, sorted(source_rows)], 16)
    with open_catalog(workspace) as con:
        same = fetch_dicts(con, "SELECT version FROM mixtures WHERE name = ? AND fingerprint = ?", [name, fingerprint])
        version = con.execute("SELECT coalesce(max(version), 0) + 1 FROM mixtures WHERE name = ?", [name]).fetchone()[0]
    if same:
        return {**show_mixture(workspace, name, same[0]["version"]), "already_exists": True}

    excluded = {}
    for (source, _), license_class in source_rows.items():
        allowed, reason = license_allowed(license_class, license_policy)
        if not allowed:
            excluded[source] = reason
    usable = [d for d in docs if d["source"] not in excluded]
    if not usable:
        raise MixtureError("no documents left for this mixture (check --languages, --sources and --license-policy)")
    held_out = _holdout(usable, holdout, seed)
    train = [d for d in usable if d["doc_id"] not in held_out]

    out = mixture_dir(workspace, name, version)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    texts = text_reader(workspace, run_id)
    tok = _tokenizer(tokenizer, vocab_size, (texts(d["doc_id"] for d in train)), tmp / "tokenizer")
    for doc, n_tokens in zip(train, _count_tokens(tok, texts(d["doc_id"] for d in train))):
        doc["n_tokens"] = n_tokens

    tokens_by_lang, by_part = defaultdict(int), defaultdict(list)
    for doc in train:
        tokens_by_lang[doc["lang"]] += doc["n_tokens"]
        by_part[(doc["lang"], doc["source"])].append(doc)
    budgets = language_budgets(dict(tokens_by_lang), budget_tokens, method,
                               alpha=temperature if method == "temperature" else None, max_epochs=max_epochs,
                               weights=weights)
    entries, parts = [], []
    for lang, target in sorted(budgets.items()):
        per_source = {src: sum(d["n_tokens"] for d in ds) for (part_lang, src), ds in by_part.items()
                      if part_lang == lang}
        for source, source_target in sorted(split_across_sources(target, per_source).items()):
            part_docs = by_part[(lang, source)]
            chosen = sample_documents([(d["doc_id"], d["n_tokens"]) for d in part_docs], source_target, seed) \
                if source_target else []
            entries += chosen
            parts.append(_part(lang, source, part_docs, held_out, usable, per_source[source], source_target))
    parts += _excluded_parts(docs, excluded)
    total_target = sum(p["target_tokens"] for p in parts)
    for part in parts:
        part["share"] = part["target_tokens"] / total_target if total_target else 0.0

    info = {d["doc_id"]: d for d in usable}
    order = manifest_order(entries, seed)
    pq.write_table(pa.table({
        "position": list(range(len(order))), "doc_id": order,
        "lang": [info[i]["lang"] for i in order], "source": [info[i]["source"] for i in order],
        "n_tokens": [info[i]["n_tokens"] for i in order],
    }), tmp / "manifest.parquet")
    held = sorted(held_out)
    pq.write_table(pa.table({"doc_id": held, "lang": [info[i]["lang"] for i in held],
                             "source": [info[i]["source"] for i in held]}), tmp / "holdout.parquet")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)

    train_tokens = sum(info[i]["n_tokens"] for i in order)
    with open_catalog(workspace) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO mixtures (name, version, curation_run, params, fingerprint, tokenizer_dir, path, "
                    "train_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [name, version, run_id, json.dumps(params), fingerprint, str(out / "tokenizer"), str(out),
                     train_tokens])
        for part in parts:
            con.execute("INSERT INTO mixture_parts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [name, version, part["lang"], part["source"], source_version_of(source_rows, part["source"]),
                         part["license_class"], part["docs"], part["heldout_docs"], part["available_tokens"],
                         part["target_tokens"], part["epochs"], part["share"], part["excluded_reason"]])
        con.execute("COMMIT")
    return {**show_mixture(workspace, name, version), "already_exists": False}


def source_version_of(source_rows: dict, source: str) -> int:
    return next(version for (name, version) in source_rows if name == source)


def _candidates(workspace: Workspace, run_id: str, languages: list[str] | None,
                sources: list[str] | None) -> tuple[list[dict], dict]:
    """Curated documents of the run from sources that are still active, and (source, version) → class."""
    curated = str(workspace.run_dir(run_id) / "curated" / "*" / "*.parquet")
    with open_catalog(workspace) as con:
        active = {(r["name"], r["version"]): r["license_class"] for r in fetch_dicts(
            con, "SELECT name, version, license_class FROM sources WHERE status = 'active'")}
    con = duckdb.connect()
    try:
        rows = fetch_dicts(con, "SELECT doc_id, source, source_version, lang, n_bytes FROM read_parquet(?) "
                                "ORDER BY doc_id", [curated])
    finally:
        con.close()
    known_langs = {r["lang"] for r in rows}
    known_sources = {r["source"] for r in rows}
    for wanted, known, what in ((languages, known_langs, "language"), (sources, known_sources, "source")):
        missing = sorted(set(wanted or []) - known)
        if missing:
            raise NotFound(f"no curated documents in run {run_id} for {what}(s) {', '.join(missing)}; "
                           f"there are: {', '.join(sorted(known))}")
    docs = [r for r in rows if (r["source"], r["source_version"]) in active
            and (not languages or r["lang"] in languages) and (not sources or r["source"] in sources)]
    source_rows = {(r["source"], r["source_version"]): active[(r["source"], r["source_version"])] for r in docs}
    for doc in docs:
        doc["license_class"] = source_rows[(doc["source"], doc["source_version"])]
    return docs, source_rows


def _holdout(docs: list[dict], fraction: float, seed: int) -> set[str]:
    by_lang = defaultdict(list)
    for doc in docs:
        by_lang[doc["lang"]].append(doc["doc_id"])
    return set().union(*(holdout_split(ids, fraction, seed) for ids in by_lang.values())) if fraction else set()


def text_reader(workspace: Workspace, run_id: str):
    """A function from doc_ids to their curated texts, in the same order, streamed from Parquet."""
    curated = str(workspace.run_dir(run_id) / "curated" / "*" / "*.parquet")

    def texts(doc_ids):
        wanted = list(doc_ids)
        con = duckdb.connect()
        try:
            con.register("wanted", pa.table({"doc_id": wanted, "position": list(range(len(wanted)))}))
            reader = con.sql("SELECT c.text FROM read_parquet(?) c JOIN wanted w USING (doc_id) ORDER BY w.position",
                             params=[curated]).to_arrow_reader(TOKENIZE_BATCH)
            for batch in reader:
                yield from batch.column("text").to_pylist()
        finally:
            con.close()
    return texts


def _tokenizer(existing: str | None, vocab_size: int, texts, out_dir: Path):
    from training.tokenizer import load_tokenizer, train_tokenizer

    if existing:
        tokenizer = load_tokenizer(existing)
        tokenizer.save_pretrained(str(out_dir))
        return tokenizer
    return train_tokenizer(texts, vocab_size, out_dir)


def _count_tokens(tokenizer, texts) -> list[int]:
    """Real token counts with the mixture's tokenizer; +1 for the end-of-document token."""
    counts, batch = [], []
    for text in texts:
        batch.append(text)
        if len(batch) == TOKENIZE_BATCH:
            counts += [len(ids) + 1 for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]]
            batch = []
    if batch:
        counts += [len(ids) + 1 for ids in tokenizer(batch, add_special_tokens=False)["input_ids"]]
    return counts


def _part(lang, source, part_docs, held_out, usable, available, target) -> dict:
    return {
        "lang": lang, "source": source, "license_class": part_docs[0]["license_class"], "docs": len(part_docs),
        "heldout_docs": sum(1 for d in usable
                            if d["lang"] == lang and d["source"] == source and d["doc_id"] in held_out),
        "available_tokens": available, "target_tokens": target,
        "epochs": epochs(target, available) if available else 0.0, "excluded_reason": None,
    }


def _excluded_parts(docs: list[dict], excluded: dict[str, str]) -> list[dict]:
    counts = defaultdict(int)
    classes = {}
    for doc in docs:
        if doc["source"] in excluded:
            counts[(doc["lang"], doc["source"])] += 1
            classes[doc["source"]] = doc["license_class"]
    return [{"lang": lang, "source": source, "license_class": classes[source], "docs": n, "heldout_docs": 0,
             "available_tokens": 0, "target_tokens": 0, "epochs": 0.0, "excluded_reason": excluded[source]}
            for (lang, source), n in sorted(counts.items())]


def show_mixture(workspace: Workspace, name: str, version: int | None = None) -> dict:
    with open_catalog(workspace) as con:
        rows = fetch_dicts(con, "SELECT * FROM mixtures WHERE name = ? ORDER BY version DESC", [name])
        if version is not None:
            rows = [r for r in rows if r["version"] == version]
        if not rows:
            known = [n for (n,) in con.execute("SELECT DISTINCT name FROM mixtures ORDER BY name").fetchall()]
            raise NotFound(f"no mixture named {name!r}; there are: {', '.join(known) or '(none)'}")
        mixture = rows[0]
        parts = fetch_dicts(con, "SELECT lang, source, source_version, license_class, docs, heldout_docs, "
                                 "available_tokens, target_tokens, epochs, share, excluded_reason FROM mixture_parts "
                                 "WHERE mixture = ? AND version = ? ORDER BY excluded_reason NULLS FIRST, lang, source",
                            [name, mixture["version"]])
    return {
        "name": name, "version": mixture["version"], "curation_run": mixture["curation_run"],
        "params": json.loads(mixture["params"]), "train_tokens": mixture["train_tokens"],
        "tokenizer_dir": mixture["tokenizer_dir"], "path": mixture["path"],
        "created_at": mixture["created_at"].isoformat(timespec="seconds"), "parts": parts,
        "excluded": sorted({(p["source"], p["excluded_reason"]) for p in parts if p["excluded_reason"]}),
    }


def rebuild_mixture(workspace: Workspace, name: str) -> dict:
    """A new version of a mixture, with the same settings, on the latest curation run (which leaves
    out withdrawn sources), tokenized with the same tokenizer so the counts compare; with a diff."""
    old = show_mixture(workspace, name)
    params = old["params"]
    new = create_mixture(
        workspace, name, budget_tokens=params["budget_tokens"], run_id=latest_run(workspace),
        method=params["method"], temperature=params["temperature"], max_epochs=params["max_epochs"],
        languages=params["languages"] or None, sources=_still_active(workspace, params["sources"]) or None,
        weights=params["weights"], license_policy=params["license_policy"], holdout=params["holdout"],
        seed=params["seed"], vocab_size=params["vocab_size"], tokenizer=params["tokenizer"] or old["tokenizer_dir"],
    )
    return {**new, "previous_version": old["version"], "diff": _diff(old["parts"], new["parts"])}


def _still_active(workspace: Workspace, names: list[str]) -> list[str]:
    if not names:
        return []
    with open_catalog(workspace) as con:
        active = {n for (n,) in con.execute("SELECT DISTINCT name FROM sources WHERE status = 'active'").fetchall()}
    return [n for n in names if n in active]


def _diff(before: list[dict], after: list[dict]) -> list[dict]:
    """Per language: documents and target tokens before and after, and the sources that left."""
    def per_lang(parts):
        table = defaultdict(lambda: {"docs": 0, "tokens": 0, "sources": set()})
        for p in parts:
            if not p["excluded_reason"]:
                table[p["lang"]]["docs"] += p["docs"]
                table[p["lang"]]["tokens"] += p["target_tokens"]
                table[p["lang"]]["sources"].add(p["source"])
        return table

    old, new = per_lang(before), per_lang(after)
    return [
        {"lang": lang, "docs_before": old[lang]["docs"], "docs_after": new[lang]["docs"],
         "tokens_before": old[lang]["tokens"], "tokens_after": new[lang]["tokens"],
         "sources_removed": sorted(old[lang]["sources"] - new[lang]["sources"])}
        for lang in sorted(set(old) | set(new))
    ]
