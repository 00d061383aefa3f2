"""The playbook brain: a small phase machine that only ever says playbook lines.

Phases: ``listening`` (line open, opener not yet said) -> ``opening`` (opener and
permission asked) -> ``pitch`` (pitch and first question asked) -> ``qualifying``
(one slot filled per answer, in playbook order) -> ``closing`` (meeting asked) ->
``ended``. Questions, objections and asides can come at any phase; after one is
handled the agent returns to where it was by re-asking the pending question.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Protocol, cast

from talktrack.brain.base import (
    OUTCOME_CALL_BACK_LATER,
    OUTCOME_FOLLOW_UP_EMAIL,
    OUTCOME_MEETING_REQUESTED,
    OUTCOME_NO_RESPONSE,
    OUTCOME_NOT_INTERESTED,
    OUTCOME_PROSPECT_ENDED,
    HistoryTurn,
    Reply,
)
from talktrack.brain.booking import BookingFlow
from talktrack.brain.context import CallContext
from talktrack.brain.intents import IntentMatch, IntentMatcher, normalize, opens_with_question_word
from talktrack.brain.playbook import RESERVED_INTENTS, Objection, Playbook, Question
from talktrack.brain.spoken import parse_number
from talktrack.brain.steps import Step
from talktrack.errors import ConfigError
from talktrack.knowledge.answer import AnswerResult
from talktrack.tools.registry import ToolRegistry

PHASES = ("listening", "opening", "pitch", "qualifying", "closing", "booking", "ended")
MAX_REPROMPTS = 2
# Objections that also answer a plain "no" to "did I catch you at an okay time?".
BAD_TIME_OBJECTIONS = ("busy", "call_later")
_ANSWERS = frozenset({"yes", "no", "maybe", "backchannel", "statement"})
_PRESENCE = frozenset({"yes", "backchannel", "greeting"})


@dataclass(frozen=True)
class _Turn:
    text: str
    match: IntentMatch
    phase: str
    # The knowledge base's answer, looked up off the event loop before the handler runs.
    answer: AnswerResult | None = None


class Answers(Protocol):
    """Spoken answers from the agent's documents (the knowledge base)."""

    def answer(self, question: str) -> AnswerResult: ...


# Scalar fields that make up the conversation state (see checkpoint/rollback).
_Checkpoint = tuple[dict[str, object], list[HistoryTurn], list[str], dict[str, str], object]
_STATE = ("phase", "outcome", "_ack", "_last_lines", "_retried", "_awaiting_presence", "_wants_meeting")


