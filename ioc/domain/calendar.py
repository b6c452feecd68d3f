"""The Vietnamese public administration's calendar: lunar dates, public holidays, working days.

Lunar dates are computed with Hồ Ngọc Đức's published method (new moons and solar terms
after Meeus' *Astronomical Algorithms*, evaluated in UTC+7), which is what Vietnamese
calendars print. Vietnam's lunar calendar differs from China's (UTC+8) in some years: Tết
1985 was on 21 January in Vietnam and on 20 February in China, Tết 2007 on 17 and 18 February.

Public holidays of the Labour Code 2019 (Bộ luật Lao động 2019, Article 112), for
civil servants (cán bộ, công chức), who work Monday to Friday:

    1/1                 Tết Dương lịch                    1 day
    Tết Nguyên Đán      the last day of the lunar year and the first four of the new one,
                        unless the year's official notice places the 5 days otherwise
    10/3 lunar          Giỗ Tổ Hùng Vương                  1 day
    30/4, 1/5           Ngày Chiến thắng, Quốc tế Lao động 2 days
    2/9 and one         Quốc khánh                         2 days (the adjacent day is set
    adjacent day                                          each year; see ``_national_day``)

A holiday that falls on a Saturday or Sunday is made up by the next working day (nghỉ bù).
Each year the government also announces how Tết is placed and, sometimes, a bridge day
(a working day swapped for a Saturday that is worked instead: "hoán đổi ngày làm việc").
Those come from ``OFFICIAL_SCHEDULES``, a dated table with its sources; years not in it
follow the rules above (no swaps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache

TIMEZONE_HOURS = 7.0
"""Vietnam's lunar calendar is reckoned in UTC+7."""

_JDN_OFFSET = 1_721_425
"""Julian day number = proleptic Gregorian ordinal + this (JDN 2451545 is 2000-01-01)."""

_SYNODIC_MONTH = 29.530588853
_NEW_MOON_1900 = 2_415_021.076998695
"""The Julian day of the new moon of 1900-01-01 (k = 0 in ``_new_moon``)."""


def _jdn(day: date) -> int:
    return day.toordinal() + _JDN_OFFSET


def _date(jdn: int) -> date:
    return date.fromordinal(jdn - _JDN_OFFSET)


def _new_moon(k: int) -> float:
    """The Julian day (UT, fractional) of the k-th new moon after 1900-01-01 (Meeus)."""
    t = k / 1236.85
    t2, t3 = t * t, t * t * t
    dr = math.pi / 180
    jd = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3  # the sun's anomaly
    mp = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3  # the moon's
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3  # argument of latitude
    c = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c += -0.4068 * math.sin(mp * dr) + 0.0161 * math.sin(dr * 2 * mp)
    c += -0.0004 * math.sin(dr * 3 * mp)
    c += 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mp))
    c += -0.0074 * math.sin(dr * (m - mp)) + 0.0004 * math.sin(dr * (2 * f + m))
    c += -0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mp))
    c += 0.0010 * math.sin(dr * (2 * f - mp)) + 0.0005 * math.sin(dr * (2 * mp + m))
    if t < -11:
        delta_t = 0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3 - 0.000000081 * t * t3
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    return jd + c - delta_t


def _new_moon_day(k: int) -> int:
    """The local (UTC+7) day number of the k-th new moon."""
    return math.floor(_new_moon(k) + 0.5 + TIMEZONE_HOURS / 24)


def _sun_longitude(jd: float) -> float:
    """The sun's apparent longitude (radians, 0..2pi) at Julian day ``jd`` (UT)."""
    t = (jd - 2451545.0) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    longitude = (l0 + dl) * dr
    return longitude - 2 * math.pi * math.floor(longitude / (2 * math.pi))


def _sun_sector(day: int) -> int:
    """Which of the 12 major solar terms' sectors the sun is in at the start of local ``day``."""
    return math.floor(_sun_longitude(day - 0.5 - TIMEZONE_HOURS / 24) / math.pi * 6)


def _month_11(year: int) -> int:
    """The day the lunar month 11 (the one holding the winter solstice) of ``year`` begins."""
    offset = _jdn(date(year, 12, 31)) - 2415021
    k = math.floor(offset / _SYNODIC_MONTH)
    start = _new_moon_day(k)
    if _sun_sector(start) >= 9:  # past the solstice's sector: the month began a moon earlier
        start = _new_moon_day(k - 1)
    return start


