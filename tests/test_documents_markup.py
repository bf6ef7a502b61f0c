"""Markdown as rendered text, HTML main content over navigation, machine data by its head."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from ingest.files.blocks import Extracted
from ingest.files.chunk import chunk
from ingest.files.extract import extract
from ingest.files.markup import markdown_blocks, render_inline

MARKDOWN = """---
layout: post
title: "Harbour release notes"
---
{% include header.html %}
# Getting started {#start}

<div class="note warning">
  <p>Back up your <strong>store</strong> first &amp; often.</p>
</div>

Install with `pip install engram` and read the [manual](https://ex.ample/manual "Manual") or
![diagram of the pipeline](img/pipe.png). This is **very** important and *really*
~~not~~ fine. Snake_case_words stay. Escaped \\*stars\\* too.

{% if site.beta %}
Beta users: see {{ site.beta_url }} for {{ page.title | upcase }} details.
{% endif %}
{% comment %}
internalnote never shown
{% endcomment %}
{{< figure src="x.png"
   caption="shortcodecaption" >}}
<!-- hiddencomment
over lines -->

- [ ] task one
- [x] task two
* press <kbd>Ctrl</kbd>+<kbd>C</kbd>
> quoted text here

| Name | Value |
|------|:-----:|
| pier | 14    |

[manual]: https://ex.ample
A footnote here[^1].

[^1]: The footnote text.

<script>
var secretscript = "no";
</script>

```html
<div>{{ code stays as written }}</div>
```
"""


def test_markdown_is_indexed_as_rendered_text() -> None:
    blocks, title = markdown_blocks(MARKDOWN)
    assert title == "Harbour release notes"
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Getting started"),
        ("paragraph", "Back up your store first & often."),
        ("paragraph", "Install with pip install engram and read the manual or\n"
                      "diagram of the pipeline. This is very important and really\n"
                      "not fine. Snake_case_words stay. Escaped *stars* too."),
        ("paragraph", "Beta users: see for details."),
        ("paragraph", "task one\ntask two\npress Ctrl+C\nquoted text here"),
        ("paragraph", "Name | Value\npier | 14"),
        ("paragraph", "A footnote here."),
        ("paragraph", "The footnote text."),
        ("code", "<div>{{ code stays as written }}</div>"),
    ]
    text = "\n".join(b.text for b in blocks)
    for absent in ("internalnote", "shortcodecaption", "hiddencomment", "secretscript",
                   "{%", "<div class", "https://ex.ample"):
        assert absent not in text.replace("<div>{{ code", "")


def test_inline_rendering_edge_cases() -> None:
    assert render_inline("a `*not emphasis*` b") == "a *not emphasis* b"
    assert render_inline("<https://ex.ample/x>") == "https://ex.ample/x"
    assert render_inline("***both*** and __strong__") == "both and strong"
    assert render_inline("[link [nested]](u) 2 * 3 * 4") == "link [nested] 2 * 3 * 4" or \
        render_inline("[link [nested]](u) 2 * 3 * 4").endswith("2 * 3 * 4")


HTML = """<!doctype html><html><head><title>Ferry strike ends | Harbour Gazette</title></head>
<body>
<div class="cookie-banner">We use cookies. Accept all cookiewords</div>
<header class="site-header"><a href="/">Harbour Gazette</a>
 <nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sportsmenu</a></li>
 <li><a href="/weather">Weathermenu</a></li></ul></nav></header>
<div class="breadcrumb"><a href="/">Home</a> › <a href="/news">News</a></div>
<main>
 <article>
  <h1>Ferry strike ends after three days</h1>
  <p class="byline">By Ana Lima</p>
  <p>The crews of the island ferries returned to work on Thursday after the union accepted
  a new <a href="/pay">pay offer</a>. Sailings resume on the normal timetable.</p>
  <p>Passengers with cancelled tickets can claim a refund at the quayside office.</p>
  <h2>What changes</h2>
  <p>Night sailings will be added in summer.</p>
 </article>
</main>
<aside><h2>Most read</h2><ul><li><a href="/a">Lighthouse sold sidebarword</a></li>
 <li><a href="/b">Regatta results</a></li></ul></aside>
<footer><p>© Harbour Gazette footerword</p><a href="/privacy">Privacy</a></footer>
</body></html>"""


def test_html_keeps_the_article_and_title_not_the_navigation(tmp_path: Path) -> None:
    path = tmp_path / "news.html"
    path.write_text(HTML, "utf-8")
    result = extract(path, max_bytes=1 << 20)
    assert isinstance(result, Extracted)
    assert result.title == "Ferry strike ends | Harbour Gazette"
    text = result.text
    assert "returned to work on Thursday after the union accepted a new pay offer." in text
    assert "Night sailings will be added in summer." in text
    for furniture in ("cookiewords", "Sportsmenu", "Weathermenu", "sidebarword", "footerword",
                      "Most read", "Privacy"):
        assert furniture not in text
    assert [b.text for b in result.blocks if b.kind == "heading"] == [
        "Ferry strike ends after three days", "What changes"]


def test_html_without_landmarks_drops_link_lists_but_keeps_prose(tmp_path: Path) -> None:
    page = ("<html><body><div id='menu'><a href=1>Home</a> <a href=2>About</a></div>"
            "<ul><li><a href=3>Linkone</a></li><li><a href=4>Linktwo</a></li></ul>"
            "<div><p>The only real paragraph mentions the <a href=5>harbour</a> once.</p></div>"
            "</body></html>")
    path = tmp_path / "plain.html"
    path.write_text(page)
    result = extract(path, max_bytes=1 << 20)
    assert isinstance(result, Extracted)
    assert result.text == "The only real paragraph mentions the harbour once."


def test_html_whose_article_is_a_comment_box_keeps_its_body(tmp_path: Path) -> None:
    body = " ".join(f"Sentence {n} of the real page body about tides." for n in range(40))
    page = (f"<html><body><div><p>{body}</p></div><section><article><p>Nice post!</p>"
            "</article></section></body></html>")
    path = tmp_path / "blog.html"
    path.write_text(page)
    result = extract(path, max_bytes=1 << 20)
    assert isinstance(result, Extracted) and "Sentence 39" in result.text


def test_a_large_one_line_json_is_indexed_by_name_and_head(tmp_path: Path) -> None:
    rng = random.Random(3)
    coordinates = [[round(rng.uniform(-180, 180), 6), round(rng.uniform(-90, 90), 6)]
                   for _ in range(90_000)]
    path = tmp_path / "harbour-track.geojson"
    path.write_text(json.dumps({"type": "LineString", "name": "ferry route",
                                "coordinates": coordinates}))
    assert path.stat().st_size > 2_000_000
    result = extract(path, max_bytes=20 << 20)
    assert isinstance(result, Extracted) and result.kind == "data"
    pieces = chunk(result)
    assert len(pieces) == 1 and pieces[0].title == "harbour-track.geojson"
    assert pieces[0].text.startswith('{"type": "LineString", "name": "ferry route"')
    assert len(pieces[0].text) <= 1200
    assert result.notes[0].startswith("large data file (")
    # Below the limit, or with the limit off (0), the file is read whole.
    whole = extract(path, max_bytes=20 << 20, data_max_bytes=0)
    assert isinstance(whole, Extracted) and len(chunk(whole)) > 1000


def test_minified_code_and_small_data_files(tmp_path: Path) -> None:
    small = tmp_path / "config.json"
    small.write_text(json.dumps({"ferry": "north pier", "sailings": 14}, indent=2))
    assert "north pier" in extract(small, max_bytes=1 << 20).text  # type: ignore[union-attr]
    minified = tmp_path / "bundle.js"
    minified.write_text("var a=1;" * 40_000)
    result = extract(minified, max_bytes=20 << 20)
    assert isinstance(result, Extracted) and result.kind == "data"
    assert result.notes[0].startswith("large minified code")
    prose = tmp_path / "app.js"  # ordinary source of the same size is read whole
    prose.write_text("function f(x) {\n  return x + 1;\n}\n" * 12_000)
    assert extract(prose, max_bytes=20 << 20).kind == "code"  # type: ignore[union-attr]


def test_the_rule_is_in_settings_and_readme() -> None:
    root = Path(__file__).resolve().parent.parent
    defaults = json.loads((root / "resources" / "default_settings.json").read_text())
    assert defaults["file_data_max_kb"] == 256
    assert "file_data_max_kb" in (root / "README.md").read_text()


LEGACY = {
    "shift_jis": "日本語の文書です。東京で会議がありました。検索できるはずです。",
    "euc_jp": "日本語の文書です。港の灯台について書きました。",
    "gb2312": "这是一个中文文件。我们应该能够搜索它。",
    "big5": "這是一個中文文件。我們應該能夠搜索它。",
    "euc_kr": "안녕하세요. 이것은 한국어 문서입니다. 검색할 수 있어야 합니다.",
    "cp1251": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "koi8_r": "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "iso-8859-7": "Καλημέρα κόσμε, αυτό είναι ένα ελληνικό κείμενο.",
    "cp1250": "Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "cp1252": "Café crème brûlée – “quoted” text for a naïve résumé.",
}


@pytest.mark.parametrize("encoding", sorted(LEGACY))
def test_legacy_code_pages_are_read_as_their_language(tmp_path: Path, encoding: str) -> None:
    text = LEGACY[encoding]
    path = tmp_path / "old.txt"
    path.write_bytes("\n".join([text] * 4).encode(encoding))
    result = extract(path, max_bytes=1 << 20)
    assert isinstance(result, Extracted)
    assert result.text.splitlines()[0] == text, (encoding, result.encoding)
