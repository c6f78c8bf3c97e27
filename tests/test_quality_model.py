"""`agora quality train`: a model fitted on the user's own data, stored by content key, recorded with
its training data and metrics, named by a recipe, scored in stage 1 and named by `docs show`."""
from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from curation.text.quality_model import load_model
from tests.helpers import run_cli, run_json, write_jsonl

REPO = Path(__file__).resolve().parent.parent
CARDS = REPO / "examples" / "contributions"


def write_recipe(path: Path, **data) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "base": str(REPO / "pipelines" / "default.yaml"), **data}), "utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A workspace with three bundled sources and a model: news and essays against a web mirror."""
    from curation.cli import main  # a module fixture has no capsys: the CLI's output is left to pytest

    root = tmp_path_factory.mktemp("quality")
    ws = ["--workspace", str(root / "ws")]
    assert main(["init", *ws]) == 0
    for name in ("kiel-news", "dnipro-prose", "openweb-mirror"):
        assert main(["register", "--card", str(CARDS / name / "datacard.yaml"), *ws]) == 0
    return root, ws


def test_train_records_the_model_its_data_and_metrics(trained, capsys):
    root, ws = trained
    model = run_json(capsys, "quality", "train", "prose", "--positive", "kiel-news,dnipro-prose",
                     "--negative", "openweb-mirror", *ws)
    assert re.fullmatch(r"qm-[0-9a-f]{12}", model["model_id"]) and not model["already_trained"]
    assert (root / "ws" / model["path"]).is_file() and model["path"] == f"quality_models/{model['model_id']}.npz"
    data = model["training_data"]
    assert [(s["name"], s["version"], s["docs"]) for s in data["positive"]] == [("kiel-news", 1, 30),
                                                                                ("dnipro-prose", 1, 30)]
    assert data["negative"][0]["name"] == "openweb-mirror" and data["negative"][0]["fingerprint"].startswith("sha256:")
    metrics = model["metrics"]
    assert (metrics["docs"], metrics["positives"], metrics["negatives"]) == (85, 60, 25)
    assert 0 <= metrics["auc"] <= 1 and 0 < metrics["suggested_min_score"] < 1
    assert model["recipe"] == {"quality_model": model["model_id"],
                               "quality": {"defaults": {"min_quality_model_score": metrics["suggested_min_score"]}}}
    again = run_json(capsys, "quality", "train", "prose", "--positive", "kiel-news,dnipro-prose",
                     "--negative", "openweb-mirror", *ws)
    assert again["model_id"] == model["model_id"] and again["already_trained"]  # same data, same weights
    assert [m["model_id"] for m in run_json(capsys, "quality", "list", *ws)] == [model["model_id"]]
    assert run_json(capsys, "quality", "show", "prose", *ws)["model_id"] == model["model_id"]


def test_a_recipe_names_the_model_and_documents_say_which_model_judged_them(trained, capsys, tmp_path):
    root, ws = trained
    model = run_json(capsys, "quality", "show", "prose", *ws)
    recipe = write_recipe(tmp_path / "judged.yaml", **model["recipe"])
    run = run_json(capsys, "curate", "--recipe", str(recipe), *ws)
    doc_id = _first_doc(root / "ws", run["run_id"])
    doc = run_json(capsys, "docs", "show", doc_id, "--run", run["run_id"], *ws)
    assert doc["quality_model"]["model_id"] == model["model_id"] and doc["quality_model"]["name"] == "prose"
    assert doc["quality_model"]["training_data"]["negative"][0]["name"] == "openweb-mirror"
    assert 0 <= doc["signals"]["quality_model_score"] <= 1
    assert run_json(capsys, "lineage", "doc", doc_id, *ws)["quality_model"]["model_id"] == model["model_id"]
    # Without a model: another stage-1 key, no score, and a refilter across the change is refused.
    plain = run_json(capsys, "curate", *ws)
    plain_doc = run_json(capsys, "docs", "show", doc_id, "--run", plain["run_id"], *ws)
    assert plain_doc["signals"]["quality_model_score"] is None and plain_doc["quality_model"] is None
    code, _, err = run_cli(capsys, "curate", "--refilter", run["run_id"], "--recipe",
                           str(REPO / "pipelines" / "default.yaml"), *ws)
    assert code == 1 and "quality model" in err


