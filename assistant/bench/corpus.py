"""A reproducible corpus of mixed documents (md, txt, html, py, pdf, docx) for benchmarks."""

from __future__ import annotations

import io
import random
from pathlib import Path

import docx

WORDS = (
    "the a of to and in is for on with as by system user file network printer driver install "
    "update error memory disk battery screen keyboard settings account password backup restore "
    "server client request response cache database query index search result document page "
    "chapter section note meeting project budget invoice report schedule team customer order "
    "shipping delivery garden tomato soil water sunlight recipe flour sugar butter oven bake "
    "travel train ticket station hotel museum river mountain weather forecast rain wind "
    "medicine dose patient doctor symptom exercise sleep coffee morning evening history war "
    "king city market price trade ship harbour engine fuel speed brake wheel road bridge"
).split()


def sentence(rng: random.Random) -> str:
    """One plausible-looking sentence of 8 to 20 words."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 20))]
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random) -> str:
    """Three to seven sentences."""
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 7)))


def write_corpus(folder: Path, files: int = 300, seed: int = 7) -> list[Path]:
    """Write ``files`` documents of mixed types into ``folder`` and return their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["md", "txt", "html", "py", "pdf", "docx"]
    paths = []
    for i in range(files):
        kind = kinds[i % len(kinds)]
        sub = folder / f"part{i % 7}"
        sub.mkdir(exist_ok=True)
        path = sub / f"doc{i:04d}.{kind}"
        paras = [paragraph(rng) for _ in range(rng.randint(1, 4))]
        if kind == "md":
            path.write_text("".join(f"# Topic {i}.{n}\n\n{p}\n\n" for n, p in enumerate(paras)))
        elif kind == "txt":
            path.write_text("\n\n".join(paras))
        elif kind == "html":
            body = "".join(f"<h2>Part {n}</h2><p>{p}</p>" for n, p in enumerate(paras))
            path.write_text(f"<html><body><nav>Home | About</nav><main>{body}</main></body></html>")
        elif kind == "py":
            path.write_text("".join(f'def f{n}():\n    """{p}"""\n\n' for n, p in enumerate(paras)))
        elif kind == "pdf":
            path.write_bytes(simple_pdf(paras))
        else:
            document = docx.Document()
            for n, p in enumerate(paras):
                document.add_heading(f"Heading {n}", level=1)
                document.add_paragraph(p)
            buffer = io.BytesIO()
            document.save(buffer)
            path.write_bytes(buffer.getvalue())
        paths.append(path)
    return paths


def simple_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one page of Helvetica text per item (long lines wrapped)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 "
               "/BaseFont /Helvetica >>"]
    kids = []
    for text in pages:
        lines, line = [], ""
        for word in text.split():
            if len(line) + len(word) > 90:
                lines.append(line)
                line = ""
            line += word + " "
        lines.append(line)
        escaped = [ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for ln in lines]
        stream = "BT /F1 10 Tf 14 TL 50 780 Td " + " ".join(f"({ln}) '" for ln in escaped) + " ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
