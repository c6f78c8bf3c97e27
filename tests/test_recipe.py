"""Recipes: `base:` inheritance, stable fingerprints, and one-line errors for every kind of mistake."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from curation.core.errors import AgoraError
from curation.core.yamlfile import AnyKeys, Keys
from curation.stages.recipe import DEFAULT_RECIPE, RULES, SCHEMA, Recipe, load_recipe
from curation.text.langid import DEFAULT_BACKEND
from tests.helpers import BASE_FLAGS, DOCS, run_cli, write_jsonl

PIPELINES = Path(__file__).resolve().parent.parent / "pipelines"
# The recipes' part of the demo's pinned run ids (tests/test_stable_ids.py): moving strict.yaml onto
# `base: default.yaml` and dropping `steps:` from the files must not change them.
# Issue 12 added max_adult_word_density, min_quality_model_score and quality_model to default.yaml.
DEFAULT_FINGERPRINT = "152b64729ac0"
STRICT_FINGERPRINT = "240a792f5d06"
STRICTER = {
    ("langid", "min_score"): 0.9,
    ("quality", "defaults", "min_n_words"): 100,
    ("quality", "defaults", "max_dup_line_frac"): 0.2,
    ("dedup", "fuzzy", "threshold"): 0.7,
}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def leaves(data: dict, prefix: tuple = ()) -> dict[tuple, object]:
    """Every non-mapping value of nested mappings, by its key path."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out |= leaves(value, (*prefix, key))
        else:
            out[(*prefix, key)] = value
    return out


def test_child_overrides_its_base_null_disables_and_lists_are_replaced(tmp_path):
    write(tmp_path / "base.yaml", "version: 1\nlangid: {backend: cld2, min_score: 0.8}\n"
                                  "quality: {defaults: {min_n_words: 50, max_n_words: 1000}}\n"
                                  "pii: {redact: [email, phone]}\n")
    child = write(tmp_path / "child.yaml", "base: base.yaml\nlangid: {min_score: 0.5}\n"
                                           "quality: {defaults: {min_n_words: null}}\npii: {redact: [ip]}\n")
    assert load_recipe(child).data == {
        "version": 1,
        "langid": {"backend": "cld2", "min_score": 0.5},
        "quality": {"defaults": {"min_n_words": None, "max_n_words": 1000}},
        "pii": {"redact": ["ip"]},
    }


def test_a_base_may_have_a_base_each_relative_to_its_own_file(tmp_path):
    write(tmp_path / "root.yaml", "quality: {defaults: {min_n_words: 1, max_n_words: 2, min_c4_sentences: 3}}\n")
    write(tmp_path / "mid" / "mid.yaml", "base: ../root.yaml\nquality: {defaults: {max_n_words: 20}}\n")
    leaf = write(tmp_path / "leaf" / "leaf.yaml",
                 "base: ../mid/mid.yaml\nquality: {defaults: {min_c4_sentences: 30}}\n")
    assert load_recipe(leaf).quality == {"defaults": {"min_n_words": 1, "max_n_words": 20, "min_c4_sentences": 30}}


