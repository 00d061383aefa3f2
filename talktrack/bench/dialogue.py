"""`talktrack bench dialogue`: scripted sales dialogues that prove the playbook brain books meetings correctly.

Text dialogues (``talktrack/data/dialogues/*.yaml``, a list per file) drive ``PlaybookBrain.respond`` with the
sales tools: each call gets its own calendar on one local Radicale, its own clock, and a mailer to one local
SMTP server, so every booking, invite and follow-up is real and is checked where it landed::

    - name: book_first_proposal        # unique; lower-case letters, digits, - and _ (it names the calendar)
      category: book at first proposal # one of CATEGORIES (the report groups by it)
      now: "2026-11-30T10:00:00-05:00" # the call's clock, fixed so runs repeat (default DEFAULT_NOW)
      context: {timezone: America/Los_Angeles, email: ""}   # overrides of the agent's context.yaml
      calendar:                        # events on the host calendar before the call
        - {start: "2026-12-01T10:00:00-05:00", minutes: 60, summary: Board meeting}
      turns:
        - say: "Hello?"                # the prospect's words, written the way Whisper writes phone speech
          expect: "calling about"      # optional regex the agent's reply must match (case-insensitive)
        - say: "uh the first one"
          calendar_add: {start: "2026-11-30T12:00:00-05:00", minutes: 30}   # made busy just before this turn
      race: same_slot                  # optional: a race group shares one calendar; its members say their
      if_taken: [{say: "ok the other one then"}]   # last turn at once, and whoever lost the slot goes on here
      expect:                          # what must hold at the end (keys left out are not checked)
        outcome: meeting_booked        # one of OUTCOMES
        booked: true                   # or booked_local: "2026-12-01 14:00" (the prospect's wall clock; a
                                       # day alone, "2026-12-01", leaves the time to the agent)
        invite: true                   # an iCalendar REQUEST with the event's UID reached the SMTP server
        follow_up: true                # a follow-up e-mail reached it
        email: dana.whitfield@acmelogistics.com    # every e-mail of the call went to this address
        callback_local: "2026-12-01 10:00"         # the callback promised (the prospect's wall clock)
        calendar_down: true            # run against a calendar address that refuses connections

Audio dialogues are scenario files (docs/scenarios.md) in ``talktrack/data/scenarios/dialogue/`` with a
top-level ``dialogue:`` mapping of the same final expectations; they run over the simulated phone line on the
real clock, so their prospects pick offered times rather than dates.

Besides its expectations, every dialogue may only say playbook lines (any other line is an invented fact), and a
booking must leave exactly one event with the call's UID, confirmed in ``say_when``'s words for that instant.
This module reads the files and reports; :mod:`talktrack.bench.dialogue_run` runs the calls and checks them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from talktrack.bench.dialogue_run import Lab, Result
from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.brain import base
from talktrack.brain.booking import OUTCOME_BOOKED
from talktrack.errors import ConfigError

DEFAULT_NOW = "2026-11-30T10:00:00-05:00"
CATEGORIES = (
    "book at first proposal",
    "counter-proposal",
    "none of those work",
    "not interested",
    "send me an e-mail",
    "how much",
    "off-topic",
    "callback request",
    "objection then booking",
    "unclear answers",
    "other time zone",
    "DST boundary",
    "invalid e-mail corrected",
    "calendar down",
    "slot taken",
    "race",
)
OUTCOMES = frozenset(
    {OUTCOME_BOOKED, *(str(v) for k, v in vars(base).items() if k.startswith("OUTCOME_") and isinstance(v, str))}
)
TARGETS = {"success_rate": 0.95, "decision_p95_ms": 20.0, "booking_p95_ms": 150.0}
_LOCAL_TIME = r"^\d{4}-\d\d-\d\d \d\d:\d\d$"
_LOCAL_DAY_OR_TIME = r"^\d{4}-\d\d-\d\d( \d\d:\d\d)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Event(_Model):
    """An event on the host's calendar (busy time the agent must book around)."""

    start: AwareDatetime
    minutes: int = Field(60, ge=5, le=24 * 60)
    summary: str = "Busy"


class Turn(_Model):
    """One thing the prospect says, and what the agent's reply must match."""

    say: str
    expect: str | None = None
    calendar_add: Event | None = None

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a regular expression ({exc})") from None
        return value


