"""`agora export RUN`: a run's kept documents, read from the stage-1 store through its decisions,
written as Parquet or JSON Lines, one folder per language; mixtures read the same documents."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from curation.core.workspace import Workspace
from curation.mixture.build import text_reader
from curation.stages.kept import KEPT_COLUMNS, kept_documents
from tests.helpers import run_cli, run_json
from tests.test_curate import agora_json, register_examples


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    """The bundled examples curated: (workspace, the run as `agora curate --json` printed it)."""
    workspace = tmp_path_factory.mktemp("export") / "ws"
    register_examples(workspace)
    return workspace, agora_json("curate", "--workspace", str(workspace))


def _kept(workspace: Path, run_id: str) -> dict[str, tuple]:
    """doc_id -> (lang, text) of the run's kept documents, from its decisions and the stage-1 rows."""
    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace)])
    try:
        rows = con.execute("SELECT x.doc_id, x.lang, s.text FROM decisions x "
                           "JOIN read_parquet('stage1/*/*/*/part-*.parquet', union_by_name = true) s USING (doc_id) "
                           "WHERE x.run_id = ? AND x.kept", [run_id]).fetchall()
    finally:
        con.close()
    return {doc_id: (lang, text) for doc_id, lang, text in rows}


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_export_writes_one_folder_per_language_that_datasets_loads(capsys, examples, tmp_path, fmt):
    import datasets

    workspace, run = examples
    out = tmp_path / fmt
    result = run_json(capsys, "export", run["run_id"], "--format", fmt, "--out", str(out), "--workspace",
                      str(workspace))
    kept = _kept(workspace, run["run_id"])
    assert result["docs"] == run["docs_out"] == len(kept)
    assert sorted(p.name for p in out.iterdir()) == sorted(result["languages"]) == sorted({v[0] for v in kept.values()})
    assert {"de", "zh", "ar", "hi", "ru"} <= set(result["languages"])
    loaded = datasets.load_dataset("parquet" if fmt == "parquet" else "json", data_dir=str(out), split="train")
    assert len(loaded) == run["docs_out"]
    assert set(loaded.column_names) == set(KEPT_COLUMNS)
    assert {row["doc_id"]: (row["lang"], row["text"]) for row in loaded} == kept
    for lang, counts in result["languages"].items():  # every file of a folder holds that language only
        files = sorted((out / lang).iterdir())
        assert [str(f.relative_to(out)) for f in files] == counts["files"] and files[0].suffix == f".{fmt}"
        one = datasets.load_dataset("parquet" if fmt == "parquet" else "json", data_dir=str(out / lang),
                                    split="train")
        assert set(one["lang"]) == {lang} and len(one) == counts["docs"]
        assert one["doc_id"] == sorted(one["doc_id"])
    if fmt == "jsonl":
        first = json.loads((out / "zh" / result["languages"]["zh"]["files"][0].split("/")[-1]).read_text("utf-8")
                           .splitlines()[0])
        assert first["lang"] == "zh" and first["text"] == kept[first["doc_id"]][1]


def test_mixtures_read_the_same_kept_documents(examples):
    workspace, run = examples
    kept = _kept(workspace, run["run_id"])
    documents = kept_documents(Workspace(workspace), run["run_id"])
    sql, params = documents.query(("doc_id", "lang", "text"))
    assert {d: (lang, text) for d, lang, text in duckdb.connect().execute(sql, params).fetchall()} == kept
    ids = sorted(kept)[::-3]  # any order: texts come back in the order asked
    assert list(text_reader(Workspace(workspace), run["run_id"])(ids)) == [kept[i][1] for i in ids]


def test_export_errors_are_one_line(capsys, examples, tmp_path):
    workspace, run = examples
    ws = ["--workspace", str(workspace)]
    code, _, err = run_cli(capsys, "export", "cur-000000000000", "--out", str(tmp_path / "a"), *ws)
    assert code != 0 and "no curation run 'cur-000000000000'" in err and "agora runs" in err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    code, _, err = run_cli(capsys, "export", run["run_id"], "--out", str(tmp_path / "full"), *ws)
    assert code != 0 and "not an empty folder" in err and len(err.strip().splitlines()) == 1
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()  # an empty folder is fine
    assert run_json(capsys, "export", run["run_id"], "--out", str(tmp_path / "empty"), *ws)["docs"] == run["docs_out"]
    with pytest.raises(SystemExit):
        run_cli(capsys, "export", run["run_id"], "--format", "csv", "--out", str(tmp_path / "b"), *ws)
    assert "invalid choice: 'csv'" in capsys.readouterr().err


def test_export_help_teaches(capsys):
    with pytest.raises(SystemExit):
        run_cli(capsys, "export", "--help")
    text = " ".join(capsys.readouterr().out.split())  # as wrapped for the terminal, whitespace aside
    assert "one folder per language" in text and 'load_dataset("parquet", data_dir=OUT)' in text
    assert "--format {parquet,jsonl}" in text and "agora runs" in text
