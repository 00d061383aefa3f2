"""iCalendar in and out (pure): busy intervals of stored events, and the VEVENT of a booked meeting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import icalendar

from talktrack.tools.calendar.slots import Busy

# Our own sub-second booking stamp: CREATED and DTSTAMP have whole seconds, too coarse to order two writers.
BOOKED_AT = "X-TALKTRACK-BOOKED-AT"
PRODID = "-//talktrack//calendar//EN"


@dataclass(frozen=True)
class Meeting:
    """What to write: a meeting with one prospect, organized by the host."""

    uid: str
    start: datetime
    end: datetime
    title: str
    description: str
    attendee_name: str
    attendee_email: str
    organizer_name: str = ""
    organizer_email: str = ""


def as_aware(value: date | datetime, zone: tzinfo) -> datetime:
    """An iCalendar DATE or DATE-TIME as an aware datetime: dates and floating times are wall times in ``zone``."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    return datetime.combine(value, datetime.min.time(), tzinfo=zone)


def busy_of(event: icalendar.cal.Component, zone: tzinfo) -> Busy | None:
    """The busy interval of one VEVENT (None if it blocks no time: cancelled, transparent, no start, no length)."""
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if event.get("DTSTART") is None:
        return None
    raw_start = event.decoded("DTSTART")
    if event.get("DTEND") is not None:
        raw_end = event.decoded("DTEND")
    elif event.get("DURATION") is not None:
        raw_end = raw_start + event.decoded("DURATION")
    elif isinstance(raw_start, datetime):
        raw_end = raw_start  # RFC 5545: no end and no duration means an instant...
    else:
        raw_end = raw_start + timedelta(days=1)  # ...or, for a date, the whole day
    start, end = as_aware(raw_start, zone), as_aware(raw_end, zone)
    return Busy(start, end) if end > start else None


def booked_order(event: icalendar.cal.Component) -> tuple[datetime, str]:
    """Sort key of which overlapping event was booked first: our stamp, else CREATED, else DTSTAMP; then UID."""
    uid = str(event.get("UID", ""))
    stamp = event.get(BOOKED_AT)
    if stamp is not None:
        try:
            return datetime.fromisoformat(str(stamp)).astimezone(UTC), uid
        except ValueError:
            pass
    for name in ("CREATED", "DTSTAMP"):
        if event.get(name) is not None:
            value = event.decoded(name)
            if isinstance(value, datetime):
                return as_aware(value, UTC).astimezone(UTC), uid
    return datetime.min.replace(tzinfo=UTC), uid  # undated: assume it came first and yield to it


def first_attendee(event: icalendar.cal.Component) -> str:
    """The e-mail address of the event's first ATTENDEE, or ""."""
    attendees = event.get("ATTENDEE", [])
    first = attendees[0] if isinstance(attendees, list) and attendees else attendees
    return str(first).removeprefix("mailto:").removeprefix("MAILTO:") if first else ""


def meeting_ics(meeting: Meeting, zone: tzinfo, booked_at: datetime) -> str:
    """A VCALENDAR with the meeting's VEVENT (times with TZID in ``zone``) and the VTIMEZONE it needs."""
    start, end = meeting.start.astimezone(zone), meeting.end.astimezone(zone)
    stamp = booked_at.astimezone(UTC).replace(microsecond=0)
    event = icalendar.Event()
    event.add("uid", meeting.uid)
    event.add("dtstamp", stamp)
    event.add("created", stamp)
    event.add(BOOKED_AT, booked_at.astimezone(UTC).isoformat())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", meeting.title)
    event.add("description", meeting.description)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    if meeting.organizer_email:
        event.add("organizer", _address(meeting.organizer_email, meeting.organizer_name))
    attendee = _address(meeting.attendee_email, meeting.attendee_name)
    attendee.params["ROLE"] = "REQ-PARTICIPANT"
    attendee.params["PARTSTAT"] = "NEEDS-ACTION"
    attendee.params["RSVP"] = "TRUE"
    # talktrack mails the invitation itself; a scheduling server (RFC 6638) must not send a second one.
    attendee.params["SCHEDULE-AGENT"] = "CLIENT"
    event.add("attendee", attendee)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add_component(event)
    year = timedelta(days=366)  # a VTIMEZONE covering the meeting, not every rule since 1970
    cal.add_missing_timezones(first_date=start.date() - year, last_date=end.date() + year)
    return bytes(cal.to_ical()).decode("utf-8")


def _address(email: str, name: str) -> icalendar.vCalAddress:
    address = icalendar.vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name
    return address
