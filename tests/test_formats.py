"""Every input format registers, with the right counts, and malformed records are counted, not fatal."""
from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tarfile
import zipfile

import pandas as pd
import pyarrow as pa
import pytest
import zstandard

from curation.ingest.files import detect_format
from curation.ingest.readers import Malformed, Record, SourceSpec, iter_records
from tests.helpers import BASE_FLAGS, DOCS, run_cli, run_json, write_jsonl

ROWS = [{"id": f"r{i}", "text": text} for i, text in enumerate(DOCS)]


@pytest.fixture
def workspace(tmp_path, capsys):
    path = tmp_path / "ws"
    run_cli(capsys, "init", "--workspace", str(path))
    return str(path)


def _register(capsys, workspace, path, *extra):
    return run_json(capsys, "register", str(path), "--name", "src", "--workspace", workspace, *BASE_FLAGS, *extra)


def make_jsonl(tmp_path):
    return write_jsonl(tmp_path / "data.jsonl", ROWS)


def make_jsonl_gz(tmp_path):
    path = tmp_path / "data.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in ROWS)
    return path


def make_jsonl_zst(tmp_path):
    path = tmp_path / "data.jsonl.zst"
    payload = "".join(json.dumps(r) + "\n" for r in ROWS).encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(payload))
    return path


def make_parquet_shards(tmp_path):
    (tmp_path / "shards").mkdir()
    pd.DataFrame(ROWS[:2]).to_parquet(tmp_path / "shards" / "part-0.parquet")
    pd.DataFrame(ROWS[2:]).to_parquet(tmp_path / "shards" / "part-1.parquet")
    return tmp_path / "shards" / "*.parquet"


def make_csv(tmp_path):
    path = tmp_path / "data.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    return path


def make_text_folder(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    for i, text in enumerate(DOCS):
        (folder / f"doc_{i}.txt").write_text(text, encoding="utf-8")
    return folder


def make_hf_folder(tmp_path):
    import datasets

    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "hf"))
    return tmp_path / "hf"


def _jsonl_bytes() -> bytes:
    return "".join(json.dumps(r) + "\n" for r in ROWS).encode()


def make_jsonl_bz2(tmp_path):
    path = tmp_path / "data.jsonl.bz2"
    path.write_bytes(bz2.compress(_jsonl_bytes()))
    return path


def make_jsonl_xz(tmp_path):
    path = tmp_path / "data.jsonl.xz"
    path.write_bytes(lzma.compress(_jsonl_bytes()))
    return path


def make_arrow_file(tmp_path):
    path = tmp_path / "data.arrow"
    with pa.ipc.new_file(path, pa.Table.from_pylist(ROWS).schema) as writer:
        writer.write_table(pa.Table.from_pylist(ROWS))
    return path


def make_arrow_stream(tmp_path):
    path = tmp_path / "data.arrow"
    with pa.ipc.new_stream(path, pa.Table.from_pylist(ROWS).schema) as writer:
        writer.write_table(pa.Table.from_pylist(ROWS))
    return path


def make_text_tar_gz(tmp_path):
    """A .tar.gz of .txt files, with a README the reader must leave out."""
    path = tmp_path / "stories.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        members = [("stories/README.md", "# not a story"), *((f"stories/{i}.txt", d) for i, d in enumerate(DOCS))]
        for name, text in members:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def make_jsonl_zip(tmp_path):
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("LICENSE", "CC BY 4.0")
        archive.writestr("part-0.jsonl", "".join(json.dumps(r) + "\n" for r in ROWS[:2]))
        archive.writestr("part-1.jsonl.gz", gzip.compress(json.dumps(ROWS[2]).encode() + b"\n"))
    return path


@pytest.mark.parametrize("make, fmt", [
    (make_jsonl, "jsonl"), (make_jsonl_gz, "jsonl"), (make_jsonl_zst, "jsonl"), (make_jsonl_bz2, "jsonl"),
    (make_jsonl_xz, "jsonl"), (make_parquet_shards, "parquet"), (make_arrow_file, "arrow"),
    (make_arrow_stream, "arrow"), (make_csv, "csv"), (make_text_folder, "text"), (make_text_tar_gz, "text"),
    (make_jsonl_zip, "jsonl"), (make_hf_folder, "hf"),
])
def test_each_format_registers(tmp_path, capsys, workspace, make, fmt):
    path = make(tmp_path)
    assert detect_format(str(path)) == fmt
    result = _register(capsys, workspace, path)
    source = result["source"]
    assert result["status"] == "registered"
    assert (source["format"], source["records"], source["malformed"]) == (fmt, 3, 0)
    assert source["bytes"] == sum(len(d.encode()) for d in DOCS)
    assert set(source["language_profile"]) == {"de", "fr", "es"}


def test_headerless_tsv_with_columns(tmp_path, capsys, workspace):
    path = tmp_path / "qa.tsv"
    path.write_text('How many "eggs" are left?\t16\nWhat is 2 + 2?\t4\n', encoding="utf-8")
    source = _register(capsys, workspace, path, "--columns", "question,answer", "--text-field", "question,answer")
    assert source["source"]["records"] == 2
    records = list(iter_records(SourceSpec(str(path), "tsv", ("question", "answer"), None, ("question", "answer"))))
    assert records[0].text == 'How many "eggs" are left?\n\n16'
    assert records[0].record_id == "qa.tsv:1"


def test_record_ids_use_the_id_field_or_the_location(tmp_path):
    path = make_jsonl(tmp_path)
    by_id = [r.record_id for r in iter_records(SourceSpec(str(path), "jsonl", ("text",), "id"))]
    by_line = [r.record_id for r in iter_records(SourceSpec(str(path), "jsonl"))]
    assert by_id == ["r0", "r1", "r2"]
    assert by_line == ["data.jsonl:1", "data.jsonl:2", "data.jsonl:3"]


def test_malformed_lines_are_counted_with_file_and_line(tmp_path, capsys, workspace):
    path = tmp_path / "messy.jsonl"
    lines = [
        json.dumps({"text": DOCS[0]}).encode(),
        b'{"text": "broken',                              # invalid JSON
        json.dumps({"title": "no text here"}).encode(),   # no text field
        b'{"text": "caf\xe9 sans UTF-8"}',                # invalid UTF-8
        json.dumps({"text": "   "}).encode(),             # empty text
        json.dumps({"text": DOCS[1]}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    items = list(iter_records(SourceSpec(str(path), "jsonl")))
    malformed = [i for i in items if isinstance(i, Malformed)]
    assert [(m.line, m.problem.split(":")[0]) for m in malformed] == [
        (2, "invalid JSON"), (3, "no text field (text)"), (4, "invalid UTF-8 at byte 13"), (5, "empty text")]
    assert [i.line for i in items if isinstance(i, Record)] == [1, 6]

    result = _register(capsys, workspace, path)
    assert (result["source"]["records"], result["source"]["malformed"]) == (2, 4)
    assert any("messy.jsonl:2: invalid JSON" in w for w in result["warnings"])
    shown = run_json(capsys, "sources", "show", "src", "--workspace", workspace)
    examples = shown["versions"][0]["malformed_examples"]
    assert [(e["file"], e["line"]) for e in examples] == [("messy.jsonl", n) for n in (2, 3, 4, 5)]


def test_csv_row_with_wrong_column_count_is_malformed(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text('id,text\n1,"fine text"\n2,"extra",column\n', encoding="utf-8")
    items = list(iter_records(SourceSpec(str(path), "csv")))
    assert isinstance(items[0], Record)
    assert items[1].problem == "expected 2 columns (id, text), found 3" and items[1].line == 3