def _leap_month_offset(month_11: int) -> int:
    """In a 13-month year from ``month_11``, the offset of the first month without a major
    solar term: the leap month."""
    k = math.floor((month_11 - _NEW_MOON_1900) / _SYNODIC_MONTH + 0.5)
    i = 1
    arc = _sun_sector(_new_moon_day(k + i))
    while True:
        last = arc
        i += 1
        arc = _sun_sector(_new_moon_day(k + i))
        if arc == last or i >= 14:
            return i - 1


def lunar_to_solar(day: int, month: int, year: int, *, leap: bool = False) -> date:
    """The solar (Gregorian) date of a Vietnamese lunar date."""
    if not 1 <= month <= 12 or not 1 <= day <= 30:
        raise ValueError(f"no lunar date {day}/{month}/{year}")
    if month < 11:
        a11, b11 = _month_11(year - 1), _month_11(year)
    else:
        a11, b11 = _month_11(year), _month_11(year + 1)
    k = math.floor(0.5 + (a11 - _NEW_MOON_1900) / _SYNODIC_MONTH)
    offset = (month - 11) % 12
    if b11 - a11 > 365:  # a year with a leap month
        leap_offset = _leap_month_offset(a11)
        leap_month = (leap_offset - 2) % 12
        if leap and month != leap_month:
            raise ValueError(f"lunar year {year} has no leap month {month}")
        if leap or offset >= leap_offset:
            offset += 1
    elif leap:
        raise ValueError(f"lunar year {year} has no leap month")
    return _date(_new_moon_day(k + offset) + day - 1)


def tet(year: int) -> date:
    """Tết Nguyên Đán: the first day of the lunar year that begins in solar ``year``."""
    return lunar_to_solar(1, 1, year)


def hung_kings_day(year: int) -> date:
    """Giỗ Tổ Hùng Vương: the 10th day of the 3rd lunar month."""
    return lunar_to_solar(10, 3, year)


# --------------------------------------------------------------------------------------------
# Public holidays and working days
# --------------------------------------------------------------------------------------------


class DayKind(StrEnum):
    WORKDAY = "workday"
    """Monday to Friday, or a Saturday worked in exchange for a bridge day (làm bù)."""
    SATURDAY = "saturday"
    SUNDAY = "sunday"
    HOLIDAY = "holiday"
    """A weekday off: a public holiday, its make-up day (nghỉ bù) or a bridge day."""


@dataclass(frozen=True, slots=True)
class OfficialSchedule:
    """One year's announced days off (weekdays only) and make-up Saturdays, with the source."""

    days_off: dict[date, str]
    make_up_days: tuple[date, ...] = ()
    source: str = ""
    covers: frozenset[str] = frozenset()
    """Which holidays the notice places (``tet``, ``reunification``, ...); the others follow
    the rules."""


def _days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]


OFFICIAL_SCHEDULES: dict[int, OfficialSchedule] = {
    2024: OfficialSchedule(
        days_off={
            **dict.fromkeys(
                [date(2024, 2, 8), date(2024, 2, 9), *_days(date(2024, 2, 12), 3)],
                "Tết Nguyên Đán",
            ),
            date(2024, 4, 29): "Nghỉ hoán đổi (làm bù thứ Bảy 4/5)",
            date(2024, 4, 30): "Ngày Chiến thắng",
            date(2024, 5, 1): "Quốc tế Lao động",
            date(2024, 9, 2): "Quốc khánh",
            date(2024, 9, 3): "Quốc khánh",
        },
        make_up_days=(date(2024, 5, 4),),
        source=(
            "notices of the Ministry of Labour, Invalids and Social Affairs for 2024: Tết "
            "8-14/2 (the 5 days from 29 Chạp, the weekend made up on 13-14/2); 30/4-1/5 with "
            "Monday 29/4 swapped for Saturday 4/5; National Day 2-3/9"
        ),
        covers=frozenset({"tet", "reunification", "national_day"}),
    ),
    2025: OfficialSchedule(
        days_off={
            **dict.fromkeys(_days(date(2025, 1, 27), 5), "Tết Nguyên Đán"),
            date(2025, 4, 30): "Ngày Chiến thắng",
            date(2025, 5, 1): "Quốc tế Lao động",
            date(2025, 5, 2): "Nghỉ hoán đổi (làm bù thứ Bảy 26/4)",
            date(2025, 9, 1): "Quốc khánh",
            date(2025, 9, 2): "Quốc khánh",
        },
        make_up_days=(date(2025, 4, 26),),
        source=(
            "notices of the Ministry of Labour, Invalids and Social Affairs for 2025: Tết "
            "27-31/1 (28 Chạp to mùng 3); 30/4-1/5 with Friday 2/5 swapped for Saturday "
            "26/4; National Day 1-2/9"
        ),
        covers=frozenset({"tet", "reunification", "national_day"}),
    ),
    2026: OfficialSchedule(
        days_off=dict.fromkeys(_days(date(2026, 2, 16), 5), "Tết Nguyên Đán"),
        source=(
            "Thông báo 9441/TB-BNV of the Ministry of Home Affairs (16/10/2025): Tết from "
            "Monday 16/2 (29 Chạp) to Friday 20/2 (mùng 4)"
        ),
        covers=frozenset({"tet"}),
    ),
}
"""Announced schedules: every weekday off of the holidays a notice ``covers``. Years and
holidays not covered follow the rules of the module docstring (2026's National Day: 1/9 and
2/9 by the rule; 2027 on: the rules)."""


