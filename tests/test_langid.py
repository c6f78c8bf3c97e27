"""Language identification and script detection: determinism, the default backend on several
languages and scripts, candidate restriction, degenerate input, and a check on real test data."""
from __future__ import annotations

import math
import random
import socket

import pytest

from curation.text.langid import LangGuess, NoCandidateLanguage, get_identifier, lang_of_label
from curation.text.langid.base import _import
from curation.text.langid.vote import _fuse, _ruled_out
from curation.text.scripts import detect_script, has_word_spaces
from curation.text.wordlists import UNSEEN_LOG_FREQ, WordLists

SENTENCES = {
    "en": "The committee will publish its annual report on the state of the harbour next week.",
    "de": "Der Ausschuss wird nächste Woche seinen Jahresbericht über den Zustand des Hafens veröffentlichen.",
    "fr": "Le comité publiera la semaine prochaine son rapport annuel sur l'état du port.",
    "es": "El comité publicará la próxima semana su informe anual sobre el estado del puerto.",
    "ru": "На следующей неделе комитет опубликует свой ежегодный доклад о состоянии порта.",
    "ar": "ستنشر اللجنة الأسبوع المقبل تقريرها السنوي عن حالة الميناء.",
    "hi": "समिति अगले सप्ताह बंदरगाह की स्थिति पर अपनी वार्षिक रिपोर्ट प्रकाशित करेगी।",
    "zh": "委员会将于下周发布关于港口状况的年度报告，届时公众可以在网上阅读全文。",
    "ja": "委員会は来週、港の状態に関する年次報告書を公表する予定です。",
    "ko": "위원회는 다음 주에 항구 상태에 관한 연례 보고서를 발표할 예정입니다.",
    "th": "คณะกรรมการจะเผยแพร่รายงานประจำปีเกี่ยวกับสภาพของท่าเรือในสัปดาห์หน้า",
    "el": "Η επιτροπή θα δημοσιεύσει την ετήσια έκθεσή της για την κατάσταση του λιμανιού την επόμενη εβδομάδα.",
}


@pytest.fixture(scope="module")
def agora():
    return get_identifier()  # the default backend


def test_default_backend_is_agora(agora):
    assert agora.name == "agora"


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_default_backend_on_sentences(agora, lang):
    guess = agora.identify(SENTENCES[lang])
    assert guess.lang == lang
    assert 0.0 < guess.score <= 1.0


def test_langdetect_is_deterministic():
    texts = [SENTENCES["en"], SENTENCES["ru"], "Haus", "casa", "ok"]
    first, second = get_identifier("langdetect", seed=0), get_identifier("langdetect", seed=0)
    answers = [first.identify(t) for t in texts]
    assert [second.identify(t) for t in texts] == answers == [first.identify(t) for t in texts]


def test_agora_is_deterministic(agora):
    texts = list(SENTENCES.values())
    assert [agora.identify(t) for t in texts] == [agora.identify(t) for t in texts]


def test_restriction_to_candidate_languages():
    norwegian = "Jeg har det godt i dag, takk for at du spør, og jeg gleder meg til helgen."
    nordic = get_identifier("agora", languages=["da", "no", "sv"])  # "no" is read as Bokmål
    assert nordic.identify(norwegian).lang == "nb"
    iberian = get_identifier("agora", languages=["pt", "it"])
    assert iberian.identify(SENTENCES["es"]).lang in {"pt", "it"}
    # Text in none of the candidates' scripts cannot be forced into one of them.
    assert iberian.identify(SENTENCES["ru"]).lang == "und"
    for name in ("langdetect", "cld2", "fasttext", "lingua", "py3langid", "wordfreq"):
        restricted = get_identifier(name, languages=["de", "nl"])
        assert restricted.identify(SENTENCES["en"]).lang in {"de", "nl", "und"}, name


def test_short_text_is_settled_by_the_vote():
    short = get_identifier("agora", languages=["en", "de", "fr", "es"])
    assert short.identify("Schmetterling").lang == "de"
    assert short.identify("mariposa").lang == "es"
    assert short.identify("the weather").lang == "en"
    unrestricted = get_identifier("agora")
    assert unrestricted.identify("kuća").lang == "hr"  # wordfreq's Serbo-Croatian list speaks for hr
    assert unrestricted.identify("Schmetterling").lang == "de"


