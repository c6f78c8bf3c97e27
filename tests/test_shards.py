"""Stage 1 reads every record exactly once, whatever the number of tasks: shards are whole files,
Parquet row-group ranges or newline-aligned byte ranges; what each task read is in the catalog;
a killed run redoes only its unfinished tasks."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.cli import main
from curation.core.catalog import open_catalog
from curation.core.workspace import Workspace
from curation.ingest.readers import Malformed, Record, Skipped, SourceSpec, iter_records
from curation.ingest.shards import Shard, default_tasks, plan
from tests.helpers import DOCS, run_json

REPO = Path(__file__).resolve().parent.parent
CARDS = sorted((REPO / "examples" / "contributions").glob("*/datacard.yaml"))


def seen(items) -> list[tuple]:
    """What a reader produced, comparable across runs: records with their ids and text, and the rest."""
    out = []
    for item in items:
        if isinstance(item, Record):
            out.append(("record", item.record_id, item.text, item.line))
        elif isinstance(item, Malformed):
            out.append(("malformed", item.where(), item.problem))
        else:
            assert isinstance(item, Skipped)
            out.append(("skipped", item.file, item.line, item.reason))
    return out


def read_in_tasks(spec: SourceSpec, n_tasks: int) -> list[tuple]:
    return [row for task in plan([spec], n_tasks) for row in seen(iter_records(spec, task))]


@pytest.fixture()
def line_files(tmp_path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    lines = []
    for i in range(300):
        if i % 37 == 5:
            lines.append("{not json")
        elif i % 41 == 7:
            lines.append("")
        else:
            lines.append(json.dumps({"text": f"{DOCS[i % 3]} ({i})", "n": i}, ensure_ascii=False))
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text(json.dumps({"text": "the last line has no newline"}), encoding="utf-8")
    return folder


def test_jsonl_in_byte_ranges_reads_each_line_once(line_files):
    spec = SourceSpec(str(line_files), "jsonl")
    whole = seen(iter_records(spec))
    assert sum(row[0] == "malformed" for row in whole) == 8
    for n_tasks in (1, 3, 64):
        assert read_in_tasks(spec, n_tasks) == whole
    ranges = [shard for task in plan([spec], 64) for shard in task]
    assert len(ranges) > 30 and {s.rel for s in ranges} == {"a.jsonl", "b.jsonl"}
    assert all(s.first_line > 1 for s in ranges if s.start > 0)


def test_csv_ranges_never_cut_inside_a_quoted_field(tmp_path):
    rows = ["id,text"] + [f'{i},"{DOCS[i % 3]}\nsecond line, with ""quotes"" ({i})"' for i in range(200)]
    path = tmp_path / "posts.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    spec = SourceSpec(str(path), "csv", id_field="id")
    whole = seen(iter_records(spec))
    assert len(whole) == 200 and all(row[0] == "record" for row in whole)
    assert whole[1][3] == 4  # a record's line is where it starts: two lines per record after the header
    for n_tasks in (3, 64):
        assert read_in_tasks(spec, n_tasks) == whole
    starts = [s.start for task in plan([spec], 64) for s in task]
    data = path.read_bytes()
    assert all(data[:start].count(b'"') % 2 == 0 for start in starts)  # every cut is between records


def test_tsv_header_is_read_by_every_range(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("text\tlang\n" + "".join(f"{DOCS[i % 3]} {i}\tx\n" for i in range(120)), encoding="utf-8")
    spec = SourceSpec(str(path), "tsv")
    assert read_in_tasks(spec, 7) == seen(iter_records(spec))


def test_parquet_shards_by_row_groups_and_compressed_files_whole(tmp_path):
    table = pa.table({"text": [f"{DOCS[i % 3]} {i}" for i in range(500)]})
    pq.write_table(table, tmp_path / "p.parquet", row_group_size=50)
    spec = SourceSpec(str(tmp_path / "p.parquet"), "parquet")
    shards = [s for task in plan([spec], 4) for s in task]
    assert len(shards) >= 3 and [(s.start, s.end) for s in shards] == list(zip(
        [0] + [s.end for s in shards[:-1]], [s.end for s in shards])) and shards[-1].end == 10
    assert read_in_tasks(spec, 4) == seen(iter_records(spec))

    import gzip
    (tmp_path / "z").mkdir()
    with gzip.open(tmp_path / "z" / "c.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps({"text": f"{DOCS[0]} {i}"}) + "\n" for i in range(100))
    gz = SourceSpec(str(tmp_path / "z"), "jsonl")
    assert [s for task in plan([gz], 8) for s in task] == [Shard(0, str(tmp_path / "z" / "c.jsonl.gz"), "c.jsonl.gz")]


def test_default_task_count_follows_the_input_size():
    assert default_tasks(10, workers=2) == 2
    assert default_tasks(1 << 30, workers=2) == 16  # 1 GiB in 64 MiB tasks


# --- end to end: `agora curate --tasks N` on the bundled examples ------------------------------------------------


def curated(capsys, workspace: Path, *flags: str) -> dict:
    ws = ["--workspace", str(workspace)]
    run_json(capsys, "init", *ws)
    for card in CARDS:
        run_json(capsys, "register", "--card", str(card), *ws)
    return run_json(capsys, "curate", *flags, *ws)


def decisions(workspace: Path, run_id: str) -> list[tuple]:
    with open_catalog(Workspace(workspace)) as con:
        return con.execute("SELECT doc_id, kept, step, rule, lang FROM decisions WHERE run_id = ? ORDER BY doc_id",
                           [run_id]).fetchall()


def expected_reads(capsys, workspace: Path) -> int:
    sources = run_json(capsys, "sources", "--workspace", str(workspace))
    return sum(s["records"] + s["malformed"] + (s.get("skipped") or 0) for s in sources)


@pytest.fixture(scope="module")
def one_task(tmp_path_factory) -> tuple[Path, dict]:
    """The examples curated in a single task: what every other task count must reproduce."""
    workspace = tmp_path_factory.mktemp("one") / "ws"
    ws = ["--workspace", str(workspace)]
    quiet_json("init", *ws)
    for card in CARDS:
        quiet_json("register", "--card", str(card), *ws)
    return workspace, quiet_json("curate", "--tasks", "1", *ws)


def quiet_json(*argv: str) -> dict:
    """The CLI's --json answer, for module fixtures (which cannot use capsys)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert main([*argv, "--json"]) == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize("n_tasks", [3, 64])
