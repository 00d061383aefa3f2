"""Dates and times as prospects say them, read against a fixed clock in the prospect's zone.

Run this file directly (``python tests/brain/test_when.py``) to print parse timings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from talktrack.brain.when import When, parse_when, say_when, warm, zone_label

NY = "America/New_York"
BERLIN = "Europe/Berlin"
# Monday 30 November 2026, 3 PM in New York.
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=ZoneInfo(NY))


def at(day: int, hour: int, minute: int = 0, *, month: int = 12, tz: str = NY, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def parse(text: str, *, now: datetime = NOW, tz: str = NY) -> When:
    found = parse_when(text, now=now, tz=tz)
    assert found is not None, text
    return found


@pytest.mark.parametrize(
    ("text", "start", "end", "exact", "day_given"),
    [
        ("next Tuesday afternoon", at(8, 12), at(8, 17), False, True),
        ("Tuesday at 2", at(1, 14), at(1, 14), True, True),
        ("the 3rd at 10", at(3, 10), at(3, 10), True, True),
        ("December 3rd at 10:30 a.m.", at(3, 10, 30), at(3, 10, 30), True, True),
        ("the 3rd of December at ten", at(3, 10), at(3, 10), True, True),
        ("tomorrow morning", at(1, 9), at(1, 12), False, True),
        ("tomorrow afternoon", at(1, 12), at(1, 17), False, True),
        ("this afternoon", at(30, 15, month=11), at(30, 17, month=11), False, True),
        ("later today", at(30, 15, month=11), at(30, 17, month=11), False, True),
        ("Thursday", at(3, 9), at(3, 17), False, True),
        ("any time next week", at(7, 9), at(11, 17), False, True),
        ("end of the week", at(3, 9), at(4, 17), False, True),
        ("early next week", at(7, 9), at(8, 17), False, True),
        ("sometime this week", at(30, 15, month=11), at(4, 17), False, True),
        ("how about Wednesday at ten thirty", at(2, 10, 30), at(2, 10, 30), True, True),
        ("Uh, how about, um, Thursday at 9:30 AM?", at(3, 9, 30), at(3, 9, 30), True, True),
        ("10 o'clock", at(30, 10, month=11), at(30, 10, month=11), True, False),
        ("at noon", at(30, 12, month=11), at(30, 12, month=11), True, False),
        ("half past two", at(30, 14, 30, month=11), at(30, 14, 30, month=11), True, False),
        ("quarter to 3", at(30, 14, 45, month=11), at(30, 14, 45, month=11), True, False),
        ("ten to three", at(30, 14, 50, month=11), at(30, 14, 50, month=11), True, False),
        ("in the morning", at(30, 9, month=11), at(30, 12, month=11), False, False),
        ("two in the afternoon", at(30, 14, month=11), at(30, 14, month=11), True, False),
        ("at 10 tonight", at(30, 22, month=11), at(30, 22, month=11), True, True),
        ("10 my time", at(30, 10, month=11), at(30, 10, month=11), True, False),
        ("how about 10 tomorrow", at(1, 10), at(1, 10), True, True),
        ("ten oh five tomorrow", at(1, 10, 5), at(1, 10, 5), True, True),
        ("noon tomorrow", at(1, 12), at(1, 12), True, True),
        ("Is 11 good?", at(30, 11, month=11), at(30, 11, month=11), True, False),
        ("between 2 and 4 tomorrow", at(1, 14), at(1, 16), False, True),
        ("tomorrow 8 to 10 pm", at(1, 20), at(1, 22), False, True),
        ("after 3 on Friday", at(4, 15), at(4, 17), False, True),
        ("before 11 on Friday", at(4, 9), at(4, 11), False, True),
        ("first thing tomorrow", at(1, 9), at(1, 10), False, True),
        ("end of day Friday", at(4, 16), at(4, 17), False, True),
        ("late afternoon on Thursday", at(3, 14, 30), at(3, 17), False, True),
        ("lunch on Wednesday", at(2, 12), at(2, 13), False, True),
        ("next week Tuesday at 11", at(8, 11), at(8, 11), True, True),
        ("Tuesday of next week", at(8, 9), at(8, 17), False, True),
        ("a week from Tuesday", at(8, 9), at(8, 17), False, True),
        ("Monday the 7th at 2", at(7, 14), at(7, 14), True, True),
        ("Tuesday, December 8th at 10", at(8, 10), at(8, 10), True, True),
        ("12/3 at 2pm", at(3, 14), at(3, 14), True, True),
        ("2026-12-10 at 3", at(10, 15), at(10, 15), True, True),
        ("the twenty-first", at(21, 9), at(21, 17), False, True),
        ("the 2nd", at(2, 9), at(2, 17), False, True),
    ],
)
def test_phrase(text: str, start: datetime, end: datetime, exact: bool, day_given: bool) -> None:
    found = parse(text)
    assert (found.start, found.end, found.exact, found.day_given) == (start, end, exact, day_given)
    assert found.text == text
    assert found.start.tzinfo == ZoneInfo(NY)


@pytest.mark.parametrize(
    ("hour_said", "hour"),
    [("1", 13), ("2", 14), ("7", 19), ("8", 8), ("11", 11), ("12", 12), ("14:00", 14), ("9 pm", 21), ("12 am", 0)],
)
def test_hour_without_am_pm(hour_said: str, hour: int) -> None:
    assert parse(f"Tuesday at {hour_said}").start == at(1, hour)


@pytest.mark.parametrize(
    ("said_on", "phrase", "day"),
    [
        # Monday: Tuesday is one day away, so "next Tuesday" is the one in the following week.
        (datetime(2026, 11, 30, 10), "next Tuesday", datetime(2026, 12, 8)),
        (datetime(2026, 11, 30, 10), "next Wednesday", datetime(2026, 12, 9)),
        (datetime(2026, 11, 30, 10), "next Thursday", datetime(2026, 12, 3)),
        (datetime(2026, 11, 30, 10), "Tuesday", datetime(2026, 12, 1)),
        (datetime(2026, 11, 30, 10), "this Tuesday", datetime(2026, 12, 1)),
        (datetime(2026, 11, 30, 10), "Monday", datetime(2026, 12, 7)),
        (datetime(2026, 11, 30, 10), "this Monday", datetime(2026, 11, 30)),
        (datetime(2026, 11, 30, 10), "Tuesday after next", datetime(2026, 12, 8)),
        # Sunday: two days away is still too close.
        (datetime(2026, 11, 29, 10), "next Tuesday", datetime(2026, 12, 8)),
        (datetime(2026, 11, 29, 10), "Tuesday", datetime(2026, 12, 1)),
        (datetime(2026, 11, 29, 10), "Tuesday next week", datetime(2026, 12, 1)),
        # Friday: the coming Tuesday is four days out.
        (datetime(2026, 12, 4, 10), "next Tuesday", datetime(2026, 12, 8)),
        (datetime(2026, 12, 4, 10), "next week Tuesday", datetime(2026, 12, 8)),
        # On a weekend "this week" means the week ahead.
        (datetime(2026, 12, 5, 10), "this week", datetime(2026, 12, 7)),
        # The 3rd already passed this month: next month's.
        (datetime(2026, 12, 5, 10), "the 3rd", datetime(2027, 1, 3)),
        (datetime(2027, 1, 31, 10), "the 30th", datetime(2027, 3, 30)),
        (datetime(2026, 12, 5, 10), "December 3rd", datetime(2027, 12, 3)),
    ],
)
def test_relative_day_rules(said_on: datetime, phrase: str, day: datetime) -> None:
    now = said_on.replace(tzinfo=ZoneInfo(NY))
    assert parse(phrase, now=now).start.date() == day.date()


def test_next_monday_across_the_dst_change() -> None:
    # Said on Friday 30 October 2026 (EDT); clocks go back on Sunday 1 November.
    now = datetime(2026, 10, 30, 11, 0, tzinfo=ZoneInfo(NY))
    found = parse("next Monday at 10", now=now)
    assert found.start == datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    assert found.start.utcoffset() == timedelta(hours=-5)
    assert (found.start.hour, found.start.tzname()) == (10, "EST")


def test_window_spanning_the_dst_change_keeps_wall_times() -> None:
    now = datetime(2026, 10, 30, 11, 0, tzinfo=ZoneInfo(NY))
    found = parse("any time next week", now=now)
    assert (found.start.hour, found.end.hour) == (9, 17)
    assert found.start.utcoffset() == found.end.utcoffset() == timedelta(hours=-5)
    friday = parse("end of the week", now=datetime(2026, 10, 27, 9, 0, tzinfo=ZoneInfo(NY)))
    assert friday.end == datetime(2026, 10, 30, 17, 0, tzinfo=ZoneInfo(NY))


def test_time_skipped_by_spring_forward_moves_forward() -> None:
    now = datetime(2027, 3, 13, 12, 0, tzinfo=ZoneInfo(NY))
    found = parse("tomorrow at 2:30 am", now=now)
    assert (found.start.hour, found.start.minute, found.start.tzname()) == (3, 30, "EDT")


def test_prospect_in_berlin() -> None:
    now = datetime(2026, 11, 30, 15, 0, tzinfo=ZoneInfo(BERLIN))
    found = parse("Tuesday at 2", now=now, tz=BERLIN)
    assert found.start == datetime(2026, 12, 1, 14, 0, tzinfo=ZoneInfo(BERLIN))
    assert found.start.utcoffset() == timedelta(hours=1)
    # A numeric date reads day first outside the Americas.
    assert parse("3/12 at 10", now=now, tz=BERLIN).start.date() == datetime(2026, 12, 3).date()
    # The same instant passed in another zone reads the same: "tomorrow" is Berlin's tomorrow.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)
    assert parse("tomorrow", now=late, tz=BERLIN).start.date() == datetime(2026, 12, 1).date()


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2 pm Eastern", NY, datetime(2026, 11, 30, 14, 0, tzinfo=ZoneInfo(NY))),
        ("2 pm Pacific", NY, datetime(2026, 11, 30, 17, 0, tzinfo=ZoneInfo(NY))),
        ("at 3:30 Central time on Friday", NY, datetime(2026, 12, 4, 16, 30, tzinfo=ZoneInfo(NY))),
        ("Tuesday at 10 mountain", NY, datetime(2026, 12, 1, 12, 0, tzinfo=ZoneInfo(NY))),
        ("2 pm Eastern", BERLIN, datetime(2026, 11, 30, 20, 0, tzinfo=ZoneInfo(BERLIN))),
        ("Tuesday at 2 CET", NY, datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo(NY))),
        ("Tuesday at 3 Berlin time", NY, datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(NY))),
        ("Tuesday at 2 pm GMT", NY, datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(NY))),
        ("Tuesday at 2 UK time", NY, datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(NY))),
        ("10 my time", BERLIN, datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo(BERLIN))),
    ],
)
def test_zone_word_overrides_prospect_zone(text: str, tz: str, expected: datetime) -> None:
    now = NOW.astimezone(ZoneInfo(tz)).replace(hour=9)
    found = parse(text, now=now, tz=tz)
    assert found.start == expected
    assert found.start.tzinfo == ZoneInfo(tz)


@pytest.mark.parametrize(
    ("text", "day", "negated"),
    [
        ("no, I can't do Tuesday", 1, True),
        ("Tuesday doesn't work for me", 1, True),
        ("Tuesday is no good", 1, True),
        ("I can't do Tuesday but Wednesday at 3 works", 2, False),
        ("Not Tuesday, Wednesday", 2, False),
        ("No problem, Tuesday works", 1, False),
        ("Tuesday or Wednesday", 1, False),
    ],
)
def test_negation(text: str, day: int, negated: bool) -> None:
    found = parse(text)
    assert (found.start.day, found.negated) == (day, negated)


@pytest.mark.parametrize(
    "text",
    [
        "we use OwnBackup today",
        "about fifty people",
        "we have 5 to 10 people",
        "We've got about 200 users and 3 admins",
        "I'll be at the office",
        "at 3 people",
        "we have 11 good reps",
        "the first thing I'd want is a report",
        "Give me a second",
        "We're open 24/7",
        "Sure, that sounds great.",
        "",
        "March",
    ],
)
def test_no_time_said(text: str) -> None:
    assert parse_when(text, now=NOW, tz=NY) is None


def test_today_still_counts_when_scheduling() -> None:
    assert parse("can we do today").start == NOW
    assert parse("I have time today").start == NOW
    assert parse("today at 4").start == at(30, 16, month=11)
    assert parse("We use OwnBackup today, but call me Tuesday").start == at(1, 9)


def test_window_containing_now_starts_at_next_quarter_hour() -> None:
    found = parse("this afternoon", now=NOW + timedelta(minutes=7, seconds=3))
    assert found.start == at(30, 15, 15, month=11)
    past = parse("this morning")
    assert (past.start, past.end) == (at(30, 9, month=11), at(30, 12, month=11))


def test_business_hours_shape_windows() -> None:
    found = parse_when("Thursday", now=NOW, tz=NY, business_hours=(8, 18))
    assert found is not None
    assert (found.start.hour, found.end.hour) == (8, 18)


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_when("Tuesday", now=datetime(2026, 11, 30, 15), tz=NY)
    with pytest.raises(ValueError, match="'Mars/Olympus'"):
        parse_when("Tuesday", now=NOW, tz="Mars/Olympus")
    with pytest.raises(ValueError, match=r"business_hours \(17, 9\)"):
        parse_when("Tuesday", now=NOW, tz=NY, business_hours=(17, 9))


@pytest.mark.parametrize(
    ("dt", "said"),
    [
        (at(1, 10), "tomorrow at 10 AM"),
        (at(1, 14, 30), "tomorrow at 2:30 PM"),
        (at(30, 16, month=11), "today at 4 PM"),
        (at(2, 12), "Wednesday at noon"),
        (at(8, 10), "Tuesday, December 8th at 10 AM"),
        (at(29, 9, 5, month=11), "yesterday at 9:05 AM"),
        (at(5, 0, month=1, year=2028), "Wednesday, January 5th, 2028 at midnight"),
        (datetime(2026, 12, 1, 19, 0, tzinfo=UTC), "tomorrow at 2 PM"),
    ],
)
def test_say_when(dt: datetime, said: str) -> None:
    assert say_when(dt, NY, now=NOW) == said


def test_say_when_far_ahead_and_with_zone() -> None:
    now = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo(NY))
    assert say_when(at(1, 10), NY, now=now) == "Tuesday, December 1st at 10 AM"
    assert say_when(at(1, 14, 30), NY, now=NOW, with_zone=True) == "tomorrow at 2:30 PM Eastern time"
    berlin = say_when(at(1, 10), BERLIN, now=NOW, with_zone=True)
    assert berlin == "tomorrow at 4 PM Central European time"


def test_say_when_reads_back_what_was_parsed() -> None:
    for text in ("Tuesday at 2", "tomorrow at ten thirty", "the 3rd at 10", "next Tuesday at noon", "Friday at 5:45"):
        found = parse(text)
        again = parse(say_when(found.start, NY, now=NOW))
        assert again.start == found.start, text


@pytest.mark.parametrize(
    ("tz", "month", "label"),
    [
        (NY, 12, "Eastern time"),
        (NY, 7, "Eastern time"),
        ("America/Chicago", 12, "Central time"),
        ("America/Denver", 12, "Mountain time"),
        ("America/Phoenix", 7, "Mountain time"),
        ("America/Los_Angeles", 7, "Pacific time"),
        ("Pacific/Honolulu", 7, "Hawaii time"),
        (BERLIN, 12, "Central European time"),
        (BERLIN, 7, "Central European time"),
        ("Europe/Athens", 7, "Eastern European time"),
        ("Europe/London", 7, "London time"),
        ("Asia/Tokyo", 7, "Tokyo time"),
        ("America/Argentina/Buenos_Aires", 7, "Buenos Aires time"),
        ("UTC", 7, "UTC"),
    ],
)
def test_zone_label(tz: str, month: int, label: str) -> None:
    assert zone_label(tz, datetime(2026, month, 15, 12, tzinfo=UTC)) == label


def test_warm_runs() -> None:
    warm()
    assert parse("December 3rd").start.date() == datetime(2026, 12, 3).date()


def _timings(rounds: int = 300) -> None:
    """Print p50/p95 parse times for typical utterances (not a test: timings vary by machine)."""
    import time

    warm()
    phrases = [
        "we use OwnBackup today",
        "about fifty people",
        "Yeah, so we're running Salesforce with about two hundred and fifty reps across three regions.",
        "next Tuesday afternoon",
        "Tuesday at 2",
        "how about Wednesday at ten thirty",
        "no, I can't do Tuesday",
        "any time next week",
        "December 3rd at 10:30 a.m.",
        "12/3 at 2pm",
    ]
    every: list[float] = []
    for text in phrases:
        times = []
        for _ in range(rounds):
            began = time.perf_counter()
            parse_when(text, now=NOW, tz=NY)
            times.append((time.perf_counter() - began) * 1000)
        times.sort()
        every += times
        print(f"{text[:48]:50} p50 {times[rounds // 2]:.3f} ms  p95 {times[int(rounds * 0.95)]:.3f} ms")
    every.sort()
    print(f"{'all':50} p50 {every[len(every) // 2]:.3f} ms  p95 {every[int(len(every) * 0.95)]:.3f} ms")


if __name__ == "__main__":
    _timings()
