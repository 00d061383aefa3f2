"""Who said what, when: a call transcript with the rep and the prospect told apart."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

REP = "rep"
PROSPECT = "prospect"
_LINE = re.compile(r"^\s*(rep|agent|prospect|customer)\s*:\s*(.+)$", re.I)
# A term from the script is matched this closely ("Backbean" -> "Backbeam", "sales for" -> "Salesforce").
TERM_CUTOFF = 0.84
MIN_TERM_CHARS = 5
_ROLES = {"rep": REP, "agent": REP, "prospect": PROSPECT, "customer": PROSPECT}


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech by one speaker."""

    speaker: str
    start_s: float
    end_s: float
    text: str


@dataclass
class Transcript:
    """A call's utterances in time order, with how the speakers were told apart."""

    source: Path
    utterances: list[Utterance]
    method: str = "text"  # "stereo", "mono" or "text"
    language: str = "en"
    rep_reason: str = ""
    notes: list[str] = field(default_factory=list)

    def turns(self) -> list[Utterance]:
        """Consecutive utterances by the same speaker joined into turns."""
        turns: list[Utterance] = []
        for u in self.utterances:
            if not u.text.strip():
                continue
            if turns and turns[-1].speaker == u.speaker:
                last = turns[-1]
                turns[-1] = Utterance(u.speaker, last.start_s, u.end_s, f"{last.text} {u.text.strip()}")
            else:
                turns.append(Utterance(u.speaker, u.start_s, u.end_s, u.text.strip()))
        return turns

    def as_text(self) -> str:
        """The transcript as "rep: ..." / "prospect: ..." lines."""
        return "\n".join(f"{t.speaker}: {t.text}" for t in self.turns())

    @classmethod
    def from_text(cls, text: str, source: Path) -> Transcript:
        """Parse "rep: ..." / "prospect: ..." lines (agent/customer also accepted); other lines are ignored."""
        utterances = []
        for i, line in enumerate(text.splitlines()):
            match = _LINE.match(line)
            if match:
                utterances.append(Utterance(_ROLES[match.group(1).lower()], float(i), float(i) + 1.0, match.group(2)))
        return cls(source, utterances, method="text", rep_reason="labelled in the text")


def stamp(seconds: float) -> str:
    """A time in a call as m:ss."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def script_terms(lines: Iterable[str]) -> set[str]:
    """Names worth spelling right: CamelCase words and capitalised words inside sentences."""
    terms: set[str] = set()
    for line in lines:
        for match in re.finditer(r"(?<![.!?]\s)(?<!^)\b([A-Z][A-Za-z0-9]+)\b|\b([A-Za-z]+[A-Z][A-Za-z0-9]*)\b", line):
            word = match.group(1) or match.group(2)
            if len(word) >= MIN_TERM_CHARS:
                terms.add(word)
    return terms


def fix_vocabulary(text: str, terms: Iterable[str]) -> tuple[str, int]:
    """Respell words, or a word split in two, that sound like a script term; returns the text and the count."""
    lookup = {_squash(t): t for t in terms if len(t) >= MIN_TERM_CHARS}
    tokens = text.split()
    out: list[str] = []
    fixed = i = 0
    while i < len(tokens):
        for span in (2, 1):
            parts = tokens[i : i + span]
            if len(parts) < span or (span == 2 and not re.search(r"\w$", parts[0])):
                continue
            core = _squash("".join(parts))
            long_enough = len(core) >= MIN_TERM_CHARS
            match = difflib.get_close_matches(core, lookup, n=1, cutoff=TERM_CUTOFF) if long_enough else []
            # Misheard names keep their first sound; "we backup" is no "OwnBackup".
            if not match or match[0][0] != core[0]:
                continue
            lead = re.match(r"^\W*", parts[0])
            trail = re.search(r"\W*$", parts[-1])
            out.append(f"{lead.group(0) if lead else ''}{lookup[match[0]]}{trail.group(0) if trail else ''}")
            fixed += int(core != match[0] or span == 2 or parts[0].strip(".,!?;:") != lookup[match[0]])
            i += span
            break
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out), fixed


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
