"""Registration through the CLI: validation messages and exit codes, idempotency, versions, cards."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import BASE_FLAGS, DOCS, run_cli, run_json, write_jsonl


@pytest.fixture
def workspace(tmp_path, capsys):
    path = tmp_path / "ws"
    assert run_cli(capsys, "init", "--workspace", str(path))[0] == 0
    return str(path)


@pytest.fixture
def data(tmp_path):
    return write_jsonl(tmp_path / "data.jsonl", [{"id": i, "text": t} for i, t in enumerate(DOCS)])


def register(capsys, workspace, path, *extra, name="src"):
    return run_cli(capsys, "register", str(path), "--name", name, "--workspace", workspace, *BASE_FLAGS, *extra)


@pytest.mark.parametrize("extra, message", [
    (["--license", "CC-BY-4"], "license 'CC-BY-4' is not a valid SPDX id; did you mean CC-BY-4.0"),
    (["--license", "Apache2"], "did you mean Apache-2.0"),
    (["--languages", "de,xx"], "unknown language code 'xx'"),
    (["--languages", "German"], "did you mean 'de' (German)"),
    (["--country", "XY"], "bad country code 'XY'"),
    (["--text-field", "body"], "text field 'body' not found in data.jsonl; fields there: id, text"),
    (["--columns", "a,b"], "--columns is only for header-less CSV/TSV"),
])
def test_invalid_metadata_gives_one_clear_line(capsys, workspace, data, extra, message):
    code, out, err = register(capsys, workspace, data, *extra)
    assert code == 1 and out == ""
    assert err.startswith("agora: error: ") and message in err and err.count("\n") == 1


def test_missing_path_and_unknown_format(capsys, workspace, tmp_path):
    code, _, err = register(capsys, workspace, tmp_path / "nope.jsonl")
    assert code == 1 and f"path not found: {tmp_path / 'nope.jsonl'}" in err
    odd = tmp_path / "data.xml"
    odd.write_text("<doc/>")
    code, _, err = register(capsys, workspace, odd)
    assert code == 1 and "unknown format for data.xml" in err and "--format" in err


def test_empty_source_is_refused(capsys, workspace, tmp_path):
    empty = write_jsonl(tmp_path / "empty.jsonl", [{"text": ""}, {"text": "  "}])
    code, _, err = register(capsys, workspace, empty)
    assert code == 1 and "empty source: no usable records" in err and "empty.jsonl:1: empty text" in err


def test_bad_choice_is_a_usage_error(capsys, workspace, data):
    with pytest.raises(SystemExit) as exit_info:
        register(capsys, workspace, data, "--format", "xml")
    assert exit_info.value.code == 2


def test_register_requires_a_workspace(capsys, tmp_path, data):
    code, _, err = register(capsys, str(tmp_path / "missing-ws"), data)
    assert code == 1 and "no Agora workspace" in err and "agora init" in err


def test_same_content_is_a_no_op_and_changed_content_a_new_version(capsys, workspace, data, tmp_path):
    first = json.loads(register(capsys, workspace, data, "--json")[1])
    again = json.loads(register(capsys, workspace, data, "--json")[1])
    assert (first["status"], again["status"]) == ("registered", "already registered")
    assert again["source"]["version"] == 1
    code, out, _ = register(capsys, workspace, data)
    assert code == 0 and "already registered" in out

    write_jsonl(data, [{"id": 9, "text": DOCS[0] + " Neu."}])
    changed = json.loads(register(capsys, workspace, data, "--json")[1])
    assert changed["source"]["version"] == 2 and changed["source"]["records"] == 1
    versions = run_json(capsys, "sources", "show", "src", "--workspace", workspace)["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["fingerprint"] != versions[1]["fingerprint"]
    listed = run_json(capsys, "sources", "--workspace", workspace)
    assert [(s["name"], s["version"]) for s in listed] == [("src", 2)]


def test_same_content_under_another_name_warns(capsys, workspace, data):
    register(capsys, workspace, data, name="first")
    result = json.loads(register(capsys, workspace, data, "--json", name="second")[1])
    assert result["status"] == "registered"
    assert "the same content is already registered as source 'first'" in result["warnings"]


def test_sources_json_has_the_documented_fields(capsys, workspace, data):
    register(capsys, workspace, data, "--languages", "deu,fr", "--organization", "Org", "--description", "d")
    [source] = run_json(capsys, "sources", "--workspace", workspace)
    for key in ("name", "version", "records", "malformed", "bytes", "license", "license_class", "languages",
                "language_profile", "contributor", "country", "fingerprint"):
        assert key in source
    assert source["languages"] == ["de", "fr"]
    assert source["license_class"] == "attribution"
    assert source["language_mismatch"] == ["detected 'es' in 33% of sampled documents but it is not declared"]
    assert source["fingerprint"].startswith("sha256:")


def test_unknown_source_is_not_found(capsys, workspace):
    code, _, err = run_cli(capsys, "sources", "show", "ghost", "--workspace", workspace)
    assert code == 4 and "no source named 'ghost'" in err


def test_data_card_supplies_metadata_and_flags_override_it(capsys, workspace, data):
    card = data.parent / "datacard.yaml"
    card.write_text(
        "name: carded\ndata: data.jsonl\ncontributor: Card Person\ncountry: fr\nlicense: cc-by-sa-4.0\n"
        "languages: [de, fr, es]\nid_field: id\nattribution: Thanks to Card Person\n", encoding="utf-8")
    result = run_json(capsys, "register", "--card", str(card), "--workspace", workspace, "--country", "BE")
    source = result["source"]
    assert (source["name"], source["license"], source["license_class"]) == ("carded", "CC-BY-SA-4.0", "share-alike")
    assert (source["country"], source["attribution"], source["id_field"]) == ("BE", "Thanks to Card Person", "id")


def test_hub_dataset_fails_fast_offline(capsys, workspace, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    code, _, err = register(capsys, workspace, "hf://wikitext/wikitext-2-raw-v1")
    assert code == 1 and "cannot load hf://wikitext/wikitext-2-raw-v1" in err
    assert time.monotonic() - started < 20


def test_concurrent_registrations_leave_a_consistent_catalog(tmp_path, workspace):
    paths = [write_jsonl(tmp_path / f"part{i}.jsonl", [{"text": f"{DOCS[i]} ({i})"}]) for i in range(3)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen([sys.executable, "-m", "curation.cli", "register", str(path), "--name", f"c{i}",
                          "--workspace", workspace, *BASE_FLAGS], env=env, stderr=subprocess.PIPE, text=True)
        for i, path in enumerate(paths)
    ]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code == 0 or (code == 3 and "workspace is busy" in err), err
    import duckdb

    con = duckdb.connect(str(Path(workspace) / "catalog.duckdb"), read_only=True)
    names = [n for (n,) in con.execute("SELECT name FROM sources ORDER BY name").fetchall()]
    contributors = con.execute("SELECT count(*) FROM contributors").fetchone()[0]
    con.close()
    assert names == [f"c{i}" for i, (code, _) in enumerate(results) if code == 0]
    assert contributors == 1
