"""The local outbox: every e-mail talktrack sent or failed to send, one .eml file each plus an index.jsonl line."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any, Literal

import icalendar
from loguru import logger

from talktrack.errors import TalkTrackError

KIND_HEADER = "X-TalkTrack-Kind"  # set by talktrack.tools.mail: "invite" or "follow_up"
INDEX = "index.jsonl"
Status = Literal["sent", "failed", "not_sent"]  # not_sent: kept while no SMTP server is configured
_STATUSES = ("sent", "failed", "not_sent")
_KINDS = ("invite", "follow_up")


class OutboxError(TalkTrackError):
    """A message asked for is not in the outbox, or its file cannot be read."""


@dataclass(frozen=True)
class OutboxEntry:
    """One index line: which message, when, to whom, and whether it went out."""

    id: str
    time: datetime  # UTC
    to: str
    subject: str
    status: str  # "sent" | "failed" | "not_sent"
    kind: str  # "invite" | "follow_up" | "other"
    file: str  # the .eml file's name inside the outbox directory
    error: str = ""
    message_id: str = ""

    def to_json(self) -> str:
        """The index line for this entry."""
        return json.dumps({**asdict(self), "time": self.time.isoformat()}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> OutboxEntry:
        """Parse an index line; raises ValueError (or KeyError/TypeError) when it is not one."""
        data: dict[str, Any] = json.loads(line)
        time = datetime.fromisoformat(data.pop("time"))
        entry = cls(time=time, **data)
        if not entry.id or not entry.file or "/" in entry.file or entry.file.startswith("."):
            raise ValueError(f"bad id or file name in {line!r}")
        return entry


def _kind(message: EmailMessage) -> str:
    marked = str(message.get(KIND_HEADER, "")).strip()
    if marked in _KINDS:
        return marked
    return "invite" if any(part.get_content_type() == "text/calendar" for part in message.walk()) else "other"


def _atomic_write(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of one."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Outbox:
    """A directory of sent and failed messages, safe to read while another process writes."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @property
    def index_path(self) -> Path:
        """Where the index lines are."""
        return self.directory / INDEX

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two processes (the server and a CLI re-send) may save at once; each rewrite must see the other's line.
        with open(self.directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self, message: EmailMessage, *, status: Status, error: str = "") -> OutboxEntry:
        """Store ``message`` with its status; returns the new index entry."""
        if status not in _STATUSES:
            raise ValueError(f"Outbox status {status!r} is not one of {', '.join(map(repr, _STATUSES))}.")
        self.directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        entry_id = uuid.uuid4().hex
        entry = OutboxEntry(
            id=entry_id,
            time=now,
            to=str(message.get("To", "")),
            subject=str(message.get("Subject", "")),
            status=status,
            kind=_kind(message),
            file=f"{now:%Y%m%dT%H%M%S}Z-{entry_id[:8]}.eml",
            error=error,
            message_id=str(message.get("Message-ID", "")),
        )
        _atomic_write(self.directory / entry.file, message.as_bytes(policy=default))
        with self._locked():
            current = self.index_path.read_bytes() if self.index_path.exists() else b""
            if current and not current.endswith(b"\n"):
                current += b"\n"
            _atomic_write(self.index_path, current + entry.to_json().encode("utf-8") + b"\n")
        return entry

    def entries(self) -> list[OutboxEntry]:
        """Every readable entry, oldest first (newest last); unreadable lines are skipped with a warning."""
        if not self.index_path.exists():
            return []
        found: list[OutboxEntry] = []
        text = self.index_path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                found.append(OutboxEntry.from_json(line))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                logger.warning(f"outbox {self.index_path}:{number}: skipped an unreadable line ({exc})")
        return found

    def get(self, id_prefix: str) -> OutboxEntry:
        """The one entry whose id starts with ``id_prefix``."""
        prefix = id_prefix.strip().lower()
        if not prefix:
            raise OutboxError("No message id was given.", fix="pass the first characters of an id from the list")
        matches = [entry for entry in self.entries() if entry.id.startswith(prefix)]
        if not matches:
            raise OutboxError(
                f"No message in the outbox {self.directory} has an id starting with {id_prefix!r}.",
                fix="list the messages and copy an id from the first column",
            )
        if len(matches) > 1:
            raise OutboxError(
                f"{len(matches)} messages have ids starting with {id_prefix!r}.", fix="type more characters of the id"
            )
        return matches[0]

    def message(self, entry: OutboxEntry) -> EmailMessage:
        """The stored message, parsed back (ready to re-send)."""
        path = self.directory / entry.file
        try:
            with open(path, "rb") as file:
                parsed = BytesParser(policy=default).parse(file)
        except OSError as exc:
            raise OutboxError(
                f"The outbox file {path} for message {entry.id[:8]} cannot be read ({exc.strerror}).",
                fix="check that the outbox directory is intact",
            ) from exc
        assert isinstance(parsed, EmailMessage)  # the default policy builds EmailMessage objects
        return parsed

    def render_list(self, entries: list[OutboxEntry]) -> str:
        """A terminal table: id, local time, status, kind, recipient, subject."""
        if not entries:
            return "The outbox is empty."
        rows = [("ID", "TIME", "STATUS", "KIND", "TO", "SUBJECT")]
        for entry in entries:
            rows.append(
                (
                    entry.id[:8],
                    f"{entry.time.astimezone():%Y-%m-%d %H:%M}",
                    entry.status,
                    entry.kind,
                    _short(entry.to, 40),
                    _short(entry.subject, 70),
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
        lines = [
            "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]]) for row in rows
        ]
        return "\n".join(line.rstrip() for line in lines)

    def render_message(self, entry: OutboxEntry) -> str:
        """Headers, the text body and, for invites, what the calendar part says."""
        message = self.message(entry)
        status = entry.status if not entry.error else f"{entry.status} ({entry.error})"
        lines = [
            f"Outbox id:  {entry.id}",
            f"Saved:      {entry.time.astimezone():%Y-%m-%d %H:%M:%S %Z}",
            f"Status:     {status}",
            "",
        ]
        for name in ("From", "To", "Reply-To", "Subject", "Date", "Message-ID"):
            if name in message:
                lines.append(f"{name}: {message[name]}")
        body = message.get_body(preferencelist=("plain",))
        lines += ["", body.get_content().rstrip() if isinstance(body, EmailMessage) else "(no text part)"]
        calendar = next((part for part in message.walk() if part.get_content_type() == "text/calendar"), None)
        if isinstance(calendar, EmailMessage):
            lines += ["", *_calendar_summary(calendar)]
        return "\n".join(lines) + "\n"


def _when(event: icalendar.Event, name: str) -> str:
    prop = event.get(name)
    if prop is None:
        return "(missing)"
    moment = event.decoded(name)
    zone = prop.params.get("TZID") or ("UTC" if isinstance(moment, datetime) and moment.utcoffset() == 0 else "")
    if not isinstance(moment, datetime):
        return str(moment)
    return f"{moment:%Y-%m-%d %H:%M} {zone}".rstrip() + f" ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"


def _person(address: Any) -> str:
    mailto = str(address).removeprefix("mailto:").removeprefix("MAILTO:")
    name = address.params.get("CN", "") if hasattr(address, "params") else ""
    return f"{name} <{mailto}>" if name else mailto


def _calendar_summary(part: EmailMessage) -> list[str]:
    method = part.get_param("method") or "?"
    try:
        calendar = icalendar.Calendar.from_ical(part.get_content())
        event = calendar.events[0]
    except (ValueError, IndexError) as exc:
        return [f"Calendar ({method}): unreadable ({exc})"]
    attendees = event.get("attendee", [])
    attendees = attendees if isinstance(attendees, list) else [attendees]
    lines = [
        f"Calendar ({method}):",
        f"  UID:       {event.get('uid', '(missing)')}",
        f"  Start:     {_when(event, 'dtstart')}",
        f"  End:       {_when(event, 'dtend')}",
        f"  Organizer: {_person(event['organizer']) if 'organizer' in event else '(missing)'}",
    ]
    lines += [f"  Attendee:  {_person(attendee)}" for attendee in attendees]
    return lines
