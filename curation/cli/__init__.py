"""The `agora` command line: one subcommand per user task, each with --workspace and --json."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from curation.cli.output import print_funnel, print_json, print_table
from curation.core.errors import AgoraError
from curation.core.workspace import Workspace, resolve_workspace

SOURCE_COLUMNS = ("name", "version", "records", "malformed", "license", "license_class", "languages",
                  "language_profile", "contributor", "country")


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _token_count(value: str) -> int:
    """2M, 500k, 1.5B or a plain number."""
    scale = {"k": 10**3, "m": 10**6, "b": 10**9}.get(value[-1:].lower(), 1)
    try:
        count = float(value[:-1] if scale > 1 else value) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a token count: {value!r} (e.g. 2M, 500k)") from None
    if count <= 0:
        raise argparse.ArgumentTypeError("the token budget must be positive")
    return int(count)


def _weights(value: str) -> dict[str, float]:
    weights = {}
    for item in _comma_list(value):
        lang, _, share = item.partition("=")
        try:
            weights[lang.strip()] = float(share)
        except ValueError:
            raise argparse.ArgumentTypeError(f"weights are lang=share pairs, e.g. de=0.3,fr=0.2; got {item!r}") from None
    return weights


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", metavar="DIR",
                        help="workspace folder (default: $AGORA_WORKSPACE, else ./agora-workspace)")
    common.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout, nothing else")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="agora",
        description="Register contributed multilingual datasets, curate them, mix them and train on them.",
        epilog="Start with `agora demo`, or `agora init` then `agora register PATH --card datacard.yaml`. "
               "`agora COMMAND --help` explains each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser("init", parents=[common], help="create a workspace (folder + DuckDB catalog)")
    init.set_defaults(handler=cmd_init)

    reg = commands.add_parser(
        "register", parents=[common], help="register a contributed dataset (or a new version of one)",
        description="Read a dataset once, validate its metadata and record it in the catalog. The files are never "
                    "changed. Re-registering unchanged content is a no-op; changed content becomes a new version.",
        epilog="Examples:\n"
               "  agora register data/news.jsonl.gz --name kiel-news --contributor 'Anna Schmidt' --country DE \\\n"
               "      --license CC-BY-4.0 --languages de\n"
               "  agora register --card examples/contributions/kiel-news/datacard.yaml\n"
               "  agora register mgsm_en.tsv --name mgsm-en --columns question,answer --text-field question,answer ...",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reg.add_argument("path", nargs="?", help="a file, a folder, a glob of shards (quote it) or hf://NAME[/CONFIG]; "
                                             "optional when the card names its data")
    reg.add_argument("--card", metavar="YAML", help="read the metadata below from a data card; flags override it")
    reg.add_argument("--name", help="source name: lower-case letters, digits, . _ -")
    reg.add_argument("--contributor", help="person or organization that contributed the data")
    reg.add_argument("--organization")
    reg.add_argument("--contact", help="how to reach the contributor (kept in the catalog)")
    reg.add_argument("--country", help="contributor's country, ISO 3166-1 alpha-2 (DE, KE, BR)")
    reg.add_argument("--license", help="SPDX license id, e.g. CC-BY-4.0, CC0-1.0, Apache-2.0")
    reg.add_argument("--languages", type=_comma_list, help="declared languages, ISO 639-1/-3, comma-separated")
    reg.add_argument("--text-field", type=_comma_list, dest="text_field",
                     help="field(s) holding the text (default: text); several are joined with a blank line")
    reg.add_argument("--id-field", dest="id_field", help="field with the contributor's own record id")
    reg.add_argument("--format", choices=["auto", "jsonl", "parquet", "csv", "tsv", "text", "hf"],
                     help="input format (default: auto, from the file names)")
    reg.add_argument("--columns", type=_comma_list, help="column names of a header-less CSV/TSV")
    reg.add_argument("--description")
    reg.add_argument("--homepage", metavar="URL")
    reg.add_argument("--attribution", help="how the contributor asks to be credited")
    reg.set_defaults(handler=cmd_register)

    sources = commands.add_parser("sources", parents=[common], help="list registered sources (latest versions)")
    sources.set_defaults(handler=cmd_sources)
    sources_sub = sources.add_subparsers(dest="sources_command", metavar="show")
    show = sources_sub.add_parser("show", parents=[common], help="every version of one source, with details")
    show.add_argument("name")
    show.set_defaults(handler=cmd_sources_show)

    cur = commands.add_parser(
        "curate", parents=[common], help="run the curation pipeline (stages 1-3) over active sources",
        description="Stage 1 computes per-document signals (language, quality, PII, hashes) with datatrove; stage 2 "
                    "finds exact and near duplicates across all sources; stage 3 applies the recipe's thresholds and "
                    "writes curated Parquet shards by language. Running the same curation again resumes or does "
                    "nothing; --refilter re-applies a new recipe to a finished run's stored signals.",
    )
    cur.add_argument("--recipe", metavar="YAML", help="curation recipe (default: pipelines/default.yaml)")
    cur.add_argument("--sources", type=_comma_list, metavar="A,B", help="only these sources (default: all active)")
    cur.add_argument("--workers", type=int, default=1, metavar="N", help="stage-1 tasks run in parallel (default 1)")
    cur.add_argument("--executor", choices=["local", "ray"], default="local",
                     help="datatrove executor for stage 1 (ray needs `pip install 'agora[ray]'`)")
    cur.add_argument("--refilter", metavar="RUN", help="stage 3 only: apply --recipe to the stored signals of RUN")
    cur.set_defaults(handler=cmd_curate)

    runs = commands.add_parser("runs", parents=[common], help="list curation runs")
    runs.set_defaults(handler=cmd_runs)
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="show")
    run_show = runs_sub.add_parser("show", parents=[common], help="a run's funnel: docs and bytes per step and language")
    run_show.add_argument("run_id", metavar="RUN")
    run_show.set_defaults(handler=cmd_runs_show)

    docs = commands.add_parser("docs", parents=[common], help="explain documents")
    docs_sub = docs.add_subparsers(dest="docs_command", metavar="show", required=True)
    doc_show = docs_sub.add_parser("show", parents=[common],
                                   help="a document's record, signals, decision with its reason, duplicate cluster")
    doc_show.add_argument("doc_id", metavar="DOC_ID")
    doc_show.add_argument("--run", metavar="RUN", help="curation run (default: the latest finished one)")
    doc_show.set_defaults(handler=cmd_docs_show)

    mix = commands.add_parser("mix", help="training mixtures: which documents, how often, in which order")
    mix_sub = mix.add_subparsers(dest="mix_command", metavar="create|show|rebuild", required=True)
    create = mix_sub.add_parser(
        "create", parents=[common], help="choose a reproducible mixture from a curation run",
        description="Sample curated documents by language and source into a token budget. Temperature sampling "
                    "gives language l a share ∝ n_l^T (1 = natural proportions, 0 = uniform); UniMax spreads the "
                    "budget as uniformly as an epoch cap allows. Within a language, sources get tokens in "
                    "proportion to what they have. Token counts are real: a byte-level BPE tokenizer is trained "
                    "on the mixture's training documents (or --tokenizer DIR is used).",
    )
    create.add_argument("name")
    create.add_argument("--run", metavar="RUN", help="curation run (default: the latest finished one)")
    create.add_argument("--budget-tokens", required=True, type=_token_count, metavar="N",
                        help="training tokens, e.g. 2M, 500k, 1.5B")
    sampling = create.add_mutually_exclusive_group()
    sampling.add_argument("--temperature", type=float, metavar="T", help="temperature sampling exponent (default 0.3)")
    sampling.add_argument("--unimax", action="store_true", help="UniMax: uniform budget, capped by --max-epochs")
    create.add_argument("--max-epochs", type=float, metavar="E", help="at most E passes over any language's tokens")
    create.add_argument("--languages", type=_comma_list, metavar="de,fr", help="only these languages")
    create.add_argument("--sources", type=_comma_list, metavar="A,B", help="only these sources")
    create.add_argument("--weights", type=_weights, metavar="de=0.3,fr=0.2", help="fixed shares for some languages")
    create.add_argument("--license-policy", choices=["any", "open", "commercial"], default="any",
                        help="commercial: no non-commercial or research-only sources; open: also no unknown")
    create.add_argument("--holdout", type=float, default=0.01, metavar="F",
                        help="share of each language's documents held out for evaluation (default 0.01)")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--vocab-size", type=int, default=8192, metavar="V", help="BPE vocabulary (default 8192)")
    create.add_argument("--tokenizer", metavar="DIR", help="use this tokenizer folder instead of training one")
    create.set_defaults(handler=cmd_mix_create)
    rebuild = mix_sub.add_parser("rebuild", parents=[common],
                                 help="a new version of a mixture without withdrawn data, with a diff per language")
    rebuild.add_argument("name")
    rebuild.set_defaults(handler=cmd_mix_rebuild)
    mix_show = mix_sub.add_parser("show", parents=[common], help="a mixture per language × source, and exclusions")
    mix_show.add_argument("name")
    mix_show.add_argument("--version", type=int, help="default: the latest")
    mix_show.set_defaults(handler=cmd_mix_show)

    tr = commands.add_parser(
        "train", parents=[common], help="pretrain a causal LM from scratch on a mixture",
        description="Packs the mixture's manifest into token shards (once), then trains a Llama-style model with "
                    "AdamW, warmup + cosine decay, gradient clipping; checkpoints every quarter of the run; evaluates "
                    "bits per byte per language on the held-out documents; writes a Hugging Face model folder with a "
                    "model card. Data-parallel: torchrun --nproc-per-node N -m training.train (see README).")
    tr.add_argument("--mixture", required=True, metavar="NAME")
    tr.add_argument("--model", default="tiny", help="tiny (CPU demo), small (~110M, a GPU) or a config.json")
    tr.add_argument("--steps", type=int, default=200)
    tr.add_argument("--batch-tokens", type=int, default=8192, metavar="N", help="tokens per optimizer step")
    tr.add_argument("--lr", type=float, default=1e-3)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--resume", action="store_true", help="continue this run from its last checkpoint")
    tr.add_argument("--out", metavar="DIR", help="run folder (default: WORKSPACE/models/RUN)")
    tr.set_defaults(handler=cmd_train)

    ft = commands.add_parser("finetune", parents=[common], help="fine-tune a trained model on a registered source")
    ft.add_argument("--from", dest="base", required=True, metavar="RUN_OR_DIR")
    ft.add_argument("--source", required=True, metavar="NAME")
    ft.add_argument("--format", choices=["instruct", "text"], default="instruct",
                    help="instruct: learn the responses only (prompt tokens are masked); text: continue pretraining")
    ft.add_argument("--prompt-field", default="prompt")
    ft.add_argument("--response-field", default="response")
    ft.add_argument("--steps", type=int, default=100)
    ft.add_argument("--batch-tokens", type=int, default=4096, metavar="N")
    ft.add_argument("--lr", type=float, default=3e-4)
    ft.add_argument("--seed", type=int, default=0)
    ft.add_argument("--out", metavar="DIR")
    ft.set_defaults(handler=cmd_finetune)

    ev = commands.add_parser("eval", parents=[common], help="bits per byte per language on held-out documents")
    ev.add_argument("--model", required=True, metavar="RUN_OR_DIR")
    ev.add_argument("--mixture", metavar="NAME", help="whose held-out split (default: the model's mixture)")
    ev.set_defaults(handler=cmd_eval)

    gen = commands.add_parser("generate", parents=[common], help="continue a prompt with a trained model")
    gen.add_argument("--model", required=True, metavar="RUN_OR_DIR")
    gen.add_argument("prompt")
    gen.add_argument("--max-new-tokens", type=int, default=64)
    gen.add_argument("--temperature", type=float, default=0.7, help="0 = greedy")
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(handler=cmd_generate)

    models = commands.add_parser("models", parents=[common], help="list training runs")
    models.set_defaults(handler=cmd_models)

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

    report = commands.add_parser(
        "report", parents=[common], help="one self-contained HTML page: data, curation, mixture, training, lineage",
        description="Plots and tables of languages before and after curation, the filter funnel, duplicates "
                    "shared across contributors, the mixture's budget against what is available, training and "
                    "per-language evaluation curves, and the sources with their licenses. Opens offline.")
    report.add_argument("--run", metavar="RUN", help="curation run (default: the model's or mixture's, else the latest)")
    report.add_argument("--mixture", metavar="NAME")
    report.add_argument("--model", metavar="RUN", help="training run")
    report.add_argument("--out", required=True, metavar="FILE.html")
    report.set_defaults(handler=cmd_report)

    demo = commands.add_parser("demo", parents=[common], help="run the whole flow on the bundled examples")
    demo.set_defaults(handler=cmd_demo)
    return parser


def cmd_init(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.core.catalog import SCHEMA_VERSION, open_catalog

    existed = workspace.exists()
    with open_catalog(workspace):
        pass
    result = {"workspace": str(workspace.root), "created": not existed, "schema_version": SCHEMA_VERSION}
    if args.json:
        print_json(result)
    else:
        print(f"{'created' if not existed else 'workspace already exists at'} {workspace.root}")


def cmd_register(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.ingest.datacard import load_card
    from curation.ingest.register import register, registration_from

    workspace.require()
    card = load_card(args.card) if args.card else {}
    flags = {key: value for key, value in vars(args).items() if value is not None}
    request = registration_from({**card, **flags})
    result = register(workspace, request, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print_json({"status": result.status, "source": result.source, "warnings": result.warnings})
        return
    src = result.source
    if result.status == "already registered":
        print(f"{src['name']} v{src['version']} is already registered with this content (nothing to do)")
    else:
        print(f"registered {src['name']} v{src['version']}: {src['records']} records, {src['malformed']} malformed, "
              f"{src['bytes']:,} bytes of text, {src['license']} ({src['license_class']})")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def cmd_sources(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.ingest.sources import list_sources

    sources = list_sources(workspace.require())
    if args.json:
        print_json(sources)
    elif not sources:
        print("no sources registered yet (see `agora register --help`)")
    else:
        print_table(sources, SOURCE_COLUMNS, headers=[c.replace("_", " ") for c in SOURCE_COLUMNS])


def cmd_sources_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.ingest.sources import show_source

    details = show_source(workspace.require(), args.name)
    if args.json:
        print_json(details)
        return
    for version in details["versions"]:
        print(f"{details['name']} v{version['version']} ({version['status']}), registered {version['registered_at']}")
        for key in ("contributor", "organization", "country", "license", "license_class", "languages",
                    "language_profile", "language_mismatch", "records", "malformed", "bytes", "format", "location",
                    "text_fields", "id_field", "fingerprint", "description", "homepage", "attribution"):
            value = version[key]
            if value not in (None, [], ""):
                print(f"  {key.replace('_', ' '):<18} {_human(value)}")
        for example in version["malformed_examples"]:
            where = f"{example['file']}:{example['line']}" if example["line"] is not None else example["file"]
            print(f"  malformed          {where}: {example['problem']}")
        print()


def _human(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v:.0%}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)


def cmd_curate(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.curate import curate, refilter
    from curation.stages.recipe import load_recipe

    workspace.require()
    if args.workers < 1:
        raise AgoraError("--workers must be at least 1")
    if args.refilter:
        result = refilter(workspace, args.refilter, load_recipe(args.recipe))
    else:
        result = curate(workspace, load_recipe(args.recipe), args.sources, args.workers, args.executor,
                        progress=not args.json)
    if args.json:
        print_json({k: v for k, v in result.items() if k not in ("recipe", "funnel")})
        return
    if result["already_done"]:
        print(f"run {result['run_id']} already finished with these inputs (nothing to do)")
    print_funnel(result["run_id"], result["funnel"])
    print(f"curated shards: {result['output_dir']}")


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
    if run["funnel"]:
        print_funnel(run["run_id"], run["funnel"])
        timings = run["funnel"].get("timings", {})
        print("timings: " + ", ".join(f"{k.removesuffix('_s')} {v:.1f}s" for k, v in timings.items()))


def cmd_docs_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.runs import show_doc

    doc = show_doc(workspace.require(), args.doc_id, args.run)
    if args.json:
        print_json(doc)
        return
    record, source, decision = doc["record"], doc["record"]["source"], doc["decision"]
    print(f"document {doc['doc_id']} in run {doc['run_id']}")
    print(f"  source     {source['name']} v{source['version']}, record {record['record_id']} "
          f"({source['location']})")
    print(f"  from       {source['contributor']} ({source['country']}), {source['license']} ({source['license_class']})")
    if decision["kept"]:
        print("  decision   kept")
    else:
        measured = "" if decision["value"] is None else f": {decision['value']:.4g} vs threshold {decision['threshold']:.4g}"
        print(f"  decision   dropped at {decision['step']} by {decision['rule']}{measured}"
              + (f" ({decision['detail']})" if decision["detail"] else ""))
    signals = doc["signals"]
    print(f"  language   {signals.get('lang')} (score {signals.get('lang_score')}), script {signals.get('script')}")
    print("  signals    " + ", ".join(f"{k}={v:.3g}" for k, v in signals.items()
                                      if isinstance(v, (int, float)) and k not in ("lang_score",)))
    cluster = doc["cluster"]
    if cluster:
        print(f"  duplicates {cluster['kind']} cluster {cluster['cluster_id']}:")
        for member in cluster["members"]:
            fate = "kept" if member["kept"] else f"dropped ({member['rule']})"
            print(f"    {member['doc_id']}  {member['source']}:{member['record_id']}  {fate}")


def cmd_mix_create(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.mixture.build import create_mixture

    workspace.require()
    if args.unimax and not args.max_epochs:
        raise AgoraError("--unimax needs --max-epochs (the cap that makes it UniMax)")
    mixture = create_mixture(
        workspace, args.name, budget_tokens=args.budget_tokens, run_id=args.run,
        method="unimax" if args.unimax else "temperature",
        temperature=None if args.unimax else (0.3 if args.temperature is None else args.temperature),
        max_epochs=args.max_epochs, languages=args.languages, sources=args.sources, weights=args.weights,
        license_policy=args.license_policy, holdout=args.holdout, seed=args.seed, vocab_size=args.vocab_size,
        tokenizer=args.tokenizer,
    )
    if args.json:
        print_json(mixture)
        return
    if mixture["already_exists"]:
        print(f"mixture {mixture['name']} v{mixture['version']} already has these inputs (nothing to do)")
    print_mixture(mixture)


def cmd_mix_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.mixture.build import show_mixture

    mixture = show_mixture(workspace.require(), args.name, args.version)
    if args.json:
        print_json(mixture["parts"])
    else:
        print_mixture(mixture)


def print_mixture(mixture: dict) -> None:
    params = mixture["params"]
    how = (f"UniMax, at most {params['max_epochs']} epochs" if params["method"] == "unimax"
           else f"temperature {params['temperature']}" + (f", at most {params['max_epochs']} epochs"
                                                          if params["max_epochs"] else ""))
    print(f"mixture {mixture['name']} v{mixture['version']} from run {mixture['curation_run']}: "
          f"{mixture['train_tokens']:,} training tokens of a {params['budget_tokens']:,} budget ({how}, "
          f"license policy {params['license_policy']}, seed {params['seed']})")
    print()
    kept = [p for p in mixture["parts"] if not p["excluded_reason"]]
    print_table(kept, ("lang", "source", "license_class", "docs", "heldout_docs", "available_tokens", "target_tokens",
                       "epochs", "share"),
                headers=("lang", "source", "license", "docs", "held out", "available", "target", "epochs", "share"))
    for source, reason in mixture["excluded"]:
        print(f"excluded: {source}: {reason}")


def cmd_mix_rebuild(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.mixture.build import rebuild_mixture

    mixture = rebuild_mixture(workspace.require(), args.name)
    if args.json:
        print_json(mixture)
        return
    print(f"mixture {mixture['name']}: v{mixture['previous_version']} -> v{mixture['version']}")
    print_table(mixture["diff"], ("lang", "docs_before", "docs_after", "tokens_before", "tokens_after", "sources_removed"),
                headers=("lang", "docs before", "docs after", "tokens before", "tokens after", "sources removed"))


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


def cmd_train(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import evaluate, pretrain

    result = pretrain(workspace.require(), args.mixture, model=args.model, steps=args.steps,
                      batch_tokens=args.batch_tokens, lr=args.lr, seed=args.seed, resume=args.resume, out=args.out,
                      quiet=args.json)
    result["eval"] = evaluate(workspace, result["run_id"])["bits_per_byte"]
    if args.json:
        print_json(result)
        return
    print(f"trained {result['run_id']}: {result['steps']} steps, loss {result['first_loss']:.3f} -> "
          f"{result['last_loss']:.3f}, {result['tokens_per_s']:,.0f} tokens/s; model in {result['out_dir']}")
    print_bpb(result["eval"])


def print_bpb(scores: dict) -> None:
    print("bits per byte on held-out documents: " + ", ".join(
        f"{lang} {value:.3f}" if value is not None else f"{lang} (no held-out doc)" for lang, value in scores.items()))


def cmd_finetune(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import finetune

    result = finetune(workspace.require(), args.base, args.source, fmt=args.format, prompt_field=args.prompt_field,
                      response_field=args.response_field, steps=args.steps, batch_tokens=args.batch_tokens,
                      lr=args.lr, seed=args.seed, out=args.out, quiet=args.json)
    if args.json:
        print_json(result)
    else:
        print(f"fine-tuned {result['run_id']}: {result['steps']} steps, loss {result['first_loss']:.3f} -> "
              f"{result['last_loss']:.3f}; model in {result['out_dir']}")


def cmd_eval(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import evaluate

    result = evaluate(workspace.require(), args.model, args.mixture)
    if args.json:
        print_json(result)
    else:
        print(f"{result['run_id'] or result['model_dir']} on mixture {result['mixture']} v{result['mixture_version']}")
        print_bpb(result["bits_per_byte"])


def cmd_generate(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.training_runs import generate_text

    text = generate_text(workspace.require(), args.model, args.prompt, args.max_new_tokens, args.temperature,
                         args.seed)
    if args.json:
        print_json({"prompt": args.prompt, "text": text})
    else:
        print(args.prompt + text)


def cmd_models(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.models import list_runs

    runs = list_runs(workspace.require())
    if args.json:
        print_json(runs)
    elif not runs:
        print("no training runs yet (see `agora train --help`)")
    else:
        print_table(runs, ("run_id", "kind", "mixture", "base_run", "source", "status", "steps", "last_loss"))


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
    print(f"  curation     run {lineage['curation_run']}: " + ("kept" if decision["kept"] else
          f"dropped at {decision['step']} by {decision['rule']}" + (f" ({decision['detail']})" if decision["detail"] else "")))
    if lineage["cluster"]:
        print(f"  duplicates   {lineage['cluster']['kind']} cluster of {len(lineage['cluster']['members'])}")
    for mixture in lineage["mixtures"]:
        role = "held out" if mixture["held_out"] else f"{mixture['repeats']} time(s)"
        print(f"  mixture      {mixture['name']} v{mixture['version']}: {role}")
    for run in lineage["training_runs"]:
        steps = run["steps"]
        shown = ", ".join(map(str, steps[:20])) + (" …" if len(steps) > 20 else "")
        print(f"  training     {run['kind']} {run['run_id']}: {len(steps)} step(s) saw it: {shown}")


def cmd_demo(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.cli.demo import run_demo

    run_demo(workspace, as_json=args.json)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable = args.handler
    try:
        handler(args, resolve_workspace(args.workspace))
    except AgoraError as exc:
        print(f"agora: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("agora: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `agora … | head`: the reader left, which is not an error
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
