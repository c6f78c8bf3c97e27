import gzip
import json
import random
from pathlib import Path

import pytest
import yaml
from datatrove.pipeline.filters.gopher_repetition_filter import find_all_duplicate, find_top_duplicate, get_n_grams

from curation.text.normalize import normalize
from curation.text.quality import _ngram_signals, failed_rules, quality_signals, thresholds_for
from curation.text.segment import words, words_and_symbols

RECIPE = Path(__file__).resolve().parent.parent / "pipelines" / "default.yaml"


@pytest.fixture(scope="module")
def quality_recipe() -> dict:
    return yaml.safe_load(RECIPE.read_text("utf-8"))["quality"]


def failures(text: str, lang: str, script: str, recipe: dict) -> set[str]:
    signals = quality_signals(normalize(text), lang)
    return {rule for rule, _, _ in failed_rules(signals, thresholds_for(recipe, lang, script))}


# --- segmentation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Don't stop: well-known l'homme, 3.14!", ["Don't", "stop", "well-known", "l'homme", "3", "14"]),
        ("Привет, мир! Всё хорошо.", ["Привет", "мир", "Всё", "хорошо"]),
        ("مُحَمَّدٌ رَسُولُ اللَّهِ", ["مُحَمَّدٌ", "رَسُولُ", "اللَّهِ"]),  # harakat (Mn) stay inside words
        ("सभी मनुष्यों को गौरव", ["सभी", "मनुष्यों", "को", "गौरव"]),  # matras (Mc/Mn) too
        ("می\u200cخواهم بروم", ["می\u200cخواهم", "بروم"]),  # ZWNJ inside a Persian word
        ("人人生而自由。", ["人", "人", "生", "而", "自", "由"]),
        ("東京タワーは333m、iPhone15を買った。",
         ["東", "京", "タ", "ワ", "ー", "は", "333m", "iPhone15", "を", "買", "っ", "た"]),
        ("มนุษย์ทั้งหลาย", ["ม", "นุ", "ษ", "ย์", "ทั้", "ง", "ห", "ล", "า", "ย"]),  # a letter with its marks
        ("𞤀𞤣𞤤𞤢𞤥 text", ["𞤀𞤣𞤤𞤢𞤥", "text"]),  # astral alphabets (Adlam) are words too
    ],
)
def test_words(text, expected):
    assert words(text) == expected


def test_symbol_chunks_are_counted_but_attached_punctuation_is_not():
    assert words_and_symbols("Menu | Home --- chiru' bu:unny, ok.") == (
        ["Menu", "Home", "chiru", "bu", "unny", "ok"], 2)
    assert words_and_symbols("ሰላም፡ዓለም።")[1] == 0  # Ethiopic wordspace separates words


# --- signals ----------------------------------------------------------------------------------


def test_ngram_signals_match_datatrove():
    rng = random.Random(1)
    for _ in range(300):
        vocab = [f"w{i}" * rng.randint(1, 3) for i in range(rng.randint(1, 6))]
        doc = [rng.choice(vocab) for _ in range(rng.randint(0, 60))]
        signals = _ngram_signals(doc, 1000)
        for n in (2, 3, 4):
            grams = get_n_grams(doc, n)
            assert signals[f"top_{n}gram_char_frac"] == (find_top_duplicate(grams) / 1000 if grams else 0.0)
        for n in range(5, 11):
            assert signals[f"dup_{n}gram_char_frac"] == find_all_duplicate(doc, n) / 1000


ENGLISH = """The river has always shaped the town. Farmers brought their grain to the mill on its bank,
and the first school was built where the old ferry used to land. Today the mill is a small museum,
and children from the school visit it every spring to learn how flour was made by hand.

Most people in the town still walk to work. The main street is short, and the shops close early on
Sundays, which gives the place a quiet rhythm that visitors often notice. In the evening, families
sit on the benches by the water and talk about the weather, the harvest and the news from the city."""

CHINESE = (
    "北京是中国的首都，也是一座历史悠久的城市。每年都有很多游客来这里参观故宫、长城和天坛。"
    "春天的时候，公园里开满了花，人们喜欢在周末和家人一起散步。近年来，城市的交通越来越方便，"
    "地铁已经连接了大部分地区。很多年轻人在这里工作和学习，他们说这座城市充满了机会，也有很多挑战。"
)
JAPANESE = (
    "東京は日本の首都であり、世界でも有数の大都市です。毎年多くの観光客が訪れ、浅草や渋谷などの名所を楽しんでいます。"
    "春には桜が咲き、公園では家族や友人と花見をする人々の姿が見られます。最近では、駅の案内が多言語で表示されるように"
    "なり、外国から来た人にとっても移動しやすくなりました。一方で、家賃の高さや通勤電車の混雑に悩む人も少なくありません。"
)
THAI = (
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย และเป็นศูนย์กลางทางเศรษฐกิจของประเทศ "
    "ในแต่ละปีมีนักท่องเที่ยวจำนวนมากเดินทางมาเที่ยวชมวัดและพระราชวัง อาหารริมทางก็เป็นที่นิยมมาก "
    "ผู้คนสามารถหาอาหารอร่อยได้ตลอดทั้งวัน ในช่วงหลายปีที่ผ่านมา รถไฟฟ้าช่วยให้การเดินทางในเมืองสะดวกขึ้นมาก "
    "แต่ปัญหาการจราจรก็ยังคงเป็นเรื่องที่หลายคนกังวล"
)


