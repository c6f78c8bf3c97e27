"""Plain-text tables and JSON for the CLI: JSON goes to stdout alone, everything else is for people."""
from __future__ import annotations

import json
import sys
from collections.abc import Sequence


def print_json(value) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def print_table(rows: Sequence[dict], columns: Sequence[str], headers: Sequence[str] | None = None) -> None:
    headers = list(headers or columns)
    cells = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(h)] + [len(c[i]) for c in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row.get(col), (int, float)) for row in rows) and rows for col in columns]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join((c.rjust(w) if num else c.ljust(w)) for c, w, num in zip(row, widths, numeric)).rstrip())


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    if isinstance(value, dict):  # a share per key, largest first: the top three tell the story
        top = [f"{k}:{v:.0%}" if isinstance(v, float) else f"{k}:{v}" for k, v in list(value.items())[:3]]
        return " ".join(top) + (" …" if len(value) > 3 else "")
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def print_funnel(run_id: str, counts: dict) -> None:
    print(f"run {run_id}: {counts['docs_in']:,} documents in, {counts['docs_out']:,} kept "
          f"({counts['bytes_out']:,} of {counts['bytes_in']:,} bytes)")
    print()
    print_table([{"step": "input", "docs_dropped": None, "bytes_dropped": None, "docs_after": counts["docs_in"],
                  "bytes_after": counts["bytes_in"]}, *counts["steps"]],
                ("step", "docs_dropped", "bytes_dropped", "docs_after", "bytes_after"),
                headers=("step", "docs dropped", "bytes dropped", "docs left", "bytes left"))
    print()
    rows = [{"lang": lang, **{k: v for k, v in row.items() if k != "dropped"}, **row["dropped"]}
            for lang, row in counts["languages"].items()]
    print_table(rows, ("lang", "docs_in", "docs_out", "bytes_in", "bytes_out", "langid", "quality", "dedup"),
                headers=("lang", "docs in", "docs out", "bytes in", "bytes out", "-langid", "-quality", "-dedup"))
    clusters = counts["dup_clusters"]
    print()
    print(f"duplicate clusters: {clusters['exact']} exact, {clusters['fuzzy']} near, {clusters['docs']} documents; "
          f"{clusters['cross_source']} span several sources")
    if counts["rules"]:
        print("reasons: " + ", ".join(f"{r['step']}/{r['rule']} {r['docs']}" for r in counts["rules"]))


def human(value) -> str:
    """One catalog value on one line: shares as percentages, lists comma-separated, counts with separators."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:,}" if isinstance(v, int) else f"{k} {v:.0%}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_mixture(mixture: dict) -> None:
    params = mixture["params"]
    how = (f"UniMax, at most {params['max_epochs']} epochs" if params["method"] == "unimax"
           else f"temperature {params['temperature']}" + (f", at most {params['max_epochs']} epochs"
                                                          if params["max_epochs"] else ""))
    print(f"mixture {mixture['name']} v{mixture['version']} from run {mixture['curation_run']}: "
          f"{mixture['train_tokens']:,} training tokens of a {params['budget_tokens']:,} budget ({how}, "
          f"license policy {params['license_policy']}, seed {params['seed']})")
    print()
    kept = [p for p in mixture["parts"] if not p["excluded_reason"]]
    print_table(kept, ("lang", "source", "license_class", "docs", "heldout_docs", "available_tokens", "target_tokens",
                       "epochs", "share"),
                headers=("lang", "source", "license", "docs", "held out", "available", "target", "epochs", "share"))
    for source, reason in mixture["excluded"]:
        print(f"excluded: {source}: {reason}")


def print_bpb(scores: dict) -> None:
    """The languages evaluated, then one line for those without held-out documents (not one entry each:
    a workspace with hundreds of one-document languages would bury the scores)."""
    evaluated = {lang: value for lang, value in scores.items() if value is not None}
    print(f"bits per byte on held-out documents, {len(evaluated)} language(s): " + ", ".join(
        f"{lang} {value:.3f}" for lang, value in evaluated.items()))
    if missing := sorted(set(scores) - set(evaluated)):
        print(f"{len(missing)} language(s) had no held-out documents (a language needs 2 or more): "
              + ", ".join(missing[:10]) + (", ..." if len(missing) > 10 else ""))
