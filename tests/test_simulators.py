"""The feed simulators: determinism, time order, daily shapes, lifecycles and KPI calibration.

Pure and fast: no broker, no database. The KPI checks run on enough simulated volume that the
binomial noise is a few tenths of a percentage point, well inside the 2-point tolerance.
"""

from __future__ import annotations

import gc
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ioc.ingest.boundary import decode
from ioc.models import (
    FINAL_DOSSIER_STATUSES,
    FINAL_INCIDENT_STATUSES,
    VN_TZ,
    DossierChannel,
    DossierEvent,
    DossierStatus,
    Event,
    Feed,
    IncidentCategory,
    IncidentEvent,
    IncidentStatus,
    PaymentChannel,
    PaymentEvent,
    PaymentSector,
    PaymentStatus,
)
from simulators.engine import SCENARIOS, Simulation
from simulators.incidents import DEADLINES, DEFAULT_DEADLINE
from simulators.payments import OUTAGE_ERROR
from simulators.profiles import PROFILES, ProvinceProfile
from simulators.worktime import WORKDAY_MS, add_work, to_ms, work_between

START = datetime(2024, 9, 9, tzinfo=VN_TZ)
"""A Monday in the rainy season (the week after National Day, 2-3/9/2024)."""

WEEK = timedelta(days=7)


