"""Every KPI of the registry, run as of an injected ``now`` against the real schema."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg
import pytest

from ioc.alerting.kpis import KPIS, KpiQuery, Sample, fetch_samples
from ioc.models import (
    DossierChannel,
    DossierStatus,
    Event,
    IncidentCategory,
    IncidentStatus,
    PaymentStatus,
)
from tests.factories import BASE_TIME, dossier, incident, payment
from tests.test_alert_engine import store
from tests.test_service_index import LEVEL_SCORES, PROVINCE_SCORES, T1, index_events

pytestmark = pytest.mark.db

NOW = BASE_TIME + timedelta(hours=1)
MIN = timedelta(minutes=1)


async def samples(
    db: asyncpg.Connection, kpi: str, group_by: Sequence[str] | None = None, **params
) -> dict[tuple[str, ...], Sample]:
    query: KpiQuery = KPIS[kpi].model_validate({"kpi": kpi, **params})
    group_by = tuple(group_by or query.default_group_by)
    found = await fetch_samples(db, query, group_by, NOW)
    return {tuple(s.labels[label] for label in group_by): s for s in found}


async def test_payment_success_rate_per_gateway_over_the_window(database, db):
    def pay(gateway: str, status: PaymentStatus, minutes_ago: float, **fields) -> Event:
        extra = {"error_code": "E51"} if status is PaymentStatus.FAILED else {}
        return payment(
            gateway=gateway, status=status, occurred_at=NOW - minutes_ago * MIN, **extra, **fields
        )

    events = [pay("vnpay", PaymentStatus.SUCCESS, 1 + i % 8) for i in range(10)]
    events += [pay("vnpay", PaymentStatus.FAILED, 2 + i) for i in range(5)]
    events += [pay("vnpay", PaymentStatus.PENDING, 3) for _ in range(2)]  # not finished
    events += [pay("vnpay", PaymentStatus.FAILED, 30)]  # before the window
    events += [pay("vnpay", PaymentStatus.FAILED, -1)]  # after now (a clock ahead)
    events += [pay("momo", PaymentStatus.SUCCESS, 2) for _ in range(3)]  # too few to judge
    events += [pay("vnpay", PaymentStatus.FAILED, 2, province="quang-ninh", district="ha-long")]
    await store(database, events)

    found = await samples(db, "payment_success_rate", window="10m", min_attempts=5)
    vnpay = found[("binh-duong", "vnpay")]
    assert vnpay.value == pytest.approx(10 / 15)
    assert vnpay.context == {"attempts": 15, "failed": 5}
    assert found[("binh-duong", "momo")].value is None  # no data: 3 < min_attempts
    assert found[("quang-ninh", "vnpay")].value is None
    only = await samples(
        db, "payment_success_rate", ["province"], provinces=["quang-ninh"], min_attempts=1
    )
    assert list(only) == [("quang-ninh",)] and only[("quang-ninh",)].value == 0.0


async def test_dossier_submissions_counts_zero_for_a_known_province(database, db):
    def submitted(province: str, district: str, minutes_ago: float, **fields) -> Event:
        at = NOW - minutes_ago * MIN
        return dossier(
            province=province,
            district=district,
            submitted_at=at,
            occurred_at=at,
            due_at=at + timedelta(days=3),
            **fields,
        )

    await store(
        database,
        [
            submitted("ba-ria-vung-tau", "vung-tau", 20),  # known, silent for 15 minutes
            submitted("ba-ria-vung-tau", "ba-ria", 5, channel=DossierChannel.IN_PERSON),
            submitted("binh-duong", "di-an", 5),
            submitted("binh-duong", "thuan-an", 3, channel=DossierChannel.PARTLY_ONLINE),
        ],
    )
    found = await samples(db, "dossier_submissions", window="15m")
    assert {k: s.value for k, s in found.items()} == {
        ("ba-ria-vung-tau",): 0.0,  # the counter submission does not count
        ("binh-duong",): 2.0,
    }  # quang-ninh submitted nothing in 3 days: not judged
    assert found[("ba-ria-vung-tau",)].context["last_submission_at"] == NOW - 20 * MIN
    by_district = await samples(db, "dossier_submissions", ["province", "district"])
    assert by_district[("binh-duong", "di-an")].value == 1.0


async def test_open_incidents_counts_reports_open_at_now(database, db):
    def report(minutes_ago: float, status=IncidentStatus.RECEIVED, **fields) -> Event:
        at = NOW - minutes_ago * MIN
        values = {"reported_at": at, "occurred_at": at, "due_at": at + timedelta(days=5)}
        values.update(fields)
        return incident(status, **values)

    first = report(60 * 30)  # reported 30 h ago
    await store(
        database,
        [
            first,
            report(120, due_at=NOW - MIN),  # open and overdue
            report(10, category=IncidentCategory.TRAFFIC),
            report(50, IncidentStatus.RESOLVED),  # finished
            report(-5),  # reported after now
            report(5, district="cam-pha"),
        ],
    )
    found = await samples(db, "open_incidents")
    assert {k: s.value for k, s in found.items()} == {
        ("quang-ninh", "ha-long"): 3.0,
        ("quang-ninh", "cam-pha"): 1.0,
    }
    assert found[("quang-ninh", "ha-long")].context == {"overdue": 1}
    recent = await samples(db, "open_incidents", reported_within="24h", categories=["flooding"])
    assert recent[("quang-ninh", "ha-long")].value == 1.0
    overdue = await samples(db, "open_incidents", overdue_only=True)
    assert {k: s.value for k, s in overdue.items()} == {("quang-ninh", "ha-long"): 1.0}
    assert KPIS["open_incidents"].absent_means_zero


async def test_late_or_about_to_be_late_share_per_agency(database, db):
    def case(due_in: timedelta, finished_ago: timedelta | None = None, **fields) -> list[Event]:
        submitted = NOW - timedelta(days=2)
        first = dossier(
            submitted_at=submitted, occurred_at=submitted, due_at=NOW + due_in, **fields
        )
        if finished_ago is None:
            return [first]
        done = first.model_copy(
            update={
                "event_id": uuid.uuid4(),
                "status": DossierStatus.RESOLVED,
                "occurred_at": NOW - finished_ago,
            }
        )
        return [first, done]

    hours = timedelta(hours=1)
    events = [
        *case(-2 * hours),  # open, overdue: late
        *case(5 * hours),  # open, due within 24 h: about to be late
        *case(48 * hours),  # open, due later
        *case(72 * hours),
        *case(-10 * hours, finished_ago=2 * hours),  # finished 8 h after it was due: late
        *case(30 * hours, finished_ago=3 * hours),  # finished early
        *case(-40 * hours, finished_ago=30 * hours),  # finished before the window
        *case(5 * hours, agency_code="STP", agency_name="Sở Tư pháp"),
    ]
    await store(database, events)
    found = await samples(
        db, "late_or_about_to_be_late_share", window="24h", about_to_be_late="24h", min_dossiers=2
    )
    sxd = found[("ba-ria-vung-tau", "SXD")]
    assert sxd.value == pytest.approx(3 / 6)
    assert sxd.context == {
        "agency_name": "Sở Xây dựng",
        "dossiers": 6,
        "late": 2,
        "about_to_be_late": 1,
    }
    assert found[("ba-ria-vung-tau", "STP")].value is None  # 1 dossier < min_dossiers
    districts = await samples(
        db, "late_or_about_to_be_late_share", agency_levels=["district"], min_dossiers=1
    )
    assert districts == {}


async def test_flooding_reports_rate_ratio_against_the_usual_rate(database, db):
    def report(minutes_ago: float, district: str = "ha-long", **fields) -> Event:
        at = NOW - minutes_ago * MIN
        return incident(
            reported_at=at,
            occurred_at=at,
            due_at=at + timedelta(days=5),
            district=district,
            **fields,
        )

    day = 24 * 60
    events = [report(day * (i + 1) / 2) for i in range(14)]  # 2 a day over the past week
    events += [report(day * 8)]  # before the baseline
    events += [report(3 * i + 1) for i in range(6)]  # 6 in the last 30 minutes
    events += [report(5, category=IncidentCategory.TRAFFIC) for _ in range(5)]
    events += [report(2, district="cam-pha") for _ in range(4)]  # fewer than min_reports
    await store(database, events)
    found = await samples(db, "flooding_reports_rate_ratio", window="30m", baseline="7d")
    ha_long = found[("quang-ninh", "ha-long")]
    usual = 14 / (7 * 24)  # per hour: 0.083, under the floor of 0.2
    assert ha_long.context["usual_per_hour"] == pytest.approx(usual)
    assert ha_long.value == pytest.approx((6 / 0.5) / 0.2)
    assert found[("quang-ninh", "cam-pha")].value == 0.0
    busy = await samples(
        db, "flooding_reports_rate_ratio", window="30m", baseline="7d", min_baseline_per_hour=0.01
    )
    assert busy[("quang-ninh", "ha-long")].value == pytest.approx((6 / 0.5) / usual)


async def test_feed_events_tells_silent_from_quiet(database, db):
    # payments every 10 s for an hour, none in the last 3 minutes: silent
    events: list[Event] = [
        payment(occurred_at=NOW - timedelta(seconds=s)) for s in range(180, 3780, 10)
    ]
    # three incident events in the hour, none in the window: too quiet to tell
    events += [
        incident(
            province="binh-duong",
            district="di-an",
            occurred_at=NOW - m * MIN,
            reported_at=NOW - m * MIN,
            due_at=NOW + timedelta(days=3),
        )
        for m in (10, 30, 50)
    ]
    # dossiers in the window: flowing
    events += [
        dossier(
            province="binh-duong",
            district="di-an",
            submitted_at=NOW - MIN,
            occurred_at=NOW - MIN,
            due_at=NOW + timedelta(days=3),
        )
        for _ in range(2)
    ]
    await store(database, events)
    found = await samples(db, "feed_events", window="2m", baseline="1h", min_expected=5)
    assert found[("binh-duong", "payment")].value == 0.0
    assert found[("binh-duong", "payment")].context["expected"] == pytest.approx(
        sum(1 for s in range(180, 3780, 10) if 120 <= s < 3720) * (2 / 60)
    )
    assert found[("binh-duong", "incident")].value is None
    assert found[("binh-duong", "dossier")].value == 2.0
    only = await samples(db, "feed_events", feeds=["dossier"])
    assert list(only) == [("binh-duong", "dossier")]


async def test_service_index_is_the_dashboards_index_per_province_or_level(database, db):
    await store(database, index_events())
    now = T1  # the index over the 7 days before
    query = KPIS["service_index"].model_validate({"kpi": "service_index", "min_dossiers": 1})
    [province] = await fetch_samples(db, query, ("province",), now)
    assert province.labels == {"province": "ba-ria-vung-tau"}
    assert province.value == pytest.approx(sum(PROVINCE_SCORES.values()))
    assert province.context["progress"] == pytest.approx(PROVINCE_SCORES["progress"])
    levels = {
        s.labels["agency_level"]: s
        for s in await fetch_samples(db, query, ("province", "agency_level"), now)
    }
    assert set(levels) == {"province", "commune"}
    assert levels["province"].value == pytest.approx(sum(LEVEL_SCORES.values()))
    digitisation = KPIS["service_index"].model_validate(
        {"kpi": "service_index", "criterion": "digitisation", "min_dossiers": 1}
    )
    [only] = await fetch_samples(db, digitisation, ("province",), now)
    assert only.value == pytest.approx(PROVINCE_SCORES["digitisation"])
    scarce = KPIS["service_index"].model_validate({"kpi": "service_index", "min_dossiers": 5})
    [none] = await fetch_samples(db, scarce, ("province",), now)
    assert none.value is None  # 4 dossiers: too few to judge


def test_every_registered_kpi_is_tested_here():
    assert set(KPIS) == {
        "payment_success_rate",
        "dossier_submissions",
        "open_incidents",
        "late_or_about_to_be_late_share",
        "flooding_reports_rate_ratio",
        "feed_events",
        "service_index",
    }


async def test_every_kpi_runs_with_every_label_it_can_group_by(db):
    for name, model in KPIS.items():
        query = model.model_validate({"kpi": name})
        assert await fetch_samples(db, query, tuple(model.labels), datetime.now(NOW.tzinfo)) == []