class Expect(_Model):
    """What must be true when the call is over."""

    outcome: str | None = None
    booked: bool | None = None
    booked_local: str | None = Field(None, pattern=_LOCAL_DAY_OR_TIME)  # a day alone checks the date only
    invite: bool | None = None
    follow_up: bool | None = None
    email: str | None = None
    callback_local: str | None = Field(None, pattern=_LOCAL_TIME)
    calendar_down: bool = False

    @field_validator("outcome")
    @classmethod
    def _outcome(cls, value: str | None) -> str | None:
        if value is not None and value not in OUTCOMES:
            raise ValueError(f"unknown outcome {value!r}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.booked is False and self.booked_local is not None:
            raise ValueError("booked is false but booked_local gives a time")
        return self

    @property
    def wants_booking(self) -> bool | None:
        """Whether a meeting must (True) or must not (False) be on the calendar; None: not checked."""
        return True if self.booked_local else self.booked


class Dialogue(_Model):
    """A scripted prospect for the text bench."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    category: str
    now: AwareDatetime = datetime.fromisoformat(DEFAULT_NOW)
    context: dict[str, Any] = Field(default_factory=dict)
    calendar: list[Event] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    race: str | None = None
    if_taken: list[Turn] = Field(default_factory=list)
    expect: Expect

    @field_validator("category")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"unknown category {value!r}")
        return value

    @model_validator(mode="after")
    def _race(self) -> Self:
        if self.if_taken and self.race is None:
            raise ValueError("if_taken is only said in a race; add 'race: <group>' or remove if_taken")
        return self


@dataclass
class AudioDialogue:
    """A scenario for the simulated phone line, with the dialogue's final expectations."""

    scenario: Any  # talktrack.testing.scenario.Scenario (imported with the speech stack)
    expect: Expect
    source: Path


_FIXES = {
    "category": "use one of: " + "; ".join(CATEGORIES),
    "name": "use lower-case letters, digits, '-' and '_' (the name also names the dialogue's calendar)",
    "now": 'write an ISO 8601 time with its offset, e.g. "2026-11-30T10:00:00-05:00"',
    "start": 'write an ISO 8601 time with its offset, e.g. "2026-12-01T10:00:00-05:00"',
    "booked_local": 'write the prospect\'s wall-clock time as "YYYY-MM-DD HH:MM", or the day as "YYYY-MM-DD"',
    "callback_local": 'write the prospect\'s wall-clock time as "YYYY-MM-DD HH:MM"',
    "turns": 'give at least one turn, each as {say: "..."}',
    "outcome": "use one of: " + ", ".join(sorted(OUTCOMES)),
}


def _problem(source: str, who: str, exc: ValidationError) -> ConfigError:
    errors = exc.errors()
    # A misspelt key also leaves the real one missing: name the misspelling, it is the cause.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    where = ".".join(str(p) for p in err["loc"]) or "(the dialogue)"
    leaf = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), "")
    if err["type"] == "extra_forbidden":
        fix = f"remove '{leaf}' or correct its spelling; see the format in talktrack/bench/dialogue.py"
    elif err["type"] == "missing":
        fix = f"add '{leaf}:'; see the format in talktrack/bench/dialogue.py"
    else:
        fix = _FIXES.get(leaf) or "see the dialogue format in the docstring of talktrack/bench/dialogue.py"
    return ConfigError(f"{source}: dialogue {who}: {where}: {err['msg']}", fix=fix)


def _read_yaml(file: Path) -> Any:
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it ({exc.strerror})", fix="check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}: not valid YAML{where}", fix="check the indentation; quote text with ':'") from None


