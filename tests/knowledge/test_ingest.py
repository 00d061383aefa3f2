"""Ingestion of real files: PDF, DOCX, Markdown, HTML, text and transcripts, and the errors users see."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from talktrack.knowledge.documents import Document, IngestError, digest_of
from talktrack.knowledge.ingest import SUPPORTED_SUFFIXES, read_document, read_documents

Write = Callable[[str, str | bytes], Path]


def _text(document: Document) -> str:
    return " ".join(chunk.text for chunk in document.chunks)


def _chunk_with(document: Document, phrase: str) -> tuple[str, ...]:
    found = [chunk for chunk in document.chunks if phrase in chunk.text]
    assert found, f"{phrase!r} not in any chunk of {document.source}"
    return found[0].headings


# --- PDF ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("footer", ["Page {page} of {pages}", "{page}", "- {page} -"])
def test_pdf_running_header_and_page_numbers_are_gone(make_pdf: Callable[..., Path], footer: str) -> None:
    document = read_document(make_pdf(footer=footer))
    text = _text(document)
    assert "Acme Cloud" not in text
    assert "Page" not in text
    assert not any(chunk.text.split()[-1].strip("-").isdigit() for chunk in document.chunks)
    assert "The platform is audited every year against SOC 2 Type II" in text


def test_pdf_hyphenated_word_is_joined(whitepaper_pdf: Path) -> None:
    text = _text(read_document(whitepaper_pdf))
    assert "strong encryption at rest" in text
    assert "encryp-" not in text
    # A real compound keeps its hyphen.
    assert "non-disclosure" in text


def test_pdf_lines_reflow_into_paragraphs(whitepaper_pdf: Path) -> None:
    document = read_document(whitepaper_pdf)
    sentence = (
        "We operate regions in Frankfurt, Dublin and Virginia, and data is never copied between regions without "
        "a written request."
    )
    assert any(sentence in chunk.text for chunk in document.chunks)
    assert all("\n" not in chunk.text and "  " not in chunk.text for chunk in document.chunks)


def test_pdf_heading_paths_and_title_come_from_type_size(whitepaper_pdf: Path) -> None:
    document = read_document(whitepaper_pdf)
    assert document.kind == "pdf"
    assert document.title == "Security Whitepaper"
    assert _chunk_with(document, "Backups are encrypted") == ("Security Whitepaper", "1 Encryption")
    assert _chunk_with(document, "Keys are rotated") == ("Security Whitepaper", "1 Encryption", "1.1 Key management")
    assert _chunk_with(document, "Frankfurt") == ("Security Whitepaper", "2 Data residency")
    # Headings are the path, not the prose.
    assert not any("1.1 Key management" in chunk.text for chunk in document.chunks)


def test_pdf_chunks_keep_their_page(whitepaper_pdf: Path) -> None:
    document = read_document(whitepaper_pdf)
    pages = {chunk.headings[-1]: chunk.page for chunk in document.chunks}
    assert pages == {"1 Encryption": 1, "1.1 Key management": 1, "2 Data residency": 2, "3 Compliance": 3}
    assert document.meta["pages"] == "3"


def test_pdf_paragraph_running_onto_the_next_page(make_pdf: Callable[..., Path]) -> None:
    clauses = [f"Clause {n} of the agreement covers the rights of the customer in detail." for n in range(80)]
    pages = [[("h1", "Terms"), ("body", " ".join(clauses))], [("h1", "Privacy"), ("body", "We keep little.")]]
    document = read_document(make_pdf("terms.pdf", pages=pages), chunk_words=60)
    text = _text(document)
    # Every clause survives whole across the page turn, with the running header and footer gone from between.
    assert all(clause in text for clause in clauses)
    assert "Acme Cloud" not in text and "Page" not in text
    terms = [chunk for chunk in document.chunks if chunk.headings == ("Terms",)]
    assert terms[0].page == 1 and terms[-1].page == 2
    pages_of_terms = [c.page or 0 for c in terms]
    assert pages_of_terms == sorted(pages_of_terms)
    assert _chunk_with(document, "We keep little.") == ("Privacy",)


def test_pdf_headings_in_body_size_found_by_shape(make_pdf: Callable[..., Path]) -> None:
    pages = [
        [
            ("bold", "2.1 Data residency"),
            ("body", "All data is stored in the European Union and never leaves it."),
            ("caps", "PRICING"),
            ("body", "Seats cost twenty dollars per month, billed annually."),
        ]
    ]
    document = read_document(make_pdf("flat.pdf", pages=pages, header=None, footer=None))
    assert _chunk_with(document, "European Union") == ("2.1 Data residency",)
    assert _chunk_with(document, "twenty dollars") == ("PRICING",)


def test_pdf_with_only_an_owner_password_is_read(make_pdf: Callable[..., Path]) -> None:
    document = read_document(make_pdf("locked-edit.pdf", owner_password="owner-only"))
    assert "Frankfurt" in _text(document)
    assert document.meta["encrypted"] == "owner password only"


def test_pdf_with_a_user_password_is_refused(make_pdf: Callable[..., Path]) -> None:
    path = make_pdf("secret.pdf", owner_password="owner", user_password="open-sesame")
    with pytest.raises(IngestError, match="encrypted: remove the password") as error:
        read_document(path)
    assert error.value.path == "secret.pdf"


def test_truncated_pdf_is_refused(whitepaper_pdf: Path, write: Write) -> None:
    data = whitepaper_pdf.read_bytes()
    path = write("cut.pdf", data[: len(data) // 2])
    with pytest.raises(IngestError, match=r"^cut\.pdf: damaged or truncated"):
        read_document(path)


def test_scanned_pdf_is_refused(scanned_pdf: Path) -> None:
    with pytest.raises(IngestError, match="no text: scanned PDFs need OCR"):
        read_document(scanned_pdf)


def test_file_that_is_not_a_pdf_is_refused(write: Write) -> None:
    with pytest.raises(IngestError, match=r"^notes\.pdf: not a PDF file"):
        read_document(write("notes.pdf", "just some words"))


# --- DOCX, Markdown, HTML, text ---------------------------------------------------------------------------------


def test_docx_heading_styles_and_tables(product_docx: Path) -> None:
    document = read_document(product_docx)
    assert document.kind == "docx"
    assert document.title == "Acme Product Guide"
    assert _chunk_with(document, "billed per seat") == ("Acme Product Guide", "Pricing")
    assert _chunk_with(document, "Starter | $29") == ("Acme Product Guide", "Pricing")
    assert _chunk_with(document, "Non-profits") == ("Acme Product Guide", "Pricing", "Discounts")
    assert _chunk_with(document, "one business day") == ("Acme Product Guide", "Support")
    assert all(chunk.page is None for chunk in document.chunks)


def test_damaged_docx_is_refused(product_docx: Path, write: Write) -> None:
    path = write("broken.docx", product_docx.read_bytes()[:300])
    with pytest.raises(IngestError, match=r"^broken\.docx: not a valid Word \.docx file"):
        read_document(path)


MARKDOWN = """---
title: ignored front matter
---
# Acme Handbook

