"""The `agora` command line: one subcommand per user task, each with --workspace and --json.

Each group module (sources, curate, export, quality, mix, train, govern, demo) adds its subcommands' parsers and holds
their handlers.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from curation.cli import curate, demo, export, govern, mix, quality, sources, train
from curation.cli.common import common_parser
from curation.core.errors import AgoraError
from curation.core.workspace import resolve_workspace

GROUPS = (sources, curate, export, quality, mix, train, govern, demo)  # `agora --help` lists the commands in this order


def build_parser() -> argparse.ArgumentParser:
    common = common_parser()
    parser = argparse.ArgumentParser(
        prog="agora",
        description="Register contributed multilingual datasets, curate them, mix them and train on them.",
        epilog="Start with `agora demo`, or `agora init` then `agora register PATH --card datacard.yaml`. "
               "`agora COMMAND --help` explains each command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in GROUPS:
        group.add_parsers(commands, common)
    return parser


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

