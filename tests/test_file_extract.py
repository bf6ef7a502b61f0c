"""File extraction, chunking and ignore rules, on real files written by the tests:
a DOCX from python-docx, PDFs assembled by hand and re-written (outline,
encryption) by pypdf, an ODT zip, HTML, CSV, odd encodings and binaries."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from ingest.files import markup
from ingest.files.blocks import Block, Extracted, Skipped
from ingest.files.chunk import Chunk, chunk, content_hash, external_id
from ingest.files.extract import decode_text, extract
from ingest.files.ignore import DEFAULT_IGNORE_PATTERNS, is_ignored, load_patterns

MB = 1024 * 1024


def extracted(path: Path, max_bytes: int = 5 * MB) -> Extracted:
    result = extract(path, max_bytes=max_bytes)
    assert isinstance(result, Extracted), result
    return result


def skipped(path: Path, max_bytes: int = 5 * MB) -> str:
    result = extract(path, max_bytes=max_bytes)
    assert isinstance(result, Skipped), result
    assert result.path == path
    return result.reason


# ── PDF ───────────────────────────────────────────────────────────────────────

def make_pdf(pages: list[list[str]]) -> bytes:
    """A small valid PDF: one Helvetica text line per string, pages in order."""
    objects = {1: b"<< /Type /Catalog /Pages 2 0 R >>",
               3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids = []
    for i, lines in enumerate(pages):
        page_id, content_id = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_id} 0 R")
        shown = "".join(f"({line}) Tj T* " for line in lines)
        stream = f"BT /F1 11 Tf 14 TL 72 720 Td {shown}ET".encode("latin-1")
        objects[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                            f"<< /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>").encode()
        objects[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


PAGES = [
    ["Engram keeps everything on your own disk, encrypted with a key that",
     "never leaves the machine. Search works offline with a small embed-",
     "ding model. Nothing is uploaded.",
     "",
     "A second paragraph on page one."],
    ["Installing takes two commands.", "The first creates a virtual environment."],
]


def rewrite_pdf(data: bytes, *, outline: bool = False, user_password: str | None = None) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    if outline:
        writer.add_outline_item(title="Overview", page_number=0)
        writer.add_outline_item(title="Installation", page_number=1)
    writer.add_metadata({"/Title": "Engram manual"})
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password="owner-secret",
                       algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_text_pages_paragraphs_and_outline(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # pypdf's lines (poppler mends "embed-/ding" itself and closes up the blank
    # line between the two paragraphs on page one: see test_documents_pdf.py).
    from ingest.files import pdf as pdf_module

    monkeypatch.setattr(pdf_module, "pdftotext_pages", lambda data, pages: None)
    path = tmp_path / "manual.pdf"
    path.write_bytes(rewrite_pdf(make_pdf(PAGES), outline=True))
    result = extracted(path)
    assert result.kind == "pdf" and result.pages == 2 and result.title == "Engram manual"
    first = result.blocks[0]
    assert first.page == 1 and first.heading == ("Overview",)
    # wrapped lines joined, the hyphenated word mended
    assert first.text == ("Engram keeps everything on your own disk, encrypted with a key that "
                          "never leaves the machine. Search works offline with a small "
                          "embedding model. Nothing is uploaded.")
    assert result.blocks[1].text == "A second paragraph on page one."
    last = result.blocks[-1]
    assert last.page == 2 and last.heading == ("Installation",)
    assert [b.text for b in result.blocks if b.page == 2] == [
        "Installing takes two commands.", "The first creates a virtual environment."]
    pieces = chunk(result, target_chars=200, max_chars=300)
    assert [c.page for c in pieces] == [1, 2]
    assert pieces[1].title == "manual.pdf › Installation"


def test_pdf_with_empty_user_password_is_read(tmp_path: Path) -> None:
    path = tmp_path / "owner-only.pdf"
    path.write_bytes(rewrite_pdf(make_pdf(PAGES), user_password=""))
    assert "Installing takes two commands." in extracted(path).text


def test_encrypted_pdf_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "tax-2023.pdf"
    path.write_bytes(rewrite_pdf(make_pdf(PAGES), user_password="hunter2"))
    assert skipped(path) == "encrypted PDF"


def test_corrupt_pdf_is_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R\n" + os.urandom(300))
    assert skipped(path).startswith("unreadable PDF")
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(make_pdf(PAGES)[:150])
    reason = skipped(truncated)
    assert reason.startswith(("unreadable PDF", "no text"))


def test_pdf_without_text_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(make_pdf([[]]))
    assert skipped(path) == "no text in this PDF (scanned images?)"


# ── DOCX and ODT ──────────────────────────────────────────────────────────────

def test_docx_paragraphs_headings_and_tables_in_order(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Trip notes"
    document.add_heading("Lisbon 2024", level=0)
    document.add_paragraph("We land on Friday at 09:40. Ana books the hotel.")
    document.add_heading("Budget", level=1)
    table = document.add_table(rows=3, cols=2)
    for row, (item, cost) in zip(table.rows, [("Item", "Cost €"), ("Flights", "320"),
                                                ("Hotel", "410")]):
        row.cells[0].text, row.cells[1].text = item, cost
    document.add_heading("Food", level=2)
    document.add_paragraph("Pastéis de nata at Manteigaria 🥮")
    path = tmp_path / "trip.docx"
    document.save(path)

    result = extracted(path)
    assert result.kind == "docx" and result.title == "Trip notes"
    assert [(b.kind, b.text) for b in result.blocks] == [
        ("heading", "Lisbon 2024"),
        ("paragraph", "We land on Friday at 09:40. Ana books the hotel."),
        ("heading", "Budget"),
        ("table", "Item | Cost €\nFlights | 320\nHotel | 410"),
        ("heading", "Food"),
        ("paragraph", "Pastéis de nata at Manteigaria 🥮"),
    ]
    assert result.blocks[-1].heading == ("Lisbon 2024", "Budget", "Food")
    assert result.blocks[3].heading == ("Lisbon 2024", "Budget")


def test_damaged_or_encrypted_docx_is_skipped(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.docx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    assert skipped(damaged).startswith("unreadable DOCX")
    encrypted = tmp_path / "locked.docx"
    encrypted.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    assert skipped(encrypted) == "encrypted or legacy Word file"


ODT_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.3">
 <office:body><office:text>
  <text:h text:outline-level="1">Meeting notes</text:h>
  <text:p>Decided:<text:s text:c="2"/>ship on <text:span>Tuesday</text:span>.<text:note>
    <text:note-citation>1</text:note-citation><text:note-body><text:p>footnote</text:p>
    </text:note-body></text:note></text:p>
  <text:list><text:list-item><text:p>Ana: release notes</text:p></text:list-item>
   <text:list-item><text:p>Ben: migration<text:line-break/>and rollback plan</text:p></text:list-item>
  </text:list>
  <text:h text:outline-level="2">Numbers</text:h>
  <table:table table:name="T1">
   <table:table-row><table:table-cell><text:p>Users</text:p></table:table-cell>
    <table:table-cell><text:p>1 204</text:p></table:table-cell></table:table-row>
  </table:table>
 </office:text></office:body>
</office:document-content>"""
ODT_META = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><dc:title>Weekly sync</dc:title>
</office:meta></office:document-meta>"""


def write_odt(path: Path, content: str, manifest: str = "<manifest/>") -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", content)
        archive.writestr("meta.xml", ODT_META)
        archive.writestr("META-INF/manifest.xml", manifest)
    return path


def test_odt_headings_lists_tables(tmp_path: Path) -> None:
    result = extracted(write_odt(tmp_path / "sync.odt", ODT_CONTENT))
    assert result.kind == "odt" and result.title == "Weekly sync"
    assert [(b.kind, b.text, b.heading) for b in result.blocks] == [
        ("heading", "Meeting notes", ("Meeting notes",)),
        ("paragraph", "Decided:  ship on Tuesday.", ("Meeting notes",)),
        ("paragraph", "Ana: release notes", ("Meeting notes",)),
        ("paragraph", "Ben: migration\nand rollback plan", ("Meeting notes",)),
        ("heading", "Numbers", ("Meeting notes", "Numbers")),
        ("table", "Users | 1 204", ("Meeting notes", "Numbers")),
        # notes are indexed too (issue 21), once, under their own heading
        ("heading", "Footnotes", ("Footnotes",)),
        ("paragraph", "[1] footnote", ("Footnotes",)),
    ]


def test_broken_or_encrypted_odt_is_skipped(tmp_path: Path) -> None:
    broken = write_odt(tmp_path / "broken.odt", ODT_CONTENT[:400])
    assert skipped(broken).startswith("unreadable ODT")
    locked = write_odt(tmp_path / "locked.odt", ODT_CONTENT,
                       manifest="<manifest><manifest:encryption-data/></manifest>")
    assert skipped(locked) == "encrypted ODT"


# ── HTML, Markdown, CSV, text ─────────────────────────────────────────────────

def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("""<!doctype html><html><head><meta charset="utf-8">
<title>Release notes &amp; more</title><style>body { color: red }</style>
<script>var secret = "do not index";</script></head><body>
<nav>Home</nav><h1>Version 2</h1><p>Faster <b>search</b>.<br>Less memory.</p>
<div hidden><p>hidden text</p></div><div style="display: none">also hidden</div>
<noscript>Enable JavaScript</noscript>
<h2>Changes</h2><table><tr><th>Area</th><th>Change</th></tr><tr><td>OCR</td><td>2× faster</td></tr>
</table><pre>engram --help
  --data-dir PATH</pre></body></html>""", encoding="utf-8")
    result = extracted(path)
    assert result.kind == "html" and result.title == "Release notes & more"
    text = result.text
    for absent in ("color: red", "do not index", "hidden text", "also hidden", "JavaScript"):
        assert absent not in text
    assert [(b.kind, b.text) for b in result.blocks] == [  # the <nav> is furniture (issue 21)
        ("heading", "Version 2"),
        ("paragraph", "Faster search.\nLess memory."), ("heading", "Changes"),
        ("paragraph", "Area | Change"), ("paragraph", "OCR | 2× faster"),
        ("code", "engram --help\n  --data-dir PATH")]
    assert result.blocks[-1].heading == ("Version 2", "Changes")


def test_html_source_line_breaks_are_spaces(tmp_path: Path) -> None:
    path = tmp_path / "indented.html"
    path.write_text("<table>\n  <tr>\n    <td>Ana</td>\n    <td>Lisbon</td>\n  </tr>\n</table>\n"
                    "<p>\n  A paragraph\n  wrapped in the source.\n</p>")
    assert [b.text for b in extracted(path).blocks] == [
        "Ana | Lisbon", "A paragraph wrapped in the source."]


def test_html_declared_charset(tmp_path: Path) -> None:
    path = tmp_path / "old.htm"
    path.write_bytes('<html><head><meta http-equiv="Content-Type" content="text/html; '
                     'charset=windows-1252"></head><body><p>Café “quoted”</p></body></html>'
                     .encode("cp1252"))
    result = extracted(path)
    assert result.text == "Café “quoted”" and result.encoding == "cp1252"


def test_markdown_structure_and_chunk_titles(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("---\ntitle: \"The guide\"\ntags: [a]\n---\n# Setup\n\nInstall it.\n\n"
                    "## Linux\n\nUse the AppImage.\n\n```bash\n# not a heading\nchmod +x x\n```\n\n"
                    "Windows\n-------\n\nRun the installer.\n\n---\n")
    result = extracted(path)
    assert result.kind == "markdown" and result.title == "The guide"
    assert [(b.kind, b.text, b.heading) for b in result.blocks] == [
        ("heading", "Setup", ("Setup",)),
        ("paragraph", "Install it.", ("Setup",)),
        ("heading", "Linux", ("Setup", "Linux")),
        ("paragraph", "Use the AppImage.", ("Setup", "Linux")),
        ("code", "# not a heading\nchmod +x x", ("Setup", "Linux")),
        ("heading", "Windows", ("Setup", "Windows")),
        ("paragraph", "Run the installer.", ("Setup", "Windows")),
    ]
    pieces = chunk(result, target_chars=40, max_chars=60)
    assert [(c.title, c.text) for c in pieces] == [
        ("guide.md › Setup", "Setup\nInstall it."),
        ("guide.md › Setup › Linux", "Linux\nUse the AppImage."),
        ("guide.md › Setup › Linux", "# not a heading\nchmod +x x"),
        ("guide.md › Setup › Windows", "Windows\nRun the installer."),
    ]
    # with room to spare, small sections share a chunk under the first heading
    (whole,) = chunk(result)
    assert whole.title == "guide.md › Setup" and whole.text.endswith("Run the installer.")


def test_csv_rows_as_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("name;city;phone\nAna Souza;Lisboa;+351 1\nBen;;+44 2\n\nZoë;Zürich;+41 3\n",
                    encoding="utf-8")
    result = extracted(path)
    assert result.kind == "csv"
    assert result.text == ("name | city | phone\nname: Ana Souza; city: Lisboa; phone: +351 1\n"
                           "name: Ben; phone: +44 2\nname: Zoë; city: Zürich; phone: +41 3")
    monkeypatch.setattr(markup, "CSV_MAX_ROWS", 2)
    bounded = extracted(path)
    assert bounded.notes == ("only the first 2 rows were read",)
    assert bounded.text.count("\n") == 1


def test_numeric_csv_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("1,2,3\n4,5,6\n")
    assert extracted(path).text == "1 | 2 | 3\n4 | 5 | 6"


@pytest.mark.parametrize("encoding, expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16-le"),
    ("utf-16-le", "utf-16-le"), ("utf-16-be", "utf-16-be"), ("cp1252", "cp1252"),
])
def test_text_encodings(tmp_path: Path, encoding: str, expected: str) -> None:
    text = "Olá, café — “quotes” façade\n\nSecond paragraph."
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode(encoding))
    result = extracted(path)
    assert result.text == text and result.encoding == expected
    assert [b.kind for b in result.blocks] == ["paragraph", "paragraph"]


def test_mostly_utf8_with_a_bad_byte_stays_utf8() -> None:
    data = "Zoë and Ana’s café 😀 ".encode() * 5 + b"\xff" + " end".encode()
    text, encoding = decode_text(data)  # type: ignore[misc]
    assert encoding == "utf-8" and text.count("😀") == 5


def test_code_files_keep_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "tool.py"
    path.write_text("import os\n\n\ndef main() -> None:\n    print(os.getcwd())\n")
    result = extracted(path)
    assert result.kind == "code"
    assert result.text == "import os\n\ndef main() -> None:\n    print(os.getcwd())"


def test_extensionless_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "README"
    path.write_text("Just text.")
    assert extracted(path).kind == "text"


# ── what is not read ──────────────────────────────────────────────────────────

def test_binary_files_are_skipped(tmp_path: Path) -> None:
    blob = tmp_path / "blob.dat"
    blob.write_bytes(bytes(range(256)) * 8)
    assert skipped(blob) == "binary file"
    noisy = tmp_path / "noisy.log"
    noisy.write_bytes(b"ok\x01\x02\x03\x04\x05\x06\x07 text" * 50)
    assert skipped(noisy) == "binary file"
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert skipped(image) == "binary file"


def test_size_limit_empty_and_odd_files(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    assert skipped(big, max_bytes=1024) == "larger than 1 KB"
    assert skipped(big, max_bytes=3 * MB // 1000) == "larger than 3 KB"
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as handle:
        handle.truncate(25 * MB)
    assert skipped(huge, max_bytes=20 * MB) == "larger than 20 MB"
    empty = tmp_path / "empty.md"
    empty.write_text("  \n")
    assert skipped(empty) == "empty file"
    assert skipped(tmp_path / "gone.txt") == "file vanished"
    assert skipped(tmp_path) == "not a regular file"
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.txt"
        os.mkfifo(fifo)
        assert skipped(fifo) == "not a regular file"


@pytest.mark.parametrize("error, reason", [
    (PermissionError(13, "Permission denied"), "permission denied"),
    (FileNotFoundError(2, "No such file"), "file vanished"),
    (OSError(5, "Input/output error"), "cannot read (Input/output error)"),
])
def test_read_errors_become_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    error: OSError, reason: str) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("private")

    def failing_open(*args: object, **kwargs: object) -> None:
        raise error
    # stat succeeds, then the read fails: a file removed or locked mid-scan
    monkeypatch.setattr("ingest.files.extract.open", failing_open, raising=False)
    assert skipped(path) == reason


# ── chunking ──────────────────────────────────────────────────────────────────

SENTENCE = "The quick brown fox jumps over the lazy dog number {n}. "


def doc(*blocks: Block, name: str = "doc.md") -> Extracted:
    return Extracted(Path("/notes") / name, "markdown", blocks)


def test_chunks_respect_sizes_and_start_on_sentences() -> None:
    long_para = "".join(SENTENCE.format(n=n) for n in range(80)).strip()
    pieces = chunk(doc(Block("paragraph", long_para)), target_chars=1000, max_chars=1500)
    assert len(pieces) > 3
    assert all(len(c.text) <= 1500 for c in pieces)
    assert all(c.text.startswith("The quick brown fox") for c in pieces)
    assert all(c.text.endswith(".") for c in pieces)
    assert " ".join(c.text for c in pieces) == long_para
    assert [c.index for c in pieces] == list(range(len(pieces)))


def test_headings_stay_with_their_text() -> None:
    blocks = [Block("heading", "Intro", ("Intro",), level=1),
              Block("paragraph", "x" * 700 + ".", ("Intro",)),
              Block("heading", "Details", ("Intro", "Details"), level=2),
              Block("paragraph", "y" * 700 + ".", ("Intro", "Details"))]
    pieces = chunk(doc(*blocks), target_chars=1000, max_chars=1500)
    assert [c.text.split("\n")[0] for c in pieces] == ["Intro", "Details"]
    assert [c.heading for c in pieces] == ["Intro", "Intro › Details"]
    assert pieces[1].title == "doc.md › Intro › Details"


def test_a_small_paragraph_joins_the_next_and_tiny_sections_merge() -> None:
    blocks = [Block("paragraph", "Short opener."), Block("paragraph", "z" * 1200 + ".")]
    (single,) = chunk(doc(*blocks))
    assert single.text.startswith("Short opener.\n\nzzz")
    tiny = [Block("heading", f"S{i}", (f"S{i}",), level=1) if j == 0 else
            Block("paragraph", f"Line {i}.", (f"S{i}",)) for i in range(3) for j in range(2)]
    (merged,) = chunk(doc(*tiny))
    assert merged.text == "S0\nLine 0.\n\nS1\nLine 1.\n\nS2\nLine 2."


def test_an_oversized_sentence_is_cut_at_spaces() -> None:
    words = " ".join(f"word{n}" for n in range(800))  # one 'sentence', ~6000 chars
    pieces = chunk(doc(Block("paragraph", words)), target_chars=1000, max_chars=1500)
    assert all(len(c.text) <= 1500 for c in pieces)
    assert " ".join(c.text for c in pieces) == words


def test_code_is_split_between_lines() -> None:
    code = "\n".join(f"    value_{n} = compute({n})  # step {n}" for n in range(120))
    pieces = chunk(doc(Block("code", code)), target_chars=1000, max_chars=1500)
    assert len(pieces) > 2
    assert all(c.text.startswith("value_") for c in pieces[1:])  # whole lines, stripped
    assert all(len(c.text) <= 1500 for c in pieces)


def test_chunks_are_deterministic_and_hashed() -> None:
    blocks = (Block("heading", "A", ("A",), level=1),
              Block("paragraph", "".join(SENTENCE.format(n=n) for n in range(40))))
    first, second = chunk(doc(*blocks)), chunk(doc(*blocks))
    assert first == second
    piece = first[0]
    assert isinstance(piece, Chunk) and piece.content_hash == content_hash(piece.text)
    assert len(piece.content_hash) == 32 and piece.page is None
    assert external_id(Path("/notes/doc.md"), piece) == f"file:/notes/doc.md#0:{piece.content_hash}"


def test_bad_chunk_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        chunk(doc(Block("paragraph", "x")), target_chars=2000, max_chars=1000)


def test_document_ending_in_headings_keeps_them() -> None:
    pieces = chunk(doc(Block("paragraph", "Body."), Block("heading", "TODO", ("TODO",), level=1)))
    assert pieces[-1].text.endswith("TODO")


# ── ignore rules ──────────────────────────────────────────────────────────────

@pytest.mark.parametrize("relative, ignored", [
    ("notes/todo.md", False),
    ("project/.git/config", True),
    ("project/node_modules/react/index.js", True),
    ("src/__pycache__/x.cpython-311.pyc", True),
    ("project/.venv/lib/site.py", True),
    ("project/venv/bin/activate", True),
    ("project/.mypy_cache/x.json", True),
    ("project/build/out.txt", True),
    ("project/pkg.egg-info/PKG-INFO", True),
    (".hidden/file.txt", True),
    ("docs/.secret.md", True),
    ("keys/id_rsa.pub", True),
    ("docs/buildings.md", False),
])
def test_default_ignore_patterns(tmp_path: Path, relative: str, ignored: bool) -> None:
    assert is_ignored(tmp_path / relative, tmp_path) is ignored


def test_virtual_env_detected_by_pyvenv_cfg(tmp_path: Path) -> None:
    env = tmp_path / "tools" / "myenv"
    (env / "lib").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert is_ignored(env / "lib" / "thing.py", tmp_path)
    assert is_ignored(env, tmp_path)
    assert not is_ignored(env / "lib" / "thing.py", tmp_path, detect_venvs=False)


def test_custom_patterns_and_options(tmp_path: Path) -> None:
    patterns = load_patterns("# mine\n\ndrafts/\n/archive/old\n*.log\n")
    assert patterns == ("drafts/", "/archive/old", "*.log")
    (tmp_path / "notes" / "drafts").mkdir(parents=True)
    assert is_ignored(tmp_path / "notes" / "drafts", tmp_path, patterns)
    assert is_ignored(tmp_path / "notes" / "drafts" / "a.md", tmp_path, patterns)
    (tmp_path / "notes" / "drafts.md").write_text("x")
    assert not is_ignored(tmp_path / "notes" / "drafts.md", tmp_path, patterns)
    assert is_ignored(tmp_path / "archive" / "old" / "2019.md", tmp_path, patterns)
    assert not is_ignored(tmp_path / "x" / "archive" / "old" / "2019.md", tmp_path, patterns)
    assert is_ignored(tmp_path / "var" / "app.log", tmp_path, patterns)
    assert not is_ignored(tmp_path / ".config" / "a.md", tmp_path, (), ignore_hidden=False)
    assert not is_ignored(tmp_path, tmp_path)
    assert ".git" in DEFAULT_IGNORE_PATTERNS
    with pytest.raises(ValueError):
        is_ignored(Path("/elsewhere/a.md"), tmp_path)
