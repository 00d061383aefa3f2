"""The host's calendar: free slots under booking rules, and race-safe bookings on a CalDAV server."""

from talktrack.tools.calendar.caldav_calendar import (
    Booking,
    CaldavCalendar,
    CalendarError,
    SlotTaken,
    SlotUnavailable,
    booking_uid,
)
from talktrack.tools.calendar.ical import busy_of
from talktrack.tools.calendar.slots import BookingRules, Busy, conflicts, free_slots, spread, within_hours

__all__ = [
    "Booking",
    "BookingRules",
    "Busy",
    "CaldavCalendar",
    "CalendarError",
    "SlotTaken",
    "SlotUnavailable",
    "booking_uid",
    "busy_of",
    "conflicts",
    "free_slots",
    "spread",
    "within_hours",
]
