"""The bundled example contributions meet their brief, and `agora demo` runs the whole flow on them."""
from __future__ import annotations

from pathlib import Path

import yaml

from curation.text.scripts import detect_script
from tests.helpers import run_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "contributions"


def test_demo_runs_the_whole_flow(capsys, tmp_path):
    result = run_json(capsys, "demo", "--workspace", str(tmp_path / "ws"))
    sources = {s["name"]: s for s in result["sources"]}
    cards = sorted(p.parent.name for p in EXAMPLES.glob("*/datacard.yaml"))
    assert sorted(sources) == cards

    assert len({s["country"] for s in sources.values()}) >= 6
    assert len({lang for s in sources.values() for lang in s["languages"]}) >= 10
    assert {"jsonl", "parquet", "csv", "tsv", "text", "hf"} <= {s["format"] for s in sources.values()}
    assert {"non-commercial", "share-alike", "permissive"} <= {s["license_class"] for s in sources.values()}
    planted = yaml.safe_load((EXAMPLES / "planted.yaml").read_text("utf-8"))
    for name in {m["source"] for m in planted["malformed"]}:
        assert sources[name]["malformed"] >= 1

    assert 0 < result["curation"]["docs_out"] < result["curation"]["docs_in"]
    assert result["mixture"]["train_tokens"] > 0
    assert result["model"]["last_loss"] < result["model"]["first_loss"]
    assert result["finetuned"]["steps"] > 0
    assert {"de", "ar", "hi", "zh", "ru"} <= {k for k, v in result["bits_per_byte"].items() if v is not None}
    assert isinstance(result["sample"], str)
    assert Path(result["report"]).is_file()

    again = run_json(capsys, "demo", "--workspace", str(tmp_path / "ws"))  # everything is already done
    assert [s["version"] for s in again["sources"]] == [1] * len(cards)
    assert again["model"]["already_done"] and again["finetuned"]["already_done"]
    assert again["curation"]["run_id"] == result["curation"]["run_id"]


def test_examples_cover_five_scripts(capsys, tmp_path):
    from curation.ingest.datacard import load_card
    from curation.ingest.readers import Record, iter_records
    from curation.ingest.register import registration_from

    scripts = set()
    for card in EXAMPLES.glob("*/datacard.yaml"):
        request = registration_from(load_card(card)).validate()
        scripts |= {detect_script(r.text) for r in iter_records(request.spec()) if isinstance(r, Record)}
    assert {"Latn", "Cyrl", "Arab", "Deva", "Hani"} <= scripts
