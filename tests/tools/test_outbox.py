"""The outbox keeps every message with its status, survives a torn index, and renders for the terminal."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from loguru import logger

from talktrack.tools.mail import Invite, follow_up_message, invite_message
from talktrack.tools.outbox import INDEX, Outbox, OutboxEntry, OutboxError

SENDER = "Backbeam <agent@backbeam.example>"


def _invite() -> EmailMessage:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    return invite_message(
        Invite(
            uid="call-42@backbeam.example",
            start=start,
            end=start + timedelta(minutes=30),
            timezone="America/New_York",
            title="Backbeam demo",
            description="Call summary: needs 12 seats.",
            organizer_name="Sam Seller",
            organizer_email="sam@backbeam.example",
            attendee_name="Anna Lee",
            attendee_email="anna@acme.example",
        ),
        sender=SENDER,
    )


def _follow_up(subject: str = "Pricing", to: str = "anna@acme.example") -> EmailMessage:
    return follow_up_message(sender=SENDER, to=to, to_name="Anna Lee", subject=subject, body="Here is the sheet.")


def _plain() -> EmailMessage:
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = "ops@backbeam.example"
    message["Subject"] = "Daily report"
    message.set_content("3 calls, 1 meeting.")
    return message


@pytest.fixture
def warnings_logged() -> Iterator[list[str]]:
    seen: list[str] = []
    handler = logger.add(lambda record: seen.append(str(record)), level="WARNING")
    yield seen
    logger.remove(handler)


def test_save_lists_newest_last_with_kind_and_status(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    assert outbox.entries() == []
    invite = outbox.save(_invite(), status="sent")
    follow_up = outbox.save(_follow_up(), status="failed", error="connection refused")
    other = outbox.save(_plain(), status="sent")

    entries = outbox.entries()
    assert entries == [invite, follow_up, other]
    assert [(e.kind, e.status) for e in entries] == [("invite", "sent"), ("follow_up", "failed"), ("other", "sent")]
    assert follow_up.error == "connection refused"
    assert invite.to == "Anna Lee <anna@acme.example>"
    assert invite.subject.startswith("Invitation: Backbeam demo @ Tuesday, December 1, 2026, 10:00–10:30 AM EST")
    assert invite.time.tzinfo is not None and invite.time <= follow_up.time <= other.time
    assert sorted(path.name for path in (tmp_path / "outbox").glob("*.eml")) == sorted(e.file for e in entries)
    lines = (tmp_path / "outbox" / INDEX).read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [e.id for e in entries]
    assert set(json.loads(lines[0])) >= {"id", "time", "to", "subject", "status", "kind", "file"}


def test_messages_read_back_as_they_were_saved(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    original = _invite()
    entry = outbox.save(original, status="sent")
    again = outbox.message(entry)
    assert again["Message-ID"] == original["Message-ID"] == entry.message_id
    assert again["Subject"] == original["Subject"]
    again_body, original_body = again.get_body(("plain",)), original.get_body(("plain",))
    assert again_body is not None and original_body is not None
    assert again_body.get_content() == original_body.get_content()
    calendars = [part.get_content() for part in again.walk() if part.get_content_type() == "text/calendar"]
    assert len(calendars) == 1 and "UID:call-42@backbeam.example" in calendars[0]


def test_a_kind_can_be_told_without_the_marker_header(tmp_path: Path) -> None:
    message = _invite()
    del message["X-TalkTrack-Kind"]
    assert Outbox(tmp_path).save(message, status="sent").kind == "invite"


def test_get_by_id_prefix(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    saved = [outbox.save(_follow_up(f"Note {n}"), status="sent") for n in range(20)]
    target = saved[7]
    assert outbox.get(target.id) == target
    assert outbox.get(target.id[:8].upper()) == target
    with pytest.raises(OutboxError, match="No message in the outbox .* 'zzzz'") as missing:
        outbox.get("zzzz")
    assert missing.value.fix
    # 20 random hex ids: some first character is shared by at least two of them.
    shared = next(e.id[0] for e in saved if sum(o.id[0] == e.id[0] for o in saved) > 1)
    with pytest.raises(OutboxError, match="messages have ids starting with") as ambiguous:
        outbox.get(shared)
    assert "more characters" in str(ambiguous.value)
    with pytest.raises(OutboxError, match="No message id"):
        outbox.get("  ")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    entry = outbox.save(_plain(), status="sent")
    (tmp_path / entry.file).unlink()
    with pytest.raises(OutboxError, match=f"outbox file .*{entry.file}.* cannot be read"):
        outbox.message(entry)


def test_bad_status_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'queued' is not one of 'sent', 'failed', 'not_sent'"):
        Outbox(tmp_path).save(_plain(), status="queued")  # type: ignore[arg-type]


def test_a_message_kept_without_a_mail_server(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    entry = outbox.save(_follow_up(), status="not_sent", error="no SMTP server is configured")
    assert outbox.entries() == [entry]
    assert " not_sent " in outbox.render_list([entry]).splitlines()[1]
    assert "Status:     not_sent (no SMTP server is configured)" in outbox.render_message(entry)


def test_corrupt_index_lines_are_skipped_with_a_warning(tmp_path: Path, warnings_logged: list[str]) -> None:
    outbox = Outbox(tmp_path)
    first = outbox.save(_follow_up("First"), status="sent")
    with open(outbox.index_path, "a", encoding="utf-8") as index:
        index.write("{not json\n")
        index.write('{"id": "abc"}\n')  # a line missing fields
        index.write(json.dumps({**json.loads(first.to_json()), "id": "evil", "file": "../../etc/passwd"}) + "\n")
        index.write('{"id": "cut-off", "time": "2026-')  # a write torn mid-line, no newline
    second = outbox.save(_follow_up("Second"), status="failed", error="timeout")

    assert outbox.entries() == [first, second]
    assert sum("skipped an unreadable line" in line for line in warnings_logged) == 4
    assert outbox.get(second.id[:10]).subject == "Second"


def test_writes_replace_files_whole(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    outbox.save(_follow_up("One"), status="sent")
    before = outbox.index_path.read_bytes()
    with open(outbox.index_path, "rb") as reader:  # a reader (the CLI) that opened the index earlier
        outbox.save(_follow_up("Two"), status="sent")
        assert reader.read() == before  # still the complete old index, never a half-written one
    assert outbox.index_path.read_bytes().startswith(before)
    assert len(outbox.entries()) == 2
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []


def test_a_failed_write_leaves_the_index_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = Outbox(tmp_path)
    kept = outbox.save(_follow_up("Kept"), status="sent")
    before = outbox.index_path.read_bytes()

    def disk_full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        outbox.save(_follow_up("Lost"), status="sent")
    monkeypatch.undo()
    assert outbox.index_path.read_bytes() == before
    assert outbox.entries() == [kept]
    assert [path.name for path in tmp_path.iterdir() if path.name.endswith(".tmp")] == []


def test_concurrent_saves_keep_every_line(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)

    def save_five(worker: int) -> None:
        for n in range(5):
            Outbox(tmp_path).save(_follow_up(f"w{worker}-{n}"), status="sent")

    threads = [threading.Thread(target=save_five, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    subjects = sorted(entry.subject for entry in outbox.entries())
    assert subjects == sorted(f"w{worker}-{n}" for worker in range(6) for n in range(5))


def test_render_list_is_a_table(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    assert outbox.render_list([]) == "The outbox is empty."
    long_subject = "A follow-up with a subject far longer than any terminal column should have to show in full"
    sent = outbox.save(_invite(), status="sent")
    failed = outbox.save(_follow_up(long_subject), status="failed", error="refused")
    lines = outbox.render_list(outbox.entries()).splitlines()
    assert lines[0].split() == ["ID", "TIME", "STATUS", "KIND", "TO", "SUBJECT"]
    assert lines[1].startswith(sent.id[:8]) and lines[2].startswith(failed.id[:8])
    assert f"{sent.time.astimezone():%Y-%m-%d %H:%M}" in lines[1]
    assert " sent " in lines[1] and " invite " in lines[1] and "Anna Lee <anna@acme.example>" in lines[1]
    assert " failed " in lines[2] and "follow_up" in lines[2]
    assert "A follow-up with a subject" in lines[2] and long_subject not in lines[2] and lines[2].endswith("…")
    # Columns line up: every row has its subject at the same offset.
    assert (
        len({line.index(column) for line, column in zip(lines, ("SUBJECT", "Invitation", "A follow-up"), strict=True)})
        == 1
    )


def test_render_message_shows_headers_body_and_calendar(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path)
    entry = outbox.save(_invite(), status="failed", error="connection refused")
    shown = outbox.render_message(entry)
    assert f"Outbox id:  {entry.id}" in shown
    assert "Status:     failed (connection refused)" in shown
    assert "From: Backbeam <agent@backbeam.example>" in shown
    assert "To: Anna Lee <anna@acme.example>" in shown
    assert "Subject: Invitation: Backbeam demo @ Tuesday, December 1, 2026, 10:00–10:30 AM EST" in shown
    assert f"Message-ID: {entry.message_id}" in shown
    assert "Call summary: needs 12 seats." in shown
    assert "Calendar (REQUEST):" in shown
    assert "UID:       call-42@backbeam.example" in shown
    assert "Start:     2026-12-01 10:00 America/New_York (2026-12-01 15:00 UTC)" in shown
    assert "End:       2026-12-01 10:30 America/New_York (2026-12-01 15:30 UTC)" in shown
    assert "Organizer: Sam Seller <sam@backbeam.example>" in shown
    assert "Attendee:  Anna Lee <anna@acme.example>" in shown

    plain = outbox.render_message(outbox.save(_plain(), status="sent"))
    assert "3 calls, 1 meeting." in plain and "Calendar" not in plain


def test_entry_json_round_trips() -> None:
    entry = OutboxEntry(
        id="0123abcd" * 4,
        time=datetime(2026, 12, 1, 15, 0, 5, tzinfo=UTC),
        to="Jürgen <j@firma.example>",
        subject="Grüße",
        status="sent",
        kind="follow_up",
        file="20261201T150005Z-0123abcd.eml",
    )
    assert OutboxEntry.from_json(entry.to_json()) == entry
