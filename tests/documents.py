"""Real documents of every supported type, written by tests and benchmarks."""
from __future__ import annotations

import os
import random
from pathlib import Path

from tests.test_file_extract import ODT_META, make_pdf, write_odt

ODT_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content
  xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">
 <office:body><office:text>
  <text:h text:outline-level="1">{heading}</text:h>
{paragraphs}
 </office:text></office:body>
</office:document-content>"""

__all__ = ["ODT_META", "write_docx", "write_odt_text", "write_pdf", "write_one_of_each",
           "write_mixed_folder"]


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    path.write_bytes(make_pdf(pages))
    return path


def write_docx(path: Path, heading: str, paragraphs: list[str]) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(path)
    return path


def write_odt_text(path: Path, heading: str, paragraphs: list[str]) -> Path:
    body = "\n".join(f"  <text:p>{p}</text:p>" for p in paragraphs)
    return write_odt(path, ODT_TEMPLATE.format(heading=heading, paragraphs=body))


def write_one_of_each(folder: Path) -> dict[str, tuple[Path, str]]:
    """One file per supported type, each holding one unique word: type → (path, word)."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, tuple[Path, str]] = {}

    def put(kind: str, path: Path, word: str) -> None:
        made[kind] = (path, word)

    p = folder / "groceries.txt"
    p.write_text("Buy oat milk, lentils and the zorblaxian cheese Ana likes.\n", "utf-8")
    put("txt", p, "zorblaxian")
    p = folder / "notes" / "vpn.md"
    p.parent.mkdir()
    p.write_text("# VPN\n\nThe quuxmantle certificate expired; renew it with the admin "
                 "portal.\n\n## Steps\n\n1. Open the portal.\n2. Download the profile.\n", "utf-8")
    put("md", p, "quuxmantle")
    p = folder / "page.html"
    p.write_text("<html><head><title>Recipe</title><style>.x{}</style></head><body>"
                 "<h1>Soup</h1><p>Add the flimberry stock slowly.</p>"
                 "<script>var hidden = 'scriptword';</script></body></html>", "utf-8")
    put("html", p, "flimberry")
    put("pdf", write_pdf(folder / "tax-2023.pdf", [
        ["The grobnitz deduction applies to home office costs.", "Keep every receipt."]]),
        "grobnitz")
    put("docx", write_docx(folder / "trip.docx", "Lisbon",
                           ["We land on Friday; the hotel is the Wexmoor Palace."]), "wexmoor")
    put("odt", write_odt_text(folder / "sync.odt", "Weekly sync",
                              ["Decided to ship the plonkwise release on Tuesday."]), "plonkwise")
    p = folder / "budget.csv"
    p.write_text("item,cost\nflights,320\ntrindlewick hotel,410\n", "utf-8")
    put("csv", p, "trindlewick")
    p = folder / "src" / "backup.py"
    p.parent.mkdir()
    p.write_text("def snorkelbait_backup(path):\n    \"\"\"Copy the database.\"\"\"\n"
                 "    return path\n", "utf-8")
    put("code", p, "snorkelbait")
    return made


_WORDS = ("invoice budget meeting project deadline report travel hotel flight garden "
          "recipe doctor insurance contract landlord server backup release design review "
          "customer supplier payment holiday school library museum concert football "
          "weather kitchen bicycle train airport passport visa tax receipt salary").split()


def _paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(_WORDS) for _ in range(rng.randint(8, 16))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def write_mixed_folder(folder: Path, n: int, seed: int = 11) -> int:
    """``n`` documents of mixed types (txt, md, html, csv, code, pdf, docx, odt) of
    realistic small sizes, in nested folders; returns the bytes written."""
    rng = random.Random(seed)
    total = 0
    for i in range(n):
        sub = folder / f"area{i % 7}" / f"sub{i % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        kind = i % 8
        paras = [_paragraph(rng, rng.randint(2, 6)) for _ in range(rng.randint(1, 6))]
        if kind == 0:
            path = sub / f"note{i}.txt"
            path.write_text("\n\n".join(paras), "utf-8")
        elif kind == 1:
            path = sub / f"doc{i}.md"
            path.write_text(f"# Document {i}\n\n" + "\n\n## Part\n\n".join(paras), "utf-8")
        elif kind == 2:
            path = sub / f"page{i}.html"
            path.write_text("<html><body><h1>Page</h1>" + "".join(
                f"<p>{p}</p>" for p in paras) + "</body></html>", "utf-8")
        elif kind == 3:
            path = sub / f"table{i}.csv"
            path.write_text("name,amount,note\n" + "\n".join(
                f"{rng.choice(_WORDS)},{rng.randint(1, 999)},{rng.choice(_WORDS)}"
                for _ in range(rng.randint(5, 60))), "utf-8")
        elif kind == 4:
            path = sub / f"tool{i}.py"
            path.write_text("\n\n".join(
                f"def {rng.choice(_WORDS)}_{j}(x):\n    \"\"\"{p[:80]}\"\"\"\n    return x + {j}"
                for j, p in enumerate(paras)), "utf-8")
        elif kind == 5:
            # PDF text lines must be Latin-1 and short: wrap the paragraphs.
            lines = [w for p in paras for w in _wrap(p, 70)]
            path = write_pdf(sub / f"scan{i}.pdf", [lines[j:j + 40]
                                                     for j in range(0, len(lines), 40)])
        elif kind == 6:
            path = write_docx(sub / f"letter{i}.docx", f"Letter {i}", paras)
        else:
            path = write_odt_text(sub / f"minutes{i}.odt", f"Minutes {i}", paras)
        total += os.path.getsize(path)
    return total


def _wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(line)
    return lines
