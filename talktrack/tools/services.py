"""What a call's tools reach: the host calendar, the mail server, the callback book and the product knowledge.

:class:`Office` holds the process-wide parts (one CalDAV client per agent calendar, one
mailer, the outbox); :meth:`Office.services` hands one call its :class:`CallServices`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loguru import logger

from talktrack.brain.context import CallContext
from talktrack.brain.playbook import Booking, Playbook
from talktrack.brain.when import warm
from talktrack.errors import ConfigError
from talktrack.knowledge.answer import Answerer
from talktrack.knowledge.library import Library, default_url
from talktrack.settings import Settings
from talktrack.tools.calendar import BookingRules, CaldavCalendar
from talktrack.tools.callbacks import CallbackBook
from talktrack.tools.knowledge import DocumentKnowledge, Knowledge, PlaybookKnowledge
from talktrack.tools.mail import Mailer
from talktrack.tools.outbox import Outbox


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CallServices:
    """The services and the running state of one call's tools."""

    call_id: str
    agent_id: str
    playbook: Playbook
    context: CallContext
    knowledge: Knowledge
    calendar: CaldavCalendar | None = None
    mailer: Mailer | None = None
    outbox: Outbox | None = None
    callbacks: CallbackBook | None = None
    send_dtmf: Callable[[str], Awaitable[None]] | None = None
    now: Callable[[], datetime] = _utc_now
    summary: Callable[[], str] = lambda: ""
    language: str = "en"
    outcome: str | None = None
    booked: dict[str, Any] = field(default_factory=dict)

    @property
    def can_book(self) -> bool:
        """A calendar is attached and the playbook says how to book."""
        return self.calendar is not None and self.playbook.booking is not None

    @property
    def sender(self) -> str:
        """The From address of the agent's e-mails."""
        if self.mailer is not None and self.mailer.sender:
            return self.mailer.sender
        return default_sender(self.playbook)


def default_sender(playbook: Playbook) -> str:
    """The booking host's address, else a placeholder address of the company."""
    booking = playbook.booking
    return booking.host_email if booking is not None else f"sales@{playbook.company.name.lower()}.example"


def booking_rules(booking: Booking) -> BookingRules:
    """The calendar's rules from a playbook's booking section."""
    start, end = booking.hours
    return BookingRules(
        meeting_minutes=booking.meeting_minutes,
        buffer_minutes=booking.buffer_minutes,
        lead_time_minutes=booking.lead_time_minutes,
        horizon_days=booking.horizon_days,
        day_start=start,
        day_end=end,
        weekdays=booking.weekday_numbers,
        timezone=booking.timezone,
        step_minutes=booking.step_minutes,
    )


class Office:
    """Process-wide booking and mail services, built from settings (each part optional)."""

    def __init__(self, settings: Settings) -> None:
        warm()  # date parsing's first call is slow; pay for it before the first call, not during it
        self.settings = settings
        self.outbox = Outbox(settings.data_dir / "outbox")
        self.callbacks = CallbackBook(settings.data_dir / "callbacks.jsonl")
        self._calendars: dict[str, CaldavCalendar] = {}
        self._mailer: Mailer | None = None
        self.library = Library(settings.knowledge_url or default_url(settings.data_dir))
        self._knowledge: dict[str, DocumentKnowledge | None] = {}

    def knowledge_for(self, agent_id: str, playbook: Playbook, folder: Path | None) -> DocumentKnowledge | None:
        """The agent's documents, or None when it has none.

        The agent folder's ``knowledge/`` files are synced into the agent's knowledge base the first time a
        process asks (unchanged files are not embedded again); documents added through the CLI or API stay.
        `talktrack serve` asks for every agent before it takes calls, so no call waits for this.
        """
        if agent_id in self._knowledge:
            return self._knowledge[agent_id]
        s = self.settings
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder is not None and folder.is_dir() else []
        found = None
        # An agent without documents costs nothing: no embedding model is loaded for it.
        if files or self.library.store.documents(s.tenant, agent_id):
            kb = self.library.base(s.tenant, agent_id)
            report = kb.add_files(files)
            for error in report.errors:
                logger.warning(f"agent {agent_id}: knowledge file skipped: {error}")
            if kb.documents():
                answerer = Answerer(kb, company=playbook.company.name, min_similarity=s.knowledge_min_similarity)
                found = DocumentKnowledge(playbook, answerer)
                # The model's first run is several times slower than the rest: pay for it now, not on the call.
                answerer.answer("Do you have a free trial?")
        self._knowledge[agent_id] = found
        return found

    def calendar_for(self, agent_id: str, playbook: Playbook) -> CaldavCalendar | None:
        """The agent's host calendar (one client per agent), or None when no CalDAV server is set."""
        s = self.settings
        if s.caldav_url is None or playbook.booking is None:
            return None
        if agent_id not in self._calendars:
            booking = playbook.booking
            try:
                self._calendars[agent_id] = self._calendar(booking)
            except ValueError as exc:
                raise ConfigError(f"TALKTRACK_CALDAV_URL: {exc}", fix="set the URL of your CalDAV server") from None
        return self._calendars[agent_id]

    def _calendar(self, booking: Booking) -> CaldavCalendar:
        s = self.settings
        return CaldavCalendar(
            s.caldav_url or "",
            username=s.caldav_username,
            password=s.caldav_password,
            calendar_name=s.caldav_calendar,
            rules=booking_rules(booking),
            timeout_s=s.calendar_timeout_s,
            organizer_name=booking.host_name,
            organizer_email=booking.host_email,
        )

    def mailer(self, default_sender: str) -> Mailer | None:
        """The SMTP mailer, or None when no server is set (messages are then only kept in the outbox)."""
        s = self.settings
        if self._mailer is None and s.smtp_host:
            self._mailer = Mailer(
                host=s.smtp_host,
                port=s.smtp_port,
                sender=s.mail_from or default_sender,
                username=s.smtp_username,
                password=s.smtp_password,
                starttls=s.smtp_starttls,
                outbox=self.outbox,
            )
        return self._mailer

    def services(
        self,
        *,
        call_id: str,
        agent_id: str,
        playbook: Playbook,
        context: CallContext,
        knowledge: Knowledge | None = None,
        send_dtmf: Callable[[str], Awaitable[None]] | None = None,
    ) -> CallServices:
        """One call's services."""
        return CallServices(
            call_id=call_id,
            agent_id=agent_id,
            playbook=playbook,
            context=context,
            knowledge=knowledge or PlaybookKnowledge(playbook),
            calendar=self.calendar_for(agent_id, playbook),
            mailer=self.mailer(default_sender(playbook)),
            outbox=self.outbox,
            callbacks=self.callbacks,
            send_dtmf=send_dtmf,
            language=context.language,
        )

    async def aclose(self) -> None:
        """Close the calendar clients and the knowledge store."""
        for calendar in self._calendars.values():
            await calendar.close()
        self._calendars.clear()
        self.library.close()
        self._knowledge.clear()


_OFFICES: dict[tuple[object, ...], Office] = {}


def office_for(settings: Settings) -> Office:
    """The process's office for these settings (calendar clients and the mailer are shared by calls)."""
    s = settings
    key = (s.data_dir, s.caldav_url, s.caldav_username, s.caldav_calendar, s.smtp_host, s.smtp_port, s.mail_from) + (
        s.knowledge_url,
        s.tenant,
    )
    if key not in _OFFICES:
        _OFFICES[key] = Office(settings)
    return _OFFICES[key]
