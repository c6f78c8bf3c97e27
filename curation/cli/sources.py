"""Bringing data in: `agora init`, `agora register` and `agora sources [show]`."""
from __future__ import annotations

import argparse
import sys

from curation.cli.common import comma_list
from curation.cli.output import human, print_json, print_table
from curation.core.workspace import Workspace
from curation.ingest.readers import INPUT_FORMATS

SOURCE_COLUMNS = ("name", "version", "records", "malformed", "license", "license_class", "languages",
                  "language_profile", "contributor", "country")
SHOWN_FIELDS = ("contributor", "organization", "country", "license", "license_class", "languages",
                "language_profile", "language_mismatch", "records", "malformed", "skipped", "skipped_reasons",
                "bytes", "format", "location", "include", "exclude", "text_fields", "id_field", "fingerprint",
                "description", "homepage", "attribution")


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    init = commands.add_parser("init", parents=[common], help="create a workspace (folder + DuckDB catalog)")
    init.set_defaults(handler=cmd_init)
    _add_register(commands, common)
    sources = commands.add_parser("sources", parents=[common], help="list registered sources (latest versions)")
    sources.set_defaults(handler=cmd_sources)
    sources_sub = sources.add_subparsers(dest="sources_command", metavar="show")
    show = sources_sub.add_parser("show", parents=[common], help="every version of one source, with details")
    show.add_argument("name")
    show.set_defaults(handler=cmd_sources_show)


def _add_register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    reg = commands.add_parser(
        "register", parents=[common], help="register a contributed dataset (or a new version of one)",
        description="Read a dataset once, validate its metadata and record it in the catalog. The files are never\n"
                    "changed. Re-registering unchanged content is a no-op; changed content becomes a new version.\n\n"
                    "A folder is read as it comes: README*, LICENSE*, *.md, SOURCE*, .gitattributes and other "
                    "dot-files are\nskipped (listed in one note), nested folders are read, and archives (.tar, "
                    ".tar.gz, .zip) are read in\nplace. A Hugging Face dataset repository (README.md with a YAML "
                    "header) records each record's split\nand config; its header fills a missing license, "
                    "languages and description (flags and cards win).\nhtml and warc register each page's main "
                    "text with its URL and fetch date.",
        epilog="Examples:\n"
               "  agora register data/news.jsonl.gz --name kiel-news --contributor 'Anna Schmidt' --country DE \\\n"
               "      --license CC-BY-4.0 --languages de\n"
               "  agora register --card examples/contributions/kiel-news/datacard.yaml\n"
               "  agora register mgsm/ --name mgsm --columns question,answer --text-field question,answer ...\n"
               "  agora register crawl/ --format warc --name my-crawl ...          # main text, URL and fetch date\n"
               "  agora register cc-dump/ --format jsonl --name cc ...             # only the JSONL files\n"
               "  agora register shards/ --exclude 'ground_truth*' --name cc ...   # every file but these",
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
    reg.add_argument("--languages", type=comma_list, help="declared languages, ISO 639-1/-3, comma-separated")
    reg.add_argument("--text-field", type=comma_list, dest="text_field",
                     help="field(s) holding the text (default: text); several are joined with a blank line")
    reg.add_argument("--id-field", dest="id_field", help="field with the contributor's own record id")
    reg.add_argument("--format", choices=["auto", *INPUT_FORMATS],
                     help="input format (default: auto, from the file names); in a folder, only files of this "
                          "format are read")
    reg.add_argument("--include", action="append", metavar="GLOB",
                     help="read only files matching GLOB (repeatable); a GLOB without '/' matches file names, "
                          "one with '/' the path inside the folder")
    reg.add_argument("--exclude", action="append", metavar="GLOB", help="leave out files matching GLOB (repeatable)")
    reg.add_argument("--columns", type=comma_list, help="column names of a header-less CSV/TSV")
    reg.add_argument("--description")
    reg.add_argument("--homepage", metavar="URL")
    reg.add_argument("--attribution", help="how the contributor asks to be credited")
    reg.set_defaults(handler=cmd_register)


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
        print_json({"status": result.status, "source": result.source, "warnings": result.warnings,
                    "notes": result.notes})
        return
    src = result.source
    if result.status == "already registered":
        print(f"{src['name']} v{src['version']} is already registered with this content (nothing to do)")
    else:
        skipped = ", ".join(f"{reason} {n}" for reason, n in src["skipped_reasons"].items())
        print(f"registered {src['name']} v{src['version']}: {src['records']} records, {src['malformed']} malformed, "
              f"{src['skipped']} skipped{f' ({skipped})' if skipped else ''}, {src['bytes']:,} bytes of text, "
              f"{src['license']} ({src['license_class']})")
    for note in result.notes:
        print(f"note: {note}")
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
        for key in SHOWN_FIELDS:
            value = version[key]
            if value not in (None, [], ""):
                print(f"  {key.replace('_', ' '):<18} {human(value)}")
        for note in version["notes"]:
            print(f"  note               {note}")
        for example in version["malformed_examples"]:
            where = f"{example['file']}:{example['line']}" if example["line"] is not None else example["file"]
            print(f"  malformed          {where}: {example['problem']}")
        print()
