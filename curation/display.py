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
