"""The shipped rules against the simulator's scenarios: each fires on its scenario, where and
when it should, resolves when it is over, and nothing else fires meanwhile.

The simulator generates a few hours of a Monday (deterministic, seeded), the events are
stored, and the alerter evaluates the shipped rules once a simulated minute with a fake
clock. (The thresholds were chosen on a whole simulated weekday of the three provinces; these
tests keep the scenarios and the rules in step.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from ioc.alerting.engine import Alerter
from ioc.alerting.rules import DEFAULT_RULES_FILE, load_rules
from ioc.alerting.store import AlertStore
from ioc.ingest.store import Store
from ioc.models import VN_TZ
from simulators.engine import Simulation
from simulators.profiles import PROFILES

pytestmark = pytest.mark.db

MONDAY = datetime(2026, 11, 23, tzinfo=VN_TZ)
SHIPPED = {rule.name: rule for rule in load_rules([DEFAULT_RULES_FILE])}


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


async def transitions(
    database: str,
    *,
    province: str,
    start: datetime,
    end: datetime,
    scenario: dict,
    rules: Sequence[str],
    evaluate_from: datetime,
) -> list[tuple[str, str, str, str]]:
    """(local time, rule, label, new state) of every firing and resolution."""
    simulation = Simulation([PROFILES[province]], seed=11, start=start)
    simulation.inject(province=province, **scenario)
    writer = Store(database)
    try:
        batch = []
        for event in simulation.events_until(end):
            batch.append(event)
            if len(batch) == 5000:
                await writer.write(batch, [])
                batch = []
        await writer.write(batch, [])
    finally:
        await writer.close()
    found = []
    async with AlertStore(database) as alert_store:
        alerter = Alerter([SHIPPED[name] for name in rules], alert_store)
        now = evaluate_from
        while now < end:
            for event in (await alerter.tick(now)).events:
                alert = event.alert
                if alert.state.value in ("firing", "resolved"):
                    label = next(
                        alert.labels[k]
                        for k in ("gateway", "district", "feed", "province")
                        if k in alert.labels
                    )
                    found.append((f"{now:%H:%M}", alert.rule, label, alert.state.value))
            now += timedelta(minutes=1)
    return found


async def test_gateway_outage_fires_for_that_gateway_only_and_resolves(database):
    found = await transitions(
        database,
        province="binh-duong",
        start=at(8),
        end=at(9, 45),
        scenario={"scenario": "gateway-outage", "start": at(9), "end": at(9, 20)},
        rules=["payment-success-rate-low", "feed-silent"],
        evaluate_from=at(8, 30),
    )
    assert found == [
        ("09:07", "payment-success-rate-low", "vnpay", "firing"),
        ("09:32", "payment-success-rate-low", "vnpay", "resolved"),
    ]


async def test_a_silent_payment_feed_fires_within_two_minutes_and_resolves_when_it_is_back(
    database,
):
    found = await transitions(
        database,
        province="binh-duong",
        start=at(11),
        end=at(12, 30),
        scenario={"scenario": "feed-silent", "start": at(12), "end": at(12, 10)},
        rules=["feed-silent", "feed-silent-dossier", "feed-silent-incident"],
        evaluate_from=at(11, 40),
    )
    assert found == [  # the dossier and incident feeds, silent too, need longer windows
        ("12:02", "feed-silent", "payment", "firing"),
        ("12:11", "feed-silent", "payment", "resolved"),  # the first minute with events again
    ]


async def test_portal_down_fires_after_15_minutes_in_office_hours_and_resolves(database):
    found = await transitions(
        database,
        province="quang-ninh",
        start=at(9),
        end=at(10, 40),
        scenario={"scenario": "portal-down", "start": at(10), "end": at(10, 20)},
        rules=["portal-down", "feed-silent-dossier"],
        evaluate_from=at(9, 30),
    )
    assert found == [
        ("10:15", "portal-down", "quang-ninh", "firing"),
        ("10:21", "portal-down", "quang-ninh", "resolved"),
    ]


async def test_a_flood_fires_for_its_district_and_resolves_after_it(database):
    found = await transitions(
        database,
        province="ba-ria-vung-tau",
        start=at(10),
        end=at(12, 30),
        scenario={"scenario": "flood", "start": at(11), "end": at(11, 45)},
        rules=["flooding-reports-surge", "open-incidents-high"],
        evaluate_from=at(10, 30),
    )
    assert [(rule, label, state) for _, rule, label, state in found] == [
        ("flooding-reports-surge", "vung-tau", "firing"),
        ("flooding-reports-surge", "vung-tau", "resolved"),
    ]
    fired, resolved = found[0][0], found[1][0]
    assert "11:05" <= fired <= "11:20" and "11:50" <= resolved <= "12:20"


async def test_a_degrading_gateway_fires_once_bad_enough_and_resolves_after(database):
    found = await transitions(
        database,
        province="binh-duong",
        start=at(8),
        end=at(12),
        scenario={"scenario": "gateway-degraded", "start": at(9), "end": at(11)},
        rules=["payment-success-rate-low"],
        evaluate_from=at(8, 30),
    )
    assert [(rule, label, state) for _, rule, label, state in found] == [
        ("payment-success-rate-low", "vnpay", "firing"),
        ("payment-success-rate-low", "vnpay", "resolved"),
    ]
    fired, resolved = found[0][0], found[1][0]
    # 0% extra failures at 09:00, 60% at 11:00: under 85% success some 20-40 minutes in
    assert "09:20" <= fired <= "10:00" and "11:00" <= resolved <= "11:30", found
