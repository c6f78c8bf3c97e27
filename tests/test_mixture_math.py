"""Mixture arithmetic on hand-computed cases: shares, budgets, caps, weights, sampling, order, holdout, licenses.

Sampling, order and holdout run as SQL over tables (curation.mixture.selection); the three small
functions below put a list in a table, run the step, and read the result back as a list.
"""
from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pytest

from curation.core.errors import AgoraError
from curation.mixture import selection
from curation.mixture.budgets import (
    epochs,
    holdout_size,
    language_budgets,
    license_allowed,
    split_across_sources,
    temperature_shares,
    unimax_budgets,
)


def sample_documents(docs: list[tuple[str, int]], target: int, seed: int) -> list[tuple[str, int]]:
    """(doc_id, repeats) of one part's documents, sorted by doc_id."""
    con = selection.connect()
    con.register("docs", pa.table({"doc_id": pa.array([d for d, _ in docs], pa.string()),
                                   "lang": ["xx"] * len(docs), "source": ["s"] * len(docs),
                                   "n_tokens": pa.array([n for _, n in docs], pa.int64())}))
    selection.sample(con, "docs", {("xx", "s"): target}, seed)
    return con.execute("SELECT doc_id, repeats FROM chosen ORDER BY doc_id").fetchall()


def manifest_order(entries: list[tuple[str, int]], seed: int) -> list[str]:
    con = selection.connect()
    con.register("entries", pa.table({"doc_id": [d for d, _ in entries],
                                      "repeats": pa.array([r for _, r in entries], pa.int64())}))
    con.execute("CREATE TABLE chosen AS SELECT doc_id, 'xx' AS lang, 's' AS source, 1 AS n_tokens, repeats "
                "FROM entries")
    selection.order(con, seed)
    return [doc_id for (doc_id,) in con.execute("SELECT doc_id FROM manifest ORDER BY position").fetchall()]


def holdout_split(doc_ids: list[str], fraction: float, seed: int, lang: str = "xx") -> set[str]:
    con = selection.connect()
    con.register("docs", pa.table({"doc_id": pa.array(doc_ids, pa.string()), "lang": [lang] * len(doc_ids)}))
    selection.hold_out(con, "docs", fraction, seed)
    return {doc_id for (doc_id,) in con.execute("SELECT doc_id FROM held_out").fetchall()}


# --- temperature shares ---------------------------------------------------------------------------


def test_temperature_one_is_proportional():
    shares = temperature_shares({"a": 100, "b": 300, "c": 600, "z": 0}, 1.0)
    assert shares == pytest.approx({"a": 0.1, "b": 0.3, "c": 0.6, "z": 0.0})


def test_temperature_zero_is_uniform_over_languages_with_tokens():
    assert temperature_shares({"a": 1, "b": 1_000_000, "z": 0}, 0.0) == {"a": 0.5, "b": 0.5, "z": 0.0}


def test_temperature_half():
    # n^0.5: sqrt(100) = 10, sqrt(400) = 20, sqrt(1600) = 40; total 70 -> 1/7, 2/7, 4/7.
    shares = temperature_shares({"a": 100, "b": 400, "c": 1600}, 0.5)
    assert shares == pytest.approx({"a": 1 / 7, "b": 2 / 7, "c": 4 / 7})
    # The same shares as budgets: 700 tokens -> 100, 200, 400.
    budgets = language_budgets({"a": 100, "b": 400, "c": 1600}, 700, "temperature", alpha=0.5)
    assert budgets == {"a": 100, "b": 200, "c": 400}


def test_negative_temperature_is_rejected():
    with pytest.raises(ValueError, match="temperature"):
        temperature_shares({"a": 1}, -0.1)


# --- UniMax ---------------------------------------------------------------------------------------


def test_unimax_worked_example():
    # From the fewest tokens up, each language gets an equal share of what is left, capped at 4 epochs:
    #   a: 3000 / 3 = 1000, but 4 × 100 = 400 -> 400; 2600 left
    #   b: 2600 / 2 = 1300 (cap 4000)         -> 1300; 1300 left
    #   c: 1300 / 1 = 1300 (cap 40000)        -> 1300
    assert unimax_budgets({"a": 100, "b": 1000, "c": 10000}, 3000, 4) == {"a": 400, "b": 1300, "c": 1300}


