"""`agora report`: one self-contained HTML page with SVG charts, checked by parsing it and by
rendering it in headless Chromium (skipped where Chromium is not installed)."""
from __future__ import annotations

import json
import math
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from curation.cli import main
from curation.core.catalog import open_catalog
from curation.core.errors import NotFound
from curation.core.workspace import Workspace
from curation.governance import charts
from curation.governance.report import write_report
from curation.stages.runs import latest_run

EXAMPLE_CARDS = Path(__file__).resolve().parent.parent / "examples" / "contributions"

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & Co'

CURATION_CHARTS = [
    "Documents per language, before and after curation",
    "Bytes per language, before and after curation",
    "Filter funnel: documents left after each step",
    "Documents kept and dropped per language, by step",
    "Documents kept and dropped per source, by step",
    "Duplicate clusters shared between contributors",
]


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory) -> Workspace:
    """The bundled examples registered and curated (no mixture or model yet)."""
    root = tmp_path_factory.mktemp("report") / "ws"
    assert main(["init", "--workspace", str(root)]) == 0
    for card in sorted(EXAMPLE_CARDS.glob("*/datacard.yaml")):
        assert main(["register", "--card", str(card), "--workspace", str(root), "--json"]) == 0
    assert main(["curate", "--workspace", str(root), "--json"]) == 0
    return Workspace(root)


@pytest.fixture(scope="module")
def trained_ws(demo_ws, tmp_path_factory) -> Workspace:
    """The demo workspace plus a mixture, a pretraining run with loss and per-language evaluation, a
    fine-tune still running, and an organization name that would break unescaped HTML."""
    root = tmp_path_factory.mktemp("report-trained") / "ws"
    shutil.copytree(demo_ws.root, root)
    ws = Workspace(root)
    run_id = latest_run(ws)
    with open_catalog(ws) as con:
        langs = [lang for (lang,) in con.execute(
            "SELECT DISTINCT lang FROM decisions WHERE run_id = ? AND kept ORDER BY lang", [run_id]).fetchall()]
        con.execute("UPDATE contributors SET organization = ? WHERE name = 'Anna Schmidt'", [HOSTILE])
        con.execute("INSERT INTO mixtures (name, version, curation_run, params, fingerprint, tokenizer_dir, path, "
                    "train_tokens) VALUES ('mix', 1, ?, ?, 'f', 'tok', 'p', 1000000)",
                    [run_id, json.dumps({"budget_tokens": 1_000_000, "method": "temperature", "temperature": 0.3})])
        for i, lang in enumerate(langs):
            con.execute("INSERT INTO mixture_parts VALUES ('mix', 1, ?, 'kiel-news', 1, 'attribution', 10, 1, ?, ?, "
                        "?, ?, NULL)", [lang, 20_000 * (i + 1), 60_000, 3 / (i + 1), 1 / len(langs)])
        con.execute("INSERT INTO mixture_parts VALUES ('mix', 1, 'ar', 'amman-web', 1, 'non-commercial', 24, 0, 0, 0, "
                    "0, 0, 'license policy: non-commercial')")
        con.execute("INSERT INTO training_runs VALUES ('pt-1', 'pretrain', 'mix', 1, NULL, NULL, '{}', 'tok', 'o', "
                    "'finished', now() - INTERVAL 1 HOUR, now(), 200, 7.5, 3.2, 12345.0)")
        con.execute("INSERT INTO training_runs VALUES ('ft-1', 'finetune', NULL, NULL, 'pt-1', 'agora-instruct', "
                    "'{}', 'tok', 'o2', 'running', now(), NULL, NULL, NULL, NULL, NULL)")
        for step in range(0, 201, 5):
            con.execute("INSERT INTO train_metrics (run_id, step, loss, lr) VALUES ('pt-1', ?, ?, 0.001)",
                        [step, 3 + 4.5 * math.exp(-step / 50)])
        for step in (100, 200):
            for i, lang in enumerate(langs):
                con.execute("INSERT INTO eval_metrics (run_id, step, lang, bits_per_byte, docs, bytes) "
                            "VALUES ('pt-1', ?, ?, ?, 2, 900)", [step, lang, 1 + i / 10 + 100 / step])
    return ws


