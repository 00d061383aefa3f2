"""Plain text and call transcripts: decoding, paragraphs under heading-like lines, speaker turns."""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter

from talktrack.knowledge.chunking import Outline, Section, Turn, clean
from talktrack.knowledge.documents import IngestError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+\S")
_BULLET = re.compile(r"^(?:[•▪◦●‣∙·*–-]|\d{1,3}[.)])\s+")
_UNDERLINE = re.compile(r"^(=+|-+)\s*$")
# An optional timestamp ("[00:01:02]", "00:14 -"), then one to three capitalised words and a colon.
_SPEAKER = re.compile(
    r"^\s*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s*[-–]?\s*)?"
    r"([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,2})\s*:\s+(\S.*)$"
)
# How our call records name the two sides of a call.
_ROLES = {"agent": "Agent", "prospect": "Prospect", "assistant": "Agent", "user": "Prospect"}


def decode(data: bytes, name: str) -> str:
    """Text from bytes: a byte-order mark wins, then UTF-8, then a declared HTML charset, then Windows-1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        raise IngestError(name, "binary data, not text; upload it in one of the supported formats")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096])
    if declared is not None:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    # Legacy office exports are mostly Windows-1252; replacing the odd byte beats refusing the file.
    return data.decode("cp1252", errors="replace")


def _heading_like(line: str) -> bool:
    """Short, starts like a title, ends without sentence punctuation."""
    words = line.split()
    return (
        0 < len(words) <= 10
        and len(line) <= 80
        and (line[0].isupper() or line[0].isdigit())
        and not line.endswith((".", "!", "?", ",", ";", ":"))
        and not _BULLET.match(line)
    )


def _level(line: str) -> int:
    numbered = _NUMBERED.match(line)
    return numbered.group(1).count(".") + 1 if numbered else 1


def read_plain(text: str) -> tuple[Section, ...]:
    """Sections of a plain-text document; a heading-like line followed by a blank line starts a section."""
    blocks = [[line.strip() for line in block.splitlines() if line.strip()] for block in re.split(r"\n\s*\n", text)]
    blocks = [block for block in blocks if block]
    outline = Outline()
    for index, block in enumerate(blocks):
        if len(block) == 2 and _UNDERLINE.match(block[1]) and _heading_like(block[0]):
            outline.heading(1 if block[1].startswith("=") else 2, block[0])
            continue
        # The last block has nothing to head, so it is text even when it looks like a title.
        if len(block) == 1 and index + 1 < len(blocks) and _heading_like(block[0]):
            outline.heading(_level(block[0]), block[0])
            continue
        paragraph: list[str] = []
        for line in block:
            if _BULLET.match(line) and paragraph:
                outline.paragraph(" ".join(paragraph))
                paragraph.clear()
            paragraph.append(line)
        outline.paragraph(" ".join(paragraph))
    return outline.sections()


def transcript_turns(text: str) -> list[Turn] | None:
    """Turns of a "Speaker: words" transcript, or None when the text is not one.

    A transcript is text whose non-empty lines mostly start with a speaker label, from a few speakers who each
    speak more than once; lines without a label continue the turn before them.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    labelled = [m for m in map(_SPEAKER.match, lines) if m is not None]
    speakers = Counter(m.group(1) for m in labelled)
    # "Price: $20 / Seats: 10" has as many labels as lines; a conversation repeats a few.
    if len(labelled) * 2 <= len(lines) or not speakers or speakers.most_common(1)[0][1] < 2:
        return None
    if len(speakers) > max(3, len(labelled) // 2):
        return None
    turns: list[Turn] = []
    for line in lines:
        match = _SPEAKER.match(line)
        if match is not None:
            turns.append(Turn(match.group(1), match.group(2)))
        elif turns:
            turns[-1] = Turn(turns[-1].speaker, f"{turns[-1].text} {line.strip()}")
    return turns


def jsonl_turns(text: str, name: str) -> list[Turn]:
    """Turns of a call record: one JSON object per line with "role" and "text"; other events are skipped."""
    turns: list[Turn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(
                name, f'line {number} is not JSON ({exc.msg}); expected one {{"role": ..., "text": ...}} per line'
            ) from exc
        if not isinstance(record, dict):
            raise IngestError(name, f'line {number} is not an object; expected {{"role": ..., "text": ...}}')
        role, said = record.get("role"), record.get("text")
        if isinstance(role, str) and isinstance(said, str) and clean(said):
            turns.append(Turn(_ROLES.get(role.strip().lower(), role.strip().title()), said))
    if not turns:
        raise IngestError(name, 'no turns: expected lines like {"role": "agent", "text": "Hello"}')
    return turns