def test_unimax_budget_beyond_all_caps_takes_every_cap():
    # caps 400 + 4000 + 40000 = 44400 < 100000: each language gets exactly its cap.
    budgets = unimax_budgets({"a": 100, "b": 1000, "c": 10000}, 100_000, 4)
    assert budgets == {"a": 400, "b": 4000, "c": 40000}


def test_unimax_rounds_to_the_budget_with_ties_to_the_lower_code():
    # 1000 / 3 = 333.33 each (no cap reached); the one leftover token goes to "a".
    assert unimax_budgets({"c": 10000, "b": 1000, "a": 100}, 1000, 4) == {"c": 333, "b": 333, "a": 334}


def test_unimax_rounds_fractional_caps_down():
    # 1.5 epochs of 101 tokens is 151.5: never more than 1.5 passes, so 151.
    assert unimax_budgets({"a": 101, "b": 10000}, 100_000, 1.5) == {"a": 151, "b": 15000}


def test_unimax_equals_uniform_temperature_under_the_same_cap():
    # α = 0 gives 1000 each; a is capped at 400 and the 600 it frees go half to b, half to c.
    tokens = {"a": 100, "b": 1000, "c": 10000}
    uniform = language_budgets(tokens, 3000, "temperature", alpha=0, max_epochs=4)
    assert uniform == language_budgets(tokens, 3000, "unimax", max_epochs=4) == {"a": 400, "b": 1300, "c": 1300}


# --- temperature with epoch caps ------------------------------------------------------------------


def test_epoch_cap_redistributes_until_nothing_more_is_capped():
    # α = 0, 300 tokens, 2 epochs: caps a 20, b 120, c 2000.
    #   round 1: 100 each; a is over its cap -> 20, 280 left for b and c
    #   round 2: 140 each; b is over its cap -> 120, 160 left for c
    #   round 3: c takes 160 (under 2000)
    budgets = language_budgets({"a": 10, "b": 60, "c": 1000}, 300, "temperature", alpha=0, max_epochs=2)
    assert budgets == {"a": 20, "b": 120, "c": 160}


def test_when_every_language_is_capped_the_total_falls_short():
    # α = 1 asks 200, 600, 1200; 1.5 epochs caps them at 150, 450, 900.
    budgets = language_budgets({"a": 100, "b": 300, "c": 600}, 2000, "temperature", alpha=1, max_epochs=1.5)
    assert budgets == {"a": 150, "b": 450, "c": 900}


def test_temperature_without_cap_takes_the_whole_budget():
    # 1001 × (0.1, 0.3, 0.6) = 100.1, 300.3, 600.6: floors sum to 1000, the largest remainder (c) gets one more.
    budgets = language_budgets({"a": 100, "b": 300, "c": 600}, 1001, "temperature", alpha=1)
    assert budgets == {"a": 100, "b": 300, "c": 601}


def test_rounding_ties_go_to_the_lower_code_whatever_the_order():
    # 10 / 3 = 3.33 each; one leftover token, three equal remainders.
    assert language_budgets({"c": 5, "b": 5, "a": 5}, 10, "temperature", alpha=0) == {"c": 3, "b": 3, "a": 4}


def test_languages_without_tokens_get_nothing():
    tokens = {"a": 0, "b": 100, "c": 300}
    assert language_budgets(tokens, 400, "temperature", alpha=0) == {"a": 0, "b": 200, "c": 200}
    assert language_budgets(tokens, 400, "unimax", max_epochs=10) == {"a": 0, "b": 200, "c": 200}
    assert language_budgets(tokens, 400, "temperature", alpha=0, weights={"a": 0.5}) == {"a": 0, "b": 200, "c": 200}


