"""The sales tools both brains use: availability, booking with an invite, follow-up e-mail, knowledge,
callbacks, ending the call, keys and language.

Times cross the tool boundary as ISO 8601 strings with an offset; each result also
carries the time as the agent should say it, in the prospect's own time zone.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from loguru import logger

from talktrack.brain.booking import PROSPECT_DAY, say_day
from talktrack.brain.spoken import spell_email
from talktrack.brain.when import parse_when, say_when
from talktrack.tools.calendar import CalendarError, SlotTaken, SlotUnavailable, booking_uid, spread
from talktrack.tools.callbacks import Callback
from talktrack.tools.mail import Invite, MailError, follow_up_message, invite_message, valid_email
from talktrack.tools.registry import Tool, ToolError, ToolRegistry, tool
from talktrack.tools.services import CallServices

CALENDAR_DOWN = "I can't get into the calendar right now."
OFFERED = 2


def spoken(services: CallServices, at: datetime) -> str:
    """A time as the agent says it to this prospect (their zone, relative to today)."""
    return say_when(at, services.context.timezone, now=services.now())


def _slot(services: CallServices, at: datetime) -> dict[str, str]:
    return {"start": at.isoformat(), "spoken": spoken(services, at)}


def _courteous(services: CallServices, slots: list[datetime]) -> list[datetime]:
    """Slots inside the prospect's own working day: nobody is offered 6 AM because the host is three hours ahead."""
    zone = ZoneInfo(services.context.timezone)
    first, last = PROSPECT_DAY
    return [s for s in slots if first <= s.astimezone(zone).hour < last]


def _address(email: str) -> str:
    """The address in canonical form; a sayable error when it is not one."""
    address = email.strip().lower()
    if not valid_email(address):
        sorry = "Hmm, that e-mail doesn't look complete. Could you spell it for me?"
        raise ToolError(sorry, code="invalid_email", data={"email": address})
    return address


