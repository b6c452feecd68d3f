"""Local time and the public administration's working calendars, on integer milliseconds.

The engine keeps every moment as whole milliseconds since the Unix epoch (UTC): comparisons
are exact, arithmetic is cheap, and the ``datetime`` of an event is made once, when the event
is built. Vietnam has no daylight saving, so local time is always UTC+7 and a local day,
weekday or time of day is plain integer arithmetic.

Working time is what a deadline counts (``OFFICE``): 07:30-11:30 and 13:30-17:00 local time
(7.5 hours a day) on working days, which are Monday to Friday except public holidays, their
make-up days and bridge days, plus the Saturdays worked in exchange (``ioc.domain.calendar``). Some
agencies also work outside it (``WorkCalendar``): one-stop desks open on Saturday mornings
(``SATURDAY_DESK``), back offices that stay late (``EXTENDED``). Their work is counted on their
own calendar; deadlines always on ``OFFICE``.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from ioc.domain.calendar import DayKind, day_kind, schedule

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
LOCAL_OFFSET_MS = 7 * HOUR_MS
"""Indochina Time, UTC+7, all year."""

WORK_SEGMENTS: tuple[tuple[int, int], ...] = (
    (7 * HOUR_MS + 30 * MINUTE_MS, 11 * HOUR_MS + 30 * MINUTE_MS),
    (13 * HOUR_MS + 30 * MINUTE_MS, 17 * HOUR_MS),
)
"""Office hours within a local day, as (start, end) milliseconds after local midnight."""

WORKDAY_MS = sum(end - start for start, end in WORK_SEGMENTS)
"""One working day: 7.5 hours."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    """An aware ``datetime`` as whole milliseconds since the epoch (sub-millisecond truncated)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is naive: pass an aware datetime (e.g. tzinfo=VN_TZ)")
    return (moment - _EPOCH) // _MS


def local_day(t: int) -> int:
    """Local (UTC+7) day number since 1970-01-01."""
    return (t + LOCAL_OFFSET_MS) // DAY_MS


def local_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


def weekday(day: int) -> int:
    """Monday is 0 (1970-01-01 was a Thursday)."""
    return (day + 3) % 7


def local_ms_of_day(t: int) -> int:
    """Milliseconds since local midnight."""
    return (t + LOCAL_OFFSET_MS) % DAY_MS


def day_start(day: int) -> int:
    """The UTC millisecond of local midnight that starts ``day``."""
    return day * DAY_MS - LOCAL_OFFSET_MS


_KINDS: dict[int, DayKind] = {}
_IRREGULAR: dict[int, tuple[int, ...]] = {}


def kind_of(day: int) -> DayKind:
    """The ``DayKind`` of local day number ``day`` (cached)."""
    kind = _KINDS.get(day)
    if kind is None:
        if len(_KINDS) > 100_000:
            _KINDS.clear()
        kind = _KINDS[day] = day_kind(local_date(day))
    return kind


def _irregular_days(year: int) -> tuple[int, ...]:
    """Day numbers of ``year`` that are not what their weekday says (holidays, make-up days)."""
    days = _IRREGULAR.get(year)
    if days is None:
        off, make_up = schedule(year)
        epoch = date(1970, 1, 1).toordinal()
        days = _IRREGULAR[year] = tuple(sorted(d.toordinal() - epoch for d in (*off, *make_up)))
    return days


def _next_irregular(day: int) -> int:
    """The first irregular day at or after ``day`` (far away when none in three years)."""
    year = local_date(day).year
    for y in (year, year + 1, year + 2):
        days = _irregular_days(y)
        i = bisect_left(days, day)
        if i < len(days):
            return days[i]
    return day + 3 * 366


@dataclass(frozen=True)
class WorkCalendar:
    """When an office works: segments of a working day and of an ordinary Saturday, as
    (start, end) milliseconds after local midnight. Holidays are never worked."""

    name: str
    workday: tuple[tuple[int, int], ...] = ()
    saturday: tuple[tuple[int, int], ...] = ()
    week_ms: int = field(init=False)
    """Working time in an ordinary week."""

    def __post_init__(self) -> None:
        week = 5 * sum(e - s for s, e in self.workday) + sum(e - s for s, e in self.saturday)
        object.__setattr__(self, "week_ms", week)

    def segments(self, day: int) -> tuple[tuple[int, int], ...]:
        kind = kind_of(day)
        if kind is DayKind.WORKDAY:
            return self.workday
        if kind is DayKind.SATURDAY:
            return self.saturday
        return ()


def _hm(hours: int, minutes: int = 0) -> int:
    return hours * HOUR_MS + minutes * MINUTE_MS


OFFICE = WorkCalendar("office", WORK_SEGMENTS)
"""The legal working time, which deadlines count."""
SATURDAY_DESK = WorkCalendar("saturday-desk", WORK_SEGMENTS, ((_hm(7, 30), _hm(11, 30)),))
"""A one-stop desk that also receives on Saturday mornings."""
EXTENDED = WorkCalendar(
    "extended", ((_hm(7, 30), _hm(11, 30)), (_hm(13, 30), _hm(18, 30))),
    ((_hm(7, 30), _hm(11, 30)),),
)
"""A back office that works until 18:30 and on Saturday mornings (a land registration office
clearing its backlog)."""


def add_work(t: int, work: int, calendar: WorkCalendar = OFFICE) -> int:
    """The moment when ``work`` ms of ``calendar``'s working time have passed after ``t``.

    Outside working time the count starts at the next opening, so ``add_work(t, 0)`` is the
    next moment the office is open (``t`` itself when it is).
    """
    local = t + LOCAL_OFFSET_MS
    day = local // DAY_MS
    sec = local - day * DAY_MS
    week = calendar.week_ms
    while True:
        if sec == 0 and work > week and (day + 3) % 7 == 0:  # a Monday: skip whole weeks
            weeks = min((work - 1) // week, (_next_irregular(day) - day) // 7)
            if weeks > 0:
                day += 7 * weeks
                work -= weeks * week
        for start, end in calendar.segments(day):
            if sec < end:
                begin = start if sec < start else sec
                available = end - begin
                if work <= available:
                    return day * DAY_MS + begin + work - LOCAL_OFFSET_MS
                work -= available
                sec = end
        day += 1
        sec = 0


def work_between(a: int, b: int, calendar: WorkCalendar = OFFICE) -> int:
    """Working time (ms) of ``calendar`` between ``a`` and ``b`` (0 when ``b <= a``)."""
    if b <= a:
        return 0
    total = 0
    day = (a + LOCAL_OFFSET_MS) // DAY_MS
    last = (b + LOCAL_OFFSET_MS) // DAY_MS
    while day <= last:
        base = day * DAY_MS - LOCAL_OFFSET_MS
        for start, end in calendar.segments(day):
            lo = max(a, base + start)
            hi = min(b, base + end)
            if hi > lo:
                total += hi - lo
        day += 1
    return total


def is_open(t: int, calendar: WorkCalendar = OFFICE) -> bool:
    """Whether ``calendar`` is working at ``t``."""
    local = t + LOCAL_OFFSET_MS
    day, sec = divmod(local, DAY_MS)
    return any(start <= sec < end for start, end in calendar.segments(day))