def _first_doc(workspace: Path, run_id: str) -> str:
    import duckdb

    con = duckdb.connect(str(workspace / "catalog.duckdb"), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace)])
    try:
        return con.execute("SELECT min(doc_id) FROM decisions WHERE run_id = ?", [run_id]).fetchone()[0]
    finally:
        con.close()


def test_a_recipe_names_an_existing_model_by_id(trained, capsys, tmp_path):
    _, ws = trained
    code, _, err = run_cli(capsys, "curate", "--recipe", str(write_recipe(tmp_path / "a.yaml", quality_model="prose")),
                           *ws)
    assert code == 1 and "quality_model must be a model id" in err
    code, _, err = run_cli(capsys, "curate", "--recipe",
                           str(write_recipe(tmp_path / "b.yaml", quality_model="qm-000000000000")), *ws)
    assert code == 1 and "not in this workspace" in err


def test_a_model_file_is_the_model_its_name_says(trained, tmp_path, capsys):
    root, ws = trained
    model = run_json(capsys, "quality", "show", "prose", *ws)
    assert load_model(root / "ws" / model["path"]).model_id == model["model_id"]
    renamed = tmp_path / "qm-0123456789ab.npz"
    shutil.copy(root / "ws" / model["path"], renamed)
    with pytest.raises(ValueError, match="its content is model"):
        load_model(renamed)


def test_training_needs_both_classes_and_one_kind_of_data(trained, capsys, tmp_path):
    _, ws = trained
    code, _, err = run_cli(capsys, "quality", "train", "x", "--positive", "kiel-news", *ws)
    assert code == 1 and "--negative" in err
    code, _, err = run_cli(capsys, "quality", "train", "x", "--positive", "kiel-news", "--negative", "kiel-news", *ws)
    assert code == 1 and "both positive and negative" in err
    write_jsonl(tmp_path / "one.jsonl", [{"text": "Ein ganz normaler Satz über das Wetter.", "ok": True}] * 3)
    code, _, err = run_cli(capsys, "quality", "train", "x", "--labeled", str(tmp_path / "one.jsonl"),
                           "--label-field", "ok", *ws)
    assert code == 1 and "positive and negative" in err


def test_trained_on_human_labels_it_ranks_unseen_pages(shared_data, capsys, tmp_path):
    """Russian hplt-dev pages labeled by a native speaker: the cross-validated ranking is far from chance."""
    with gzip.open(shared_data / "quality" / "hplt-dev" / "hplt_v2_dev.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if '"rus_Cyrl"' in line]
    labeled = [{"id": r["id"], "text": r["text"].replace("..........", "\n\n"),
                "good": r["lang_correct"] and not (r["porn"] or r["unnatural"])} for r in rows if r["text"]]
    write_jsonl(tmp_path / "ru.jsonl", [*labeled, {"id": "no-label", "text": "Без метки."}])
    ws = ["--workspace", str(tmp_path / "ws")]
    run_json(capsys, "init", *ws)
    model = run_json(capsys, "quality", "train", "hplt-ru", "--labeled", str(tmp_path / "ru.jsonl"),
                     "--label-field", "good", *ws)
    metrics = model["metrics"]
    assert (metrics["docs"], metrics["negatives"]) == (len(labeled), sum(not r["good"] for r in labeled))
    assert model["training_data"]["skipped"] == 1 and model["training_data"]["fingerprint"].startswith("sha256:")
    assert metrics["auc"] > 0.7