def _parse_start(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ToolError("Sorry, which time was that?", code="bad_arguments", data={"start": value}) from None
    if at.tzinfo is None:
        raise ToolError("Sorry, which time was that?", code="bad_arguments", data={"problem": "start needs an offset"})
    return at


async def _free(services: CallServices, start: datetime | None, end: datetime | None) -> list[datetime]:
    calendar = services.calendar
    if calendar is None or services.playbook.booking is None:
        raise ToolError("I can't book from here, but I'll have the team send you some times.", code="no_calendar")
    try:
        return await calendar.free_slots(now=services.now(), window_start=start, window_end=end, limit=40)
    except CalendarError as exc:
        raise ToolError(CALENDAR_DOWN, code="calendar_unavailable") from exc


async def check_availability(services: CallServices, when: str = "", start: str = "", end: str = "") -> dict[str, Any]:
    """Free meeting slots on the host's calendar. `when` is the prospect's words ("next Tuesday afternoon"),
    or give an ISO 8601 window with `start` and `end`. Returns up to 6 slots and two to offer."""
    window_start = _parse_start(start) if start else None
    window_end = _parse_start(end) if end else None
    day = ""
    if when.strip():
        parsed = parse_when(when, now=services.now(), tz=services.context.timezone)
        if parsed is not None:
            window_start, window_end = parsed.start, parsed.end
            if parsed.exact and services.playbook.booking is not None:
                # A window holds whole meetings: the one starting at that time.
                window_end = parsed.start + timedelta(minutes=services.playbook.booking.meeting_minutes)
            if parsed.day_given:
                day = say_day(parsed.start, services.context.timezone, now=services.now())
    slots = await _free(services, window_start, window_end)
    offer = spread(_courteous(services, slots) or slots, OFFERED)
    return {
        "slots": [_slot(services, s) for s in slots[:6]],
        "offer": [_slot(services, s) for s in offer],
        "day": day,
        "timezone": services.context.timezone,
    }


async def book_meeting(services: CallServices, start: str, email: str, name: str = "") -> dict[str, Any]:
    """Book the meeting at `start` (ISO 8601, a slot from check_availability) and e-mail the invite to `email`."""
    booking = services.playbook.booking
    at = _parse_start(start)
    address = _address(email)
    if services.calendar is None or booking is None:
        raise ToolError("I can't book from here, but I'll have the team send you some times.", code="no_calendar")
    context = services.context
    title = services.playbook.render(booking.title, context)
    description = services.summary() or f"Call with {context.prospect_name} ({context.company})."
    try:
        made = await services.calendar.book(
            uid=booking_uid(services.call_id),
            start=at,
            title=title,
            description=description,
            attendee_name=name or context.prospect_name,
            attendee_email=address,
            now=services.now(),
        )
    except SlotTaken as exc:
        others = [s for s in await _free(services, None, None) if s != at]
        offer = spread(_courteous(services, others) or others, OFFERED)
        raise ToolError(
            "Ah, that time was just taken.", code="slot_taken", data={"offer": [_slot(services, s) for s in offer]}
        ) from exc
    except SlotUnavailable as exc:
        raise ToolError(str(exc), code="slot_unavailable") from exc
    except CalendarError as exc:
        raise ToolError(CALENDAR_DOWN, code="calendar_unavailable") from exc
    invite = Invite(
        uid=made.uid,
        start=made.start,
        end=made.end,
        timezone=context.timezone,
        title=title,
        description=description,
        organizer_name=booking.host_name,
        organizer_email=booking.host_email,
        attendee_name=name or context.prospect_name,
        attendee_email=address,
    )
    if not made.created and services.booked.get("uid") == made.uid:
        sent = bool(services.booked.get("invite_sent"))  # a retried booking: the invite went out the first time
    else:
        sent = await deliver(services, invite_message(invite, sender=services.sender))
    services.booked = {"uid": made.uid, "start": made.start.isoformat(), "email": address, "invite_sent": sent}
    services.outcome = "meeting_booked"
    return {
        **_slot(services, made.start),
        "end": made.end.isoformat(),
        "email": address,
        "email_spoken": spell_email(address),
        "uid": made.uid,
        "created": made.created,
        "invite_sent": sent,
    }


async def send_follow_up_email(services: CallServices, email: str, note: str = "") -> dict[str, Any]:
    """E-mail the prospect a short overview (and `note`, e.g. the times to choose from)."""
    address = _address(email)
    playbook, context = services.playbook, services.context
    body = "\n\n".join(
        part
        for part in (
            f"Hi {context.first_name},",
            f"Thanks for taking my call. As promised, a short overview: {playbook.company.one_liner}",
            note,
            f"Best,\n{playbook.persona.name}, {playbook.persona.role}, {playbook.persona.company}",
        )
        if part
    )
    message = follow_up_message(
        sender=services.sender,
        to=address,
        to_name=context.prospect_name,
        subject=f"{playbook.company.name}: the overview you asked for",
        body=body,
    )
    sent = await deliver(services, message)
    services.outcome = services.outcome or "follow_up_email"
    return {"email": address, "email_spoken": spell_email(address), "sent": sent}


async def search_knowledge(services: CallServices, query: str) -> dict[str, Any]:
    """Find what we may say about the product. State product facts only from these passages."""
    passages = services.knowledge.search(query, 3)
    return {"passages": [{"id": p.id, "text": p.text, "source": p.source, "score": p.score} for p in passages]}


async def schedule_callback(services: CallServices, when: str) -> dict[str, Any]:
    """Promise to call the prospect back at the time they asked for (their words, e.g. "tomorrow at 10")."""
    parsed = parse_when(when, now=services.now(), tz=services.context.timezone)
    if parsed is None:
        raise ToolError("Sure, when's a good time to call you back?", code="no_time")
    at = parsed.start
    if not parsed.exact:
        at = parsed.start.replace(minute=0) if parsed.start.minute else parsed.start
    if services.callbacks is not None:
        context = services.context
        services.callbacks.add(
            Callback(
                call_id=services.call_id,
                agent_id=services.agent_id,
                phone=context.phone,
                prospect_name=context.prospect_name,
                at=at.isoformat(),
                timezone=context.timezone,
                reason=when,
                created=services.now().isoformat(),
            )
        )
    services.outcome = "call_back_later"
    return _slot(services, at)


async def end_call(services: CallServices, outcome: str) -> dict[str, Any]:
    """Hang up after the next sentence; `outcome` says how the call ended (e.g. not_interested, meeting_booked)."""
    services.outcome = outcome
    return {"outcome": outcome}


async def send_dtmf(services: CallServices, digits: str) -> dict[str, Any]:
    """Press keys on the phone line (digits 0-9, * and #), e.g. to choose an option in a phone menu."""
    if not digits or any(d not in "0123456789*#ABCD" for d in digits.upper()):
        raise ToolError("Sorry, those aren't keys I can press.", code="bad_arguments", data={"digits": digits})
    if services.send_dtmf is None:
        raise ToolError("Sorry, I can't press keys on this line.", code="no_keys")
    await services.send_dtmf(digits.upper())
    return {"digits": digits.upper()}


async def switch_language(services: CallServices, language: str) -> dict[str, Any]:
    """Continue the call in another language (ISO 639-1 code such as "es"), if the playbook speaks it."""
    code = language.strip().lower()[:2]
    if code not in services.playbook.languages:
        raise ToolError("Sorry, I can only speak English on this call.", code="unsupported_language")
    services.language = code
    return {"language": code}


async def deliver(services: CallServices, message: EmailMessage) -> bool:
    """Send through SMTP when there is a server; the outbox keeps every message either way."""
    if services.mailer is None:
        if services.outbox is not None:
            services.outbox.save(message, status="not_sent", error="no SMTP server is configured")
        return False
    try:
        await services.mailer.send(message)
    except MailError as exc:
        logger.warning(f"call {services.call_id}: e-mail to {message['To']} not sent: {exc}")
        return False
    return True


SALES_TOOLS: tuple[Tool, ...] = tuple(
    tool(fn)
    for fn in (
        check_availability,
        book_meeting,
        send_follow_up_email,
        search_knowledge,
        schedule_callback,
        end_call,
        send_dtmf,
        switch_language,
    )
)


def sales_registry(services: CallServices) -> ToolRegistry:
    """The registry of one call."""
    return ToolRegistry(SALES_TOOLS, services)
