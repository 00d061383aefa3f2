"""Booking round trips against a local Radicale server: free slots for the next week, and one booking.

The target is a booking round trip of at most 150 ms at p95, so the agent never leaves a long silence
while it puts the meeting in the calendar. Run with ``python -m talktrack.bench.booking [n]``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from talktrack.bench.stats import fmt_ms, pct, table
from talktrack.testing.radicale import LocalRadicale
from talktrack.tools.calendar import BookingRules, CaldavCalendar, booking_uid

BOOK_P95_TARGET_MS = 150.0
WEEK = timedelta(days=7)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000.0


async def booking_round_trips(n: int = 30) -> dict[str, float]:
    """p50/p95 in ms of ``free_slots`` over the next 7 days and of ``book`` of a fresh slot, ``n`` times each."""
    if n < 1:
        raise ValueError(f"n must be at least 1 round trip, not {n}")
    rules = BookingRules(lead_time_minutes=0)
    free_ms: list[float] = []
    book_ms: list[float] = []
    async with LocalRadicale() as server:
        calendar = CaldavCalendar(server.calendar_url("bench", "sales"), calendar_name="Sales", rules=rules)
        try:
            await calendar.free_slots(limit=1)  # creates the calendar; a real agent does this once per process
            for i in range(n):
                now = datetime.now(UTC)
                started = time.perf_counter()
                slots = await calendar.free_slots(now=now, window_end=now + WEEK)
                free_ms.append(_ms(started))
                if not slots:
                    raise RuntimeError(f"no free slot left in the next 7 days after {i} bookings; use a smaller n")
                started = time.perf_counter()
                await calendar.book(
                    uid=booking_uid(f"bench-{i}"),
                    start=slots[0],
                    title="Benchmark meeting",
                    description="Booked by talktrack's booking benchmark.",
                    attendee_name="Bench Prospect",
                    attendee_email="prospect@example.com",
                )
                book_ms.append(_ms(started))
        finally:
            await calendar.close()
    return {
        "n": float(n),
        "free_slots_p50_ms": pct(free_ms, 50) or 0.0,
        "free_slots_p95_ms": pct(free_ms, 95) or 0.0,
        "book_p50_ms": pct(book_ms, 50) or 0.0,
        "book_p95_ms": pct(book_ms, 95) or 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    """Print the booking round trips; exit 1 if booking misses its p95 target."""
    args = sys.argv[1:] if argv is None else argv
    n = int(args[0]) if args else 30
    result = asyncio.run(booking_round_trips(n))
    rows = [
        ["free_slots (7 days)", fmt_ms(result["free_slots_p50_ms"]), fmt_ms(result["free_slots_p95_ms"])],
        ["book", fmt_ms(result["book_p50_ms"]), fmt_ms(result["book_p95_ms"])],
    ]
    print(f"booking round trips against local Radicale, n={n}")
    print(table(["operation", "p50 ms", "p95 ms"], rows))
    ok = result["book_p95_ms"] <= BOOK_P95_TARGET_MS
    print(f"book p95 {'within' if ok else 'OVER'} the {BOOK_P95_TARGET_MS:.0f} ms target")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
