"""The CalDAV calendar against a real Radicale server: busy times, bookings, races and failures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import textwrap
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest

from talktrack.testing.radicale import LocalRadicale, events_in
from talktrack.testing.smtp import free_port
from talktrack.tools.calendar import (
    Booking,
    BookingRules,
    CaldavCalendar,
    CalendarError,
    SlotTaken,
    SlotUnavailable,
    booking_uid,
)
from talktrack.tools.calendar.caldav_calendar import (
    MISSING,
    OUTSIDE_HOURS,
    PAST,
    REFUSED,
    TAKEN,
    UNREACHABLE,
    UNREADABLE,
)

pytestmark = pytest.mark.integration

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
RULES = BookingRules()
NOW = datetime(2027, 3, 1, 8, 0, tzinfo=NY)  # a Monday; with the 2 h lead time the first slot is 10:00


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


@pytest.fixture(scope="module")
def radicale() -> Iterator[LocalRadicale]:
    with LocalRadicale() as server:
        yield server


@pytest.fixture(scope="module")
def locked_radicale() -> Iterator[LocalRadicale]:
    with LocalRadicale(username="host", password="s3cret") as server:
        yield server


def _calendar(url: str, **changes: object) -> CaldavCalendar:
    options: dict[str, object] = {
        "calendar_name": "Sales",
        "rules": RULES,
        "organizer_name": "Dana Host",
        "organizer_email": "dana@backbeam.example",
    }
    options.update(changes)
    return CaldavCalendar(url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def calendar(radicale: LocalRadicale) -> AsyncIterator[CaldavCalendar]:
    cal = _calendar(radicale.calendar_url("host", f"sales-{uuid.uuid4().hex[:8]}"))
    assert await cal.free_slots(now=NOW, limit=1)  # creates the calendar
    yield cal
    await cal.close()


def _event(uid: str, start: date | datetime, end: date | datetime | None = None, **props: object) -> str:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime(2027, 2, 1, tzinfo=UTC))
    event.add("summary", uid)
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    for name, value in props.items():
        event.add(name, value)
    cal = icalendar.Calendar()
    cal.add("prodid", "-//test//EN")
    cal.add("version", "2.0")
    cal.add_component(event)
    cal.add_missing_timezones(first_date=date(2027, 1, 1), last_date=date(2028, 1, 1))
    return bytes(cal.to_ical()).decode()


def _put(calendar: CaldavCalendar, uid: str, ics: str) -> None:
    response = httpx.put(f"{calendar.url}{uid}.ics", content=ics, headers={"Content-Type": "text/calendar"})
    assert response.status_code in (201, 204), response.text


def _stored(radicale: LocalRadicale, uid: str) -> list[icalendar.Event]:
    found = [icalendar.Calendar.from_ical(raw) for raw in events_in(radicale.storage_dir)]
    return [e for cal in found for e in cal.walk("VEVENT") if str(e["UID"]) == uid]


async def _book(cal: CaldavCalendar, uid: str, start: datetime, now: datetime = NOW) -> Booking:
    return await cal.book(
        uid=uid,
        start=start,
        title="Backbeam demo",
        description="Alex wants to see the reporting.",
        attendee_name="Alex Morgan",
        attendee_email="alex@example.com",
        now=now,
    )


async def test_existing_events_remove_slots(calendar: CaldavCalendar) -> None:
    _put(
        calendar,
        "berlin",
        _event("berlin", datetime(2027, 3, 2, 16, tzinfo=BERLIN), datetime(2027, 3, 2, 17, tzinfo=BERLIN)),
    )
    _put(calendar, "utc", _event("utc", datetime(2027, 3, 2, 17, tzinfo=UTC), datetime(2027, 3, 2, 17, 30, tzinfo=UTC)))
    _put(calendar, "allday", _event("allday", date(2027, 3, 3), date(2027, 3, 4)))
    _put(calendar, "cancelled", _event("cancelled", ny(2027, 3, 2, 14), ny(2027, 3, 2, 15), status="CANCELLED"))
    _put(calendar, "free", _event("free", ny(2027, 3, 2, 15), ny(2027, 3, 2, 16), transp="TRANSPARENT"))
    _put(
        calendar,
        "daily",
        _event("daily", ny(2027, 3, 1, 9), ny(2027, 3, 1, 9, 30), rrule={"FREQ": "DAILY", "COUNT": 5}),
    )
    _put(calendar, "duration", _event("duration", ny(2027, 3, 4, 13), duration=timedelta(hours=1)))
    _put(calendar, "floating", _event("floating", datetime(2027, 3, 5, 11), datetime(2027, 3, 5, 12)))

    slots = {s.strftime("%a %H:%M") for s in await calendar.free_slots(now=NOW, limit=200) if s.day <= 5}

    taken = ["Tue 10:00", "Tue 10:30", "Tue 12:00", "Tue 09:00", "Thu 09:00", "Fri 09:00", "Thu 13:00", "Thu 13:30"]
    taken += ["Fri 11:00", "Fri 11:30"]
    assert not slots & set(taken)
    assert not {s for s in slots if s.startswith("Wed")}  # the all-day event blocks the whole day
    assert {"Tue 09:30", "Tue 11:00", "Tue 12:30", "Tue 14:00", "Tue 15:00", "Thu 09:30", "Thu 14:00"} <= slots
    assert len(slots) == 14 + (16 - 4) + 0 + (16 - 3) + (16 - 3)  # Mon from 10:00, then Tue, Wed, Thu, Fri

    busy = await calendar.busy(ny(2027, 3, 3, 0), ny(2027, 3, 4, 0))
    assert sorted((b.start, b.end) for b in busy) == [
        (ny(2027, 3, 3, 0), ny(2027, 3, 4, 0)),  # the all-day event, midnight to midnight in the host's zone
        (ny(2027, 3, 3, 9), ny(2027, 3, 3, 9, 30)),  # the third occurrence of the daily one
    ]


async def test_book_writes_an_invitation_with_organizer_and_attendee(
    calendar: CaldavCalendar, radicale: LocalRadicale
) -> None:
    start = ny(2027, 3, 2, 13, 0)
    made = await _book(calendar, booking_uid("call-7f3a"), start)

    assert made == Booking(
        "call-7f3a@talktrack", start, ny(2027, 3, 2, 13, 30), "Backbeam demo", "alex@example.com", True
    )
    [event] = _stored(radicale, "call-7f3a@talktrack")
    assert event.decoded("DTSTART") == start and event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.decoded("DTEND") == ny(2027, 3, 2, 13, 30)
    assert str(event["SUMMARY"]) == "Backbeam demo" and "reporting" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["ORGANIZER"]) == "mailto:dana@backbeam.example" and event["ORGANIZER"].params["CN"] == "Dana Host"
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:alex@example.com"
    assert attendee.params["SCHEDULE-AGENT"] == "CLIENT"  # the invitation goes out by talktrack's own mail
    assert (attendee.params["CN"], attendee.params["RSVP"], attendee.params["ROLE"]) == (
        "Alex Morgan",
        "TRUE",
        "REQ-PARTICIPANT",
    )
    assert isinstance(event.decoded("CREATED"), datetime) and isinstance(event.decoded("DTSTAMP"), datetime)
    assert start not in await calendar.free_slots(now=NOW)


async def test_booking_twice_with_one_uid_keeps_one_event(calendar: CaldavCalendar, radicale: LocalRadicale) -> None:
    uid = booking_uid("call-retry")
    first = await _book(calendar, uid, ny(2027, 3, 3, 10, 0))
    again = await _book(calendar, uid, ny(2027, 3, 3, 10, 0))
    moved = await _book(calendar, uid, ny(2027, 3, 4, 15, 0))  # a retry never books a second meeting

    assert first.created and not again.created and not moved.created
    assert again.start == moved.start == first.start and again.attendee_email == "alex@example.com"
    assert len(_stored(radicale, uid)) == 1


async def test_a_slot_taken_meanwhile_is_refused(calendar: CaldavCalendar) -> None:
    start = ny(2027, 3, 2, 11, 0)
    _put(calendar, "other", _event("other", ny(2027, 3, 2, 11, 15), ny(2027, 3, 2, 11, 45)))
    with pytest.raises(SlotTaken) as caught:
        await _book(calendar, booking_uid("late"), start)
    assert str(caught.value) == TAKEN


async def test_times_outside_the_rules_are_refused(calendar: CaldavCalendar) -> None:
    with pytest.raises(SlotUnavailable, match=OUTSIDE_HOURS):
        await _book(calendar, "evening@talktrack", ny(2027, 3, 2, 18, 0))
    with pytest.raises(SlotUnavailable, match=OUTSIDE_HOURS):
        await _book(calendar, "saturday@talktrack", ny(2027, 3, 6, 10, 0))
    with pytest.raises(SlotUnavailable, match=PAST):
        await _book(calendar, "past@talktrack", ny(2027, 3, 2, 10, 0), now=ny(2027, 3, 2, 12, 0))
    with pytest.raises(ValueError, match="attendee_email"):
        await calendar.book(
            uid="x@talktrack",
            start=ny(2027, 3, 2, 10),
            title="t",
            description="d",
            attendee_name="A",
            attendee_email="alex at example",
        )


async def test_concurrent_bookings_of_one_slot_have_one_winner(calendar: CaldavCalendar) -> None:
    rival = CaldavCalendar(calendar.url, calendar_name="Sales", rules=RULES)
    try:
        for i in range(5):
            start = ny(2027, 3, 4, 10, 0) + timedelta(minutes=30 * i)
            results = await asyncio.gather(
                _book(calendar, f"a{i}@talktrack", start),
                _book(rival, f"b{i}@talktrack", start),
                return_exceptions=True,
            )
            assert sorted(type(r).__name__ for r in results) == ["Booking", "SlotTaken"], results
            busy = await calendar.busy(start, start + timedelta(minutes=30))
            assert len(busy) == 1
    finally:
        await rival.close()


_RIVAL_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime
    from talktrack.tools.calendar import CaldavCalendar, CalendarError

    async def main() -> None:
        cal = CaldavCalendar(sys.argv[1], calendar_name="Sales")
        now = datetime.fromisoformat(sys.argv[2])
        await cal.free_slots(now=now, limit=1)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            uid, start = line.split()
            try:
                await cal.book(uid=uid, start=datetime.fromisoformat(start), title="t", description="d",
                               attendee_name="B", attendee_email="b@example.com", now=now)
                print("won", flush=True)
            except CalendarError as exc:
                print(type(exc).__name__, flush=True)

    asyncio.run(main())
    """
)


