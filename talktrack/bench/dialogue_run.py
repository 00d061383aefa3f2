"""Running dialogues for `talktrack bench dialogue`: the local servers, one calendar and clock per call, and the
checks of what landed on them (the event, the invite, the follow-up, the callback and the words the agent said)."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import icalendar
import yaml

from talktrack.brain.context import CallContext
from talktrack.brain.engine import PlaybookBrain
from talktrack.brain.playbook import AGENT_PLACEHOLDERS, CALL_PLACEHOLDERS, Playbook
from talktrack.brain.when import parse_when, say_when
from talktrack.calls.agent import Agent, bundled_agent_dir
from talktrack.errors import ConfigError
from talktrack.testing.radicale import LocalRadicale
from talktrack.testing.smtp import LocalSmtp
from talktrack.tools.calendar import CaldavCalendar, booking_uid, busy_of
from talktrack.tools.callbacks import CallbackBook
from talktrack.tools.knowledge import PlaybookKnowledge
from talktrack.tools.mail import Mailer
from talktrack.tools.outbox import Outbox
from talktrack.tools.sales import sales_registry
from talktrack.tools.services import CallServices, booking_rules

if TYPE_CHECKING:
    from talktrack.bench.dialogue import AudioDialogue, Dialogue, Event, Expect, Turn

USER = "bench"  # the Radicale user whose calendars the bench creates
CALENDAR_TIMEOUT_S = 2.0
_LOCAL = "%Y-%m-%d %H:%M"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass
class Result:
    """How one dialogue went."""

    name: str
    category: str
    audio: bool = False
    failures: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    invented: list[str] = field(default_factory=list)
    decision_ms: list[float] = field(default_factory=list)
    booking_ms: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every expectation held and nothing was invented."""
        return not self.failures and not self.invented


@dataclass
class _Said:
    """One agent turn: what it said, the tools it called, and the call's clock then."""

    text: str
    tools: list[dict[str, Any]]
    now: datetime
    offered: int = 0


@dataclass
class _Call:
    """One call in progress and everything needed to check it afterwards."""

    expect: Expect
    call_id: str
    context: CallContext
    calendar_url: str
    outbox: Path
    callbacks: Path
    result: Result
    patterns: list[re.Pattern[str]] = field(default_factory=list)
    said: list[_Said] = field(default_factory=list)
    outcome: str | None = None
    ended: bool = False
    lost_race: bool = False
    brain: PlaybookBrain | None = None
    calendar: CaldavCalendar | None = None

    @property
    def uid(self) -> str:
        return booking_uid(self.call_id)

    def heard(self, text: str, lines: Sequence[str], tools: list[dict[str, Any]], now: datetime, offered: int) -> None:
        """Record one agent turn; any line that is not a playbook line is an invented fact."""
        self.said.append(_Said(text, tools, now, offered))
        self.result.invented += [x for x in lines if x.strip() and not any(p.fullmatch(x) for p in self.patterns)]


