"""Booking on the phone with the playbook engine, against a real Radicale calendar and a real SMTP server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from talktrack.brain.base import Reply
from talktrack.brain.context import CallContext, load_context
from talktrack.brain.engine import PlaybookBrain
from talktrack.brain.playbook import Playbook, bundled_playbook, load_playbook
from talktrack.brain.when import say_when
from talktrack.testing.radicale import LocalRadicale
from talktrack.testing.smtp import LocalSmtp
from talktrack.tools.calendar import CaldavCalendar
from talktrack.tools.callbacks import CallbackBook
from talktrack.tools.knowledge import PlaybookKnowledge
from talktrack.tools.mail import Mailer
from talktrack.tools.outbox import Outbox
from talktrack.tools.sales import sales_registry
from talktrack.tools.services import CallServices, booking_rules

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")
# A Monday morning: the host's calendar (New York) has the whole week ahead.
NOW = datetime(2026, 11, 30, 10, 0, tzinfo=NY)
QUALIFY = ["Hello?", "Sure.", "We export to a spreadsheet.", "About forty people.", "Can we set up a demo?"]
_names = itertools.count()


@pytest.fixture(scope="module")
def radicale() -> Iterator[LocalRadicale]:
    with LocalRadicale() as server:
        yield server


@pytest.fixture
async def smtp() -> AsyncIterator[LocalSmtp]:
    async with LocalSmtp() as server:
        yield server


@pytest.fixture(scope="module")
def playbook() -> Playbook:
    return load_playbook(bundled_playbook())


@pytest.fixture
def context() -> CallContext:
    # Dana, America/Chicago, without the e-mail on file: the agent asks for it.
    return replace(load_context(bundled_playbook().parent / "context.yaml"), email="")


class Call:
    """One call's brain and the services it books through."""

    def __init__(self, playbook: Playbook, context: CallContext, services: CallServices) -> None:
        self.services = services
        self.brain = PlaybookBrain(playbook, context, tools=sales_registry(services))
        services.summary = self.brain.summary
        self.replies: list[Reply] = []

    async def talk(self, *lines: str) -> Reply:
        for line in lines:
            self.replies.append(await self.brain.respond(line))
        return self.replies[-1]


def calendar_for(radicale: LocalRadicale, playbook: Playbook, name: str) -> CaldavCalendar:
    assert playbook.booking is not None
    url = radicale.calendar_url("sales", name)
    return CaldavCalendar(url, calendar_name=name, rules=booking_rules(playbook.booking), timeout_s=2.0)


@pytest.fixture
def make_call(
    radicale: LocalRadicale, smtp: LocalSmtp, playbook: Playbook, tmp_path: Path
) -> Iterator[object]:
    made: list[CaldavCalendar] = []

    def make(
        context: CallContext, *, calendar: CaldavCalendar | None = None, name: str = "", now: datetime = NOW
    ) -> Call:
        calendar = calendar or calendar_for(radicale, playbook, name or f"cal{next(_names)}")
        made.append(calendar)
        outbox = Outbox(tmp_path / "outbox")
        services = CallServices(
            call_id=f"call-{next(_names)}",
            agent_id="backbeam",
            playbook=playbook,
            context=context,
            knowledge=PlaybookKnowledge(playbook),
            calendar=calendar,
            mailer=Mailer(host=smtp.host, port=smtp.port, sender="alex.rivera@backbeam.example", outbox=outbox),
            outbox=outbox,
            callbacks=CallbackBook(tmp_path / "callbacks.jsonl"),
            now=lambda: now,
        )
        return Call(playbook, context, services)

    yield make


def offered(reply: Reply) -> list[datetime]:
    return [datetime.fromisoformat(str(s)) for s in reply.decision["offered"]]  # type: ignore[attr-defined]