def load_dialogues(files: Iterable[Path]) -> list[Dialogue]:
    """Read and validate text dialogue files; errors name the file, the dialogue, the field and the fix."""
    out: list[Dialogue] = []
    seen: dict[str, Path] = {}
    for file in map(Path, files):
        raw = _read_yaml(file)
        if not isinstance(raw, list) or not raw:
            raise ConfigError(f"{file}: expected a list of dialogues", fix="start each dialogue with '- name: ...'")
        for i, item in enumerate(raw):
            who = f"#{i + 1}"
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                who = f"#{i + 1} '{item['name']}'"
            if not isinstance(item, dict):
                raise ConfigError(f"{file}: dialogue {who}: expected a mapping", fix="write 'name:', 'turns:' ...")
            try:
                dialogue = Dialogue.model_validate(item)
            except ValidationError as exc:
                raise _problem(str(file), who, exc) from None
            if dialogue.name in seen:
                raise ConfigError(
                    f"{file}: dialogue {who}: name: '{dialogue.name}' is also used in {seen[dialogue.name]}",
                    fix="give every dialogue its own name",
                )
            seen[dialogue.name] = file
            out.append(dialogue)
    groups = Counter(d.race for d in out if d.race is not None)
    for group, members in groups.items():
        if members < 2:
            lone = next(d for d in out if d.race == group)
            raise ConfigError(
                f"{seen[lone.name]}: dialogue '{lone.name}': race: '{group}' has no other member",
                fix="give a second dialogue the same 'race:' so the two book the same slot at once",
            )
    return out


def load_audio_dialogue(file: Path) -> AudioDialogue:
    """Read a scenario file with a ``dialogue:`` mapping of final expectations."""
    from talktrack.testing.scenario import load_scenario

    scenario = load_scenario(file)
    if scenario.dialogue is None:
        raise ConfigError(f"{file}: no 'dialogue:' mapping", fix="add 'dialogue: {outcome: ..., booked: ...}'")
    try:
        expect = Expect.model_validate(scenario.dialogue)
    except ValidationError as exc:
        raise _problem(str(file), "expectations", exc) from None
    return AudioDialogue(scenario, expect, file)


def bundled_files() -> tuple[list[Path], list[Path]]:
    """The bundled text dialogue files and audio scenario files."""
    data = Path(str(resources.files("talktrack.data")))
    return sorted((data / "dialogues").glob("*.yaml")), sorted((data / "scenarios" / "dialogue").glob("*.yaml"))