async def test_bookings_from_two_processes_have_one_winner(calendar: CaldavCalendar) -> None:
    rival = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _RIVAL_PROCESS,
        calendar.url,
        NOW.isoformat(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert rival.stdin is not None and rival.stdout is not None
    try:
        assert (await asyncio.wait_for(rival.stdout.readline(), 30)).strip() == b"ready"
        for i in range(5):
            start = ny(2027, 3, 5, 13, 0) + timedelta(minutes=30 * i)
            rival.stdin.write(f"p{i}@talktrack {start.isoformat()}\n".encode())
            await rival.stdin.drain()
            mine, theirs = await asyncio.gather(
                _book(calendar, f"q{i}@talktrack", start), rival.stdout.readline(), return_exceptions=True
            )
            outcomes = sorted(["won" if isinstance(mine, Booking) else type(mine).__name__, theirs.decode().strip()])
            assert outcomes == ["SlotTaken", "won"], outcomes
            assert len(await calendar.busy(start, start + timedelta(minutes=30))) == 1
    finally:
        rival.stdin.close()
        with contextlib.suppress(ProcessLookupError):
            rival.kill()
        await rival.wait()


async def test_server_down_fails_fast() -> None:
    cal = _calendar(f"http://127.0.0.1:{free_port()}/host/sales/", timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(CalendarError) as caught:
        await cal.free_slots(now=NOW)
    assert time.monotonic() - started < 2.0
    assert str(caught.value) == UNREACHABLE and caught.value.__cause__ is not None


async def test_a_server_that_never_answers_times_out() -> None:
    held: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept, read nothing, answer nothing

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cal = _calendar(f"http://127.0.0.1:{port}/host/sales/", timeout_s=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(CalendarError, match=UNREACHABLE):
            await cal.free_slots(now=NOW)
        assert time.monotonic() - started < 1.0
        with pytest.raises(CalendarError, match=UNREACHABLE):
            await _book(cal, "slow@talktrack", ny(2027, 3, 2, 10))
        assert time.monotonic() - started < 2.0
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
        await cal.close()


async def test_garbage_from_the_server_is_reported_as_unreadable() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")), 0
        )
        await reader.readexactly(length)
        body = b"<multistatus><oops"
        writer.write(b"HTTP/1.1 207 Multi-Status\r\nContent-Type: text/xml\r\nConnection: close\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    cal = _calendar(f"http://127.0.0.1:{port}/host/sales/", timeout_s=2.0)
    try:
        with pytest.raises(CalendarError, match=UNREADABLE):
            await cal.free_slots(now=NOW)
    finally:
        server.close()
        await server.wait_closed()
        await cal.close()


async def test_a_missing_calendar_without_a_name_is_reported(radicale: LocalRadicale) -> None:
    cal = CaldavCalendar(radicale.calendar_url("nobody", "nothing"))
    with pytest.raises(CalendarError, match=MISSING):
        await cal.free_slots(now=NOW)


async def test_credentials(locked_radicale: LocalRadicale) -> None:
    wrong = _calendar(locked_radicale.url, username="host", password="guess")
    with pytest.raises(CalendarError, match=REFUSED):
        await wrong.free_slots(now=NOW)
    right = _calendar(locked_radicale.url, username="host", password="s3cret")
    made = await _book(right, "auth@talktrack", ny(2027, 3, 2, 10))
    assert made.created
    # No calendar name: the account's first calendar, which now holds the booking.
    first = CaldavCalendar(locked_radicale.url, username="host", password="s3cret", rules=RULES)
    assert ny(2027, 3, 2, 10) not in await first.free_slots(now=NOW)
    assert ny(2027, 3, 2, 10, 30) in await first.free_slots(now=NOW)
    for cal in (wrong, right, first):
        await cal.close()


async def test_local_radicale_leaves_nothing_behind(tmp_path: Path) -> None:
    async with LocalRadicale(tmp_path / "store") as server:
        pid, port = server.pid, server.port
        assert pid is not None and server.running
        cal = CaldavCalendar(server.calendar_url("demo", "sales"), calendar_name="Sales", rules=RULES)
        await _book(cal, "kept@talktrack", ny(2027, 3, 2, 10))
        await cal.close()
    assert not server.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    assert any("kept@talktrack" in raw for raw in events_in(tmp_path / "store"))  # a given folder is kept