def collect(events: Iterable[Event]) -> list[Event]:
    """``list(events)`` with the garbage collector paused.

    Keeping a few hundred thousand models alive makes CPython's full collections rescan them
    again and again (more than doubling the run time); the events hold no cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return list(events)
    finally:
        if enabled:
            gc.enable()


def only(profile: ProvinceProfile, **rates: float) -> ProvinceProfile:
    """The profile with some feeds switched off (rate 0) or resized, targets unchanged."""
    zero = {"dossiers_per_day": 0.0, "payments_per_day": 0.0, "incidents_per_day": 0.0}
    return replace(profile, **{**zero, **rates})


def local(moment: datetime) -> datetime:
    return moment.astimezone(VN_TZ)


def in_office_window(moment: datetime) -> bool:
    at = local(moment)
    hour = at.hour + at.minute / 60
    return at.weekday() < 5 and 7.5 <= hour < 17.0


def lifecycles(events: Iterable[Event], cls: type, key: str) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for event in events:
        if isinstance(event, cls):
            grouped[getattr(event, key)].append(event)
    return grouped


# ------------------------------------------------------------------------------------------
# Shared runs
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dossier_week() -> tuple[list[ProvinceProfile], list[Event]]:
    """A week of dossiers (and fee payments) of the three provinces, and the next Monday.

    Every province gets the same volume (1,500 a day), so each figure is measured on about
    10,000 dossiers (binomial noise at most 0.5 percentage point). The Monday after lets the
    weekend's online dossiers be received and paid. A 4-week warm-up (the longest procedure
    takes 20 working days) puts every kind of dossier among those resolved in the week.
    """
    profiles = [only(p, dossiers_per_day=5_000) for p in PROFILES.values()]
    sim = Simulation(profiles, seed=7, start=START, scale=0.3, warmup=timedelta(days=28))
    return profiles, collect(sim.events_until(START + WEEK + timedelta(days=1)))


def week_of(events: list[Event]) -> list[Event]:
    """The dossier events of dossiers submitted in the first week."""
    return [
        e for e in events
        if isinstance(e, DossierEvent) and START <= e.submitted_at < START + WEEK
    ]


@pytest.fixture(scope="module")
def report_run() -> tuple[list[ProvinceProfile], list[Event], datetime]:
    """Twelve days of field reports at 600 a day per province (for the on-time statistics)."""
    profiles = [only(p, incidents_per_day=600) for p in PROFILES.values()]
    sim = Simulation(profiles, seed=11, start=START)
    horizon = START + timedelta(days=12)
    return profiles, collect(sim.events_until(horizon)), horizon


# ------------------------------------------------------------------------------------------
# Determinism, order, validity
# ------------------------------------------------------------------------------------------


def first_events(seed: int, count: int = 3000, provinces: Iterable[str] = PROFILES) -> list[bytes]:
    sim = Simulation([PROFILES[c] for c in provinces], seed=seed, start=START, scale=0.05)
    out = []
    for event in sim.events_until(START + timedelta(days=3)):
        out.append(event.to_json())
        if len(out) == count:
            break
    return out


def test_same_seed_gives_identical_events() -> None:
    first = first_events(seed=42)
    assert len(first) == 3000
    assert first == first_events(seed=42)


def test_different_seeds_differ() -> None:
    a, b = first_events(seed=1, count=500), first_events(seed=2, count=500)
    assert not set(a) & set(b)


def test_adding_a_province_does_not_change_another() -> None:
    def of(events: list[bytes], province: str) -> list[bytes]:
        return [e for e in events if f'"province":"{province}"'.encode() in e]

    alone = first_events(seed=5, count=10_000, provinces=["quang-ninh"])
    together = of(first_events(seed=5, count=10_000), "quang-ninh")
    assert together == alone[: len(together)]
    assert len(together) > 1000


def test_step_size_does_not_change_the_events() -> None:
    def run(step: timedelta) -> list[bytes]:
        sim = Simulation(list(PROFILES.values()), seed=3, start=START, scale=0.02)
        end, out, at = START + timedelta(days=1), [], START
        while at < end:
            at = min(end, at + step)
            out.extend(e.to_json() for e in sim.events_until(at))
        return out

    one_step = run(timedelta(days=1))
    assert len(one_step) > 2000
    assert run(timedelta(seconds=97)) == one_step
    assert run(timedelta(hours=5, minutes=3)) == one_step


def test_events_are_time_ordered_and_within_each_call() -> None:
    sim = Simulation(list(PROFILES.values()), seed=9, start=START, scale=0.02)
    previous, at = START, START
    for _ in range(48):
        end = at + timedelta(minutes=30)
        for event in sim.events_until(end):
            assert at <= event.occurred_at < end
            assert event.occurred_at >= previous
            previous = event.occurred_at
        at = end
    assert sim.now == at


def test_end_before_now_is_refused() -> None:
    sim = Simulation(list(PROFILES.values()), seed=1, start=START, scale=0.01)
    collect(sim.events_until(START + timedelta(hours=1)))
    with pytest.raises(ValueError, match="before the simulation time"):
        sim.events_until(START)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Simulation(list(PROFILES.values()), seed=1, start=datetime(2024, 9, 2))


def test_every_event_is_a_valid_model_and_decodes_at_the_boundary() -> None:
    sim = Simulation(list(PROFILES.values()), seed=4, start=START, scale=0.02)
    events = collect(sim.events_until(START + timedelta(days=2)))
    assert {type(e) for e in events} == {DossierEvent, PaymentEvent, IncidentEvent}
    received = datetime.now(UTC)
    for event in events[::7]:
        topic = event.topic
        decoded = decode(topic, event.to_json(), received_at=received, max_payload_bytes=65536)
        assert decoded == event
        assert event.event_id.version == 4
    assert len({e.event_id for e in events}) == len(events)
    text = b"".join(e.to_json() for e in events if isinstance(e, IncidentEvent)).decode()
    assert "Ngập" in text or "tại" in text  # Vietnamese text survives UTF-8 JSON
    assert {e.source for e in events} >= {"sim/dvc-portal", "sim/payment-gw", "sim/field-app",
                                          "sim/hotline-1022"}


def test_scale_zero_and_empty_feeds_generate_nothing() -> None:
    sim = Simulation(list(PROFILES.values()), seed=1, start=START, scale=0.0)
    assert collect(sim.events_until(START + WEEK)) == []


def test_warmup_gives_a_backlog_at_start() -> None:
    profiles = [only(PROFILES["binh-duong"], dossiers_per_day=6500)]
    sim = Simulation(profiles, seed=1, start=START, scale=0.05, warmup=timedelta(days=10))
    events = collect(sim.events_until(START + timedelta(hours=12)))
    assert all(e.occurred_at >= START for e in events)
    carried = [e for e in events if isinstance(e, DossierEvent) and e.submitted_at < START]
    assert len(carried) > 50


# ------------------------------------------------------------------------------------------
# Daily and weekly shapes
# ------------------------------------------------------------------------------------------


def test_dossier_submissions_concentrate_in_office_hours(dossier_week: tuple) -> None:
    profiles, events = dossier_week
    for profile in profiles:
        submitted = [
            e for e in week_of(events)
            if e.province == profile.code
            and e.status is DossierStatus.SUBMITTED
        ]
        share = sum(in_office_window(e.occurred_at) for e in submitted) / len(submitted)
        assert share > 0.70, (profile.code, share)
        per_day = Counter(local(e.occurred_at).weekday() for e in submitted)
        weekday_mean = sum(per_day[d] for d in range(5)) / 5
        assert per_day[5] < 0.5 * weekday_mean and per_day[6] < 0.2 * weekday_mean
        counter = [e for e in submitted if e.channel is DossierChannel.IN_PERSON]
        assert all(local(e.occurred_at).weekday() < 6 for e in counter)


def test_payments_peak_in_the_evening() -> None:
    sim = Simulation(
        [only(p, payments_per_day=p.payments_per_day) for p in PROFILES.values()],
        seed=2, start=START, scale=0.02,
    )
    per_hour = Counter(local(e.occurred_at).hour for e in sim.events_until(START + WEEK))
    evening = sum(per_hour[h] for h in (19, 20, 21)) / 3
    office = sum(per_hour[h] for h in range(9, 17)) / 8
    night = sum(per_hour[h] for h in range(1, 5)) / 4
    assert evening > 1.3 * office
    assert night < 0.2 * office


def test_utility_bills_are_paid_around_the_bill_days() -> None:
    sim = Simulation(
        [only(PROFILES["binh-duong"], payments_per_day=70_000)], seed=2,
        start=datetime(2024, 9, 1, tzinfo=VN_TZ), scale=0.01,
    )
    per_day: Counter[int] = Counter()
    for event in sim.events_until(datetime(2024, 10, 1, tzinfo=VN_TZ)):
        if event.sector in (PaymentSector.ELECTRICITY, PaymentSector.WATER):
            per_day[local(event.occurred_at).day] += 1
    peak = sum(per_day[d] for d in range(5, 16)) / 11
    rest = sum(per_day[d] for d in (*range(1, 3), *range(18, 31))) / 15
    assert peak > 2 * rest


def test_a_storm_raises_flooding_reports() -> None:
    profile = only(PROFILES["binh-duong"], incidents_per_day=200)
    probe = Simulation([profile], seed=21, start=START)
    storms = probe.weather(profile.code).storms(START, START + timedelta(days=60))
    assert storms, "the rainy season should have storms"
    storm = storms[0]
    day = datetime.fromtimestamp(storm.start / 1000, VN_TZ).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    sim = Simulation([profile], seed=21, start=day - timedelta(days=1))
    events = collect(sim.events_until(day + timedelta(days=2)))
    flooding = [
        to_ms(e.occurred_at) for e in events
        if e.status is IncidentStatus.RECEIVED and e.category is IncidentCategory.FLOODING
    ]
    during = sum(storm.start <= t < storm.end for t in flooding)
    hours_in_storm = (storm.end - storm.start) / 3_600_000
    outside = len(flooding) - during
    hours_outside = 72 - hours_in_storm
    assert during / hours_in_storm > 3 * (outside / hours_outside)


# ------------------------------------------------------------------------------------------
# Lifecycles
# ------------------------------------------------------------------------------------------

S = DossierStatus
DOSSIER_NEXT = {
    S.SUBMITTED: {S.RECEIVED},
    S.RECEIVED: {S.PROCESSING},
    S.PROCESSING: {S.SUPPLEMENT_REQUESTED, S.RESOLVED, S.REJECTED},
    S.SUPPLEMENT_REQUESTED: {S.PROCESSING, S.REJECTED},
    S.RESOLVED: set(),
    S.REJECTED: set(),
}


def dossier_problems(events: list[DossierEvent]) -> list[str]:
    """What is wrong with one dossier's events (a young dossier may still be open)."""
    problems = []
    statuses = [e.status for e in events]
    if statuses[0] is not S.SUBMITTED:
        problems.append(f"starts with {statuses[0]}")
    if any(after not in DOSSIER_NEXT[before] for before, after in itertools.pairwise(statuses)):
        problems.append(f"order {statuses}")
    times = [e.occurred_at for e in events]
    if times != sorted(times) or len(set(times)) != len(times):
        problems.append("times not strictly increasing")
    shared = {
        (e.dossier_id, e.submitted_at, e.due_at, e.procedure_code, e.agency_code, e.channel,
         e.fee_vnd, e.fee_paid_online)
        for e in events
    }
    if len(shared) != 1:
        problems.append("attributes differ between events")
    if events[0].occurred_at != events[0].submitted_at:
        problems.append("submitted event is not at submitted_at")
    return problems


