"""The YAML playbook: everything the agent may say, validated before a call starts.

Every spoken line may use placeholders. ``{agent_name}``, ``{agent_role}`` and
``{agent_company}`` are fixed per playbook, so such lines can be pre-synthesized;
``{first_name}``, ``{prospect_name}`` and ``{company}`` change per call.
"""

from __future__ import annotations

import datetime as dt
import string
import types
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from talktrack.brain.context import CallContext
from talktrack.errors import ConfigError

BUNDLED_AGENTS_DIR = Path(__file__).resolve().parent.parent / "data" / "agents"
AGENT_PLACEHOLDERS = ("agent_name", "agent_role", "agent_company")
CALL_PLACEHOLDERS = ("first_name", "prospect_name", "company")
PLACEHOLDERS = AGENT_PLACEHOLDERS + CALL_PLACEHOLDERS
# Booking lines also name the times and the address of this very turn.
BOOKING_PLACEHOLDERS = ("slot_1", "slot_2", "time", "day", "email")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Names the intent matcher gives meaning to; an objection may not reuse them.
RESERVED_INTENTS = frozenset(
    {
        "greeting",
        "yes",
        "no",
        "maybe",
        "backchannel",
        "who_is_this",
        "what_is_this_about",
        "repeat",
        "goodbye",
        "are_you_ai",
        "book_meeting",
        "hold",
        "unknown_question",
        "off_topic",
        "statement",
        "unclear",
    }
)

DEFAULT_INTRO = "This is {agent_name} from {agent_company}."
DEFAULT_DISCLOSURE = "I'm an AI assistant calling on behalf of {agent_company}."

Line = Annotated[str, Field(min_length=1)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]


