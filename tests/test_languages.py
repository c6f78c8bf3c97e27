"""Declared and detected languages compared as languages: macrolanguages, close relatives, and
languages the detector cannot answer (curation/text/languages.py, the policy's _Languages)."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from curation.cli import main
from curation.core.ids import doc_id
from curation.text.languages import macrolanguage, match_declared, unknown_to
from tests.helpers import BASE_FLAGS, run_json, write_jsonl

RELATIVES = [["fil", "tl"], ["bh", "bho", "mai", "mag", "hi"], ["ast", "es"]]


@pytest.mark.parametrize("detected, declared, expected", [
    ("de", ["de", "fr"], ("de", "declared")),
    ("mg", ["plt"], ("plt", "macrolanguage")),       # Plateau Malagasy is a member of Malagasy
    ("zh", ["yue"], ("yue", "macrolanguage")),       # Cantonese and Mandarin are members of Chinese
    ("zh", ["cmn"], ("cmn", "macrolanguage")),
    ("sr", ["bs"], ("bs", "macrolanguage")),         # Serbo-Croatian
    ("id", ["ms"], ("ms", "macrolanguage")),
    ("nb", ["no"], ("no", "macrolanguage")),
    ("tl", ["fil"], ("fil", "relative")),
    ("bh", ["mai"], ("mai", "relative")),
    ("hi", ["mai"], ("mai", "relative")),
    ("es", ["ast"], ("ast", "relative")),
])
def test_codes_are_compared_as_languages(detected, declared, expected):
    assert match_declared(detected, declared, RELATIVES) == expected


@pytest.mark.parametrize("detected, declared", [("en", ["de"]), ("fr", ["ast"]), ("es", ["fil"]), ("ru", ["uk"])])
def test_different_languages_stay_different(detected, declared):
    assert match_declared(detected, declared, RELATIVES) is None


def test_relatives_are_data_not_code():
    assert match_declared("tl", ["fil"]) is None  # without the recipe's table, only ISO 639-3 speaks


def test_macrolanguage_of_codes_iso_does_not_know_is_the_code():
    assert macrolanguage("bh") == "bh" and macrolanguage("plt") == macrolanguage("mg") == "mlg"


def test_declared_languages_a_detector_cannot_answer():
    assert unknown_to(frozenset({"en", "de", "mg"}), ["plt", "gd", "de"]) == ["gd"]


# UDHR texts, each registered as its own source declaring its language the way a contributor would.
UDHR_CASES = {  # record id: (declared, the policy's rule for it under the default recipe)
    "udhr_ast": ("ast", "relative"),            # CLD2 reads Asturian as Spanish, with confidence
    "udhr_gla": ("gd", "declared"),
    "udhr_plt": ("plt", "macrolanguage"),       # detected mg
    "udhr_tgl": ("fil", "relative"),            # detected tl
    "udhr_yue": ("yue", "macrolanguage"),       # detected zh
    "udhr_bos_latn": ("bs", "declared"),
    "udhr_bos_cyrl": ("bs", "macrolanguage"),   # detected sr
}


@pytest.fixture(scope="module")
def udhr_curated(shared_data, tmp_path_factory):
    with gzip.open(shared_data / "corpora" / "udhr" / "udhr.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts = {row["id"]: row for row in map(json.loads, handle) if row["id"] in UDHR_CASES}
    root = tmp_path_factory.mktemp("udhr-languages")
    ws = ["--workspace", str(root / "ws"), "--json"]
    assert main(["init", *ws]) == 0
    for record_id, (declared, _) in UDHR_CASES.items():
        path = write_jsonl(root / f"{record_id}.jsonl", [{"id": record_id, "text": texts[record_id]["text"]}])
        assert main(["register", str(path), "--name", record_id.replace("_", "-"), "--id-field", "id",
                     "--languages", declared, *BASE_FLAGS, *ws]) == 0
    return root / "ws"


def test_udhr_in_declared_languages_is_kept_with_the_rule_that_matched(capsys, udhr_curated):
    ws = ["--workspace", str(udhr_curated)]
    run = run_json(capsys, "curate", *ws)["run_id"]
    for record_id, (declared, rule) in UDHR_CASES.items():
        doc_id = _doc_id(record_id)
        decision = run_json(capsys, "docs", "show", doc_id, "--run", run, *ws)["decision"]
        assert (decision["lang"], decision["lang_rule"]) == (declared, rule), record_id
        assert decision["kept"], (record_id, decision)


def test_docs_show_says_which_language_rule_applied(capsys, udhr_curated):
    ws = ["--workspace", str(udhr_curated)]
    run_json(capsys, "curate", *ws)
    assert main(["docs", "show", _doc_id("udhr_plt"), *ws]) == 0
    out = capsys.readouterr().out
    assert "language   plt (declared; detected as its macrolanguage or a member of it): detected mg" in out


def test_a_language_the_backend_cannot_answer_is_not_undeclared(capsys, udhr_curated, tmp_path):
    recipe = tmp_path / "langdetect.yaml"  # langdetect knows 55 languages: not Scottish Gaelic
    recipe.write_text(f"base: {Path(__file__).resolve().parent.parent / 'pipelines' / 'default.yaml'}\n"
                      "langid: {backend: langdetect}\n", encoding="utf-8")
    ws = ["--workspace", str(udhr_curated)]
    run = run_json(capsys, "curate", "--recipe", str(recipe), "--sources", "udhr-gla", *ws)["run_id"]
    decision = run_json(capsys, "docs", "show", _doc_id("udhr_gla"), "--run", run, *ws)["decision"]
    assert (decision["lang"], decision["lang_rule"]) == ("gd", "unknown_to_detector")
    assert decision["kept"], decision


def _doc_id(record_id: str) -> str:
    return doc_id(record_id.replace("_", "-"), 1, record_id)