def test_dossier_lifecycles_are_in_order_and_end_when_old_enough() -> None:
    sim = Simulation(
        [only(p, dossiers_per_day=p.dossiers_per_day) for p in PROFILES.values()],
        seed=13, start=START, scale=0.02,
    )
    horizon = START + timedelta(days=21)
    events = collect(sim.events_until(horizon))
    dossiers = lifecycles(events, DossierEvent, "dossier_id")
    procedures = {p.code: p for p in PROFILES["quang-ninh"].procedures}
    problems: dict[str, list[str]] = {}
    old_enough = 0
    seen: Counter[DossierStatus] = Counter()
    for dossier_id, lifecycle in dossiers.items():
        found = dossier_problems(lifecycle)
        seen.update(e.status for e in lifecycle)
        due = lifecycle[0].due_at
        if len(lifecycle) > 1:  # the due date counts the procedure's working days from receipt
            days = procedures[lifecycle[0].procedure_code].processing_days
            if to_ms(due) != add_work(to_ms(lifecycle[1].occurred_at), int(days * WORKDAY_MS)):
                found.append("due_at is not the processing days after receipt")
        if due < horizon - timedelta(days=8):
            old_enough += 1
            if lifecycle[-1].status not in FINAL_DOSSIER_STATUSES:
                found.append("old enough but not final")
        if found:
            problems[dossier_id] = found
    assert not problems, list(problems.items())[:5]
    assert len(dossiers) > 3000 and old_enough > 2000
    assert set(seen) == set(DossierStatus)  # every status occurs, supplements included


