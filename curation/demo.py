"""`agora demo`: the whole flow that exists so far, on the bundled example contributions."""
from __future__ import annotations

import sys
from pathlib import Path

from curation.catalog import open_catalog
from curation.datacard import load_card
from curation.curate import curate
from curation.display import print_funnel, print_json, print_table
from curation.errors import AgoraError
from curation.register import register, registration_from
from curation.sources import list_sources
from curation.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "contributions"


def run_demo(workspace: Workspace, as_json: bool = False) -> None:
    cards = sorted(EXAMPLES.glob("*/datacard.yaml"))
    if not cards:
        raise AgoraError(f"no example contributions under {EXAMPLES} (agora demo runs from a source checkout)")
    say = (lambda *a, **k: None) if as_json else print
    with open_catalog(workspace):
        pass
    say(f"workspace: {workspace.root}")
    say(f"registering {len(cards)} example contributions from {EXAMPLES}")
    for card in cards:
        result = register(workspace, registration_from(load_card(card)), progress=not as_json and sys.stderr.isatty())
        source = result.source
        say(f"  {result.status:<18} {source['name']} v{source['version']} ({source['records']} records)")
        for warning in result.warnings:
            say(f"    warning: {warning}")
    sources = list_sources(workspace)
    if not as_json:
        print()
        print_table(sources, ("name", "records", "malformed", "format", "license", "license_class",
                              "language_profile", "contributor", "country"))
        print("\ncurating every source with pipelines/default.yaml")
    run = curate(workspace, progress=not as_json)
    if as_json:
        print_json({"workspace": str(workspace.root), "sources": sources,
                    "curation": {k: v for k, v in run.items() if k not in ("recipe", "counts")}})
        return
    print_funnel(run["run_id"], run["counts"])
    print(f"\ncurated shards: {run['output_dir']}")
    print(f"explain any document: agora docs show DOC_ID --workspace {workspace.root}")
