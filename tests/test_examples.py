"""The bundled example contributions meet their brief, and `agora demo` registers all of them."""
from __future__ import annotations

from pathlib import Path

import yaml

from curation.scripts import detect_script
from tests.helpers import run_json

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "contributions"


def test_demo_registers_every_example(capsys, tmp_path):
    result = run_json(capsys, "demo", "--workspace", str(tmp_path / "ws"))
    sources = {s["name"]: s for s in result["sources"]}
    cards = sorted(p.parent.name for p in EXAMPLES.glob("*/datacard.yaml"))
    assert sorted(sources) == cards

    assert len({s["country"] for s in sources.values()}) >= 6
    assert len({lang for s in sources.values() for lang in s["languages"]}) >= 10
    assert {"jsonl", "parquet", "csv", "tsv", "text", "hf"} <= {s["format"] for s in sources.values()}
    assert {"non-commercial", "share-alike", "permissive"} <= {s["license_class"] for s in sources.values()}

    planted = yaml.safe_load((EXAMPLES / "planted.yaml").read_text("utf-8"))
    malformed_sources = {m["source"] for m in planted["malformed"]}
    for name in malformed_sources:
        assert sources[name]["malformed"] >= 1
    # Re-running the demo is a no-op for registration.
    again = run_json(capsys, "demo", "--workspace", str(tmp_path / "ws"))
    assert [s["version"] for s in again["sources"]] == [1] * len(cards)


def test_examples_cover_five_scripts(capsys, tmp_path):
    from curation.readers import Record, SourceSpec, iter_records
    from curation.register import registration_from
    from curation.datacard import load_card

    scripts = set()
    for card in EXAMPLES.glob("*/datacard.yaml"):
        request = registration_from(load_card(card)).validate()
        scripts |= {detect_script(r.text) for r in iter_records(request.spec()) if isinstance(r, Record)}
    assert {"Latn", "Cyrl", "Arab", "Deva", "Hani"} <= scripts
