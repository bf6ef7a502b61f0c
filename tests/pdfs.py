"""PDFs made by the tests themselves: hand-written operators where the text layer
itself is the point (ligature glyphs, glyph-name fonts), reportlab for layout,
CJK fonts and forms."""
from __future__ import annotations

import io

LIGATURE_TEXT = "The misﬁts were efﬁcient and ﬂuent in the ofﬁce."


def build_pdf(pages: list[bytes], fonts: dict[str, bytes]) -> bytes:
    """A valid PDF from raw content streams and font dictionaries (by resource name)."""
    objects: dict[int, bytes] = {1: b"<< /Type /Catalog /Pages 2 0 R >>"}
    font_refs = []
    number = 3
    for name, font in fonts.items():
        objects[number] = font
        font_refs.append(f"/{name} {number} 0 R")
        number += 1
    kids = []
    for stream in pages:
        page_id, content_id = number, number + 1
        number += 2
        kids.append(f"{page_id} 0 R")
        objects[page_id] = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                            f"<< /Font << {' '.join(font_refs)} >> >> "
                            f"/Contents {content_id} 0 R >>").encode()
        objects[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (n, objects[n])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def _string(codes: bytes) -> bytes:
    return b"(" + codes.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _lines(font: str, lines: list[bytes]) -> bytes:
    shown = b"".join(_string(line) + b" Tj T* " for line in lines)
    return b"BT /%s 11 Tf 14 TL 72 720 Td %s ET" % (font.encode(), shown)


_HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def ligature_pdf() -> bytes:
    """Helvetica with the "fi"/"fl" ligature glyphs at codes 1 and 2, as TeX fonts do."""
    font = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
            b"/BaseEncoding /WinAnsiEncoding /Differences [1 /fi /fl] >> >>")
    line = LIGATURE_TEXT.replace("ﬁ", "\x01").replace("ﬂ", "\x02").encode("latin-1")
    return build_pdf([_lines("F1", [line, b"Nothing else on this page."])], {"F1": font})


def _glyph_font(names: list[str]) -> bytes:
    differences = " ".join(f"/{n}" for n in names).encode()
    widths = " ".join("600" for _ in names).encode()
    return (b"<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+Subset /FirstChar 1 /LastChar "
            + str(len(names)).encode() + b" /Widths [" + widths + b"] /Encoding << /Type "
            b"/Encoding /Differences [1 " + differences + b"] >> >>")


def glyph_name_pdf(*, recoverable: bool) -> bytes:
    """Three pages; the middle one is set in a font whose glyphs are only named
    "g<number>" (no Unicode map). ``recoverable``: the numbers are the letters'
    codes, which poppler decodes; otherwise they are glyph indices nobody can."""
    text = "Quarterly harbour revenue rose sharply in the third quarter."
    alphabet = sorted(set(text))
    codes = bytes(alphabet.index(ch) + 1 for ch in text)
    names = [f"g{ord(ch)}" if recoverable else f"g{n + 3}" for n, ch in enumerate(alphabet)]
    pages = [_lines("F1", [b"The first page is ordinary text about lighthouses."]),
             _lines("F2", [codes, codes, codes]),
             _lines("F1", [b"The last page is ordinary text about ferries."])]
    return build_pdf(pages, {"F1": _HELVETICA, "F2": _glyph_font(names)})


COLUMNS = [
    "Alpha paragraph opens the first column of the instructions. Apricot wording "
    "continues here with a little more text, so that every column wraps over several "
    "lines. Alpha ends here.",
    "Bravo paragraph opens the second column of the instructions. Blueberry wording "
    "continues here with a little more text, so that every column wraps over several "
    "lines. Bravo ends here.",
    "Charlie paragraph opens the third column of the instructions. Cherry wording "
    "continues here with a little more text, so that every column wraps over several "
    "lines. Charlie ends here.",
]


def three_column_pdf() -> bytes:
    """A title over three columns, drawn row by row across the columns (as form
    generators do), with narrow gutters."""
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(40, 740, "Instructions for the Zorblax Tax Form")
    c.setFont("Helvetica", 9)
    wrapped = [simpleSplit(text, "Helvetica", 9, 165) for text in COLUMNS]
    for row in range(max(len(w) for w in wrapped)):
        for column, lines in enumerate(wrapped):
            if row < len(lines):
                c.drawString(40 + column * 180, 710 - row * 11, lines[row])
    c.showPage()
    c.save()
    return buf.getvalue()


def cjk_pdf(*, vertical: bool = False) -> bytes:
    """Japanese text in a CID font with a predefined CMap (not embedded)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    name = "HeiseiMin-W3"
    font = UnicodeCIDFont(name, isVertical=vertical)
    pdfmetrics.registerFont(font)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setFont(font.fontName, 14)
    if vertical:
        c.drawString(500, 700, "日本語の縦書きの文書です。")
        c.drawString(480, 700, "港の灯台について書きました。")
    else:
        c.drawString(72, 700, "日本語の文書です。港の灯台について書きました。")
        c.drawString(72, 680, "検索できるはずです。")
    c.showPage()
    c.save()
    return buf.getvalue()


def form_pdf() -> bytes:
    """A page with an AcroForm: a filled text field, a ticked box, an empty field."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.drawString(72, 720, "Membership application")
    c.acroForm.textfield(name="applicant", tooltip="Applicant name", x=72, y=650, width=250,
                         height=20, value="Zanzibar Quokka")
    c.acroForm.textfield(name="city", x=72, y=620, width=250, height=20, value="")
    c.acroForm.checkbox(name="newsletter", x=72, y=590, checked=True)
    c.showPage()
    c.save()
    return buf.getvalue()