async def test_books_the_first_proposal_and_emails_the_invite(make_call, context, smtp) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    offer = await call.talk(*QUALIFY)
    assert offer.phase == "booking" and "Would either of those work?" in offer.text
    first, second = offered(offer)
    assert first != second
    chosen = await call.talk("The first one works.")
    spoken = say_when(first, "America/Chicago", now=NOW, with_zone=True)
    assert chosen.text == f"Perfect, {spoken}. What's the best e-mail for the invite?"
    readback = await call.talk("It's dana dot whitfield at acme logistics dot com.")
    assert "dana dot whitfield at acmelogistics dot com" in readback.text
    done = await call.talk("Yes, that's right.")
    assert done.outcome == "meeting_booked" and done.ends_call
    assert done.text.startswith(f"You're all set for {spoken}.")
    # The event is on the calendar at exactly the time the agent said, and the invite arrived with its UID.
    busy = await call.services.calendar.busy(first - timedelta(hours=1), first + timedelta(hours=2))
    assert [b.start for b in busy] == [first]
    await smtp.wait_for(1, 5.0)
    message = smtp.messages[0].message
    assert message["To"] == "Dana Whitfield <dana.whitfield@acmelogistics.com>"
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    event = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")[0]
    assert str(event["UID"]) == call.services.booked["uid"]
    assert event.decoded("DTSTART") == first
    assert "forty" in str(event["DESCRIPTION"]).lower()  # the qualification answers ride along
    tools = [t["tool"] for r in call.replies for t in r.decision.get("tools", [])]  # type: ignore[attr-defined]
    assert tools == ["check_availability", "book_meeting"]


async def test_counter_proposal_with_a_day_and_time(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY)
    # Thursday 2 PM Central is 3 PM in New York: inside the host's hours.
    chosen = await call.talk("Could we do Thursday at 2 instead?")
    assert chosen.text.startswith("Perfect, Thursday at 2 PM Central time.")
    start = datetime.fromisoformat(str(chosen.decision["start"]))
    assert start == datetime(2026, 12, 3, 14, 0, tzinfo=ZoneInfo("America/Chicago"))


async def test_none_of_those_then_a_part_of_day(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY)
    ask = await call.talk("Hmm, none of those work for me.")
    assert ask.text == "No problem. What day and time would suit you best?"
    offer = await call.talk("Friday morning is usually better.")
    chicago = ZoneInfo("America/Chicago")
    for at in offered(offer):
        local = at.astimezone(chicago)
        assert (local.date().isoformat(), local.hour < 12) == ("2026-12-04", True)


async def test_a_question_while_booking_is_answered_then_the_offer_repeats(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY)
    answer = await call.talk("Wait, is the data encrypted?")
    assert "AES 256" in answer.text
    assert "Which is better for you:" in answer.text and answer.phase == "booking"


async def test_a_slot_taken_meanwhile_is_replaced_by_other_slots(make_call, context, radicale, playbook) -> None:  # type: ignore[no-untyped-def]
    name = f"race{next(_names)}"
    call = make_call(context, name=name)
    offer = await call.talk(*QUALIFY)
    first = offered(offer)[0]
    await call.talk("The first one.", "dana.whitfield at acme logistics dot com")
    # Another call books that very slot before Dana confirms her address.
    rival = calendar_for(radicale, playbook, name)
    await rival.book(
        uid="rival@talktrack", start=first, title="Other demo", description="", attendee_name="Sam",
        attendee_email="sam@example.com", now=NOW,
    )
    retry = await call.talk("Yes.")
    assert retry.text.startswith("Ah, that time was just taken. How about")
    assert first not in offered(retry) and retry.phase == "booking"
    done = await call.talk("The first one.", "Yes, that's right.")
    assert done.outcome == "meeting_booked"
    await rival.close()


async def test_calendar_down_offers_an_email_and_loses_nothing(make_call, context, smtp) -> None:  # type: ignore[no-untyped-def]
    down = CaldavCalendar("http://127.0.0.1:9/sales/x/", calendar_name="x", timeout_s=0.5)
    call = make_call(context, calendar=down)
    reply = await call.talk(*QUALIFY)
    assert reply.text.startswith("I can't get into the calendar right now, so I'll e-mail you a few times instead.")
    await call.talk("dana dot whitfield at acme logistics dot com")
    done = await call.talk("Yes.")
    assert done.outcome == "follow_up_email" and done.ends_call
    assert "on its way to dana dot whitfield at acmelogistics dot com" in done.text
    await smtp.wait_for(1, 5.0)
    body = smtp.messages[0].message.get_body(("plain",)).get_content()
    assert "reply with the one that suits you" in body


async def test_an_incomplete_email_is_asked_again(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY, "The second one.")
    again = await call.talk("It's dana at acme.")
    assert again.text == "Sorry, could you spell the e-mail for me?"
    fixed = await call.talk("d a n a at acme dot io")
    assert fixed.text == "Let me read that back: dana at acme dot I O. Is that right?"
    wrong = await call.talk("No, that's wrong.")
    assert wrong.text == "Sorry, could you spell the e-mail for me?"


