"""Ids are content keys: the same inputs give the same ids and bytes, across refactors too.

The values below were produced by main before the layout change (commit 06ab68d) from the bundled
examples: a refactor that changes one of them changes what existing workspaces find (a finished
run would be redone, a mixture rebuilt). Change them only with a deliberate change of what the
ids cover, and say so in the commit. The manifest's bytes also depend on pyarrow's Parquet writer.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from tests.helpers import run_json

REPO = Path(__file__).resolve().parent.parent
# Issue 12 added max_adult_word_density, min_quality_model_score and quality_model to default.yaml:
# a deliberate change of the recipe, so of the run ids (the manifest's bytes did not change).
DEMO_RUN = "cur-4ffdf74c5c92"
STRICT_REFILTER = "ref-78d64fe28ee1"
MANIFEST_SHA256 = "d4e062b6b72dd603fc282c2519f5250b9eaf30660a95035fd4afbc93cdd09348"
HOLDOUT_SHA256 = "d511f403ae267c370269608659b8bfb18f141f10c2ef12d68a7b0056301a09b9"
DEMO_MIXTURE = ["--budget-tokens", "200000", "--vocab-size", "2048", "--holdout", "0.05"]  # as agora demo


def test_demo_run_ids_and_manifest_bytes_are_unchanged(capsys, tmp_path):
    ws = ["--workspace", str(tmp_path / "ws")]
    run_json(capsys, "init", *ws)
    for card in sorted((REPO / "examples" / "contributions").glob("*/datacard.yaml")):
        run_json(capsys, "register", "--card", str(card), *ws)
    run = run_json(capsys, "curate", *ws)["run_id"]
    mixture = run_json(capsys, "mix", "create", "demo", "--run", run, *DEMO_MIXTURE, *ws)
    strict = run_json(capsys, "curate", "--refilter", run, "--recipe", str(REPO / "pipelines" / "strict.yaml"), *ws)
    folder = Path(mixture["path"])
    assert (run, strict["run_id"]) == (DEMO_RUN, STRICT_REFILTER)
    assert hashlib.sha256((folder / "manifest.parquet").read_bytes()).hexdigest() == MANIFEST_SHA256
    assert hashlib.sha256((folder / "holdout.parquet").read_bytes()).hexdigest() == HOLDOUT_SHA256
