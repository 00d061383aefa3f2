"""Invites and follow-ups go through a real SMTP server; what arrives is parsed as a mail client would."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta, tzinfo
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import icalendar
import pytest

from talktrack.testing.smtp import LocalSmtp, free_port
from talktrack.tools.mail import (
    COULD_NOT_SEND,
    Invite,
    Mailer,
    MailError,
    follow_up_message,
    invite_message,
    valid_email,
    when_text,
)
from talktrack.tools.outbox import Outbox

SENDER = "Backbeam <agent@backbeam.example>"
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def _invite(start: datetime, minutes: int = 30, timezone: str = "Europe/Berlin", **changes: str) -> Invite:
    fields = {
        "uid": "call-7f3a@backbeam.example",
        "start": start,
        "end": start + timedelta(minutes=minutes),
        "timezone": timezone,
        "title": "Backbeam demo",
        "description": "Call summary: 40 seats, budget approved for Q1, wants SSO.",
        "organizer_name": "Sam Seller",
        "organizer_email": "sam@backbeam.example",
        "attendee_name": "Jürgen Müller",
        "attendee_email": "juergen@firma.example",
        **changes,
    }
    return Invite(**fields)  # type: ignore[arg-type]


def _calendar_part(message: EmailMessage) -> EmailMessage:
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    assert isinstance(parts[0], EmailMessage)
    return parts[0]


def _text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    return str(body.get_content())


def _at(event: icalendar.Event, name: str) -> datetime:
    value = event.decoded(name)
    assert isinstance(value, datetime)
    return value


def _own_rules(calendar: icalendar.Calendar) -> tzinfo:
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert isinstance(vtimezone, icalendar.Timezone)
    rules: tzinfo = vtimezone.to_tz()
    return rules


def _event(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(_calendar_part(message).get_content())
    [event] = calendar.events
    return calendar, event


@pytest.mark.parametrize(
    "address",
    ["anna@example.com", "anna.lee+sales@mail.example.co.uk", "j_o-e@sub-domain.example.io", "x@xn--bcher-kva.ch"],
)
def test_valid_email_accepts_spoken_addresses(address: str) -> None:
    assert valid_email(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "anna",
        "anna@example",
        "anna at example dot com",
        "anna@@example.com",
        "anna@exa mple.com",
        " anna@example.com",
        ".anna@example.com",
        "anna..lee@example.com",
        "anna@-example.com",
        "anna@example.c",
        "anna@example.123",
        "Anna <anna@example.com>",
        "a" * 65 + "@example.com",
    ],
)
def test_valid_email_rejects_what_is_not_an_address(address: str) -> None:
    assert not valid_email(address)


@pytest.mark.parametrize(
    ("start", "end", "zone", "expected"),
    [
        (
            datetime(2026, 12, 1, 10, tzinfo=NEW_YORK),
            datetime(2026, 12, 1, 10, 30, tzinfo=NEW_YORK),
            "America/New_York",
            "Tuesday, December 1, 2026, 10:00–10:30 AM EST (America/New_York)",
        ),
        (
            datetime(2026, 12, 1, 11, 30, tzinfo=NEW_YORK),
            datetime(2026, 12, 1, 12, 15, tzinfo=NEW_YORK),
            "Europe/Berlin",
            "Tuesday, December 1, 2026, 5:30–6:15 PM CET (Europe/Berlin)",
        ),
        (
            datetime(2026, 7, 1, 11, 30, tzinfo=NEW_YORK),
            datetime(2026, 7, 1, 12, 30, tzinfo=NEW_YORK),
            "America/New_York",
            "Wednesday, July 1, 2026, 11:30 AM–12:30 PM EDT (America/New_York)",
        ),
        (
            datetime(2026, 7, 1, 9, tzinfo=UTC),
            datetime(2026, 7, 1, 9, 45, tzinfo=UTC),
            "UTC",
            "Wednesday, July 1, 2026, 9:00–9:45 AM UTC",
        ),
        (
            datetime(2026, 7, 1, 9, tzinfo=UTC),
            datetime(2026, 7, 1, 9, 30, tzinfo=UTC),
            "Asia/Dubai",
            "Wednesday, July 1, 2026, 1:00–1:30 PM UTC+04 (Asia/Dubai)",
        ),
        (
            datetime(2026, 7, 1, 23, 30, tzinfo=NEW_YORK),
            datetime(2026, 7, 2, 0, 30, tzinfo=NEW_YORK),
            "America/New_York",
            "Wednesday, July 1, 2026, 11:30 PM EDT – Thursday, July 2, 2026, 12:30 AM EDT (America/New_York)",
        ),
        (  # the clocks go back during the meeting: 1:30 EDT, one hour later 1:30 EST
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
            "America/New_York",
            "Sunday, November 1, 2026, 1:30 AM EDT–1:30 AM EST (America/New_York)",
        ),
    ],
)
def test_when_text_reads_like_a_person_says_it(start: datetime, end: datetime, zone: str, expected: str) -> None:
    assert when_text(start, end, zone) == expected


def test_bad_times_and_zones_are_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        when_text(datetime(2026, 7, 1, 9, tzinfo=UTC), datetime(2026, 7, 1, 10, tzinfo=UTC), "Mars/Olympus")
    with pytest.raises(ValueError, match="aware datetimes"):
        when_text(datetime(2026, 7, 1, 9), datetime(2026, 7, 1, 10), "UTC")
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="ends .* before it starts"):
        invite_message(_invite(start, minutes=-30), sender=SENDER)


def test_bad_addresses_are_named_with_the_fix() -> None:
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"attendee address 'juergen at firma' .*name@example.com"):
        invite_message(_invite(start, attendee_email="juergen at firma"), sender=SENDER)
    with pytest.raises(ValueError, match="recipient address 'nobody'"):
        follow_up_message(sender=SENDER, to="nobody", to_name="No One", subject="Hi", body="Hello")
    with pytest.raises(ValueError, match="sender address"):
        Mailer(host="127.0.0.1", port=25, sender="Backbeam")


@pytest.mark.integration
async def test_invite_arrives_as_a_calendar_request_in_the_attendees_zone(tmp_path: Path) -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 16:00 in Berlin (CET, UTC+1)
    outbox = Outbox(tmp_path / "outbox")
    async with LocalSmtp() as smtp:
        mailer = Mailer(host=smtp.host, port=smtp.port, sender=SENDER, outbox=outbox)
        message_id = await mailer.send(invite_message(_invite(start), sender=SENDER))
        [received] = await smtp.wait_for(1)

    assert received.sender == "agent@backbeam.example"
    assert received.recipients == ("juergen@firma.example",)
    arrived = received.message
    assert arrived["Message-ID"] == message_id
    assert arrived["To"].addresses[0].display_name == "Jürgen Müller"
    assert (
        arrived["Subject"] == "Invitation: Backbeam demo @ Tuesday, December 1, 2026, 4:00–4:30 PM CET (Europe/Berlin)"
    )
    assert arrived["Reply-To"].addresses[0].addr_spec == "sam@backbeam.example"
    assert arrived.get_content_type() == "multipart/mixed"
    alternative, attachment = arrived.iter_parts()
    assert [part.get_content_type() for part in alternative.iter_parts()] == ["text/plain", "text/calendar"]

    calendar_part = _calendar_part(arrived)
    assert calendar_part.get_param("method") == "REQUEST"
    assert calendar_part.get_content_charset() == "utf-8"
    calendar, event = _event(arrived)
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0" and "PRODID" in calendar
    assert str(event["UID"]) == "call-7f3a@backbeam.example"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTEND"].params["TZID"] == "Europe/Berlin"
    assert _at(event, "DTSTART").replace(tzinfo=None) == datetime(2026, 12, 1, 16, 0)
    assert _at(event, "DTEND").replace(tzinfo=None) == datetime(2026, 12, 1, 16, 30)
    assert _at(event, "DTSTART") == start and _at(event, "DTEND") == start + timedelta(minutes=30)
    assert event.decoded("DTSTAMP").utcoffset() == timedelta(0)
    assert str(event["ORGANIZER"]) == "mailto:sam@backbeam.example"
    assert event["ORGANIZER"].params["CN"] == "Sam Seller"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:juergen@firma.example"
    assert dict(attendee.params) == {
        "CN": "Jürgen Müller",
        "ROLE": "REQ-PARTICIPANT",
        "PARTSTAT": "NEEDS-ACTION",
        "RSVP": "TRUE",
    }
    assert str(event["DESCRIPTION"]) == "Call summary: 40 seats, budget approved for Q1, wants SSO."
    assert str(event["SUMMARY"]) == "Backbeam demo"
    assert event["SEQUENCE"] == 0 and str(event["STATUS"]) == "CONFIRMED"
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Berlin"

    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    attached = icalendar.Calendar.from_ical(attachment.get_content())
    assert str(attached.events[0]["UID"]) == "call-7f3a@backbeam.example"

    text = _text(arrived)
    assert text.startswith("Hi Jürgen Müller,")
    assert "When: Tuesday, December 1, 2026, 4:00–4:30 PM CET (Europe/Berlin)" in text
    assert "Organizer: Sam Seller <sam@backbeam.example>" in text
    assert "Call summary: 40 seats, budget approved for Q1, wants SSO." in text

    [entry] = outbox.entries()
    assert (entry.status, entry.kind, entry.message_id) == ("sent", "invite", message_id)


@pytest.mark.integration
async def test_invite_after_the_clocks_change_keeps_the_utc_instant() -> None:
    # Booked in winter for the day after Berlin moves to summer time (29 March 2026): 09:00 CEST is 07:00 UTC.
    start = datetime(2026, 3, 30, 7, tzinfo=UTC)
    # ...and a New York meeting that spans the night the clocks go back: 01:30 EDT to 01:30 EST is one hour.
    overnight = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    async with LocalSmtp() as smtp:
        mailer = Mailer(host=smtp.host, port=smtp.port, sender=SENDER)
        await mailer.send(invite_message(_invite(start), sender=SENDER))
        await mailer.send(invite_message(_invite(overnight, minutes=60, timezone="America/New_York"), sender=SENDER))
        first, second = await smtp.wait_for(2)

    calendar, event = _event(first.message)
    assert _at(event, "DTSTART").replace(tzinfo=None) == datetime(2026, 3, 30, 9, 0)
    assert _at(event, "DTSTART").astimezone(UTC) == start
    # A client that only trusts the VTIMEZONE in the message (Outlook) must reach the same instant.
    own_rules = _own_rules(calendar)
    assert _at(event, "DTSTART").replace(tzinfo=own_rules).astimezone(UTC) == start
    text = _text(first.message)
    assert "Monday, March 30, 2026, 9:00–9:30 AM CEST (Europe/Berlin)" in text

    calendar, event = _event(second.message)
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert _at(event, "DTSTART").astimezone(UTC) == overnight
    assert _at(event, "DTEND").astimezone(UTC) == overnight + timedelta(hours=1)
    # 01:30 happens twice that night and RFC 5545 reads a TZID time as the first one: the end must be in UTC.
    assert event["DTEND"].to_ical() == b"20261101T063000Z"
    own_rules = _own_rules(calendar)
    assert _at(event, "DTSTART").replace(tzinfo=own_rules).astimezone(UTC) == overnight
    assert "1:30 AM EDT–1:30 AM EST (America/New_York)" in second.message["Subject"]


@pytest.mark.integration
async def test_utc_invite_is_written_in_utc_without_a_vtimezone() -> None:
    start = datetime(2026, 7, 1, 9, tzinfo=UTC)
    async with LocalSmtp() as smtp:
        await Mailer(host=smtp.host, port=smtp.port, sender=SENDER).send(
            invite_message(_invite(start, timezone="UTC", location="https://meet.example/backbeam"), sender=SENDER)
        )
        [received] = await smtp.wait_for(1)
    calendar, event = _event(received.message)
    assert "TZID" not in event["DTSTART"].params
    assert event["DTSTART"].to_ical() == b"20260701T090000Z"
    assert calendar.walk("VTIMEZONE") == []
    assert str(event["LOCATION"]) == "https://meet.example/backbeam"
    assert "Where: https://meet.example/backbeam" in _text(received.message)


@pytest.mark.integration
async def test_follow_up_arrives(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    body = "Hi Anna,\n\nthanks for the call. Here is the pricing sheet we talked about.\n\nSam"
    async with LocalSmtp() as smtp:
        mailer = Mailer(host=smtp.host, port=smtp.port, sender=SENDER, outbox=outbox)
        message_id = await mailer.send(
            follow_up_message(sender=SENDER, to="anna@acme.example", to_name="Anna Lee", subject="Pricing", body=body)
        )
        [received] = await smtp.wait_for(1)
    arrived = received.message
    assert received.recipients == ("anna@acme.example",)
    assert str(arrived["To"]) == "Anna Lee <anna@acme.example>"
    assert str(arrived["From"]) == SENDER
    assert arrived["Subject"] == "Pricing"
    assert arrived["Message-ID"] == message_id and arrived["Date"] is not None
    assert arrived.get_content_type() == "text/plain"
    assert arrived.get_content() == body + "\n"
    assert [(entry.kind, entry.status) for entry in outbox.entries()] == [("follow_up", "sent")]


@pytest.mark.integration
async def test_server_down_fails_fast_and_keeps_the_message_to_resend(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    mailer = Mailer(host="127.0.0.1", port=free_port(), sender=SENDER, outbox=outbox)
    message = invite_message(_invite(datetime(2026, 12, 1, 15, tzinfo=UTC)), sender=SENDER)
    began = time.perf_counter()
    with pytest.raises(MailError) as caught:
        await mailer.send(message)
    assert time.perf_counter() - began < 2.0
    assert str(caught.value) == COULD_NOT_SEND == "I couldn't send the e-mail just now."
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPConnectError | OSError)
    [failed] = outbox.entries()
    assert failed.status == "failed" and failed.kind == "invite" and failed.error

    # Nothing is lost: the stored copy goes out once a server is there.
    async with LocalSmtp() as smtp:
        resender = Mailer(host=smtp.host, port=smtp.port, sender=SENDER, outbox=outbox)
        assert await resender.send(outbox.message(failed)) == failed.message_id
        [received] = await smtp.wait_for(1)
    assert str(_event(received.message)[1]["UID"]) == "call-7f3a@backbeam.example"
    assert [entry.status for entry in outbox.entries()] == ["failed", "sent"]


@pytest.mark.integration
async def test_authentication() -> None:
    message = follow_up_message(sender=SENDER, to="anna@acme.example", to_name="Anna", subject="Hi", body="Hello")
    async with LocalSmtp(username="agent", password="s3cret") as smtp:
        wrong = Mailer(host=smtp.host, port=smtp.port, sender=SENDER, username="agent", password="guess")
        with pytest.raises(MailError, match="couldn't send") as caught:
            await wrong.send(message)
        assert isinstance(caught.value.__cause__, aiosmtplib.SMTPAuthenticationError)
        anonymous = Mailer(host=smtp.host, port=smtp.port, sender=SENDER)
        with pytest.raises(MailError):
            await anonymous.send(message)
        assert smtp.messages == []
        right = Mailer(host=smtp.host, port=smtp.port, sender=SENDER, username="agent", password="s3cret")
        await right.send(message)
        [received] = await smtp.wait_for(1)
    assert received.message["Subject"] == "Hi"


@pytest.mark.integration
async def test_refused_recipient(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    message = follow_up_message(sender=SENDER, to="bob@refused.example", to_name="Bob", subject="Hi", body="Hello")
    async with LocalSmtp(refuse_domains=("refused.example",)) as smtp:
        with pytest.raises(MailError) as caught:
            await Mailer(host=smtp.host, port=smtp.port, sender=SENDER, outbox=outbox).send(message)
        assert smtp.messages == []
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPRecipientsRefused)
    [entry] = outbox.entries()
    assert entry.status == "failed" and "bob@refused.example" in entry.error


@pytest.mark.integration
async def test_silent_server_times_out() -> None:
    # Accepts the connection and never greets: the mailer gives up after timeout_s.
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        mailer = Mailer(host="127.0.0.1", port=port, sender=SENDER, timeout_s=0.3)
        message = follow_up_message(sender=SENDER, to="anna@acme.example", to_name="Anna", subject="Hi", body="Hi")
        began = time.perf_counter()
        with pytest.raises(MailError) as caught:
            await mailer.send(message)
        elapsed = time.perf_counter() - began
    assert 0.25 < elapsed < 2.0
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPTimeoutError | TimeoutError)


@pytest.mark.integration
async def test_wait_for_names_what_arrived() -> None:
    async with LocalSmtp() as smtp:
        with pytest.raises(TimeoutError, match="0 of 1 messages"):
            await smtp.wait_for(1, timeout=0.1)
