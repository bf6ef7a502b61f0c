"""PDF: text per page in reading order, checked, with form values and outline.

Each page's text comes from the best extractor that yields real text:

1. poppler's ``pdftotext`` when installed (reading order over columns, CJK
   CMaps, vertical writing): run once per document over a pipe, never a file,
   with a time and memory limit;
2. pypdf's plain extraction, or — when its layout mode shows columns — the
   layout text cut at the column gutters, read column by column;
3. if none passes the quality gate (``quality.text_problem``), the page is left
   out and the document's notes say so: "page 3: no readable text layer".

The outline (bookmarks) gives headings; AcroForm field values become a "Form
fields" section. Every library error becomes a reason, never an exception.
"""
from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable

from ingest.files.blocks import Block, Extracted, Outline, Skipped
from ingest.files.quality import text_problem, text_score

__all__ = ["pdf", "pdf_paragraphs", "reading_order", "pdftotext_pages"]

_SENTENCE_END = (".", "!", "?", ":", "…", "。", "！", "？")
PDFTOTEXT_TIMEOUT = 60.0
_PDFTOTEXT_MEMORY = 1 << 30   # address space for the child: a hostile file can't eat the machine
_PDFTOTEXT_OUTPUT = 64 << 20  # more text than this from one file is not a document
_GUTTER = 3                   # blank character columns that separate two text columns
_MIN_COLUMN_LINES = 4
_MIN_PROSE = 12              # mean characters per line of a text column

# pypdf's warnings about damaged files quote raw document bytes; nothing of a
# document may reach a log, and the problem is reported as Skipped anyway.
logging.getLogger("pypdf").setLevel(logging.CRITICAL)


def _reason(exc: BaseException) -> str:
    """Only the exception's type: parser messages quote document content."""
    return type(exc).__name__


def pdf(path: Path, data: bytes) -> Extracted | Skipped:
    """Text per page (see the module docstring); headings from the outline."""
    from pypdf import PdfReader  # imported here: only PDF scans pay for it

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _open_encrypted(reader):
            return Skipped(path, "encrypted PDF")
        pages = list(reader.pages)
    except Exception as exc:  # pypdf raises many types on damaged files
        return _poppler_only(path, data) or Skipped(path, f"unreadable PDF ({_reason(exc)})")
    poppler = pdftotext_pages(data, len(pages))
    starts = _outline_starts(reader)
    outline = Outline()
    blocks: list[Block] = []
    notes: list[str] = []
    problems: list[str] = []
    for number, page in enumerate(pages, 1):
        for level, entry in starts.get(number - 1, ()):
            outline.enter(level, entry)
        first = poppler[number - 1] if poppler is not None else None
        text, problem = _page_text(page, first)
        if problem is not None:
            problems.append(problem)
            notes.append(f"page {number}: no readable text layer ({problem})")
            continue
        blocks.extend(Block("paragraph", para, outline.path, number)
                      for para in pdf_paragraphs(text))
    blocks += _form_blocks(reader)
    title: str | None = None
    try:
        title = (reader.metadata.title or None) if reader.metadata else None
    except Exception:
        pass  # a broken info dictionary only costs the title
    if not blocks:
        if problems:
            return Skipped(path, f"no readable text layer ({problems[0]})")
        return Skipped(path, "no text in this PDF (scanned images?)")
    return Extracted(path, "pdf", tuple(blocks), title=title, pages=len(pages),
                     notes=tuple(notes))


def _poppler_only(path: Path, data: bytes) -> Extracted | None:
    """A file pypdf cannot open may still be read by poppler (it repairs more)."""
    texts = pdftotext_pages(data, None)
    if not texts:
        return None
    blocks: list[Block] = []
    notes: list[str] = []
    for number, text in enumerate(texts, 1):
        problem = text_problem(text)
        if problem is not None:
            notes.append(f"page {number}: no readable text layer ({problem})")
            continue
        blocks.extend(Block("paragraph", para, (), number) for para in pdf_paragraphs(text))
    if not blocks:
        return None
    return Extracted(path, "pdf", tuple(blocks), pages=len(texts), notes=tuple(notes))