class PlaybookBrain:
    """A rule-based brain that follows one playbook for one call."""

    def __init__(
        self,
        playbook: Playbook,
        context: CallContext,
        *,
        matcher: IntentMatcher | None = None,
        tools: ToolRegistry | None = None,
        knowledge: Answers | None = None,
    ) -> None:
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
        self.tools = tools
        self.knowledge = knowledge
        self._flow = BookingFlow(playbook, context, tools, self._say) if tools and playbook.booking else None
        # Without a calendar the agent only asks for the meeting (outcome meeting_requested).
        calendar = getattr(tools.services, "calendar", None) if tools is not None else None
        self._can_book = self._flow is not None and calendar is not None

    def checkpoint(self) -> object:
        """The conversation state, to restore if the prospect's turn turns out to continue."""
        scalars = {name: getattr(self, name) for name in _STATE}
        flow = self._flow.checkpoint() if self._flow is not None else None
        return scalars, list(self.history), list(self.follow_up_questions), dict(self._slots), flow

    def rollback(self, state: object) -> None:
        """Return to a state taken by :meth:`checkpoint`."""
        scalars, history, follow_ups, slots, flow = cast(_Checkpoint, state)
        for name, value in scalars.items():
            setattr(self, name, value)
        if self._flow is not None:
            self._flow.rollback(flow)
        self.history, self.follow_up_questions, self._slots = list(history), list(follow_ups), dict(slots)

    @property
    def slots(self) -> Mapping[str, str]:
        """Qualification answers so far, by slot name."""
        return MappingProxyType(self._slots)

    def hold_line(self) -> str | None:
        """What to say while a tool keeps the reply waiting (the calendar is slow)."""
        booking = self.playbook.booking
        return self._say(booking.lines.hold) if booking is not None and self._flow is not None else None

    def summary(self) -> str:
        """What the call found out, for the invite and the CRM: who, the qualification answers, open questions."""
        context = self.context
        lines = [f"Call with {context.prospect_name} ({context.company}) by {self.playbook.persona.name}."]
        lines += [f"- {slot.replace('_', ' ')}: {answer}" for slot, answer in self._slots.items()]
        if self.follow_up_questions:
            lines.append("Questions to answer by e-mail:")
            lines += [f"- {question}" for question in self.follow_up_questions]
        return "\n".join(lines)

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
        step = Step((self._say(self.playbook.hello_line),), self.phase, remember=False)
        return self._finish(step, "hello", 1.0, "", self.phase)

    async def respond(self, text: str) -> Reply:
        """One prospect turn in, one agent reply out (booking turns await the calendar and mail tools)."""
        flow = self._flow
        if flow is None or self.tools is None:
            return self.decide(text)
        started, calls = time.perf_counter(), len(self.tools.calls)
        match = self.matcher.match(text)
        turn = _Turn(text.strip(), match, self.phase)
        step: Step | None = None
        if flow.active and self.phase == "booking":
            if text.strip():
                self.history.append(HistoryTurn("prospect", text.strip()))
            self._awaiting_presence = False
            step = await flow.handle(turn.text, match.intent)
            if step is None:
                step = _HANDLERS[self._route(turn)](self, turn)
        else:
            if self.knowledge is not None and self._looks_up(turn):
                turn = replace(turn, answer=await asyncio.to_thread(self.knowledge.answer, turn.text))
            step = self._step(text, match, turn)
            step = await self._with_tools(flow, step, turn)
        tools = self.tools.calls[calls:]
        tool_ms = sum(float(str(c.get("ms", 0.0))) for c in tools)
        decision_ms = (time.perf_counter() - started) * 1000.0 - tool_ms
        extra: dict[str, object] = {"decision_ms": round(decision_ms, 2)}
        if tools:
            extra["tools"] = tools
        return self._finish(step, match.intent, match.score, match.example, turn.phase, extra)

    async def _with_tools(self, flow: BookingFlow, step: Step, turn: _Turn) -> Step:
        """Hand the turn to the booking flow where the playbook's step needs the calendar or e-mail."""
        if step.book and self._can_book:
            return await flow.start(turn.text, ack=step.ack)
        objection = self._objection(str(step.notes.get("objection", "")))
        if objection is None or step.action != "end_call":
            return step
        if objection.final_outcome == OUTCOME_FOLLOW_UP_EMAIL:
            followed = await flow.follow_up(closing=step.lines[0])
            return replace(followed, notes={**step.notes, **followed.notes})
        if objection.final_outcome == OUTCOME_CALL_BACK_LATER:
            return await flow.callback(turn.text, fallback=step)
        return step

    def decide(self, text: str) -> Reply:
        """The synchronous core of ``respond`` for a brain without tools."""
        match = self.matcher.match(text)
        turn = _Turn(text.strip(), match, self.phase)
        return self._finish(self._step(text, match, turn), match.intent, match.score, match.example, turn.phase)

    def _step(self, text: str, match: IntentMatch, turn: _Turn) -> Step:
        if text.strip():
            self.history.append(HistoryTurn("prospect", text.strip()))
        presence, self._awaiting_presence = self._awaiting_presence, False
        if self.phase == "ended":
            step = Step((), "ended", "end_call", self.outcome)
        elif self.phase == "listening":
            # Whatever they said first ("Hello?", "Dana speaking"), the opener answers it.
            step = self._opener_step()
        elif presence and match.intent in _PRESENCE:
            step = Step(self._resume_lines(), self.phase, notes={"presence": True})
        else:
            step = _HANDLERS[self._route(turn)](self, turn)
        return step

    def on_silence(self, count: int) -> Reply:
        """Reprompt after the first silences, then say goodbye with outcome no_response."""
        before = self.phase
        if self.phase == "ended":
            step = Step((), "ended", "end_call", self.outcome)
        elif count <= MAX_REPROMPTS:
            self._awaiting_presence = True
            reprompts = self.playbook.reprompts
            line = self._say(reprompts[(count - 1) % len(reprompts)])
            step = Step((line,), self.phase, remember=False)
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

    # Handlers: one per intent kind, each returns a Step.

    def _on_answer(self, turn: _Turn) -> Step:
        return _ANSWER_BY_PHASE[self.phase](self, turn)

    def _on_greeting(self, turn: _Turn) -> Step:
        if self.phase == "opening":
            return Step(self._last_lines or self._opener_step().lines, self.phase)
        return Step(self._resume_lines(), self.phase)

    def _on_who(self, turn: _Turn) -> Step:
        return self._aside(self.playbook.intro_line)

    def _on_ai(self, turn: _Turn) -> Step:
        return self._aside(self.playbook.disclosure_line)

    def _on_what(self, turn: _Turn) -> Step:
        if self.phase == "opening":
            return self._start_pitch()
        return self._aside(self.playbook.company.one_liner)

    def _on_repeat(self, turn: _Turn) -> Step:
        lines = self._last_lines or self._resume_lines()
        return Step(lines, self.phase, notes={"repeated": True}, remember=False)

    def _on_goodbye(self, turn: _Turn) -> Step:
        return self._end(self.playbook.close.goodbye, OUTCOME_PROSPECT_ENDED)

    def _on_hold(self, turn: _Turn) -> Step:
        return Step((), self.phase, notes={"waiting": True})

    def _on_book(self, turn: _Turn) -> Step:
        self._wants_meeting = True
        if self._pending() is None or self.phase == "closing":
            return self._meeting_confirmed()
        return self._next_question(ack=True)

    def _on_faq(self, turn: _Turn) -> Step:
        index = int(turn.match.intent.split(":", 1)[1])
        faq = self.playbook.faq[index]
        return self._aside(faq.answer, {"faq": faq.question})

    def _on_objection(self, turn: _Turn) -> Step:
        objection = self._objection(turn.match.intent)
        if objection is None:  # the matcher only yields playbook objections
            return self._aside(self.playbook.fallbacks.didnt_catch)
        return self._objection_step(objection, turn)

    def _on_unknown_question(self, turn: _Turn) -> Step:
        result = self._documents(turn)
        record = {"knowledge": result.record()} if result is not None else {}
        if result is not None and result.answer is not None:
            return self._aside(result.answer.text, record)
        # Never guess a product fact: promise a follow-up and note the question.
        self.follow_up_questions.append(turn.text)
        return self._aside(self.playbook.fallbacks.unknown_question, {"follow_up": turn.text, **record})

    def _documents(self, turn: _Turn) -> AnswerResult | None:
        """The knowledge base's answer to this turn, if the agent has documents."""
        if turn.answer is not None or self.knowledge is None:
            return turn.answer
        return self.knowledge.answer(turn.text)

    def _looks_up(self, turn: _Turn) -> bool:
        """Whether this turn goes to the knowledge base: a question the playbook has no answer for.

        Questions the matcher calls off-topic go too: "Is multi-factor authentication required?" is off the
        playbook but may well be in the documents; if they have nothing, the agent still declines.
        """
        if self.phase in ("listening", "ended", "booking"):
            return False
        route = self._route(turn)
        return route == "unknown_question" or (route == "off_topic" and turn.match.question)

    def _on_off_topic(self, turn: _Turn) -> Step:
        result = self._documents(turn) if turn.match.question else None
        if result is not None and result.related:
            # "Are you FedRAMP authorized?" is a product question after all: answer it or promise a follow-up.
            return self._on_unknown_question(turn)
        return self._aside(self.playbook.fallbacks.off_topic)

    def _on_unclear(self, turn: _Turn) -> Step:
        line = self._say(self.playbook.fallbacks.didnt_catch)
        return Step((line,), self.phase, remember=False)

    # Answers, by phase.

    def _answer_permission(self, turn: _Turn) -> Step:
        if turn.match.intent != "no":
            return self._start_pitch()
        for name in BAD_TIME_OBJECTIONS:
            objection = self._objection(name)
            if objection is not None:
                return self._objection_step(objection, turn)
        close = self.playbook.close
        return self._end(close.decline or close.goodbye, OUTCOME_CALL_BACK_LATER)

    def _answer_question(self, turn: _Turn) -> Step:
        pending = self._pending()
        if pending is None:
            return self._ask_meeting(ack=True)
        # "Okay." or "Mm-hmm." is not an answer; anything longer is.
        if turn.match.intent == "backchannel" and len(normalize(turn.text).split()) <= 2:
            return Step(self._resume_lines(), self.phase)
        self._slots[pending.slot] = turn.text
        notes: dict[str, object] = {"slot": pending.slot, "value": turn.text}
        number = parse_number(turn.text)  # "about forty people" -> 40, for the record and the CRM
        if number is not None:
            notes["number"] = number
        if self._wants_meeting and self._pending() is None:
            return self._meeting_confirmed(notes)
        return self._next_question(ack=True, notes=notes)

    def _answer_meeting(self, turn: _Turn) -> Step:
        intent = turn.match.intent
        close = self.playbook.close
        if intent in ("yes", "backchannel"):
            return self._meeting_confirmed()
        if intent == "statement":
            return Step(self._resume_lines(), self.phase)
        if close.soft_retry is not None and not self._retried:
            self._retried = True
            return Step((self._say(close.soft_retry),), "closing", notes={"soft_retry": True})
        return self._end(close.decline or close.goodbye, OUTCOME_NOT_INTERESTED)

    def _answer_booking(self, turn: _Turn) -> Step:
        line = self._say(self.playbook.fallbacks.didnt_catch)
        return Step((line,), self.phase, remember=False)

    # Building blocks.

    def _opener_step(self) -> Step:
        compliance = self.playbook.compliance
        required = (line for line in (compliance.ai_disclosure, compliance.recording_notice) if line is not None)
        lines = (self._say(self.playbook.opener), *map(self._say, required), self._say(self.playbook.permission))
        return Step(lines, "opening")

    def _start_pitch(self) -> Step:
        step = self._next_question(ack=False)
        return replace(step, lines=(self._say(self.playbook.pitch), *step.lines))

    def _next_question(self, *, ack: bool, notes: Mapping[str, object] | None = None) -> Step:
        pending = self._pending()
        if pending is None:
            return self._ask_meeting(ack=ack, notes=notes)
        phase = "pitch" if not self._slots else "qualifying"
        return Step((self._say(pending.ask),), phase, notes=dict(notes or {}), ack=self._next_ack() if ack else None)

    def _ask_meeting(self, *, ack: bool, notes: Mapping[str, object] | None = None) -> Step:
        return Step(
            (self._say(self.playbook.close.ask_meeting),),
            "closing",
            notes=dict(notes or {}),
            ack=self._next_ack() if ack else None,
        )

    def _meeting_confirmed(self, notes: Mapping[str, object] | None = None) -> Step:
        close = self.playbook.close
        lines = (self._say(close.confirm), self._say(close.goodbye))
        return Step(lines, "ended", "end_call", OUTCOME_MEETING_REQUESTED, dict(notes or {}), book=True)

    def _objection_step(self, objection: Objection, turn: _Turn) -> Step:
        response = self._say(objection.response)
        notes: dict[str, object] = {"objection": objection.intent}
        if objection.end_call:
            return Step((response,), "ended", "end_call", objection.final_outcome, notes)
        pending = self._pending()
        slot = objection.fills_slot
        if slot is not None and slot not in self._slots:
            self._slots[slot] = turn.text
            notes |= {"slot": slot, "value": turn.text}
            if pending is not None and pending.slot == slot:
                step = self._next_question(ack=False, notes=notes)
                return replace(step, lines=(response, *step.lines))
        return Step((response, *self._resume_lines()), self.phase, notes=notes)

    def _aside(self, line: str, notes: Mapping[str, object] | None = None) -> Step:
        return Step((self._say(line), *self._resume_lines()), self.phase, notes=dict(notes or {}))

    def _end(self, line: str, outcome: str) -> Step:
        return Step((self._say(line),), "ended", "end_call", outcome)

    def _resume_lines(self) -> tuple[str, ...]:
        """The short line that brings the call back to where it was."""
        if self.phase in ("listening", "ended"):
            return ()
        if self.phase == "opening":
            return (self._say(self.playbook.permission),)
        if self.phase == "closing":
            close = self.playbook.close
            return (self._say(close.reask or close.ask_meeting),)
        if self.phase == "booking" and self._flow is not None:
            return self._flow.resume_lines()
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

    def _route(self, turn: _Turn) -> str:
        """The handler for a turn: its intent's, except where the conversation says otherwise."""
        kind = self._kind(turn.match.intent)
        if self.phase in ("pitch", "qualifying") and self._pending() is not None:
            # "We use a backup app from the AppExchange." or "Like, sixty people?" answer the question asked.
            if kind == "faq" and not turn.match.question:
                return "answer"
            if kind in ("off_topic", "unknown_question") and not opens_with_question_word(turn.text):
                return "answer"
        if self.phase == "closing" and self._can_book and self._proposes_time(turn):
            return "book_meeting"  # "Could we do tomorrow at 2?" is a yes with a time
        return kind

    def _proposes_time(self, turn: _Turn) -> bool:
        intent = turn.match.intent
        if intent == "call_later" and "call" in turn.text.lower():
            return False  # "call me tomorrow" asks for a callback, not a meeting
        if intent not in _ANSWERS | {"book_meeting", "unknown_question", "off_topic", "call_later"}:
            return False
        assert self._flow is not None
        return self._flow.proposes_time(turn.text)

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

    def _say(self, line: str, **turn: str) -> str:
        return self.playbook.render(line, self.context, **turn)

    def _finish(
        self,
        step: Step,
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


_Handler = Callable[[PlaybookBrain, _Turn], Step]

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
    "booking": PlaybookBrain._answer_booking,
    "opening": PlaybookBrain._answer_permission,
    "pitch": PlaybookBrain._answer_question,
    "qualifying": PlaybookBrain._answer_question,
    "closing": PlaybookBrain._answer_meeting,
}
