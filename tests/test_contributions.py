"""Contributions as people ship them: folders with READMEs and licenses, Hugging Face dataset repositories,
include/exclude globs, archives read in place, and broken containers that cost only what is broken."""
from __future__ import annotations

import csv
import gzip
import json
import zipfile

import pandas as pd
import pytest

from curation.core.ids import doc_id
from curation.ingest.files import skip_reason
from curation.ingest.readers import Malformed, Record, SourceSpec, iter_records
from tests.helpers import BASE_FLAGS, DOCS, run_cli, run_json, write_jsonl


@pytest.fixture
def workspace(tmp_path, capsys):
    path = tmp_path / "ws"
    run_cli(capsys, "init", "--workspace", str(path))
    return str(path)


def _register(capsys, workspace, path, *extra, name="src"):
    return run_json(capsys, "register", str(path), "--name", name, "--workspace", workspace, *extra)


def test_mgsm_folder_registers_and_lists_the_files_it_skips(capsys, workspace, shared_data):
    """Eleven TSVs beside SOURCE.md and a LICENSE file: the documentation is not read as rows."""
    result = _register(capsys, workspace, shared_data / "corpora" / "mgsm", *BASE_FLAGS,
                       "--columns", "question,answer", "--text-field", "question,answer")
    source = result["source"]
    assert (source["format"], source["records"], source["malformed"]) == ("tsv", 2750, 0)
    assert result["notes"] == ["skipped 2 file(s): LICENSE-CC-BY-4.0.txt, SOURCE.md (documentation)"]
    assert source["notes"] == result["notes"]


def test_cc_main_folder_registers_its_jsonl_with_format(capsys, workspace, shared_data):
    folder = shared_data / "corpora" / "dolma-test-fixtures" / "cc-main-2019-30"
    code, _, err = run_cli(capsys, "register", str(folder), "--name", "cc", "--workspace", workspace, *BASE_FLAGS)
    assert code == 1 and "mixes formats (jsonl, tsv): pass --format" in err and err.count("\n") == 1
    result = _register(capsys, workspace, folder, *BASE_FLAGS, "--format", "jsonl", name="cc")
    source = result["source"]
    assert (source["records"], source["malformed"]) == (670, 27)  # 27 documents have an empty text
    assert result["notes"] == ["skipped 1 file(s): exact_duplicate_groups.tsv (not jsonl)"]


def test_include_exclude_and_nested_folders(tmp_path, capsys, workspace):
    folder = tmp_path / "contrib"
    write_jsonl(folder / "a" / "x.jsonl", [{"text": DOCS[0]}])
    write_jsonl(folder / "a" / "b" / "y.jsonl", [{"text": DOCS[1]}])
    write_jsonl(folder / "c" / "z.jsonl", [{"text": DOCS[2]}])
    write_jsonl(folder / ".cache" / "w.jsonl", [{"text": "never read"}])
    (folder / ".gitattributes").write_text("*.jsonl filter=lfs\n")
    (folder / "README.md").write_text("# contrib\n")

    picked = _register(capsys, workspace, folder, *BASE_FLAGS, "--include", "a/*", "--exclude", "y.jsonl")["source"]
    assert picked["records"] == 1 and (picked["include"], picked["exclude"]) == (["a/*"], ["y.jsonl"])
    # the stored spec reads the same files in every curation run
    assert [r.record_id for r in iter_records(SourceSpec.of(picked))] == ["a/x.jsonl:1"]

    result = _register(capsys, workspace, folder, *BASE_FLAGS, name="all")
    assert [r.record_id for r in iter_records(SourceSpec.of(result["source"]))] == [
        "a/b/y.jsonl:1", "a/x.jsonl:1", "c/z.jsonl:1"]
    assert result["notes"] == ["skipped 3 file(s): .cache/w.jsonl, .gitattributes, README.md (documentation)"]


@pytest.mark.parametrize("rel, why", [
    ("README.md", "documentation"), ("LICENSE", "documentation"), ("LICENSE-CC-BY-4.0.txt", "documentation"),
    ("SOURCE.md", "documentation"), ("docs/notes.md", "documentation"), ("data/.gitattributes", "documentation"),
    ("sources.jsonl", None), ("license_plates.csv", None), ("data/train.parquet", None),
])
def test_documentation_is_recognised_by_name_not_data_named_alike(rel, why):
    assert skip_reason(rel, None) == why


def _mgsm_rows(shared_data, lang: str) -> list[dict]:
    path = shared_data / "corpora" / "mgsm" / f"mgsm_{lang}.tsv"
    with open(path, encoding="utf-8", newline="") as handle:
        return [{"question": q, "answer": a} for q, a in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]