def test_a_base_cycle_is_an_error(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(AgoraError, match=re.escape("makes a cycle (a.yaml -> b.yaml -> a.yaml)")):
        load_recipe(tmp_path / "a.yaml")


def test_a_missing_base_is_an_error_naming_the_recipe(tmp_path):
    recipe = write(tmp_path / "a.yaml", "base: nope.yaml\n")
    with pytest.raises(AgoraError, match=f"^recipe {re.escape(str(recipe))}: base .*nope.yaml not found"):
        load_recipe(recipe)


def test_a_mistake_in_a_base_names_the_base(tmp_path):
    base = write(tmp_path / "base.yaml", "dedup: {fuzzy: {num_perm: 0}}\n")
    child = write(tmp_path / "child.yaml", "base: base.yaml\n")
    with pytest.raises(AgoraError, match=f"^recipe {re.escape(str(base))}: dedup.fuzzy.num_perm must be a positive"):
        load_recipe(child)


def test_strict_is_default_with_only_the_stricter_values():
    default, strict = load_recipe(PIPELINES / "default.yaml"), load_recipe(PIPELINES / "strict.yaml")
    differ = {path for path in leaves(default.data) | leaves(strict.data)
              if leaves(default.data).get(path) != leaves(strict.data).get(path)}
    assert differ == set(STRICTER)
    assert {path: leaves(strict.data)[path] for path in STRICTER} == STRICTER
    assert strict.stage1_settings() == default.stage1_settings()  # so --refilter with it needs no stage 1


def test_fingerprints_of_the_shipped_recipes_are_pinned():
    assert load_recipe().path == str(DEFAULT_RECIPE)
    assert load_recipe().fingerprint() == DEFAULT_FINGERPRINT
    assert load_recipe(PIPELINES / "strict.yaml").fingerprint() == STRICT_FINGERPRINT


def test_a_recipe_stored_by_an_older_run_with_steps_rebuilds_the_same():
    default = load_recipe()
    stored = Recipe(default.path, {**default.data, "steps": ["normalize", "langid", "quality", "pii", "dedup"]})
    assert stored.fingerprint() == default.fingerprint()
    assert stored.stage1_settings() == default.stage1_settings()


def test_defaults_without_sections(tmp_path):
    recipe = load_recipe(write(tmp_path / "empty.yaml", "version: 1\n"))
    assert recipe.langid_backend == DEFAULT_BACKEND
    assert recipe.fuzzy == {"threshold": 0.8, "num_perm": 128, "ngram": 5}
    assert recipe.pii_redact == ["email", "phone", "ip"]


@pytest.mark.parametrize("text, message", [
    ('quality: {defaults: {min_n_words: "50"}}',
     "quality.defaults.min_n_words must be a number or null, got the string '50'"),
    ("quality:\n  defaults:\n    min_n_words: null#x",
     "quality.defaults.min_n_words must be a number or null, got the string 'null#x'"),
    ("quality: {defaults: {min_n_words: true}}", "quality.defaults.min_n_words must be a number or null, "
                                                 "got the boolean true"),
    ("stepz: [normalize]", "unknown key(s) stepz; known: base, dedup, langid, pii, quality, quality_model, version"),
    ("steps: [normalize]", "unknown key(s) steps"),
    ("langid: {min_scor: 0.5}", "unknown key langid.min_scor; did you mean min_score?"),
    ("quality: {defaults: {min_n_wrds: 5}}", "unknown key quality.defaults.min_n_wrds; did you mean min_n_words? "
                                             "a rule is min_<signal> or max_<signal>"),
    ("quality: {scripts: {Hani: {low_n_words: 5}}}", "unknown key quality.scripts.Hani.low_n_words"),
    ("quality: {scripts: {Hani: null}}", "quality.scripts.Hani must be a mapping, got null"),
    ("quality: [min_n_words]", "quality must be a mapping, got a list"),
    ("quality: {languages: {no: {min_n_words: 5}}}",
     "quality.languages has a key that YAML read as the boolean false; quote it"),
    ("pii: {redact: [email, emali]}", "pii.redact[1] must be one of email, phone, ip, got the string 'emali'"),
    ("pii: {redact: email}", "pii.redact must be a list, got the string 'email'"),
    ("version: 2", "version must be 1, the recipe format this Agora reads, got the number 2"),
    ("version: '1'", "version must be 1, the recipe format this Agora reads, got the string '1'"),
    ("langid: {backend: franc}", "langid.backend must be one of agora, langdetect"),
    ("langid: {min_score: 80}", "langid.min_score must be a number from 0 to 1, got the number 80"),
    ("langid: {min_chars: -1}", "langid.min_chars must be a non-negative integer, got the number -1"),
    ("langid: {require_declared: 'yes'}", "langid.require_declared must be true or false, got the string 'yes'"),
    ("langid: {seed: 1}", "langid.seed is not an option of the agora backend, which takes languages, prefix_chars"),
    ("dedup: {fuzzy: {threshold: 0}}", "dedup.fuzzy.threshold must be a number above 0 and at most 1"),
    ("dedup: {fuzzy: {ngram: 2.5}}", "dedup.fuzzy.ngram must be a positive integer, got the number 2.5"),
    ("dedup: {source_priority: [a, 3]}", "dedup.source_priority[1] must be a string, got the number 3"),
    ("dedup: {exact: false}", "dedup.exact must be true (exact duplicates are always removed)"),
    ("base: 3", "base must be a path to a recipe, relative to this file, got the number 3"),
    ("quality: {defaults: {min_n_words: 5}", "is not valid YAML"),
])
def test_a_mistake_is_one_line_naming_the_file_and_the_key(tmp_path, text, message):
    recipe = write(tmp_path / "my.yaml", text + "\n")
    with pytest.raises(AgoraError) as caught:
        load_recipe(recipe)
    error = str(caught.value)
    assert error.startswith(f"recipe {recipe}") and message in error and "\n" not in error


def test_the_langdetect_backend_takes_a_seed(tmp_path):
    recipe = load_recipe(write(tmp_path / "my.yaml", "langid: {backend: langdetect, seed: 3, prefix_chars: 500}\n"))
    assert recipe.langid_options() == {"seed": 3, "prefix_chars": 500}


def schema_keys(schema) -> set[str]:
    """Every key the schema names, except the quality rules (the signal table documents those)."""
    if isinstance(schema, AnyKeys):
        return schema_keys(schema.value)
    if not isinstance(schema, Keys) or schema is RULES:
        return set()
    return {*schema.keys, *(key for child in schema.keys.values() for key in schema_keys(child))}


def test_the_readme_documents_every_key():
    readme = (PIPELINES / "README.md").read_text("utf-8")
    assert {key for key in schema_keys(SCHEMA) if not re.search(rf"`([\w.]+\.)?{key}`", readme)} == set()


def test_cli_reports_a_bad_recipe_in_one_line(tmp_path, capsys):
    workspace = str(tmp_path / "ws")
    assert run_cli(capsys, "init", "--workspace", workspace)[0] == 0
    data = write_jsonl(tmp_path / "data.jsonl", [{"id": i, "text": t} for i, t in enumerate(DOCS)])
    assert run_cli(capsys, "register", str(data), "--name", "src", "--workspace", workspace, *BASE_FLAGS)[0] == 0
    bad = write(tmp_path / "bad.yaml", 'quality: {defaults: {min_n_words: "50"}}\n')
    code, out, err = run_cli(capsys, "curate", "--recipe", str(bad), "--workspace", workspace)
    assert code == 1 and out == ""
    assert err.startswith(f"agora: error: recipe {bad}: quality.defaults.min_n_words") and err.count("\n") == 1
