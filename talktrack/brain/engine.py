"""The playbook brain: a small phase machine that only ever says playbook lines.

Phases: ``listening`` (line open, opener not yet said) -> ``opening`` (opener and
permission asked) -> ``pitch`` (pitch and first question asked) -> ``qualifying``
(one slot filled per answer, in playbook order) -> ``closing`` (meeting asked) ->
``ended``. Questions, objections and asides can come at any phase; after one is
handled the agent returns to where it was by re-asking the pending question.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import cast

from talktrack.brain.base import (
    OUTCOME_CALL_BACK_LATER,
    OUTCOME_MEETING_REQUESTED,
    OUTCOME_NO_RESPONSE,
    OUTCOME_NOT_INTERESTED,
    OUTCOME_PROSPECT_ENDED,
    Action,
    HistoryTurn,
    Reply,
)
from talktrack.brain.context import CallContext
from talktrack.brain.intents import IntentMatch, IntentMatcher, normalize
from talktrack.brain.playbook import RESERVED_INTENTS, Objection, Playbook, Question
from talktrack.errors import ConfigError

PHASES = ("listening", "opening", "pitch", "qualifying", "closing", "ended")
MAX_REPROMPTS = 2
# Objections that also answer a plain "no" to "did I catch you at an okay time?".
BAD_TIME_OBJECTIONS = ("busy", "call_later")
_ANSWERS = frozenset({"yes", "no", "maybe", "backchannel", "statement"})
_PRESENCE = frozenset({"yes", "backchannel", "greeting"})


@dataclass(frozen=True)
class _Step:
    """What one handler decided: the lines to say and where the call goes next."""

    lines: tuple[str, ...]
    phase: str
    action: Action = "continue"
    outcome: str | None = None
    notes: Mapping[str, object] = field(default_factory=dict)
    remember: bool = True  # whether "sorry, what?" should repeat these lines
    ack: str | None = None  # spoken first; never repeated

    @property
    def spoken(self) -> tuple[str, ...]:
        return self.lines if self.ack is None else (self.ack, *self.lines)


@dataclass(frozen=True)
class _Turn:
    text: str
    match: IntentMatch
    phase: str


# Scalar fields that make up the conversation state (see checkpoint/rollback).
_Checkpoint = tuple[dict[str, object], list[HistoryTurn], list[str], dict[str, str]]
_STATE = ("phase", "outcome", "_ack", "_last_lines", "_retried", "_awaiting_presence", "_wants_meeting")


class PlaybookBrain:
    """A rule-based brain that follows one playbook for one call."""

    def __init__(self, playbook: Playbook, context: CallContext, *, matcher: IntentMatcher | None = None) -> None:
        if context.language not in playbook.languages:
            raise ConfigError(
                f"call context: language: '{context.language}' is not one of the "
                f"playbook's languages ({', '.join(playbook.languages)})",
                fix="add the language to the playbook's 'languages:' or change the context",
            )
        self.playbook = playbook
        self.context = context
        self.matcher = matcher or IntentMatcher(playbook, names=[context.first_name])
        self.history: list[HistoryTurn] = []
        self.phase = "listening"
        self.outcome: str | None = None
        self.follow_up_questions: list[str] = []
        self._slots: dict[str, str] = {}
        self._ack = 0
        self._last_lines: tuple[str, ...] = ()
        self._retried = False
        self._awaiting_presence = False
        self._wants_meeting = False

    def checkpoint(self) -> object:
        """The conversation state, to restore if the prospect's turn turns out to continue."""
        scalars = {name: getattr(self, name) for name in _STATE}
        return scalars, list(self.history), list(self.follow_up_questions), dict(self._slots)

    def rollback(self, state: object) -> None:
        """Return to a state taken by :meth:`checkpoint`."""
        scalars, history, follow_ups, slots = cast(_Checkpoint, state)
        for name, value in scalars.items():
            setattr(self, name, value)
        self.history, self.follow_up_questions, self._slots = list(history), list(follow_ups), dict(slots)

    @property
    def slots(self) -> Mapping[str, str]:
        """Qualification answers so far, by slot name."""
        return MappingProxyType(self._slots)

    def fixed_lines(self) -> list[str]:
        """The playbook's call-independent lines, for pre-synthesis."""
        return self.playbook.fixed_lines()

    def opener(self) -> Reply:
        """The personalised opener followed by the permission question."""
        before = self.phase
        if self.phase == "listening":
            self.phase = "opening"
        return self._finish(self._opener_step(), "opener", 1.0, "", before)

    def hello(self) -> Reply:
        """The listen-first line for a prospect who picked up and said nothing."""
        step = _Step((self._say(self.playbook.hello_line),), self.phase, remember=False)
        return self._finish(step, "hello", 1.0, "", self.phase)

    async def respond(self, text: str) -> Reply:
        """One prospect turn in, one agent reply out."""
        return self.decide(text)

    def decide(self, text: str) -> Reply:
        """The synchronous core of ``respond``."""
        if text.strip():
            self.history.append(HistoryTurn("prospect", text.strip()))
        match = self.matcher.match(text)
        turn = _Turn(text.strip(), match, self.phase)
        presence, self._awaiting_presence = self._awaiting_presence, False
        if self.phase == "ended":
            step = _Step((), "ended", "end_call", self.outcome)
        elif self.phase == "listening":
            # Whatever they said first ("Hello?", "Dana speaking"), the opener answers it.
            step = self._opener_step()
        elif presence and match.intent in _PRESENCE:
            step = _Step(self._resume_lines(), self.phase, notes={"presence": True})
        else:
            step = _HANDLERS[self._kind(match.intent)](self, turn)
        return self._finish(step, match.intent, match.score, match.example, turn.phase)

    def on_silence(self, count: int) -> Reply:
        """Reprompt after the first silences, then say goodbye with outcome no_response."""
        before = self.phase
        if self.phase == "ended":
            step = _Step((), "ended", "end_call", self.outcome)
        elif count <= MAX_REPROMPTS:
            self._awaiting_presence = True
            reprompts = self.playbook.reprompts
            line = self._say(reprompts[(count - 1) % len(reprompts)])
            step = _Step((line,), self.phase, remember=False)
        else:
            step = self._end(self.playbook.silence_goodbye, OUTCOME_NO_RESPONSE)
        return self._finish(step, "silence", 1.0, "", before, {"silence_count": count})

    def on_interrupted(self, heard: str) -> None:
        """Keep only what the prospect heard of the last agent turn before barging in."""
        for i in range(len(self.history) - 1, -1, -1):
            if self.history[i].role == "agent":
                if heard.strip():
                    self.history[i] = HistoryTurn("agent", heard.strip())
                else:
                    del self.history[i]
                return

    # Handlers: one per intent kind, each returns a _Step.

    def _on_answer(self, turn: _Turn) -> _Step:
        return _ANSWER_BY_PHASE[self.phase](self, turn)

    def _on_greeting(self, turn: _Turn) -> _Step:
        if self.phase == "opening":
            return _Step(self._last_lines or self._opener_step().lines, self.phase)
        return _Step(self._resume_lines(), self.phase)

    def _on_who(self, turn: _Turn) -> _Step:
        return self._aside(self.playbook.intro_line)

    def _on_ai(self, turn: _Turn) -> _Step:
        return self._aside(self.playbook.disclosure_line)

    def _on_what(self, turn: _Turn) -> _Step:
        if self.phase == "opening":
            return self._start_pitch()
        return self._aside(self.playbook.company.one_liner)

    def _on_repeat(self, turn: _Turn) -> _Step:
        lines = self._last_lines or self._resume_lines()
        return _Step(lines, self.phase, notes={"repeated": True}, remember=False)

    def _on_goodbye(self, turn: _Turn) -> _Step:
        return self._end(self.playbook.close.goodbye, OUTCOME_PROSPECT_ENDED)

    def _on_hold(self, turn: _Turn) -> _Step:
        return _Step((), self.phase, notes={"waiting": True})

    def _on_book(self, turn: _Turn) -> _Step:
        self._wants_meeting = True
        if self._pending() is None or self.phase == "closing":
            return self._meeting_confirmed()
        return self._next_question(ack=True)

    def _on_faq(self, turn: _Turn) -> _Step:
        index = int(turn.match.intent.split(":", 1)[1])
        faq = self.playbook.faq[index]
        return self._aside(faq.answer, {"faq": faq.question})

    def _on_objection(self, turn: _Turn) -> _Step:
        objection = self._objection(turn.match.intent)
        if objection is None:  # the matcher only yields playbook objections
            return self._aside(self.playbook.fallbacks.didnt_catch)
        return self._objection_step(objection, turn)

    def _on_unknown_question(self, turn: _Turn) -> _Step:
        # Never guess a product fact: promise a follow-up and note the question.
        self.follow_up_questions.append(turn.text)
        return self._aside(self.playbook.fallbacks.unknown_question, {"follow_up": turn.text})

    def _on_off_topic(self, turn: _Turn) -> _Step:
        return self._aside(self.playbook.fallbacks.off_topic)

    def _on_unclear(self, turn: _Turn) -> _Step:
        line = self._say(self.playbook.fallbacks.didnt_catch)
        return _Step((line,), self.phase, remember=False)

    # Answers, by phase.

    def _answer_permission(self, turn: _Turn) -> _Step:
        if turn.match.intent != "no":
            return self._start_pitch()
        for name in BAD_TIME_OBJECTIONS:
            objection = self._objection(name)
            if objection is not None:
                return self._objection_step(objection, turn)
        close = self.playbook.close
        return self._end(close.decline or close.goodbye, OUTCOME_CALL_BACK_LATER)

    def _answer_question(self, turn: _Turn) -> _Step:
        pending = self._pending()
        if pending is None:
            return self._ask_meeting(ack=True)
        # "Okay." or "Mm-hmm." is not an answer; anything longer is.
        if turn.match.intent == "backchannel" and len(normalize(turn.text).split()) <= 2:
            return _Step(self._resume_lines(), self.phase)
        self._slots[pending.slot] = turn.text
        notes = {"slot": pending.slot, "value": turn.text}
        if self._wants_meeting and self._pending() is None:
            return self._meeting_confirmed(notes)
        return self._next_question(ack=True, notes=notes)

    def _answer_meeting(self, turn: _Turn) -> _Step:
        intent = turn.match.intent
        close = self.playbook.close
        if intent in ("yes", "backchannel"):
            return self._meeting_confirmed()
        if intent == "statement":
            return _Step(self._resume_lines(), self.phase)
        if close.soft_retry is not None and not self._retried:
            self._retried = True
            return _Step((self._say(close.soft_retry),), "closing", notes={"soft_retry": True})
        return self._end(close.decline or close.goodbye, OUTCOME_NOT_INTERESTED)

    # Building blocks.

    def _opener_step(self) -> _Step:
        lines = (self._say(self.playbook.opener), self._say(self.playbook.permission))
        return _Step(lines, "opening")

    def _start_pitch(self) -> _Step:
        step = self._next_question(ack=False)
        return replace(step, lines=(self._say(self.playbook.pitch), *step.lines))

    def _next_question(self, *, ack: bool, notes: Mapping[str, object] | None = None) -> _Step:
        pending = self._pending()
        if pending is None:
            return self._ask_meeting(ack=ack, notes=notes)
        phase = "pitch" if not self._slots else "qualifying"
        return _Step((self._say(pending.ask),), phase, notes=dict(notes or {}), ack=self._next_ack() if ack else None)

    def _ask_meeting(self, *, ack: bool, notes: Mapping[str, object] | None = None) -> _Step:
        return _Step(
            (self._say(self.playbook.close.ask_meeting),),
            "closing",
            notes=dict(notes or {}),
            ack=self._next_ack() if ack else None,
        )

    def _meeting_confirmed(self, notes: Mapping[str, object] | None = None) -> _Step:
        close = self.playbook.close
        lines = (self._say(close.confirm), self._say(close.goodbye))
        return _Step(lines, "ended", "end_call", OUTCOME_MEETING_REQUESTED, dict(notes or {}))

    def _objection_step(self, objection: Objection, turn: _Turn) -> _Step:
        response = self._say(objection.response)
        notes: dict[str, object] = {"objection": objection.intent}
        if objection.end_call:
            return _Step((response,), "ended", "end_call", objection.final_outcome, notes)
        pending = self._pending()
        slot = objection.fills_slot
        if slot is not None and slot not in self._slots:
            self._slots[slot] = turn.text
            notes |= {"slot": slot, "value": turn.text}
            if pending is not None and pending.slot == slot:
                step = self._next_question(ack=False, notes=notes)
                return replace(step, lines=(response, *step.lines))
        return _Step((response, *self._resume_lines()), self.phase, notes=notes)

    def _aside(self, line: str, notes: Mapping[str, object] | None = None) -> _Step:
        return _Step((self._say(line), *self._resume_lines()), self.phase, notes=dict(notes or {}))

    def _end(self, line: str, outcome: str) -> _Step:
        return _Step((self._say(line),), "ended", "end_call", outcome)

    def _resume_lines(self) -> tuple[str, ...]:
        """The short line that brings the call back to where it was."""
        if self.phase in ("listening", "ended"):
            return ()
        if self.phase == "opening":
            return (self._say(self.playbook.permission),)
        if self.phase == "closing":
            close = self.playbook.close
            return (self._say(close.reask or close.ask_meeting),)
        pending = self._pending()
        if pending is None:
            return (self._say(self.playbook.close.ask_meeting),)
        return (self._say(pending.reask or pending.ask),)

    def _pending(self) -> Question | None:
        for question in self.playbook.qualification:
            if question.slot in self._slots:
                continue
            if self._wants_meeting and not question.required:
                continue
            return question
        return None

    def _objection(self, intent: str) -> Objection | None:
        return next((o for o in self.playbook.objections if o.intent == intent), None)

    def _kind(self, intent: str) -> str:
        if intent.startswith("faq:"):
            return "faq"
        if intent in _ANSWERS:
            return "answer"
        return intent if intent in RESERVED_INTENTS else "objection"

    def _next_ack(self) -> str:
        acks = self.playbook.acknowledgements
        line = acks[self._ack % len(acks)]
        self._ack += 1
        return self._say(line)

    def _say(self, line: str) -> str:
        return self.playbook.render(line, self.context)

    def _finish(
        self,
        step: _Step,
        intent: str,
        score: float,
        example: str,
        phase_before: str,
        extra: Mapping[str, object] | None = None,
    ) -> Reply:
        self.phase = step.phase
        if step.outcome is not None:
            self.outcome = step.outcome
        text = " ".join(step.spoken)
        if text:
            self.history.append(HistoryTurn("agent", text))
            if step.remember:
                self._last_lines = step.lines
        decision: dict[str, object] = {
            "intent": intent,
            "score": score,
            "example": example,
            "phase_before": phase_before,
            "phase_after": step.phase,
            "lines": step.spoken,
            "ack": step.ack,
            **step.notes,
            **(extra or {}),
        }
        return Reply(text, intent, step.action, step.outcome, step.phase, MappingProxyType(decision))


_Handler = Callable[[PlaybookBrain, _Turn], _Step]

_HANDLERS: Mapping[str, _Handler] = {
    "answer": PlaybookBrain._on_answer,
    "greeting": PlaybookBrain._on_greeting,
    "who_is_this": PlaybookBrain._on_who,
    "are_you_ai": PlaybookBrain._on_ai,
    "what_is_this_about": PlaybookBrain._on_what,
    "repeat": PlaybookBrain._on_repeat,
    "goodbye": PlaybookBrain._on_goodbye,
    "hold": PlaybookBrain._on_hold,
    "book_meeting": PlaybookBrain._on_book,
    "faq": PlaybookBrain._on_faq,
    "objection": PlaybookBrain._on_objection,
    "unknown_question": PlaybookBrain._on_unknown_question,
    "off_topic": PlaybookBrain._on_off_topic,
    "unclear": PlaybookBrain._on_unclear,
}

_ANSWER_BY_PHASE: Mapping[str, _Handler] = {
    "opening": PlaybookBrain._answer_permission,
    "pitch": PlaybookBrain._answer_question,
    "qualifying": PlaybookBrain._answer_question,
    "closing": PlaybookBrain._answer_meeting,
}
