"""What a build found and did, as data and as a summary a person reads after `talktrack agent build`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from talktrack.builder.drafts import Unplaced

SHOW_AT_MOST = 8


@dataclass(frozen=True)
class LearnedEntry:
    """One playbook entry drafted from a recording."""

    kind: str  # "objection" or "faq"
    name: str  # the intent, or the question
    source: str  # file and time in the call


@dataclass(frozen=True)
class RecordingInfo:
    """How one recording was transcribed and whose voice was taken for the rep."""

    path: Path
    method: str
    language: str
    turns: int
    rep_reason: str
    notes: tuple[str, ...] = ()


@dataclass
class BuildReport:
    """The outcome of build_agent: where the agent is and what went into it."""

    out: Path
    script: Path
    sections: dict[str, str] = field(default_factory=dict)  # heading -> section kind
    questions: list[str] = field(default_factory=list)
    objections: list[str] = field(default_factory=list)
    faq: list[str] = field(default_factory=list)
    learned: list[LearnedEntry] = field(default_factory=list)
    paraphrases: int = 0
    paraphrase_notes: list[str] = field(default_factory=list)
    recordings: list[RecordingInfo] = field(default_factory=list)
    skipped: list[Unplaced] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    defaults: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    docs: list[Path] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def playbook(self) -> Path:
        """The written playbook file."""
        return self.out / "playbook.yaml"

    def summary(self) -> str:
        """A readable account of the build: sections, entries, learned ones, leftovers and warnings."""
        placed = [f"{heading} ({kind})" for heading, kind in self.sections.items() if kind != "other"]
        others = [heading for heading, kind in self.sections.items() if kind == "other"]
        learned_objections = [e for e in self.learned if e.kind == "objection"]
        learned_faq = [e for e in self.learned if e.kind == "faq"]
        lines = [
            f"Agent written to {self.out} in {self.elapsed_s:.1f} s (playbook validated).",
            f"Script {self.script.name}: {len(placed)} sections found: {', '.join(placed) or 'none'}.",
        ]
        if others:
            lines.append(f"  Headings that are no playbook part: {', '.join(others)}.")
        lines += [
            f"Qualification questions: {len(self.questions)} ({', '.join(self.questions) or 'none'}).",
            f"Objections: {len(self.objections)} ({', '.join(self.objections) or 'none'}), "
            f"{len(learned_objections)} learned from calls.",
            f"FAQ: {len(self.faq)}, {len(learned_faq)} learned from calls.",
        ]
        for recording in self.recordings:
            lines.append(
                f"Recording {recording.path.name}: {recording.method}, language {recording.language}, "
                f"{recording.turns} turns; {recording.rep_reason}."
            )
            lines += [f"  note: {note}" for note in recording.notes]
        if self.learned:
            lines.append(f"Learned entries ({len(self.learned)}, marked learned: true; review them):")
            lines += [f"  - {e.kind} {e.name!r} from {e.source}" for e in self.learned]
        if self.paraphrases:
            lines.append(f"Paraphrases from calls added to existing entries: {self.paraphrases}.")
            lines += [f"  - {note}" for note in self.paraphrase_notes]
        lines += _listed("Not placed (reported, not used)", self.unplaced)
        lines += _listed("Call lines not used", self.skipped)
        if self.defaults:
            lines.append(f"Defaults written (the script has none; edit them): {', '.join(self.defaults)}.")
        if self.docs:
            lines.append(f"Documents copied to knowledge/: {len(self.docs)} ({', '.join(p.name for p in self.docs)}).")
        lines += [f"Warning: {warning}" for warning in self.warnings]
        return "\n".join(lines)


def _listed(title: str, items: list[Unplaced]) -> list[str]:
    if not items:
        return []
    lines = [f"{title}: {len(items)}"]
    for item in items[:SHOW_AT_MOST]:
        text = item.text if len(item.text) <= 90 else item.text[:87] + "..."
        lines.append(f"  - [{item.section}] {text} ({item.reason})")
    if len(items) > SHOW_AT_MOST:
        lines.append(f"  ... and {len(items) - SHOW_AT_MOST} more")
    return lines
