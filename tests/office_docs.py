"""DOCX and ODT files written part by part, with every part a word processor shows:
headers, footers, footnotes, endnotes, comments, text boxes, tables, tracked
changes, fields — in Transitional and Strict OOXML, and ODF."""
from __future__ import annotations

import zipfile
from pathlib import Path

W_TRANSITIONAL = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_TRANSITIONAL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
R_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

_BODY = """
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Harbour report</w:t></w:r></w:p>
<w:p><w:commentRangeStart w:id="0"/><w:r><w:t xml:space="preserve">The ferry schedule </w:t></w:r>
 <w:ins w:id="5" w:author="Ben"><w:r><w:t xml:space="preserve">changed </w:t></w:r></w:ins>
 <w:del w:id="6" w:author="Ben"><w:r><w:delText>obsoletedword </w:delText></w:r></w:del>
 <w:r><w:t>in March.</w:t></w:r><w:commentRangeEnd w:id="0"/>
 <w:r><w:commentReference w:id="0"/></w:r>
 <w:r><w:footnoteReference w:id="1"/></w:r><w:r><w:endnoteReference w:id="1"/></w:r></w:p>
<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>HYPERLINK "https://fieldcodeurl.example"</w:instrText></w:r>
 <w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>the harbour site</w:t></w:r>
 <w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">See the box. </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>hiddenrunword</w:t></w:r><w:r><mc:AlternateContent>
 <mc:Choice Requires="wps"><w:drawing><wp:anchor><a:graphic><a:graphicData><wps:wsp><wps:txbx>
  <w:txbxContent><w:p><w:r><w:t>Boxed zebrafish note</w:t></w:r></w:p></w:txbxContent>
 </wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>
 <mc:Fallback><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>Boxed zebrafish note</w:t></w:r></w:p>
 </w:txbxContent></v:textbox></v:shape></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Pier</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Departures</w:t></w:r></w:p></w:tc></w:tr>
 <w:tr><w:tc><w:p><w:r><w:t>North</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>14</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
<w:sdt><w:sdtPr><w:alias w:val="Owner"/></w:sdtPr><w:sdtContent><w:p><w:r><w:t>Owner: quayside office</w:t></w:r></w:p></w:sdtContent></w:sdt>
<w:sectPr><w:headerReference w:type="default" r:id="rH1"/><w:headerReference w:type="first" r:id="rH2"/>
 <w:footerReference w:type="default" r:id="rF1"/></w:sectPr>
"""
_ONLY_BOX = """
<w:p><w:r><w:pict><v:shape><v:textbox><w:txbxContent><w:p><w:r><w:t>Only inside a lonely textbox</w:t></w:r></w:p>
</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>
"""


def _ns(w: str, r: str) -> str:
    return (f'xmlns:w="{w}" xmlns:r="{r}" '
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
            'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
            'xmlns:v="urn:schemas-microsoft-com:vml"')