@pytest.mark.parametrize(
    ("text", "lang", "script"),
    [(ENGLISH, "en", "Latn"), (CHINESE, "zh", "Hani"), (JAPANESE, "ja", "Jpan"), (THAI, "th", "Thai")],
)
def test_clean_prose_passes_the_default_recipe(text, lang, script, quality_recipe):
    assert failures(text, lang, script, quality_recipe) == set()


def test_stop_words_per_language():
    assert quality_signals(ENGLISH, "en")["stop_words"] >= 10
    assert quality_signals(CHINESE, "zh")["stop_words"] >= 5
    assert quality_signals(THAI, "th")["stop_words"] >= 5  # matched as substrings
    assert quality_signals(ENGLISH, "xx")["stop_words"] is None  # no list: the rule is skipped


BOILERPLATE = """Home
Products
About us
Contact
This website uses cookies to improve your experience.
Please enable JavaScript in your browser to use this site.
Terms of Use | Privacy Policy | Cookie Policy
© 2024 Example Inc. All rights reserved."""

SPAM = "\n".join(["Cheap watches best price buy now free shipping cheap watches online"] * 25)
LOREM = ENGLISH + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."
LINKS = "\n".join(f"- Category {i}: shoes, bags, hats" for i in range(60))
TABLE = "\n".join(f"{2000 + i} {i * 7} {i * 13} {i * 17} {i * 19} {i * 23}" for i in range(40))
TEASERS = "\n".join(f"Read the full story about topic number {i} and what happened next..." for i in range(20))


@pytest.mark.parametrize(
    ("text", "expected_rules"),
    [
        ("Home | About | Contact", {"min_n_words", "min_c4_sentences"}),
        (BOILERPLATE, {"min_n_words", "min_c4_sentences"}),
        (SPAM, {"max_dup_line_frac", "max_top_4gram_char_frac", "max_dup_10gram_char_frac", "min_fw_punct_lines_frac"}),
        (LOREM, {"max_c4_lorem_ipsum"}),
        (LINKS, {"max_bullet_lines_frac", "min_fw_punct_lines_frac", "max_top_4gram_char_frac"}),
        (TABLE, {"min_alpha_words_frac", "min_stop_words"}),
        (TEASERS, {"max_ellipsis_lines_frac", "max_dup_5gram_char_frac"}),
    ],
)
def test_junk_fails(text, expected_rules, quality_recipe):
    assert expected_rules <= failures(text, "en", "Latn", quality_recipe)


def test_c4_counts_follow_c4_line_order():
    text = ("Click here\nPlease enable JavaScript to view this page.\nWe use cookies on this site.\nA {b} c d.\n"
            "你好世界。我很好！")
    signals = quality_signals(text, "en")
    assert signals["c4_javascript_lines"] == 1
    assert signals["c4_policy_lines"] == 1
    assert signals["c4_curly_brackets"] == 1
    assert signals["c4_sentences"] == 3  # "A {b} c d." and the two Chinese sentences
    assert signals["c4_punct_lines_frac"] == 0.8
    assert signals["c4_few_words_lines_frac"] == 0.2  # "Click here"


def test_empty_text_has_zero_signals():
    signals = quality_signals("", "en")
    assert signals["n_words"] == 0 and signals["mean_word_length"] == 0.0 and signals["dup_line_frac"] == 0.0


# --- rules ------------------------------------------------------------------------------------


def test_failed_rules():
    signals = {"n_words": 10, "mean_word_length": 4.0, "stop_words": None}
    thresholds = {"min_n_words": 50, "max_mean_word_length": 10, "min_stop_words": 2, "max_n_words": None}
    assert failed_rules(signals, thresholds) == [("min_n_words", 10, 50)]
    with pytest.raises(ValueError, match="min_n_word"):
        failed_rules(signals, {"min_n_word": 50})  # a typo must not disable a rule


def test_thresholds_for_most_specific_wins():
    recipe = {"defaults": {"min_n_words": 50, "max_n_words": 100}, "scripts": {"Hani": {"min_n_words": 100}},
              "languages": {"yue": {"min_n_words": 80}}}
    assert thresholds_for(recipe, "zh", "Hani") == {"min_n_words": 100, "max_n_words": 100}
    assert thresholds_for(recipe, "yue", "Hani") == {"min_n_words": 80, "max_n_words": 100}
    assert thresholds_for(recipe, "en", "Latn") == {"min_n_words": 50, "max_n_words": 100}


def test_every_rule_in_the_default_recipe_names_a_signal(quality_recipe):
    signals = quality_signals(ENGLISH, "en")
    for script in [None, *quality_recipe["scripts"]]:
        for lang in [None, *quality_recipe["languages"]]:
            failed_rules(signals, thresholds_for(quality_recipe, lang, script))


def test_udhr_prose_is_kept_in_every_script(shared_data, quality_recipe):
    """The default recipe keeps >= 95% of the UDHR (clean prose, 400+ languages, 40 scripts)."""
    as_detected = {"Hans": "Hani", "Hant": "Hani", "Kore": "Hang"}  # what detect_script reports
    kept = total = 0
    for line in gzip.open(shared_data / "corpora" / "udhr" / "udhr.jsonl.gz", "rt", encoding="utf-8"):
        doc = json.loads(line)
        script = as_detected.get(doc["iso15924"], doc["iso15924"])
        total += 1
        kept += not failures(doc["text"], doc["bcp47"].split("-")[0], script, quality_recipe)
    assert kept / total >= 0.95
