"""Web pages and WARC archives register their main text with URL and fetch date; what is not a page
is counted as skipped with its reason, and broken input is one malformed item with file and position."""
from __future__ import annotations

import gzip
import io
import json

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from curation.core.ids import doc_id
from curation.ingest.readers import Malformed, Record, Skipped, SourceSpec, iter_records
from curation.ingest.shards import plan
from curation.text.extract import canonical_url, main_text
from tests.helpers import BASE_FLAGS, run_cli, run_json

FETCHED = "2024-01-02T03:04:05Z"


@pytest.fixture
def workspace(tmp_path, capsys):
    path = tmp_path / "ws"
    run_cli(capsys, "init", "--workspace", str(path))
    return str(path)


@pytest.fixture(scope="module")
def pages(shared_data) -> list[tuple[str, bytes, dict]]:
    """The first ten labelled pages of trafilatura's evaluation set: (url, HTML bytes, labels)."""
    root = shared_data / "corpora" / "trafilatura-eval-html"
    labels = json.loads((root / "evaldata_subset.json").read_text("utf-8"))
    chosen = sorted(labels.items(), key=lambda item: item[1]["file"])[:10]
    return [(url, gzip.decompress((root / entry["file"]).read_bytes()), entry) for url, entry in chosen]


def _register(capsys, workspace, path, *extra, name="web"):
    return run_json(capsys, "register", str(path), "--name", name, "--workspace", workspace, *BASE_FLAGS, *extra)


def test_real_common_crawl_warcs_register_their_html_responses(capsys, workspace, shared_data):
    result = _register(capsys, workspace, shared_data / "corpora" / "dolma-test-fixtures" / "warc", "--format", "warc")
    source = result["source"]
    assert (source["format"], source["records"], source["malformed"]) == ("warc", 37, 0)  # 22 + 15 HTML responses
    assert source["skipped_reasons"]["WARC request record"] == 37
    assert source["skipped"] == sum(source["skipped_reasons"].values())
    records = [r for r in iter_records(SourceSpec.of(source)) if isinstance(r, Record)]
    assert all(r.meta["url"].startswith("http") and r.meta["fetched_at"].startswith("2024-04-25") for r in records)
    assert records[0].record_id.startswith("sample-0000.warc.gz@")


def _write_warc(path, pages, gzipped: bool = True) -> None:
    """A crawl as a crawler writes it: warcinfo, request/response pairs, and records that hold no page."""
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzipped)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "agora-test"}))
        extra = [("https://example.org/logo.png", "200 OK", "image/png", b"\x89PNG\r\n"),
                 ("https://example.org/gone", "404 Not Found", "text/html", b"<html><body>Not found</body></html>"),
                 ("https://example.org/moved", "200 OK", "text/html",
                  b"<html><head><title>Moved</title><script>location='/new'</script></head><body></body></html>")]
        for url, status, mime, body in [*((url, "200 OK", "text/html", html) for url, html, _ in pages), *extra]:
            headers = {"WARC-Date": FETCHED}
            writer.write_record(writer.create_warc_record(url, "request", payload=io.BytesIO(b"GET / HTTP/1.1\r\n\r\n"),
                                                          warc_headers_dict=headers))
            http = StatusAndHeaders(status, [("Content-Type", mime)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=http, warc_headers_dict=headers))


def test_warc_written_from_shared_pages_keeps_url_and_fetch_date(tmp_path, capsys, workspace, pages):
    _write_warc(tmp_path / "crawl.warc.gz", pages)
    items = list(iter_records(SourceSpec(str(tmp_path / "crawl.warc.gz"), "warc")))
    records = [i for i in items if isinstance(i, Record)]
    assert [r.meta for r in records] == [{"url": url, "fetched_at": FETCHED} for url, _, _ in pages]
    skipped = sorted(i.reason for i in items if isinstance(i, Skipped))
    assert skipped == sorted(["WARC warcinfo record", *["WARC request record"] * 13, "non-HTML payload (image/png)",
                              "HTTP status 404", "no main text"])
    assert not [i for i in items if isinstance(i, Malformed)]
    found = sum(s in r.text for r, (_, _, labels) in zip(records, pages) for s in labels["with"])
    assert found >= 0.8 * sum(len(labels["with"]) for _, _, labels in pages)

    source = _register(capsys, workspace, tmp_path / "crawl.warc.gz")["source"]  # auto-detected
    assert (source["format"], source["records"], source["skipped"]) == ("warc", 10, 17)
    assert source["skipped_reasons"]["no main text"] == 1


@pytest.mark.parametrize("gzipped", [True, False])
def test_broken_warc_header_is_one_malformed_record_and_the_rest_registers(tmp_path, capsys, workspace, pages,
                                                                           gzipped):
    path = tmp_path / ("crawl.warc.gz" if gzipped else "crawl.warc")
    _write_warc(path, pages[:3], gzipped)
    data = path.read_bytes()
    if gzipped:  # rewrite one gzip member (one record) with a broken first line
        members, start = [], 0
        while start < len(data):
            stream = io.BytesIO(data[start:])
            decompressor = gzip.zlib.decompressobj(31)
            members.append(decompressor.decompress(stream.read()))
            size = len(data) - start - len(decompressor.unused_data)
            start += size
        members[4] = members[4].replace(b"WARC/1.", b"WARQ/9.", 1)  # the second page's response
        path.write_bytes(b"".join(gzip.compress(m) for m in members))
    else:
        second = data.find(b"WARC-Type: response", data.find(b"WARC-Type: response") + 1)
        header = data.rfind(b"WARC/1.", 0, second)
        path.write_bytes(data[:header] + b"WARQ/9." + data[header + 7:])
    items = list(iter_records(SourceSpec(str(path), "warc")))
    broken = [i for i in items if isinstance(i, Malformed)]
    assert len(broken) == 1 and broken[0].file == path.name
    assert broken[0].problem == (f"broken WARC record at byte {broken[0].line}: "
                                 "Invalid WARC record, first line: WARQ/9.0")
    assert [r.meta["url"] for r in items if isinstance(r, Record)] == [pages[0][0], pages[2][0]]
    source = _register(capsys, workspace, path)["source"]
    assert (source["records"], source["malformed"]) == (2, 1)


