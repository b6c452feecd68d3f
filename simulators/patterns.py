"""The shapes of demand over a day, a week and a month: when people submit, pay and report.

Each feed's arrival rate is ``per_day x shape(kind of day, time of day) x multiplier`` and is
held constant over 15-minute buckets (the engine draws exact Poisson arrivals bucket by
bucket). The kind of day comes from the working calendar (``ioc.domain.calendar``): a working day
(Monday to Friday, or a Saturday worked in exchange for a bridge day), an ordinary Saturday,
a Sunday, or a holiday (Tết, 30/4, 2/9, ..., their make-up and bridge days), which looks like
a Sunday. A ``DayTable`` holds 96 bucket weights per kind of day, normalised so that an
ordinary week (five working days, a Saturday and a Sunday) has a mean of 1: ``per_day`` stays
the average over an ordinary week, and a week with a holiday carries less.

Shapes are piecewise linear between anchor hours, so flows ramp up at opening, taper into the
lunch break and out of the evening rather than switch like a square wave. The anchors are
assumptions in the spirit of what portals and IOCs publish: counter dossiers only when the
one-stop desks are open (Saturday mornings only in provinces whose desks open then), online
dossiers mostly in office hours too (businesses and service agents file most of them) with a
thin evening and weekend tail; payments peak in the evening after work; field reports follow
the day.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from ioc.domain.calendar import DayKind
from simulators.worktime import DAY_MS, LOCAL_OFFSET_MS, MINUTE_MS, kind_of

BUCKET_MS = 15 * MINUTE_MS
BUCKETS_PER_DAY = DAY_MS // BUCKET_MS

Shape = Callable[[DayKind, float], float]
"""weight(kind of day, local hour as a float in [0, 24))."""

DayTable = dict[DayKind, tuple[float, ...]]

_ORDINARY_WEEK = (*[DayKind.WORKDAY] * 5, DayKind.SATURDAY, DayKind.SUNDAY)


def day_table(shape: Shape) -> DayTable:
    """Sample ``shape`` at every bucket's midpoint for each kind of day; normalise to a mean of
    1 over an ordinary week (all zero stays zero)."""
    raw = {
        kind: [shape(kind, (b + 0.5) * BUCKET_MS / 3_600_000) for b in range(BUCKETS_PER_DAY)]
        for kind in DayKind
    }
    mean = sum(sum(raw[kind]) for kind in _ORDINARY_WEEK) / (7 * BUCKETS_PER_DAY)
    if mean <= 0:
        return {kind: tuple(0.0 for _ in values) for kind, values in raw.items()}
    return {kind: tuple(v / mean for v in values) for kind, values in raw.items()}


def weight(table: DayTable, t: int) -> float:
    """The table's weight for the bucket holding ``t``."""
    local = t + LOCAL_OFFSET_MS
    day, sec = divmod(local, DAY_MS)
    return table[kind_of(day)][sec // BUCKET_MS]


def ramp(anchors: Sequence[tuple[float, float]], hour: float) -> float:
    """Linear interpolation between ``(hour, weight)`` anchors (flat outside them)."""
    if hour <= anchors[0][0]:
        return anchors[0][1]
    for (h0, w0), (h1, w1) in itertools.pairwise(anchors):
        if hour <= h1:
            return w0 + (w1 - w0) * (hour - h0) / (h1 - h0) if h1 > h0 else w1
    return anchors[-1][1]


def _hourly(values: Sequence[float], hour: float) -> float:
    """An hour-by-hour table read between the hours' midpoints, so it ramps."""
    x = hour - 0.5
    i = int(x // 1)
    frac = x - i
    return values[i % 24] * (1.0 - frac) + values[(i + 1) % 24] * frac


_COUNTER_WORKDAY = (
    (7.25, 0.0), (7.75, 0.8), (8.25, 1.3), (10.25, 1.3), (11.0, 0.9), (11.5, 0.3),
    (11.75, 0.0), (13.25, 0.0), (13.75, 0.8), (14.5, 1.05), (16.25, 0.9), (16.85, 0.3),
    (17.1, 0.0),
)
_COUNTER_SATURDAY = ((7.25, 0.0), (7.75, 0.3), (8.5, 0.45), (10.5, 0.4), (11.25, 0.15),
                     (11.5, 0.0))


def counter_dossiers(saturday_desks: bool) -> Shape:
    """Dossiers handed in at a one-stop counter: while the desks are open, a busy mid-morning;
    Saturday mornings only where the desks open then."""

    def shape(kind: DayKind, hour: float) -> float:
        if kind is DayKind.WORKDAY:
            return ramp(_COUNTER_WORKDAY, hour)
        if kind is DayKind.SATURDAY and saturday_desks:
            return ramp(_COUNTER_SATURDAY, hour)
        return 0.0

    return shape


_ONLINE_WORKDAY = (
    (0.0, 0.03), (5.5, 0.03), (6.5, 0.08), (7.5, 0.5), (8.5, 1.0), (11.0, 1.0), (11.75, 0.45),
    (13.0, 0.4), (14.0, 0.95), (16.5, 0.9), (17.5, 0.35), (19.5, 0.22), (21.5, 0.18),
    (22.5, 0.05), (24.0, 0.03),
)
_ONLINE_SATURDAY = ((0.0, 0.03), (6.0, 0.03), (8.5, 0.12), (16.0, 0.1), (21.0, 0.08),
                    (23.0, 0.03))
_ONLINE_REST = ((0.0, 0.03), (6.0, 0.03), (9.0, 0.07), (17.0, 0.06), (21.0, 0.07), (23.0, 0.03))


def online_dossiers(kind: DayKind, hour: float) -> float:
    """Dossiers filed on the portal: office hours dominate, a thin evening and weekend tail."""
    if kind is DayKind.WORKDAY:
        return ramp(_ONLINE_WORKDAY, hour)
    if kind is DayKind.SATURDAY:
        return ramp(_ONLINE_SATURDAY, hour)
    return ramp(_ONLINE_REST, hour)


_PAYMENT_HOURS = (
    0.15, 0.10, 0.08, 0.07, 0.08, 0.20, 0.50, 0.90, 1.20, 1.30, 1.30, 1.40,
    1.30, 1.00, 1.00, 1.00, 1.10, 1.20, 1.40, 1.80, 2.00, 1.80, 1.10, 0.50,
)


def payments(kind: DayKind, hour: float) -> float:
    """Card, QR, wallet and bank payments: a lunch bump and the evening peak (19:00-22:00)."""
    return _hourly(_PAYMENT_HOURS, hour) * (1.0 if kind is DayKind.WORKDAY else 0.9)


_INCIDENT_HOURS = (
    0.15, 0.10, 0.10, 0.10, 0.15, 0.40, 0.80, 1.30, 1.60, 1.60, 1.50, 1.30,
    1.00, 1.10, 1.40, 1.40, 1.40, 1.30, 1.10, 1.00, 0.90, 0.70, 0.45, 0.25,
)


def incidents(kind: DayKind, hour: float) -> float:
    """Field reports follow people's day: morning and afternoon peaks, quiet nights."""
    return _hourly(_INCIDENT_HOURS, hour) * (1.0 if kind is DayKind.WORKDAY else 0.8)


def _bill_day_weight(day_of_month: int) -> float:
    # Electricity and water bills go out in the first days of the month; people pay over the
    # following days, most between the 5th and the 15th (an assumption from EVN's and the
    # water companies' billing cycles).
    if 5 <= day_of_month <= 15:
        return 1.6
    if day_of_month in (3, 4, 16, 17):
        return 1.1
    return 0.6


_BILL_MEAN = sum(_bill_day_weight(d) for d in range(1, 31)) / 30
BILL_DAY_FACTOR: tuple[float, ...] = tuple(
    _bill_day_weight(d) / _BILL_MEAN if d else 0.0 for d in range(32)
)
"""Multiplier of utility-bill payments by day of month (index 1..31), mean 1 over 30 days."""
