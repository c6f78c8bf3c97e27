"""Hugging Face datasets in their three shapes: a hub name (`hf://NAME[/CONFIG]`), a `save_to_disk`
folder, and a dataset repository checked out as files (README.md with a YAML header, data under
`data/` or per-config folders). For a repository the README header is metadata: it fills what the
contributor did not say (license, languages, description), and its `configs:` (or the file names,
as `datasets` reads them) give each record its split and config."""
from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from curation.core.errors import AgoraError
from curation.ingest.files import HUB_PREFIX, is_hub

README = "README.md"
# datasets' split keywords (data_files.py): a file or folder name holding one is that split.
SPLIT_KEYWORDS = {"train": "train", "training": "train", "validation": "validation", "valid": "validation",
                  "dev": "validation", "val": "validation", "test": "test", "testing": "test", "eval": "test",
                  "evaluation": "test"}
_NAME_TOKENS = re.compile(r"[-._ 0-9]+")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)(.*)", re.S)
DESCRIPTION_CHARS = 300
NO_SPLIT = "data"  # where a lone Dataset (not a DatasetDict) files its rows: record ids `data#row`


@dataclass
class RepoCard:
    """A dataset repository's README header: its metadata and how its files map to configs and splits."""

    path: Path
    header: dict
    body: str
    configs: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (config, split, path patterns)

    def metadata(self) -> dict:
        """Registration fields the header gives (names as in data cards)."""
        found = {}
        license_id = self.header.get("license")
        if isinstance(license_id, list) and len(license_id) == 1:
            license_id = license_id[0]
        if isinstance(license_id, str) and license_id:
            found["license"] = license_id
        languages = self.header.get("language") or self.header.get("languages")
        if languages:
            found["languages"] = [str(lang) for lang in (languages if isinstance(languages, list) else [languages])]
        description = _first_paragraph(self.body) or self.header.get("pretty_name")
        if description:
            found["description"] = str(description)
        return found

    def split_of(self, rel: str) -> dict:
        """{"split", "config"} of a data file at this path relative to the repository."""
        for config, split, patterns in self.configs:
            if any(fnmatchcase(rel, pattern) for pattern in patterns):
                return {"split": split, "config": config}
        parts = rel.split("/")
        names = [Path(parts[-1]).name.split(".")[0], *reversed(parts[:-1])]
        split = next((SPLIT_KEYWORDS[token] for name in names for token in _NAME_TOKENS.split(name.lower())
                      if token in SPLIT_KEYWORDS), "train")  # datasets calls a file without a keyword train
        top = parts[0] if len(parts) > 1 else None
        config = top if top and top != "data" and top.lower() not in SPLIT_KEYWORDS else None
        return {"split": split, "config": config}


def repo_card(location: str) -> RepoCard | None:
    """The README.md YAML header of a dataset repository folder, or None when the folder has none."""
    path = Path(location).expanduser() / README
    if is_hub(location) or not path.is_file():
        return None
    found = _FRONT_MATTER.match(path.read_text("utf-8", errors="replace"))
    if not found:
        return None
    try:
        header = yaml.safe_load(found.group(1))
    except yaml.YAMLError as exc:
        raise AgoraError(f"{path}: the YAML header is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(header, dict):
        return None
    return RepoCard(path, header, found.group(2), _configs(header.get("configs")))


def _configs(configs) -> list[tuple[str, str, list[str]]]:
    """(config, split, patterns) from the header's `configs:` (data_files as a path, a list, or per split)."""
    found = []
    for config in configs if isinstance(configs, list) else []:
        name = str(config.get("config_name", "default"))
        files = config.get("data_files") or []
        for entry in files if isinstance(files, list) else [files]:
            if isinstance(entry, dict):
                paths = entry.get("path") or []
                found.append((name, str(entry.get("split", "train")), [paths] if isinstance(paths, str) else paths))
            else:
                found.append((name, "train", [str(entry)]))
    return found


def _first_paragraph(body: str) -> str | None:
    """The README's first prose paragraph (not a heading, list, table, image or code)."""
    for paragraph in re.split(r"\n\s*\n", body):
        text = " ".join(line.strip() for line in paragraph.strip().splitlines())
        if text and not text.startswith(("#", "-", "*", "|", "!", "<", "`", ">")):
            return text[:DESCRIPTION_CHARS]
    return None


# ---------------------------------------------------------------- datasets folders and the hub


def hf_rows(location: str) -> Iterator:
    """(split, row index, row) for every row of a save_to_disk folder or a hub dataset."""
    for split, dataset in _load_hf(location):
        for index, row in enumerate(dataset):
            yield split, index, row


def _load_hf(location: str) -> list[tuple[str, object]]:
    """(split, dataset) pairs from a save_to_disk folder or a hub dataset (hf://NAME[/CONFIG])."""
    if is_hub(location):
        _go_offline_unless_hub_reachable()
    import datasets

    if not is_hub(location):
        loaded = datasets.load_from_disk(location)
    else:
        name, _, config = location[len(HUB_PREFIX):].partition("/")
        try:
            loaded = datasets.load_dataset(name, config or None)
        except Exception as exc:  # datasets raises many types for "not cached, no network"
            raise AgoraError(
                f"cannot load {location} from the Hugging Face hub or the local cache: {str(exc).splitlines()[0]}"
            ) from None
    if isinstance(loaded, datasets.DatasetDict):
        return list(loaded.items())
    return [(NO_SPLIT, loaded)]


def _go_offline_unless_hub_reachable() -> None:
    """Without network, datasets retries for half a minute; offline mode fails (or hits the cache) at once."""
    if "HF_HUB_OFFLINE" not in os.environ and not _hub_reachable():
        os.environ["HF_HUB_OFFLINE"] = "1"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        # The libraries read the variable once, at import: tell the already imported ones too.
        for module in ("huggingface_hub.constants", "datasets.config"):
            if module in sys.modules:
                sys.modules[module].HF_HUB_OFFLINE = True


def _hub_reachable() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=2).close()
    except OSError:
        return False
    return True


def hub_fingerprint(location: str) -> str:
    return "hf:" + ",".join(f"{split}={dataset._fingerprint}" for split, dataset in _load_hf(location))