def test_stage1_tasks_share_a_crawl_between_them(tmp_path, pages):
    """A WARC file is one shard: each file is read by one task only; together, everything once."""
    (tmp_path / "crawl").mkdir()
    for n in range(3):
        _write_warc(tmp_path / "crawl" / f"part-{n}.warc.gz", pages[n:n + 3])
    spec = SourceSpec(str(tmp_path / "crawl"), "warc")
    everything = [(type(i).__name__, i.file, i.line) for i in iter_records(spec)]
    shares = [[(type(i).__name__, i.file, i.line) for i in iter_records(spec, task)] for task in plan([spec], 3)]
    assert sum(shares, []) == everything and all(len({file for _, file, _ in share}) == 1 for share in shares)


def test_html_pages_register_their_main_text(tmp_path, capsys, workspace, shared_data, pages):
    folder = shared_data / "corpora" / "trafilatura-eval-html" / "html"
    first = pages[0][2]["file"].split("/")[-1]
    source = _register(capsys, workspace, folder, "--include", first[:3] + "*")["source"]
    assert source["format"] == "html" and source["records"] + source["skipped"] >= 1
    record = next(r for r in iter_records(SourceSpec.of(source)) if isinstance(r, Record) and r.record_id == first)
    assert all(s in record.text for s in pages[0][2]["with"])
    assert not any(s in record.text for s in pages[0][2]["without"])


def test_html_in_an_unknown_encoding_is_malformed_with_file_and_position(tmp_path, capsys, workspace, pages):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "good.html.gz").write_bytes(gzip.compress(pages[0][1]))
    latin = "<html><head><meta charset='windows-1252'></head><body><article><p>" + "Crème brûlée à la française. " * 20
    (folder / "latin.htm").write_bytes((latin + "</p></article></body></html>").encode("cp1252"))
    garbage = bytes(range(0x80, 0x100)) * 4 + b"\x00\x01\x02"
    (folder / "bad.html").write_bytes(b"<html><head><meta charset='x-klingon'></head><body><p>" + garbage + b"</p>")
    items = list(iter_records(SourceSpec(str(folder), "html")))
    broken = [i for i in items if isinstance(i, Malformed)]
    assert [(m.file, m.problem) for m in broken] == [
        ("bad.html", "HTML declares unknown encoding 'x-klingon' and is not UTF-8 (first bad byte at 54)")]
    assert {r.file for r in items if isinstance(r, Record)} == {"good.html.gz", "latin.htm"}
    assert "Crème brûlée" in next(r.text for r in items if isinstance(r, Record) and r.file == "latin.htm")
    source = _register(capsys, workspace, folder)["source"]
    assert (source["records"], source["malformed"]) == (2, 1)
    shown = run_json(capsys, "sources", "show", "web", "--workspace", workspace)["versions"][0]
    assert shown["malformed_examples"][0]["file"] == "bad.html"


def test_curated_documents_keep_url_and_fetch_date(tmp_path, capsys, workspace, pages):
    _write_warc(tmp_path / "crawl.warc.gz", pages[:4])
    _register(capsys, workspace, tmp_path / "crawl.warc.gz", "--languages", "de,en,fr,es,pl")
    run_json(capsys, "curate", "--workspace", workspace)
    records = {r.record_id: r for r in iter_records(SourceSpec(str(tmp_path / "crawl.warc.gz"), "warc"))
               if isinstance(r, Record)}
    some_id, record = next(iter(records.items()))
    shown = run_json(capsys, "docs", "show", doc_id("web", 1, some_id), "--workspace", workspace)
    assert {k: shown["record"][k] for k in ("url", "fetched_at", "split")} == {
        "url": record.meta["url"], "fetched_at": FETCHED, "split": None}


def test_main_text_drops_page_chrome_and_canonical_url_is_found():
    body = " ".join(["Die Brücke über den Fluss wurde 1887 gebaut und ist bis heute in Betrieb."] * 6)
    html = (f"<html><head><link rel='canonical' href='https://example.org/bruecke'></head><body>"
            f"<nav><a href='/'>Startseite</a> <a href='/kontakt'>Kontakt</a></nav>"
            f"<article><h1>Die alte Brücke</h1><p>{body}</p></article>"
            f"<footer>© 2024 Beispiel GmbH · Impressum · Datenschutz</footer></body></html>")
    text = main_text(html)
    assert "1887 gebaut" in text and "Impressum" not in text and "Startseite" not in text
    assert canonical_url(html) == "https://example.org/bruecke"
    assert main_text("<html><body><img src='photo.jpg'></body></html>") == ""
