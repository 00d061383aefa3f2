"""Booking on any CalDAV calendar (Radicale, Nextcloud, Fastmail, iCloud...) through the `caldav` library.

The library is synchronous: each operation runs in a worker thread, bounded both by the HTTP timeout and
by ``asyncio.wait_for``, so a slow server costs a call at most ``timeout_s``. CalDAV has no transactions;
a booking is made safe in two layers. Within one process, bookings on one calendar are serialized by a
lock keyed by the calendar's URL. Across processes, each writer re-reads the slot after writing and, if
another new event overlaps it, the one written later (by its booking stamp, then UID) deletes itself.
"""

from __future__ import annotations

import asyncio
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

import icalendar
import recurring_ical_events
from caldav.collection import Calendar
from caldav.davclient import DAVClient
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http
from loguru import logger

from talktrack.tools.calendar.ical import Meeting, as_aware, booked_order, busy_of, first_attendee, meeting_ics
from talktrack.tools.calendar.slots import BookingRules, Busy, conflicts, search_range, within_hours
from talktrack.tools.calendar.slots import free_slots as compute_free_slots

T = TypeVar("T")

UNREACHABLE = "I can't reach the calendar right now."
REFUSED = "The calendar won't let me in right now."
MISSING = "I can't find the calendar right now."
UNREADABLE = "I can't read the calendar right now."
TAKEN = "That time was just taken."
PAST = "That time has already passed."
OUTSIDE_HOURS = "That time is outside the hours I can book."

_CALDAV_NS = "{urn:ietf:params:xml:ns:caldav}"
_PARSED_CACHE_SIZE = 5000
_TIME_RANGE_QUERY = (
    '<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
    '<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR">'
    '<C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter>'
    "</C:comp-filter></C:filter></C:calendar-query>"
)
_PROPFIND_TYPE = '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>'


class CalendarError(Exception):
    """The calendar could not be read or written; str() is a sentence."""


class SlotUnavailable(CalendarError):
    """That time cannot be booked: it is past, outside business hours, or taken."""


class SlotTaken(SlotUnavailable):
    """Another event holds (part of) that time."""


@dataclass(frozen=True)
class Booking:
    """A meeting on the calendar; created=False means it already existed (an idempotent retry)."""

    uid: str
    start: datetime
    end: datetime
    title: str
    attendee_email: str
    created: bool


def booking_uid(call_id: str) -> str:
    """The stable event UID of the meeting booked on call ``call_id``."""
    if not call_id.strip():
        raise ValueError("call_id is empty; pass the id of the call the meeting is booked on")
    return f"{call_id.strip()}@talktrack"


