"""Build an agent folder from a sales-script PDF, call recordings and product documents."""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from talktrack.brain.playbook import load_playbook
from talktrack.builder.drafts import DraftFaq, DraftObjection
from talktrack.builder.errors import BuildError
from talktrack.builder.learn import Learned, learn, merge
from talktrack.builder.naming import INTENT_FILLS
from talktrack.builder.playbook_yaml import PlaybookDraft, render_playbook_yaml
from talktrack.builder.recordings import Progress, read_wav, transcribe_all
from talktrack.builder.report import BuildReport, LearnedEntry, RecordingInfo
from talktrack.builder.script import ScriptSections, Splitter, read_script
from talktrack.builder.transcript import Transcript, script_terms
from talktrack.errors import ConfigError, TalkTrackError
from talktrack.settings import Settings
from talktrack.speech.whisper_models import base_multilingual_dir

DEFAULT_AGENT_NAME = "Alex"
DEFAULT_ROLE = "sales development rep"
# How a prospect asks for the price, for the objection drafted from the script's pricing section.
PRICE_EXAMPLES = ["how much is it", "how much does it cost", "what does it cost", "what's the price", "pricing?"]
SAMPLE_CONTEXT = """\
# A sample call context for trying the agent; every call brings its own.
prospect_name: Jordan Lee
company: Example Company
history: ""
goal: {goal}
language: {language}
timezone: America/New_York
email: jordan.lee@example.com
"""


def build_agent(
    script: Path,
    recordings: Sequence[Path],
    docs: Sequence[Path],
    out: Path,
    *,
    company: str | None = None,
    agent_name: str | None = None,
    progress: bool = False,
    cache_dir: Path | None = None,
    splitter: Splitter | None = None,
) -> BuildReport:
    """Draft playbook.yaml, context.yaml and knowledge/ in ``out``; BuildError names any unusable input."""
    started = time.perf_counter()
    say: Progress | None = (lambda line: print(line, file=sys.stderr, flush=True)) if progress else None
    script, out = Path(script), Path(out)
    paths = [Path(p) for p in recordings]
    documents = [Path(d) for d in docs]
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out}: exists and is not a folder", fix="choose a new folder name for --out")
    for doc in documents:
        if not doc.is_file():
            raise BuildError(f"{doc}: document not found", fix="check the paths given to --docs")
    for path in paths:
        read_wav(path)
    sections = read_script(script, splitter)
    name = company or sections.company
    if not name:
        raise BuildError(f"{script}: cannot tell the company name from the script", fix="pass --company NAME")
    transcripts: list[Transcript] = []
    if paths:
        if say:
            say(f"transcribing {len(paths)} recording(s) with Whisper base")
        model = _model_dir(cache_dir)
        terms = script_terms([name, *sections.lines.values(), *(f.answer for f in sections.faq)])
        transcripts = transcribe_all(paths, model, company=name, terms=terms, progress=say)
    learned = learn(transcripts)
    report = BuildReport(out=out, script=script, sections=dict(sections.found))
    draft = _draft(sections, learned, report, name, agent_name, transcripts)
    _write(out, draft, documents, report)
    report.elapsed_s = time.perf_counter() - started
    return report


def _model_dir(cache_dir: Path | None) -> Path:
    try:
        return base_multilingual_dir((cache_dir or Settings().data_dir) / "models")
    except TalkTrackError as exc:
        raise BuildError(f"the Whisper base model is needed for recordings: {exc.message}", fix=exc.fix) from None