def test_fee_payments_link_to_their_dossier(dossier_week: tuple) -> None:
    _, events = dossier_week
    dossiers = {e.dossier_id: e for e in week_of(events)}
    fees = [e for e in events if isinstance(e, PaymentEvent) and e.dossier_id in dossiers]
    assert fees and all(e.sector is PaymentSector.PUBLIC_SERVICE for e in fees)
    for payment in fees:
        dossier = dossiers[payment.dossier_id]
        assert payment.amount_vnd == dossier.fee_vnd > 0
        assert dossier.fee_paid_online is (payment.channel is PaymentChannel.ONLINE)
        assert payment.occurred_at >= dossier.submitted_at
        if dossier.channel is DossierChannel.FULLY_ONLINE:
            assert payment.channel is PaymentChannel.ONLINE
    free = [e for e in dossiers.values() if e.fee_vnd == 0]
    assert free and all(e.fee_paid_online is None for e in free)


def deadline(category: IncidentCategory, reported: int) -> int:
    """A report's due time: 24 hours for hazards, else working days (engine.DEADLINES)."""
    unit, amount = DEADLINES.get(category, DEFAULT_DEADLINE)
    if unit == "hours":
        return reported + int(amount * 3_600_000)
    return add_work(reported, int(amount * WORKDAY_MS))


