import gzip
import json

import pytest

from curation.text.pii import find_pii, redact_pii


@pytest.mark.parametrize(
    ("text", "kind", "found"),
    [
        ("mail me at john.doe+news@example.co.uk.", "email", "john.doe+news@example.co.uk"),
        ("Kontakt: jörg@müller.de", "email", "jörg@müller.de"),
        ("Call +44 20 7946 0958 now", "phone", "+44 20 7946 0958"),
        ("Fax: +32 (0)2 790 75 85", "phone", "+32 (0)2 790 75 85"),
        ("+1-202-555-0143", "phone", "+1-202-555-0143"),
        ("(202) 555-0143", "phone", "(202) 555-0143"),
        ("call 202.555.0143 today", "phone", "202.555.0143"),
        ("Tel. 020 7393 1500", "phone", "020 7393 1500"),
        ("appelez le 01 23 45 67 89", "phone", "01 23 45 67 89"),
        ("Telefon 030/123456", "phone", "030/123456"),
        ("Tel: 555 1234", "phone", "555 1234"),
        ("Телефон: 8 (495) 123-45-67", "phone", "8 (495) 123-45-67"),
        ("電話：03-1234-5678", "phone", "03-1234-5678"),
        ("+91 98765 43210", "phone", "+91 98765 43210"),
        ("server 192.168.1.10 is down", "ip", "192.168.1.10"),
        ("resolve with 8.8.8.8.", "ip", "8.8.8.8"),
        ("route 2001:db8::ff00:42:8329 via", "ip", "2001:db8::ff00:42:8329"),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "ip", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"),
    ],
)
def test_finds(text, kind, found):
    assert [(s.kind, text[s.start : s.end]) for s in find_pii(text)] == [(kind, found)]


@pytest.mark.parametrize(
    "text",
    [
        "In 2014 and 1999-2003 the population grew to 1234567.",
        "on 12.02.2014 at 10:30, or 12/02/2014, or 2019-07-17 14:35:59",
        "ISBN 978-3-16-148410-0 and ISBN 0-306-40615-2, ISSN 1234-5678",
        "order 1234567890123 shipped",
        "version 1.2.3, v1.2.3.4, Chrome 96.0.4664.110, 1.2.3.4.5, 999.1.1.1",
        "price 1 234 567 EUR, ratio 3.14159265, pages 123-456, +2.5 3.5",
        "coordinates 48.8566, 2.3522",
        "992 993 994 995 996 997 998 999 1000 1001",
        "logo@2x.png and @LearnonScreen",
        "std::vector<int> at 12:30:45, add::bed, MAC 00:1A:2B:3C:4D:5E",
        "Tel.: 12",
    ],
)
def test_ignores(text):
    assert find_pii(text) == []


def test_redact():
    text = "Write to ask@bufvc.ac.uk or call +44 20 7946 0958 (host 10.0.0.1)."
    result = redact_pii(text)
    assert result.text == "Write to <EMAIL> or call <PHONE> (host <IP>)."
    assert result.counts == {"email": 1, "phone": 1, "ip": 1}
    assert [text[s.start : s.end] for s in result.spans] == ["ask@bufvc.ac.uk", "+44 20 7946 0958", "10.0.0.1"]

    only_email = redact_pii(text, kinds=["email"])
    assert only_email.text == "Write to <EMAIL> or call +44 20 7946 0958 (host 10.0.0.1)."
    assert only_email.counts == result.counts  # counts cover every kind found
    with pytest.raises(ValueError):
        redact_pii(text, kinds=["address"])


def test_email_spans_match_dolma_fixture(shared_data):
    """dolma's expected e-mail spans on real Common Crawl pages. Its tagger also emits one
    low-confidence span (score 0.1) on a Twitter handle, ': @LearnonScreen': not an address."""
    folder = shared_data / "corpora" / "dolma-test-fixtures" / "dedup-pii"
    texts = {d["id"]: d["text"] for d in map(json.loads, gzip.open(folder / "documents.jsonl.gz", "rt"))}
    n_expected = 0
    for record in map(json.loads, gzip.open(folder / "expected_email_spans.jsonl.gz", "rt")):
        pii = record["attributes"].get("pii", {})
        expected = [(a, b) for a, b, score in pii.get("email", []) if score >= 0.5] if isinstance(pii, dict) else []
        found = [(s.start, s.end) for s in find_pii(texts[record["id"]]) if s.kind == "email"]
        assert found == expected, record["id"]
        n_expected += len(expected)
    assert n_expected == 3
