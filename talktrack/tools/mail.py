"""Meeting invites and follow-up e-mails: build RFC 5322 messages with an iCalendar REQUEST, send them over SMTP."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiosmtplib
import icalendar
from loguru import logger

from talktrack.tools.outbox import KIND_HEADER, Outbox, Status

PRODID = "-//talktrack//talktrack meeting invite//EN"
COULD_NOT_SEND = "I couldn't send the e-mail just now."

# Spoken addresses are plain: dotted local part, dotted host names, an alphabetic (or punycode) top-level domain.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TLD = r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_EMAIL = re.compile(rf"{_LOCAL}@(?:{_LABEL}\.)+{_TLD}")


class MailError(Exception):
    """Sending failed; str() is a sentence a person could say."""


@dataclass(frozen=True)
class Invite:
    """A meeting to put in the attendee's calendar."""

    uid: str
    start: datetime  # aware
    end: datetime  # aware
    timezone: str  # IANA zone DTSTART/DTEND are written in (the attendee's), or "UTC"
    title: str
    description: str  # carries the call summary
    organizer_name: str
    organizer_email: str
    attendee_name: str
    attendee_email: str
    location: str = ""


def valid_email(address: str) -> bool:
    """Whether ``address`` looks like local@domain.tld (no display name, no spaces)."""
    if len(address) > 254 or address.count("@") != 1 or len(address.partition("@")[0]) > 64:
        return False
    return _EMAIL.fullmatch(address) is not None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"Unknown time zone {name!r}; use an IANA name such as 'America/New_York' or 'UTC'.") from None


def _clock(moment: datetime) -> str:
    return f"{moment.hour % 12 or 12}:{moment.minute:02d}"


def _meridiem(moment: datetime) -> str:
    return "AM" if moment.hour < 12 else "PM"


def _abbreviation(moment: datetime) -> str:
    name = moment.tzname() or ""
    # Zones without a common abbreviation report "+03"; "UTC+03" reads better.
    return f"UTC{name}" if name[:1] in "+-" else name


def _day(moment: datetime) -> str:
    return f"{moment:%A}, {moment:%B} {moment.day}, {moment.year}"