def _draft(
    sections: ScriptSections,
    learned: Learned,
    report: BuildReport,
    company: str,
    agent_name: str | None,
    transcripts: list[Transcript],
) -> PlaybookDraft:
    lines, close, defaults = dict(sections.lines), dict(sections.close), set[str]()

    def line(key: str, fallback: str, target: dict[str, str] = lines, path: str = "") -> str:
        if key not in target:
            defaults.add(path or key)
            target[key] = fallback
        return target[key]

    objections = list(sections.objections)
    if sections.pricing and not any(o.intent == "how_much" for o in objections):
        price = DraftObjection("how_much", list(PRICE_EXAMPLES), sections.pricing[0], "script: pricing")
        objections.append(price)
    merged = merge(objections, sections.faq, learned)
    slots = {q.slot for q in sections.questions}
    for objection in merged.objections:
        fills = INTENT_FILLS.get(objection.intent)
        if fills in slots and objection.fills_slot is None:
            objection.fills_slot = fills
    pitch = line("pitch", lines.get("one_liner", f"Quick version: {company} could help, and I'd love to show you how."))
    ask = line("ask_meeting", "Would you be open to a quick 30-minute demo?", close, "close.ask_meeting")
    line("confirm", "Perfect, I'll e-mail you a calendar invite with a few times.", close, "close.confirm")
    line("goodbye", "Thanks so much, {first_name}, talk soon!", close, "close.goodbye")
    opener = line("opener", "Hi {first_name}, it's {agent_name} from {agent_company}.")
    persona = {"name": agent_name or DEFAULT_AGENT_NAME, "role": DEFAULT_ROLE, "company": company}
    if "intro" in lines:
        persona["intro"] = lines["intro"]
    if agent_name is None:
        defaults.add("persona.name")
    languages = sorted({t.language for t in transcripts} - {"en"})
    if languages:
        report.warnings.append(f"calls were in {', '.join(languages)}; the playbook is written for en (the script)")
    _fill_report(report, sections, learned, merged.objections, merged.faq, merged.paraphrases, transcripts)
    report.paraphrase_notes = merged.notes
    draft = PlaybookDraft(
        persona=persona,
        company={"name": company, "one_liner": line("one_liner", pitch, path="company.one_liner")},
        goal=_goal(ask),
        opener=opener,
        hello_line=line("hello_line", "Hello? This is {agent_name} from {agent_company}."),
        permission=line("permission", "Did I catch you at an okay time?"),
        pitch=pitch,
        questions=sections.questions,
        objections=merged.objections,
        faq=merged.faq,
        close=close,
        voicemail_message=line("voicemail", f"{opener} I'll follow up by e-mail. Thanks!", path="voicemail_message"),
        source=sections.source.rsplit("/", 1)[-1] + (f" and {len(transcripts)} call(s)" if transcripts else ""),
        defaults=defaults,
    )
    report.defaults = sorted(defaults)
    return draft


def _fill_report(
    report: BuildReport,
    sections: ScriptSections,
    learned: Learned,
    objections: list[DraftObjection],
    faq: list[DraftFaq],
    paraphrases: int,
    transcripts: list[Transcript],
) -> None:
    report.questions = [q.slot for q in sections.questions]
    report.objections = [o.intent for o in objections]
    report.faq = [f.question for f in faq]
    report.learned = [LearnedEntry("objection", o.intent, o.source) for o in objections if o.learned]
    report.learned += [LearnedEntry("faq", f.question, f.source) for f in faq if f.learned]
    report.paraphrases = paraphrases
    report.unplaced = list(sections.unplaced)
    report.skipped = list(learned.skipped)
    report.warnings += sections.warnings
    report.recordings = [
        RecordingInfo(t.source, t.method, t.language, len(t.turns()), t.rep_reason, tuple(t.notes)) for t in transcripts
    ]


def _goal(ask: str) -> str:
    minutes = re.search(r"(\d+)[- ]minute", ask)
    if "demo" in ask.lower():
        return f"book a {minutes.group(1)}-minute demo" if minutes else "book a demo"
    return "book a meeting"


def _write(out: Path, draft: PlaybookDraft, documents: list[Path], report: BuildReport) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        playbook = out / "playbook.yaml"
        playbook.write_text(render_playbook_yaml(draft), encoding="utf-8")
        language = draft.languages[0]
        (out / "context.yaml").write_text(SAMPLE_CONTEXT.format(goal=draft.goal, language=language), encoding="utf-8")
        knowledge = out / "knowledge"
        if documents:
            knowledge.mkdir(exist_ok=True)
        for doc in documents:
            target = knowledge / doc.name
            if target in report.docs:
                target = knowledge / f"{doc.stem}-{len(report.docs)}{doc.suffix}"
                report.warnings.append(f"two documents are named {doc.name}; the second was saved as {target.name}")
            shutil.copy2(doc, target)
            report.docs.append(target)
    except OSError as exc:
        problem = f"{out}: cannot write the agent folder ({exc})"
        raise BuildError(problem, fix="choose a writable --out folder") from None
    try:
        load_playbook(playbook)
    except ConfigError as exc:
        raise BuildError(
            f"{playbook}: the drafted playbook does not validate: {exc.message}",
            fix=f"{exc.fix or 'edit the script'}; then build again, or edit playbook.yaml by hand",
        ) from None


__all__ = ["BuildError", "BuildReport", "build_agent"]