def test_report_lifecycles(report_run: tuple) -> None:
    _, events, horizon = report_run
    reports = lifecycles(events, IncidentEvent, "report_id")
    order = [IncidentStatus.RECEIVED, IncidentStatus.VERIFIED, IncidentStatus.ASSIGNED,
             IncidentStatus.IN_PROGRESS, IncidentStatus.RESOLVED]
    rejected = [IncidentStatus.RECEIVED, IncidentStatus.REJECTED]
    problems: dict[str, str] = {}
    for report_id, lifecycle in reports.items():
        first = lifecycle[0]
        statuses = [e.status for e in lifecycle]
        if statuses not in (order[: len(statuses)], rejected):
            problems[report_id] = f"order {statuses}"
        elif first.occurred_at != first.reported_at:
            problems[report_id] = "received event is not at reported_at"
        elif to_ms(first.due_at) != deadline(first.category, to_ms(first.reported_at)):
            problems[report_id] = "due_at is not the category's deadline after the report"
        elif len({(e.reported_at, e.due_at, e.title, e.category) for e in lifecycle}) != 1:
            problems[report_id] = "attributes differ between events"
        elif any((e.satisfaction is not None) != (e.status is IncidentStatus.RESOLVED)
                 for e in lifecycle):
            problems[report_id] = "satisfaction only on resolution"
        elif first.due_at < horizon - timedelta(days=8) and (
            lifecycle[-1].status not in FINAL_INCIDENT_STATUSES
        ):
            problems[report_id] = "old enough but not final"
    assert not problems, list(problems.items())[:5]


# ------------------------------------------------------------------------------------------
# Calibration: the generated data lands on the profile's figures
# ------------------------------------------------------------------------------------------

TOLERANCE = 0.02


def test_dossier_kpis_match_the_profiles(dossier_week: tuple) -> None:
    """Online share, fully online share, on-time and online payment rates, per province.

    Measured on the dossiers submitted in the week. On time follows the KPI definition
    (kpi_dossiers): of the dossiers resolved in the week, those resolved by their due date.
    Online payment rate: the successful fee payments of the week's dossiers (all paid by the
    Monday after).
    """
    profiles, events = dossier_week
    end = START + WEEK
    dossiers = lifecycles(week_of(events), DossierEvent, "dossier_id")
    everything = lifecycles(events, DossierEvent, "dossier_id")
    payments = [e for e in events if isinstance(e, PaymentEvent)]
    for profile in profiles:
        mine = [d for d in dossiers.values() if d[0].province == profile.code]
        assert all(d[0].status is DossierStatus.SUBMITTED for d in mine)
        online = [d for d in mine if d[0].channel is not DossierChannel.IN_PERSON]
        fully = [d for d in online if d[0].channel is DossierChannel.FULLY_ONLINE]
        due = [
            d for d in everything.values()
            if d[-1].province == profile.code and d[-1].status is DossierStatus.RESOLVED
            and START <= d[-1].occurred_at < end
        ]
        on_time = [d for d in due if d[-1].occurred_at <= d[-1].due_at]
        ids = {d[0].dossier_id for d in mine}
        paid = [
            p for p in payments
            if p.province == profile.code and p.status is PaymentStatus.SUCCESS
            and p.dossier_id in ids
        ]
        fees = [d for d in mine if d[0].fee_vnd > 0]
        assert len(paid) == len(fees)  # every fee of the week is paid, exactly once
        paid_online = [p for p in paid if p.channel is PaymentChannel.ONLINE]
        assert len(mine) > 9_000 and len(due) > 4000 and len(paid) > 4500
        measured = {
            "online_share": len(online) / len(mine),
            "fully_online_share_of_online": len(fully) / len(online),
            "dossier_on_time_rate": len(on_time) / len(due),
            "online_payment_rate": len(paid_online) / len(paid),
            "fee_share": sum(d[0].fee_vnd > 0 for d in mine) / len(mine),
        }
        for name, value in measured.items():
            target = getattr(profile, name)
            assert abs(value - target) <= TOLERANCE, (profile.code, name, value, target)


def test_report_on_time_rate_matches_the_profiles(report_run: tuple) -> None:
    profiles, events, horizon = report_run
    reports = lifecycles(events, IncidentEvent, "report_id")
    for profile in profiles:
        due = [
            r for r in reports.values()
            if r[0].province == profile.code and r[0].due_at < horizon
            and r[-1].status is not IncidentStatus.REJECTED
        ]
        on_time = [
            r for r in due
            if r[-1].status is IncidentStatus.RESOLVED and r[-1].occurred_at <= r[0].due_at
        ]
        rate = len(on_time) / len(due)
        assert len(due) > 2000
        assert abs(rate - profile.incident_on_time_rate) <= TOLERANCE, (profile.code, rate)
        satisfaction = [r[-1].satisfaction for r in on_time]
        assert 3.5 < sum(satisfaction) / len(satisfaction) < 4.6


