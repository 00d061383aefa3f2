"""Booking on the phone: propose two free slots, follow counter-proposals, confirm the time and the
e-mail, book, and confirm — with the calendar and the mail server reached through the call's tools.

Stages: ``offered`` (two slots said) -> ``ask_day`` ("none of those work": the prospect names a
time) -> ``email`` (asking for the address) -> ``confirm_email`` (address read back) -> done.
The same address capture serves a follow-up e-mail ("send me an e-mail", or the calendar is down).
A turn the flow does not recognise (a question, an objection) goes back to the engine, which
answers it and returns here with :meth:`BookingFlow.resume_lines`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from talktrack.brain.context import CallContext
from talktrack.brain.playbook import BookingLines, Playbook
from talktrack.brain.spoken import parse_email, spell_email
from talktrack.brain.steps import Step
from talktrack.brain.when import When, parse_when, say_when
from talktrack.tools.registry import ToolRegistry, ToolResult

OUTCOME_BOOKED = "meeting_booked"
OUTCOME_FOLLOW_UP = "follow_up_email"
OUTCOME_CALLBACK = "call_back_later"
MAX_EMAIL_TRIES = 3
# The hours of the prospect's own day a meeting may be offered in (8 AM to 6 PM their time).
PROSPECT_DAY = (8, 18)

_FIRST = re.compile(r"\b(first|earlier|former|1st)\b", re.I)
_SECOND = re.compile(r"\b(second|later one|latter|last one|2nd)\b", re.I)
_NONE = re.compile(
    r"\b(none|neither|no good|(doesn'?t|don'?t|won'?t) work|can'?t (do|make)|not (good|great)|busy then)\b", re.I
)
_AGREE = frozenset({"yes", "backchannel"})

Say = Callable[..., str]


@dataclass
class _State:
    stage: str | None = None  # None: not booking
    purpose: str = "invite"  # "invite" or "follow_up"
    offered: list[datetime] = field(default_factory=list)
    chosen: datetime | None = None
    email: str = ""
    tries: int = 0
    closing: str = ""  # the line that ends a follow-up ("" : say it was sent, then goodbye)
    note: str = ""  # what the follow-up e-mail adds


class BookingFlow:
    """The booking and e-mail capture dialogue of one call."""

    def __init__(self, playbook: Playbook, context: CallContext, tools: ToolRegistry, say: Say) -> None:
        if playbook.booking is None:
            raise ValueError("the playbook has no booking section")
        self.playbook = playbook
        self.context = context
        self.tools = tools
        self.lines: BookingLines = playbook.booking.lines
        self._minutes = playbook.booking.meeting_minutes
        self._say = say
        self._s = _State()

    @property
    def active(self) -> bool:
        """The flow owns the conversation until the booking or the e-mail is done."""
        return self._s.stage is not None

    def checkpoint(self) -> object:
        """The flow's state (restored when the prospect's turn turns out to continue)."""
        return replace(self._s, offered=list(self._s.offered))

    def rollback(self, state: object) -> None:
        """Return to a state taken by :meth:`checkpoint`."""
        assert isinstance(state, _State)
        self._s = replace(state, offered=list(state.offered))

    # -- entry points ------------------------------------------------------------------------

    async def start(self, text: str = "", ack: str | None = None) -> Step:
        """The prospect agreed to meet: offer two free slots (within what they said, if anything)."""
        self._s = _State(stage="offered")
        wanted = self._when(text)
        if wanted is not None:
            step = await self._counter(wanted)
        else:
            step = await self._offer({})
        return replace(step, ack=ack) if ack and step.action == "continue" else step

    async def follow_up(self, closing: str, note: str = "") -> Step:
        """Send the follow-up e-mail the prospect asked for; ``closing`` is said once it is sent."""
        self._s = _State(stage="email", purpose="follow_up", closing=closing, note=note)
        return self._ask_email(self._say(self.lines.follow_up_email_ask))

    async def callback(self, text: str, fallback: Step) -> Step:
        """"Call me back tomorrow at 10": schedule it and say the time; ``fallback`` when no time was said."""
        if self._when(text) is None:
            return fallback
        result = await self._call("schedule_callback", when=text)
        if not result.ok:
            return fallback
        line = self._say(self.lines.callback_confirm, time=str(result.data["spoken"]))
        return Step((line,), "ended", "end_call", OUTCOME_CALLBACK, {"callback": result.data["start"]})

    async def handle(self, text: str, intent: str) -> Step | None:
        """One prospect turn while booking; None when it is not about the booking (the engine takes it)."""
        stage = self._s.stage
        if stage in ("offered", "ask_day"):
            return await self._on_time(text, intent)
        if stage == "email":
            return await self._on_email(text, intent)
        if stage == "confirm_email":
            return await self._on_confirm(text, intent)
        return None

    def proposes_time(self, text: str) -> bool:
        """The prospect named a time or a day to meet ("could we do tomorrow at 2?")."""
        wanted = self._when(text)
        return wanted is not None and not wanted.negated

    def resume_lines(self) -> tuple[str, ...]:
        """The line that brings the call back to the booking after an aside."""
        s = self._s
        if s.stage == "offered" and len(s.offered) >= 2:
            return (self._say(self.lines.which_one, **self._offer_values(s.offered)),)
        if s.stage == "ask_day":
            return (self._say(self.lines.none_work),)
        if s.stage == "email":
            return (self._say(self.lines.reask_email),)
        if s.stage == "confirm_email":
            return (self._say(self.lines.confirm_email, email=spell_email(s.email)),)
        return ()

    # -- stages ------------------------------------------------------------------------------

    async def _on_time(self, text: str, intent: str) -> Step | None:
        s = self._s
        wanted = self._when(text)
        refused = bool(_NONE.search(text))
        if s.stage == "offered" and s.offered and not refused:
            picked = self._picked(text, wanted)
            if picked is not None:
                return self._choose(picked)
        # "None of those work, I'm slammed this week": the time said is the one refused.
        refuses_window = refused and wanted is not None and all(self._fits(at, wanted) for at in s.offered)
        if wanted is not None and not wanted.negated and not refuses_window:
            return await self._counter(wanted)
        if refused or intent == "no" or (wanted is not None and wanted.negated):
            s.stage = "ask_day"
            return Step((self._say(self.lines.none_work),), "booking", notes={"booking": "none_work"})
        if intent in _AGREE:
            if s.stage == "offered" and len(s.offered) == 1:
                return self._choose(s.offered[0])
            if s.stage == "offered" and s.offered:
                line = self._say(self.lines.which_one, **self._offer_values(s.offered))
                return Step((line,), "booking", notes={"booking": "which_one"})
            return await self._offer({})
        return None

    def _picked(self, text: str, wanted: When | None) -> datetime | None:
        """The offered slot the prospect chose: "the first one", "Tuesday works", "10 is fine"."""
        offered = self._s.offered
        if _FIRST.search(text):
            return offered[0]
        if _SECOND.search(text) and len(offered) > 1:
            return offered[1]
        if wanted is None or wanted.negated:
            return None
        inside = [at for at in offered if self._fits(at, wanted)]
        return inside[0] if len(inside) == 1 else None

    def _fits(self, at: datetime, wanted: When) -> bool:
        local = at.astimezone(wanted.start.tzinfo)
        if wanted.exact:
            same_time = (local.hour, local.minute) == (wanted.start.hour, wanted.start.minute)
            return same_time and (not wanted.day_given or local.date() == wanted.start.date())
        if not wanted.day_given:  # "the morning one": compare times of day only
            return wanted.start.time() <= local.time() < wanted.end.time()
        if wanted.end - wanted.start >= timedelta(hours=PROSPECT_DAY[1] - PROSPECT_DAY[0]):
            return wanted.start.date() <= local.date() <= wanted.end.date()  # a whole day, or days
        return wanted.start <= at < wanted.end

    async def _counter(self, wanted: When) -> Step:
        """The prospect named a time or a day: book that time if free, else offer two on that day."""
        s = self._s
        if wanted.exact and not wanted.day_given and s.offered:
            # "At 10?" after "Tuesday at 2 or Wednesday at 3": 10 on the first offered day.
            day = s.offered[0].astimezone(wanted.start.tzinfo)
            start = day.replace(hour=wanted.start.hour, minute=wanted.start.minute, second=0, microsecond=0)
            wanted = replace(wanted, start=start, end=start, day_given=True)
        if wanted.exact:
            end = wanted.start + timedelta(minutes=self._minutes)  # the window holds the whole meeting
            result = await self._call("check_availability", start=wanted.start.isoformat(), end=end.isoformat())
            if not result.ok:
                return await self._calendar_down(result)
            slots = _starts(result.data.get("slots"))
            if slots and slots[0] == wanted.start:
                return self._choose(slots[0])
            day_start = wanted.start.replace(hour=0, minute=0)
            wanted = replace(wanted, start=day_start, end=day_start + timedelta(days=1), exact=False)
        result = await self._call("check_availability", start=wanted.start.isoformat(), end=wanted.end.isoformat())
        if not result.ok:
            return await self._calendar_down(result)
        offer = _starts(result.data.get("offer"))
        if offer:
            return self._propose(offer, self.lines.propose, {"window": wanted.text})
        return await self._offer({"day": self._day(wanted.start)}, self.lines.no_slots)

    async def _offer(self, values: Mapping[str, str], template: str | None = None) -> Step:
        result = await self._call("check_availability")
        if not result.ok:
            return await self._calendar_down(result)
        offer = _starts(result.data.get("offer"))
        if not offer:
            return await self._calendar_down(result)
        return self._propose(offer, template or self.lines.propose, {}, values)

    def _propose(
        self, offer: list[datetime], template: str, notes: Mapping[str, object], values: Mapping[str, str] = {}
    ) -> Step:
        self._s.stage, self._s.offered = "offered", offer
        line = self._say(template, **self._offer_values(offer), **values)
        offered = [o.isoformat() for o in offer]
        return Step((line,), "booking", notes={"booking": "offered", "offered": offered, **notes})

    def _choose(self, at: datetime) -> Step:
        s = self._s
        s.chosen = at
        when = self._spoken(at, zone=True)
        if not s.email and self.context.email and parse_email(self.context.email):
            s.email = self.context.email.strip().lower()
        if s.email:  # known from the contact record, or given earlier in this call
            s.stage = "confirm_email"
            line = self._say(self.lines.confirm_known_email, time=when, email=spell_email(s.email))
            return Step((line,), "booking", notes={"booking": "chosen", "start": at.isoformat()})
        s.stage = "email"
        line = self._say(self.lines.ask_email, time=when)
        return Step((line,), "booking", notes={"booking": "chosen", "start": at.isoformat()})

    async def _on_email(self, text: str, intent: str) -> Step | None:
        address = parse_email(text)
        if address is None:
            # "My email is dain." cut off mid-address is a try at the address, not "send me an e-mail".
            tried = "mail" in text.lower() or " at " in f" {text.lower()} "
            if not tried and intent not in ("statement", "unclear", "no", "yes", "backchannel"):
                return None  # a question or an objection in the middle: the engine answers it
            return self._email_again()
        s = self._s
        s.stage, s.email = "confirm_email", address
        line = self._say(self.lines.confirm_email, email=spell_email(address))
        return Step((line,), "booking", notes={"booking": "email", "email": address})

    async def _on_confirm(self, text: str, intent: str) -> Step | None:
        address = parse_email(text)
        s = self._s
        if address is not None and address != s.email:
            s.email = address
            line = self._say(self.lines.confirm_email, email=spell_email(address))
            return Step((line,), "booking", notes={"booking": "email", "email": address})
        if intent in _AGREE or (address is not None and address == s.email):
            return await (self._book() if s.purpose == "invite" else self._send_follow_up())
        if intent == "no":
            s.stage = "email"
            return self._email_again()
        return None

    def _email_again(self) -> Step:
        s = self._s
        s.tries += 1
        if s.tries >= MAX_EMAIL_TRIES:
            # Never loop forever on an address: the team follows up with what we have.
            s.stage = None
            close = self.playbook.close
            line = self._say(self.playbook.fallbacks.unknown_question)
            return Step((line, self._say(close.goodbye)), "ended", "end_call", OUTCOME_FOLLOW_UP, {"email": "gave_up"})
        s.stage = "email"
        return Step((self._say(self.lines.reask_email),), "booking", notes={"booking": "reask_email"})

    async def _book(self) -> Step:
        s = self._s
        assert s.chosen is not None
        result = await self._call("book_meeting", start=s.chosen.isoformat(), email=s.email,
                                  name=self.context.prospect_name)
        if result.ok:
            s.stage = None
            line = self._say(self.lines.booked, time=self._spoken(s.chosen, zone=True), email=spell_email(s.email))
            notes = {"booking": "booked", "start": s.chosen.isoformat(), "email": s.email, "uid": result.data["uid"]}
            goodbye = self._say(self.playbook.close.goodbye)
            return Step((line, goodbye), "ended", "end_call", OUTCOME_BOOKED, notes)
        if result.code == "slot_taken":
            offer = _starts(result.data.get("offer"))
            if offer:
                return self._propose(offer, self.lines.slot_taken, {"booking": "slot_taken"})
            return await self._offer({})
        if result.code == "invalid_email":
            s.stage = "email"
            return self._email_again()
        return await self._calendar_down(result)

    async def _calendar_down(self, result: ToolResult) -> Step:
        """No calendar: say so, and e-mail the prospect times instead (nothing is lost)."""
        s = self._s
        note = "I'll send over a few times for a meeting; just reply with the one that suits you."
        s.stage, s.purpose, s.note, s.closing = "email", "follow_up", note, ""
        down = self._say(self.lines.calendar_down)
        notes = {"booking": "calendar_down", "error": result.code}
        if self.context.email and parse_email(self.context.email):
            s.email = self.context.email.strip().lower()
            sent = await self._send_follow_up()
            return replace(sent, lines=(down, *sent.lines), notes={**notes, **sent.notes})
        ask = self._ask_email(self._say(self.lines.follow_up_email_ask))
        return replace(ask, lines=(down, *ask.lines), notes=notes)

    def _ask_email(self, line: str) -> Step:
        s = self._s
        if self.context.email and parse_email(self.context.email):
            s.stage, s.email = "confirm_email", self.context.email.strip().lower()
            line = self._say(self.lines.follow_up_known_email, email=spell_email(s.email))
        return Step((line,), "booking", notes={"booking": "ask_email", "purpose": s.purpose})

    async def _send_follow_up(self) -> Step:
        s = self._s
        result = await self._call("send_follow_up_email", email=s.email, note=s.note)
        if not result.ok and result.code == "invalid_email":
            return self._email_again()
        s.stage = None
        if s.closing:
            lines: tuple[str, ...] = (s.closing,)
        else:
            sent = self._say(self.lines.follow_up_sent, email=spell_email(s.email))
            lines = (sent, self._say(self.playbook.close.goodbye))
        notes = {"booking": "follow_up", "email": s.email, "sent": bool(result.data.get("sent"))}
        return Step(lines, "ended", "end_call", OUTCOME_FOLLOW_UP, notes)

    # -- helpers -----------------------------------------------------------------------------

    async def _call(self, tool_name: str, **arguments: Any) -> ToolResult:
        return await self.tools.call(tool_name, arguments)

    def _when(self, text: str) -> When | None:
        # Windows ("Tuesday", "the morning") are the prospect's day; the host's hours clip them later.
        return parse_when(text, now=self._now(), tz=self.context.timezone, business_hours=PROSPECT_DAY)

    def _now(self) -> datetime:
        clock = cast(Callable[[], datetime] | None, getattr(self.tools.services, "now", None))
        return clock() if clock is not None else datetime.now().astimezone()

    def _spoken(self, at: datetime, *, zone: bool = False) -> str:
        return say_when(at, self.context.timezone, now=self._now(), with_zone=zone)

    def _day(self, at: datetime) -> str:
        return say_day(at, self.context.timezone, now=self._now())

    def _offer_values(self, offer: list[datetime]) -> dict[str, str]:
        first = self._spoken(offer[0])
        second = self._spoken(offer[1]) if len(offer) > 1 else first
        return {"slot_1": first, "slot_2": second}


def say_day(at: datetime, tz: str, *, now: datetime) -> str:
    """The day of ``at`` as the agent says it: "tomorrow", "Tuesday"."""
    return say_when(at, tz, now=now).split(" at ")[0].split(",")[0]


def _starts(raw: object) -> list[datetime]:
    if not isinstance(raw, list):
        return []
    return [datetime.fromisoformat(str(item["start"])) for item in raw if isinstance(item, dict) and "start" in item]
