"""Curation end to end on the bundled examples: planted cases, provenance, resume, refilter."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from curation.cli import main
from curation.core.workspace import Workspace
from curation.ingest.licenses import license_classes
from curation.stages.kept import kept_documents
from tests.helpers import BASE_FLAGS, write_jsonl

REPO = Path(__file__).resolve().parent.parent
PLANTED = yaml.safe_load((REPO / "examples" / "contributions" / "planted.yaml").read_text("utf-8"))


def agora_json(*argv: str):
    """Run the CLI in a subprocess (as a user would) and parse its JSON."""
    done = subprocess.run([sys.executable, "-m", "curation.cli", *argv, "--json"], capture_output=True, text=True,
                          cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def register_examples(workspace: Path) -> None:
    assert main(["init", "--workspace", str(workspace)]) == 0
    for card in sorted((REPO / "examples" / "contributions").glob("*/datacard.yaml")):
        assert main(["register", "--card", str(card), "--workspace", str(workspace)]) == 0


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    workspace = tmp_path_factory.mktemp("curate") / "ws"
    register_examples(workspace)
    run = agora_json("curate", "--workspace", str(workspace))
    assert not run["already_done"]
    return workspace, run


def query(workspace: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace)])
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def decision_of(workspace: Path, run_id: str, source: str, record_id: str) -> tuple:
    rows = query(workspace, "SELECT x.kept, x.step, x.rule, x.detail, d.doc_id FROM documents d "
                            "JOIN decisions x USING (doc_id) WHERE x.run_id = ? AND d.source = ? AND d.record_id = ?",
                 [run_id, source, record_id])
    assert len(rows) == 1, (source, record_id, rows)
    return rows[0]


def kept_texts(workspace: Path, run_id: str) -> pd.DataFrame:
    """A run's kept documents as mixtures and `agora export` read them."""
    sql, params = kept_documents(Workspace(workspace), run_id).query()
    con = duckdb.connect()
    try:
        return con.execute(sql, params).df()
    finally:
        con.close()


def test_curate_json_and_exported_documents(curated, tmp_path):
    workspace, run = curated
    assert {"run_id", "docs_in", "docs_out"} <= set(run)
    assert 0 < run["docs_out"] < run["docs_in"]
    assert not (workspace / "runs" / run["run_id"] / "curated").exists()  # a run is decisions, not a text copy
    import datasets

    exported = agora_json("export", run["run_id"], "--out", str(tmp_path / "out"), "--workspace", str(workspace))
    files = sorted(str(p) for p in (tmp_path / "out").glob("*/*.parquet"))
    loaded = datasets.load_dataset("parquet", data_files=files, split="train")
    assert exported["docs"] == len(loaded)
    assert len(loaded) == run["docs_out"]
    assert {"doc_id", "source", "source_version", "record_id", "lang", "text"} <= set(loaded.column_names)
    assert {p.parent.name for p in map(Path, files)} >= {"de", "zh", "ar", "hi", "ru"}
    assert set(loaded.filter(lambda row: row["lang"] == "de")["source"]) >= {"kiel-news"}


@pytest.mark.parametrize("case, step, rules", [
    ("boilerplate", "quality", None),
    ("spam", "quality", None),
    ("short", "quality", {"min_n_words"}),
    ("wrong_language", "langid", {"undeclared_language"}),
])
def test_planted_cases_are_dropped_with_their_reason(curated, case, step, rules):
    workspace, run = curated
    for item in PLANTED[case]:
        kept, got_step, rule, _, _ = decision_of(workspace, run["run_id"], item["source"], item["id"])
        assert not kept and got_step == step, (item, got_step, rule)
        if rules:
            assert rule in rules, (item, rule)


def test_exact_duplicates_keep_the_most_permissive_copy(curated):
    workspace, run = curated
    classes = license_classes()
    license_of = {s["name"]: s["license_class"] for s in agora_json("sources", "--workspace", str(workspace))}
    for group in PLANTED["exact_duplicates"]:
        decisions = [decision_of(workspace, run["run_id"], m["source"], m["id"]) for m in group]
        kept = [m for m, d in zip(group, decisions) if d[0]]
        assert len(kept) == 1, group
        best = min(classes.index(license_of[m["source"]]) for m in group)
        assert classes.index(license_of[kept[0]["source"]]) == best
        for _, decision in zip(group, decisions):
            if not decision[0]:
                assert (decision[1], decision[2]) == ("dedup", "exact_duplicate")


