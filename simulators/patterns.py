"""The shapes of demand over a week and a month: when people submit, pay and report.

Each feed's arrival rate is ``per_day x shape(time of week) x multiplier`` and is held constant
over 15-minute buckets (the engine draws exact Poisson arrivals bucket by bucket). A weekly
shape is a table of 672 bucket weights, normalised to a mean of 1, so ``per_day`` stays the
average over a whole week.

The weights are assumptions in the spirit of what portals and IOCs publish: counter dossiers
only in office hours (and a one-stop Saturday morning), online dossiers mostly in office
hours too (businesses and service agents file most of them) with a thin evening and weekend
tail; payments peak in the evening after work; field reports follow the day.
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.worktime import DAY_MS, LOCAL_OFFSET_MS, MINUTE_MS

BUCKET_MS = 15 * MINUTE_MS
BUCKETS_PER_DAY = DAY_MS // BUCKET_MS
BUCKETS_PER_WEEK = 7 * BUCKETS_PER_DAY

Shape = Callable[[int, float], float]
"""weight(weekday with Monday = 0, local hour as a float in [0, 24))."""


def weekly_table(shape: Shape) -> tuple[float, ...]:
    """Sample ``shape`` at every bucket's midpoint; normalise to mean 1 (all zero stays zero)."""
    raw = [
        shape(b // BUCKETS_PER_DAY, ((b % BUCKETS_PER_DAY) + 0.5) * BUCKET_MS / 3_600_000)
        for b in range(BUCKETS_PER_WEEK)
    ]
    mean = sum(raw) / len(raw)
    if mean <= 0:
        return tuple(0.0 for _ in raw)
    return tuple(value / mean for value in raw)


def week_bucket(t: int) -> int:
    """Index of the 15-minute bucket of the local week (Monday 00:00 is 0) holding ``t``."""
    local = t + LOCAL_OFFSET_MS
    day = local // DAY_MS
    return ((day + 3) % 7) * BUCKETS_PER_DAY + (local % DAY_MS) // BUCKET_MS


def _office(hour: float) -> bool:
    return 7.5 <= hour < 11.5 or 13.5 <= hour < 17.0


def counter_dossiers(weekday: int, hour: float) -> float:
    """Dossiers handed in at a one-stop counter: office hours, a busy mid-morning, Saturday a.m."""
    if weekday < 5 and _office(hour):
        return 1.3 if 8.0 <= hour < 10.5 else 1.0
    if weekday == 5 and 7.5 <= hour < 11.5:
        return 0.35
    return 0.0


def online_dossiers(weekday: int, hour: float) -> float:
    """Dossiers filed on the portal: office hours dominate, a thin evening and weekend tail."""
    night = hour < 6.0 or hour >= 22.0
    if weekday < 5:
        if _office(hour):
            return 1.0
        return 0.03 if night else 0.2
    if night:
        return 0.03
    return 0.1 if weekday == 5 else 0.06


_PAYMENT_HOURS = (
    0.15, 0.10, 0.08, 0.07, 0.08, 0.20, 0.50, 0.90, 1.20, 1.30, 1.30, 1.40,
    1.30, 1.00, 1.00, 1.00, 1.10, 1.20, 1.40, 1.80, 2.00, 1.80, 1.10, 0.50,
)


def payments(weekday: int, hour: float) -> float:
    """Card, QR, wallet and bank payments: a lunch bump and the evening peak (19:00-22:00)."""
    weight = _PAYMENT_HOURS[int(hour)]
    return weight * (0.9 if weekday >= 5 else 1.0)


_INCIDENT_HOURS = (
    0.15, 0.10, 0.10, 0.10, 0.15, 0.40, 0.80, 1.30, 1.60, 1.60, 1.50, 1.30,
    1.00, 1.10, 1.40, 1.40, 1.40, 1.30, 1.10, 1.00, 0.90, 0.70, 0.45, 0.25,
)


def incidents(weekday: int, hour: float) -> float:
    """Field reports follow people's day: morning and afternoon peaks, quiet nights."""
    weight = _INCIDENT_HOURS[int(hour)]
    return weight * (0.8 if weekday >= 5 else 1.0)


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