def _safe_url(url: str) -> str:
    """``url`` without user name or password, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host if parts.port is None else f"{host}:{parts.port}"))


def _sentence(exc: BaseException) -> str:
    """What to say when ``exc`` stopped a calendar operation."""
    if isinstance(exc, CalendarError):
        return str(exc)
    if isinstance(exc, dav_error.AuthorizationError):
        return REFUSED
    if isinstance(exc, dav_error.NotFoundError):
        return MISSING
    if isinstance(exc, TimeoutError | http.exceptions.Timeout | http.exceptions.ConnectionError | OSError):
        return UNREACHABLE
    if isinstance(exc, ValueError | KeyError | SyntaxError | dav_error.ResponseError):  # SyntaxError: XML parsers
        return UNREADABLE
    return UNREACHABLE


class CaldavCalendar:
    """One calendar on a CalDAV server: busy times, free slots and idempotent, race-safe bookings."""

    _booking_locks: ClassVar[dict[str, threading.Lock]] = {}
    _locks_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        calendar_name: str | None = None,
        rules: BookingRules = BookingRules(),  # noqa: B008 - frozen, shared safely
        timeout_s: float = 3.0,
        organizer_name: str = "",
        organizer_email: str = "",
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError(f"calendar url {url!r} must be an http:// or https:// address of a CalDAV server")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive seconds, not {timeout_s}")
        if calendar_name is not None and not calendar_name.strip():
            raise ValueError("calendar_name is empty; give the calendar's display name or leave it out")
        self.url = url if url.endswith("/") else url + "/"
        self.username = username
        self.password = password
        self.calendar_name = calendar_name
        self.rules = rules
        self.timeout_s = timeout_s
        self.organizer_name = organizer_name
        self.organizer_email = organizer_email
        self._client: DAVClient | None = None
        self._calendar: Calendar | None = None
        self._parsed: dict[str, tuple[str, icalendar.Calendar]] = {}  # href -> (ETag, parsed object)
        self._io = threading.Lock()  # one HTTP session per instance; caldav's client is not thread-safe

    # -- plumbing ---------------------------------------------------------------------------------------

    async def _run(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread within ``timeout_s``; every failure becomes a CalendarError."""

        def guarded() -> T:
            if not self._io.acquire(timeout=self.timeout_s):
                raise TimeoutError("the previous calendar request has not finished")
            try:
                return fn()
            finally:
                self._io.release()

        try:
            return await asyncio.wait_for(asyncio.to_thread(guarded), self.timeout_s)
        except SlotUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - the caller hears one sentence; the cause is kept and logged
            sentence = _sentence(exc)
            logger.warning("calendar {}: {} failed: {!r}", _safe_url(self.url), what, exc)
            raise CalendarError(sentence) from exc

    def _connect(self) -> Calendar:
        """The calendar collection, found (or created) once; runs in a worker thread."""
        if self._calendar is not None:
            return self._calendar
        if self._client is None:
            self._client = DAVClient(
                url=self.url,
                username=self.username,
                password=self.password,
                timeout=cast(int, self.timeout_s),  # niquests takes float seconds; caldav's hint says int
                enable_rfc6764=False,
            )
        client = self._client
        kind = self._resource_kind(client, self.url)
        if kind == "calendar":
            calendar = Calendar(client=client, url=self.url)
        elif kind == "missing" and self.calendar_name is not None:
            calendar = self._make_calendar(client, self.url, self.calendar_name)
        elif kind == "missing":
            raise dav_error.NotFoundError(f"nothing at {_safe_url(self.url)}; give the calendar's URL or calendar_name")
        else:
            calendar = self._find_or_make(client, self.calendar_name)
        self._calendar = calendar
        return calendar

    @staticmethod
    def _resource_kind(client: DAVClient, url: str) -> str:
        response = client.propfind(url, _PROPFIND_TYPE, 0)
        if response.status == 404:
            return "missing"
        if response.status >= 400:
            raise dav_error.PropfindError(f"PROPFIND {_safe_url(url)} answered {response.status}")
        tree = ET.fromstring(response.raw)
        return "calendar" if tree.find(f".//{{DAV:}}resourcetype/{_CALDAV_NS}calendar") is not None else "collection"

    @staticmethod
    def _make_calendar(client: DAVClient, url: str, name: str) -> Calendar:
        body = (
            '<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
            f"<D:set><D:prop><D:displayname>{_xml_text(name)}</D:displayname></D:prop></D:set></C:mkcalendar>"
        )
        response = client.mkcalendar(url, body)
        if response.status == 409:  # RFC 4791: the parent collection is missing (an anonymous server's user)
            parent = url.rstrip("/").rsplit("/", 1)[0] + "/"
            if client.mkcol(parent, "").status in (200, 201):
                response = client.mkcalendar(url, body)
        if response.status not in (200, 201):
            raise dav_error.MkcalendarError(f"MKCALENDAR {_safe_url(url)} answered {response.status}")
        logger.info("calendar {}: created calendar {!r}", _safe_url(url), name)
        return Calendar(client=client, url=url)

    @classmethod
    def _find_or_make(cls, client: DAVClient, name: str | None) -> Calendar:
        """The principal's calendar called ``name`` (made if missing), or with no name its first calendar."""
        principal = client.get_principal()
        calendars = cast(list[Calendar], principal.get_calendars())
        if name is None:
            if not calendars:
                raise dav_error.NotFoundError("the account has no calendar; set calendar_name to create one")
            return calendars[0]
        slug = quote(name.strip().lower().replace(" ", "-"), safe="")
        for calendar in calendars:
            segment = str(calendar.url).rstrip("/").rsplit("/", 1)[-1]
            if segment == slug or calendar.get_display_name() == name:
                return calendar
        home = str(principal.calendar_home_set.url)
        return cls._make_calendar(client, home.rstrip("/") + f"/{slug}/", name)

    def _events(self, calendar: Calendar, start: datetime, end: datetime) -> list[icalendar.cal.Component]:
        """The VEVENTs touching [start, end), recurrences expanded; one calendar-query REPORT, each item parsed once."""
        client = cast(DAVClient, self._client)
        # Servers compare all-day and floating events in UTC or their own zone: ask a day wider, filter here.
        query = _TIME_RANGE_QUERY.format(
            start=_ical_utc(start - timedelta(days=1)), end=_ical_utc(end + timedelta(days=1))
        )
        response = client.report(str(calendar.url), query, 1)
        if response.status >= 400:
            raise dav_error.ReportError(f"REPORT {_safe_url(str(calendar.url))} answered {response.status}")
        tree: Any = response.tree
        if tree is None:
            return []
        window = (start - timedelta(days=1), end + timedelta(days=1))
        out: list[icalendar.cal.Component] = []
        for item in tree.iter("{DAV:}response"):
            data = item.findtext(f".//{_CALDAV_NS}calendar-data") or ""
            if data.strip():
                out += recurring_ical_events.of(self._parse(item, data)).between(*window)
        return out

    def _parse(self, item: Any, data: str) -> icalendar.Calendar:
        """The parsed calendar object, reused while its ETag is unchanged (parsing dominates a query's cost)."""
        href, etag = item.findtext("{DAV:}href") or "", item.findtext(".//{DAV:}getetag") or ""
        cached = self._parsed.get(href)
        if cached is not None and etag and cached[0] == etag:
            return cached[1]
        parsed = icalendar.Calendar.from_ical(data)
        if etag:
            if len(self._parsed) >= _PARSED_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[href] = (etag, parsed)
        return parsed

    def _busy(self, start: datetime, end: datetime, *, except_uid: str = "") -> list[Busy]:
        zone = self.rules.zone
        components = self._events(self._connect(), start, end)
        spans = (busy_of(c, zone) for c in components if str(c.get("UID", "")) != except_uid or not except_uid)
        return [b for b in spans if b is not None and b.start < end and b.end > start]

    async def _ready(self) -> Calendar:
        if self._calendar is None:
            return await self._run("opening the calendar", self._connect)
        return self._calendar

    # -- public -----------------------------------------------------------------------------------------

    async def busy(self, start: datetime, end: datetime) -> list[Busy]:
        """Busy intervals overlapping [start, end) (aware datetimes)."""
        _require_aware("start", start)
        _require_aware("end", end)
        if end <= start:
            raise ValueError(f"end {end.isoformat()} must be after start {start.isoformat()}")
        await self._ready()
        return await self._run("reading busy times", lambda: self._busy(start, end))

    async def free_slots(
        self,
        *,
        now: datetime | None = None,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        limit: int = 50,
    ) -> list[datetime]:
        """Free meeting starts (host zone) under the booking rules; the window may be in any zone."""
        now = now or datetime.now(UTC)
        lo, hi = search_range(self.rules, now=now, window_start=window_start, window_end=window_end)
        busy = await self.busy(lo, hi) if hi > lo else []
        return compute_free_slots(
            self.rules, busy, now=now, window_start=window_start, window_end=window_end, limit=limit
        )

    async def book(
        self,
        *,
        uid: str,
        start: datetime,
        title: str,
        description: str,
        attendee_name: str,
        attendee_email: str,
        now: datetime | None = None,
    ) -> Booking:
        """Put the meeting on the calendar once; raises SlotTaken if that time is no longer free."""
        if not uid.strip():
            raise ValueError("uid is empty; derive one from the call with booking_uid(call_id)")
        _require_aware("start", start)
        if not _EMAIL.match(attendee_email):
            raise ValueError(f"attendee_email {attendee_email!r} is not an e-mail address; ask for it again")
        calendar = await self._ready()
        lock = self._lock_for(str(calendar.url))
        if now is not None:
            _require_aware("now", now)
        end = start.astimezone(UTC) + self.rules.meeting
        meeting = Meeting(
            uid.strip(), start, end, title, description, attendee_name, attendee_email.strip(),
            self.organizer_name, self.organizer_email,
        )  # fmt: skip
        return await self._run("booking", lambda: self._book(lock, meeting, now))

    async def close(self) -> None:
        """Close the HTTP session (the next call opens a new one)."""
        client, self._client, self._calendar = self._client, None, None
        if client is not None:
            client.close()

    # -- booking ----------------------------------------------------------------------------------------

    @classmethod
    def _lock_for(cls, calendar_url: str) -> threading.Lock:
        with cls._locks_guard:
            return cls._booking_locks.setdefault(calendar_url.rstrip("/"), threading.Lock())

    def _book(self, lock: threading.Lock, m: Meeting, now: datetime | None) -> Booking:
        if not lock.acquire(timeout=self.timeout_s):
            raise TimeoutError("another booking on this calendar has not finished")
        try:
            return self._book_locked(m, now or datetime.now(UTC))
        finally:
            lock.release()

    def _book_locked(self, m: Meeting, now: datetime) -> Booking:
        """Check the slot, write the event, and re-read the slot to settle a race with another process."""
        rules, zone = self.rules, self.rules.zone
        calendar = self._connect()
        client = cast(DAVClient, self._client)
        href = str(cast(Any, calendar.url).join(quote(m.uid, safe="") + ".ics"))
        existing = self._get(client, href)
        if existing is not None:
            return self._booking_from(existing, created=False)
        start = m.start.astimezone(UTC)
        if start <= now:
            raise SlotUnavailable(PAST)
        if not within_hours(rules, start):
            raise SlotUnavailable(OUTSIDE_HOURS)
        lo, hi = start - rules.buffer, start + rules.meeting + rules.buffer
        if conflicts(rules, self._busy(lo, hi, except_uid=m.uid), start):
            raise SlotTaken(TAKEN)
        booked_at = datetime.now(UTC)
        headers = {"Content-Type": 'text/calendar; charset="utf-8"', "If-None-Match": "*"}
        response = client.put(href, meeting_ics(m, zone, booked_at), headers)
        if response.status == 412:  # another process wrote this UID a moment ago
            existing = self._get(client, href)
            if existing is not None:
                return self._booking_from(existing, created=False)
        if response.status not in (200, 201, 204):
            raise dav_error.PutError(f"PUT {_safe_url(href)} answered {response.status}")
        mine = (booked_at, m.uid)
        for other in self._events(calendar, lo, hi):
            if str(other.get("UID", "")) == m.uid:
                continue
            busy = busy_of(other, zone)
            if busy is not None and conflicts(rules, [busy], start) and booked_order(other) < mine:
                client.delete(href)
                logger.info("calendar {}: {} lost {} to {}", _safe_url(self.url), m.uid, start, other.get("UID"))
                raise SlotTaken(TAKEN)
        return Booking(m.uid, start.astimezone(zone), m.end.astimezone(zone), m.title, m.attendee_email, True)

    @staticmethod
    def _get(client: DAVClient, href: str) -> icalendar.cal.Component | None:
        response = client.request(href, "GET")
        if response.status == 404:
            return None
        if response.status >= 400:
            raise dav_error.ResponseError(f"GET {_safe_url(href)} answered {response.status}")
        events = icalendar.Calendar.from_ical(response.raw).walk("VEVENT")
        if not events:
            raise ValueError(f"{_safe_url(href)} holds no VEVENT")
        return events[0]

    def _booking_from(self, event: icalendar.cal.Component, *, created: bool) -> Booking:
        zone = self.rules.zone
        busy = busy_of(event, zone)
        start = as_aware(event.decoded("DTSTART"), zone)
        end = busy.end if busy is not None else start + self.rules.meeting
        title, email = str(event.get("SUMMARY", "")), first_attendee(event)
        return Booking(str(event["UID"]), start.astimezone(zone), end.astimezone(zone), title, email, created)


_EMAIL = re.compile(r"^[^@\s<>,;:\"]+@[^@\s<>,;:\"]+$")


def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone; pass an aware datetime (e.g. tzinfo=UTC)")


def _ical_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
