"""Local time and the public administration's working calendar, on integer milliseconds.

The engine keeps every moment as whole milliseconds since the Unix epoch (UTC): comparisons
are exact, arithmetic is cheap, and the ``datetime`` of an event is made once, when the event
is built. Vietnam has no daylight saving, so local time is always UTC+7 and a local day,
weekday or time of day is plain integer arithmetic.

Working time is what a deadline counts: Monday to Friday, 07:30-11:30 and 13:30-17:00 local
time (7.5 hours a day). Public holidays (Tết, 30/4-1/5, 2/9) are not modelled: an assumption
that makes deadlines over a holiday a little early.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

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


def add_work(t: int, work: int) -> int:
    """The moment when ``work`` ms of working time have passed after ``t``.

    Outside office hours the count starts at the next opening, so ``add_work(t, 0)`` is the
    next moment the offices are open (``t`` itself when they are).
    """
    local = t + LOCAL_OFFSET_MS
    day = local // DAY_MS
    sec = local - day * DAY_MS
    while True:
        wd = (day + 3) % 7
        if wd < 5:
            if sec == 0 and wd == 0 and work > 5 * WORKDAY_MS:
                weeks = (work - 1) // (5 * WORKDAY_MS)  # skip whole weeks in one step
                day += 7 * weeks
                work -= weeks * 5 * WORKDAY_MS
            for start, end in WORK_SEGMENTS:
                if sec < end:
                    begin = start if sec < start else sec
                    available = end - begin
                    if work <= available:
                        return day * DAY_MS + begin + work - LOCAL_OFFSET_MS
                    work -= available
                    sec = end
        day += 1
        sec = 0


def work_between(a: int, b: int) -> int:
    """Working time (ms) between ``a`` and ``b`` (0 when ``b <= a``)."""
    if b <= a:
        return 0
    total = 0
    day = (a + LOCAL_OFFSET_MS) // DAY_MS
    last = (b + LOCAL_OFFSET_MS) // DAY_MS
    while day <= last:
        if (day + 3) % 7 < 5:
            base = day * DAY_MS - LOCAL_OFFSET_MS
            for start, end in WORK_SEGMENTS:
                lo = max(a, base + start)
                hi = min(b, base + end)
                if hi > lo:
                    total += hi - lo
        day += 1
    return total
