"""The Vietnamese calendar: lunar dates, public holidays and working days, and a simulated week
with a holiday (National Day 2025: Monday 1/9 and Tuesday 2/9 off)."""

from __future__ import annotations

import gc
import itertools
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from ioc.alerting.schedule import in_office_hours
from ioc.domain.calendar import (
    DayKind,
    day_kind,
    holiday_name,
    holidays_between,
    hung_kings_day,
    is_working_day,
    lunar_to_solar,
    tet,
)
from ioc.models import VN_TZ, DossierChannel, DossierEvent, DossierStatus, Event, PaymentEvent
from simulators import patterns
from simulators.engine import Simulation
from simulators.profiles import PROFILES
from simulators.worktime import EXTENDED, OFFICE, SATURDAY_DESK, add_work, is_open, to_ms


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2023, date(2023, 1, 22)),
        (2024, date(2024, 2, 10)),
        (2025, date(2025, 1, 29)),
        (2026, date(2026, 2, 17)),
        (2027, date(2027, 2, 6)),
        # UTC+7 is not UTC+8: Vietnam's Tết differs from China's in these years
        (1985, date(1985, 1, 21)),  # China: 20 February 1985
        (2007, date(2007, 2, 17)),  # China: 18 February 2007
    ],
)
def test_tet_by_the_vietnamese_lunar_calendar(year: int, expected: date) -> None:
    assert tet(year) == expected


def test_lunar_dates_hung_kings_day_and_leap_months() -> None:
    assert [hung_kings_day(y) for y in (2024, 2025, 2026)] == [
        date(2024, 4, 18), date(2025, 4, 7), date(2026, 4, 26)
    ]
    assert lunar_to_solar(1, 2, 2023, leap=True) == date(2023, 3, 22)  # tháng 2 nhuận
    assert lunar_to_solar(1, 6, 2025, leap=True) == date(2025, 7, 25)  # tháng 6 nhuận
    assert lunar_to_solar(1, 7, 2025) == date(2025, 8, 23)
    with pytest.raises(ValueError, match="no leap month 3"):
        lunar_to_solar(1, 3, 2025, leap=True)
    with pytest.raises(ValueError, match="no lunar date"):
        lunar_to_solar(31, 1, 2025)


def test_the_years_holidays_make_up_days_and_bridge_days() -> None:
    off_2025 = [d for d, _ in holidays_between(date(2025, 1, 1), date(2026, 1, 1))]
    assert off_2025 == [
        date(2025, 1, 1),
        *[date(2025, 1, d) for d in range(27, 32)],  # Tết 27-31/1, the notice's placement
        date(2025, 4, 7),  # Hùng Kings
        date(2025, 4, 30), date(2025, 5, 1), date(2025, 5, 2),  # + the bridge day 2/5
        date(2025, 9, 1), date(2025, 9, 2),  # National Day and the adjacent Monday
    ]
    assert day_kind(date(2025, 4, 26)) is DayKind.WORKDAY  # the Saturday worked for 2/5
    assert holiday_name(date(2025, 5, 2)).startswith("Nghỉ hoán đổi")
    # 2026: Tết from the notice (16-20/2); Hùng Kings on a Sunday, made up on Monday 27/4
    assert all(day_kind(date(2026, 2, d)) is DayKind.HOLIDAY for d in range(16, 21))
    assert holiday_name(date(2026, 4, 27)) == "Nghỉ bù Giỗ Tổ Hùng Vương"
    # 2027, by the rules: Tết is Saturday 6/2, the 5 days from 29 Tết, the weekend made up
    tet_2027 = [d for d, n in holidays_between(date(2027, 2, 1), date(2027, 3, 1))]
    assert tet_2027 == [date(2027, 2, d) for d in (5, 8, 9, 10, 11)]
    assert holiday_name(date(2027, 5, 3)) == "Nghỉ bù Quốc tế Lao động"  # 1/5 is a Saturday
    assert day_kind(date(2027, 9, 3)) is DayKind.HOLIDAY  # Thursday 2/9: Friday 3/9 with it
    assert day_kind(date(2025, 9, 6)) is DayKind.SATURDAY
    assert day_kind(date(2025, 9, 7)) is DayKind.SUNDAY
    assert is_working_day(date(2025, 9, 3)) and not is_working_day(date(2025, 9, 2))


def _ms(*args: int) -> int:
    return to_ms(datetime(*args, tzinfo=VN_TZ))


def test_deadlines_in_working_days_skip_holidays_and_count_make_up_saturdays() -> None:
    # Tuesday 29/4/2025 10:00 + 2 working days: 30/4, 1/5, 2/5 and the weekend are skipped
    assert add_work(_ms(2025, 4, 29, 10), 15 * 3_600_000) == _ms(2025, 5, 6, 10)
    # Friday 25/4/2025 16:00 + 2 hours: Saturday 26/4 is worked in exchange for 2/5
    assert add_work(_ms(2025, 4, 25, 16), 2 * 3_600_000) == _ms(2025, 4, 26, 8, 30)
    # a deadline over Tết 2026 (16-20/2): Friday 13/2 + 1 working day is Monday 23/2
    assert add_work(_ms(2026, 2, 13, 9), int(7.5 * 3_600_000)) == _ms(2026, 2, 23, 9)
    # whole weeks are skipped in one step only when no holiday lies in them
    start = _ms(2025, 8, 25)  # Monday; National Day falls in the next week
    assert add_work(start, 10 * int(7.5 * 3_600_000)) == _ms(2025, 9, 9, 17)
    # desks open on Saturday mornings, back offices that stay late
    saturday = _ms(2025, 9, 6, 9)
    assert is_open(saturday, SATURDAY_DESK) and is_open(saturday, EXTENDED)
    assert not is_open(saturday, OFFICE)
    assert is_open(_ms(2025, 9, 3, 18), EXTENDED) and not is_open(_ms(2025, 9, 3, 18), OFFICE)
    assert not is_open(_ms(2025, 9, 2, 9), SATURDAY_DESK)  # a holiday is never worked