class PlaybookProblem(ValueError):
    """A rule across fields was broken; carries the field path and the fix."""

    def __init__(self, path: str, message: str, fix: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.fix = fix


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Persona(_Model):
    """Who the agent is."""

    name: Line
    role: Line
    company: Line
    intro: Line | None = None
    disclosure: Line | None = None


class Company(_Model):
    """The company the agent sells for."""

    name: Line
    one_liner: Line


class Question(_Model):
    """One qualification question; its answer fills ``slot``."""

    slot: Name
    ask: Line
    reask: Line | None = None
    required: bool = True


class Objection(_Model):
    """A known push-back, how to answer it and whether the call ends there."""

    intent: Name
    examples: list[Line] = Field(min_length=1)
    response: Line
    end_call: bool = False
    outcome: Name | None = None
    fills_slot: Name | None = None
    # Drafted by the agent builder from call recordings; a person should review it.
    learned: bool = False

    @property
    def final_outcome(self) -> str | None:
        """The outcome recorded when this objection ends the call."""
        if not self.end_call:
            return None
        return self.outcome or self.intent


class Faq(_Model):
    """A product question with its only permitted answer."""

    question: Line
    examples: list[Line] = Field(default_factory=list)
    answer: Line
    # Drafted by the agent builder from call recordings; a person should review it.
    learned: bool = False


class Close(_Model):
    """Lines for asking for the meeting and leaving."""

    ask_meeting: Line
    confirm: Line
    goodbye: Line
    reask: Line | None = None
    soft_retry: Line | None = None
    decline: Line | None = None


class Fallbacks(_Model):
    """Lines for turns the playbook has no answer for."""

    didnt_catch: Line
    off_topic: Line
    unknown_question: Line


class BookingLines(_Model):
    """What the agent says while it books; ``{slot_1}``, ``{time}``, ``{email}`` are filled per turn."""

    propose: Line = "I have {slot_1}, or {slot_2}. Would either of those work?"
    which_one: Line = "Great. Which is better for you: {slot_1}, or {slot_2}?"
    none_work: Line = "No problem. What day and time would suit you best?"
    no_slots: Line = "I'm booked up {day}. How about {slot_1}, or {slot_2}?"
    ask_email: Line = "Perfect, {time}. What's the best e-mail for the invite?"
    confirm_known_email: Line = "Perfect, {time}. Should I send the invite to {email}?"
    confirm_email: Line = "Let me read that back: {email}. Is that right?"
    reask_email: Line = "Sorry, could you spell the e-mail for me?"
    booked: Line = "You're all set for {time}. The invite is on its way to {email}."
    slot_taken: Line = "Ah, that time was just taken. How about {slot_1}, or {slot_2}?"
    calendar_down: Line = "I can't get into the calendar right now, so I'll e-mail you a few times instead."
    follow_up_email_ask: Line = "Sure. What's the best e-mail to send it to?"
    follow_up_known_email: Line = "Sure. Should I send it to {email}?"
    follow_up_sent: Line = "Done, it's on its way to {email}."
    callback_confirm: Line = "Sure, I'll call you back {time}. Talk then!"
    hold: Line = "One moment, I'm checking the calendar."


class Booking(_Model):
    """When meetings may be booked on the host's calendar, and how the agent books them."""

    meeting_minutes: int = Field(30, ge=5, le=480)
    buffer_minutes: int = Field(0, ge=0, le=240)
    lead_time_minutes: int = Field(120, ge=0)
    horizon_days: int = Field(14, ge=1, le=90)
    business_hours: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")] = "09:00-17:00"
    weekdays: list[Annotated[str, Field(pattern=r"^(mon|tue|wed|thu|fri|sat|sun)$")]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], min_length=1
    )
    timezone: Line = "America/New_York"
    step_minutes: int = Field(30, ge=5, le=240)
    host_name: Line
    host_email: Line
    title: Line = "{agent_company} demo with {first_name} ({company})"
    lines: BookingLines = Field(default_factory=BookingLines)

    @model_validator(mode="after")
    def _check(self) -> Self:
        start, end = self.business_hours.split("-")
        if end <= start:
            raise PlaybookProblem(
                "booking.business_hours", f"'{self.business_hours}' ends before it starts", "write it as 09:00-17:00"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PlaybookProblem(
                "booking.timezone",
                f"unknown time zone '{self.timezone}'",
                "use an IANA name such as 'America/Chicago' or 'Europe/London'",
            ) from None
        if "@" not in self.host_email:
            problem = f"'{self.host_email}' is not an e-mail address"
            raise PlaybookProblem("booking.host_email", problem, "write name@company.com")
        return self

    @property
    def hours(self) -> tuple[dt.time, dt.time]:
        """Business hours as local times of the host's zone."""
        start, end = self.business_hours.split("-")
        return dt.time.fromisoformat(start), (dt.time.max if end == "24:00" else dt.time.fromisoformat(end))

    @property
    def weekday_numbers(self) -> frozenset[int]:
        """Allowed weekdays, Monday = 0."""
        return frozenset(WEEKDAYS.index(day) for day in self.weekdays)


class Voicemail(_Model):
    """What to do when a voicemail greeting answers: leave ``voicemail_message`` after the beep, or hang up."""

    action: Literal["leave_message", "hang_up"] = "leave_message"
    leave_after_silence_s: float = Field(default=2.5, ge=0.5, le=10.0)


class Compliance(_Model):
    """Lines some jurisdictions require at the start of a call; each is spoken right after the opener."""

    ai_disclosure: Line | None = None
    recording_notice: Line | None = None


class Playbook(_Model):
    """A validated sales playbook."""

    persona: Persona
    company: Company
    goal: Line
    opener: Line
    hello_line: Line
    permission: Line
    pitch: Line
    qualification: list[Question] = Field(default_factory=list)
    objections: list[Objection] = Field(default_factory=list)
    faq: list[Faq] = Field(default_factory=list)
    close: Close
    acknowledgements: list[Line] = Field(min_length=1)
    fallbacks: Fallbacks
    reprompts: list[Line] = Field(min_length=1)
    silence_goodbye: Line
    voicemail_message: Line
    voicemail: Voicemail = Field(default_factory=Voicemail)
    languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1)
    booking: Booking | None = None
    compliance: Compliance = Field(default_factory=Compliance)

    @model_validator(mode="after")
    def _cross_checks(self) -> Self:
        _check_unique([q.slot for q in self.qualification], "qualification", "slot")
        _check_unique([o.intent for o in self.objections], "objections", "intent")
        slots = {q.slot for q in self.qualification}
        for i, objection in enumerate(self.objections):
            if objection.intent in RESERVED_INTENTS:
                raise PlaybookProblem(
                    f"objections[{i}].intent",
                    f"'{objection.intent}' is a built-in intent",
                    f"rename it; these names are taken: {', '.join(sorted(RESERVED_INTENTS))}",
                )
            if objection.fills_slot is not None and objection.fills_slot not in slots:
                raise PlaybookProblem(
                    f"objections[{i}].fills_slot",
                    f"no qualification question has slot '{objection.fills_slot}'",
                    f"use one of: {', '.join(sorted(slots)) or '(no slots defined)'}",
                )
        for path, line in self.template_lines():
            _check_placeholders(path, line)
        if self.booking is not None:
            _check_placeholders("booking.title", self.booking.title)
            for name, line in self.booking.lines.model_dump().items():
                _check_placeholders(f"booking.lines.{name}", line, BOOKING_PLACEHOLDERS)
        return self

    @property
    def intro_line(self) -> str:
        """What the agent says when asked who is calling."""
        return self.persona.intro or DEFAULT_INTRO

    @property
    def disclosure_line(self) -> str:
        """What the agent says when asked whether it is a machine."""
        return self.persona.disclosure or DEFAULT_DISCLOSURE

    def template_lines(self) -> Iterator[tuple[str, str]]:
        """Every spoken line with its field path, in pre-synthesis priority order."""
        yield "hello_line", self.hello_line
        yield "permission", self.permission
        yield from _indexed("acknowledgements", self.acknowledgements)
        yield from _indexed("faq", [f.answer for f in self.faq], ".answer")
        yield from _indexed("objections", [o.response for o in self.objections], ".response")
        for name in ("didnt_catch", "off_topic", "unknown_question"):
            yield f"fallbacks.{name}", getattr(self.fallbacks, name)
        yield from _indexed("reprompts", self.reprompts)
        yield "silence_goodbye", self.silence_goodbye
        for name in ("ask_meeting", "confirm", "goodbye", "reask", "soft_retry", "decline"):
            value = getattr(self.close, name)
            if value is not None:
                yield f"close.{name}", value
        if self.booking is not None:
            yield "booking.lines.hold", self.booking.lines.hold
        yield "opener", self.opener
        if self.compliance.ai_disclosure is not None:
            yield "compliance.ai_disclosure", self.compliance.ai_disclosure
        if self.compliance.recording_notice is not None:
            yield "compliance.recording_notice", self.compliance.recording_notice
        yield "pitch", self.pitch
        for i, q in enumerate(self.qualification):
            yield f"qualification[{i}].ask", q.ask
            if q.reask is not None:
                yield f"qualification[{i}].reask", q.reask
        yield "persona.intro", self.intro_line
        yield "persona.disclosure", self.disclosure_line
        yield "company.one_liner", self.company.one_liner
        yield "voicemail_message", self.voicemail_message

    def fixed_lines(self) -> list[str]:
        """Every line that is the same on every call, rendered, without duplicates."""
        seen: dict[str, None] = {}
        for _, line in self.template_lines():
            if _placeholders(line) <= set(AGENT_PLACEHOLDERS):
                seen.setdefault(self.render(line), None)
        return list(seen)

    def render(self, line: str, context: CallContext | None = None, **turn: str) -> str:
        """Fill a line's placeholders; call placeholders need ``context``, booking ones ``turn`` values."""
        values = {
            "agent_name": self.persona.name,
            "agent_role": self.persona.role,
            "agent_company": self.persona.company,
        }
        if context is not None:
            values |= {
                "first_name": context.first_name,
                "prospect_name": context.prospect_name,
                "company": context.company,
            }
        return line.format_map(values | turn)


