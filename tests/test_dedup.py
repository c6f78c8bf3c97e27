"""MinHash shingles/signatures and the DuckDB dedup step (exact + fuzzy clusters, representatives)."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.stages.dedup import INPUT_SCHEMA, SHINGLED_SCHEMA, find_duplicates
from curation.text.minhash import choose_bands, content_hash, jaccard, shingle_text, shingles, signature

ENGLISH = (
    "The committee met on Tuesday to discuss the new library building. Members agreed that the "
    "reading room should stay open until nine in the evening, and that the children's section "
    "needs more shelves. The budget will be presented at the next meeting in March, after the "
    "architects have finished their revised drawings of the ground floor and the garden."
)
CHINESE = "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。"
THAI = "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ ต่างมีเหตุผลและมโนธรรม"
ARABIC = "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميرًا"


def _write(path: Path, docs: list[dict], stored_shingles: bool = False) -> str:
    """docs: doc_id, text, use_words and optionally source / license_class / quality. As stage 1 writes
    them (text and script), or with stored shingle sets as older stage-1 rows hold them."""
    rows = []
    for d in docs:
        use_words = d.get("use_words", True)
        sh = shingles(d["text"], use_words)
        row = {"doc_id": d["doc_id"], "source": d.get("source", "s"),
               "license_class": d.get("license_class", "permissive"), "quality": d.get("quality", 0.5),
               "content_hash": content_hash(d["text"]), "signature": signature(sh)}
        rows.append({**row, "shingles": sh} if stored_shingles else
                    {**row, "text": d["text"], "script": "Latn" if use_words else "Thai"})
    pq.write_table(pa.Table.from_pylist(rows, schema=SHINGLED_SCHEMA if stored_shingles else INPUT_SCHEMA), path)
    return str(path)


def _clusters(rel: duckdb.DuckDBPyRelation) -> dict[str, tuple]:
    return {row[0]: row[1:] for row in rel.fetchall()}


def test_signature_is_deterministic_and_pinned():
    # Pinned values: a change here changes every stored signature; it must be a deliberate one.
    sh = shingles("The Universal Declaration of Human Rights", use_words=True)
    assert sh.tolist() == [2922537131, 3188397957]
    assert signature(sh)[:4].tolist() == [568756064, 1668606498, 188000622, 2246615814]
    again = signature(shingles(ENGLISH, True))
    assert again.dtype == np.uint32 and len(again) == 128
    assert np.array_equal(again, signature(shingles(ENGLISH, True)))


def test_normalisation_ignores_case_punctuation_and_layout():
    assert shingle_text("  Hello,\tWORLD!!  (again) ") == "hello world again"
    assert np.array_equal(shingles(ENGLISH, True), shingles(ENGLISH.upper().replace(".", " ;\n"), True))
    assert content_hash("a  b\r\nc ") == content_hash("a b c") != content_hash("A b c")


@pytest.mark.parametrize("text,use_words",
                         [(CHINESE, False), (THAI, False), (ARABIC, True), ("short", True), ("", True)])
def test_every_script_and_length_gets_shingles(text, use_words):
    sh = shingles(text, use_words)
    assert len(sh) >= 1
    assert len(signature(sh)) == 128


def test_character_shingles_see_small_edits_in_spaceless_scripts():
    edited = CHINESE.replace("尊严", "尊敬")
    assert 0.6 < jaccard(shingles(CHINESE, False), shingles(edited, False)) < 0.95
    # whitespace "words" of Chinese are whole clauses: one edit would change every word shingle
    assert jaccard(shingles(CHINESE, True), shingles(edited, True)) < 0.5


def test_signature_estimates_jaccard():
    rng = random.Random(1)
    words = ENGLISH.split() * 4
    errors = []
    for _ in range(40):
        edited = [w if rng.random() > 0.03 else "zzz" + str(rng.random()) for w in words]
        a, b = shingles(" ".join(words), True), shingles(" ".join(edited), True)
        errors.append(np.mean(signature(a) == signature(b)) - jaccard(a, b))
    assert abs(np.mean(errors)) < 0.03 and np.std(errors) < 0.06


def test_choose_bands_puts_the_steep_part_below_the_threshold():
    for threshold in (0.7, 0.8, 0.9):
        bands, rows = choose_bands(threshold, 128)
        assert bands * rows <= 128
        found = lambda s, rows=rows, bands=bands: 1 - (1 - s**rows) ** bands  # noqa: E731
        assert found(threshold) > 0.95 and found(threshold + 0.05) > 0.99
        assert found(threshold / 2) < 0.15  # still a filter: most dissimilar pairs are never compared
    assert choose_bands(0.9, 128)[1] > choose_bands(0.7, 128)[1]  # stricter threshold, longer bands
    with pytest.raises(ValueError):
        choose_bands(1.0, 128)


def test_exact_and_near_duplicates_cluster_and_unrelated_do_not(tmp_path):
    edited = ENGLISH.replace("Tuesday", "Wednesday")
    docs = [
        {"doc_id": "a", "text": ENGLISH},
        {"doc_id": "b", "text": ENGLISH + "\n"},  # layout only: exact
        {"doc_id": "c", "text": "Completely different: the tram line to the harbour closes for repairs in May."},
        {"doc_id": "d", "text": "Completely different: the tram line to the harbour closes for repairs in May."},
        {"doc_id": "e", "text": edited},  # one word changed: near duplicate of a/b
        {"doc_id": "f", "text": THAI, "use_words": False},
        {"doc_id": "g", "text": THAI.replace("อิสระ", "อิสรภาพ"), "use_words": False},
        {"doc_id": "h", "text": CHINESE, "use_words": False},
    ]
    got = _clusters(find_duplicates(duckdb.connect(), _write(tmp_path / "x.parquet", docs)))
    assert set(got) == {"a", "b", "c", "d", "e", "f", "g"}
    assert got["a"][:2] == got["b"][:2] == got["e"][:2] == ("a", "fuzzy")
    assert got["c"][:2] == got["d"][:2] == ("c", "exact")
    assert got["f"][:2] == got["g"][:2] == ("f", "fuzzy")
    assert sum(row[2] for row in got.values()) == 3  # one representative per cluster


def test_stored_shingles_and_shingled_text_give_the_same_clusters(tmp_path):
    """Stage-1 rows written before the compact store hold shingle sets; newer ones only text. Either,
    or a mix of both files, verifies the same pairs."""
    rng = random.Random(3)
    words = ENGLISH.split() + [f"w{n}" for n in range(200)]
    docs = []
    for i in range(60):
        base = [rng.choice(words) for _ in range(200)]
        for j in range(3):
            edited = list(base)
            for _ in range(j * 2):
                edited[rng.randrange(len(edited))] = rng.choice(["river", "bridge", "ninety", "blue"])
            docs.append({"doc_id": f"d{i:02d}-{j}", "text": " ".join(edited)})
    docs.append({"doc_id": "t1", "text": THAI, "use_words": False})
    docs.append({"doc_id": "t2", "text": THAI.replace("อิสระ", "อิสรภาพ"), "use_words": False})
    from_text = _clusters(find_duplicates(duckdb.connect(), _write(tmp_path / "text.parquet", docs)))
    stored = _clusters(find_duplicates(duckdb.connect(), _write(tmp_path / "stored.parquet", docs, True)))
    mixed = _clusters(find_duplicates(duckdb.connect(), [_write(tmp_path / "new.parquet", docs[::2]),
                                                         _write(tmp_path / "old.parquet", docs[1::2], True)]))
    assert from_text == stored == mixed
    assert len({row[0] for row in from_text.values()}) > 10 and from_text["t1"][:2] == ("t1", "fuzzy")


def test_a_large_bucket_is_linked_as_a_star(tmp_path):
    # 70 copies that differ only in their last word share most band keys: buckets above
    # MAX_BUCKET_PAIRS are linked to their best member instead of pairwise, and still make one cluster.
    docs = [{"doc_id": f"p{i:02d}", "text": f"{ENGLISH} {ENGLISH} item{i}"} for i in range(70)]
    got = _clusters(find_duplicates(duckdb.connect(), _write(tmp_path / "s.parquet", docs)))
    assert len(got) == 70 and {row[0] for row in got.values()} == {"p00"}
    assert [d for d, row in got.items() if row[2]] == ["p00"]


def test_representative_by_priority_then_license_then_quality_then_id(tmp_path):
    def rep(docs, priority=None):
        rows = [{"doc_id": i, "text": ENGLISH, **d} for i, d in docs.items()]
        rel = find_duplicates(duckdb.connect(), _write(tmp_path / "r.parquet", rows), source_priority=priority)
        return {row[4] for row in rel.fetchall()}

    assert rep({"x": {"source": "web"}, "y": {"source": "books"}}, {"books": 0, "web": 1}) == {"y"}
    assert rep({"x": {"source": "web"}, "y": {"source": "other"}}, {"web": 1}) == {"x"}  # unlisted last
    assert rep({"x": {"license_class": "share-alike"}, "y": {"license_class": "permissive"}}) == {"y"}
    assert rep({"x": {"license_class": "mystery"}, "y": {"license_class": "unknown"}}) == {"y"}
    assert rep({"x": {"quality": 0.2}, "y": {"quality": 0.9}, "z": {"quality": None}}) == {"y"}
    assert rep({"y": {}, "x": {}}) == {"x"}
    # priority outranks license and quality
    assert rep({"x": {"source": "a", "license_class": "unknown", "quality": 0.1},
                "y": {"source": "b", "license_class": "permissive", "quality": 0.9}}, {"a": 0, "b": 1}) == {"x"}


def test_repeated_doc_ids_are_an_error(tmp_path):
    path = _write(tmp_path / "d.parquet", [{"doc_id": "a", "text": "one"}, {"doc_id": "a", "text": "two"}])
    with pytest.raises(ValueError, match="not unique"):
        find_duplicates(duckdb.connect(), path)


def test_dolma_fixture_exact_groups(shared_data, tmp_path):
    """The fixture's groups are byte-identical texts (sha1); layout-insensitive hashing finds the same."""
    folder = shared_data / "corpora" / "dolma-test-fixtures" / "cc-main-2019-30"
    with gzip.open(next(folder.glob("*.jsonl.gz")), "rt", encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    expected = set()
    for line in (folder / "exact_duplicate_groups.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        expected.add(frozenset(line.split("\t")[2].split(",")))

    by_hash: dict[str, set[str]] = {}
    for r in records:
        by_hash.setdefault(content_hash(r["text"]), set()).add(r["id"])
    assert {frozenset(ids) for ids in by_hash.values() if len(ids) > 1} == expected

    path = _write(tmp_path / "cc.parquet", [{"doc_id": r["id"], "text": r["text"]} for r in records])
    clusters: dict[str, set[str]] = {}
    for doc_id, cluster_id, kind, *_ in find_duplicates(duckdb.connect(), path).fetchall():
        if kind == "exact":
            clusters.setdefault(cluster_id, set()).add(doc_id)
    assert {frozenset(ids) for ids in clusters.values()} == expected