def test_payment_success_rate_matches_the_profile() -> None:
    profile = PROFILES["ba-ria-vung-tau"]
    sim = Simulation([only(profile, payments_per_day=30_000)], seed=8, start=START, scale=0.5)
    statuses = Counter(e.status for e in sim.events_until(START + timedelta(days=2)))
    rate = statuses[PaymentStatus.SUCCESS] / sum(statuses.values())
    assert abs(rate - profile.payment_success_rate) <= TOLERANCE
    assert statuses[PaymentStatus.FAILED] > statuses[PaymentStatus.PENDING] > 0


def test_loads_are_realistic_per_province() -> None:
    for profile in PROFILES.values():
        assert 1_000 <= profile.dossiers_per_day <= 10_000
        assert 10_000 <= profile.payments_per_day <= 100_000
        assert 10 <= profile.incidents_per_day <= 500
    brvt, bd = PROFILES["ba-ria-vung-tau"], PROFILES["binh-duong"]
    assert (brvt.online_share, brvt.fully_online_share_of_online, brvt.online_payment_rate) == (
        0.536, 0.97, 0.80)
    assert PROFILES["quang-ninh"].online_share == 0.966
    assert bd.payments_per_day > brvt.payments_per_day  # population weighted


# ------------------------------------------------------------------------------------------
# Scenarios
# ------------------------------------------------------------------------------------------


def test_gateway_outage_fails_that_gateways_payments() -> None:
    profile = only(PROFILES["binh-duong"], payments_per_day=70_000)
    sim = Simulation([profile], seed=5, start=START, scale=0.1)
    lo, hi = START + timedelta(hours=10), START + timedelta(hours=11)
    [applied] = sim.inject("gateway-outage", start=lo, end=hi, province="binh-duong",
                           target="momo")
    assert applied.target == "momo"
    events = collect(sim.events_until(START + timedelta(hours=12)))
    # (a pending payment begun before the outage may still settle during it)
    momo_in = [e for e in events if e.gateway == "momo" and lo <= e.occurred_at < hi
               and e.initiated_at is None]
    assert momo_in and all(
        e.status is PaymentStatus.FAILED and e.error_code == OUTAGE_ERROR for e in momo_in
    )
    others_in = [e for e in events if e.gateway != "momo" and lo <= e.occurred_at < hi]
    assert sum(e.status is PaymentStatus.SUCCESS for e in others_in) / len(others_in) > 0.9
    momo_after = [e for e in events if e.gateway == "momo" and e.occurred_at >= hi]
    assert sum(e.status is PaymentStatus.SUCCESS for e in momo_after) / len(momo_after) > 0.9


def test_a_degrading_gateway_fails_more_and_more_and_recovers() -> None:
    profile = only(PROFILES["binh-duong"], payments_per_day=70_000)
    lo, hi = START + timedelta(hours=9), START + timedelta(hours=13)
    plain = collect(Simulation([profile], seed=5, start=START, scale=0.3)
                    .events_until(START + timedelta(hours=15)))
    sim = Simulation([profile], seed=5, start=START, scale=0.3)
    [applied] = sim.inject("gateway-degraded", start=lo, end=hi, province="binh-duong")
    assert applied.target == "vnpay"  # the busiest online gateway
    events = collect(sim.events_until(START + timedelta(hours=15)))

    def failed_share(items: list[Event], a: datetime, b: datetime) -> float:
        mine = [e for e in items if e.gateway == "vnpay" and a <= e.occurred_at < b
                and e.initiated_at is None and e.status is not PaymentStatus.PENDING]
        return sum(e.status is PaymentStatus.FAILED for e in mine) / len(mine)

    quarter = (hi - lo) / 4
    shares = [failed_share(events, lo + i * quarter, lo + (i + 1) * quarter) for i in range(4)]
    assert shares == sorted(shares) and shares[0] < 0.15 < 0.4 < shares[3]
    assert failed_share(plain, lo, hi) < 0.05
    assert failed_share(events, hi, hi + timedelta(hours=2)) < 0.05  # recovered
    degraded = [e for e in events if e.gateway == "vnpay" and lo <= e.occurred_at < hi
                and e.status is PaymentStatus.FAILED and e.error_code == "TIMEOUT"
                and e.initiated_at is None]
    assert degraded and all(e.latency_ms >= 30_000 for e in degraded)
    others = [e for e in events if e.gateway != "vnpay"]
    assert others == [e for e in plain if e.gateway != "vnpay"]  # nothing else changes