def test_near_duplicates_are_clustered(curated):
    workspace, run = curated
    for pair in PLANTED["near_duplicates"]:
        ids = [decision_of(workspace, run["run_id"], m["source"], m["id"])[4] for m in (pair["original"], pair["copy"])]
        clusters = query(workspace, "SELECT DISTINCT cluster_id FROM dup_clusters "
                                    "WHERE run_id = ? AND doc_id IN (?, ?)",
                         [run["run_id"], *ids])
        assert len(clusters) == 1, pair
        decisions = [decision_of(workspace, run["run_id"], m["source"], m["id"])
                     for m in (pair["original"], pair["copy"])]
        assert sorted(d[0] for d in decisions) == [False, True]


def test_pii_is_redacted_in_curated_text(curated):
    workspace, run = curated
    texts = kept_texts(workspace, run["run_id"])["text"]
    for item in PLANTED["pii"]:
        for value in item.get("emails", []) + item.get("ips", []):
            assert not texts.str.contains(value, regex=False).any(), value
    counts = query(workspace, "SELECT sum(pii_email), sum(pii_ip) FROM signals WHERE run_id = ?", [run["run_id"]])[0]
    assert counts[0] >= sum(len(i.get("emails", [])) for i in PLANTED["pii"])


def test_docs_show_explains_a_dropped_duplicate(curated):
    workspace, run = curated
    member = PLANTED["exact_duplicates"][0][0]
    doc_id = decision_of(workspace, run["run_id"], member["source"], member["id"])[4]
    doc = agora_json("docs", "show", doc_id, "--workspace", str(workspace))
    assert doc["record"]["record_id"] == member["id"]
    assert doc["decision"]["rule"] == "exact_duplicate"
    assert {m["record_id"] for m in doc["cluster"]["members"]} == {m["id"] for m in PLANTED["exact_duplicates"][0]}
    assert doc["signals"]["lang"] == "ar"


def test_runs_show_has_the_funnel(curated):
    workspace, run = curated
    shown = agora_json("runs", "show", run["run_id"], "--workspace", str(workspace))
    funnel = shown["funnel"]
    assert [s["step"] for s in funnel["steps"]] == ["langid", "quality", "dedup"]
    assert funnel["steps"][-1]["docs_after"] == run["docs_out"]
    assert sum(row["docs_in"] for row in funnel["languages"].values()) == run["docs_in"]
    assert funnel["dup_clusters"]["cross_source"] >= len(PLANTED["exact_duplicates"])


def test_curating_again_is_a_no_op(curated):
    workspace, run = curated
    again = agora_json("curate", "--workspace", str(workspace))
    assert again["run_id"] == run["run_id"] and again["already_done"]


def test_refilter_changes_decisions_not_signals(curated, tmp_path):
    workspace, run = curated
    stage1 = sorted((workspace / "stage1").rglob("part-*.parquet"))
    before = {p: p.stat().st_mtime_ns for p in stage1}
    strict = yaml.safe_load((REPO / "pipelines" / "default.yaml").read_text("utf-8"))
    strict["quality"]["defaults"]["min_n_words"] = 150
    recipe = tmp_path / "strict.yaml"
    recipe.write_text(yaml.safe_dump(strict), encoding="utf-8")
    refiltered = agora_json("curate", "--refilter", run["run_id"], "--recipe", str(recipe),
                            "--workspace", str(workspace))
    assert refiltered["run_id"] != run["run_id"] and refiltered["docs_out"] < run["docs_out"]
    assert {p: p.stat().st_mtime_ns for p in stage1} == before
    same_signals = query(workspace, """
        SELECT count(*) FROM signals a JOIN signals b USING (doc_id)
        WHERE a.run_id = ? AND b.run_id = ? AND a.n_words IS NOT DISTINCT FROM b.n_words""",
        [run["run_id"], refiltered["run_id"]])[0][0]
    assert same_signals == run["docs_in"]
    newly = query(workspace, "SELECT count(*) FROM decisions WHERE run_id = ? AND rule = 'min_n_words'",
                  [refiltered["run_id"]])[0][0]
    old = query(workspace, "SELECT count(*) FROM decisions WHERE run_id = ? AND rule = 'min_n_words'",
                [run["run_id"]])[0][0]
    assert newly > old


