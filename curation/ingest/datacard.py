"""Data cards: the registration metadata of a contributed dataset, as a YAML file beside it."""
from __future__ import annotations

from pathlib import Path

from curation.core.yamlfile import load_mapping

CARD_FIELDS = {
    "name", "data", "format", "text_field", "id_field", "columns", "contributor", "organization",
    "country", "contact", "license", "languages", "description", "homepage", "attribution", "include", "exclude",
}
LIST_FIELDS = ("text_field", "columns", "languages", "include", "exclude")


def load_card(path: str | Path) -> dict:
    """The card's fields, with list fields as lists and `data` resolved against the card's folder."""
    card_path = Path(path)
    card = load_mapping(card_path, "data card", CARD_FIELDS)
    for key in LIST_FIELDS:
        if isinstance(card.get(key), str):
            card[key] = [part.strip() for part in card[key].split(",")]
    if card.get("data"):
        card["data"] = str(card_path.parent / str(card["data"]))
    if "country" in card:
        card["country"] = str(card["country"])
    return card