@pytest.fixture(scope="module")
def demo_report(demo_ws, tmp_path_factory) -> Path:
    return write_report(demo_ws, tmp_path_factory.mktemp("out") / "report.html")


@pytest.fixture(scope="module")
def trained_report(trained_ws, tmp_path_factory) -> Path:
    return write_report(trained_ws, tmp_path_factory.mktemp("out-trained") / "report.html")


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.refs, self.sections = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        self.refs += [v for k, v in attrs.items() if k in ("src", "href", "xlink:href", "srcset", "data") and v]
        if tag == "section":
            self.sections.append(attrs.get("id"))


def _svgs(page: str) -> list[ElementTree.Element]:
    """Every inline chart, parsed as XML: each must be well formed on its own."""
    return [ElementTree.fromstring(block) for block in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def _titles(page: str) -> list[str]:
    return [svg.find(f"{SVG}title").text for svg in _svgs(page)]


def test_demo_report_has_every_curation_section_and_chart(demo_report, demo_ws):
    page = demo_report.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(page)
    assert parser.sections == ["sources", "languages", "funnel", "duplicates", "mixture", "training"]
    assert _titles(page) == CURATION_CHARTS
    for svg in _svgs(page):
        assert svg.get("role") == "img" and svg.find(f"{SVG}desc") is not None
        assert svg.findall(f".//{SVG}text"), "axis labels and legends are text"
    run_id = latest_run(demo_ws)
    assert run_id in page and str(demo_ws.root) in page
    for name in ("kiel-news", "Anna Schmidt", "CC-BY-SA-4.0", "share-alike", "TZ"):
        assert name in page
    assert "No mixture yet" in page and "No training run yet" in page


def test_report_is_self_contained(demo_report, trained_report):
    for report in (demo_report, trained_report):
        page = report.read_text(encoding="utf-8")
        parser = _Links()
        parser.feed(page)
        assert not [r for r in parser.refs if re.match(r"\s*(https?:)?//", r, re.I)]
        assert not {"script", "link", "img", "iframe"} & set(parser.tags)
        assert not re.search(r"url\(|@import", page)


def test_mixture_and_training_sections(trained_report):
    page = trained_report.read_text(encoding="utf-8")
    titles = _titles(page)
    assert titles[:2] == CURATION_CHARTS[:2]
    assert "Share per language: curated bytes vs tokens in mixture mix" in titles
    assert "Mixture mix v1: token budget vs available tokens per language" in titles
    assert "Training loss of pt-1" in titles
    assert "Bits per byte per language during training of pt-1" in titles
    assert "Bits per byte per language at the last evaluation of pt-1" in titles
    assert "epochs" in page and "license policy: non-commercial" in page
    assert "ft-1" in page and "running" in page  # every training run is in the table
    # the latest finished model was chosen, and its mixture, and the mixture's curation run
    assert "the model&#x27;s" in page and "the mixture&#x27;s" in page


def test_catalog_strings_are_escaped(trained_report):
    page = trained_report.read_text(encoding="utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page


def test_explicit_choices_and_unknown_names(trained_ws, tmp_path):
    out = write_report(trained_ws, tmp_path / "r.html", mixture="mix", model_run="ft-1")
    page = out.read_text(encoding="utf-8")
    assert "No loss logged for ft-1 yet" in page and "No evaluation of ft-1 yet" in page
    assert "Mixture mix v1" in page  # the fine-tune's base run was trained on it
    for kwargs in ({"run_id": "cur-nope"}, {"mixture": "nope"}, {"model_run": "nope"}):
        with pytest.raises(NotFound):
            write_report(trained_ws, tmp_path / "x.html", **kwargs)


def test_empty_workspace_says_so(tmp_path):
    ws = Workspace(tmp_path / "ws")
    assert main(["init", "--workspace", str(ws.root)]) == 0
    page = write_report(ws, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No sources registered yet" in page and "No finished curation run yet" in page
    assert "<svg" not in page


def test_charts_escape_and_degenerate_inputs():
    svg = charts.bar_chart(["<a>", "b"], {"x&y": [1, 2], "z": [0, 0]}, title="T <1>", value_label="v")
    root = ElementTree.fromstring(svg)
    assert root.find(f"{SVG}title").text == "T <1>"
    ElementTree.fromstring(charts.bar_chart([], {"a": []}, title="empty", value_label="v"))
    ElementTree.fromstring(charts.line_chart({"a": [(1, 2.0)]}, title="one point", x_label="x", y_label="y"))
    ElementTree.fromstring(charts.line_chart({}, title="none", x_label="x", y_label="y"))
    ElementTree.fromstring(charts.heatmap(["中文名字", "b"], ["中文名字", "b"], [[0, 2], [2, 0]], title="h",
                                          x_label="x", y_label="y"))
    assert charts.nice_ticks(0, 288) == [0, 100, 200, 300]
    assert charts.nice_ticks(2.9, 7.7)[0] <= 2.9 and charts.nice_ticks(2.9, 7.7)[-1] >= 7.7
    assert charts.human(1234) == "1.23k" and charts.human(3.0) == "3" and charts.human(0.0123) == "0.0123"


# ---------------------------------------------------------------- rendered by a browser

MEASURE = """<pre id="rendered"></pre><script>
document.getElementById('rendered').textContent = JSON.stringify([...document.querySelectorAll('svg.chart')].map(
  s => { const b = s.getBoundingClientRect(); const t = s.querySelector('text').getBBox();
         return [s.querySelector('title').textContent, b.width, b.height, t.width]; }));
</script></body>"""


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        pytest.skip("Chromium not installed: apt-get install chromium")
    return binary


def _run_chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90, check=False)


def test_chromium_renders_every_chart(trained_report, tmp_path):
    binary = _chromium()
    page = trained_report.read_text(encoding="utf-8")
    measured = tmp_path / "measured.html"  # a copy with a script that measures what the browser laid out
    measured.write_text(page.replace("</body>", MEASURE), encoding="utf-8")
    dom = _run_chromium(binary, tmp_path / "profile", "--dump-dom", measured.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'<pre id="rendered">(.*?)</pre>', dom.stdout, re.S)
    assert found, dom.stdout[-2000:]
    rendered = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    assert [r[0] for r in rendered] == _titles(page)
    for title, width, height, text_width in rendered:
        assert width > 200 and height > 100, (title, width, height)
        assert text_width > 0, f"no text laid out in {title}"

    png = tmp_path / "report.png"
    # a 1280x2000 page at half scale: the pure-Python PNG decoder below stays well under a second
    shot = _run_chromium(binary, tmp_path / "profile", f"--screenshot={png}", "--window-size=1280,2000",
                         "--force-device-scale-factor=0.5", trained_report.as_uri())
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    width, height, pixels = _png_pixels(png.read_bytes())
    assert (width, height) == (640, 1000)
    dark = sum(1 for i in range(0, len(pixels), 3) if pixels[i] + pixels[i + 1] + pixels[i + 2] < 600)
    assert dark > width * height * 0.01, "the screenshot is (nearly) blank"
    colours = {pixels[i:i + 3] for i in range(0, len(pixels), 3 * 97)}
    assert len(colours) > 20, "charts paint in several colours"


def _png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Decode an 8-bit RGB or RGBA PNG (what Chromium writes) into RGB bytes, without Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6) and chunk[12] == 0, "only 8-bit, non-interlaced RGB(A)"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + size
    raw, stride = zlib.decompress(idat), width * channels
    out, prev = bytearray(), bytearray(stride)
    for row in range(height):
        kind, line = raw[row * (stride + 1)], bytearray(raw[row * (stride + 1) + 1:(row + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line if channels == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3)
        prev = line
    return width, height, bytes(out)
