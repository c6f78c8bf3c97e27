"""Governance: `agora lineage model|doc`, `withdraw`, `credits` and `report` (who gave what, and where it went)."""
from __future__ import annotations

import argparse

from curation.cli.output import print_json, print_table
from curation.core.workspace import Workspace


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _add_lineage(commands, common)
    withdraw = commands.add_parser(
        "withdraw", parents=[common], help="withdraw a source (consent withdrawn, takedown): it leaves new data",
        description="Marks every version of the source withdrawn (history keeps it), lists the mixtures and "
                    "training runs that used it, and re-runs the latest curation without it (stored signals are "
                    "reused; duplicate clusters promote another contributor's copy). Then `agora mix rebuild`.")
    withdraw.add_argument("source", metavar="SOURCE")
    withdraw.add_argument("--reason", required=True, help="why (kept in the catalog)")
    withdraw.set_defaults(handler=cmd_withdraw)

    cred = commands.add_parser("credits", parents=[common],
                               help="who must be credited for a mixture or a model, grouped by license class")
    cred.add_argument("target", metavar="MIXTURE_OR_RUN")
    cred.add_argument("--format", choices=["md", "json", "bibtex"], default="md")
    cred.set_defaults(handler=cmd_credits)
    _add_report(commands, common)


def _add_lineage(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    lineage = commands.add_parser("lineage", help="trace a model or a document to its data and contributors")
    lineage_sub = lineage.add_subparsers(dest="lineage_command", metavar="model|doc", required=True)
    lin_model = lineage_sub.add_parser("model", parents=[common],
                                       help="mixture → sources → contributors, licenses, countries; docs and tokens")
    lin_model.add_argument("model", metavar="RUN_OR_DIR")
    lin_model.set_defaults(handler=cmd_lineage_model)
    lin_doc = lineage_sub.add_parser("doc", parents=[common],
                                     help="record → signals → decision → cluster → mixtures → training steps")
    lin_doc.add_argument("doc_id", metavar="DOC_ID")
    lin_doc.set_defaults(handler=cmd_lineage_doc)


def _add_report(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    report = commands.add_parser(
        "report", parents=[common], help="one self-contained HTML page: data, curation, mixture, training, lineage",
        description="Plots and tables of languages before and after curation, the filter funnel, duplicates "
                    "shared across contributors, the mixture's budget against what is available, training and "
                    "per-language evaluation curves, and the sources with their licenses. Opens offline.")
    report.add_argument("--run", metavar="RUN",
                        help="curation run (default: the model's or mixture's, else the latest)")
    report.add_argument("--mixture", metavar="NAME")
    report.add_argument("--model", metavar="RUN", help="training run")
    report.add_argument("--out", required=True, metavar="FILE.html")
    report.set_defaults(handler=cmd_report)


def cmd_lineage_model(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.governance.lineage import model_lineage

    lineage = model_lineage(workspace.require(), args.model)
    if args.json:
        print_json(lineage)
        return
    chain = " <- ".join(f"{r['kind']} {r['run_id']}" for r in lineage["training_chain"])
    print(f"model {lineage['run_id']}: {chain}")
    if lineage["mixture"]:
        m = lineage["mixture"]
        print(f"mixture {m['name']} v{m['version']}, from curation run {m['curation_run']}")
    print_table(lineage["sources"], ("name", "version", "contributor", "country", "license", "license_class", "docs",
                                     "tokens", "languages"))
    for source in lineage["finetune_sources"]:
        print(f"fine-tuned on {source['name']} v{source['version']} ({source['contributor']}, {source['license']})")


def cmd_lineage_doc(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.governance.lineage import doc_lineage

    lineage = doc_lineage(workspace.require(), args.doc_id)
    if args.json:
        print_json(lineage)
        return
    decision = lineage["decision"]
    print(f"document {lineage['doc_id']}: {lineage['source']} v{lineage['source_version']} record "
          f"{lineage['record_id']}")
    print(f"  contributor  {lineage['contributor']} ({lineage['country']}), {lineage['license']} "
          f"({lineage['license_class']}), source {lineage['source_status']}")
    fate = "kept" if decision["kept"] else f"dropped at {decision['step']} by {decision['rule']}" + (
        f" ({decision['detail']})" if decision["detail"] else "")
    print(f"  curation     run {lineage['curation_run']}: {fate}")
    if model := lineage["quality_model"]:
        print(f"  judged by    quality model {model['model_id']} ({model['name']}), "
              f"score {lineage['signals'].get('quality_model_score')}")
    if lineage["cluster"]:
        print(f"  duplicates   {lineage['cluster']['kind']} cluster of {len(lineage['cluster']['members'])}")
    _print_uses(lineage)


def _print_uses(lineage: dict) -> None:
    """The mixtures that hold a document and the training steps that saw it."""
    for mixture in lineage["mixtures"]:
        role = "held out" if mixture["held_out"] else f"{mixture['repeats']} time(s)"
        print(f"  mixture      {mixture['name']} v{mixture['version']}: {role}")
    for run in lineage["training_runs"]:
        steps = run["steps"]
        shown = ", ".join(map(str, steps[:20])) + (" …" if len(steps) > 20 else "")
        print(f"  training     {run['kind']} {run['run_id']}: {len(steps)} step(s) saw it: {shown}")


def cmd_withdraw(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.governance.withdraw import withdraw

    result = withdraw(workspace.require(), args.source, args.reason, progress=not args.json)
    if args.json:
        print_json(result)
        return
    print(f"withdrew {result['source']}: {result['reason']}")
    for mixture in result["mixtures"]:
        print(f"  used by mixture {mixture['mixture']} v{mixture['version']}: {mixture['tokens']:,} tokens")
    for run in result["training_runs"]:
        tokens = f": {run['tokens']:,} tokens" if run["tokens"] else ""
        print(f"  used by {run['kind']} run {run['run_id']}{tokens}")
    if "curation_run" in result:
        c = result["curation_run"]
        print(f"  re-curated without it: {c['before']} ({c['docs_out_before']} docs kept) -> "
              f"{c['after']} ({c['docs_out_after']} docs kept)")
    print("next: `agora mix rebuild NAME` for each mixture above")


def cmd_credits(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.governance.credits import credits, render

    result = credits(workspace.require(), args.target)
    print(render(result, "json" if args.json else args.format))


def cmd_report(args: argparse.Namespace, workspace: Workspace) -> None:
    from pathlib import Path

    from curation.governance.report import write_report

    path = write_report(workspace.require(), Path(args.out), args.run, args.mixture, args.model)
    if args.json:
        print_json({"report": str(path)})
    else:
        print(f"report written to {path}")