def _part(root: str, ns: str, inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:{root} {ns}>{inner}</w:{root}>'


def _p(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def write_docx(path: Path, *, strict: bool = False, only_text_box: bool = False) -> Path:
    """A DOCX with a heading, tracked changes, a field, a text box, a table, a content
    control, two identical headers, a footer, a footnote, an endnote and a comment."""
    w, r = (W_STRICT, R_STRICT) if strict else (W_TRANSITIONAL, R_TRANSITIONAL)
    kinds = ("http://purl.oclc.org/ooxml/officeDocument/relationships" if strict
             else "http://schemas.openxmlformats.org/officeDocument/2006/relationships")
    ns = _ns(w, r)
    body = _ONLY_BOX if only_text_box else _BODY
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/></Types>'),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{kinds}/officeDocument" Target="word/document.xml"/>'
            '</Relationships>'),
        "word/document.xml": _part("document", ns, f"<w:body>{body}</w:body>"),
        "word/_rels/document.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rS" Type="{kinds}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rH1" Type="{kinds}/header" Target="header1.xml"/>'
            f'<Relationship Id="rH2" Type="{kinds}/header" Target="/word/header2.xml"/>'
            f'<Relationship Id="rF1" Type="{kinds}/footer" Target="footer1.xml"/>'
            f'<Relationship Id="rN" Type="{kinds}/footnotes" Target="footnotes.xml"/>'
            f'<Relationship Id="rE" Type="{kinds}/endnotes" Target="endnotes.xml"/>'
            f'<Relationship Id="rC" Type="{kinds}/comments" Target="comments.xml"/>'
            f'<Relationship Id="rL" Type="{kinds}/hyperlink" Target="https://x.example" '
            'TargetMode="External"/></Relationships>'),
        "word/styles.xml": _part("styles", ns, (
            '<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/>'
            '<w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>'
            '<w:style w:type="paragraph" w:styleId="Normal"><w:name w:val="Normal"/></w:style>')),
        "word/header1.xml": _part("hdr", ns, _p("Lighthousekeeper quarterly")),
        "word/header2.xml": _part("hdr", ns, _p("Lighthousekeeper quarterly")),
        "word/footer1.xml": _part("ftr", ns, _p("Confidential draft footerword")),
        "word/footnotes.xml": _part("footnotes", ns, (
            '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
            '</w:footnote><w:footnote w:id="1">' + _p("Footnote: timetables from the port "
                                                      "authority") + "</w:footnote>")),
        "word/endnotes.xml": _part("endnotes", ns, (
            '<w:endnote w:type="continuationSeparator" w:id="0"><w:p/></w:endnote>'
            '<w:endnote w:id="1">' + _p("Endnote: figures are provisional") + "</w:endnote>")),
        "word/comments.xml": _part("comments", ns, (
            '<w:comment w:id="0" w:author="Ana Lima">' + _p("Check with the harbourmaster")
            + "</w:comment>")),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.'
            'openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/'
            'dc/elements/1.1/"><dc:title>Harbour Q1</dc:title></cp:coreProperties>'),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


_ODF = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
        'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"')
ODT_BODY = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content {_ODF} office:version="1.3"><office:body><office:text>
 <text:sequence-decls><text:sequence-decl text:name="Figure"/></text:sequence-decls>
 <text:table-of-content><text:index-body><text:p>Harbour report ..... 1</text:p></text:index-body></text:table-of-content>
 <text:h text:outline-level="1">Harbour report</text:h>
 <text:p>The ferry schedule changed<text:note text:note-class="footnote"><text:note-citation>1</text:note-citation>
  <text:note-body><text:p>Timetables from the port authority.</text:p></text:note-body></text:note> in March.<office:annotation>
  <dc:creator>Ana Lima</dc:creator><dc:date>2024-03-01T10:00:00</dc:date><text:p>Check with the harbourmaster</text:p>
  </office:annotation> More text.<text:note text:note-class="endnote"><text:note-citation>i</text:note-citation>
  <text:note-body><text:p>Figures are provisional.</text:p></text:note-body></text:note></text:p>
 <text:p>See the box.<draw:frame><draw:text-box><text:p>Boxed zebrafish note</text:p></draw:text-box></draw:frame></text:p>
 <text:tracked-changes><text:changed-region><text:deletion><text:p>obsoletedword</text:p></text:deletion></text:changed-region></text:tracked-changes>
</office:text></office:body></office:document-content>"""
ODT_STYLES = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-styles {_ODF}><office:master-styles>
 <style:master-page style:name="Standard">
  <style:header><text:p>Lighthousekeeper quarterly</text:p></style:header>
  <style:header-left><text:p>Lighthousekeeper quarterly</text:p></style:header-left>
  <style:footer><text:p>Confidential draft footerword</text:p></style:footer>
 </style:master-page></office:master-styles></office:document-styles>"""


def write_odt(path: Path) -> Path:
    """An ODT with a table of contents, notes, a comment, a frame, a deleted change,
    and header/footer (the header twice, for left and right pages)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", ODT_BODY)
        archive.writestr("styles.xml", ODT_STYLES)
        archive.writestr("META-INF/manifest.xml", "<manifest/>")
    return path