def test_a_degrading_agency_leaves_more_and_more_for_later() -> None:
    profile = only(PROFILES["binh-duong"], dossiers_per_day=6_500)
    monday = START + timedelta(days=7)
    lo, hi = monday + timedelta(hours=8), monday + timedelta(hours=16)
    end = monday + timedelta(days=3)

    def run(degrade: bool) -> list[Event]:
        sim = Simulation([profile], seed=4, start=monday - timedelta(days=1), scale=0.5,
                         warmup=timedelta(days=10))
        if degrade:
            [applied] = sim.inject("agency-degraded", start=lo, end=hi, province="binh-duong",
                                   target="STNMT")
            assert applied.target == "BD.STNMT"
        return [e for e in collect(sim.events_until(end)) if isinstance(e, DossierEvent)]

    plain, degraded = run(False), run(True)

    def handled(items: list[Event], a: datetime, b: datetime) -> int:
        return sum(e.agency_code == "BD.STNMT" and a <= e.occurred_at < b
                   and e.status not in (DossierStatus.SUBMITTED, DossierStatus.RECEIVED)
                   for e in items)

    first, last = lo, hi - timedelta(hours=2)  # the window's first and last working hours
    assert handled(degraded, first, first + timedelta(hours=2)) > 0.6 * handled(
        plain, first, first + timedelta(hours=2))
    assert handled(degraded, last, hi) < 0.35 * handled(plain, last, hi)
    # what was left waits until after the window; some of it is now late
    after = hi + timedelta(hours=16)  # the next working morning
    assert handled(degraded, hi, after + timedelta(hours=6)) > handled(
        plain, hi, after + timedelta(hours=6))

    def late(items: list[Event]) -> int:
        return sum(e.agency_code == "BD.STNMT" and e.status is DossierStatus.RESOLVED
                   and e.occurred_at > e.due_at for e in items)

    assert late(degraded) > late(plain)
    assert [e for e in degraded if e.agency_code != "BD.STNMT"] == [
        e for e in plain if e.agency_code != "BD.STNMT"
    ]


def test_portal_down_stops_submissions_and_they_resume_after() -> None:
    profile = only(PROFILES["quang-ninh"], dossiers_per_day=3500)
    lo, hi = START + timedelta(hours=8), START + timedelta(hours=10)
    plain = Simulation([profile], seed=6, start=START, scale=0.2)
    baseline = collect(plain.events_until(START + timedelta(hours=12)))
    sim = Simulation([profile], seed=6, start=START, scale=0.2)
    collect(sim.events_until(START + timedelta(hours=7)))
    sim.inject("portal-down", start=lo, end=hi, province="quang-ninh")
    events = collect(sim.events_until(START + timedelta(hours=12)))

    def submitted(items: list[Event], a: datetime, b: datetime) -> int:
        return sum(e.status is DossierStatus.SUBMITTED and a <= e.occurred_at < b for e in items)

    assert submitted(baseline, lo, hi) > 50
    assert submitted(events, lo, hi) == 0
    after = hi + timedelta(hours=1)
    assert submitted(events, hi, after) > submitted(baseline, hi, after) + 30  # people retry


