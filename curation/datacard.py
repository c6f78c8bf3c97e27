"""Data cards: the registration metadata of a contributed dataset, as a YAML file beside it."""
from __future__ import annotations

from pathlib import Path

import yaml

from curation.errors import AgoraError

CARD_FIELDS = {
    "name", "data", "format", "text_field", "id_field", "columns", "contributor", "organization",
    "country", "contact", "license", "languages", "description", "homepage", "attribution",
}
LIST_FIELDS = ("text_field", "columns", "languages")


def load_card(path: str | Path) -> dict:
    """The card's fields, with list fields as lists and `data` resolved against the card's folder."""
    card_path = Path(path)
    if not card_path.is_file():
        raise AgoraError(f"data card not found: {card_path}")
    try:
        card = yaml.safe_load(card_path.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise AgoraError(f"data card {card_path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(card, dict):
        raise AgoraError(f"data card {card_path} must be a mapping of fields (name, license, …)")
    unknown = sorted(set(card) - CARD_FIELDS)
    if unknown:
        raise AgoraError(f"data card {card_path}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(CARD_FIELDS))}")
    for key in LIST_FIELDS:
        if isinstance(card.get(key), str):
            card[key] = [part.strip() for part in card[key].split(",")]
    if card.get("data"):
        card["data"] = str(card_path.parent / str(card["data"]))
    if "country" in card:
        card["country"] = str(card["country"])
    return card
