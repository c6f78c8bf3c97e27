"""Registration of the team's real corpora (skipped where ../shared/data is absent)."""
from __future__ import annotations

import pytest

from tests.helpers import BASE_FLAGS, run_cli, run_json


@pytest.fixture
def workspace(tmp_path, capsys):
    path = tmp_path / "ws"
    run_cli(capsys, "init", "--workspace", str(path))
    return str(path)


def _register(capsys, workspace, path, name, *extra):
    return run_json(capsys, "register", str(path), "--name", name, "--workspace", workspace, *BASE_FLAGS, *extra)


def test_dolma_fixture_counts_empty_texts_as_malformed(capsys, workspace, shared_data):
    fixture = shared_data / "corpora" / "dolma-test-fixtures" / "cc-main-2019-30" / "*.jsonl.gz"
    source = _register(capsys, workspace, fixture, "cc-2019-30", "--id-field", "id")["source"]
    # 697 documents, 27 of them with empty text (see the fixture's SOURCE.md)
    assert (source["format"], source["records"], source["malformed"]) == ("jsonl", 670, 27)
    assert max(source["language_profile"], key=source["language_profile"].get) == "en"


def test_udhr_registers_every_version(capsys, workspace, shared_data):
    path = shared_data / "corpora" / "udhr" / "udhr.jsonl.gz"
    source = _register(capsys, workspace, path, "udhr", "--id-field", "id")["source"]
    assert (source["records"], source["malformed"]) == (464, 0)
    assert len(source["language_profile"]) > 20


def test_gsm8k_question_and_answer_fields(capsys, workspace, shared_data):
    path = shared_data / "corpora" / "gsm8k" / "test.jsonl"
    source = _register(capsys, workspace, path, "gsm8k", "--text-field", "question,answer", "--languages", "en")
    assert (source["source"]["records"], source["source"]["malformed"]) == (1319, 0)
    assert source["source"]["language_profile"] == {"en": 1.0}
    assert source["warnings"] == []


def test_mgsm_headerless_tsv(capsys, workspace, shared_data):
    path = shared_data / "corpora" / "mgsm" / "mgsm_de.tsv"
    source = _register(capsys, workspace, path, "mgsm-de", "--columns", "question,answer",
                       "--text-field", "question", "--languages", "de")["source"]
    assert (source["format"], source["records"], source["malformed"]) == ("tsv", 250, 0)
    assert source["language_profile"]["de"] > 0.95
