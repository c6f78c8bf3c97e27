"""Training mixtures: `agora mix create|show|rebuild` (which documents, how often, in which order)."""
from __future__ import annotations

import argparse

from curation.cli.common import byte_size, comma_list, language_weights, token_count
from curation.cli.output import print_json, print_mixture, print_table
from curation.core.errors import AgoraError
from curation.core.workspace import Workspace


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    mix = commands.add_parser("mix", help="training mixtures: which documents, how often, in which order")
    mix_sub = mix.add_subparsers(dest="mix_command", metavar="create|show|rebuild", required=True)
    _add_create(mix_sub, common)
    rebuild = mix_sub.add_parser("rebuild", parents=[common],
                                 help="a new version of a mixture without withdrawn data, with a diff per language")
    rebuild.add_argument("name")
    _add_scale(rebuild)
    rebuild.set_defaults(handler=cmd_mix_rebuild)
    mix_show = mix_sub.add_parser("show", parents=[common], help="a mixture per language × source, and exclusions")
    mix_show.add_argument("name")
    mix_show.add_argument("--version", type=int, help="default: the latest")
    mix_show.set_defaults(handler=cmd_mix_show)


def _add_create(mix_sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
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
    create.add_argument("--budget-tokens", required=True, type=token_count, metavar="N",
                        help="training tokens, e.g. 2M, 500k, 1.5B")
    sampling = create.add_mutually_exclusive_group()
    sampling.add_argument("--temperature", type=float, metavar="T", help="temperature sampling exponent (default 0.3)")
    sampling.add_argument("--unimax", action="store_true", help="UniMax: uniform budget, capped by --max-epochs")
    create.add_argument("--max-epochs", type=float, metavar="E", help="at most E passes over any language's tokens")
    create.add_argument("--languages", type=comma_list, metavar="de,fr", help="only these languages")
    create.add_argument("--sources", type=comma_list, metavar="A,B", help="only these sources")
    create.add_argument("--weights", type=language_weights, metavar="de=0.3,fr=0.2",
                        help="fixed shares for some languages")
    create.add_argument("--license-policy", choices=["any", "open", "commercial"], default="any",
                        help="commercial: no non-commercial or research-only sources; open: also no unknown")
    create.add_argument("--holdout", type=float, default=0.01, metavar="F",
                        help="share of each language's documents held out for evaluation (default 0.01)")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--vocab-size", type=int, default=8192, metavar="V", help="BPE vocabulary (default 8192)")
    create.add_argument("--tokenizer", metavar="DIR",
                        help="use this tokenizer instead of training one: a tokenizer folder or a Hugging Face model "
                             "folder (GPT-2, Llama, ...) to continue pretraining with `agora train --model DIR`")
    _add_scale(create)
    create.set_defaults(handler=cmd_mix_create)


def _add_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="parallel tokenization tasks (default 1); the result is the same for any N")
    parser.add_argument("--memory-limit", type=byte_size, default="2GB", metavar="SIZE",
                        help="memory for the document tables, which spill to WORKSPACE/tmp beyond it (default 2GB)")


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
        tokenizer=args.tokenizer, workers=args.workers, memory_limit=args.memory_limit,
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


def cmd_mix_rebuild(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.mixture.build import rebuild_mixture

    mixture = rebuild_mixture(workspace.require(), args.name, workers=args.workers, memory_limit=args.memory_limit)
    if args.json:
        print_json(mixture)
        return
    print(f"mixture {mixture['name']}: v{mixture['previous_version']} -> v{mixture['version']}")
    print_table(mixture["diff"],
                ("lang", "docs_before", "docs_after", "tokens_before", "tokens_after", "sources_removed"),
                headers=("lang", "docs before", "docs after", "tokens before", "tokens after", "sources removed"))
