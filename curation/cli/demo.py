"""`agora demo`: the whole flow on the bundled example contributions, sized for 2 CPU cores.

register every contribution → curate → a mixture → pretrain a tiny model → fine-tune it on the
instruction set → evaluate per language → generate a sample → the HTML report. Each step is the
same function the CLI command calls; re-running the demo reuses what is already done.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from curation.cli.output import print_funnel, print_json, print_table
from curation.core.errors import AgoraError
from curation.core.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "contributions"
MIXTURE = {"budget_tokens": 200_000, "vocab_size": 2048, "holdout": 0.05}
PRETRAIN = {"model": "tiny", "steps": 150, "batch_tokens": 4096}
FINETUNE = {"steps": 30, "batch_tokens": 2048}
SAMPLE_PROMPT = "Die Stadt"


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser("demo", parents=[common], help="run the whole flow on the bundled examples")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace, workspace: Workspace) -> None:
    run_demo(workspace, as_json=args.json)


def run_demo(workspace: Workspace, as_json: bool = False) -> None:
    import yaml

    from curation.governance.report import write_report
    from curation.mixture.build import create_mixture
    from curation.stages.curate import curate
    from curation.training_runs import evaluate, finetune, generate_text, pretrain

    cards = sorted(EXAMPLES.glob("*/datacard.yaml"))
    if not cards:
        raise AgoraError(f"no example contributions under {EXAMPLES} (agora demo runs from a source checkout)")
    say = (lambda *a, **k: None) if as_json else print
    progress = not as_json and sys.stderr.isatty()
    sources = _register_examples(workspace, cards, say, progress)
    if not as_json:
        print()
        print_table(sources, ("name", "records", "malformed", "format", "license", "license_class",
                              "language_profile", "contributor", "country"))

    say("\n2. curating every source with pipelines/default.yaml")
    run = curate(workspace, progress=not as_json)
    if not as_json:
        print_funnel(run["run_id"], run["funnel"])

    say("\n3. a mixture: temperature sampling over languages, a BPE tokenizer trained on it")
    mixture = create_mixture(workspace, "demo", run_id=run["run_id"], **MIXTURE)
    say(f"  mixture demo v{mixture['version']}: {mixture['train_tokens']:,} training tokens, "
        f"{len([p for p in mixture['parts'] if p['target_tokens']])} language × source parts")

    say(f"\n4. pretraining the {PRETRAIN['model']} model for {PRETRAIN['steps']} steps")
    model = pretrain(workspace, "demo", quiet=not progress, **PRETRAIN)
    say(f"  {model['run_id']}: loss {model['first_loss']:.3f} -> {model['last_loss']:.3f}")

    instruct = yaml.safe_load((EXAMPLES / "planted.yaml").read_text("utf-8"))["instruction_source"]
    say(f"\n5. fine-tuning on the instruction set {instruct} (prompt tokens masked out of the loss)")
    tuned = finetune(workspace, model["run_id"], instruct, quiet=not progress, **FINETUNE)
    say(f"  {tuned['run_id']}: loss {tuned['first_loss']:.3f} -> {tuned['last_loss']:.3f}")

    say("\n6. bits per byte per language on the held-out documents")
    scores = evaluate(workspace, model["run_id"])["bits_per_byte"]
    say("  " + ", ".join(f"{lang} {v:.2f}" for lang, v in scores.items() if v is not None))
    sample = generate_text(workspace, model["run_id"], SAMPLE_PROMPT, max_new_tokens=40, temperature=0.7, seed=0)
    say(f"\n7. a sample from the pretrained model: {SAMPLE_PROMPT}{sample}")

    report = write_report(workspace, workspace.root / "report.html")
    if as_json:
        print_json({"workspace": str(workspace.root), "sources": sources,
                    "curation": {k: v for k, v in run.items() if k not in ("recipe", "funnel")},
                    "mixture": {k: mixture[k] for k in ("name", "version", "train_tokens", "path")},
                    "model": model, "finetuned": tuned, "bits_per_byte": scores, "sample": sample,
                    "report": str(report)})
        return
    print(f"\nreport: {report}")
    print(f"next: agora lineage model {model['run_id']} --workspace {workspace.root}")
    print("      agora lineage doc DOC_ID  (any doc_id from `agora docs show` or the report)")
    print("      agora withdraw SOURCE --reason '…' && agora mix rebuild demo")


def _register_examples(workspace: Workspace, cards: list[Path], say, progress: bool) -> list[dict]:
    """Step 1: create the workspace if needed and register every example contribution; the sources as listed."""
    from curation.core.catalog import open_catalog
    from curation.ingest.datacard import load_card
    from curation.ingest.register import register, registration_from
    from curation.ingest.sources import list_sources

    with open_catalog(workspace):
        pass
    say(f"workspace: {workspace.root}\n\n1. registering {len(cards)} example contributions from {EXAMPLES}")
    for card in cards:
        result = register(workspace, registration_from(load_card(card)), progress=progress)
        say(f"  {result.status:<18} {result.source['name']} v{result.source['version']} "
            f"({result.source['records']} records)")
        for warning in result.warnings:
            say(f"    warning: {warning}")
    return list_sources(workspace)