def test_office_hours_of_the_alert_rules_skip_holidays() -> None:
    assert in_office_hours(datetime(2025, 9, 3, 10, tzinfo=VN_TZ))
    assert not in_office_hours(datetime(2025, 9, 2, 10, tzinfo=VN_TZ))  # National Day
    assert in_office_hours(datetime(2025, 4, 26, 10, tzinfo=VN_TZ))  # make-up Saturday


def test_flows_ramp_rather_than_switch() -> None:
    """Between two 15-minute buckets the rate moves by steps, not from night to peak."""
    for shape in (patterns.online_dossiers, patterns.counter_dossiers(True),
                  patterns.payments, patterns.incidents):
        day = patterns.day_table(shape)[DayKind.WORKDAY]
        peak = max(day)
        jumps = [abs(b - a) for a, b in itertools.pairwise(day)]
        assert max(jumps) < 0.6 * peak, shape
    opening = patterns.day_table(patterns.online_dossiers)[DayKind.WORKDAY][26:35]  # 6:30-8:45
    assert len(set(opening)) == len(opening) and list(opening) == sorted(opening)


# --------------------------------------------------------------------------------------------
# A simulated week with a holiday
# --------------------------------------------------------------------------------------------

HOLIDAY_WEEK = datetime(2025, 9, 1, tzinfo=VN_TZ)  # Monday 1/9 and Tuesday 2/9 off


@pytest.fixture(scope="module")
def holiday_week() -> list[Event]:
    """The week of National Day 2025 in Binh Duong (Saturday desks) and Ba Ria-Vung Tau."""
    profiles = [
        replace(PROFILES[code], incidents_per_day=0.0, payments_per_day=3_000)
        for code in ("binh-duong", "ba-ria-vung-tau")
    ]
    sim = Simulation(profiles, seed=9, start=HOLIDAY_WEEK, scale=0.5,
                     warmup=timedelta(days=14))
    gc.disable()
    try:
        return list(sim.events_until(HOLIDAY_WEEK + timedelta(days=7)))
    finally:
        gc.enable()


def test_a_holiday_is_quiet_and_deadlines_skip_it(holiday_week: list[Event]) -> None:
    dossiers = [e for e in holiday_week if isinstance(e, DossierEvent)]
    submitted = Counter(
        e.occurred_at.astimezone(VN_TZ).date() for e in dossiers
        if e.status is DossierStatus.SUBMITTED and e.submitted_at >= HOLIDAY_WEEK
    )
    holiday = submitted[date(2025, 9, 1)] + submitted[date(2025, 9, 2)]
    working = submitted[date(2025, 9, 3)] + submitted[date(2025, 9, 4)]
    assert working > 2000 and holiday < 0.1 * working
    counter = [
        e for e in dossiers
        if e.status is DossierStatus.SUBMITTED and e.channel is DossierChannel.IN_PERSON
        and e.occurred_at.astimezone(VN_TZ).date() in (date(2025, 9, 1), date(2025, 9, 2))
    ]
    assert counter == []  # the one-stop desks are closed
    # nothing handled on the holiday; a deadline counted over it lands after it
    handled = [
        e for e in dossiers
        if e.status is not DossierStatus.SUBMITTED
        and e.occurred_at.astimezone(VN_TZ).date() in (date(2025, 9, 1), date(2025, 9, 2))
    ]
    assert handled == []
    friday = [e for e in dossiers if e.status is DossierStatus.RECEIVED
              and e.occurred_at.astimezone(VN_TZ).date() == date(2025, 9, 5)]
    assert friday
    for event in friday:
        assert to_ms(event.due_at) == add_work(
            to_ms(event.occurred_at), _work(event.procedure_code)
        )
    # bills are paid on holidays too, at a weekend's pace (fees come with the dossiers)
    paid = Counter(
        e.occurred_at.astimezone(VN_TZ).date() for e in holiday_week
        if isinstance(e, PaymentEvent) and e.sector.value != "public_service"
    )
    assert paid[date(2025, 9, 2)] > 0.5 * paid[date(2025, 9, 3)]


def _work(procedure_code: str) -> int:
    procedure = next(p for p in PROFILES["binh-duong"].procedures if p.code == procedure_code)
    return max(3_600_000, int(procedure.processing_days * 7.5 * 3_600_000))


def test_saturday_desks_and_back_offices_that_stay_late(holiday_week: list[Event]) -> None:
    dossiers = [e for e in holiday_week if isinstance(e, DossierEvent)]
    saturday = date(2025, 9, 6)
    received = Counter(
        e.province for e in dossiers
        if e.status is DossierStatus.RECEIVED and e.occurred_at.astimezone(VN_TZ).date() == saturday
    )
    assert received["binh-duong"] > 50  # its desks open on Saturday mornings
    assert received["ba-ria-vung-tau"] == 0
    outside = Counter()
    for event in dossiers:
        if event.status in (DossierStatus.SUBMITTED, DossierStatus.RECEIVED):
            continue
        t = to_ms(event.occurred_at)
        if not is_open(t, OFFICE):
            assert is_open(t, EXTENDED), event  # only back offices that stay late
            outside[event.agency_code.rsplit(".", 1)[1]] += 1
    assert set(outside) == {"STNMT"} and outside["STNMT"] > 20