README_WITH_CONFIGS = """---
license: cc-by-4.0
language:
- de
- en
pretty_name: MGSM excerpt
configs:
- config_name: de
  data_files:
  - split: train
    path: de/train-*
  - split: test
    path: de/test-*
- config_name: en
  data_files:
  - split: train
    path: en/train-*
  - split: test
    path: en/test-*
---
# MGSM excerpt

Grade-school math word problems, translated by people.

## Files
"""


def _hf_repo(tmp_path, shared_data, readme: str, layout: dict[str, tuple[str, int, int]]):
    """A dataset repository as the Hub ships it: README with a YAML header, LICENSE, .gitattributes, data."""
    repo = tmp_path / "repo"
    for rel, (lang, start, stop) in layout.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(_mgsm_rows(shared_data, lang)[start:stop]).to_parquet(repo / rel)
    (repo / "README.md").write_text(readme, encoding="utf-8")
    (repo / "LICENSE").write_text("Creative Commons Attribution 4.0\n")
    (repo / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    return repo


def test_hf_repo_with_configs_records_splits_and_fills_metadata_from_its_readme(tmp_path, capsys, workspace,
                                                                                 shared_data):
    repo = _hf_repo(tmp_path, shared_data, README_WITH_CONFIGS, {
        "de/train-00000-of-00001.parquet": ("de", 0, 8), "de/test-00000-of-00001.parquet": ("de", 8, 10),
        "en/train-00000-of-00001.parquet": ("en", 0, 8), "en/test-00000-of-00001.parquet": ("en", 8, 10)})
    flags = ["--contributor", "T", "--country", "DE", "--text-field", "question,answer"]
    result = _register(capsys, workspace, repo, *flags)
    source = result["source"]
    assert (source["format"], source["records"], source["license"], source["languages"]) == (
        "parquet", 20, "CC-BY-4.0", ["de", "en"])
    assert source["description"] == "Grade-school math word problems, translated by people."
    assert result["notes"] == [
        "license from the README.md header: cc-by-4.0", "languages from the README.md header: de, en",
        "description from the README.md header: Grade-school math word problems, translated by people.",
        "skipped 3 file(s): .gitattributes, LICENSE, README.md (documentation)", "splits: test 4, train 16"]
    records = list(iter_records(SourceSpec.of(source)))
    metas = [(r.meta["config"], r.meta["split"]) for r in records]
    assert metas == [("de", "test")] * 2 + [("de", "train")] * 8 + [("en", "test")] * 2 + [("en", "train")] * 8

    # the split reaches the stage-1 rows, the documents view and `agora docs show`
    run_json(capsys, "curate", "--workspace", workspace)
    shown = run_json(capsys, "docs", "show", doc_id("src", 1, records[0].record_id), "--workspace", workspace)
    assert (shown["record"]["split"], shown["record"]["config"], shown["record"]["url"]) == ("test", "de", None)

    # flags win over the README header, and only what the header filled gets a note
    flagged = _register(capsys, workspace, repo, *flags, "--license", "CC0-1.0", "--languages", "de",
                        "--description", "mine", name="flagged")
    assert (flagged["source"]["license"], flagged["source"]["languages"]) == ("CC0-1.0", ["de"])
    assert not any("header" in note for note in flagged["notes"])


def test_hf_repo_without_configs_takes_splits_from_file_names(tmp_path, capsys, workspace, shared_data):
    readme = "---\nlicense: mit\nlanguage: sw\n---\nSwahili problems.\n"
    repo = _hf_repo(tmp_path, shared_data, readme, {
        "data/train-00000-of-00002.parquet": ("sw", 0, 5), "data/train-00001-of-00002.parquet": ("sw", 5, 9),
        "data/validation-00000-of-00001.parquet": ("sw", 9, 12)})
    result = _register(capsys, workspace, repo, "--contributor", "T", "--country", "KE",
                       "--text-field", "question,answer", "--card", str(_card(tmp_path, "license: CC-BY-4.0")))
    assert result["source"]["license"] == "CC-BY-4.0"  # the data card wins over the README header
    assert result["source"]["languages"] == ["sw"]
    splits = [r.meta["split"] for r in iter_records(SourceSpec.of(result["source"]))]
    assert splits == ["train"] * 9 + ["validation"] * 3 and "splits: train 9, validation 3" in result["notes"]


def _card(tmp_path, *lines: str):
    path = tmp_path / "datacard.yaml"
    path.write_text("\n".join(["name: src", *lines]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("header, message", [
    ("license: other", "license 'other' is not a valid SPDX id"),
    ("license: mit\nlanguage: [en, multilingual]", "unknown language code 'multilingual'"),
])
def test_readme_metadata_that_is_wrong_names_the_readme(tmp_path, capsys, workspace, shared_data, header, message):
    repo = _hf_repo(tmp_path, shared_data, f"---\n{header}\n---\n", {"data/train.parquet": ("en", 0, 3)})
    code, _, err = run_cli(capsys, "register", str(repo), "--name", "x", "--workspace", workspace,
                           "--contributor", "T", "--country", "DE", "--text-field", "question")
    key = header.split(":")[0] if "other" in header else "languages"
    assert code == 1 and message in err and f"README.md header; pass --{key})" in err and err.count("\n") == 1


def test_archive_members_follow_the_folder_rules(tmp_path, capsys, workspace):
    path = tmp_path / "bundle.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("README.md", "# bundle")
        archive.writestr("docs/a.jsonl", json.dumps({"text": DOCS[0]}) + "\n")
        archive.writestr("ground_truth.tsv", "a\tb\n")
    code, _, err = run_cli(capsys, "register", str(path), "--name", "z", "--workspace", workspace, *BASE_FLAGS)
    assert code == 1 and "mixes formats (jsonl, tsv)" in err
    result = _register(capsys, workspace, path, *BASE_FLAGS, "--format", "jsonl")
    assert [r.record_id for r in iter_records(SourceSpec.of(result["source"]))] == ["bundle.zip/docs/a.jsonl:1"]
    assert result["notes"] == ["skipped 2 file(s): bundle.zip/README.md (documentation); "
                               "bundle.zip/ground_truth.tsv (not jsonl)"]


def test_truncated_gz_is_one_malformed_item_and_the_rest_registers(tmp_path, capsys, workspace):
    folder = tmp_path / "shards"
    write_jsonl(folder / "good.jsonl", [{"text": DOCS[0]}])
    payload = gzip.compress("".join(json.dumps({"text": f"{DOCS[1]} {i}"}) + "\n" for i in range(400)).encode())
    (folder / "cut.jsonl.gz").write_bytes(payload[: len(payload) // 2])
    items = list(iter_records(SourceSpec(str(folder), "jsonl")))
    broken = [i for i in items if isinstance(i, Malformed)]
    assert len(broken) == 1 and broken[0].file == "cut.jsonl.gz"
    read = sum(1 for i in items if isinstance(i, Record) and i.file == "cut.jsonl.gz")
    assert broken[0].line == read + 1 and broken[0].problem.startswith(f"file breaks off after line {read}: ")
    assert "end-of-stream marker" in broken[0].problem
    source = _register(capsys, workspace, folder, *BASE_FLAGS)["source"]
    assert (source["records"], source["malformed"]) == (read + 1, 1)


def test_corrupt_zip_member_costs_that_member_only(tmp_path, capsys, workspace):
    path = tmp_path / "bundle.zip"
    members = {f"part-{i}.jsonl": "".join(json.dumps({"text": f"{doc} ({i}, {n})"}) + "\n" for n in range(50))
               for i, doc in enumerate(DOCS)}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("part-1.jsonl")
    middle = info.header_offset + 30 + len(info.filename) + info.compress_size // 2
    data[middle: middle + 8] = b"\xff" * 8  # damage the compressed bytes of the middle member
    path.write_bytes(bytes(data))
    items = list(iter_records(SourceSpec(str(path), "jsonl")))
    broken = [i for i in items if isinstance(i, Malformed)]
    assert len(broken) == 1 and broken[0].file == "bundle.zip/part-1.jsonl"
    assert broken[0].problem.startswith(f"file breaks off after line {broken[0].line - 1}: Error -3 while")
    files = {i.file for i in items if isinstance(i, Record)}
    assert {"bundle.zip/part-0.jsonl", "bundle.zip/part-2.jsonl"} <= files
    assert sum(1 for i in items if isinstance(i, Record) and i.file != "bundle.zip/part-1.jsonl") == 100
    source = _register(capsys, workspace, path, *BASE_FLAGS)["source"]
    assert source["malformed"] == 1 and source["records"] >= 100


def test_saved_dataset_dict_records_carry_their_split(tmp_path):
    import datasets

    rows = [{"text": text} for text in DOCS]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:2]),
                          "test": datasets.Dataset.from_list(rows[2:])}).save_to_disk(str(tmp_path / "dd"))
    records = list(iter_records(SourceSpec(str(tmp_path / "dd"), "hf")))
    assert sorted((r.record_id, r.meta["split"]) for r in records) == [
        ("test#0", "test"), ("train#0", "train"), ("train#1", "train")]
