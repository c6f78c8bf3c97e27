"""The main text of a web page: what the page says, without navigation, banners, comments and footers.

Agora's default is trafilatura with the settings `benchmarks/bench_extract.py` measured best on
trafilatura's own labelled pages (`benchmarks/RESULTS.md`): precision-favouring, no comments, and
no cross-document deduplication. trafilatura's `deduplicate` keeps a process-wide cache of text it
has seen, so a page's text would depend on which pages the same worker extracted before it; Agora
needs the same page to give the same text in every run and with any number of workers (duplicates
are stage 2's job).
"""
from __future__ import annotations

import re

EXTRACTOR_SETTINGS = {"favor_precision": True, "include_comments": False, "deduplicate": False}
_CANONICAL = re.compile(
    r"<link\b[^>]*\brel=[\"']?canonical[\"']?[^>]*>|<meta\b[^>]*\bproperty=[\"']?og:url[\"']?[^>]*>", re.I)
_URL_ATTR = re.compile(r"\b(?:href|content)=[\"']?([^\"'\s>]+)", re.I)
HEAD_CHARS = 65536  # the canonical link sits in <head>


def main_text(html: str) -> str:
    """The page's main text as plain text with paragraphs on their own lines; "" when it has none."""
    import trafilatura

    return (trafilatura.extract(html, **EXTRACTOR_SETTINGS) or "").strip()


def canonical_url(html: str) -> str | None:
    """The URL the page declares for itself (`<link rel=canonical>` or `og:url`), if any."""
    for tag in _CANONICAL.finditer(html[:HEAD_CHARS]):
        found = _URL_ATTR.search(tag.group(0))
        if found and found.group(1).startswith(("http://", "https://")):
            return found.group(1)
    return None