def _national_day(year: int) -> date:
    """The day adjacent to 2/9 that is off with it (Labour Code 2019, Art. 112: "the day
    before or after"), as the notices placed it: 2021 Thursday and Friday 3/9, 2022 Thursday
    1/9, 2023 Friday 1/9, 2024 Tuesday 3/9, 2025 Monday 1/9 -- the side that joins a weekend,
    the day before when neither does (Wednesday)."""
    second = date(year, 9, 2)
    return second + timedelta(days=1 if second.weekday() in (0, 3, 6) else -1)


def _rule_holidays(year: int) -> dict[str, list[tuple[date, str]]]:
    """Each holiday's days by the Labour Code, before any weekend is made up."""
    first = tet(year)
    return {
        "new_year": [(date(year, 1, 1), "Tết Dương lịch")],
        "tet": [(d, "Tết Nguyên Đán") for d in _days(first - timedelta(days=1), 5)],
        "hung_kings": [(hung_kings_day(year), "Giỗ Tổ Hùng Vương")],
        "reunification": [
            (date(year, 4, 30), "Ngày Chiến thắng"),
            (date(year, 5, 1), "Quốc tế Lao động"),
        ],
        "national_day": [(date(year, 9, 2), "Quốc khánh"), (_national_day(year), "Quốc khánh")],
    }


@cache
def schedule(year: int) -> tuple[dict[date, str], frozenset[date]]:
    """``(weekdays off with the holiday's name, make-up Saturdays)`` of ``year``."""
    official = OFFICIAL_SCHEDULES.get(year)
    off: dict[date, str] = dict(official.days_off) if official else {}
    make_up = frozenset(official.make_up_days) if official else frozenset()
    covered = official.covers if official else frozenset()
    days = sorted(
        day
        for holiday, group in _rule_holidays(year).items()
        if holiday not in covered
        for day in group
    )
    for day, name in days:
        if day.weekday() < 5:
            off.setdefault(day, name)
    for day, name in days:  # a holiday on a weekend: the next free working day is off
        if day.weekday() >= 5:
            substitute = day + timedelta(days=1)
            while substitute.weekday() >= 5 or substitute in off:
                substitute += timedelta(days=1)
            off[substitute] = f"Nghỉ bù {name}"
    return off, make_up


def day_kind(day: date) -> DayKind:
    off, make_up = schedule(day.year)
    if day in make_up:
        return DayKind.WORKDAY
    if day in off:
        return DayKind.HOLIDAY
    weekday = day.weekday()
    if weekday < 5:
        return DayKind.WORKDAY
    return DayKind.SATURDAY if weekday == 5 else DayKind.SUNDAY


def is_working_day(day: date) -> bool:
    """A day the offices work (deadlines in working days count these)."""
    return day_kind(day) is DayKind.WORKDAY


def holiday_name(day: date) -> str | None:
    """The public holiday (or its make-up or bridge day) of ``day``, if any."""
    off, make_up = schedule(day.year)
    if day in make_up:
        return None
    return off.get(day)


def holidays_between(start: date, end: date) -> list[tuple[date, str]]:
    """Weekdays off in ``[start, end)``, in order, with their names."""
    found = []
    for year in range(start.year, end.year + 1):
        off, _ = schedule(year)
        found += [(d, n) for d, n in off.items() if start <= d < end]
    return sorted(found)
