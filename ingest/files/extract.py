"""Turn one file into text with structure, or say plainly why not.

``extract(path, max_bytes=...)`` returns ``Extracted`` (blocks with heading
paths and PDF pages, ready for ``chunk``) or ``Skipped`` with a reason a
person can read: "binary file", "larger than 20 MB", "encrypted PDF",
"permission denied", "file vanished". Expected outcomes are values; only
programming errors raise.

The file is read once, into memory, never beyond ``max_bytes`` (plus one byte
to notice growth), and nothing is written anywhere: extracted text must not
land on disk outside the encrypted store. What comes out is NFKC-folded like
everything the pipeline stores (``core/textnorm.py``); large machine data is
reduced to its head (``data_max_bytes``).
"""
from __future__ import annotations

import codecs
import os
import stat
from dataclasses import replace
from pathlib import Path

from core.textnorm import normalize_text

from ingest.files import documents, markup
from ingest.files.blocks import Block, Extracted, Skipped, paragraphs
from ingest.files.quality import text_problem

__all__ = ["Block", "DATA_MAX_BYTES", "Extracted", "Skipped", "decode_text", "extract"]

MARKDOWN = {".md", ".markdown", ".mdown", ".mkd", ".mdx"}
HTML = {".html", ".htm", ".xhtml"}
CODE = {".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".c", ".h", ".cc",
        ".cpp", ".hpp", ".cs", ".java", ".kt", ".kts", ".scala", ".go", ".rs", ".rb",
        ".php", ".pl", ".lua", ".swift", ".m", ".r", ".jl", ".sh", ".bash", ".zsh",
        ".fish", ".ps1", ".bat", ".sql", ".css", ".scss", ".less", ".vue", ".svelte",
        ".dart", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj", ".el", ".vim", ".zig",
        ".nim", ".tf", ".gradle", ".cmake", ".mk", ".proto", ".graphql"}
# Known binary formats are refused without reading them.
BINARY = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".ico",
          ".heic", ".psd", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst",
          ".tar", ".jar", ".whl", ".exe", ".dll", ".so", ".dylib", ".o", ".a", ".bin",
          ".class", ".pyc", ".pyo", ".mp3", ".mp4", ".m4a", ".wav", ".flac", ".ogg",
          ".mkv", ".mov", ".avi", ".webm", ".ttf", ".otf", ".woff", ".woff2", ".db",
          ".sqlite", ".sqlite3", ".iso", ".dmg", ".img", ".gguf", ".npy", ".pkl",
          ".parquet", ".xls", ".ppt", ".doc", ".kdbx", ".xlsx", ".pptx", ".ods", ".odp",
          ".epub", ".key", ".numbers", ".pages"}
# Machine data: beyond DATA_MAX_BYTES (setting ``file_data_max_kb``) only a head is indexed.
DATA = {".json", ".geojson", ".topojson", ".jsonl", ".ndjson", ".har", ".xml", ".kml", ".gpx",
        ".svg", ".log", ".map"}
DATA_MAX_BYTES = 256 * 1024
DATA_HEAD = 1200  # one chunk
MINIFIED_LINE = 2000
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_TEXT_SUFFIXES = MARKDOWN | HTML | CODE | DATA | {".txt", ".csv", ".tsv", ".fodt"}
_SNIFF = 8192
# Bytes that do not occur in text (tab, newlines, form feed, backspace and ESC
# for coloured logs are allowed).
_CONTROL = bytes(set(range(32)) - {8, 9, 10, 11, 12, 13, 27}) + b"\x7f"