def test_integer_budgets_always_add_up_and_respect_caps():
    rng = random.Random(7)
    for _ in range(200):
        tokens = {f"l{i}": rng.choice([0, 1, 7, 100, 12_345, 10**9]) for i in range(rng.randint(1, 12))}
        budget = rng.randint(0, 3 * 10**9)
        max_epochs = rng.choice([0.5, 1, 2.5, 4])
        caps = {lang: int(max_epochs * 10 * n) // 10 for lang, n in tokens.items()}
        for method, extra in (("temperature", {"alpha": rng.choice([0, 0.3, 1])}), ("unimax", {})):
            budgets = language_budgets(tokens, budget, method, max_epochs=max_epochs, **extra)
            assert sum(budgets.values()) == min(budget, sum(caps.values()))
            assert all(0 <= budgets[lang] <= caps[lang] for lang in tokens)
        if any(tokens.values()):
            assert sum(language_budgets(tokens, budget, "temperature", alpha=0.3).values()) == budget


# --- explicit weights -----------------------------------------------------------------------------

TOKENS = {"de": 1000, "fr": 1000, "sw": 100, "yo": 100}


def test_weights_fix_shares_and_temperature_shares_the_rest():
    # de = 0.5 × 1000 = 500; fr, sw, yo share 500 uniformly (α = 0): 166.67 each, the two leftover
    # tokens go to the lower codes fr and sw.
    budgets = language_budgets(TOKENS, 1000, "temperature", alpha=0, weights={"de": 0.5})
    assert budgets == {"de": 500, "fr": 167, "sw": 167, "yo": 166}


def test_weights_fix_shares_and_unimax_shares_the_rest():
    # de = 500; UniMax over the other 500 with 1 epoch: sw 500/3 capped at 100, yo 400/2 capped at 100, fr 300.
    budgets = language_budgets(TOKENS, 1000, "unimax", max_epochs=1, weights={"de": 0.5})
    assert budgets == {"de": 500, "fr": 300, "sw": 100, "yo": 100}


def test_a_capped_weighted_language_frees_tokens_for_the_others():
    # sw asks 0.5 × 1000 = 500 but 2 epochs cap it at 200; de and fr share 800 in proportion (α = 1).
    tokens = {"de": 1000, "fr": 1000, "sw": 100}
    budgets = language_budgets(tokens, 1000, "temperature", alpha=1, max_epochs=2, weights={"sw": 0.5})
    assert budgets == {"de": 400, "fr": 400, "sw": 200}


def test_weights_never_grow_past_what_was_asked():
    # Every unweighted language is capped: the budget is not reached, and de stays at 0.3.
    tokens = {"de": 10_000, "sw": 100}
    budgets = language_budgets(tokens, 1000, "temperature", alpha=1, max_epochs=1, weights={"de": 0.3})
    assert budgets == {"de": 300, "sw": 100}


def test_typed_decimals_that_sum_to_one_are_accepted():
    assert 0.33 + 0.56 + 0.11 > 1  # in floating point
    budgets = language_budgets({"a": 10**6, "b": 10**6, "c": 10**6}, 100, "temperature", alpha=1,
                               weights={"a": 0.33, "b": 0.56, "c": 0.11})
    assert budgets == {"a": 33, "b": 56, "c": 11}


@pytest.mark.parametrize(("weights", "message"), [
    ({"de": 0.7, "fr": 0.4}, "sum to 1.1, more than 1"),
    ({"xx": 0.1}, "unknown languages xx"),
    ({"de": -0.1}, "must not be negative"),
])
def test_bad_weights_are_rejected(weights, message):
    with pytest.raises(ValueError, match=message):
        language_budgets(TOKENS, 1000, "temperature", alpha=0.3, weights=weights)


@pytest.mark.parametrize(("method", "options", "message"), [
    ("zipf", {"alpha": 1}, "unknown mixture method"),
    ("temperature", {}, "needs a temperature"),
    ("unimax", {}, "needs an epoch cap"),
    ("unimax", {"max_epochs": 0}, "must be positive"),
])
def test_bad_method_settings_are_rejected(method, options, message):
    with pytest.raises(AgoraError, match=message):
        language_budgets(TOKENS, 1000, method, **options)


# --- sources within a language --------------------------------------------------------------------


def test_split_is_proportional_to_tokens_and_exact():
    sources = {"wiki": 300, "news": 100, "web": 600}
    assert split_across_sources(1000, sources) == {"wiki": 300, "news": 100, "web": 600}
    # 300.3, 100.1, 600.6 -> the leftover token goes to web (.6).
    assert split_across_sources(1001, sources) == {"wiki": 300, "news": 100, "web": 601}


def test_split_with_weights():
    # news = 0.5 × 1000 = 500; wiki and web share 500 as 300 : 600 -> 166.67, 333.33 -> 167, 333.
    sources = {"wiki": 300, "news": 100, "web": 600}
    assert split_across_sources(1000, sources, {"news": 0.5}) == {"wiki": 167, "news": 500, "web": 333}


def test_split_fills_the_target_when_only_weighted_sources_have_tokens():
    # Nothing else can take the remaining 0.4: a and b are scaled to 0.4/0.6 and 0.2/0.6.
    assert split_across_sources(90, {"a": 5, "b": 5, "c": 0}, {"a": 0.4, "b": 0.2}) == {"a": 60, "b": 30, "c": 0}


def test_split_edge_cases():
    assert split_across_sources(0, {"a": 0}) == {"a": 0}
    assert split_across_sources(10, {"a": 0, "b": 7}, {"a": 0.5}) == {"a": 0, "b": 10}
    with pytest.raises(ValueError, match="no source has any"):
        split_across_sources(10, {"a": 0})
    with pytest.raises(ValueError, match="unknown sources x"):
        split_across_sources(10, {"a": 5}, {"x": 0.1})


# --- epochs and document sampling -----------------------------------------------------------------

DOCS = [(f"doc{i}", 10) for i in range(10)]  # 100 tokens


def _tokens(sample: list[tuple[str, int]], docs: list[tuple[str, int]]) -> int:
    size = dict(docs)
    return sum(size[doc_id] * repeats for doc_id, repeats in sample)


def test_epochs():
    assert epochs(250, 100) == 2.5
    assert epochs(0, 0) == 0.0
    with pytest.raises(ValueError):
        epochs(1, 0)


def test_whole_passes_then_a_remainder():
    # 250 of 100: two whole passes, then 50 more = 5 documents of 10 tokens.
    sample = sample_documents(DOCS, 250, seed=1)
    assert Counter(r for _, r in sample) == {2: 5, 3: 5}
    assert _tokens(sample, DOCS) == 250


def test_the_remainder_stops_at_the_first_document_that_reaches_it():
    # 55 more after two passes: five documents make 50, the sixth passes it (60).
    sample = sample_documents(DOCS, 255, seed=1)
    assert Counter(r for _, r in sample) == {2: 4, 3: 6}
    assert _tokens(sample, DOCS) == 260


def test_exact_passes_and_partial_passes():
    assert sample_documents(DOCS, 200, seed=1) == [(doc_id, 2) for doc_id, _ in DOCS]
    assert [r for _, r in sample_documents(DOCS, 35, seed=1)] == [1, 1, 1, 1]
    assert sample_documents(DOCS, 0, seed=1) == []


def test_zero_token_documents_are_skipped():
    docs = DOCS + [("empty", 0)]
    assert "empty" not in dict(sample_documents(docs, 300, seed=1))
    with pytest.raises(ValueError):
        sample_documents([("empty", 0)], 10, seed=1)


def test_sampling_is_deterministic_and_independent_of_input_order():
    sample = sample_documents(DOCS, 250, seed=1)
    assert sample_documents(list(reversed(DOCS)), 250, seed=1) == sample
    assert sample_documents(DOCS, 250, seed=2) != sample


def test_a_smaller_remainder_is_a_prefix_of_a_larger_one():
    smaller = dict(sample_documents(DOCS, 30, seed=3))
    larger = dict(sample_documents(DOCS, 60, seed=3))
    assert len(smaller) == 3 and len(larger) == 6 and set(smaller) < set(larger)


def test_an_unrelated_document_does_not_change_the_selection():
    docs = [(f"doc{i}", 10) for i in range(100)]  # 1000 tokens; a target of 300 takes 30 of them
    before = sample_documents(docs, 300, seed=5)
    unchanged = 0
    for i in range(20):
        after = sample_documents(docs + [(f"new{i}", 10)], 300, seed=5)
        if f"new{i}" not in dict(after):  # it ranks after the cut: nothing else may move
            assert after == before
            unchanged += 1
    assert unchanged >= 10


# --- training order -------------------------------------------------------------------------------


def test_order_expands_repeats_deterministically():
    entries = [("a", 3), ("b", 1), ("c", 2)]
    order = manifest_order(entries, seed=1)
    assert Counter(order) == {"a": 3, "b": 1, "c": 2}
    assert manifest_order(list(reversed(entries)), seed=1) == order
    many = [(f"d{i}", 2) for i in range(50)]
    assert manifest_order(many, seed=1) != manifest_order(many, seed=2)


def test_equal_repeats_come_in_whole_passes():
    entries = [(f"d{i}", 3) for i in range(50)]
    order = manifest_order(entries, seed=4)
    assert set(order[:50]) == set(order[50:100]) == set(order[100:]) == {d for d, _ in entries}
    assert all(x != y for x, y in zip(order, order[1:]))


def test_copies_are_spread_over_the_run():
    # 20 documents four times, 100 once: 180 in all. A document's copies sit a quarter of the run
    # apart, so they are never adjacent and never bunched.
    entries = [(f"r{i}", 4) for i in range(20)] + [(f"s{i}", 1) for i in range(100)]
    order = manifest_order(entries, seed=9)
    assert all(x != y for x, y in zip(order, order[1:]))
    for doc_id, _ in entries[:20]:
        positions = [i for i, d in enumerate(order) if d == doc_id]
        assert min(b - a for a, b in zip(positions, positions[1:])) > 20
    singles = [i for i, d in enumerate(order) if d.startswith("s")]
    assert singles[0] < 20 and singles[-1] > 160  # the once-only documents are spread too


# --- holdout --------------------------------------------------------------------------------------

IDS = [f"doc{i}" for i in range(1000)]


def test_holdout_is_deterministic_and_about_the_fraction():
    held = holdout_split(IDS, 0.1, seed=1)
    assert holdout_split(list(reversed(IDS)), 0.1, seed=1) == held
    assert 70 <= len(held) <= 130
    assert holdout_split(IDS, 0.1, seed=2) != held


def test_holdout_is_stable_when_documents_are_added():
    before = holdout_split(IDS, 0.1, seed=1)
    after = holdout_split(IDS + [f"new{i}" for i in range(500)], 0.1, seed=1)
    assert after & set(IDS) == before  # held-out stay held out; no training document moves over


def test_holdout_edge_cases():
    assert holdout_split(IDS, 0.0, seed=1) == set()
    assert holdout_split(["only"], 0.5, seed=1) == set()
    assert holdout_split([], 0.5, seed=1) == set()
    assert len(holdout_split(["a", "b"], 0.001, seed=1)) == 1  # at least one
    assert len(holdout_split(["a", "b"], 0.999, seed=1)) == 1  # at least one left for training
    for fraction in (1.0, -0.1):
        with pytest.raises(ValueError, match="holdout fraction"):
            holdout_split(IDS, fraction, seed=1)


def test_a_language_with_enough_documents_gives_a_few():
    # A tiny fraction draws nothing: one document in 20, at most 5, is held out all the same.
    assert [len(holdout_split(IDS[:n], 0.0001, seed=1)) for n in (2, 19, 20, 40, 99, 100, 1000)] == [
        1, 1, 1, 2, 4, 5, 5]
    assert [holdout_size(n, below, 0.01) for n, below in ((1, 0), (2, 0), (100, 0), (100, 7), (1000, 3))] == [
        0, 1, 5, 7, 5]
    assert holdout_size(100, 0, 0.0) == 0  # no holdout asked, none taken


def test_holdout_is_per_language():
    con = selection.connect()
    con.register("docs", pa.table({"doc_id": IDS[:300] + ["x0", "x1"], "lang": ["a"] * 100 + ["b"] * 200 + ["c"] * 2}))
    selection.hold_out(con, "docs", 0.0001, seed=1)
    assert dict(con.execute("SELECT d.lang, count(*) FROM held_out JOIN docs d USING (doc_id) GROUP BY ALL").fetchall()
                ) == {"a": 5, "b": 5, "c": 1}


# --- license policies -----------------------------------------------------------------------------

ALLOWED = {
    "any": {"permissive", "attribution", "share-alike", "non-commercial", "research-only", "unknown"},
    "commercial": {"permissive", "attribution", "share-alike", "unknown"},
    "open": {"permissive", "attribution", "share-alike"},
}


@pytest.mark.parametrize("policy", sorted(ALLOWED))
def test_license_policies(policy):
    for license_class in ALLOWED["any"]:
        allowed, reason = license_allowed(license_class, policy)
        assert allowed == (license_class in ALLOWED[policy])
        assert reason == (None if allowed else f"{license_class} license excluded by --license-policy {policy}")


def test_license_reason_and_errors():
    assert license_allowed("non-commercial", "commercial") == (
        False, "non-commercial license excluded by --license-policy commercial")
    with pytest.raises(ValueError, match="unknown license policy"):
        license_allowed("permissive", "free")
    with pytest.raises(ValueError, match="unknown license class"):
        license_allowed("public-domain", "any")