def _tables(workspace: Path, run_id: str) -> dict[str, list]:
    return {
        "decisions": query(workspace, "SELECT * EXCLUDE (run_id) FROM decisions WHERE run_id = ? ORDER BY doc_id",
                           [run_id]),
        "clusters": query(workspace, "SELECT * EXCLUDE (run_id) FROM dup_clusters WHERE run_id = ? ORDER BY doc_id",
                          [run_id]),
        "curated": sorted(map(tuple, kept_texts(workspace, run_id).astype(str).values.tolist())),
        "signals": query(workspace, "SELECT * EXCLUDE (run_id) FROM signals WHERE run_id = ? ORDER BY doc_id",
                         [run_id]),
    }


def test_kill_and_resume_gives_identical_tables(curated, tmp_path):
    reference_ws, run = curated
    workspace = tmp_path / "ws"
    register_examples(workspace)
    command = [sys.executable, "-m", "curation.cli", "curate", "--workers", "2", "--workspace", str(workspace)]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    logs = workspace / "runs"
    deadline = time.monotonic() + 120
    while not list(logs.glob("*/stage1-logs/datatrove/logs/task_*.log")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its datatrove workers, mid-run
    proc.wait()
    resumed = agora_json("curate", "--workers", "2", "--workspace", str(workspace))
    assert resumed["run_id"] == run["run_id"]  # the same inputs make the same run
    assert not resumed["already_done"]  # the kill did interrupt it
    assert _tables(workspace, resumed["run_id"]) == _tables(reference_ws, run["run_id"])


def test_incremental_curation_reuses_unchanged_sources(curated, tmp_path):
    reference_ws, _ = curated
    workspace = tmp_path / "ws"
    shutil.copytree(reference_ws, workspace)
    reused = {p: p.stat().st_mtime_ns for p in (workspace / "stage1").rglob("part-*.parquet")}
    extra = write_jsonl(tmp_path / "new.jsonl", [
        {"id": "n1", "text": "Ein ganz neuer Beitrag über den Hafen, die Fähren und das Wetter an der Küste. " * 8}])
    assert main(["register", str(extra), "--name", "newcomer", "--languages", "de", "--id-field", "id",
                 "--workspace", str(workspace), *BASE_FLAGS]) == 0
    run = agora_json("curate", "--workspace", str(workspace))
    assert {p: p.stat().st_mtime_ns for p in reused} == reused
    new_parts = set((workspace / "stage1").rglob("part-*.parquet")) - set(reused)
    assert {p.parent.parent.name for p in new_parts} == {"newcomer"}
    assert run["docs_in"] == agora_json("runs", "show", run["run_id"], "--workspace", str(workspace))["docs_in"]


def test_every_script_gets_signals_and_signatures(tmp_path):
    texts = {
        "zh": ("北京是中国的首都，有三千多年的历史。城市里有许多古老的建筑，也有现代化的高楼。"
               "每年都有很多游客来参观故宫和长城。"),
        "ja": ("東京は日本の首都で、世界でも有数の大都市です。"
               "古い寺院と新しいビルが並び、電車は毎日たくさんの人を運びます。"),
        "th": "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย มีวัดที่สวยงามมากมายและตลาดน้ำที่มีชื่อเสียง นักท่องเที่ยวชอบมาเที่ยวที่นี่ทุกปี",
        "ar": ("القاهرة هي عاصمة مصر وأكبر مدنها. "
               "يعيش فيها ملايين الناس، وتضم متاحف ومساجد قديمة وأسواقا مزدحمة على ضفاف النيل."),
    }
    workspace = tmp_path / "ws"
    data = write_jsonl(tmp_path / "scripts.jsonl", [{"id": k, "text": v} for k, v in texts.items()])
    assert main(["init", "--workspace", str(workspace)]) == 0
    assert main(["register", str(data), "--name", "scripts", "--id-field", "id", "--workspace", str(workspace),
                 *BASE_FLAGS]) == 0
    agora_json("curate", "--workspace", str(workspace))
    rows = pd.read_parquet(next((workspace / "stage1").rglob("part-*.parquet")))
    assert sorted(rows["record_id"]) == sorted(texts)
    assert "shingles" not in rows and (rows["signature"].map(len) == 128).all()  # stage 2 shingles the text
    assert (rows["n_words"] > 0).all()
    assert dict(zip(rows["record_id"], rows["script"])) == {"zh": "Hani", "ja": "Jpan", "th": "Thai", "ar": "Arab"}
