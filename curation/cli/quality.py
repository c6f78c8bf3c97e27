"""Learned quality: `agora quality train NAME …`, `agora quality list` and `agora quality show MODEL`."""
from __future__ import annotations

import argparse
from pathlib import Path

from curation.cli.common import comma_list
from curation.cli.output import print_json, print_table
from curation.core.workspace import Workspace


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    quality = commands.add_parser("quality", parents=[common], help="train and list learned quality models")
    sub = quality.add_subparsers(dest="quality_command", metavar="train|list|show", required=True)
    train = sub.add_parser(
        "train", parents=[common], help="fit a quality model on your own labeled documents",
        description="Fit a small classifier (logistic regression over hashed character n-grams, words and the "
                    "stage-1 quality signals) that "
                    "tells your good documents from your junk, cross-validate it, store it in the workspace and "
                    "record its training data and metrics in the catalog. Name it in a recipe (`quality_model: "
                    "ID`) and stage 1 stores its score as quality_model_score; `min_quality_model_score` drops "
                    "documents below a threshold (the command suggests one).",
        epilog="Examples:\n"
               "  agora quality train news-vs-spam --positive kiel-news,amman-web --negative spam-crawl\n"
               "  agora quality train hplt --labeled labels.jsonl --label-field good --text-field text",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument("name", help="model name: lower-case letters, digits, . _ -")
    train.add_argument("--positive", type=comma_list, default=[], metavar="A,B",
                       help="registered sources of good text (their latest versions)")
    train.add_argument("--negative", type=comma_list, default=[], metavar="C,D",
                       help="registered sources of junk (their latest versions)")
    train.add_argument("--labeled", type=Path, metavar="FILE.jsonl",
                       help="a JSONL file (.gz/.zst too) of labeled documents, instead of sources")
    train.add_argument("--label-field", dest="label_field", metavar="FIELD",
                       help="with --labeled: the field holding true/1 (good) or false/0 (junk)")
    train.add_argument("--text-field", dest="text_field", default="text", metavar="FIELD",
                       help="with --labeled: the field holding the text (default: text)")
    train.set_defaults(handler=cmd_train)
    listing = sub.add_parser("list", parents=[common], help="the quality models in this workspace")
    listing.set_defaults(handler=cmd_list)
    show = sub.add_parser("show", parents=[common], help="one model: training data, metrics, recipe lines")
    show.add_argument("model", metavar="MODEL", help="model id (qm-…) or name (its newest model)")
    show.set_defaults(handler=cmd_show)


def cmd_train(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.quality_models import train

    model = train(workspace.require(), args.name, args.positive, args.negative, args.labeled, args.label_field,
                  args.text_field, progress=not args.json)
    if args.json:
        print_json(model)
        return
    if model["already_trained"]:
        print(f"model {model['model_id']} was already trained on this data (nothing to do)")
    _print_model(model)


def cmd_list(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.quality_models import list_models

    models = list_models(workspace.require())
    if args.json:
        print_json(models)
    elif not models:
        print("no quality models yet (see `agora quality train --help`)")
    else:
        rows = [{**m, **{k: m["metrics"][k] for k in ("docs", "auc", "suggested_min_score")}} for m in models]
        print_table(rows, ("model_id", "name", "docs", "auc", "suggested_min_score", "created_at"))


def cmd_show(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.quality_models import show_model

    model = show_model(workspace.require(), args.model)
    if args.json:
        print_json(model)
    else:
        _print_model(model)


def _print_model(model: dict) -> None:
    metrics, data = model["metrics"], model["training_data"]
    print(f"quality model {model['model_id']} ({model['name']}): {model['method']}")
    if data["kind"] == "sources":
        for label in ("positive", "negative"):
            print(f"  {label:9}" + ", ".join(f"{s['name']} v{s['version']} ({s['docs']:,} docs)" for s in data[label]))
    else:
        print(f"  trained on {data['path']} (label field {data['label_field']}, {data['fingerprint']}; "
              f"{data['skipped']} records without text or a true/false label skipped)")
    m = metrics
    print(f"  {m['docs']:,} documents, {m['positives']:,} positive; {m['folds']}-fold cross-validation: "
          f"AUC {m['auc']:.3f}, balanced accuracy {m['balanced_accuracy']:.3f}")
    print(f"  at score {m['suggested_min_score']:.3g}: {m['positives_kept_at_suggested']:.0%} of positives kept, "
          f"{m['negatives_dropped_at_suggested']:.0%} of negatives dropped")
    print("  in a recipe:")
    print(f"    quality_model: {model['model_id']}")
    print(f"    quality: {{defaults: {{min_quality_model_score: {metrics['suggested_min_score']}}}}}")
