"""Curation: `agora curate`, `agora runs [show]` and `agora docs show` (why a document was kept or dropped)."""
from __future__ import annotations

import argparse

from curation.cli.common import comma_list
from curation.cli.output import print_funnel, print_json, print_table
from curation.core.workspace import Workspace
from curation.stages.executors import EXECUTORS, Execution, SlurmOptions


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    _add_curate(commands, common)
    runs = commands.add_parser("runs", parents=[common], help="list curation runs")
    runs.set_defaults(handler=cmd_runs)
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="show")
    run_show = runs_sub.add_parser("show", parents=[common],
                                   help="a run's funnel: docs and bytes per step and language")
    run_show.add_argument("run_id", metavar="RUN")
    run_show.set_defaults(handler=cmd_runs_show)

    docs = commands.add_parser("docs", parents=[common], help="explain documents")
    docs_sub = docs.add_subparsers(dest="docs_command", metavar="show", required=True)
    doc_show = docs_sub.add_parser("show", parents=[common],
                                   help="a document's record, signals, decision with its reason, duplicate cluster")
    doc_show.add_argument("doc_id", metavar="DOC_ID")
    doc_show.add_argument("--run", metavar="RUN", help="curation run (default: the latest finished one)")
    doc_show.set_defaults(handler=cmd_docs_show)


