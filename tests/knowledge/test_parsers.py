"""Each parser on real files: PDF pages, Word headings, HTML without navigation, Markdown/RST."""

from __future__ import annotations

import pytest

from assistant.errors import DocumentError
from assistant.knowledge.parsers import Skipped, decode_text, parser_for
from tests.knowledge.helpers import make_docx, make_pdf


def test_pdf_keeps_page_numbers():
    data = make_pdf(["Alpha page about volcanoes.", "Beta page about glaciers.",
                     "Gamma page about deserts."])
    doc = parser_for(".pdf")(data)
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "glaciers" in doc.sections[1].text


def test_encrypted_and_corrupt_pdfs_say_why():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="secret")
    pdf.set_encryption(owner_password="owner", user_password="user")
    with pytest.raises(DocumentError, match="encrypted"):
        parser_for(".pdf")(bytes(pdf.output()))
    with pytest.raises(DocumentError, match="not a readable PDF"):
        parser_for(".pdf")(b"%PDF-1.4\nthis is not really a pdf")


def test_docx_headings_make_the_trail():
    data = make_docx([("title", "Handbook"), ("p", "Welcome text."), ("h1", "Install"),
                      ("p", "Run the installer."), ("h2", "Linux"), ("p", "Use the package."),
                      ("h1", "Usage"), ("p", "Open the app.")])
    doc = parser_for(".docx")(data)
    trails = {s.text: s.heading for s in doc.sections}
    assert trails["Welcome text."] == "Handbook"
    assert trails["Use the package."] == "Handbook > Install > Linux"
    assert trails["Open the app."] == "Handbook > Usage"


def test_corrupt_docx_is_a_document_error():
    with pytest.raises(DocumentError, match="Word document"):
        parser_for(".docx")(b"PK\x03\x04 broken zip")


def test_html_main_text_without_navigation_scripts_or_styles():
    page = b"""<html><head><title>T</title><style>body{color:red}</style>
    <script>var tracking = 1;</script></head><body>
    <nav><a href="/">Home</a> <a href="/about">About us</a></nav>
    <header>Site banner</header>
    <main><h1>Guide</h1><p>First paragraph.</p><h2>Details</h2><p>Second &amp; last.</p></main>
    <footer>Copyright footer</footer></body></html>"""
    doc = parser_for(".html")(page)
    text = " ".join(s.text for s in doc.sections)
    for unwanted in ("Home", "About us", "tracking", "color", "banner", "Copyright"):
        assert unwanted not in text
    # The page's title heads the trail: "Details" alone would not say which page it is on.
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("T > Guide", "First paragraph."), ("T > Guide > Details", "Second & last.")
    ]


def test_markdown_headings_and_fenced_code():
    text = b"""Intro line.

# Setup
Install it.

```bash
# not a heading
make
```

## Linux
Use apt.

Other
-----
Setext section.
"""
    doc = parser_for(".md")(text)
    by_heading = {s.heading: s.text for s in doc.sections}
    assert by_heading[""] == "Intro line."
    assert "# not a heading" in by_heading["Setup"]
    assert by_heading["Setup > Linux"] == "Use apt."
    assert by_heading["Setup > Other"] == "Setext section."


def test_rst_titles_follow_adornment_order():
    text = b"Manual\n======\n\nIntro.\n\nInstall\n-------\n\nSteps.\n\nUsage\n-----\n\nRun.\n"
    doc = parser_for(".rst")(text)
    assert [(s.heading, s.text) for s in doc.sections] == [
        ("Manual", "Intro."), ("Manual > Install", "Steps."), ("Manual > Usage", "Run.")
    ]


def test_code_and_config_files_are_plain_text():
    assert parser_for(".py")(b"def f():\n    return 1\n").sections[0].text.startswith("def f")
    assert parser_for(".toml") is not None and parser_for(".exe") is None


def test_encodings_are_detected_and_binary_is_refused():
    latin = ("Le château se trouve au sommet de la colline. Depuis la fenêtre, on aperçoit la "
             "forêt et les élèves qui traversent le pré. Ça fait déjà trois étés que nous y "
             "passons nos vacances, à goûter les pâtisseries de la boulangère.")
    assert decode_text(latin.encode("cp1252")) == latin
    assert decode_text("naïve".encode()) == "naïve"
    skipped = decode_text(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    assert isinstance(skipped, Skipped) and "binary" in skipped.reason
    assert isinstance(parser_for(".txt")(b"\x00\x01binary"), Skipped)  # a value, not an error


def test_docx_heading_styles_are_found_by_name_when_the_id_is_localised():
    import io

    import docx

    document = docx.Document()
    document.styles["Heading 2"].style_id = "Ueberschrift2"  # as a German Word would write it
    document.add_heading("Kapitel", level=1)
    document.add_heading("Abschnitt", level=2)
    document.add_paragraph("Ein Punkt.", style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parser_for(".docx")(buffer.getvalue())
    assert [(s.heading, s.text) for s in doc.sections] == [("Kapitel > Abschnitt", "Ein Punkt.")]
