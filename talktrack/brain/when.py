"""Dates and times a prospect says on a call, read in the prospect's time zone.

Rules, as people mean them on the phone:

* A bare weekday ("Tuesday", "on Tuesday") is the next one after today. "this Tuesday" may be today.
  "next Tuesday" is the coming Tuesday when that is more than two days away, else the one a week
  later: said on a Monday or a Sunday it is the Tuesday of the following week, said on a Friday it
  is four days out. "Tuesday next week" is always in the following calendar week (weeks start Monday).
* An hour without am/pm: 1-7 is afternoon, 8-11 morning, 12 noon; "in the morning/afternoon",
  "tonight" decide when said.
* An exact time has ``end == start``. Otherwise ``start``/``end`` bound a window: the morning is from
  the start of business hours to noon, the afternoon noon to close, a weekday the whole business day,
  "next week" Monday to Friday, "end of the week" Thursday to Friday. A window that contains ``now``
  starts at the next quarter hour instead.
* Without a day ("at 10", "in the morning") the date is today and ``day_given`` is False.
* A zone word right after the time, or "<zone> time" ("2 pm Eastern", "10 CET", "Berlin time"), reads
  the whole expression in that zone; results are always in the prospect's zone. "GMT"/"UTC" are UTC;
  "UK time", "London time", "BST" follow London's clocks; "my time" is the prospect's own zone.
  Wall times are built with zoneinfo, so they are right across DST changes.
* Negation ("I can't do Tuesday") is reported in ``negated``; when one day is refused and another
  offered, the offered one is returned.

Everything is read by precompiled regular expressions (well under a millisecond), except numeric dates
("12/3", "2026-12-03"), which dateparser reads month first in the Americas and day first elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser

from talktrack.brain.spoken import ordinal, words_to_digits

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD = r"(?:monday|tuesday|tues|wednesday|thursday|thurs|friday|saturday|sunday)s?"
_MONTH = (
    r"(?:january|jan|february|feb|march|mar|april|apr|may|june|jun|july|jul|august|aug|september|sept|sep|"
    r"october|oct|november|nov|december|dec)"
)
_ZONES: dict[str, str] = {
    "central european": "Europe/Berlin", "cet": "Europe/Berlin", "cest": "Europe/Berlin",
    "berlin": "Europe/Berlin", "german": "Europe/Berlin", "eastern": "America/New_York",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "central": "America/Chicago", "cst": "America/Chicago", "cdt": "America/Chicago", "ct": "America/Chicago",
    "mountain": "America/Denver", "mst": "America/Denver", "mdt": "America/Denver", "mt": "America/Denver",
    "pacific": "America/Los_Angeles", "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles",
    "pt": "America/Los_Angeles", "gmt": "UTC", "utc": "UTC", "uk": "Europe/London", "british": "Europe/London",
    "london": "Europe/London", "bst": "Europe/London",
}  # fmt: skip
_ZONE_WORDS = "|".join(sorted(_ZONES, key=len, reverse=True))
_OWN_ZONE = r"my|local|our"
# Directly after a time any zone word counts; elsewhere only "<zone> time" does.
_ZONE_AFTER = re.compile(rf"\s*\b(?P<z>{_ZONE_WORDS}|{_OWN_ZONE})\b(?:\s+(?:standard|daylight|summer))?(?:\s+time)?")
_ZONE_ANY = re.compile(rf"\b(?P<z>{_ZONE_WORDS}|{_OWN_ZONE})(?:\s+(?:standard|daylight|summer))?\s+time\b")

_DAY = re.compile(
    rf"(?P<md>\b(?P<mn1>{_MONTH})\s+(?:the\s+)?(?P<md1>\d{{1,2}})(?:st|nd|rd|th)?\b(?:\s+(?P<my1>\d{{4}}))?"
    rf"|\b(?:the\s+)?(?P<md2>\d{{1,2}})(?:st|nd|rd|th)?\s+of\s+(?P<mn2>{_MONTH})\b(?:\s+(?P<my2>\d{{4}}))?)"
    r"|(?P<nd>(?<![\d:])\b(?!24/7)\d{1,4}/\d{1,2}(?:/\d{2,4})?\b)"
    rf"|(?P<wd>(?:(?P<wpre>next week|this week|the following week)\s+(?:on\s+)?)?"
    rf"(?:(?P<wmod>next|this coming|this|coming|a week from)\s+)?(?P<wname>{_WD})"
    r"(?:\s+(?:of\s+)?(?P<wsuf>next week|this week|the following week|after next))?)"
    r"|(?P<dat>\bday after tomorrow\b)|(?P<tom>\btomorrow\b)"
    r"|(?P<tod>\b(?:today|tonight|this (?:morning|afternoon|evening))\b)"
    r"|(?P<wk>\b(?:(?P<wkpos>early|earlier|late|later|the end of|end of|the beginning of|beginning of|"
    r"the start of|start of|the middle of|middle of|mid)\s+(?:in\s+)?(?P<wkw1>the following|next|this|the)?"
    r"|(?P<wkw2>the following|next|this))\s*week\b)"
    r"|(?P<ord>\bthe\s+(?P<on>\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:thing|one|time|step|call|option|person|week|"
    r"month|quarter|year|floor|of)\b))"
)
_NOT_COUNT = r"(?!\s*(?:st|nd|rd|th|people|persons|users|seats|employees|folks|reps|agents|licenses|percent|%|" \
    r"minutes?|hours?|days?|weeks?|months?|years?|times|of|/|:|\d)\b)"  # fmt: skip
_T = r"\d{1,2}(?::\d\d)?(?:\s?(?:am|pm))?"
_TIME = re.compile(
    r"(?:\b(?P<edge>after|before|by|until|till|no later than|no earlier than)\s+"
    rf"|\b(?P<lead>at|around|at around|at about|say|how about|what about|{_WD}|today|tomorrow|morning|"
    r"afternoon|evening|tonight)\s+|@\s*)?"
    r"(?:(?P<rel>\b(?P<rm>quarter|half|5|10|20|25)(?:\s+minutes)?\s+(?P<rd>past|after|to|till|til|of)\s+"
    rf"(?P<rh>\d{{1,2}}|noon)\b{_NOT_COUNT})"
    rf"|(?P<rng>(?:\bbetween|\bfrom)\s+(?:{_T}|noon)\s+(?:and|to|till|until)\s+(?:{_T}|noon)\b"
    rf"|\b{_T}\s+(?:to|till|until)\s+{_T}\b{_NOT_COUNT})"
    r"|(?P<ap>\b\d{1,2}(?::\d\d)?\s?(?:am|pm)\b)|(?P<clk>\b\d{1,2}(?::\d\d)?\s+oclock\b)"
    r"|(?P<hm>(?<![\d:/])\b\d{1,2}:\d\d\b)|(?P<noon>\b(?:12\s+)?(?:noon|midday|midnight)\b)"
    rf"|(?P<bare>\b\d{{1,2}}\b{_NOT_COUNT}))"
)
# A bare hour ("10") is a time only after "at"/a day word, or before one of these.
_BARE_FOLLOW = re.compile(
    rf"\s+(?:in the (?:morning|afternoon|evening)|tonight|this (?:morning|afternoon|evening)|"
    rf"(?:{_ZONE_WORDS}|{_OWN_ZONE}|your)\b|works\b|work for|would work|sounds good|"
    r"(?:is |would be )?(?:good|fine|ok|okay|better|perfect)(?=\s*(?:$|[|,]|for\b)))"
)
_AFTER_DAY = "|".join(f"(?<={d} )" for d in ("tomorrow", "today", *_WEEKDAYS))
_PART = re.compile(
    r"\b(?:(?P<pmod>early|late|mid|later)\s+(?:in\s+the\s+)?)?(?P<part>mornings?|afternoons?|evenings?|tonight|"
    r"lunch ?time|lunch|end of (?:the )?(?:business )?day|close of business|eod|cob|"
    # "first thing" only next to a day or "in the morning": "the first thing I'd want" is no time.
    rf"1st thing(?=\s+(?:in the morning|on|tomorrow|today|next|this|{_WD})\b)|(?:{_AFTER_DAY})1st thing)\b"
)
_CLAUSE = re.compile(r"[|,]|\b(?:but|however|instead|or|rather|how about|what about|maybe|otherwise)\b")
_NEGATOR = re.compile(
    r"\b(?:not|never|cant|cannot|wont|dont|doesnt|isnt|couldnt|wouldnt|busy|booked|unavailable|no good)\b"
)
_TODAY_NOW = re.compile(r"\b(?:use|uses|using|used|run|runs|running|pay|paying|spend|spending|handle|handling|"
                        r"manage|managing|currently|rely|relying|have|has)\b")  # fmt: skip
_TODAY_CUE = re.compile(r"\b(?:works?|free|available|good|fine|call|talk|meet|book|schedule|demo|how about|"
                        r"what about|later|sometime|can we|could we|time|open|slot)\b")  # fmt: skip
_FILLER = re.compile(r",?\s*\b(?:uh+|um+|uhm|er|erm|ah+|hmm+|mm+|you know|i mean|like)\b\s*,?")
_BEFORE_DIGITS = tuple(
    (re.compile(pattern), repl)
    for pattern, repl in (
        (r"\b([ap])\.\s?m\b\.?", r"\1m"),
        (r"\s*o'?\s?clock\b", " oclock"),
        (r"'", ""),
        (r"\b(\d{1,2})\.(\d\d)\b", r"\1:\2"),
        (r"(\d)[\s-]?ish\b", r"\1"),
        (r"\b(\d{4})-(\d\d?)-(\d\d?)\b", r"\1/\2/\3"),
        (r"(?<=\d)\s?[-–]\s?(?=\d)", " to "),
        (r"(?<=\d),(?=\d{3})", ""),
        (_FILLER.pattern, " "),
        (r"[.?!;]+(?:\s|$)", " | "),
        (r",", " , "),
        (r"[^a-z0-9:/@|,\s]", " "),
    )
)
# "ten thirty" -> "10 30" -> "10:30"; "ten oh five" -> "10:05".
_SPLIT_TIME = re.compile(r"(?<![\d:/])\b(1[0-2]|[1-9]) (?:oh |o )?([1-5]\d|(?<=o |h )\d)\b(?!:)")
_OH = re.compile(r"\boh\b")
_FIXED_PARTS = {
    "evening": (17 * 60, 20 * 60), "tonight": (17 * 60, 20 * 60),
    "lunch": (12 * 60, 13 * 60), "lunchtime": (12 * 60, 13 * 60), "lunch time": (12 * 60, 13 * 60),
}  # fmt: skip
_PM_PARTS = frozenset({"afternoon", "evening", "tonight", "end"})


@dataclass(frozen=True)
class When:
    """A time said on the call: an exact time (``end == start``) or a window from ``start`` to ``end``."""

    start: datetime  # aware, in the prospect's zone
    end: datetime
    exact: bool  # a clock time on one day was said
    day_given: bool  # False: only a time ("at 10"), for a day the caller already has in mind
    text: str  # the words it was read from
    negated: bool = False  # said as refused: "I can't do Tuesday"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'America/Chicago'") from None


def _normalize(text: str) -> str:
    """Lower case, digits for number words, "|" and "," for pauses, no fillers or stray punctuation."""
    t = text.lower().replace("’", "'")
    for pattern, repl in _BEFORE_DIGITS:
        t = pattern.sub(repl, t)
    t = words_to_digits(t)
    return _OH.sub(" ", _SPLIT_TIME.sub(_hm, t))


def _hm(m: re.Match[str]) -> str:
    return f"{m.group(1)}:{int(m.group(2)):02d}"


def _clause_of(pos: int, bounds: list[int]) -> int:
    return sum(1 for b in bounds if b < pos)


def _pick(matches: list[re.Match[str]], norm: str, bounds: list[int]) -> tuple[re.Match[str] | None, bool]:
    """The first match not refused in its clause; else the first, flagged as negated."""
    negated_clauses = {_clause_of(m.start(), bounds) for m in _NEGATOR.finditer(norm)}
    for m in matches:
        if _clause_of(m.start(), bounds) not in negated_clauses:
            return m, False
    return (matches[0], True) if matches else (None, False)


def parse_when(text: str, *, now: datetime, tz: str, business_hours: tuple[int, int] = (9, 17)) -> When | None:
    """The date/time said in ``text`` (in zone ``tz``, relative to ``now``), or None when none was said."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware: pass datetime.now(UTC) or a datetime with tzinfo")
    if not 0 <= business_hours[0] < business_hours[1] <= 24:
        raise ValueError(f"business_hours {business_hours} must be (open, close) hours with 0 <= open < close <= 24")
    zone = _zone(tz)
    norm = _normalize(text)
    # A date said next to a weekday ("Tuesday, December 8th") is the more precise of the two.
    days = sorted(_DAY.finditer(norm), key=lambda m: m.lastgroup not in ("md", "nd", "ord"))
    times = [m for m in _TIME.finditer(norm) if _is_time(m, norm)]
    parts = list(_PART.finditer(norm))
    bounds = [m.start() for m in _CLAUSE.finditer(norm)]
    if not (times or parts):
        days = [m for m in days if not _today_as_now(m, norm, bounds)]
    if not (days or times or parts):
        return None
    day, day_neg = _pick(days, norm, bounds)
    clock, time_neg = _pick(times, norm, bounds)
    part, _ = _pick(parts, norm, bounds)
    said = _said_zone(norm, clock) or zone
    local_now = now.astimezone(said)
    today = local_now.date()
    span = _day_span(day, today, said) if day is not None else None
    if day is not None and span is None and clock is None and part is None:
        return None
    first, last = span or (today, today)
    open_min, close_min = business_hours[0] * 60, business_hours[1] * 60
    part_name = _part_name(part, day)
    window = _part_window(part, part_name, open_min, close_min) if part_name else None
    exact_min, time_window = _clock(clock, part_name, window or (open_min, close_min)) if clock else (None, None)
    if exact_min is not None:
        start, end = _wall(first, exact_min, said), _wall(last, exact_min, said)
    else:
        lo, hi = time_window or window or (open_min, close_min)
        start, end = _wall(first, lo, said), _wall(last, hi, said)
        if start < now < end:
            minute = local_now.hour * 60 + local_now.minute + (1 if local_now.second or local_now.microsecond else 0)
            start = _wall(local_now.date(), -(-minute // 15) * 15, said)
    return When(
        start=start.astimezone(zone),
        end=end.astimezone(zone),
        exact=exact_min is not None and first == last,
        day_given=span is not None,
        text=text,
        negated=day_neg if day is not None else time_neg,
    )


def _today_as_now(m: re.Match[str], norm: str, bounds: list[int]) -> bool:
    """True for "today" meaning "these days", in a clause about what they use: "we use OwnBackup today"."""
    if m.group(0) != "today":
        return False
    begin = max((b for b in bounds if b < m.start()), default=0)
    end = min((b for b in bounds if b > m.start()), default=len(norm))
    clause = norm[begin:end]
    return _TODAY_NOW.search(clause) is not None and _TODAY_CUE.search(clause) is None


def _is_time(m: re.Match[str], norm: str) -> bool:
    if m.group("bare") is None:
        return True
    hour = int(m.group("bare"))
    if hour > 23 or (m.group("edge") is None and m.group("lead") is None and "@" not in m.group(0)):
        return hour <= 12 and _BARE_FOLLOW.match(norm, m.end()) is not None
    return True


def _said_zone(norm: str, clock: re.Match[str] | None) -> ZoneInfo | None:
    found = _ZONE_AFTER.match(norm, clock.end()) if clock is not None else None
    found = found or _ZONE_ANY.search(norm)
    if found is None or found.group("z") in ("my", "local", "our"):
        return None
    return _zone(_ZONES[found.group("z")])


def _day_span(m: re.Match[str], today: date, zone: ZoneInfo) -> tuple[date, date] | None:
    kind = m.lastgroup
    if kind in ("md", "nd"):
        found = _month_day(m, today) if kind == "md" else _dateparse(m.group(0), today, zone)
        return (found, found) if found else None
    if kind == "wd":
        d = _weekday(m, today)
        return d, d
    if kind in ("dat", "tom", "tod"):
        d = today + timedelta(days={"dat": 2, "tom": 1, "tod": 0}[kind])
        return d, d
    if kind == "ord":
        nth = _day_of_month(int(m.group("on")), today)
        return (nth, nth) if nth else None
    which = m.group("wkw1") or m.group("wkw2") or "this"
    monday = today - timedelta(days=today.weekday())
    if which in ("next", "the following") or today.weekday() >= 5:
        monday += timedelta(days=7)
    pos = (m.group("wkpos") or "").removeprefix("the ")
    lo, hi = {"early": (0, 1), "earlier": (0, 1), "beginning of": (0, 1), "start of": (0, 1), "mid": (1, 3),
              "middle of": (1, 3), "late": (3, 4), "later": (3, 4), "end of": (3, 4)}.get(pos, (0, 4))  # fmt: skip
    first, last = monday + timedelta(days=lo), monday + timedelta(days=hi)
    return max(first, min(today, last)), last


def _weekday(m: re.Match[str], today: date) -> date:
    target = _WEEKDAYS.index(next(w for w in _WEEKDAYS if w.startswith(m.group("wname")[:4])))
    ahead = (target - today.weekday()) % 7
    week = m.group("wpre") or m.group("wsuf") or ""
    mod = m.group("wmod") or ""
    if week in ("next week", "the following week"):
        return today - timedelta(days=today.weekday()) + timedelta(days=7 + target)
    if week == "this week":
        return today - timedelta(days=today.weekday() - target)
    if mod == "next":
        ahead = ahead + 7 if ahead <= 2 else ahead
    elif mod != "this":
        ahead = ahead or 7
    if mod == "a week from" or week == "after next":
        ahead += 7
    return today + timedelta(days=ahead)


def _day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    if day < today.day:
        month += 1
    for _ in range(12):
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
        try:
            return date(year, month, day)
        except ValueError:
            month += 1
    return None


def _month_day(m: re.Match[str], today: date) -> date | None:
    """The date in "December 3rd" or "the 3rd of December 2027": the next such day unless a year is said."""
    month = _MONTHS.index((m.group("mn1") or m.group("mn2"))[:3]) + 1
    day = int(m.group("md1") or m.group("md2"))
    year_said = m.group("my1") or m.group("my2")
    year = int(year_said) if year_said else today.year
    try:
        found = date(year, month, day)
        return found if year_said or found >= today else date(year + 1, month, day)
    except ValueError:
        return None


def _dateparse(phrase: str, today: date, zone: ZoneInfo) -> date | None:
    american = zone.key.startswith(("America/", "US/", "Canada/"))
    settings = {
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime(today.year, today.month, today.day, 12),
        "TIMEZONE": zone.key,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "DATE_ORDER": "MDY" if american else "DMY",
    }
    found = dateparser.parse(phrase, languages=["en"], settings=settings)
    return found.date() if found is not None else None


def _part_name(part: re.Match[str] | None, day: re.Match[str] | None) -> str:
    if part is not None:
        name = part.group("part").rstrip("s").replace("1st thing", "first")
        return "end" if name.startswith(("end", "close", "eod", "cob")) else name
    if day is not None and day.lastgroup == "tod" and day.group(0) != "today":
        return day.group(0).split()[-1]
    return ""


def _part_window(part: re.Match[str] | None, name: str, open_min: int, close_min: int) -> tuple[int, int]:
    by_hours = {
        "morning": (open_min, 12 * 60), "afternoon": (12 * 60, close_min),
        "first": (open_min, open_min + 60), "end": (close_min - 60, close_min),
    }  # fmt: skip
    lo, hi = by_hours.get(name) or _FIXED_PARTS.get(name, (open_min, close_min))
    mod = part.group("pmod") if part is not None else None
    half = (hi - lo) // 2
    if mod == "early":
        return lo, lo + half
    if mod in ("late", "later"):
        return hi - half, hi
    if mod == "mid":
        return lo + half // 2, hi - half // 2
    return lo, hi


def _clock(m: re.Match[str], part: str, window: tuple[int, int]) -> tuple[int | None, tuple[int, int] | None]:
    """Minutes after midnight for an exact time, or a (start, end) window for ranges and "after 3"."""
    if m.group("rng"):
        a, b = re.split(r"\s+(?:and|to|till|until)\s+", re.sub(r"^(?:between|from)\s+", "", m.group("rng")))
        end = _minutes(b, part)
        start = _minutes(a, part, near=end)
        return None, (start, end)
    if m.group("rel"):
        base = _minutes(m.group("rh"), part)
        step = {"quarter": 15, "half": 30}.get(m.group("rm")) or int(m.group("rm"))
        exact = base + step if m.group("rd") in ("past", "after") else base - step
    else:
        exact = _minutes(next(g for g in (m.group(k) for k in ("ap", "clk", "hm", "noon", "bare")) if g), part)
    edge = m.group("edge")
    if edge in ("after", "no earlier than"):
        return None, (exact, window[1] if window[1] > exact else min(exact + 120, 24 * 60 - 1))
    if edge:
        return None, (window[0] if window[0] < exact else max(exact - 120, 0), exact)
    return exact, None


def _minutes(spoken: str, part: str, near: int | None = None) -> int:
    """Minutes after midnight for "2", "10:30 am", "noon"; ``near``: the range end an hour without am/pm precedes."""
    s = spoken.replace("oclock", "").strip()
    if "noon" in s or "midday" in s:
        return 12 * 60
    if "midnight" in s:
        return 0
    found = re.match(r"(\d{1,2})(?::(\d\d))?\s?(am|pm)?", s)
    assert found is not None
    hour, minute, ampm = int(found.group(1)), int(found.group(2) or 0), found.group(3)
    if ampm:
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    elif hour < 12 and near is not None and hour * 60 + minute < near:
        hour = hour + 12 if (hour + 12) * 60 + minute < near else hour
    elif hour < 12 and part in _PM_PARTS:
        hour += 12
    elif 1 <= hour <= 7 and part not in ("morning", "first"):
        hour += 12
    return min(hour, 23) * 60 + min(minute, 59)


def _wall(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """A wall-clock time on ``day``; a time skipped by a DST change moves forward, as clocks do."""
    day, minutes = day + timedelta(days=minutes // (24 * 60)), minutes % (24 * 60)
    naive = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
    return naive.astimezone(UTC).astimezone(zone)


def say_when(dt: datetime, tz: str, *, now: datetime, with_zone: bool = False) -> str:
    """How an agent says ``dt`` on the phone: "tomorrow at 2:30 PM", "Tuesday, December 8th at 10 AM"."""
    zone = _zone(tz)
    local = dt.astimezone(zone)
    today = now.astimezone(zone).date()
    delta = (local.date() - today).days
    weekday = _WEEKDAYS[local.weekday()].capitalize()
    if -1 <= delta <= 1:
        day = ("yesterday", "today", "tomorrow")[delta + 1]
    elif 1 < delta < 7:
        day = weekday
    else:
        day = f"{weekday}, {local:%B} {ordinal(local.day)}" + (f", {local.year}" if abs(delta) > 300 else "")
    if (local.hour, local.minute) in ((12, 0), (0, 0)):
        clock = "noon" if local.hour == 12 else "midnight"
    else:
        clock = f"{(local.hour - 1) % 12 + 1}{f':{local.minute:02d}' if local.minute else ''} "
        clock += "AM" if local.hour < 12 else "PM"
    said = f"{day} at {clock}"
    return f"{said} {zone_label(tz, dt)}" if with_zone else said


def zone_label(tz: str, at: datetime) -> str:
    """The zone's spoken name at ``at``: "Eastern time", "Central European time", else "London time"."""
    zone = _zone(tz)
    abbr = at.astimezone(zone).tzname() or ""
    if tz.startswith(("America/", "US/", "Canada/", "Pacific/Honolulu")):
        found = re.fullmatch(r"(AK|H|[ECMPAN])[SD]T", abbr)
        if found:
            names = {"E": "Eastern", "C": "Central", "M": "Mountain", "P": "Pacific", "AK": "Alaska",
                     "H": "Hawaii", "A": "Atlantic", "N": "Newfoundland"}  # fmt: skip
            return f"{names[found.group(1)]} time"
    european = {"CET": "Central", "CEST": "Central", "EET": "Eastern", "EEST": "Eastern", "WET": "Western"}
    if tz.startswith(("Europe/", "Atlantic/")) and abbr in european | {"WEST": "Western"}:
        return f"{(european | {'WEST': 'Western'})[abbr]} European time"
    if tz in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Zulu"):
        return "UTC"
    return f"{tz.rsplit('/', 1)[-1].replace('_', ' ')} time"


def warm() -> None:
    """Load dateparser's language data now, so the first date said on a live call is read fast."""
    now = datetime.now(UTC)
    for phrase in ("December 3rd at 10:30 a.m.", "12/3", "next Tuesday afternoon", "the 3rd at 10"):
        parse_when(phrase, now=now, tz="America/New_York")
