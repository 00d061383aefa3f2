"""Splitting a sales-script PDF into playbook parts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fpdf import FPDF

from talktrack.builder.errors import BuildError
from talktrack.builder.pdf_text import ScriptText, read_pdf_text
from talktrack.builder.script import ScriptSections, read_script, split_sections, to_template


def md_section(markdown: str, heading: str) -> list[str]:
    """The non-empty lines under one '## ' heading of the Markdown source."""
    body = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip()]


def quoted(line: str) -> list[str]:
    return re.findall(r'"([^"]+)"', line)


def plain_pdf(path: Path, lines: list[str]) -> Path:
    """A PDF with every line in the same regular font: no layout cues at all."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    for line in lines:
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="module")
def sections(script_pdf: Path) -> ScriptSections:
    return read_script(script_pdf)


def test_headings_come_from_font_size_and_weight(script_pdf: Path, script_md: str) -> None:
    text = read_pdf_text(script_pdf)
    headings = [p.text for p in text.paragraphs if p.heading]
    expected = [line[2:].strip() for line in script_md.splitlines() if line.startswith(("# ", "## "))]
    assert headings == expected
    assert text.pages >= 2
    # Running header and "Page n of m" footers are not script text.
    assert not any("Page " in p.text and " of " in p.text for p in text.paragraphs)
    assert sum("internal" in p.text for p in text.paragraphs) == 0


def test_every_section_is_recognised(sections: ScriptSections, script_md: str) -> None:
    kinds = {kind for kind in sections.found.values() if kind != "other"}
    assert kinds == {"opening", "pitch", "discovery", "objections", "faq", "pricing", "closing", "voicemail"}
    assert sections.found["Before you dial"] == "other"
    assert sections.title == script_md.splitlines()[0][2:]
    assert sections.company == "Backbeam"


def test_opening_lines_become_templates(sections: ScriptSections, script_md: str) -> None:
    opening = md_section(script_md, "Opening")
    opener = quoted(next(line for line in opening if line.startswith("**Opener")))[0]
    assert sections.lines["opener"] == opener.replace("[First name]", "{first_name}").replace(
        "[Your name]", "{agent_name}"
    ).replace("[Company]", "{company}")
    assert sections.lines["permission"] == quoted(next(x for x in opening if x.startswith("**Permission")))[0]
    assert sections.lines["hello_line"].startswith("Hello?")
    assert "{agent_name}" in sections.lines["intro"]


def test_discovery_questions_in_order_with_short_forms(sections: ScriptSections, script_md: str) -> None:
    numbered = [line for line in md_section(script_md, "Discovery questions") if line[0].isdigit()]
    asks = [quoted(line)[0].replace("[Company]", "{company}") for line in numbered]
    assert [q.ask for q in sections.questions] == asks
    assert [q.required for q in sections.questions] == ["(optional)" not in line for line in numbered]
    assert all(q.reask for q in sections.questions)
    assert [q.slot for q in sections.questions] == ["current_tool", "team_size", "timeline", "decision_maker"]


def test_objection_blocks_map_to_known_intents(sections: ScriptSections, script_md: str) -> None:
    blocks = [line for line in md_section(script_md, "Objection handling") if line.startswith('**"')]
    assert len(sections.objections) == len(blocks)
    assert {o.intent for o in sections.objections} == {
        "not_interested", "send_email", "already_have_backup", "call_later", "busy"
    }  # fmt: skip
    for objection, block in zip(sections.objections, blocks, strict=True):
        assert objection.response == quoted(block.split("Response:")[1])[0]
        assert objection.examples[0] == quoted(block)[0]
        assert len(objection.examples) > 1  # the "Also heard as" phrasings
        assert not objection.learned
    ends = {o.intent: o.end_call for o in sections.objections}
    assert ends["not_interested"] and not ends["already_have_backup"]


def test_faq_pricing_closing_and_voicemail(sections: ScriptSections, script_md: str) -> None:
    questions = [line[3:] for line in md_section(script_md, "Product questions") if line.startswith("Q:")]
    assert [f.question for f in sections.faq] == questions
    assert all(f.answer and not f.learned for f in sections.faq)
    assert sections.pricing == quoted(md_section(script_md, "Pricing")[0])
    assert set(sections.close) == {"ask_meeting", "reask", "soft_retry", "confirm", "decline", "goodbye"}
    assert sections.close["ask_meeting"].startswith("{first_name}")
    assert "voicemail" in sections.lines


def test_what_cannot_be_placed_is_reported(sections: ScriptSections, script_md: str) -> None:
    where = {u.section for u in sections.unplaced}
    assert {"Before you dial", "After the call", "Pricing"} <= where
    notes = " ".join(u.text for u in sections.unplaced)
    for line in md_section(script_md, "After the call") + md_section(script_md, "Before you dial"):
        assert line[:40] in notes


def test_headings_without_font_cues(tmp_path: Path) -> None:
    pdf = plain_pdf(
        tmp_path / "plain.pdf",
        [
            "Opening",
            'Opener: "Hi [First name], this is [Your name] from Acme Vaults."',
            'Permission: "Is now a bad time?"',
            "Objection handling",
            'Q: "We have no budget"',
            'A: "Fair enough. Thanks for your time, have a good one!"',
            "Pricing",
            'Price: "Plans start at [Price Tier] a month."',
        ],
    )
    sections = read_script(pdf)
    assert set(sections.found.values()) == {"opening", "objections", "pricing"}
    assert sections.company == "Acme Vaults"
    (objection,) = sections.objections
    assert objection.intent == "no_budget" and objection.end_call
    assert any("[Price Tier]" in w for w in sections.warnings)


def test_to_template_maps_known_fields_and_keeps_braces_out() -> None:
    line, unknown = to_template("Hi [First Name] {oops}, it's [Your name] about [Competitor].")
    assert line == "Hi {first_name} (oops), it's {agent_name} about Competitor."
    assert unknown == ["[Competitor]"]


def test_splitter_seam_takes_the_extracted_text(script_pdf: Path) -> None:
    seen: list[str] = []

    def llm_like(text: ScriptText) -> ScriptSections:
        seen.append(text.plain)
        return split_sections(text)

    sections = read_script(script_pdf, splitter=llm_like)
    assert seen and "## Objection handling" in seen[0]
    assert sections.objections


def test_missing_corrupt_and_unrecognisable_scripts(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="nowhere.pdf: script file not found"):
        read_script(tmp_path / "nowhere.pdf")
    corrupt = tmp_path / "corrupt.pdf"
    corrupt.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    with pytest.raises(BuildError, match="corrupt.pdf: not a readable PDF"):
        read_script(corrupt)
    prose = plain_pdf(tmp_path / "prose.pdf", ["Quarterly report", "Revenue grew in every region this year."])
    with pytest.raises(BuildError, match="prose.pdf: no recognisable script sections"):
        read_script(prose)