async def test_a_known_email_is_confirmed_instead_of_asked(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(replace(context, email="dana@acme.io"))
    await call.talk(*QUALIFY)
    confirm = await call.talk("The second one.")
    assert confirm.text.endswith("Should I send the invite to dana at acme dot I O?")
    done = await call.talk("Yes please.")
    assert done.outcome == "meeting_booked"


async def test_send_me_an_email_captures_the_address(make_call, context, smtp) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk("Hello?", "Sure.")
    ask = await call.talk("Can you just send me an email?")
    assert ask.text == "Sure. What's the best e-mail to send it to?"
    await call.talk("dana dot whitfield at acme logistics dot com")
    done = await call.talk("Yep.")
    assert done.outcome == "follow_up_email" and done.text.startswith("Sure thing. I'll e-mail you")
    await smtp.wait_for(1, 5.0)
    assert list(smtp.messages[0].recipients) == ["dana.whitfield@acmelogistics.com"]


async def test_call_me_back_tomorrow_at_ten(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk("Hello?")
    reply = await call.talk("Can you call me tomorrow at 10?")
    assert reply.text == "Sure, I'll call you back tomorrow at 10 AM. Talk then!"
    assert reply.outcome == "call_back_later"
    [callback] = call.services.callbacks.entries()
    assert datetime.fromisoformat(callback.at) == datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/Chicago"))


async def test_a_retracted_turn_undoes_the_booking_step(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    offer = await call.talk(*QUALIFY)
    state = call.brain.checkpoint()
    await call.talk("The first one.")
    call.brain.rollback(state)
    again = await call.talk("Actually, the second one.")
    assert datetime.fromisoformat(str(again.decision["start"])) == offered(offer)[1]


async def test_without_a_calendar_the_agent_only_asks_for_the_meeting(playbook, context, tmp_path) -> None:  # type: ignore[no-untyped-def]
    services = CallServices(
        call_id="no-cal",
        agent_id="backbeam",
        playbook=playbook,
        context=context,
        knowledge=PlaybookKnowledge(playbook),
        outbox=Outbox(tmp_path / "outbox"),
    )
    call = Call(playbook, context, services)
    reply = await call.talk(*QUALIFY)
    assert reply.outcome == "meeting_requested"
    assert reply.text.startswith("Perfect, I'll e-mail you a calendar invite")


async def test_a_time_named_at_the_close_is_a_yes_with_that_time(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk("Hello?", "Sure.", "We export to a spreadsheet.", "About forty people.", "This quarter.")
    ask = await call.talk("Just me.")
    assert ask.phase == "closing"
    chosen = await call.talk("Okay. Could we do tomorrow at 2?")
    assert chosen.text.startswith("Perfect, tomorrow at 2 PM Central time.")


async def test_refusing_the_window_that_was_offered_asks_for_another(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY)
    ask = await call.talk("Hmm, none of those work, I'm slammed this week.")
    assert ask.text == "No problem. What day and time would suit you best?"


async def test_offers_stay_inside_the_prospects_own_day(make_call, context) -> None:  # type: ignore[no-untyped-def]
    pacific = ZoneInfo("America/Los_Angeles")
    call = make_call(replace(context, timezone="America/Los_Angeles"))
    offer = await call.talk(*QUALIFY)
    # The host opens at 9 in New York, which is 6 AM in Los Angeles: never offered.
    assert all(8 <= at.astimezone(pacific).hour < 18 for at in offered(offer))


async def test_a_booking_retried_after_a_withdrawn_turn_sends_one_invite(make_call, context, smtp) -> None:  # type: ignore[no-untyped-def]
    call = make_call(replace(context, email="dana@acme.io"))
    await call.talk(*QUALIFY, "The first one.")
    state = call.brain.checkpoint()
    first = await call.talk("Yes.")
    call.brain.rollback(state)  # the prospect went on talking: "Yes, please."
    again = await call.talk("Yes. Yes, please.")
    assert first.outcome == again.outcome == "meeting_booked"
    await smtp.wait_for(1, 5.0)
    await asyncio.sleep(0.3)
    assert len(smtp.messages) == 1


async def test_an_address_cut_off_mid_sentence_is_asked_again(make_call, context) -> None:  # type: ignore[no-untyped-def]
    call = make_call(context)
    await call.talk(*QUALIFY, "The first one.")
    again = await call.talk("My email is dain.")
    assert again.text == "Sorry, could you spell the e-mail for me?" and again.phase == "booking"
