"""Mixtures, training, evaluation, lineage and governance end to end on the bundled examples
(a tiny model and a few steps: what is tested is the plumbing and the records, not quality)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from curation.cli import main
from tests.helpers import run_json

REPO = Path(__file__).resolve().parent.parent
PLANTED = yaml.safe_load((REPO / "examples" / "contributions" / "planted.yaml").read_text("utf-8"))
MIX = ["--budget-tokens", "30k", "--vocab-size", "512", "--holdout", "0.05"]
TRAIN = ["--steps", "4", "--batch-tokens", "4096"]  # 128 windows: the planted documents get seen


def agora(capsys, workspace: Path, *argv: str):
    return run_json(capsys, *argv, "--workspace", str(workspace))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with the examples registered and curated, a mixture, and a trained tiny model."""
    workspace = tmp_path_factory.mktemp("models") / "ws"
    assert main(["init", "--workspace", str(workspace)]) == 0
    for card in sorted((REPO / "examples" / "contributions").glob("*/datacard.yaml")):
        assert main(["register", "--card", str(card), "--workspace", str(workspace), "--json"]) == 0
    assert main(["curate", "--workspace", str(workspace), "--json"]) == 0
    assert main(["mix", "create", "demo", *MIX, "--workspace", str(workspace), "--json"]) == 0
    assert main(["train", "--mixture", "demo", *TRAIN, "--workspace", str(workspace), "--json"]) == 0
    return workspace


def doc_id_of(capsys, workspace: Path, source: str, record_id: str) -> str:
    import duckdb

    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace)])
    try:
        return con.execute("SELECT doc_id FROM documents WHERE source = ? AND record_id = ?",
                           [source, record_id]).fetchone()[0]
    finally:
        con.close()


def test_mix_show_lists_languages_sources_and_budget(capsys, trained):
    parts = agora(capsys, trained, "mix", "show", "demo")
    assert {p["lang"] for p in parts} >= {"de", "fr", "ar", "hi", "zh", "ru", "sw"}
    assert sum(p["target_tokens"] for p in parts) == pytest.approx(30_000, rel=0.05)
    for part in parts:
        assert part["target_tokens"] == 0 or part["epochs"] == pytest.approx(
            part["target_tokens"] / part["available_tokens"], rel=1e-6)


def test_license_policy_excludes_with_the_reason(capsys, trained):
    mixture = agora(capsys, trained, "mix", "create", "commercial-only", *MIX, "--license-policy", "commercial")
    excluded = dict(map(tuple, mixture["excluded"]))
    assert excluded == {"amman-web": "non-commercial license excluded by --license-policy commercial"}
    assert all(p["target_tokens"] == 0 for p in mixture["parts"] if p["source"] == "amman-web")