def test_any_task_count_reads_every_record_once_and_decides_the_same(capsys, tmp_path, one_task, n_tasks):
    base_ws, base = one_task
    workspace = tmp_path / "ws"
    run = curated(capsys, workspace, "--tasks", str(n_tasks), "--workers", "2")
    assert run["run_id"] == base["run_id"]
    for ws, tasks in ((base_ws, 1), (workspace, n_tasks)):
        read = run_json(capsys, "runs", "show", run["run_id"], "--workspace", str(ws))["stage1_read"]
        assert read["tasks"] == tasks
        assert read["records"] + read["malformed"] + read["skipped"] == expected_reads(capsys, ws)
    assert decisions(workspace, run["run_id"]) == decisions(base_ws, base["run_id"])
    if n_tasks == 64:
        planned = json.loads((workspace / "runs" / run["run_id"] / "stage1-logs" / "plan.json").read_text())
        cut = {s["rel"] for task in planned["tasks"] for s in task if s["start"] > 0}
        assert {"pages.jsonl", "posts.csv", "transcripts.tsv"} <= cut  # uncompressed files were cut in ranges


def test_a_killed_run_redoes_only_unfinished_tasks(capsys, tmp_path, one_task):
    base_ws, base = one_task
    workspace = tmp_path / "ws"
    ws = ["--workspace", str(workspace)]
    run_json(capsys, "init", *ws)
    for card in CARDS:
        run_json(capsys, "register", "--card", str(card), *ws)
    flags = ["curate", "--tasks", "40", "--workers", "1", *ws]
    first = subprocess.Popen([sys.executable, "-m", "curation.cli", *flags], cwd=REPO, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logs = workspace / "runs" / base["run_id"] / "stage1-logs"
    completions = logs / "datatrove" / "completions"
    while first.poll() is None and len(list(completions.glob("*"))) < 5:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in completions.glob("*")}
    assert 5 <= len(finished) < 40, "the run should be killed part-way"
    counted = {p.name: p.stat().st_mtime_ns for p in (logs / "reads").glob("*.json")}

    run = run_json(capsys, *flags)
    assert run["run_id"] == base["run_id"]
    assert {p.name: p.stat().st_mtime_ns for p in completions.glob("*") if p.name in finished} == finished
    again = {p.name: p.stat().st_mtime_ns for p in (logs / "reads").glob("*.json")}
    assert len(again) == 40 and all(again[name] == mtime for name, mtime in counted.items()
                                    if name.removesuffix(".json") in finished)
    read = run_json(capsys, "runs", "show", run["run_id"], *ws)["stage1_read"]
    assert read["records"] + read["malformed"] + read["skipped"] == expected_reads(capsys, workspace)
    assert decisions(workspace, run["run_id"]) == decisions(base_ws, base["run_id"])