def line_patterns(playbook: Playbook, context: CallContext) -> list[re.Pattern[str]]:
    """Every line the playbook lets the agent say; per-turn placeholders (times, e-mails) match any text."""
    known = {name: playbook.render("{" + name + "}", context) for name in (*AGENT_PLACEHOLDERS, *CALL_PLACEHOLDERS)}
    templates = [line for _, line in playbook.template_lines()]
    if playbook.booking is not None:
        templates += [str(line) for line in playbook.booking.lines.model_dump().values()]
    patterns = []
    for template in dict.fromkeys(templates):
        pieces = _PLACEHOLDER.split(template)  # literal, name, literal, name, ...
        regex = "".join(
            (re.escape(known[piece]) if piece in known else ".+?") if i % 2 else re.escape(piece)
            for i, piece in enumerate(pieces)
        )
        patterns.append(re.compile(regex, re.S))
    return patterns


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Lab:
    """One Radicale and one SMTP server on loopback, the bundled agent, and the calendars the run touched."""

    def __init__(self) -> None:
        self.agent = Agent.load(bundled_agent_dir())
        if self.agent.playbook.booking is None:
            raise ConfigError(f"{self.agent.path}: the playbook has no booking section", fix="add 'booking:'")
        raw = yaml.safe_load((self.agent.path / "context.yaml").read_text(encoding="utf-8"))
        self.base_context: dict[str, Any] = dict(raw or {})
        self.radicale = LocalRadicale()
        self.smtp = LocalSmtp()
        self.calendars: dict[str, None] = {}  # every calendar URL used, for the double-booking count
        # Nothing listens here: a calendar that refuses connections, as when the server is down.
        self.refused_url = f"http://127.0.0.1:{_free_port()}/{USER}/down/"
        self._stack = AsyncExitStack()
        self._scratch = Path()
        self._http = httpx.AsyncClient(timeout=10.0)

    async def __aenter__(self) -> Lab:
        async with AsyncExitStack() as stack:  # a server that fails to start stops the ones already running
            await stack.enter_async_context(self._http)
            await stack.enter_async_context(self.radicale)
            await stack.enter_async_context(self.smtp)
            self._scratch = Path(tempfile.mkdtemp(prefix="talktrack-dialogues-"))
            stack.callback(shutil.rmtree, self._scratch, ignore_errors=True)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    def context(self, name: str, overrides: dict[str, Any]) -> CallContext:
        """The agent's sample context with a dialogue's overrides."""
        return CallContext.from_mapping({**self.base_context, **overrides}, source=f"dialogue {name}: context")

    # -- the calendar server ---------------------------------------------------------------------------

    async def _calendar(self, name: str, events: Sequence[Event] = ()) -> str:
        url = self.radicale.calendar_url(USER, name)
        if not self.calendars:  # the user's home collection holds the calendars
            await self._http.request("MKCOL", self.radicale.url + USER + "/")
        if url not in self.calendars:
            body = (
                '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
                f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></C:mkcalendar>"
            )
            response = await self._http.request("MKCALENDAR", url, content=body)
            if response.status_code not in (201, 405):  # 405: it exists already
                raise RuntimeError(f"Radicale did not create calendar {name}: HTTP {response.status_code}")
            self.calendars[url] = None
        for event in events:
            await self.add_event(url, event)
        return url

    async def add_event(self, url: str, event: Event) -> None:
        """Put a busy event on the calendar at ``url`` (the same event twice is stored once)."""
        uid = f"busy-{event.start.astimezone(UTC):%Y%m%dT%H%M}-{event.minutes}@bench"
        vevent = icalendar.Event()
        vevent.add("uid", uid)
        vevent.add("dtstamp", datetime.now(UTC))
        vevent.add("dtstart", event.start)
        vevent.add("dtend", event.start + timedelta(minutes=event.minutes))
        vevent.add("summary", event.summary)
        cal = icalendar.Calendar()
        cal.add("prodid", "-//talktrack//bench dialogue//EN")
        cal.add("version", "2.0")
        cal.add_component(vevent)
        headers = {"Content-Type": "text/calendar; charset=utf-8"}
        response = await self._http.put(url + quote(uid, safe="") + ".ics", content=cal.to_ical(), headers=headers)
        if response.status_code not in (201, 204):
            raise RuntimeError(f"Radicale did not store event {uid}: HTTP {response.status_code}")

    async def events(self, url: str) -> list[tuple[str, datetime, datetime]]:
        """(UID, start, end) of every event on the calendar at ``url``, read back from the server."""
        response = await self._http.get(url)
        response.raise_for_status()
        zone = ZoneInfo(self.agent.playbook.booking.timezone if self.agent.playbook.booking else "UTC")
        out = []
        for component in icalendar.Calendar.from_ical(response.text).walk("VEVENT"):
            busy = busy_of(component, zone)
            if busy is not None:
                out.append((str(component.get("UID", "")), busy.start, busy.end))
        return out

    async def double_bookings(self) -> int:
        """Overlapping pairs on any one calendar in which at least one event is a meeting the agent booked."""
        count = 0
        for url in self.calendars:
            events = sorted(await self.events(url), key=lambda e: e[1])
            for i, (uid, _, end) in enumerate(events):
                for other, start, _ in events[i + 1 :]:
                    if start < end and (uid.endswith("@talktrack") or other.endswith("@talktrack")):
                        count += 1
        return count

    # -- text dialogues --------------------------------------------------------------------------------

    async def run_text(
        self, dialogues: Sequence[Dialogue], run: int, progress: Callable[[Result], None] | None = None
    ) -> list[Result]:
        """Run the dialogues one by one (a race group together, on one calendar); returns their results."""
        for d in dialogues:  # a bad context fails before anything runs
            self.context(d.name, d.context)
        groups: dict[str, list[Dialogue]] = {}
        for d in dialogues:
            groups.setdefault(d.race or f"\0{d.name}", []).append(d)
        results: list[Result] = []
        for members in groups.values():
            done = await self._play(members, run)
            if progress is not None:
                for result in done:
                    progress(result)
            results += done
        return results

    async def _play(self, members: list[Dialogue], run: int) -> list[Result]:
        shared = f"race-{members[0].race}-{run}" if members[0].race else None
        calls = [await self._start(d, run, shared) for d in members]
        barrier = asyncio.Barrier(len(calls))

        async def play(d: Dialogue, call: _Call) -> None:
            for i, turn in enumerate(d.turns, 1):
                if shared is not None and i == len(d.turns):
                    await barrier.wait()  # every member books the same slot at the same moment
                await self._turn(call, turn, i, d.now)
            if shared is not None and _tool(call.said[-1:], "book_meeting", code="slot_taken"):
                call.lost_race = True
                if call.said[-1].offered < 2:
                    call.result.failures.append("after losing the slot the agent did not offer two other times")
                for i, turn in enumerate(d.if_taken, len(d.turns) + 1):
                    await self._turn(call, turn, i, d.now)

        try:
            await asyncio.gather(*(play(d, c) for d, c in zip(members, calls, strict=True)))
        finally:
            for call in calls:
                if call.calendar is not None:
                    await call.calendar.close()
        if shared is not None:
            winners = sum(not c.lost_race for c in calls)
            if winners != 1:
                for call in calls:
                    call.result.failures.append(f"{winners} of {len(calls)} calls booked the contested slot first")
        for call in calls:
            call.outcome = call.brain.outcome if call.brain is not None else None
            await self.check(call)
        return [c.result for c in calls]

    async def _start(self, d: Dialogue, run: int, shared: str | None) -> _Call:
        playbook = self.agent.playbook
        booking = playbook.booking
        assert booking is not None
        call_id = f"{d.name}-{run}"
        url = self.refused_url if d.expect.calendar_down else await self._calendar(shared or call_id, d.calendar)
        folder = self._scratch / call_id
        context = self.context(d.name, d.context)
        callbacks = folder / "callbacks.jsonl"
        calendar = CaldavCalendar(
            url,
            calendar_name=shared or call_id,
            rules=booking_rules(booking),
            timeout_s=CALENDAR_TIMEOUT_S,
            organizer_name=booking.host_name,
            organizer_email=booking.host_email,
        )
        outbox = Outbox(folder / "outbox")
        mailer = Mailer(host=self.smtp.host, port=self.smtp.port, sender=booking.host_email, outbox=outbox)
        now = d.now
        services = CallServices(
            call_id=call_id,
            agent_id=self.agent.agent_id,
            playbook=playbook,
            context=context,
            knowledge=PlaybookKnowledge(playbook),
            calendar=calendar,
            mailer=mailer,
            outbox=outbox,
            callbacks=CallbackBook(callbacks),
            now=lambda: now,
        )
        brain = PlaybookBrain(playbook, context, tools=sales_registry(services))
        services.summary = brain.summary  # what the invite's description says, as on a live call
        call = _Call(d.expect, call_id, context, url, outbox.directory, callbacks, Result(d.name, d.category))
        call.patterns, call.brain, call.calendar = line_patterns(playbook, context), brain, calendar
        return call

    async def _turn(self, call: _Call, turn: Turn, index: int, now: datetime) -> None:
        result, brain = call.result, call.brain
        assert brain is not None
        if call.ended:
            result.failures.append(f"turn {index} ({turn.say!r}): the agent had already ended the call")
            return
        if turn.calendar_add is not None:
            await self.add_event(call.calendar_url, turn.calendar_add)
            result.transcript.append(f"[calendar: {turn.calendar_add.start.isoformat()} is now busy]")
        reply = await brain.respond(turn.say)
        result.transcript += [f"P: {turn.say}", f"A: {reply.text}"]
        result.decision_ms.append(float(str(reply.decision.get("decision_ms", 0.0))))
        tools = [dict(t) for t in cast(Sequence[Mapping[str, Any]], reply.decision.get("tools", ()))]
        result.booking_ms += [float(t["ms"]) for t in tools if t.get("tool") == "book_meeting"]
        offered = reply.decision.get("offered")
        call.heard(reply.text, reply.lines, tools, now, len(offered) if isinstance(offered, list) else 0)
        if turn.expect and not re.search(turn.expect, reply.text, re.I):
            result.failures.append(
                f"turn {index} ({turn.say!r}): expected /{turn.expect}/, the agent said {reply.text!r}"
            )
        if not reply.text.strip() and not reply.decision.get("waiting") and not reply.ends_call:
            result.failures.append(f"turn {index} ({turn.say!r}): the agent said nothing")
        call.ended = reply.ends_call

    # -- checks ----------------------------------------------------------------------------------------

    async def check(self, call: _Call) -> None:
        """The final expectations: outcome, the event and how it was said, the e-mails, the callback."""
        e, fail = call.expect, call.result.failures.append
        tz = call.context.timezone
        if e.outcome is not None and call.outcome != e.outcome:
            fail(f"outcome: expected {e.outcome}, got {call.outcome}")
        events = [] if e.calendar_down else await self.events(call.calendar_url)
        mine = [(start, end) for uid, start, end in events if uid == call.uid]
        if len(mine) > 1:
            fail(f"{len(mine)} events carry the call's UID {call.uid}; expected one")
        if mine and e.wants_booking is False:
            fail(f"a meeting was booked at {mine[0][0].isoformat()}, but this dialogue must not book one")
        if not mine and e.wants_booking:
            fail("no meeting with the call's UID is on the calendar")
        if mine:
            self._check_said(call, mine[0][0])
        self._check_mail(call, mine[0][0] if mine else None)
        if e.callback_local is not None:
            times = [
                datetime.fromisoformat(c.at).astimezone(ZoneInfo(tz)).strftime(_LOCAL) for c in self._callbacks(call)
            ]
            if e.callback_local not in times:
                fail(f"callback: expected {e.callback_local} ({tz}), got {', '.join(times) or 'none'}")

    def _callbacks(self, call: _Call) -> list[Any]:
        return [c for c in CallbackBook(call.callbacks).entries() if c.call_id == call.call_id]

    def _check_said(self, call: _Call, start: datetime) -> None:
        e, fail, tz = call.expect, call.result.failures.append, call.context.timezone
        local = start.astimezone(ZoneInfo(tz)).strftime(_LOCAL)
        if e.booked_local is not None and not local.startswith(e.booked_local):
            fail(f"booked: expected {e.booked_local} ({tz}), the calendar holds {local}")
        turn = next((s for s in call.said if _tool([s], "book_meeting", ok=True)), None)
        if turn is None:
            fail("a meeting is on the calendar, but no book_meeting call succeeded")
            return
        booked = _tool([turn], "book_meeting", ok=True)[0]
        if datetime.fromisoformat(str(booked["arguments"].get("start"))) != start:
            fail(f"the agent booked {booked['arguments'].get('start')}, Radicale holds {start.isoformat()}")
        phrase = say_when(start, tz, now=turn.now, with_zone=True)
        if phrase.lower() not in turn.text.lower():
            fail(f"the confirmation does not say {phrase!r}: {turn.text!r}")
        heard = parse_when(phrase, now=turn.now, tz=tz)
        if heard is None or not heard.exact or heard.start != start:
            fail(f"{phrase!r} reads back as {heard.start.isoformat() if heard else 'no time'}, not {start.isoformat()}")

    def _check_mail(self, call: _Call, start: datetime | None) -> None:
        e, fail = call.expect, call.result.failures.append
        sent = {entry.message_id for entry in Outbox(call.outbox).entries() if entry.status == "sent"}
        arrived = [r.message for r in self.smtp.messages if str(r.message.get("Message-ID", "")) in sent]
        invites = [m for m in arrived if _invite_uid(m) is not None]
        good = [m for m in invites if _invite_uid(m) == (call.uid, start)]
        follow_ups = [m for m in arrived if str(m.get("X-TalkTrack-Kind", "")) == "follow_up"]
        if e.invite and not good:
            fail(f"no invite (METHOD:REQUEST, UID {call.uid}) reached the SMTP server ({len(invites)} other invites)")
        if e.invite is False and invites:
            fail(f"{len(invites)} invites were sent, none expected")
        if e.follow_up is not None and bool(follow_ups) != e.follow_up:
            fail(f"follow-up e-mail: expected {'one' if e.follow_up else 'none'}, {len(follow_ups)} arrived")
        if e.email is not None:
            to = sorted({a.lower() for m in arrived for _, a in getaddresses(m.get_all("To", []))})
            if to != [e.email.lower()]:
                fail(f"e-mail: expected mail to {e.email}, it went to {', '.join(to) or 'nobody'}")

    # -- audio dialogues -------------------------------------------------------------------------------

    async def run_audio(
        self, dialogues: Sequence[AudioDialogue], repeat: int, progress: Callable[[Result], None] | None = None
    ) -> list[Result]:
        """Run each scenario over the simulated line (speech models load once)."""
        from talktrack.calls.engines import SpeechEngines
        from talktrack.settings import Settings
        from talktrack.testing.harness import scenario_context, simulate_call
        from talktrack.tools.services import office_for

        base = Settings()
        engines = await asyncio.to_thread(SpeechEngines.load, base)
        results = []
        for run in range(1, repeat + 1):
            for a in dialogues:
                name = f"audio-{a.scenario.name}-{run}"
                url = self.refused_url if a.expect.calendar_down else await self._calendar(name)
                folder = self._scratch / name
                settings = base.model_copy(
                    update={
                        "brain": "playbook", "data_dir": folder / "data", "caldav_url": url, "caldav_calendar": name,
                        "caldav_username": None, "caldav_password": None, "calendar_timeout_s": CALENDAR_TIMEOUT_S,
                        "smtp_host": self.smtp.host, "smtp_port": self.smtp.port, "smtp_starttls": False,
                        "smtp_username": None, "smtp_password": None, "mail_from": None,
                    }
                )  # fmt: skip
                context = scenario_context(self.agent, a.scenario)
                simulated = await simulate_call(self.agent, a.scenario, engines, settings, transcribe_agent=True)
                await office_for(settings).aclose()
                log = simulated.log
                data = folder / "data"  # the office of these settings keeps its outbox and callbacks here
                result = Result(a.scenario.name, "audio", audio=True)
                call = _Call(a.expect, log.call_id, context, url, data / "outbox", data / "callbacks.jsonl", result)
                call.outcome = log.outcome
                call.result.failures += list(simulated.caller.failures)
                call.result.transcript = [
                    f"{'A' if t['role'] == 'agent' else 'P'}{' (withdrawn)' if t.get('retracted') else ''}: {t['text']}"
                    for t in log.transcript
                ]
                call.patterns = line_patterns(self.agent.playbook, context)
                for event in (ev for ev in log.events if ev.get("kind") == "brain"):
                    decision = event.get("decision", {})
                    lines = [str(x) for x in decision.get("lines", ())]
                    at = datetime.fromtimestamp(log.started_at + float(event["t"]), UTC)
                    call.heard(" ".join(lines), lines, [dict(t) for t in decision.get("tools", ())], at, 0)
                await self.check(call)
                results.append(call.result)
                if progress is not None:
                    progress(call.result)
        return results


def _tool(said: Sequence[_Said], name: str, *, ok: bool | None = None, code: str | None = None) -> list[dict[str, Any]]:
    return [
        t
        for s in said
        for t in s.tools
        if t.get("tool") == name and (ok is None or t.get("ok") == ok) and (code is None or t.get("code") == code)
    ]


def _invite_uid(message: EmailMessage) -> tuple[str, datetime] | None:
    """(UID, start) of the iCalendar REQUEST in ``message``, or None when it carries none."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar" and str(part.get_param("method", "")).upper() == "REQUEST":
            for event in icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT"):
                return str(event.get("UID", "")), event.decoded("DTSTART")
    return None