def split_files(files: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Text dialogue files (a YAML list) and audio scenario files (a mapping with steps)."""
    text: list[Path] = []
    audio: list[Path] = []
    for file in files:
        (text if isinstance(_read_yaml(Path(file)), list) else audio).append(Path(file))
    return text, audio


@dataclass
class Report:
    """All results of a run, and the double bookings found on the calendars afterwards."""

    results: list[Result]
    double_bookings: int
    seconds: float = 0.0

    def _of(self, audio: bool) -> list[Result]:
        return [r for r in self.results if r.audio == audio]

    @staticmethod
    def _rate(results: list[Result]) -> float | None:
        return round(sum(r.ok for r in results) / len(results), 3) if results else None

    def summary(self) -> dict[str, Any]:
        """The final JSON line's fields."""
        text, audio = self._of(False), self._of(True)
        decisions = [ms for r in text for ms in r.decision_ms]
        bookings = [ms for r in text for ms in r.booking_ms]
        out: dict[str, Any] = {
            "bench": "dialogue",
            "success_rate": self._rate(text),
            "invented_facts": sum(len(r.invented) for r in self.results),
            "double_bookings": self.double_bookings,
            "decision_p50_ms": pct(decisions, 50),
            "decision_p95_ms": pct(decisions, 95),
            "booking_p50_ms": pct(bookings, 50),
            "booking_p95_ms": pct(bookings, 95),
            "text_dialogues": len(text),
            "audio_dialogues": len(audio),
            "audio_success_rate": self._rate(audio),
            "failed": [f"{'audio:' if r.audio else ''}{r.name}" for r in self.results if not r.ok],
            "seconds": round(self.seconds, 1),
        }
        out["targets_met"] = self.targets_met(out)
        return out

    @staticmethod
    def targets_met(s: dict[str, Any]) -> bool:
        """Success >= 95 % (text and audio), nothing invented, no double booking, fast decisions and bookings."""
        least = TARGETS["success_rate"]
        audio = s["audio_success_rate"]
        rates_ok = s["success_rate"] is not None and s["success_rate"] >= least and (audio is None or audio >= least)
        timing = [(s["decision_p95_ms"], TARGETS["decision_p95_ms"]), (s["booking_p95_ms"], TARGETS["booking_p95_ms"])]
        fast = all(value is None or value <= limit for value, limit in timing)
        return rates_ok and fast and s["invented_facts"] == 0 and s["double_bookings"] == 0


def print_report(report: Report, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Per-category success, the overall numbers, and every failure with its transcript; returns the summary."""
    s = report.summary()
    text = [r for r in report.results if not r.audio]
    rows: list[list[object]] = []
    for category in dict.fromkeys(r.category for r in text):
        mine = [r for r in text if r.category == category]
        ok = sum(r.ok for r in mine)
        rows.append([category, len(mine), ok, f"{ok / len(mine):.0%}"])
    if rows:
        out("\ntext dialogues by category")
        out(table(["category", "dialogues", "successes", "rate"], rows))
    audio = [[r.name, "ok" if r.ok else "failed"] for r in report.results if r.audio]
    if audio:
        out("\naudio dialogues (over the simulated phone line)")
        out(table(["dialogue", "result"], audio))
    rate = s["success_rate"]
    rows = [
        ["success rate (text)", "—" if rate is None else f"{rate:.1%}", "≥ 95%"],
        ["invented facts", s["invented_facts"], "0"],
        ["double bookings", s["double_bookings"], "0"],
        ["engine decision p50 / p95 (ms)", f"{fmt_ms(s['decision_p50_ms'])} / {fmt_ms(s['decision_p95_ms'])}", "≤ 20"],
        [
            "booking round trip p50 / p95 (ms)",
            f"{fmt_ms(s['booking_p50_ms'])} / {fmt_ms(s['booking_p95_ms'])}",
            "≤ 150",
        ],
    ]
    audio_rate = s["audio_success_rate"]
    rows.append(
        ["audio dialogues", f"{s['audio_dialogues']} ({'—' if audio_rate is None else f'{audio_rate:.0%}'})", ""]
    )
    out("\nsummary")
    out(table(["metric", "value", "target"], rows))
    for r in report.results:
        for line in r.invented:
            out(f"invented fact in {r.name}: {line!r}")
    failed = [r for r in report.results if not r.ok]
    if failed:
        out(f"\n{len(failed)} failed dialogues:")
    for r in failed:
        reason = r.failures[0] if r.failures else f"said a line that is not in the playbook: {r.invented[0]!r}"
        out(f"\n- {'audio ' if r.audio else ''}{r.name} ({r.category}): {reason}")
        for more in r.failures[1:]:
            out(f"    also: {more}")
        out("\n".join(f"    {line}" for line in r.transcript))
    return s


async def run_all(
    text: Sequence[Dialogue],
    audio: Sequence[AudioDialogue] = (),
    *,
    repeat: int = 1,
    progress: Callable[[Result], None] | None = None,
) -> Report:
    """Run the dialogues against a fresh local Radicale and SMTP server; races run their groups at once."""
    started = time.monotonic()
    async with Lab() as lab:
        results: list[Result] = []
        for run in range(1, repeat + 1):
            results += await lab.run_text(text, run, progress)
        if audio:
            results += await lab.run_audio(audio, repeat, progress)
        doubles = await lab.double_bookings()
    return Report(results, doubles, time.monotonic() - started)


def _progress(result: Result) -> None:
    mark = "ok  " if result.ok else "FAIL"
    first = "" if result.ok else f"  {(result.failures or [f'invented: {result.invented[0]!r}'])[0][:110]}"
    print(f"  {mark} {'audio ' if result.audio else ''}{result.name}{first}", flush=True)


async def main(args: argparse.Namespace) -> int:
    """Entry point of `talktrack bench dialogue`."""
    given: list[Path] | None = getattr(args, "dialogues", None)
    text_files, audio_files = split_files(given) if given else bundled_files()
    text = load_dialogues(text_files)
    audio = [load_audio_dialogue(f) for f in audio_files] if getattr(args, "audio", True) else []
    repeat = max(1, int(getattr(args, "repeat", 1) or 1))
    print(f"bench dialogue: {len(text)} text dialogues x {repeat}, {len(audio)} audio dialogues", flush=True)
    report = await run_all(text, audio, repeat=repeat, progress=_progress)
    summary = print_report(report)
    line = json.dumps(summary)
    if getattr(args, "json_out", None):
        await asyncio.to_thread(Path(args.json_out).write_text, line + "\n")
    print(line)
    return 0 if summary["targets_met"] else 1