def when_text(start: datetime, end: datetime, timezone: str) -> str:
    """The meeting time for a person, e.g. "Tuesday, December 1, 2026, 10:00–10:30 AM EST (America/New_York)"."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("Meeting times need a time zone; pass aware datetimes (with tzinfo).")
    zone = _zone(timezone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    start_abbr, end_abbr = _abbreviation(local_start), _abbreviation(local_end)
    if local_start.date() != local_end.date():
        text = (
            f"{_day(local_start)}, {_clock(local_start)} {_meridiem(local_start)} {start_abbr} – "
            f"{_day(local_end)}, {_clock(local_end)} {_meridiem(local_end)} {end_abbr}"
        )
    elif start_abbr != end_abbr:  # the clocks change during the meeting
        text = (
            f"{_day(local_start)}, {_clock(local_start)} {_meridiem(local_start)} {start_abbr}–"
            f"{_clock(local_end)} {_meridiem(local_end)} {end_abbr}"
        )
    elif _meridiem(local_start) == _meridiem(local_end):
        text = f"{_day(local_start)}, {_clock(local_start)}–{_clock(local_end)} {_meridiem(local_end)} {end_abbr}"
    else:
        text = (
            f"{_day(local_start)}, {_clock(local_start)} {_meridiem(local_start)}–"
            f"{_clock(local_end)} {_meridiem(local_end)} {end_abbr}"
        )
    return text if end_abbr == timezone else f"{text} ({timezone})"


def _require_email(address: str, role: str) -> None:
    if not valid_email(address):
        raise ValueError(f"The {role} address {address!r} is not an e-mail address; use the form name@example.com.")


def _address(name: str, address: str) -> str:
    local, _, domain = address.partition("@")
    return str(Address(display_name=name, username=local, domain=domain))


def _headers(message: EmailMessage, *, sender: str, to: str, subject: str, kind: str) -> None:
    sender_address = parseaddr(sender)[1]
    _require_email(sender_address, "sender")
    message["From"] = sender
    message["To"] = to
    if subject.isascii():
        message["Subject"] = subject
    else:
        # CPython's folder can leave a space at a fold next to an encoded word, so a long subject with "–"
        # arrives with a doubled space; whole-header encoded words, folded here, round-trip exactly.
        message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender_address.partition("@")[2])
    message[KIND_HEADER] = kind


def _calendar_address(name: str, address: str) -> icalendar.vCalAddress:
    value = icalendar.vCalAddress(f"mailto:{address}")
    value.params["CN"] = name
    return value


def _calendar_time(moment: datetime, zone: tzinfo) -> datetime:
    local = moment.astimezone(zone)
    # RFC 5545 reads a repeated wall time (the hour the clocks go back) as its first occurrence;
    # the second one can only be written in UTC.
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def invite_calendar(invite: Invite) -> bytes:
    """The invite as an iCalendar METHOD:REQUEST object (VCALENDAR with VTIMEZONE and one VEVENT)."""
    if invite.start.tzinfo is None or invite.end.tzinfo is None:
        raise ValueError("Meeting times need a time zone; pass aware datetimes (with tzinfo).")
    if invite.end <= invite.start:
        raise ValueError(f"The meeting ends ({invite.end}) before it starts ({invite.start}); swap or fix the times.")
    zone: tzinfo = UTC if invite.timezone == "UTC" else _zone(invite.timezone)
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "REQUEST")
    event = icalendar.Event()
    event.add("uid", invite.uid)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", _calendar_time(invite.start, zone))
    event.add("dtend", _calendar_time(invite.end, zone))
    event.add("summary", invite.title)
    event.add("description", invite.description)
    if invite.location:
        event.add("location", invite.location)
    event.add("organizer", _calendar_address(invite.organizer_name, invite.organizer_email))
    attendee = _calendar_address(invite.attendee_name, invite.attendee_email)
    attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
    event.add("attendee", attendee)
    event.add("sequence", 0)
    event.add("status", "CONFIRMED")
    calendar.add_component(event)
    # Only the years the meeting touches: a 1970–2038 VTIMEZONE would be hundreds of lines.
    calendar.add_missing_timezones(first_date=date(invite.start.year, 1, 1), last_date=date(invite.end.year + 1, 1, 1))
    return bytes(calendar.to_ical())


def _invite_text(invite: Invite, when: str) -> str:
    lines = [
        f"Hi {invite.attendee_name},",
        "",
        f"You're invited to {invite.title}.",
        "",
        f"When: {when}",
        f"Organizer: {invite.organizer_name} <{invite.organizer_email}>",
    ]
    if invite.location:
        lines.append(f"Where: {invite.location}")
    lines += ["", invite.description.strip(), "", "The calendar invitation is attached; accept it to add the meeting."]
    return "\n".join(lines) + "\n"


def invite_message(invite: Invite, *, sender: str) -> EmailMessage:
    """A meeting request Gmail and Outlook show with Accept/Decline: text, text/calendar and an invite.ics."""
    _require_email(invite.organizer_email, "organizer")
    _require_email(invite.attendee_email, "attendee")
    ics = invite_calendar(invite)
    when = when_text(invite.start, invite.end, invite.timezone)
    message = EmailMessage()
    _headers(
        message,
        sender=sender,
        to=_address(invite.attendee_name, invite.attendee_email),
        subject=f"Invitation: {invite.title} @ {when}",
        kind="invite",
    )
    if parseaddr(sender)[1].lower() != invite.organizer_email.lower():
        message["Reply-To"] = _address(invite.organizer_name, invite.organizer_email)
    message.set_content(_invite_text(invite, when))
    message.add_alternative(ics.decode("utf-8"), subtype="calendar", params={"method": "REQUEST"})
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message


def follow_up_message(*, sender: str, to: str, to_name: str, subject: str, body: str) -> EmailMessage:
    """A plain-text follow-up e-mail."""
    _require_email(to, "recipient")
    message = EmailMessage()
    _headers(message, sender=sender, to=_address(to_name, to), subject=subject, kind="follow_up")
    message.set_content(body if body.endswith("\n") else body + "\n")
    return message


class Mailer:
    """Sends messages over SMTP (STARTTLS on request, implicit TLS on port 465) and records them in an outbox."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_s: float = 5.0,
        outbox: Outbox | None = None,
    ) -> None:
        _require_email(parseaddr(sender)[1], "sender")
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout_s = timeout_s
        self._outbox = outbox

    async def send(self, message: EmailMessage) -> str:
        """Send ``message``; returns its Message-ID, raises MailError when the server did not take it."""
        if "From" not in message:
            message["From"] = self.sender
        if "Date" not in message:
            message["Date"] = format_datetime(datetime.now(UTC))
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].partition("@")[2])
        message_id = str(message["Message-ID"])
        recipients = [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]
        try:
            if not recipients:
                raise ValueError("the message has no To or Cc address")
            refused, _ = await aiosmtplib.send(
                message,
                sender=parseaddr(self.sender)[1],
                hostname=self.host,
                port=self.port,
                username=self._username,
                password=self._password,
                use_tls=self.port == 465 and not self._starttls,
                start_tls=self._starttls,
                timeout=self._timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            logger.warning(f"mail {message_id} to {', '.join(recipients) or '?'} via {self.host}:{self.port}: {exc!r}")
            await self._record(message, status="failed", error=str(exc) or type(exc).__name__)
            raise MailError(COULD_NOT_SEND) from exc
        error = "; ".join(f"{address}: {response.message}" for address, response in refused.items())
        if error:
            logger.warning(f"mail {message_id}: some recipients were refused: {error}")
        logger.info(f"mail {message_id} sent to {', '.join(recipients)}")
        await self._record(message, status="sent", error=error)
        return message_id

    async def _record(self, message: EmailMessage, *, status: Status, error: str) -> None:
        if self._outbox is None:
            return
        try:
            # A thread keeps disk waits (fsync) off the event loop that carries call audio.
            await asyncio.to_thread(self._outbox.save, message, status=status, error=error)
        except OSError as exc:
            logger.error(f"mail {message['Message-ID']}: could not be written to the outbox: {exc}")
