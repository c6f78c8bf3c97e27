"""A multilingual corpus of any size, for measuring how Agora's commands scale.

Built from the language-id test sentences in shared/data/langid/language-testdata/sentences (75
languages, ~74,000 sentences): a document is 1 to 8 sentences of one language; languages are drawn
with Zipf weights (rank r gets 1/r: a web crawl is dominated by a few languages and has a long
tail); documents are spread over four sources with different licenses. Planted: 2% of the
documents are exact copies and 2% near copies (one word replaced) of one of the 10,000 documents
before them, each put in another source than its original, so deduplication has cross-source work
at every size.
The same size and seed give the same files.

    from benchmarks.scale_corpus import make_corpus
    sources = make_corpus(shared / "langid/language-testdata/sentences", 100_000, Path("corpus"))
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXACT_SHARE = 0.02
NEAR_SHARE = 0.02
MAX_SENTENCES = 8
COPY_WINDOW = 10_000  # copies are of one of this many documents before them (a bounded memory)
SOURCES = (  # name, license, contributor, country
    ("scale-news", "CC-BY-4.0", "Scale News Archive", "DE"),
    ("scale-web", "CC0-1.0", "Scale Web Crawl", "NL"),
    ("scale-forum", "CC-BY-SA-4.0", "Scale Forum Dump", "FR"),
    ("scale-radio", "CC-BY-NC-4.0", "Scale Community Radio", "KE"),
)


@dataclass(frozen=True)
class Source:
    """One generated contribution: what `agora register` needs to know about it."""

    name: str
    path: Path
    license: str
    contributor: str
    country: str
    languages: tuple[str, ...]
    docs: int

    def register_args(self) -> list[str]:
        return [str(self.path), "--name", self.name, "--contributor", self.contributor, "--country", self.country,
                "--license", self.license, "--languages", ",".join(self.languages), "--id-field", "id"]


def load_sentences(folder: Path) -> dict[str, list[str]]:
    """language code (the file's stem) -> its non-empty sentences, in file order."""
    return {path.stem: [line for line in path.read_text("utf-8").splitlines() if line.strip()]
            for path in sorted(folder.glob("*.txt"))}


def make_corpus(sentences_dir: Path, n_docs: int, out_dir: Path, seed: int = 0) -> list[Source]:
    """Write `n_docs` documents as one JSONL file per source under `out_dir` (reused when complete)."""
    sentences = load_sentences(sentences_dir)
    languages = sorted(sentences)
    done = out_dir / "_SUCCESS"
    counts = json.loads(done.read_text()) if done.is_file() else None
    if counts is None:
        counts = _write(sentences, languages, n_docs, out_dir, seed)
        done.write_text(json.dumps(counts))
    return [Source(name, out_dir / f"{name}.jsonl", license, contributor, country, tuple(languages), counts[name])
            for name, license, contributor, country in SOURCES]


def _write(sentences: dict[str, list[str]], languages: list[str], n_docs: int, out_dir: Path,
           seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    order = rng.permutation(len(languages))  # which language gets which Zipf rank
    weights = 1.0 / (np.argsort(order) + 1)
    lang_of = rng.choice(len(languages), size=n_docs, p=weights / weights.sum())
    n_sentences = rng.integers(1, MAX_SENTENCES + 1, size=n_docs)
    source_of = rng.integers(0, len(SOURCES), size=n_docs)
    kind = rng.random(n_docs)  # < EXACT_SHARE: exact copy; next NEAR_SHARE: near copy; else original
    handles = [open(out_dir / f"{name}.jsonl", "w", encoding="utf-8") for name, *_ in SOURCES]
    counts = dict.fromkeys((name for name, *_ in SOURCES), 0)
    recent: list[str] = [""] * COPY_WINDOW  # document i's text at i % COPY_WINDOW
    try:
        for i in range(n_docs):
            if i and kind[i] < EXACT_SHARE + NEAR_SHARE:
                original = i - 1 - int(rng.integers(0, min(i, COPY_WINDOW)))
                lang_of[i], text = lang_of[original], recent[original % COPY_WINDOW]
                if kind[i] >= EXACT_SHARE:
                    text = _replace_a_word(text, sentences[languages[lang_of[i]]], rng)
                source = (source_of[original] + 1 + int(rng.integers(0, len(SOURCES) - 1))) % len(SOURCES)
            else:
                pool = sentences[languages[lang_of[i]]]
                text = " ".join(pool[j] for j in rng.integers(0, len(pool), size=n_sentences[i]))
                source = int(source_of[i])
            recent[i % COPY_WINDOW] = text
            name = SOURCES[source][0]
            handles[source].write(json.dumps({"id": f"d{i:08d}", "text": text}, ensure_ascii=False) + "\n")
            counts[name] += 1
    finally:
        for handle in handles:
            handle.close()
    return counts


def _replace_a_word(text: str, pool: list[str], rng: np.random.Generator) -> str:
    """The text with one word replaced by a word of another sentence of the language (or, for text
    written without spaces, five characters replaced)."""
    words = text.split(" ")
    donor = pool[int(rng.integers(0, len(pool)))]
    if len(words) > 1:
        words[int(rng.integers(0, len(words)))] = donor.split(" ")[0]
        return " ".join(words)
    at = int(rng.integers(0, max(len(text) - 5, 1)))
    return text[:at] + donor[:5] + text[at + 5:]
