"""Small builders for test inputs, and a way to run the CLI in-process and read what it printed."""
from __future__ import annotations

import json
from pathlib import Path

from curation.cli import main

BASE_FLAGS = ["--contributor", "Test Contributor", "--country", "DE", "--license", "CC-BY-4.0"]

DOCS = [
    "Die Stadt liegt am Fluss und hat eine alte Brücke, die im Sommer viele Besucher anzieht.",
    "Le marché du samedi propose des fromages, du pain frais et des légumes de la région.",
    "El museo abre todos los días excepto los lunes y la entrada es gratuita para estudiantes.",
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)
