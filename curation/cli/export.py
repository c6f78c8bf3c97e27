"""`agora export RUN`: a curation run's kept documents written out, one folder per language."""
from __future__ import annotations

import argparse
from pathlib import Path

from curation.cli.output import print_json, print_table
from curation.core.workspace import Workspace


def add_parsers(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export", parents=[common], help="write a curation run's kept documents to a folder, by language",
        description="A curation run stores decisions, not a copy of the text: its kept documents are read from the "
                    "stage-1 store when needed. This writes them to OUT, one folder per language (OUT/de/part-00000."
                    "parquet, ...), sorted by doc_id, with doc_id, source, source_version, record_id, lang (the "
                    "language the policy used), script, license_class, n_bytes, text and the record's split, "
                    "config, url and fetched_at. Load it with datasets.load_dataset(\"parquet\", data_dir=OUT) or "
                    "one language with data_dir=OUT/de. Mixtures and training read the same documents the same way.",
        epilog="Example: agora export cur-4ffdf74c5c92 --format jsonl --out kept-jsonl  (run ids: `agora runs`)",
    )
    export.add_argument("run_id", metavar="RUN", help="a finished curation run (see `agora runs`)")
    export.add_argument("--format", choices=("parquet", "jsonl"), default="parquet",
                        help="parquet (zstd) or jsonl (one JSON document a line); default %(default)s")
    export.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="a folder that does not exist yet, or is empty")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace, workspace: Workspace) -> None:
    from curation.stages.kept import export

    result = export(workspace.require(), args.run_id, args.format, args.out)
    if args.json:
        print_json(result)
        return
    print(f"run {result['run_id']}: {result['docs']:,} kept documents ({result['bytes']:,} bytes of text) "
          f"in {len(result['languages'])} language folder(s) under {result['out']}")
    rows = [{"lang": lang, **counts, "files": len(counts["files"])} for lang, counts in result["languages"].items()]
    if rows:
        print_table(rows, ("lang", "docs", "bytes", "files"))