def test_a_model_without_a_language_has_no_opinion_on_it():
    """Afrikaans, known only to the first model, is not vetoed by a second that lacks it."""
    votes = [
        (1.0, {"af": 0.9, "nl": 0.1}, frozenset({"af", "nl"})),
        (1.0, {"nl": 0.6, "en": 0.4}, frozenset({"nl", "en"})),
    ]
    assert _fuse(votes).lang == "af"
    assert _fuse(votes, ruled_out=frozenset({"af"})).lang == "en"  # the first model has no say on en
    # fastText knows af and nl and gave af nothing; a model that does not know nl cannot save it.
    assert _ruled_out([({"af": 0.3}, frozenset({"af", "nl"})), ({}, frozenset({"af"}))]) == {"nl"}
    assert _fuse([(1.0, {}, frozenset({"en"}))]) is None


def test_word_lists_hold_wordfreq_frequencies():
    import wordfreq

    lists = WordLists(("de", "en"))
    for code, word in [("de", "schmetterling"), ("en", "weather"), ("en", "the")]:
        expected = math.log(wordfreq.get_frequency_dict(code, "small")[word])
        found = lists.log_likelihoods(word)[lists.codes.index(code)]
        assert found == pytest.approx(expected, abs=1e-5)
    assert lists.log_likelihoods("xqzvvk") == pytest.approx([UNSEEN_LOG_FREQ] * 2)
    assert lists.log_likelihoods("  …  ") is None


@pytest.mark.parametrize("text", ["", "   \n\t", "12345 678", "!!! ???", "🙂🙂", "a", "ok", "x1"])
def test_degenerate_text_gives_und_or_a_guess(agora, text):
    guess = agora.identify(text)
    assert isinstance(guess, LangGuess) and isinstance(guess.lang, str)
    if not any(char.isalpha() for char in text):
        assert guess == LangGuess("und", 0.0)


def test_long_document_reads_a_bounded_prefix(agora):
    document = (SENTENCES["de"] + "\n") * 5000  # ~500 kB
    assert agora.identify(document).lang == "de"


def test_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("language identification tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    assert get_identifier("agora", languages=["en", "de"]).identify(SENTENCES["en"]).lang == "en"


def test_errors_are_clear():
    with pytest.raises(ValueError, match="unknown language-id backend"):
        get_identifier("no-such-backend")
    with pytest.raises(NoCandidateLanguage):
        get_identifier("lingua", languages=["ceb"])  # lingua has no Cebuano
    with pytest.raises(ImportError, match="pip install some-package"):
        _import("agora_no_such_module", "some-package", "example")


def test_codes_are_normalized():
    assert lang_of_label("__label__zh") == "zh"
    assert lang_of_label("zh-Hant") == lang_of_label("zh-cn") == "zh"
    assert lang_of_label("NB") == lang_of_label("no") == "nb"
    assert lang_of_label("eng") == "en"
    assert lang_of_label("iw") == "he"
    assert lang_of_label("ceb") == "ceb"  # no ISO 639-1 code: stays ISO 639-3
    assert lang_of_label("un") == lang_of_label("zxx") == "und"


@pytest.mark.parametrize(
    ("text", "script", "spaces"),
    [
        ("Hello wonderful world", "Latn", True),
        ("Привет, мир", "Cyrl", True),
        ("مرحبا بالعالم", "Arab", True),
        ("नमस्ते दुनिया", "Deva", True),
        ("你好，世界", "Hani", False),
        ("日本語のテキストです", "Jpan", False),
        ("カタカナだけ", "Jpan", False),
        ("สวัสดีชาวโลก", "Thai", False),
        ("안녕하세요 세계", "Hang", True),
        ("Γειά σου κόσμε", "Grek", True),
        ("שלום עולם", "Hebr", True),
        ("გამარჯობა", "Geor", True),
        ("12345 !!!", "Zyyy", True),
        ("Apple は新しい iPhone を来週発表すると述べた", "Jpan", False),
    ],
)
def test_detect_script(text, script, spaces):
    assert detect_script(text) == script
    assert has_word_spaces(detect_script(text)) is spaces


def test_detect_script_majority_and_ties_are_stable():
    assert detect_script("Это довольно длинный русский текст with English words") == "Cyrl"
    assert detect_script("ab αβ") == detect_script("αβ ab")


def test_accuracy_on_real_sentences(shared_data):
    testdata = shared_data / "langid" / "language-testdata" / "sentences"
    languages = ["en", "de", "fr", "es", "pt", "it", "nl", "pl", "ru", "uk", "ar", "fa", "hi", "zh", "ja", "ko",
                 "tr", "vi"]
    agora = get_identifier("agora", languages=languages)
    correct = total = 0
    for lang in languages:
        lines = [line.rstrip() for line in (testdata / f"{lang}.txt").open(encoding="utf-8") if line.strip()]
        for line in random.Random(lang).sample(lines, 15):
            correct += agora.identify(line).lang == lang
            total += 1
    assert correct / total >= 0.97
