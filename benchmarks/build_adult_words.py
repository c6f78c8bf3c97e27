"""Build curation/data/adult_words.tsv, the word lists the adult-content signal ships with, from the
team's copy of LDNOOBW ("List of Dirty, Naughty, Obscene, and Otherwise Bad Words", CC BY 4.0) in
../shared/data/wordlists/ldnoobw. The shared copy is not in the repository, and an installed
package must not need it at run time, so the lists travel in this compact derived form.

    .venv/bin/python -m benchmarks.build_adult_words

Changes to the lists (CC BY 4.0 asks to say so): entries are NFC-normalized, lower-cased,
stripped, de-duplicated and merged into one file, one `language<TAB>entry` per line, sorted; the
Canadian French list is filed under `fr`. Nothing is added or removed. The same input gives the same
bytes.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from benchmarks.shared_data import REPO_ROOT, find_shared_data

OUT = REPO_ROOT / "curation" / "data" / "adult_words.tsv"
# List files whose name is not the ISO 639 code Agora gives the language.
FILE_LANGUAGES = {"fr-CA-u-sd-caqc": "fr"}
NOT_LISTS = {"LICENSE", "README.md", "SOURCE.md", "USERS.md"}


def source_commit(folder: Path) -> str:
    """The upstream commit recorded in the shared copy's SOURCE.md."""
    found = re.search(r"Commit: `([0-9a-f]{40})`", (folder / "SOURCE.md").read_text("utf-8"))
    if not found:
        raise SystemExit(f"{folder / 'SOURCE.md'} names no commit")
    return found.group(1)


def entries(folder: Path) -> list[tuple[str, str]]:
    """(language, entry) for every entry of every list, normalized, unique, sorted."""
    rows = set()
    for path in folder.iterdir():
        if path.name in NOT_LISTS or not path.is_file():
            continue
        lang = FILE_LANGUAGES.get(path.name, path.name)
        for line in path.read_text("utf-8").splitlines():
            entry = unicodedata.normalize("NFC", line).strip().lower()
            if entry:
                rows.add((lang, entry))
    return sorted(rows)


def main() -> None:
    shared = find_shared_data()
    if shared is None:
        raise SystemExit("../shared/data not found: the word lists are built from the team's copy of LDNOOBW")
    folder = shared / "wordlists" / "ldnoobw"
    rows = entries(folder)
    header = [
        "# Adult-content word lists for curation/text/adult.py, derived from LDNOOBW",
        "# (https://github.com/LDNOOBW/List-of-Dirty-Naughty-Obscene-and-Otherwise-Bad-Words,",
        f"# commit {source_commit(folder)}), (c) 2012-2020 Shutterstock, Inc. and LDNOOBW contributors,",
        "# licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/).",
        "# Changed: NFC, lower case, de-duplicated, merged into one file (fr-CA filed under fr); nothing added.",
        "# Built by `python -m benchmarks.build_adult_words`. Offensive content by design.",
        "# language<TAB>entry",
    ]
    OUT.write_text("\n".join([*header, *(f"{lang}\t{entry}" for lang, entry in rows)]) + "\n", "utf-8")
    print(f"{OUT}: {len(rows)} entries in {len({lang for lang, _ in rows})} languages")


if __name__ == "__main__":
    main()
