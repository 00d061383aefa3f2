"""The bundled sample script renders to a real multi-page PDF with typographic headings."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader

from talktrack.builder.samples import SAMPLES_DIR


def test_script_pdf_has_pages_numbers_and_bold_headings(script_pdf: Path, script_md: str) -> None:
    reader = PdfReader(str(script_pdf))
    assert len(reader.pages) >= 2
    for number, page in enumerate(reader.pages, 1):
        assert f"Page {number} of {len(reader.pages)}" in page.extract_text()
    runs: list[tuple[str, float, str]] = []

    def visit(text: str, cm: object, tm: object, font: dict[str, object] | None, size: float) -> None:
        if text.strip() and font:
            runs.append((text.strip(), size, str(font.get("/BaseFont"))))

    for page in reader.pages:
        page.extract_text(visitor_text=visit)
    body = max({size for _, size, _ in runs}, key=lambda s: sum(len(t) for t, z, _ in runs if z == s))
    headings = [line[3:] for line in script_md.splitlines() if line.startswith("## ")]
    for heading in headings:
        size, font = next((z, f) for t, z, f in runs if t == heading)
        assert size > body and "Bold" in font


def test_calls_are_short_dialogues_between_rep_and_prospect() -> None:
    import yaml

    for source in sorted((SAMPLES_DIR / "calls").glob("*.yaml")):
        turns = yaml.safe_load(source.read_text(encoding="utf-8"))["turns"]
        speakers = [next(iter(turn)) for turn in turns]
        assert set(speakers) == {"rep", "prospect"}
        assert sum(len(str(next(iter(t.values()))).split()) for t in turns) < 150  # under a minute of speech