def _page_text(page: Any, first: str | None) -> tuple[str, str | None]:
    """The page's best text and None, or ("", why none of the extractors worked)."""
    candidates: list[Callable[[], str]] = []
    if first is not None:
        candidates.append(lambda: first)
    candidates.append(lambda: _pypdf_text(page))
    candidates.append(lambda: page.extract_text(extraction_mode="layout") or "")
    problem: str | None = None
    for make in candidates:
        try:
            text = make()
        except Exception as exc:
            problem = problem or f"unreadable ({_reason(exc)})"
            continue
        if not text.strip():  # a font one library cannot decode, the other may
            continue
        found = text_problem(text)
        if found is None:
            return text, None
        if problem is None or _RANK.get(found, 9) < _RANK.get(problem, 9):
            problem = found  # say what is most telling: glyph names beat stray controls
    return "", problem


_RANK = {"glyph names instead of text": 0, "private-use characters": 1, "mojibake": 2,
         "control characters": 3}


def _pypdf_text(page: Any) -> str:
    """pypdf's text; where its layout view shows columns, read column by column."""
    plain = page.extract_text() or ""
    if len(plain) < 200:
        return plain
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except Exception:
        return plain
    ordered = reading_order(layout)
    return ordered if ordered is not None and text_score(ordered) >= 0.9 * text_score(plain) \
        else plain