Acme is a **self-hosted** platform. See [the docs](https://example.com/docs) and ![diagram](d.png).

## Install

1. Download the *installer*.
2. Run `acme setup`.

```bash
acme serve --port 8080
```

| Plan | Price |
|------|-------|
| Team | $59 |

## FAQ
Setext heading
--------------

Answers live here.
"""


def test_markdown_headings_and_markup(write: Write) -> None:
    document = read_document(write("handbook.md", MARKDOWN))
    text = _text(document)
    assert document.kind == "markdown"
    assert document.title == "Acme Handbook"
    assert "Acme is a self-hosted platform. See the docs and diagram." in text
    assert _chunk_with(document, "Download the installer.") == ("Acme Handbook", "Install")
    assert _chunk_with(document, "acme serve --port 8080") == ("Acme Handbook", "Install")
    assert _chunk_with(document, "Team | $59") == ("Acme Handbook", "Install")
    # An underline of dashes is a level-2 heading, a sibling of "## FAQ".
    assert _chunk_with(document, "Answers live here.") == ("Acme Handbook", "Setext heading")
    for mark in ("**", "](", "`", "```", "#", "front matter", "|---"):
        assert mark not in text


HTML = """<!doctype html><html><head><title>Ignored</title><style>body { color: red }</style></head>
<body><nav><a href="/">Home</a> <a href="/pricing">Pricing menu</a></nav>
<h1>Acme &amp; Co</h1><p>We build <b>voice</b> agents.</p>
<h2>Plans</h2><ul><li>Starter seats</li><li>Team seats</li></ul>
<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Team</td><td><p>$59</p></td></tr></table>
<h2>Contact</h2><p>Write to sales.</p>
<script>var secret = "tracking";</script>
<footer>Copyright Acme</footer></body></html>
"""


def test_html_headings_and_dropped_chrome(write: Write) -> None:
    document = read_document(write("site.html", HTML))
    text = _text(document)
    assert document.title == "Acme & Co"
    assert "We build voice agents." in text
    assert _chunk_with(document, "Team seats") == ("Acme & Co", "Plans")
    assert _chunk_with(document, "Team | $59") == ("Acme & Co", "Plans")
    assert _chunk_with(document, "Write to sales.") == ("Acme & Co", "Contact")
    for dropped in ("tracking", "Copyright", "Pricing menu", "color", "Ignored"):
        assert dropped not in text


PLAIN = """Acme Onboarding

Welcome to Acme. This guide covers the first week
of your account, line by line.

2.1 Importing contacts

Upload a CSV file from the contacts page.
Each row becomes one contact.

Thanks for reading
"""


def test_plain_text_paragraphs_and_heading_lines(write: Write) -> None:
    document = read_document(write("onboarding.txt", PLAIN))
    assert document.kind == "text"
    assert document.title == "Acme Onboarding"
    assert _chunk_with(document, "first week of your account") == ("Acme Onboarding",)
    assert _chunk_with(document, "Each row becomes one contact.") == ("Acme Onboarding", "2.1 Importing contacts")
    # The closing line heads nothing, so it stays text.
    assert _chunk_with(document, "Thanks for reading") == ("Acme Onboarding", "2.1 Importing contacts")


# --- transcripts ------------------------------------------------------------------------------------------------


def test_jsonl_call_record_becomes_transcript_windows(write: Write) -> None:
    said = [("agent", f"Agent line number {n}.") if n % 2 else ("prospect", f"Prospect line {n}.") for n in range(9)]
    lines = "\n".join(json.dumps({"role": role, "text": text, "t": n}) for n, (role, text) in enumerate(said))
    document = read_document(write("call-42.jsonl", lines + '\n{"event": "tool_call"}\n'))
    assert document.kind == "transcript"
    assert document.title == "call-42"
    first, second = document.chunks[0].text.splitlines(), document.chunks[1].text.splitlines()
    assert first[0] == "Prospect: Prospect line 0."
    assert first[1] == "Agent: Agent line number 1."
    assert second[0] == first[-1]  # one turn of overlap keeps the exchange readable
    covered = {line for chunk in document.chunks for line in chunk.text.splitlines()}
    assert len(covered) == len(said)


def test_speaker_labelled_text_becomes_transcript(write: Write) -> None:
    text = (
        "[00:00:01] Agent: Hi, this is Sam from Acme.\n"
        "[00:00:04] Prospect: Hello. Who is this?\n"
        "Agent: Sam, from Acme. Do you have a minute\n"
        "to talk about call recording?\n"
        "Dana Smith: Sure, go ahead.\n"
        "Agent: Great.\n"
        "Dana Smith: What does it cost?\n"
    )
    document = read_document(write("call.txt", text))
    assert document.kind == "transcript"
    lines = document.chunks[0].text.splitlines()
    assert lines[0] == "Agent: Hi, this is Sam from Acme."
    assert lines[2] == "Agent: Sam, from Acme. Do you have a minute to talk about call recording?"
    assert lines[3] == "Dana Smith: Sure, go ahead."


def test_key_value_text_is_not_a_transcript(write: Write) -> None:
    text = "Price: $20 per seat\nSeats: up to 50\nTerm: annual\nRegion: Frankfurt\nSupport: email\n"
    assert read_document(write("facts.txt", text)).kind == "text"


def test_bad_jsonl_line_is_named(write: Write) -> None:
    path = write("call.jsonl", '{"role": "agent", "text": "Hi"}\nnot json\n')
    with pytest.raises(IngestError, match="line 2 is not JSON"):
        read_document(path)


# --- limits, identity, batches -----------------------------------------------------------------------------------


def test_oversized_file_is_refused_before_reading(write: Write) -> None:
    path = write("huge.txt", "word " * 60_000)
    with pytest.raises(IngestError, match=r"^huge\.txt: 0\.3 MB is over the 0\.2 MB limit; split the document"):
        read_document(path, max_bytes=200_000)


def test_default_limit_is_25_mb(write: Write) -> None:
    path = write("big.md", b"")
    with path.open("r+b") as file:
        file.truncate(25_000_001)  # sparse: the size check must refuse it without reading it
    with pytest.raises(IngestError, match="25 MB is over the 25 MB limit"):
        read_document(path)


@pytest.mark.parametrize("content", ["", "  \n\n "])
def test_empty_file_is_refused(write: Write, content: str) -> None:
    with pytest.raises(IngestError, match=r"^empty\.md: empty file"):
        read_document(write("empty.md", content))


def test_markup_without_text_is_refused(write: Write) -> None:
    with pytest.raises(IngestError, match=r"^blank\.html: no text found"):
        read_document(write("blank.html", "<html><script>x()</script></html>"))


def test_unknown_suffix_lists_supported_ones(write: Write) -> None:
    with pytest.raises(IngestError, match=r"^old\.doc: \"\.doc\" files are not supported") as error:
        read_document(write("old.doc", "text"))
    assert all(suffix in error.value.reason for suffix in SUPPORTED_SUFFIXES)
    assert "save it as .docx" in error.value.reason


def test_source_digest_and_upload_name(write: Write) -> None:
    path = write("upload-7f3a.tmp", MARKDOWN)
    document = read_document(path, source="handbook.md")
    assert document.source == "handbook.md"
    assert document.kind == "markdown"
    assert document.digest == digest_of(path.read_bytes())


def test_batch_survives_a_corrupt_file(
    whitepaper_pdf: Path, product_docx: Path, write: Write, capsys: pytest.CaptureFixture[str]
) -> None:
    corrupt = write("corrupt.pdf", whitepaper_pdf.read_bytes()[:2000])
    paths = [whitepaper_pdf, corrupt, product_docx, write("notes.md", MARKDOWN)]
    results = list(read_documents(paths, progress=True))
    assert [type(r).__name__ for r in results] == ["Document", "IngestError", "Document", "Document"]
    error = results[1]
    assert isinstance(error, IngestError) and error.path == "corrupt.pdf"
    assert [r.source for r in results if isinstance(r, Document)] == [
        "security-whitepaper.pdf",
        "guide.docx",
        "notes.md",
    ]
    assert "4/4" in capsys.readouterr().err