def bundled_playbook(agent: str = "backbeam") -> Path:
    """Path of a playbook shipped with talktrack."""
    return BUNDLED_AGENTS_DIR / agent / "playbook.yaml"


def load_playbook(path: Path) -> Playbook:
    """Read and validate a playbook YAML file (a directory means its playbook.yaml)."""
    if path.is_dir():
        path = path / "playbook.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: playbook file not found",
            fix=f"check the path; a sample lives at {bundled_playbook()}",
        ) from None
    try:
        _reject_duplicate_keys(yaml.compose(text, Loader=yaml.SafeLoader))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, path) from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of playbook fields at the top level",
            fix="start the file with 'persona:', 'company:', 'opener:' and so on",
        )
    return playbook_from_mapping(data, source=str(path))


def playbook_from_mapping(data: Mapping[str, Any], *, source: str = "playbook") -> Playbook:
    """Validate already-parsed playbook data; errors name ``source`` and the field."""
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        described = [_describe(err) for err in errors]
        message = "\n".join(f"{source}: {path}: {text}" for path, text, _ in described[:5])
        if len(described) > 5:
            message += f"\n(and {len(described) - 5} more problems)"
        raise ConfigError(message, fix=described[0][2]) from None


def _indexed(field: str, lines: list[str], suffix: str = "") -> Iterator[tuple[str, str]]:
    for i, line in enumerate(lines):
        yield f"{field}[{i}]{suffix}", line


