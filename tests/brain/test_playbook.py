"""Loading and validating playbooks and call contexts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from talktrack.brain.context import CallContext, load_context
from talktrack.brain.playbook import (
    BUNDLED_AGENTS_DIR,
    Playbook,
    bundled_playbook,
    load_playbook,
)
from talktrack.errors import ConfigError

CONTEXT_YAML = BUNDLED_AGENTS_DIR / "backbeam" / "context.yaml"


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(bundled_playbook())


@pytest.fixture
def sample() -> dict[str, Any]:
    data = yaml.safe_load(bundled_playbook().read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return copy.deepcopy(data)


def write(tmp_path: Path, data: object, name: str = "playbook.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_playbook(path)
    return str(info.value)


# The bundled sample


def test_bundled_playbook_loads(playbook: Playbook) -> None:
    assert playbook.persona.name == "Sarah"
    assert playbook.company.name == "Backbeam"
    assert [q.slot for q in playbook.qualification] == [
        "current_tool",
        "team_size",
        "timeline",
        "decision_maker",
    ]
    intents = {o.intent for o in playbook.objections}
    assert {"not_interested", "send_email", "how_much", "call_later", "busy"} <= intents
    assert "already_have_backup" in intents
    assert len(playbook.faq) >= 6
    assert playbook.languages == ["en"]


def test_directory_path_means_its_playbook(playbook: Playbook) -> None:
    assert load_playbook(bundled_playbook().parent) == playbook


def test_fixed_lines_cover_every_constant_line(playbook: Playbook) -> None:
    lines = playbook.fixed_lines()
    assert "Hello? This is Sarah from Backbeam." in lines  # agent placeholders rendered
    assert playbook.permission in lines
    assert set(playbook.acknowledgements) <= set(lines)
    assert {f.answer for f in playbook.faq} <= set(lines)
    assert {o.response for o in playbook.objections} <= set(lines)
    assert playbook.fallbacks.unknown_question in lines
    assert set(playbook.reprompts) <= set(lines)
    assert playbook.silence_goodbye in lines
    assert playbook.close.confirm in lines
    assert len(lines) == len(set(lines))


def test_fixed_lines_leave_out_per_call_lines(playbook: Playbook) -> None:
    lines = playbook.fixed_lines()
    assert all("{" not in line and "}" not in line for line in lines)
    assert not any("Acme" in line for line in lines)
    # The opener and the meeting ask use the prospect's name, so they change per call.
    assert not any(line.startswith("Hi ") for line in lines)
    assert not any("it sounds worth a closer look" in line for line in lines)


def test_render_fills_call_placeholders(playbook: Playbook) -> None:
    context = CallContext(prospect_name="Dana Whitfield", company="Acme Logistics")
    opener = playbook.render(playbook.opener, context)
    assert opener.startswith("Hi Dana, it's Sarah from Backbeam.")
    assert "Acme Logistics" in opener


# Errors a person editing the YAML can act on


def test_missing_file(tmp_path: Path) -> None:
    message = load_error(tmp_path / "nope.yaml")
    assert "nope.yaml" in message
    assert "not found" in message


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "playbook.yaml"
    path.write_text("persona:\n  name: Sarah\n  role: [rep\ngoal: x\n", encoding="utf-8")
    message = load_error(path)
    assert str(path) in message
    assert "invalid YAML" in message
    assert "line 4" in message
    assert "fix:" in message


def test_duplicate_key_is_rejected(tmp_path: Path) -> None:
    text = bundled_playbook().read_text(encoding="utf-8") + "\ngoal: sell more\n"
    path = tmp_path / "playbook.yaml"
    path.write_text(text, encoding="utf-8")
    message = load_error(path)
    assert "duplicate key 'goal'" in message


def test_missing_field_names_the_path(tmp_path: Path, sample: dict[str, Any]) -> None:
    del sample["faq"][2]["answer"]
    message = load_error(write(tmp_path, sample))
    assert "playbook.yaml: faq[2].answer: field required" in message
    assert "add 'answer:' under faq[2]" in message


def test_missing_top_level_field(tmp_path: Path, sample: dict[str, Any]) -> None:
    del sample["opener"]
    message = load_error(write(tmp_path, sample))
    assert "playbook.yaml: opener: field required" in message
    assert "at the top level" in message


def test_unknown_field_lists_the_allowed_ones(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["objections"][1]["end_cal"] = True
    message = load_error(write(tmp_path, sample))
    assert "objections[1].end_cal: unknown field 'end_cal'" in message
    assert "end_call" in message and "response" in message


def test_unknown_top_level_field(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["closing"] = {"ask_meeting": "x"}
    message = load_error(write(tmp_path, sample))
    assert "closing: unknown field 'closing'" in message
    assert "close" in message and "fallbacks" in message


def test_unknown_placeholder(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["opener"] = "Hi {fist_name}, it's {agent_name}."
    message = load_error(write(tmp_path, sample))
    assert "playbook.yaml: opener: unknown placeholder {fist_name}" in message
    assert "{first_name}" in message  # the fix lists the valid ones


def test_placeholder_in_nested_line(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["qualification"][1]["ask"] = "How many people use it at {company_name}?"
    message = load_error(write(tmp_path, sample))
    assert "qualification[1].ask: unknown placeholder {company_name}" in message


def test_wrong_type(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["objections"][0]["end_call"] = "sometimes"
    sample["acknowledgements"] = "Got it."
    message = load_error(write(tmp_path, sample))
    assert "objections[0].end_call: expected true or false" in message
    assert "acknowledgements: expected a list" in message


def test_empty_line_value(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["fallbacks"]["off_topic"] = None
    message = load_error(write(tmp_path, sample))
    assert "fallbacks.off_topic: expected text, got nothing" in message


def test_empty_list(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["reprompts"] = []
    message = load_error(write(tmp_path, sample))
    assert "reprompts: needs at least one item" in message


def test_objection_may_not_reuse_a_builtin_intent(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["objections"][0]["intent"] = "goodbye"
    message = load_error(write(tmp_path, sample))
    assert "objections[0].intent: 'goodbye' is a built-in intent" in message


def test_fills_slot_must_exist(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["objections"][0]["fills_slot"] = "budget"
    message = load_error(write(tmp_path, sample))
    assert "objections[0].fills_slot: no qualification question has slot 'budget'" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, ["persona"]))
    assert "expected a mapping" in message


def test_end_call_objection_defaults_outcome_to_intent() -> None:
    from talktrack.brain.playbook import Objection

    objection = Objection(intent="wrong_person", examples=["wrong number"], response="Sorry!", end_call=True)
    assert objection.final_outcome == "wrong_person"
    assert Objection(intent="x", examples=["x"], response="y").final_outcome is None


# Call context


def test_bundled_context_loads() -> None:
    context = load_context(CONTEXT_YAML)
    assert context.prospect_name == "Dana Whitfield"
    assert context.first_name == "Dana"
    assert context.company == "Acme Logistics"
    assert context.timezone == "America/Chicago"
    assert "Salesforce backup guide" in context.history
    assert context.extra["title"] == "IT Director"


def test_context_defaults_and_first_name() -> None:
    context = CallContext.from_mapping({"prospect_name": "Dr. Dana Whitfield", "company": "Acme"})
    assert context.first_name == "Dana"
    assert context.goal == "book a demo"
    assert context.language == "en"
    assert context.timezone == "America/New_York"
    assert dict(context.extra) == {}


def test_context_extra_accepts_numbers() -> None:
    context = CallContext.from_mapping({"prospect_name": "Dana", "company": "Acme", "extra": {"employees": 200}})
    assert context.extra["employees"] == "200"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"company": "Acme"}, "prospect_name: field required"),
        ({"prospect_name": " ", "company": "Acme"}, "prospect_name: field required"),
        ({"prospect_name": "Dana", "company": "Acme", "name": "x"}, "unknown field 'name'"),
        ({"prospect_name": "Dana", "company": 7}, "company: field required"),
        ({"prospect_name": "Dana", "company": "Acme", "phone": 5551234}, "phone: expected text"),
        ({"prospect_name": "Dana", "company": "Acme", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"prospect_name": "Dana", "company": "Acme", "extra": ["a"]}, "extra: expected a mapping"),
    ],
)
def test_context_errors(data: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        CallContext.from_mapping(data, source="calls/dana.yaml")
    assert "calls/dana.yaml" in str(info.value)
    assert expected in str(info.value)


def test_context_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_context(tmp_path / "missing.yaml")
    bad = tmp_path / "context.yaml"
    bad.write_text("prospect_name: [Dana\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML at line"):
        load_context(bad)


# Booking rules and compliance lines


def test_bundled_playbook_books_on_the_hosts_calendar(playbook: Playbook) -> None:
    booking = playbook.booking
    assert booking is not None
    assert booking.meeting_minutes == 30 and booking.timezone == "America/New_York"
    assert booking.weekday_numbers == frozenset({0, 1, 2, 3, 4})
    assert [t.isoformat() for t in booking.hours] == ["09:00:00", "17:00:00"]
    assert "{slot_1}" in booking.lines.propose


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"business_hours": "17:00-09:00"}, "booking.business_hours: '17:00-09:00' ends before it starts"),
        ({"business_hours": "9-5"}, "booking.business_hours"),
        ({"timezone": "Mars/Olympus"}, "booking.timezone: unknown time zone 'Mars/Olympus'"),
        ({"weekdays": ["monday"]}, "booking.weekdays[0]"),
        ({"meeting_minutes": 0}, "booking.meeting_minutes"),
        ({"host_email": "alex"}, "booking.host_email: 'alex' is not an e-mail address"),
        ({"lines": {"propose": "How about {slot_3}?"}}, "booking.lines.propose: unknown placeholder {slot_3}"),
    ],
)
def test_booking_errors_name_the_field(
    tmp_path: Path, sample: dict[str, Any], change: dict[str, Any], needle: str
) -> None:
    sample["booking"] = {**sample["booking"], **change}
    assert needle in load_error(write(tmp_path, sample))


def test_booking_without_a_host_is_refused(tmp_path: Path, sample: dict[str, Any]) -> None:
    del sample["booking"]["host_email"]
    message = load_error(write(tmp_path, sample))
    assert "booking.host_email: field required" in message


def test_compliance_lines_follow_the_opener(tmp_path: Path, sample: dict[str, Any]) -> None:
    sample["compliance"] = {
        "ai_disclosure": "I'm an AI assistant calling for {agent_company}.",
        "recording_notice": "This call is recorded.",
    }
    playbook = load_playbook(write(tmp_path, sample))
    assert "I'm an AI assistant calling for Backbeam." in playbook.fixed_lines()
    from talktrack.brain.engine import PlaybookBrain

    context = load_context(CONTEXT_YAML)
    reply = PlaybookBrain(playbook, context).opener()
    assert reply.lines[1:3] == ["I'm an AI assistant calling for Backbeam.", "This call is recorded."]
    assert reply.lines[-1] == playbook.permission