def _add_curate(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    cur = commands.add_parser(
        "curate", parents=[common], help="run the curation pipeline (stages 1-3) over active sources",
        description="Stage 1 computes per-document signals (language, quality, PII, hashes) with datatrove; stage 2 "
                    "finds exact and near duplicates across all sources; stage 3 applies the recipe's thresholds: a "
                    "decision per document, with its reason (`agora export RUN` writes the kept ones out, by "
                    "language). Running the same curation again resumes or does "
                    "nothing; --refilter re-applies a new recipe to a finished run's stored signals.",
    )
    cur.add_argument("--recipe", metavar="YAML", help="curation recipe (default: pipelines/default.yaml)")
    cur.add_argument("--sources", type=comma_list, metavar="A,B", help="only these sources (default: all active)")
    cur.add_argument("--tasks", type=int, metavar="N",
                     help="stage-1 tasks: pieces of the input, each resumed on its own (default: --workers)")
    cur.add_argument("--workers", type=int, default=1, metavar="M", help="stage-1 tasks run at once (default 1)")
    cur.add_argument("--executor", choices=EXECUTORS, default="local",
                     help="datatrove executor for stage 1: local processes; ray joins $RAY_ADDRESS's cluster (else "
                          "starts one here; `pip install 'agora[ray]'`); slurm submits a job array with sbatch and "
                          "waits. On a cluster the workspace must be on a filesystem every node shares.")
    cur.add_argument("--refilter", metavar="RUN", help="stage 3 only: apply --recipe to the stored signals of RUN")
    slurm = cur.add_argument_group("Slurm (with --executor slurm)")
    slurm.add_argument("--partition", help="default: the cluster's default partition")
    slurm.add_argument("--time", default=SlurmOptions.time, help="time limit per task (default %(default)s)")
    slurm.add_argument("--cpus-per-task", type=int, default=SlurmOptions.cpus_per_task, metavar="C",
                       help="default %(default)s")
    slurm.add_argument("--mem-per-cpu-gb", type=int, default=SlurmOptions.mem_per_cpu_gb, metavar="GB",
                       help="default %(default)s")
    cur.set_defaults(handler=cmd_curate)


def cmd_curate(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.curate import curate, refilter
    from curation.stages.recipe import load_recipe

    workspace.require()
    execution = Execution(args.executor, args.tasks, args.workers,
                          SlurmOptions(args.partition, args.time, args.cpus_per_task, args.mem_per_cpu_gb))
    if args.refilter:
        result = refilter(workspace, args.refilter, load_recipe(args.recipe), progress=not args.json)
    else:
        result = curate(workspace, load_recipe(args.recipe), args.sources, execution, progress=not args.json)
    if args.json:
        print_json({k: v for k, v in result.items() if k not in ("recipe", "funnel")})
        return
    if result["already_done"]:
        print(f"run {result['run_id']} already finished with these inputs (nothing to do)")
    print_funnel(result["run_id"], result["funnel"])
    print(f"kept documents: `agora export {result['run_id']} --format parquet --out DIR` writes them, by language")


def cmd_runs(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.runs import list_runs

    runs = list_runs(workspace.require())
    if args.json:
        print_json(runs)
    elif not runs:
        print("no curation runs yet (see `agora curate --help`)")
    else:
        print_table(runs, ("run_id", "status", "parent_run", "started_at", "docs_in", "docs_out"))


def cmd_runs_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.runs import show_run

    run = show_run(workspace.require(), args.run_id)
    if args.json:
        print_json(run)
        return
    print(f"{run['run_id']} ({run['status']}), recipe {run['recipe']['path']}"
          + (f", refiltered from {run['parent_run']}" if run["parent_run"] else ""))
    print("sources: " + ", ".join(f"{s['name']} v{s['version']}" for s in run["sources"]))
    if read := run["stage1_read"]:
        print(f"stage 1 read {read['records'] + read['malformed'] + read['skipped']:,} records once each in "
              f"{read['tasks']} task(s) over {read['shards']} shard(s): {read['records']:,} documents, "
              f"{read['malformed']:,} malformed, {read['skipped']:,} skipped")
    else:
        print("stage 1: reused the stored rows of earlier runs (nothing read)")
    if run["funnel"]:
        print_funnel(run["run_id"], run["funnel"])
        timings = run["funnel"].get("timings", {})
        print("timings: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in timings.items()))


def cmd_docs_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.runs import show_doc
    from curation.stages.stage1 import RECORD_META

    doc = show_doc(workspace.require(), args.doc_id, args.run)
    if args.json:
        print_json(doc)
        return
    record, source = doc["record"], doc["record"]["source"]
    print(f"document {doc['doc_id']} in run {doc['run_id']}")
    print(f"  source     {source['name']} v{source['version']}, record {record['record_id']} "
          f"({source['location']})")
    print(f"  from       {source['contributor']} ({source['country']}), {source['license']} "
          f"({source['license_class']})")
    facts = [f"{key.replace('_', ' ')} {record[key]}" for key in RECORD_META if record.get(key)]
    if facts:
        print("  record     " + ", ".join(facts))
    _print_decision(doc["decision"])
    signals = doc["signals"]
    print(f"  language   {_language(doc['decision'], signals)}, script {signals.get('script')}")
    print("  signals    " + ", ".join(f"{k}={v:.3g}" for k, v in signals.items()
                                      if isinstance(v, (int, float)) and k not in ("lang_score",)))
    if model := doc["quality_model"]:
        print(f"  judged by  quality model {model['model_id']} ({model['name']}): quality_model_score "
              f"{signals.get('quality_model_score')}; `agora quality show {model['model_id']}` for its training data")
    _print_cluster(doc["cluster"])


# How the policy arrived at a document's language (decisions.lang_rule), in words.
LANGUAGE_RULES = {
    "declared": "as declared",
    "macrolanguage": "declared; detected as its macrolanguage or a member of it",
    "relative": "declared; detected as a close relative (recipe langid.relatives)",
    "unknown_to_detector": "declared, and one the detector cannot recognise",
    "uncertain": "detector unsure or text too short",
    "not_declared": "the source declares no language",
    "undeclared": "not a language the source declared",
}


def _language(decision: dict, signals: dict) -> str:
    """`plt (declared; detected as ...): detected mg, score 0.99`."""
    detected = f"detected {signals.get('lang')}, score {signals.get('lang_score')}"
    rule = decision.get("lang_rule")
    if rule is None:  # a run made before decisions recorded the rule
        return detected
    return f"{decision['lang']} ({LANGUAGE_RULES.get(rule, rule)}): {detected}"


def _print_decision(decision: dict) -> None:
    if decision["kept"]:
        print("  decision   kept")
        return
    measured = ("" if decision["value"] is None
                else f": {decision['value']:.4g} vs threshold {decision['threshold']:.4g}")
    print(f"  decision   dropped at {decision['step']} by {decision['rule']}{measured}"
          + (f" ({decision['detail']})" if decision["detail"] else ""))


def _print_cluster(cluster: dict | None) -> None:
    if not cluster:
        return
    print(f"  duplicates {cluster['kind']} cluster {cluster['cluster_id']}:")
    for member in cluster["members"]:
        fate = "kept" if member["kept"] else f"dropped ({member['rule']})"
        print(f"    {member['doc_id']}  {member['source']}:{member['record_id']}  {fate}")