def _check_unique(values: list[str], field: str, key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            raise PlaybookProblem(
                f"{field}[{i}].{key}",
                f"duplicate {key} '{value}'",
                f"give each entry of {field} its own {key}",
            )
        seen.add(value)


def _placeholders(line: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}


def _check_placeholders(path: str, line: str, extra: tuple[str, ...] = ()) -> None:
    names = PLACEHOLDERS + extra
    allowed = ", ".join("{" + p + "}" for p in names)
    try:
        parsed = list(string.Formatter().parse(line))
    except ValueError as exc:
        raise PlaybookProblem(
            path, f"broken placeholder braces ({exc})", "write {{ and }} for literal braces"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in names or spec or conversion:
            raise PlaybookProblem(path, f"unknown placeholder {{{name}}}", f"use one of {allowed}")


def _yaml_error(exc: yaml.YAMLError, path: Path) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    line_hint = f"near line {mark.line + 1}" if mark is not None else "in the file"
    return ConfigError(
        f"{path}: invalid YAML{where}: {problem}",
        fix=f"check indentation and quoting {line_hint}; quote lines that contain ': ' or '#'",
    )


def _reject_duplicate_keys(node: Any) -> None:
    """Fail on a key given twice; plain YAML loading would silently keep the last one."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
            seen.add(key)
            _reject_duplicate_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item)


# How each pydantic error type reads to someone editing the YAML by hand.
_Describe = Callable[[str, ErrorDetails], tuple[str, str]]


def _missing(path: str, err: ErrorDetails) -> tuple[str, str]:
    field, _, parent = path.rpartition(".")[::-1]
    where = f"under {parent}" if parent else "at the top level"
    return "field required", f"add '{field}:' {where}"


def _extra(path: str, err: ErrorDetails) -> tuple[str, str]:
    name = str(err["loc"][-1])
    allowed = _allowed_fields(err["loc"][:-1])
    return f"unknown field '{name}'", f"remove it or use one of: {', '.join(allowed)}"


def _wrong_type(expected: str, fix: str) -> _Describe:
    def describe(path: str, err: ErrorDetails) -> tuple[str, str]:
        return f"expected {expected}, got {_kind(err['input'])}", fix

    return describe


def _too_short(path: str, err: ErrorDetails) -> tuple[str, str]:
    if isinstance(err["input"], str):
        return "must not be empty", "write the line the agent should say"
    return "needs at least one item", "add an item on its own line starting with '- '"


def _pattern(path: str, err: ErrorDetails) -> tuple[str, str]:
    return (
        f"'{err['input']}' is not a valid name",
        "use lower_case letters, digits and underscores, e.g. not_interested",
    )


def _value_error(path: str, err: ErrorDetails) -> tuple[str, str]:
    return err["msg"], "see the message above"


_DESCRIBE: dict[str, _Describe] = {
    "missing": _missing,
    "extra_forbidden": _extra,
    "string_type": _wrong_type("text", "write the value as text, quoted if it has ':'"),
    "bool_type": _wrong_type("true or false", "write true or false"),
    "bool_parsing": _wrong_type("true or false", "write true or false"),
    "list_type": _wrong_type("a list", "write each item on its own line starting with '- '"),
    "model_type": _wrong_type("a mapping", "write 'key: value' lines indented under it"),
    "model_attributes_type": _wrong_type("a mapping", "write 'key: value' lines indented under it"),
    "string_too_short": _too_short,
    "too_short": _too_short,
    "string_pattern_mismatch": _pattern,
    "value_error": _value_error,
}


def _describe(err: ErrorDetails) -> tuple[str, str, str]:
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, PlaybookProblem):
        return problem.path, problem.message, problem.fix
    path = _path(err["loc"]) or "(top level)"
    describe = _DESCRIBE.get(err["type"])
    if describe is None:
        return path, err["msg"], "compare the field with the bundled sample playbook"
    message, fix = describe(path, err)
    return path, message, fix


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    names = {str: "text", bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__)


def _allowed_fields(loc: tuple[int | str, ...]) -> list[str]:
    model: type[BaseModel] = Playbook
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return sorted(model.model_fields)
        model = inner
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
