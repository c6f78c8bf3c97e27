"""Quality measured like people judge: HPLT v2's web documents labeled by native speakers (hplt-dev,
11 languages), through the real `agora register`, `agora quality train` and `agora curate` path.

Protocol (issue 12): each text's two excerpts are split on the `..........` marker and joined with a
blank line; each language is registered as its own source declaring its language; the recipe is
`base: default.yaml` with the line-based rules off (LINE_RULES: the sample flattened newlines, so
line fractions cannot be judged on it). A document's class: porn, else unnatural, else wrong
language (`lang_correct` false), else clean.

Generalisation: the learned model is fitted on 6 languages and the other 5 (HELD_OUT, drawn with
`random.Random(0).sample` before anything was measured) are reported apart. Each document of the 6
is judged by a model that did not see it (2-fold cross-fitting by a hash of its id); the held-out
languages by the model fitted on all of the 6. Every model runs at the threshold its own
cross-validation suggests (95 % of its positives kept), never one chosen on these results.

    .venv/bin/python -m benchmarks.bench_quality
"""
from __future__ import annotations

import contextlib
import gzip
import io
import json
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import xxhash
import yaml

from benchmarks.quality_methods import compare_methods
from benchmarks.results import write_section
from benchmarks.shared_data import find_shared_data
from curation.cli import main as agora
from curation.core.workspace import Workspace
from curation.stages.curate import curate, refilter
from curation.stages.recipe import DEFAULT_RECIPE, load_recipe

DATA = Path("quality") / "hplt-dev" / "hplt_v2_dev.jsonl.gz"
LANGS = ("ben_Beng", "cat_Latn", "ces_Latn", "deu_Latn", "eng_Latn", "nld_Latn", "nob_Latn", "pol_Latn",
         "rus_Cyrl", "slk_Latn", "spa_Latn")
HELD_OUT = ("ben_Beng", "eng_Latn", "nob_Latn", "pol_Latn", "spa_Latn")  # random.Random(0).sample(LANGS, 5)
CLASSES = ("clean", "unnatural", "porn", "wrong_language")
LINE_RULES = dict.fromkeys((
    "min_fw_punct_lines_frac", "max_fw_short_lines_frac", "max_fw_dup_line_char_frac", "max_fw_list_ratio",
    "min_c4_sentences", "max_bullet_lines_frac", "max_ellipsis_lines_frac", "max_dup_line_frac",
    "max_dup_line_char_frac"))
# Where a target is not met: the trade-off, over thresholds of the two new rules.
MODEL_GRID = (None, 0.3, 0.4, 0.5, 0.6, 0.7)
ADULT_GRID = (0.07, 0.03, 0.015)


