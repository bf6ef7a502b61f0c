"""Readers for binary document formats, by format: PDF (``pdf.py``), DOCX and
ODT (``office.py``).

Each takes the file's bytes (already read once, within the size limit) and
returns ``Extracted`` or ``Skipped`` with a reason. These parsers run on files
Engram did not write and that may be damaged or hostile, so each one turns any
exception from its library into ``Skipped("unreadable …")``: one bad file must
never stop a folder scan, and the reason is shown to the person.
"""
from __future__ import annotations

from ingest.files.office import docx, fodt, odt
from ingest.files.pdf import pdf, pdf_paragraphs

__all__ = ["docx", "fodt", "odt", "pdf", "pdf_paragraphs"]

# Suffixes of each reader (templates and macro-enabled files are the same formats).
DOCX = {".docx", ".docm", ".dotx", ".dotm"}
ODT = {".odt", ".ott"}
