"""Free slots: business hours, lead time, buffers, weekends, windows in the prospect's zone, DST, spread."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from talktrack.tools.calendar.slots import BookingRules, Busy, conflicts, free_slots, spread, within_hours

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LA = ZoneInfo("America/Los_Angeles")
RULES = BookingRules()  # 30 min, no buffer, 2 h lead, 14 days, 9-17 Mon-Fri New York, 30 min grid


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)  # type: ignore[misc]


def wall(slots: list[datetime]) -> list[str]:
    return [s.strftime("%a %H:%M") for s in slots]


def test_business_hours_and_lead_time() -> None:
    # Monday 2027-03-01 08:00 New York: lead time puts the first start at 10:00.
    slots = free_slots(RULES, [], now=ny(2027, 3, 1, 8, 0), limit=100)
    monday = [s for s in slots if s.date() == datetime(2027, 3, 1).date()]
    assert wall(monday)[0] == "Mon 10:00"
    assert wall(monday)[-1] == "Mon 16:30"  # a 30-minute meeting must end by 17:00
    assert len(monday) == 14
    assert all(s.tzinfo == NY for s in slots)
    assert slots == sorted(slots)


def test_lead_time_off_grid_rounds_up_to_the_next_start() -> None:
    slots = free_slots(RULES, [], now=ny(2027, 3, 1, 9, 10), limit=3)
    assert wall(slots) == ["Mon 11:30", "Mon 12:00", "Mon 12:30"]


def test_meeting_length_and_grid() -> None:
    rules = BookingRules(meeting_minutes=45, step_minutes=15, lead_time_minutes=0)
    slots = free_slots(rules, [], now=ny(2027, 3, 1, 6, 0), limit=100)
    monday = wall([s for s in slots if s.day == 1])
    assert monday[:3] == ["Mon 09:00", "Mon 09:15", "Mon 09:30"]
    assert monday[-1] == "Mon 16:15"


def test_weekends_are_skipped() -> None:
    # Friday afternoon: after the last Friday start comes Monday 9:00, nothing on Saturday or Sunday.
    slots = free_slots(RULES, [], now=ny(2027, 3, 5, 14, 0), limit=4)
    assert wall(slots) == ["Fri 16:00", "Fri 16:30", "Mon 09:00", "Mon 09:30"]
    custom = BookingRules(weekdays=frozenset({5}), lead_time_minutes=0)
    assert {s.strftime("%a") for s in free_slots(custom, [], now=ny(2027, 3, 1, 8, 0))} == {"Sat"}


def test_horizon_is_the_last_day_offered() -> None:
    rules = BookingRules(horizon_days=2, lead_time_minutes=0)
    slots = free_slots(rules, [], now=ny(2027, 3, 1, 8, 0), limit=500)
    assert sorted({s.strftime("%a") for s in slots}) == ["Mon", "Tue", "Wed"]


def test_busy_times_and_buffers() -> None:
    meeting = Busy(ny(2027, 3, 1, 11, 0), ny(2027, 3, 1, 12, 0))
    plain = wall(free_slots(BookingRules(lead_time_minutes=0), [meeting], now=ny(2027, 3, 1, 8), limit=8))
    assert plain == [
        "Mon 09:00",
        "Mon 09:30",
        "Mon 10:00",
        "Mon 10:30",
        "Mon 12:00",
        "Mon 12:30",
        "Mon 13:00",
        "Mon 13:30",
    ]
    padded = BookingRules(lead_time_minutes=0, buffer_minutes=15)
    got = wall(free_slots(padded, [meeting], now=ny(2027, 3, 1, 8), limit=5))
    # 10:30 would end 15 minutes before the meeting, 12:00 start right after it.
    assert got == ["Mon 09:00", "Mon 09:30", "Mon 10:00", "Mon 12:30", "Mon 13:00"]


def test_busy_in_other_zones_and_overlapping_intervals() -> None:
    busy = [
        Busy(datetime(2027, 3, 1, 15, 0, tzinfo=UTC), datetime(2027, 3, 1, 16, 0, tzinfo=UTC)),  # 10-11 NY
        Busy(datetime(2027, 3, 1, 16, 30, tzinfo=BERLIN), datetime(2027, 3, 1, 17, 0, tzinfo=BERLIN)),  # 10:30-11
        Busy(ny(2027, 3, 1, 13, 0), ny(2027, 3, 1, 13, 0)),  # empty: blocks nothing
    ]
    got = wall(free_slots(BookingRules(lead_time_minutes=0), busy, now=ny(2027, 3, 1, 8), limit=4))
    assert got == ["Mon 09:00", "Mon 09:30", "Mon 11:00", "Mon 11:30"]
    assert conflicts(RULES, busy, ny(2027, 3, 1, 9, 45))
    assert not conflicts(RULES, busy, ny(2027, 3, 1, 11, 0))


def test_window_in_the_prospects_zone_berlin() -> None:
    # "Tuesday afternoon" for a prospect in Berlin (CET, 6 h ahead of New York in winter) is the host's morning.
    window = (datetime(2027, 3, 2, 12, 0, tzinfo=BERLIN), datetime(2027, 3, 2, 18, 0, tzinfo=BERLIN))
    slots = free_slots(RULES, [], now=ny(2027, 3, 1, 8), window_start=window[0], window_end=window[1])
    assert wall(slots) == ["Tue 09:00", "Tue 09:30", "Tue 10:00", "Tue 10:30", "Tue 11:00", "Tue 11:30"]
    assert all(window[0] <= s and s + RULES.meeting <= window[1] for s in slots)


def test_window_while_only_one_side_has_switched_to_summer_time() -> None:
    # 2026-03-10: New York is on EDT already, Berlin still on CET: the gap is 5 h, not 6.
    window = (datetime(2026, 3, 10, 12, 0, tzinfo=BERLIN), datetime(2026, 3, 10, 18, 0, tzinfo=BERLIN))
    slots = free_slots(RULES, [], now=ny(2026, 3, 9, 8), window_start=window[0], window_end=window[1])
    assert wall(slots)[0] == "Tue 09:00"
    assert wall(slots)[-1] == "Tue 12:30"


def test_window_in_the_prospects_zone_los_angeles() -> None:
    window = (datetime(2027, 3, 2, 12, 0, tzinfo=LA), datetime(2027, 3, 2, 17, 0, tzinfo=LA))
    slots = free_slots(RULES, [], now=ny(2027, 3, 1, 8), window_start=window[0], window_end=window[1])
    assert wall(slots) == ["Tue 15:00", "Tue 15:30", "Tue 16:00", "Tue 16:30"]
    assert [s.astimezone(LA).strftime("%H:%M") for s in slots] == ["12:00", "12:30", "13:00", "13:30"]


def test_business_hours_stay_on_the_wall_clock_across_the_march_change() -> None:
    # US clocks spring forward on Sunday 2026-03-08: Friday 9:00 is 14:00 UTC, Monday 9:00 is 13:00 UTC.
    slots = free_slots(RULES, [], now=ny(2026, 3, 6, 6, 0), limit=100)
    friday = [s for s in slots if s.day == 6]
    monday = [s for s in slots if s.day == 9]
    assert (wall(friday)[0], wall(friday)[-1]) == ("Fri 09:00", "Fri 16:30")
    assert (wall(monday)[0], wall(monday)[-1]) == ("Mon 09:00", "Mon 16:30")
    assert friday[0].astimezone(UTC).hour == 14 and friday[0].utcoffset() == timedelta(hours=-5)
    assert monday[0].astimezone(UTC).hour == 13 and monday[0].utcoffset() == timedelta(hours=-4)


def test_business_hours_stay_on_the_wall_clock_across_the_november_change() -> None:
    # Clocks fall back on Sunday 2026-11-01.
    slots = free_slots(RULES, [], now=ny(2026, 10, 30, 6, 0), limit=100)
    friday = [s for s in slots if s.day == 30]
    monday = [s for s in slots if s.month == 11 and s.day == 2]
    assert len(friday) == len(monday) == 16
    assert friday[0].astimezone(UTC).hour == 13
    assert monday[0].astimezone(UTC).hour == 14
    assert wall(monday)[-1] == "Mon 16:30"


def test_night_hours_over_the_spring_gap_skip_missing_wall_times() -> None:
    rules = BookingRules(day_start=time(0), day_end=time(4), weekdays=frozenset(range(7)), lead_time_minutes=0)
    slots = free_slots(rules, [], now=ny(2026, 3, 7, 23, 0), limit=20)
    sunday = [s.strftime("%H:%M") for s in slots if s.day == 8]
    assert sunday == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]  # 02:00-02:59 never happens
    one_thirty = next(s for s in slots if s.day == 8 and s.hour == 1 and s.minute == 30)
    assert (one_thirty.astimezone(UTC) + rules.meeting).astimezone(NY).strftime("%H:%M") == "03:00"


def test_limit_and_naive_times() -> None:
    assert len(free_slots(RULES, [], now=ny(2027, 3, 1, 8), limit=5)) == 5
    assert free_slots(RULES, [], now=ny(2027, 3, 1, 8), limit=0) == []
    with pytest.raises(ValueError, match="no time zone"):
        free_slots(RULES, [], now=datetime(2027, 3, 1, 8))
    with pytest.raises(ValueError, match="busy start"):
        Busy(datetime(2027, 3, 1, 9), ny(2027, 3, 1, 10))


def test_within_hours() -> None:
    assert within_hours(RULES, ny(2027, 3, 1, 9, 0))
    assert within_hours(RULES, ny(2027, 3, 1, 16, 30))
    assert not within_hours(RULES, ny(2027, 3, 1, 16, 45))  # would end after 17:00
    assert not within_hours(RULES, ny(2027, 3, 6, 10, 0))  # Saturday
    assert within_hours(RULES, datetime(2027, 3, 1, 15, 0, tzinfo=BERLIN))  # 9:00 in New York


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"meeting_minutes": 0}, "meeting_minutes"),
        ({"buffer_minutes": -5}, "buffer_minutes"),
        ({"day_start": time(17), "day_end": time(9)}, "day_end"),
        ({"weekdays": frozenset({7})}, "weekdays"),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus"),
    ],
)
def test_rules_name_the_bad_setting(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BookingRules(**changes)  # type: ignore[arg-type]


def test_spread_prefers_different_days() -> None:
    slots = free_slots(RULES, [], now=ny(2027, 3, 1, 8), limit=40)
    assert wall(spread(slots)) == ["Mon 10:00", "Tue 09:00"]
    assert wall(spread(slots, 3)) == ["Mon 10:00", "Tue 09:00", "Wed 09:00"]


def test_spread_on_one_day_keeps_two_hours_apart() -> None:
    rules = BookingRules(horizon_days=0, lead_time_minutes=0)
    slots = free_slots(rules, [], now=ny(2027, 3, 1, 8), limit=40)
    assert wall(spread(slots)) == ["Mon 09:00", "Mon 11:00"]
    assert wall(spread(slots[:3])) == ["Mon 09:00"]  # 9:00, 9:30, 10:00: no second offer worth making
    assert spread([], 2) == [] and spread(slots, 0) == []