def reading_order(layout: str) -> str | None:
    """Text laid out in columns (fixed-width lines) re-read column by column.

    A gutter is a run of at least ``_GUTTER`` character positions that are blank
    in nearly every line, with text on both sides. Lines that cross a gutter
    (a title over all columns) split the page into bands; within a band each
    column is read top to bottom before the next. None when there are no columns.
    """
    lines = [line.rstrip() for line in layout.splitlines()]
    filled = [line for line in lines if line.strip()]
    if len(filled) < _MIN_COLUMN_LINES:
        return None
    width = max(len(line) for line in filled)
    used = [0] * width
    for line in filled:
        for x, ch in enumerate(line):
            if ch != " ":
                used[x] += 1
    limit = max(1, len(filled) // 10)
    left_margin = next((x for x in range(width) if used[x]), 0)
    gutters: list[tuple[int, int]] = []
    x = left_margin
    while x < width:
        if used[x] <= limit:
            end = x
            while end < width and used[end] <= limit:
                end += 1
            if end - x >= _GUTTER and end < width:
                left = sum(1 for line in filled if line[left_margin:x].strip())
                right = sum(1 for line in filled if line[end:].strip())
                if min(left, right) >= _MIN_COLUMN_LINES:
                    gutters.append(_core(used, x, end))
            x = end
        x += 1
    if not gutters:
        return None
    cuts = [0, *[(a + b) // 2 for a, b in gutters], width + 1]
    for lo, hi in zip(cuts, cuts[1:]):  # prose columns, not a table's short cells
        cells = [len(line[lo:hi].strip()) for line in filled if line[lo:hi].strip()]
        if len(cells) < _MIN_COLUMN_LINES or sum(cells) < _MIN_PROSE * len(cells):
            return None
    out: list[str] = []
    band: list[str] = []

    def flush() -> None:
        for lo, hi in zip(cuts, cuts[1:]):
            column = [line[lo:hi].strip() for line in band]
            while column and not column[-1]:
                column.pop()
            if any(column):
                out.extend(column)
                out.append("")
        band.clear()

    for line in lines:
        crosses = any(line[a:b].strip() for a, b in gutters)
        if crosses:
            flush()
            out.append(" ".join(line.split()))
            out.append("")
        else:
            band.append(line)
    flush()
    return "\n".join(out)


def _core(used: list[int], start: int, end: int) -> tuple[int, int]:
    """The emptiest stretch of a gutter: a line reaching into the gutter's edge
    (one long line of a column) must not count as crossing it."""
    low = min(used[start:end])
    best, run_start = (start, start), None
    for x in range(start, end + 1):
        if x < end and used[x] == low:
            run_start = x if run_start is None else run_start
        elif run_start is not None:
            if x - run_start > best[1] - best[0]:
                best = (run_start, x)
            run_start = None
    return best


def pdftotext_pages(data: bytes, pages: int | None) -> list[str] | None:
    """Each page's text from poppler's ``pdftotext``; None when it is not
    installed, fails, runs too long or disagrees on the number of ``pages``
    (None: any number).

    The document goes in through stdin and the text comes back through stdout:
    nothing is written to disk.
    """
    tool = shutil.which("pdftotext")
    if tool is None or pages == 0:
        return None
    try:
        proc = subprocess.Popen([tool, "-q", "-enc", "UTF-8", "-", "-"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    _limit_memory(proc.pid)
    chunks: list[bytes] = []

    def read() -> None:
        size = 0
        assert proc.stdout is not None
        while piece := proc.stdout.read(1 << 16):
            size += len(piece)
            if size > _PDFTOTEXT_OUTPUT:
                proc.kill()
                chunks.clear()
                return
            chunks.append(piece)

    def write() -> None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(data)
        except OSError:
            pass  # it stopped reading (damaged file): its exit code tells
        finally:
            try:
                proc.stdin.close()
            except OSError:
                pass

    workers = [threading.Thread(target=read, daemon=True), threading.Thread(target=write,
                                                                            daemon=True)]
    for worker in workers:
        worker.start()
    try:
        code = proc.wait(timeout=PDFTOTEXT_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    finally:
        for worker in workers:
            worker.join(timeout=5)
    if code != 0 or not chunks:
        return None
    texts = b"".join(chunks).decode("utf-8", "replace").split("\f")
    if texts and not texts[-1].strip():
        texts.pop()
    if pages is not None and len(texts) != pages:
        return None
    return texts


def _limit_memory(pid: int) -> None:
    """Cap the child's address space (Linux). Set from outside, after the start:
    a ``preexec_fn`` can deadlock a program that runs other threads."""
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_AS, (_PDFTOTEXT_MEMORY, _PDFTOTEXT_MEMORY))
    except (ImportError, AttributeError, OSError, ValueError):
        pass  # no prlimit here (macOS, Windows) or the child already exited


def _open_encrypted(reader: Any) -> bool:
    """Many PDFs are encrypted with an empty user password: those open freely."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _outline_starts(reader: Any) -> dict[int, list[tuple[int, str]]]:
    """page index → [(level, title)] of outline entries starting on that page."""
    starts: dict[int, list[tuple[int, str]]] = {}

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = str(item.title).strip()
            except Exception:
                continue
            if page is not None and page >= 0 and title:
                starts.setdefault(page, []).append((level, title))
    try:
        walk(list(reader.outline), 1)
    except Exception:
        return {}  # outlines are often broken; text matters more
    return starts


def _form_blocks(reader: Any) -> list[Block]:
    """AcroForm field values as "label: value" lines under a "Form fields" heading."""
    try:
        fields = reader.get_fields() or {}
    except Exception:
        return []
    lines: list[str] = []
    for name, field in list(fields.items())[:5000]:
        try:
            value = _field_value(field)
            label = str(field.get("/TU") or name).strip()
        except Exception:
            continue
        if value:
            lines.append(f"{' '.join(label.split())}: {value}")
    if not lines:
        return []
    heading = ("Form fields",)
    return [Block("heading", "Form fields", heading, level=1),
            Block("table", "\n".join(lines), heading)]


def _field_value(field: Any) -> str:
    kind = field.get("/FT")
    value = field.get("/V")
    if value is None or kind == "/Sig":
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value if str(v).strip())
    text = str(value)
    if kind == "/Btn" or text.startswith("/"):  # a check box or radio button state
        state = text.lstrip("/")
        return "" if state in ("Off", "") else ("yes" if state in ("Yes", "On", "1") else state)
    return re.sub(r"\s+", " ", text).strip()


def pdf_paragraphs(text: str) -> list[str]:
    """Rebuild paragraphs from a page's lines.

    Extractors give one line per printed line. A line that ends a sentence and
    is clearly shorter than the page's usual line ends its paragraph; other line
    breaks are wraps, joined with a space (or nothing after a hyphenated word).
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    widths = sorted(len(line) for line in lines if line)
    if not widths:
        return []
    usual = widths[int(len(widths) * 0.8)]
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and len(current) > 1 and current[-2].isalpha() \
                and line[:1].islower():
            current = current[:-1] + line
        else:
            current = f"{current}{_joiner(current, line)}{line}"
        if line.endswith(_SENTENCE_END) and len(line) < 0.8 * usual:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _joiner(before: str, after: str) -> str:
    """Wrapped CJK lines join without a space; everything else with one."""
    if _wide(before[-1]) and _wide(after[0]):
        return ""
    return " "


def _wide(ch: str) -> bool:
    code = ord(ch)
    return (0x2E80 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF or 0xF900 <= code <= 0xFAFF
            or 0xFE10 <= code <= 0xFE4F or 0xFF00 <= code <= 0xFFEF or 0x20000 <= code <= 0x3FFFF)