def documents(shared: Path) -> list[dict]:
    with gzip.open(shared / DATA, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [{"id": r["id"], "lang": r["lang"], "class": _class(r), "half": xxhash.xxh3_64_intdigest(r["id"]) % 2,
             "text": "\n\n".join(part.strip() for part in r["text"].split("..........") if part.strip())}
            for r in rows]


def _class(row: dict) -> str:
    if row["porn"]:
        return "porn"
    if row["unnatural"]:
        return "unnatural"
    return "clean" if row["lang_correct"] else "wrong_language"


def _quiet(*argv: str) -> dict:
    """Run the CLI in-process with --json; its JSON answer."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = agora([*argv, "--json"])
    assert code == 0, f"agora {' '.join(argv)} failed ({code})"
    return json.loads(out.getvalue())


def register(ws: str, docs: list[dict], folder: Path) -> None:
    _quiet("init", "--workspace", ws)
    for lang in LANGS:
        path = folder / f"{lang}.jsonl"
        path.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}, ensure_ascii=False) + "\n"
                                for d in docs if d["lang"] == lang), "utf-8")
        code = lang.split("_")[0]
        _quiet("register", str(path), "--name", f"hplt-{code}", "--id-field", "id", "--languages", code,
               "--contributor", "HPLT", "--country", "FI", "--license", "MIT", "--workspace", ws)


def train(ws: str, folder: Path, name: str, docs: list[dict]) -> dict:
    path = folder / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"id": d["id"], "text": d["text"], "good": d["class"] == "clean"},
                                       ensure_ascii=False) + "\n" for d in docs), "utf-8")
    return _quiet("quality", "train", name, "--labeled", str(path), "--label-field", "good", "--workspace", ws)


def recipe(folder: Path, model: str | None = None, **rules) -> Path:
    """`base: default.yaml`, line rules off, and `rules` (e.g. min_quality_model_score=0.4)."""
    data = {"version": 1, "base": str(DEFAULT_RECIPE), "quality": {"defaults": {**LINE_RULES, **rules}}}
    if model:
        data["quality_model"] = model
    path = folder / f"recipe-{xxhash.xxh3_64_hexdigest(json.dumps(data, sort_keys=True))}.yaml"
    path.write_text(yaml.safe_dump(data), "utf-8")
    return path


def outcomes(ws: str, run_id: str) -> dict[str, str | None]:
    """record id -> None (kept) or the rule that dropped it (`step/rule`)."""
    con = duckdb.connect(str(Path(ws) / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [ws])
    rows = con.execute("SELECT d.record_id, x.kept, x.step, x.rule FROM decisions x JOIN documents d USING (doc_id) "
                       "WHERE x.run_id = ?", [run_id]).fetchall()
    con.close()
    return {record_id: None if kept else f"{step}/{rule}" for record_id, kept, step, rule in rows}


def judged(docs: list[dict], full: dict, halves: tuple[dict, dict]) -> dict[str, str | None]:
    """Each document's outcome under the model that did not see it."""
    return {d["id"]: (full if d["lang"] in HELD_OUT else halves[1 - d["half"]])[d["id"]]
            for d in docs if d["id"] in full}


def rates(docs: list[dict], outcome: dict) -> dict[str, tuple[int, float]]:
    """class -> (documents, share kept for clean / dropped for the others)."""
    out = {}
    for cls in CLASSES:
        ids = [d["id"] for d in docs if d["class"] == cls and d["id"] in outcome]
        dropped = sum(outcome[i] is not None for i in ids)
        out[cls] = (len(ids), (len(ids) - dropped if cls == "clean" else dropped) / len(ids) if ids else float("nan"))
    return out


def main() -> None:
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: this benchmark needs the team's real corpora")
    docs = documents(shared)
    seen = [d for d in docs if d["lang"] not in HELD_OUT]
    with tempfile.TemporaryDirectory() as tmp:
        folder, ws = Path(tmp), str(Path(tmp) / "ws")
        register(ws, docs, folder)
        workspace = Workspace(Path(ws))
        adult_run = curate(workspace, load_recipe(recipe(folder)), progress=False)["run_id"]
        main_run = refilter(workspace, adult_run, load_recipe(recipe(folder, max_adult_word_density=None)))["run_id"]
        models = [train(ws, folder, "hplt-6", seen)]
        models += [train(ws, folder, f"hplt-6-half{h}", [d for d in seen if d["half"] == h]) for h in (0, 1)]
        runs = [curate(workspace, load_recipe(recipe(folder, m["model_id"], **m["recipe"]["quality"]["defaults"])),
                       progress=False) for m in models]
        outs = [outcomes(ws, r["run_id"]) for r in runs]
        final = judged(docs, outs[0], (outs[1], outs[2]))
        results = {"main (line rules off)": outcomes(ws, main_run), "+ adult words": outcomes(ws, adult_run),
                   "+ adult words + learned model": final}
        curve = trade_off(workspace, folder, docs, models, runs)
        stage1_s = [r["funnel"]["timings"]["stage1_s"] for r in runs]
        methods = compare_methods(docs, HELD_OUT, ws)
    body = report(docs, results, models, curve, methods, stage1_s)
    write_section("Quality against human labels (hplt-dev)", "python -m benchmarks.bench_quality", body)
    print(body)


def trade_off(workspace: Workspace, folder: Path, docs: list[dict], models: list[dict], runs: list[dict]) -> list:
    """(model threshold, adult threshold, rates on seen languages, on held-out, min clean kept per language)."""
    points = []
    for threshold in MODEL_GRID:
        for adult in ADULT_GRID:
            outs = [outcomes(str(workspace.root), refilter(workspace, run["run_id"], load_recipe(recipe(
                folder, model["model_id"], min_quality_model_score=threshold, max_adult_word_density=adult)))["run_id"])
                for model, run in zip(models, runs)]
            outcome = judged(docs, outs[0], (outs[1], outs[2]))
            worst = min(rates([d for d in docs if d["lang"] == lang], outcome)["clean"][1] for lang in LANGS)
            points.append((threshold, adult, rates([d for d in docs if d["lang"] not in HELD_OUT], outcome),
                           rates([d for d in docs if d["lang"] in HELD_OUT], outcome), rates(docs, outcome), worst))
    return points


def _pct(value: float) -> str:
    return "–" if value != value else f"{value:.1%}"


def report(docs: list[dict], results: dict, models: list[dict], curve: list, methods: list[str],
           stage1_s: list[float]) -> str:
    final = results["+ adult words + learned model"]
    by_class = [f"| class | docs | {' | '.join(results)} | target |", "|---|---|" + "---|" * (len(results) + 1)]
    targets = {"clean": "kept ≥ 93 %", "unnatural": "dropped ≥ 60 %", "porn": "dropped ≥ 85 %", "wrong_language": ""}
    overall = {name: rates(docs, outcome) for name, outcome in results.items()}
    for cls in CLASSES:
        verb = "kept" if cls == "clean" else "dropped"
        by_class.append(f"| {cls} ({verb}) | {overall['main (line rules off)'][cls][0]} | "
                        + " | ".join(_pct(overall[name][cls][1]) for name in results) + f" | {targets[cls]} |")
    by_lang = ["| language | model | clean kept (main → now) | unnatural dropped | porn dropped "
               "| wrong language dropped |", "|---|---|---|---|---|---|"]
    for lang in LANGS:
        part = [d for d in docs if d["lang"] == lang]
        now, before = rates(part, final), rates(part, results["main (line rules off)"])
        cells = [f"{_pct(now[c][1])} of {now[c][0]}" if now[c][0] else "–" for c in CLASSES[1:]]
        by_lang.append(f"| {lang} | {'held out' if lang in HELD_OUT else 'cross-fitted'} | "
                       f"{_pct(before['clean'][1])} → {_pct(now['clean'][1])} of {now['clean'][0]} | "
                       + " | ".join(cells) + " |")
    reasons = []
    for cls in CLASSES:
        counts = Counter(final[d["id"]] for d in docs if d["class"] == cls and final.get(d["id"]))
        reasons.append(f"- {cls}: " + (", ".join(f"`{rule}` {n}" for rule, n in counts.most_common()) or "none"))
    split = ["| languages | clean kept | unnatural dropped | porn dropped | wrong language dropped |",
             "|---|---|---|---|---|"]
    for label, part in (("6 seen (cross-fitted)", [d for d in docs if d["lang"] not in HELD_OUT]),
                        ("5 held out: " + ", ".join(HELD_OUT), [d for d in docs if d["lang"] in HELD_OUT])):
        r = rates(part, final)
        split.append(f"| {label} | " + " | ".join(f"{_pct(r[c][1])} of {r[c][0]}" for c in CLASSES) + " |")
    model_rows = ["| model | trained on | docs | CV AUC | suggested min score "
                  "| positives kept / negatives dropped (CV) |", "|---|---|---|---|---|---|"]
    for model, what in zip(models, ("all documents of the 6 seen languages", "half 0 of them", "half 1 of them")):
        m = model["metrics"]
        model_rows.append(f"| `{model['model_id']}` | {what} | {m['docs']} | {m['auc']:.3f} "
                          f"| {m['suggested_min_score']} | {m['positives_kept_at_suggested']:.0%} / "
                          f"{m['negatives_dropped_at_suggested']:.0%} |")
    curve_rows = ["| min model score | max adult density | seen: clean / unnat. / porn "
                  "| held out: clean / unnat. / porn | all: clean / unnat. / porn | worst language clean |",
                  "|---|---|---|---|---|---|"]
    for threshold, adult, seen, held, everything, worst in curve:
        cells = [" / ".join(_pct(r[c][1]) for c in ("clean", "unnatural", "porn")) for r in (seen, held, everything)]
        curve_rows.append(f"| {threshold if threshold is not None else 'off'} | {adult} | " + " | ".join(cells)
                          + f" | {_pct(worst)} |")
    worst_now = min((rates([d for d in docs if d["lang"] == lang], final)["clean"][1], lang) for lang in LANGS)
    r = overall["+ adult words + learned model"]
    met = {"clean ≥ 93 % overall": r["clean"][1] >= 0.93, "clean ≥ 90 % in every language": worst_now[0] >= 0.90,
           "unnatural dropped ≥ 60 %": r["unnatural"][1] >= 0.60, "porn dropped ≥ 85 %": r["porn"][1] >= 0.85}
    return "\n".join([
        f"{len(docs)} hplt-dev documents in 11 languages (one record has no text and is counted malformed at "
        "registration), each language registered as its own source declaring its language, curated with "
        "`base: default.yaml` and the line-based rules off (" + ", ".join(f"`{r}`" for r in LINE_RULES) + "): "
        "the sample flattened newlines. Classes from the labels: porn, else unnatural, else wrong language, "
        "else clean. *main* is the default recipe without the adult rule (what main did before this change); "
        "the learned model is `agora quality train` on the labels of 6 languages (benchmarks/quality_methods.py "
        "says why this method), each document judged by a model that did not see it, at that model's own "
        "suggested threshold.", "",
        *by_class, "",
        "Targets: " + ", ".join(f"{name} {'met' if ok else '**not met**'}" for name, ok in met.items())
        + f" (worst language: {worst_now[1]} {_pct(worst_now[0])}).", "",
        "Per language (adult words + learned model):", "", *by_lang, "",
        "Rules that dropped each class (adult words + learned model; the first rule a document breaks):", "",
        *reasons, "",
        "Generalisation (adult words + learned model):", "", *split, "",
        "The models (5-fold cross-validation inside each training set):", "", *model_rows, "",
        f"Stage 1 with a model took {', '.join(f'{s:.1f}' for s in stage1_s)} s for the {len(docs)} documents "
        "(scoring costs ~0.6 ms per 4 kB web document; the default recipe names no model).", "",
        "Trade-off over the two new thresholds (the targets are not all met at any point; no threshold was "
        "chosen from this table):", "", *curve_rows, "",
        *methods,
    ])


if __name__ == "__main__":
    main()