def test_flood_scenario_adds_a_surge_and_leaves_other_streams_alone() -> None:
    profiles = [only(p, incidents_per_day=p.incidents_per_day, payments_per_day=3000)
                for p in PROFILES.values()]
    lo, hi = START + timedelta(hours=9), START + timedelta(hours=12)
    end = lo + timedelta(days=1)
    plain = collect(Simulation(profiles, seed=3, start=START).events_until(end))
    sim = Simulation(profiles, seed=3, start=START)
    sim.inject("flood", start=lo, end=hi, target="di-an")
    events = collect(sim.events_until(end))

    def is_surge(event: Event) -> bool:
        return isinstance(event, IncidentEvent) and event.report_id.startswith("PA-BD-L")

    surge = [e for e in events if is_surge(e)]
    received = [e for e in surge if e.status is IncidentStatus.RECEIVED]
    assert 40 < len(received) < 110  # 24 an hour for 3 hours
    assert all(e.district == "di-an" and e.category is IncidentCategory.FLOODING for e in surge)
    assert all(lo <= e.occurred_at < hi for e in received)
    assert [e for e in events if not is_surge(e)] == plain


def test_feed_silent_drops_one_feed_only() -> None:
    sim = Simulation(list(PROFILES.values()), seed=3, start=START, scale=0.02)
    lo, hi = START + timedelta(hours=9), START + timedelta(hours=10)
    sim.inject("feed-silent", start=lo, end=hi, province="ba-ria-vung-tau", target="payment")
    events = collect(sim.events_until(START + timedelta(hours=11)))
    window = [e for e in events if lo <= e.occurred_at < hi]
    assert not [e for e in window if e.province == "ba-ria-vung-tau" and e.feed is Feed.PAYMENT]
    assert [e for e in window if e.province == "binh-duong" and e.feed is Feed.PAYMENT]
    assert [e for e in window if e.province == "ba-ria-vung-tau" and e.feed is Feed.DOSSIER]
    assert [e for e in events if e.province == "ba-ria-vung-tau" and e.feed is Feed.PAYMENT
            and e.occurred_at >= hi]


def test_bad_scenarios_are_refused() -> None:
    sim = Simulation(list(PROFILES.values()), seed=3, start=START, scale=0.01)
    lo, hi = START, START + timedelta(hours=1)
    assert set(SCENARIOS) == {"gateway-outage", "gateway-degraded", "agency-degraded",
                              "portal-down", "flood", "feed-silent"}
    with pytest.raises(ValueError, match="unknown scenario"):
        sim.inject("earthquake", start=lo, end=hi)
    with pytest.raises(ValueError, match="no gateway"):
        sim.inject("gateway-outage", start=lo, end=hi, province="quang-ninh", target="nope")
    with pytest.raises(ValueError, match="no district"):
        sim.inject("flood", start=lo, end=hi, province="quang-ninh", target="di-an")
    with pytest.raises(ValueError, match="unknown feed"):
        sim.inject("feed-silent", start=lo, end=hi, target="weather")
    with pytest.raises(ValueError, match="end must be after"):
        sim.inject("portal-down", start=hi, end=lo)
    with pytest.raises(ValueError, match="not simulated"):
        sim.inject("portal-down", start=lo, end=hi, province="ha-noi")


def test_working_calendar() -> None:
    friday_4pm = to_ms(datetime(2024, 9, 6, 16, 0, tzinfo=VN_TZ))
    monday_8_30 = to_ms(datetime(2024, 9, 9, 8, 30, tzinfo=VN_TZ))
    assert add_work(friday_4pm, 2 * 3_600_000) == monday_8_30
    saturday = to_ms(datetime(2024, 9, 7, 10, 0, tzinfo=VN_TZ))
    assert add_work(saturday, 0) == to_ms(datetime(2024, 9, 9, 7, 30, tzinfo=VN_TZ))
    assert work_between(friday_4pm, monday_8_30) == 2 * 3_600_000
    # whole weeks skip in one step and agree with the day-by-day count
    monday = to_ms(datetime(2024, 9, 9, tzinfo=VN_TZ))
    for days in (1, 5, 12, 23):
        end = add_work(monday, days * WORKDAY_MS)
        assert work_between(monday, end) == days * WORKDAY_MS
