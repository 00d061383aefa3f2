"""Free meeting slots from business hours, booking rules and busy times (pure, synchronous).

Wall-clock times are built per day with zoneinfo, never by adding a timedelta across days, so business
hours stay 9:00-17:00 local on both sides of a daylight-saving change. Durations (the meeting, the buffer,
the lead time) are real elapsed time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_WEEKDAYS = frozenset({0, 1, 2, 3, 4})
# spread() treats two offers this close on the same day as one ("10 or 10:30" is not a choice).
MIN_OFFER_GAP = timedelta(hours=2)


@dataclass(frozen=True)
class BookingRules:
    """When meetings may be booked: length, buffers, business hours (in the host's zone) and the slot grid."""

    meeting_minutes: int = 30
    buffer_minutes: int = 0  # free time required before and after a meeting
    lead_time_minutes: int = 120  # earliest start = now + lead time
    horizon_days: int = 14  # latest day offered, counted from today in the host's zone
    day_start: time = time(9)
    day_end: time = time(17)
    weekdays: frozenset[int] = field(default=DEFAULT_WEEKDAYS)  # Monday=0
    timezone: str = "America/New_York"  # the host's zone; business hours are in it
    step_minutes: int = 30  # slot starts lie on this grid, counted from day_start (local time)

    def __post_init__(self) -> None:
        for name in ("meeting_minutes", "step_minutes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number of minutes, not {getattr(self, name)}")
        for name in ("buffer_minutes", "lead_time_minutes", "horizon_days"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative ({getattr(self, name)}); use 0 for none")
        if self.day_end <= self.day_start:
            raise ValueError(f"day_end {self.day_end} must be later than day_start {self.day_start}")
        if not self.weekdays or not self.weekdays <= set(range(7)):
            raise ValueError(f"weekdays {sorted(self.weekdays)} must be numbers 0 (Monday) to 6 (Sunday)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(f"timezone {self.timezone!r} is not a known IANA zone; use e.g. 'Europe/Berlin'") from e

    @property
    def zone(self) -> ZoneInfo:
        """The host's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def meeting(self) -> timedelta:
        """The meeting length."""
        return timedelta(minutes=self.meeting_minutes)

    @property
    def buffer(self) -> timedelta:
        """The free time required on each side of a meeting."""
        return timedelta(minutes=self.buffer_minutes)


@dataclass(frozen=True)
class Busy:
    """A busy interval [start, end) with time-zone-aware ends."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        _utc("busy start", self.start)
        _utc("busy end", self.end)


def _utc(name: str, value: datetime) -> datetime:
    """``value`` in UTC: arithmetic and comparisons there are in elapsed time, whatever the wall clock did."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone; pass an aware datetime (e.g. tzinfo=UTC)")
    return value.astimezone(UTC)


def _wall(day: date, at: time, zone: tzinfo) -> datetime | None:
    """``day`` at wall-clock ``at`` in ``zone``, or None if that wall time does not exist (spring-forward gap)."""
    local = datetime.combine(day, at, tzinfo=zone)
    if local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return local


def _grid(rules: BookingRules, day: date) -> Iterator[datetime]:
    """Slot starts of one business day, each built from its own wall-clock time."""
    first = datetime.combine(day, rules.day_start)
    step = timedelta(minutes=rules.step_minutes)
    k = 0
    while (wall := first + k * step).date() == day and wall.time() < rules.day_end:
        local = _wall(day, wall.time(), rules.zone)
        if local is not None:
            yield local
        k += 1


def business_hours(rules: BookingRules, day: date) -> tuple[datetime, datetime] | None:
    """Opening and closing time of ``day`` in the host's zone, or None on a day off."""
    if day.weekday() not in rules.weekdays:
        return None
    zone = rules.zone
    opens = datetime.combine(day, rules.day_start, tzinfo=zone).astimezone(UTC).astimezone(zone)
    closes = datetime.combine(day, rules.day_end, tzinfo=zone).astimezone(UTC).astimezone(zone)
    return opens, closes


def within_hours(rules: BookingRules, start: datetime) -> bool:
    """True if a meeting starting at ``start`` lies wholly inside business hours on an allowed weekday."""
    at = _utc("start", start)
    hours = business_hours(rules, at.astimezone(rules.zone).date())
    return hours is not None and _utc("", hours[0]) <= at and at + rules.meeting <= _utc("", hours[1])


class _BusyIndex:
    """Busy intervals widened by the buffer, merged and sorted for overlap lookups."""

    def __init__(self, busy: Sequence[Busy], buffer: timedelta) -> None:
        spans: list[tuple[datetime, datetime]] = []
        for b in busy:
            start, end = _utc("busy start", b.start), _utc("busy end", b.end)
            if end > start:
                spans.append((start - buffer, end + buffer))
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True if [start, end) (both UTC) meets a busy span."""
        i = bisect.bisect_left(self._starts, end)  # spans starting before our end...
        return i > 0 and self._ends[i - 1] > start  # ...the latest of which ends after our start


def conflicts(rules: BookingRules, busy: Sequence[Busy], start: datetime) -> bool:
    """True if a meeting at ``start`` overlaps a busy interval widened by the buffer."""
    start = _utc("start", start)
    return _BusyIndex(busy, rules.buffer).overlaps(start, start + rules.meeting)


def search_range(
    rules: BookingRules, *, now: datetime, window_start: datetime | None = None, window_end: datetime | None = None
) -> tuple[datetime, datetime]:
    """The interval whose busy times decide the free slots (buffers included)."""
    zone = rules.zone
    first = _utc("now", now) + timedelta(minutes=rules.lead_time_minutes)
    if window_start is not None:
        first = max(first, _utc("window_start", window_start))
    last_day = now.astimezone(zone).date() + timedelta(days=rules.horizon_days + 1)
    last = _utc("", datetime.combine(last_day, time(0), tzinfo=zone))
    if window_end is not None:
        last = min(last, _utc("window_end", window_end))
    return first - rules.buffer, max(first, last) + rules.buffer


def free_slots(
    rules: BookingRules,
    busy: Sequence[Busy],
    *,
    now: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    limit: int = 50,
) -> list[datetime]:
    """Sorted starts (host zone) of free meetings; with a window (any zone), the whole meeting lies inside it."""
    zone = rules.zone
    earliest = _utc("now", now) + timedelta(minutes=rules.lead_time_minutes)
    if window_start is not None:
        earliest = max(earliest, _utc("window_start", window_start))
    latest = None if window_end is None else _utc("window_end", window_end)
    today = now.astimezone(zone).date()
    last_day = today + timedelta(days=rules.horizon_days)
    index = _BusyIndex(busy, rules.buffer)
    out: list[datetime] = []
    day = max(today, earliest.astimezone(zone).date())
    while day <= last_day and len(out) < limit:
        hours = business_hours(rules, day)
        if hours is not None:
            closes = _utc("", hours[1])
            for local in _grid(rules, day):
                start = local.astimezone(UTC)
                end = start + rules.meeting
                if start < earliest or end > closes or (latest is not None and end > latest):
                    continue
                if not index.overlaps(start, end):
                    out.append(local)
                    if len(out) >= limit:
                        break
        day += timedelta(days=1)  # a calendar date, not a wall-clock instant: DST cannot shift it
    return out


def spread(slots: Sequence[datetime], n: int = 2) -> list[datetime]:
    """Up to ``n`` slots worth offering together: earliest first, on different days, else 2 h or more apart."""
    if n <= 0:
        return []
    ordered = sorted(slots, key=lambda s: _utc("slot", s))
    picked: list[datetime] = []
    for candidate in ordered:  # first pass: one per day
        if len(picked) >= n:
            break
        if all(candidate.date() != p.date() for p in picked):
            picked.append(candidate)
    for candidate in ordered:  # second pass: same day, well apart
        if len(picked) >= n:
            break
        far = all(abs(_utc("slot", candidate) - _utc("slot", p)) >= MIN_OFFER_GAP for p in picked)
        if far and candidate not in picked:
            picked.append(candidate)
    return sorted(picked, key=lambda s: _utc("slot", s))