def test_manifest_is_identical_on_every_run(capsys, trained, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(trained, copy)
    again = agora(capsys, copy, "mix", "create", "demo-again", *MIX)
    first = pq.read_table(Path(agora(capsys, trained, "mix", "create", "demo", *MIX)["path"]) / "manifest.parquet")
    second = pq.read_table(Path(again["path"]) / "manifest.parquet")
    assert first.equals(second)
    assert agora(capsys, trained, "mix", "create", "demo", *MIX)["already_exists"]


def test_training_is_recorded_with_eval_for_every_language(capsys, trained):
    [run] = agora(capsys, trained, "models")
    assert run["status"] == "finished" and run["steps"] == 4
    import duckdb

    con = duckdb.connect(str(trained / "catalog.duckdb"), read_only=True)
    steps = [s for (s,) in con.execute("SELECT step FROM checkpoints WHERE run_id = ? ORDER BY step", [run["run_id"]])
             .fetchall()]
    metrics = con.execute("SELECT count(*) FROM train_metrics WHERE run_id = ?", [run["run_id"]]).fetchone()[0]
    con.close()
    assert steps[-1] == 4 and metrics == 4
    result = agora(capsys, trained, "eval", "--model", run["run_id"])
    languages = {p["lang"] for p in agora(capsys, trained, "mix", "show", "demo") if not p["excluded_reason"]}
    assert set(result["bits_per_byte"]) == languages
    assert all(v is None or 0 < v < 20 for v in result["bits_per_byte"].values())
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = Path(run["run_dir"]) / "model"
    AutoModelForCausalLM.from_pretrained(model_dir)
    assert AutoTokenizer.from_pretrained(model_dir).eos_token == "<|endoftext|>"


def test_generate_returns_text(capsys, trained):
    [run] = agora(capsys, trained, "models")
    out = agora(capsys, trained, "generate", "--model", run["run_id"], "Die Stadt", "--max-new-tokens", "8")
    assert isinstance(out["text"], str) and out["text"]


def test_model_card_names_every_source(capsys, trained):
    [run] = agora(capsys, trained, "models")
    card = (Path(run["run_dir"]) / "model" / "README.md").read_text("utf-8")
    lineage = agora(capsys, trained, "lineage", "model", run["run_id"])
    assert lineage["sources"] and all(s["name"] in card for s in lineage["sources"])
    assert "bits per byte" in card


def test_lineage_of_a_planted_document(capsys, trained):
    from training.batches import read_windows
    from training.packing import PackedTokens

    [run] = agora(capsys, trained, "models")
    mixture = agora(capsys, trained, "mix", "create", "demo", *MIX)
    packed = PackedTokens(Path(mixture["path"]) / "packed")
    seq_len = json.loads(Path(run["run_dir"], "model", "config.json").read_text())["max_position_embeddings"]
    seen_at: dict[str, set[int]] = {}  # the trainer's window record, read through the token→document index
    for row in read_windows(run["run_dir"]).to_pylist():
        for doc in packed.documents_in(row["start"], row["start"] + seq_len + 1):
            seen_at.setdefault(doc, set()).add(row["step"] + 1)
    kept_copies = [group[1] for group in PLANTED["exact_duplicates"] if group[1]["source"] == "openweb-mirror"]
    member = next(m for m in kept_copies if doc_id_of(capsys, trained, m["source"], m["id"]) in seen_at)
    doc_id = doc_id_of(capsys, trained, member["source"], member["id"])

    lineage = agora(capsys, trained, "lineage", "doc", doc_id)
    assert (lineage["source"], lineage["record_id"]) == (member["source"], member["id"])
    assert (lineage["contributor"], lineage["license"]) == ("Stichting Open Webarchief", "CC0-1.0")
    assert lineage["decision"]["kept"] and len(lineage["cluster"]["members"]) == 2
    [used] = [m for m in lineage["mixtures"] if m["name"] == "demo"]
    assert used["repeats"] >= 1
    [traced] = lineage["training_runs"]
    assert traced["run_id"] == run["run_id"] and traced["steps"] == sorted(seen_at[doc_id])


def test_finetune_instruct_source(capsys, trained):
    [run] = agora(capsys, trained, "models")
    tuned = agora(capsys, trained, "finetune", "--from", run["run_id"], "--source", "agora-instruct",
                  "--steps", "2", "--batch-tokens", "256")
    assert tuned["steps"] == 2 and Path(tuned["model_dir"], "config.json").is_file()
    assert Path(tuned["model_dir"]) == Path(tuned["run_dir"]) / "model"
    chain = agora(capsys, trained, "lineage", "model", tuned["run_id"])["training_chain"]
    assert [r["kind"] for r in chain] == ["finetune", "pretrain"]


def test_credits_state_share_alike_and_non_commercial_obligations(capsys, trained):
    result = agora(capsys, trained, "credits", "demo")
    groups = {g["license_class"]: g for g in result["groups"]}
    assert "ShareAlike" in groups["share-alike"]["obligation"]
    assert "no commercial use" in groups["non-commercial"]["obligation"]
    assert {s["name"] for s in groups["non-commercial"]["sources"]} == {"amman-web"}
    code = main(["credits", "demo", "--format", "bibtex", "--workspace", str(trained)])
    assert code == 0 and "@misc{agora-kiel-news," in capsys.readouterr().out


def test_withdraw_keeps_another_contributors_copy(capsys, trained, tmp_path):
    workspace = tmp_path / "ws"
    shutil.copytree(trained, workspace)
    nc_copy, cc0_copy = PLANTED["exact_duplicates"][0]  # amman-web (dropped as duplicate), openweb-mirror (kept)
    promoted = doc_id_of(capsys, workspace, nc_copy["source"], nc_copy["id"])
    result = agora(capsys, workspace, "withdraw", cc0_copy["source"], "--reason", "consent withdrawn")
    assert result["mixtures"] and result["training_runs"]
    rebuilt = agora(capsys, workspace, "mix", "rebuild", "demo")
    assert rebuilt["version"] == rebuilt["previous_version"] + 1
    assert any(cc0_copy["source"] in d["sources_removed"] for d in rebuilt["diff"])
    manifest = pq.read_table(Path(rebuilt["path"]) / "manifest.parquet").to_pylist()
    holdout = pq.read_table(Path(rebuilt["path"]) / "holdout.parquet").to_pylist()
    assert not {r["source"] for r in manifest + holdout} & {cc0_copy["source"]}
    lineage = agora(capsys, workspace, "lineage", "doc", promoted)
    assert lineage["decision"]["kept"], "the other contributor's copy is promoted"
    assert any(m["name"] == "demo" and m["version"] == rebuilt["version"] and (m["repeats"] or m["held_out"])
               for m in lineage["mixtures"])
    sources = {s["name"]: s for s in agora(capsys, workspace, "sources")}
    assert sources[cc0_copy["source"]]["status"] == "withdrawn"


def test_report_renders_the_whole_flow(capsys, trained, tmp_path):
    out = agora(capsys, trained, "report", "--out", str(tmp_path / "report.html"))
    html = Path(out["report"]).read_text("utf-8")
    assert html.count("<svg") >= 6 and "http://" not in html.replace("http://www.w3.org", "")


def test_every_model_command_takes_a_run_id_run_folder_or_model_folder(capsys, trained):
    run = next(r for r in agora(capsys, trained, "models") if r["kind"] == "pretrain")
    model_folder = str(Path(run["run_dir"]) / "model")
    for ref in (run["run_id"], run["run_dir"], model_folder):
        assert agora(capsys, trained, "lineage", "model", ref)["run_id"] == run["run_id"]
        assert agora(capsys, trained, "credits", ref)["kind"] == "model"
        assert agora(capsys, trained, "eval", "--model", ref)["run_id"] == run["run_id"]
    lineage = agora(capsys, trained, "lineage", "model", model_folder)
    assert (lineage["run_dir"], lineage["model_dir"]) == (run["run_dir"], model_folder)
