"""The dialogue bench: the bundled dialogues load, the text set books correctly against a real Radicale and SMTP
server, a race books one slot once, and a wrong expectation or a malformed file is reported clearly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from talktrack.bench.dialogue import (
    CATEGORIES,
    bundled_files,
    load_audio_dialogue,
    load_dialogues,
    print_report,
    run_all,
)
from talktrack.bench.dialogue_run import line_patterns
from talktrack.brain.context import CallContext
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.errors import ConfigError

GOOD_TURNS = """
  turns:
    - say: "Hello?"
"""


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "dialogues.yaml"
    file.write_text(text, encoding="utf-8")
    return file


def test_the_bundled_dialogues_cover_every_category() -> None:
    text_files, audio_files = bundled_files()
    dialogues = load_dialogues(text_files)
    counts = Counter(d.category for d in dialogues)
    assert len(dialogues) >= 40
    assert {c: counts[c] for c in CATEGORIES if counts[c] < (2 if c == "race" else 3)} == {}
    audio = [load_audio_dialogue(f) for f in audio_files]
    assert len(audio) >= 10
    assert all(a.expect.outcome for a in audio)


@pytest.mark.parametrize(
    ("entry", "field", "fix"),
    [
        ("  category: cold call\n" + GOOD_TURNS + "  expect: {}\n", "category", "use one of"),
        ("  category: how much\n" + GOOD_TURNS + "  expect: {booked_local: Dec 1 2pm}\n", "expect.booked_local",
         "YYYY-MM-DD HH:MM"),
        ("  category: how much\n  turns: []\n  expect: {}\n", "turns", "at least one turn"),
        ("  category: how much\n" + GOOD_TURNS + "  expcet: {}\n", "expcet", "remove 'expcet'"),
        ("  category: how much\n  now: '2026-11-30T10:00:00'\n" + GOOD_TURNS + "  expect: {}\n", "now", "offset"),
        ("  category: how much\n  turns:\n    - {say: hi, expect: '(unclosed'}\n  expect: {}\n", "turns.0.expect",
         "dialogue format"),
        ("  category: how much\n" + GOOD_TURNS + "  expect: {outcome: meeting_boked}\n", "expect.outcome",
         "meeting_booked"),
    ],
)  # fmt: skip
def test_a_malformed_dialogue_names_the_file_the_dialogue_the_field_and_the_fix(
    tmp_path: Path, entry: str, field: str, fix: str
) -> None:
    file = _write(tmp_path, "- name: broken\n" + entry)
    with pytest.raises(ConfigError) as caught:
        load_dialogues([file])
    message = str(caught.value)
    assert str(file) in message
    assert "'broken'" in message
    assert f": {field}:" in message
    assert fix in (caught.value.fix or "")


def test_files_that_are_not_dialogue_lists_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d") as caught:
        load_dialogues([_write(tmp_path, "- name: a\n  turns: [\n")])
    assert "dialogues.yaml" in str(caught.value)
    with pytest.raises(ConfigError, match="expected a list of dialogues"):
        load_dialogues([_write(tmp_path, "name: a\n")])
    twice = "- {name: a, category: how much, turns: [{say: hi}], expect: {}}\n" * 2
    with pytest.raises(ConfigError, match="'a' is also used"):
        load_dialogues([_write(tmp_path, twice)])
    lone = "- {name: a, category: race, race: g, turns: [{say: hi}], expect: {}}\n"
    with pytest.raises(ConfigError, match="race: 'g' has no other member"):
        load_dialogues([_write(tmp_path, lone)])
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: s\nsteps:\n  - say: hi\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="no 'dialogue:' mapping"):
        load_audio_dialogue(scenario)


def test_only_playbook_lines_pass_the_invented_fact_check() -> None:
    agent = Agent.load(bundled_agent_dir())
    context = CallContext(prospect_name="Dana Whitfield", company="Acme Logistics", timezone="America/Chicago")
    patterns = line_patterns(agent.playbook, context)

    def said(line: str) -> bool:
        return any(p.fullmatch(line) for p in patterns)

    booking = agent.playbook.booking
    assert booking is not None
    assert said(agent.playbook.render(agent.playbook.opener, context))
    assert said(agent.playbook.render(booking.lines.booked, context, time="tomorrow at 2 PM", email="d at x dot com"))
    assert not said("We're ISO 27001 certified, of course.")
    assert not said(agent.playbook.render(agent.playbook.opener, context).replace("Dana", "Bob"))


@pytest.mark.integration
async def test_the_text_dialogues_book_correctly_against_real_servers() -> None:
    text_files, _ = bundled_files()
    report = await run_all(load_dialogues(text_files))
    summary = report.summary()
    failed = {r.name: (r.failures or r.invented)[0] for r in report.results if not r.ok}
    assert summary["text_dialogues"] >= 40
    assert summary["success_rate"] >= 0.95, failed
    assert summary["invented_facts"] == 0, [(r.name, r.invented) for r in report.results if r.invented]
    assert summary["double_bookings"] == 0


@pytest.mark.integration
async def test_two_calls_racing_for_one_slot_book_it_once() -> None:
    text_files, _ = bundled_files()
    racers = [d for d in load_dialogues(text_files) if d.race is not None]
    report = await run_all(racers)
    assert len(report.results) == 2
    assert [r.failures for r in report.results] == [[], []]
    taken = [r.name for r in report.results if any("just taken" in line for line in r.transcript)]
    assert len(taken) == 1
    assert report.double_bookings == 0


@pytest.mark.integration
async def test_a_wrong_expectation_fails_with_the_first_mismatch_and_the_transcript(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
- name: wrong_hour
  category: book at first proposal
  context: {email: dana@acme.example.com}
  turns:
    - {say: "Hello?"}
    - {say: "Sure."}
    - {say: "Can we set up a demo?"}
    - {say: "A spreadsheet."}
    - {say: "Forty."}
    - {say: "The first one.", expect: "next Friday"}
    - {say: "Yes."}
  expect: {outcome: meeting_booked, booked_local: "2026-11-30 12:00", email: someone@else.example.com}
- name: books_when_it_must_not
  category: book at first proposal
  context: {email: dana@acme.example.com}
  turns:
    - {say: "Hello?"}
    - {say: "Sure."}
    - {say: "Can we set up a demo?"}
    - {say: "A spreadsheet."}
    - {say: "Forty."}
    - {say: "The first one."}
    - {say: "Yes."}
  expect: {booked: false, invite: false}
""",
    )
    report = await run_all(load_dialogues([file]))
    wrong, must_not = report.results
    assert wrong.failures[0].startswith("turn 6 ('The first one.'): expected /next Friday/")
    assert any("booked: expected 2026-11-30 12:00 (America/Chicago), the calendar holds 2026-11-30 11:00" in f
               for f in wrong.failures)  # fmt: skip
    assert any("someone@else.example.com" in f and "dana@acme.example.com" in f for f in wrong.failures)
    assert "P: The first one." in wrong.transcript
    assert any("must not book" in f for f in must_not.failures)
    assert any("invites were sent, none expected" in f for f in must_not.failures)
    lines: list[str] = []
    summary = print_report(report, lines.append)
    assert summary["success_rate"] == 0.0
    assert any("2 failed dialogues" in line for line in lines)
