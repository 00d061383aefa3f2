"""Builders for real documents (PDF, DOCX, Markdown, HTML, text, transcripts) written into a test's tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

# A page is a list of blocks: ("title" | "h1" | "h2" | "bold" | "body", text). Body text may hold "\n" to force
# a line break where the test wants one (a word hyphenated across lines).
Block = tuple[str, str]
PdfBuilder = Callable[..., Path]

_STYLES = {
    "title": ("B", 20.0, 12.0),
    "h1": ("B", 15.0, 10.0),
    "h2": ("B", 12.5, 8.0),
    "bold": ("B", 11.0, 7.0),
    "caps": ("", 11.0, 7.0),
    "body": ("", 11.0, 6.0),
}

WHITEPAPER: list[list[Block]] = [
    [
        ("title", "Security Whitepaper"),
        ("h1", "1 Encryption"),
        (
            "body",
            "All customer recordings are protected with strong encryp-\ntion at rest and in transit between our "
            "data centres, using keys that never leave the hardware security modules we operate ourselves.",
        ),
        (
            "body",
            "Backups are encrypted with the same keys and are kept for thirty days before they are destroyed "
            "in a way that can be audited by the customer on request.",
        ),
        ("h2", "1.1 Key management"),
        (
            "body",
            "Keys are rotated every ninety days by the key management service. Customers on the enterprise plan "
            "may bring their own keys and revoke them at any time, which makes their data unreadable within "
            "minutes.",
        ),
    ],
    [
        ("h1", "2 Data residency"),
        (
            "body",
            "Customer data stays in the region the customer chooses when the account is created. We operate "
            "regions in Frankfurt, Dublin and Virginia, and data is never copied between regions without a "
            "written request.",
        ),
    ],
    [
        ("h1", "3 Compliance"),
        (
            "body",
            "The platform is audited every year against SOC 2 Type II by an independent firm, and the latest "
            "report is available under a mutual non-disclosure agreement.",
        ),
    ],
]


def _write_pdf(
    path: Path,
    pages: Sequence[Sequence[Block]],
    *,
    header: str | None = "Acme Cloud - Security Whitepaper",
    footer: str | None = "Page {page} of {pages}",
    user_password: str | None = None,
    owner_password: str | None = None,
) -> Path:
    from fpdf import FPDF

    class Pdf(FPDF):
        def header(self) -> None:
            if header:
                self.set_font("Helvetica", "", 9)
                self.cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")
                self.ln(4)

        def footer(self) -> None:
            if footer:
                self.set_y(-15)
                self.set_font("Helvetica", "", 9)
                self.cell(0, 8, footer.format(page=self.page_no(), pages="{nb}"), align="C")

    pdf = Pdf()
    for blocks in pages:
        pdf.add_page()
        for style, text in blocks:
            weight, size, height = _STYLES[style]
            pdf.set_font("Helvetica", weight, size)
            pdf.multi_cell(0, height, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    if owner_password is not None:
        pdf.set_encryption(owner_password=owner_password, user_password=user_password or "")
    pdf.output(str(path))
    return path


@pytest.fixture
def make_pdf(tmp_path: Path) -> PdfBuilder:
    """Write a PDF from pages of styled blocks, with a running header and a page-number footer by default."""

    def build(name: str = "doc.pdf", pages: Sequence[Sequence[Block]] = WHITEPAPER, **options: str | None) -> Path:
        return _write_pdf(tmp_path / name, pages, **options)

    return build


@pytest.fixture
def whitepaper_pdf(make_pdf: PdfBuilder) -> Path:
    """Three pages: a title, numbered headings in larger bold type, a hyphenated word, header and footer."""
    return make_pdf("security-whitepaper.pdf")


@pytest.fixture
def scanned_pdf(tmp_path: Path) -> Path:
    """A PDF whose pages hold only drawings, as a scan without OCR holds only an image."""
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 170, 250, style="F")
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    return path


@pytest.fixture
def product_docx(tmp_path: Path) -> Path:
    """A Word file with a Title, Heading 1/2 styles, body paragraphs, a list and a pricing table."""
    import docx

    document = docx.Document()
    document.add_heading("Acme Product Guide", level=0)
    document.add_paragraph("Acme records and transcribes every sales call automatically.")
    document.add_heading("Pricing", level=1)
    document.add_paragraph("Every plan is billed per seat and per month.")
    table = document.add_table(rows=3, cols=2)
    for row, (plan, price) in zip(table.rows, [("Plan", "Price"), ("Starter", "$29"), ("Team", "$59")], strict=True):
        row.cells[0].text = plan
        row.cells[1].text = price
    document.add_heading("Discounts", level=2)
    document.add_paragraph("Annual billing saves two months.", style="List Bullet")
    document.add_paragraph("Non-profits get half off.", style="List Bullet")
    document.add_heading("Support", level=1)
    document.add_paragraph("Support answers by email within one business day.")
    path = tmp_path / "guide.docx"
    document.save(str(path))
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write text or bytes to a file named ``name`` in tmp_path."""

    def put(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return put
