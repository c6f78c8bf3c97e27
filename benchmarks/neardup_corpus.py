"""A corpus with known near-duplicates, made from real text, and its exact Jaccard ground truth.

Base documents are real human-written texts from ../shared/data in many languages and scripts
(xquad paragraphs in 12 languages incl. Chinese and Thai, UDHR passages in ~40 scripts, mgsm
problems incl. Japanese, gsm8k, Shakespeare, Common Crawl pages, instruction seeds). A seeded
share of them get families of variants: exact copies, formatting-only copies, word (or, for
scripts without spaces, character) substitutions / insertions / deletions, reordered sentences,
added boilerplate, truncation, and mixes; some variants derive from earlier variants (chains).

Ground truth is not taken from the families: it is every pair with shingle Jaccard >= threshold
over the WHOLE corpus, found exactly by prefix filtering (a pair with J >= t must share a token
among the first |x| - ceil(t|x|) + 1 of each set in one global order, rarest first), then
verified by exact set intersection. So it also catches natural near-duplicates (UDHR spelling
variants, gsm8k test vs test_socratic) and proves that unrelated documents are below threshold.
Shingles are `curation.text.minhash.shingles` (what Agora's signatures estimate).
"""
from __future__ import annotations

import gzip
import json
import math
import random
import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from curation.text.minhash import DEFAULT_NGRAM, jaccard, shingles

# Script of each xquad / mgsm language (the others are Latin).
SCRIPT_OF = {"zh": "Hans", "th": "Thai", "ja": "Jpan", "ar": "Arab", "el": "Grek", "hi": "Deva", "ru": "Cyrl",
             "bn": "Beng", "te": "Telu"}
