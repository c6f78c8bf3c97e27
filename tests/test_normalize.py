import random
import unicodedata

import pytest

from curation.text.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb\rc\u2028d\x0be", "a\nb\nc\nd\ne"),  # every line break becomes "\n"
        ("x\u200by\ufeffz\u00ad\x07!", "xyz!"),  # zero-width space, BOM, soft hyphen, bell
        ("می\u200cخواهم", "می\u200cخواهم"),  # ZWNJ is part of Persian spelling
        ("क्\u200dष", "क्\u200dष"),  # ZWJ shapes Indic conjuncts
        ("cafe\u0301", "caf\u00e9"),  # NFC
        ("A\u00a0B\u3000C\u2009D", "A B C D"),  # other spaces become ' '
        ("a  b \t c", "a b c"),  # runs of spaces inside a line
        ("  indented line", "  indented line"),  # indentation stays
        ("end   \nnext\t\n", "end\nnext"),  # trailing spaces and newlines
        ("one\n\n\n\n\ntwo", "one\n\ntwo"),  # at most one blank line
        ("\n\n  \n\ntext", "text"),  # no blank lines at the start
        ("bad\ud800surrogate", "badsurrogate"),  # cannot be written as UTF-8
        ("tab\tinside", "tab\tinside"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent_on_random_text():
    alphabet = list("ab é.\t\n\n\r\x0b\x85\u2028\u2029\u00a0\u3000\u2000\u200b\u200c\u200d\ufeff"
                    "\u0301\u0300\u212b\u00c5")
    alphabet += ["\r\n", "\U000e0041", "\U0001f600", "\ud800", "क्", "ก่"]
    rng = random.Random(0)
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        once = normalize(text)
        assert normalize(once) == once, repr(text)
        assert unicodedata.is_normalized("NFC", once)
        assert "\r" not in once and "\n\n\n" not in once
        assert all(line == line.rstrip(" \t") for line in once.split("\n"))


def test_clean_text_is_unchanged():
    text = "Title\n\nFirst paragraph, with punctuation.\nSecond line: 中文，日本語。\n\n- item"
    assert normalize(text) == text