def extract(path: Path, *, max_bytes: int,
            data_max_bytes: int = DATA_MAX_BYTES) -> Extracted | Skipped:
    """Read ``path`` and return its text with structure, or why it was skipped.

    Plain text and code (UTF-8, UTF-16/32 with BOM, else Windows-1252/Latin-1
    when the bytes look like text), Markdown, HTML, PDF, DOCX, ODT and CSV.
    Unknown extensions are read as text when their content is text. Machine
    data (JSON, XML, logs, minified code) larger than ``data_max_bytes`` is
    kept as its name and first lines only (see ``_machine_data``).
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        return Skipped(path, _os_reason(exc))
    if not stat.S_ISREG(info.st_mode):  # FIFOs and devices would block or never end
        return Skipped(path, "not a regular file")
    if info.st_size > max_bytes:
        return Skipped(path, f"larger than {_size(max_bytes)}")
    suffix = path.suffix.lower()
    if suffix in BINARY:
        return Skipped(path, "binary file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return Skipped(path, _os_reason(exc))
    if len(data) > max_bytes:  # it grew after stat
        return Skipped(path, f"larger than {_size(max_bytes)}")
    if not data.strip():
        return Skipped(path, "empty file")
    if 0 < data_max_bytes < len(data):
        head = _machine_data(path, data, suffix)
        if head is not None:
            return _normalized(head)
    result = _read(path, data, suffix)
    return _normalized(result) if isinstance(result, Extracted) else result


def _machine_data(path: Path, data: bytes, suffix: str) -> Extracted | Skipped | None:
    """A large file written by and for programs, as one chunk: its first lines.

    JSON, XML, logs, source maps and minified code are read by machines, not
    people; indexed whole, a 2 MB coordinate dump became 1,500 chunks that
    bury everything else. Its name (the chunk's title) and path still find
    it, and the head says what it is. None: not machine data, read it normally.
    """
    name = path.name.lower()
    minified = suffix in (".js", ".mjs", ".cjs", ".css") and (
        ".min." in name or _longest_line(data[:1 << 16]) > MINIFIED_LINE)
    if suffix not in DATA and not minified:
        return None
    decoded = decode_text(data)
    if decoded is None:
        return Skipped(path, "binary file")
    text, encoding = decoded
    head = text[:DATA_HEAD]
    if len(text) > DATA_HEAD:  # end on a line or a space, not in a word
        cut = max(head.rfind("\n"), head.rfind(" "), head.rfind(","))
        head = head[:cut + 1] if cut > DATA_HEAD // 2 else head
    if not head.strip():
        return Skipped(path, "no text")
    kind = "minified code" if minified else "data file"
    note = f"large {kind} ({_size(len(data))}): only its name and first lines are indexed"
    return Extracted(path, "data", (Block("code", head.rstrip()),), encoding=encoding,
                     notes=(note,))


def _longest_line(data: bytes) -> int:
    return max((len(line) for line in data.split(b"\n")), default=0)


def _read(path: Path, data: bytes, suffix: str) -> Extracted | Skipped:
    if suffix == ".pdf" or (suffix not in _TEXT_SUFFIXES and data.startswith(b"%PDF-")):
        return documents.pdf(path, data)
    if suffix in documents.DOCX:
        return documents.docx(path, data)
    if suffix in documents.ODT:
        return documents.odt(path, data)
    return _text_file(path, data, suffix)


def _normalized(extracted: Extracted) -> Extracted:
    """Blocks, headings and title NFKC-folded (as the pipeline does), so chunk
    sizes and content hashes are those of the text that is stored."""
    blocks = tuple(Block(b.kind, normalize_text(b.text),
                         tuple(normalize_text(h) for h in b.heading), b.page, b.level)
                   for b in extracted.blocks)
    title = normalize_text(extracted.title) if extracted.title else extracted.title
    return replace(extracted, blocks=blocks, title=title)


def _text_file(path: Path, data: bytes, suffix: str) -> Extracted | Skipped:
    declared = _declared_charset(data) if suffix in HTML else None
    decoded = decode_text(data, declared)
    if decoded is None:
        return Skipped(path, "binary file")
    text, encoding = decoded
    kind = "text"
    title: str | None = None
    notes: list[str] = []
    if suffix in MARKDOWN:
        kind = "markdown"
        blocks, title = markup.markdown_blocks(text)
    elif suffix in HTML or (not suffix and text.lstrip()[:15].lower().startswith(
            ("<!doctype html", "<html"))):
        kind = "html"
        blocks, title = markup.html_blocks(text)
    elif suffix == ".fodt":
        return documents.fodt(path, text)
    elif suffix in (".csv", ".tsv"):
        kind = "csv"
        blocks, notes = markup.csv_blocks(text, tab_separated=suffix == ".tsv")
    elif suffix in CODE:
        kind = "code"
        blocks = paragraphs(text, "code")
    else:
        blocks = paragraphs(text)
    if not blocks:
        return Skipped(path, "no text")
    return Extracted(path, kind, tuple(blocks), title=title, encoding=encoding,
                     notes=tuple(notes))


def decode_text(data: bytes, declared: str | None = None) -> tuple[str, str] | None:
    """Decode bytes that look like text; None when they look binary.

    A BOM decides; else UTF-16 without BOM is recognised by its pattern of
    zero bytes; other zero bytes or many control bytes mean binary; then the
    declared charset (HTML), UTF-8, a mostly-UTF-8 file with a few bad bytes,
    and finally Windows-1252 (Latin-1 for the bytes it leaves undefined).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding.replace("-sig", ""), "replace"), encoding
    head = data[:_SNIFF]
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is None:
            return None
        return data.decode(utf16, "replace"), utf16
    if len(head) - len(head.translate(None, _CONTROL)) > 0.05 * len(head):
        return None
    for encoding in filter(None, (declared, "utf-8")):
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError):
            continue
    lenient = data.decode("utf-8", "replace")
    bad = lenient.count("\ufffd")
    good = sum(1 for ch in lenient if ord(ch) > 127 and ch != "\ufffd")
    if good > 4 * bad:  # a UTF-8 file with a few damaged bytes, not a Latin-1 file
        return lenient, "utf-8"
    try:
        western = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        western = data.decode("latin-1"), "latin-1"
    if text_problem(western[0][:_SNIFF * 4]) is None:
        return western
    # Accented Latin letters everywhere: a Cyrillic, Greek or CJK code page
    # (Windows-1251, Shift-JIS, GBK, EUC-KR …) read the Western way.
    return _legacy_encoding(data) or western


def _legacy_encoding(data: bytes) -> tuple[str, str] | None:
    """The text in the legacy encoding charset-normalizer finds, if it reads as language."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        return None
    best = from_bytes(data[:1 << 16]).best()
    if best is None or best.encoding in ("ascii", "utf_8"):
        return None
    try:
        text = data.decode(best.encoding, "replace")
    except LookupError:
        return None
    return (text, best.encoding) if text_problem(text[:_SNIFF * 4]) is None else None


def _utf16_without_bom(head: bytes) -> str | None:
    even, odd = head[0::2], head[1::2]
    if not odd:
        return None
    if odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _declared_charset(data: bytes) -> str | None:
    """The charset an HTML page declares in its first bytes, if any."""
    head = data[:2048].decode("ascii", "ignore").lower()
    marker = head.find("charset=")
    if marker < 0:
        return None
    value = head[marker + 8:].lstrip("\"' ")
    name = "".join(ch for ch in value[:40] if ch.isalnum() or ch in "-_").strip()
    try:
        return codecs.lookup(name).name if name else None
    except LookupError:
        return None


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "file vanished"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "not a regular file"
    return f"cannot read ({exc.strerror or exc})"


def _size(limit: int) -> str:
    if limit >= 1024 * 1024:
        value = limit / (1024 * 1024)
        return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"
    return f"{max(1, limit // 1024)} KB"