# Scripts written without spaces between words: shingled by characters.
SPACELESS_SCRIPTS = {"Hans", "Hant", "Hani", "Jpan", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Yiii", "Java", "Lana"}
_SPACELESS_NAMES = ("CJK UNIFIED", "HIRAGANA", "KATAKANA", "THAI", "LAO ", "KHMER", "MYANMAR")

# Lines of the kind that sites wrap around the same article (written for this benchmark).
BOILERPLATE = [
    "Skip to main content",
    "Home | About us | Contact | Privacy policy | Terms of use",
    "Share this: Facebook Twitter LinkedIn Email Print",
    "This website uses cookies to improve your experience. By continuing you accept our use of cookies.",
    "Copyright © 2019 All rights reserved.",
    "Posted in Uncategorized | Leave a comment",
    "Subscribe to our newsletter to get the latest updates straight to your inbox.",
    "Related posts:",
    "Edit | Files | Tags | Source | Print",
    "Log in or register to post comments",
]

VARIANT_KINDS = {  # kind: share of variants
    "exact": 0.08,
    "format": 0.08,
    "edit": 0.34,
    "reorder": 0.10,
    "boilerplate": 0.14,
    "truncate": 0.14,
    "mixed": 0.12,
}
VARIANT_SHARE = 0.3  # chance that the next document is one more variant of the newest base
CHAIN_SHARE = 0.3  # variants derived from an earlier variant instead of the base
MIN_CHARS = 50


@dataclass
class Doc:
    doc_id: str
    text: str
    lang: str
    script: str
    use_words: bool
    source: str
    license_class: str
    quality: float
    family: int  # index of the base it derives from; its own index for a base
    kind: str  # "base" or a VARIANT_KINDS key


def _spaceless(text: str) -> bool:
    """Whether most letters of a page of unknown language belong to a script without word spaces."""
    letters = [c for c in text[:2000] if c.isalpha()]
    hits = sum(unicodedata.name(c, "").startswith(_SPACELESS_NAMES) for c in letters)
    return bool(letters) and hits > 0.3 * len(letters)


def _base(text: str, lang: str, script: str, source: str, license_class: str) -> dict:
    return {"text": text, "lang": lang, "script": script, "use_words": script not in SPACELESS_SCRIPTS,
            "source": source, "license_class": license_class}


def _chunks(lines: list[str], target_chars: int) -> list[str]:
    """Consecutive lines joined into passages of at least target_chars (the last may be shorter)."""
    out, cur, size = [], [], 0
    for line in lines:
        cur.append(line)
        size += len(line)
        if size >= target_chars:
            out.append("\n".join(cur))
            cur, size = [], 0
    if cur:
        out.append("\n".join(cur))
    return out


def load_bases(root: Path) -> list[dict]:
    """Real texts from the shared corpora, in a fixed order."""
    corpora = root / "corpora"
    bases = []
    for path in sorted((corpora / "xquad").glob("xquad.*.json.gz")):
        lang = path.name.split(".")[1]
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)["data"]
        for article in data:
            for para in article["paragraphs"]:
                bases.append(_base(para["context"].lstrip("\ufeff"), lang, SCRIPT_OF.get(lang, "Latn"), "xquad",
                                   "share-alike"))
    with gzip.open(corpora / "udhr" / "udhr.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            lang = rec["bcp47"].split("-")[0]
            for chunk in _chunks(rec["text"].split("\n"), 400 if rec["iso15924"] in SPACELESS_SCRIPTS else 1200):
                bases.append(_base(chunk, lang, rec["iso15924"], "udhr", "unknown"))
    for path in sorted((corpora / "mgsm").glob("mgsm_*.tsv")):
        lang = path.stem.split("_")[1]
        for line in path.read_text(encoding="utf-8").splitlines():
            question = line.split("\t")[0]
            bases.append(_base(question, lang, SCRIPT_OF.get(lang, "Latn"), "mgsm", "attribution"))
    for name in ("train.jsonl", "test.jsonl", "test_socratic.jsonl"):
        for line in (corpora / "gsm8k" / name).read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            bases.append(_base(rec["question"] + "\n" + rec["answer"], "en", "Latn", "gsm8k", "permissive"))
    for line in (corpora / "self-instruct-seed-tasks" / "seed_tasks.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        text = "\n".join([rec["instruction"]] + [i["input"] + "\n" + i["output"] for i in rec["instances"]])
        bases.append(_base(text, "en", "Latn", "self-instruct", "permissive"))
    shakespeare = (root / "shakespeare" / "input.txt").read_text(encoding="utf-8").split("\n")
    for chunk in _chunks(shakespeare, 1500):
        bases.append(_base(chunk, "en", "Latn", "shakespeare", "permissive"))
    for path in sorted((corpora / "dolma-test-fixtures").glob("*/*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                text = json.loads(line).get("text")  # the expected-output fixtures have none
                if text is None:
                    continue
                bases.append(_base(text, "und", "Hani" if _spaceless(text) else "Zyyy", "common-crawl", "unknown"))
    return [b for b in bases if len("".join(b["text"].split())) >= MIN_CHARS]


# ---- variants -------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


def _units(text: str, use_words: bool) -> list[str]:
    """Editable units with their separators kept: words + whitespace, or single characters."""
    return re.split(r"(\s+)", text) if use_words else list(text)


def _is_unit(piece: str) -> bool:
    return bool(piece) and not piece.isspace()


def _edit(text: str, use_words: bool, rate: float, vocab: list[str], rng: random.Random) -> str:
    pieces = _units(text, use_words)
    out = []
    for piece in pieces:
        if not _is_unit(piece) or rng.random() >= rate:
            out.append(piece)
            continue
        op = rng.random()
        glue = " " if use_words else ""
        if op < 0.5:  # substitute
            out.append(rng.choice(vocab))
        elif op < 0.75:  # insert after
            out.append(piece + glue + rng.choice(vocab))
        else:  # delete (its separator stays; whitespace is normalised away)
            out.append("")
    return "".join(out)


def _segments(text: str, use_words: bool) -> list[str]:
    lines = [x for x in text.split("\n") if x.strip()]
    if len(lines) >= 3:
        return lines
    sentences = [x for x in _SENTENCE_END.split(text) if x.strip()]
    if len(sentences) >= 3 or use_words:
        return sentences
    return text.split()  # Thai and similar: spaces separate phrases


def _reorder(text: str, use_words: bool, rng: random.Random) -> str:
    segments = _segments(text, use_words)
    for _ in range(rng.randint(1, 3)):
        if len(segments) < 2:
            break
        i = rng.randrange(len(segments) - 1)
        segments[i], segments[i + 1] = segments[i + 1], segments[i]
    return "\n".join(segments)


def _boilerplate(text: str, rng: random.Random) -> str:
    head = rng.sample(BOILERPLATE, rng.randint(0, 2))
    tail = rng.sample(BOILERPLATE, rng.randint(1, 2))
    return "\n".join(head + [text] + tail)


def _truncate(text: str, use_words: bool, rng: random.Random) -> str:
    pieces = _units(text, use_words)
    return "".join(pieces[: max(1, round(len(pieces) * rng.uniform(0.55, 0.98)))])


def _format(text: str, use_words: bool, rng: random.Random) -> str:
    """Layout, case and punctuation changes only: the same shingles, another content hash."""
    if not use_words:
        return " ".join(text[i : i + 7] for i in range(0, len(text), 7))
    text = " ".join(text.split()) if rng.random() < 0.5 else text.replace(". ", ".\n")
    return text.upper() if rng.random() < 0.5 else text.rstrip(".!?") + "!"


def make_variant(text: str, use_words: bool, kind: str, vocab: list[str], rng: random.Random) -> str:
    if kind == "exact":
        return text
    if kind == "format":
        return _format(text, use_words, rng)
    if kind == "edit":
        return _edit(text, use_words, rng.uniform(0.002, 0.08), vocab, rng)
    if kind == "reorder":
        return _reorder(text, use_words, rng)
    if kind == "boilerplate":
        return _boilerplate(text, rng)
    if kind == "truncate":
        return _truncate(text, use_words, rng)
    edited = _edit(text, use_words, rng.uniform(0.002, 0.03), vocab, rng)
    other = rng.choice(["reorder", "boilerplate", "truncate"])
    return make_variant(edited, use_words, other, vocab, rng)


def make_corpus(root: Path, n_docs: int = 20_000, seed: int = 0) -> list[Doc]:
    """n_docs documents (bases and variants), shuffled; the same for the same (data, n_docs, seed)."""
    rng = random.Random(seed)
    pool = load_bases(root)
    rng.shuffle(pool)
    vocab: dict[str, list[str]] = defaultdict(list)
    for b in pool:
        vocab[b["lang"]].extend(b["text"].split() if b["use_words"] else [c for c in b["text"] if not c.isspace()])
    kinds, weights = list(VARIANT_KINDS), list(VARIANT_KINDS.values())
    classes = ["permissive", "attribution", "share-alike", "non-commercial", "unknown"]

    docs: list[Doc] = []
    families: list[list[Doc]] = []
    next_base = 0
    while len(docs) < n_docs:
        if next_base < len(pool) and (rng.random() >= VARIANT_SHARE or not families):
            b = pool[next_base]
            next_base += 1
            doc = Doc(f"{b['source']}/{next_base:06d}", b["text"], b["lang"], b["script"], b["use_words"],
                      b["source"], b["license_class"], round(rng.random(), 4), len(families), "base")
            docs.append(doc)
            families.append([doc])
            continue
        # a variant: of the newest base mostly (so families grow geometrically), any base once the pool is used
        family = families[-1] if next_base < len(pool) else rng.choice(families)
        parent = family[0] if rng.random() >= CHAIN_SHARE else rng.choice(family)
        kind = rng.choices(kinds, weights)[0]
        text = make_variant(parent.text, parent.use_words, kind, vocab[parent.lang], rng)
        mirror = f"{family[0].source}-mirror"
        doc = Doc(f"{mirror}/{len(docs):06d}", text, parent.lang, parent.script, parent.use_words,
                  mirror, rng.choice(classes), round(rng.random(), 4), family[0].family, kind)
        docs.append(doc)
        family.append(doc)
    rng.shuffle(docs)
    return docs


# ---- ground truth ---------------------------------------------------------------------------

def shingle_sets(docs: list[Doc], n: int = DEFAULT_NGRAM) -> list[np.ndarray]:
    return [shingles(d.text, d.use_words, n) for d in docs]


def truth_pairs(sets: list[np.ndarray], threshold: float = 0.8) -> list[tuple[int, int, float]]:
    """Every pair (i, j, jaccard), i < j, of shingle sets with exact Jaccard >= threshold."""
    values, counts = np.unique(np.concatenate(sets), return_counts=True)
    order = np.lexsort((values, counts))  # rarest first, ties by value: one global order
    rank_of = np.empty(len(values), dtype=np.int64)
    rank_of[order] = np.arange(len(values))
    doc_col, token_col = [], []
    for i, s in enumerate(sets):
        ranked = np.sort(rank_of[np.searchsorted(values, s)])
        prefix = len(ranked) - math.ceil(threshold * len(ranked) - 1e-9) + 1
        doc_col.append(np.full(prefix, i, dtype=np.int64))
        token_col.append(ranked[:prefix])
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.register("postings", pa.table({"doc": np.concatenate(doc_col), "token": np.concatenate(token_col)}))
    con.register("sizes", pa.table({"doc": np.arange(len(sets)), "size": np.array([len(s) for s in sets])}))
    candidates = con.execute(
        """
        SELECT DISTINCT x.doc AS a, y.doc AS b
        FROM postings x JOIN postings y ON x.token = y.token AND x.doc < y.doc
        JOIN sizes sa ON sa.doc = x.doc JOIN sizes sb ON sb.doc = y.doc
        WHERE least(sa.size, sb.size) >= ? * greatest(sa.size, sb.size) - 1e-9
        ORDER BY a, b
        """,
        [threshold],
    ).fetchnumpy()
    out = []
    for a, b in zip(candidates["a"].tolist(), candidates["b"].tolist()):
        similarity = jaccard(sets[a], sets[b])
        if similarity >= threshold - 1e-9:
            out.append((a, b, similarity))
    return out


def family_pairs(docs: list[Doc], sets: list[np.ndarray]) -> list[tuple[int, int, float]]:
    """Exact Jaccard of every pair inside each family (to see how hard the planted pairs are)."""
    by_family: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        by_family[d.family].append(i)
    return [
        (a, b, jaccard(sets[a], sets[b]))
        for members in by_family.values()
        for x, a in enumerate(members)
        for b in members[x + 1 :]
    ]


def write_corpus(docs: list[Doc], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(asdict(d), ensure_ascii=False) + "\n")


def read_corpus(path: Path) -> list[Doc]:
    with open(path, encoding="utf-8") as f:
        return [Doc(**json.loads(line)) for line in f]
