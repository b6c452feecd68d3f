"""The alerter's evaluation passes on the real database, driven by a fake clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ioc.alerting.engine import Alerter
from ioc.alerting.evaluate import EvaluationReason, State
from ioc.alerting.labels import Matcher
from ioc.alerting.rules import DEFAULT_RULES_FILE, Rule, load_rules
from ioc.alerting.store import AlertStore
from ioc.ingest.store import Store
from ioc.models import Event, IncidentStatus, PaymentStatus
from tests.conftest import wait_until
from tests.factories import incident, payment
from tests.test_alert_evaluate import make_rule
from tests.test_roles import as_role

pytestmark = pytest.mark.db

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 in Vietnam
MIN = timedelta(minutes=1)


class SteppingClock:
    """A fake clock: each reading is ``step`` later than the one before."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.current, self.step = start - step, step

    def now(self) -> datetime:
        self.current += self.step
        return self.current


async def store(dsn: str, events: Sequence[Event]) -> None:
    writer = Store(dsn)
    try:
        result = await writer.write(list(events), [])
    finally:
        await writer.close()
    assert result.stored == len(events)


def outage(
    gateway: str = "vnpay",
    *,
    province: str = "binh-duong",
    district: str = "di-an",
    fail_from: timedelta = 0 * MIN,
    fail_for: timedelta = 10 * MIN,
) -> list[Event]:
    """A payment every 20 s from T0-10m to T0+30m through ``gateway`` and momo; ``gateway``
    fails from T0 (+ ``fail_from``) for ``fail_for``."""
    events = []
    for second in range(-600, 1800, 20):
        at = T0 + timedelta(seconds=second)
        failing = fail_from <= at - T0 < fail_from + fail_for
        for name in (gateway, "momo"):
            fails = failing and name == gateway
            events.append(
                payment(
                    gateway=name,
                    province=province,
                    district=district,
                    occurred_at=at,
                    status=PaymentStatus.FAILED if fails else PaymentStatus.SUCCESS,
                    error_code="GW_TIMEOUT" if fails else None,
                )
            )
    return events


def payment_rule(**changes) -> Rule:
    return make_rule(
        name="payment-success-rate-low",
        condition={"clear_threshold": 0.97},
        labels={"team": "payments"},
        **changes,
    )


async def ticks(alerter: Alerter, start: timedelta, end: timedelta, step=timedelta(seconds=30)):
    results = []
    offset = start
    while offset <= end:
        results.append(await alerter.tick(T0 + offset))
        offset += step
    return results


async def test_a_pending_timer_survives_a_restart_and_transitions_are_stored(database, db):
    await store(database, outage())
    rule = payment_rule()
    async with AlertStore(database) as first:
        result = await Alerter([rule], first).tick(T0)
    [pending] = result.alerts
    assert pending.state is State.PENDING and pending.labels["gateway"] == "vnpay"
    async with AlertStore(database) as second:  # a new process: nothing in memory
        alerter = Alerter([rule], second)
        assert (await alerter.tick(T0 + 4 * MIN)).alerts[0].state is State.PENDING
        [firing] = (await alerter.tick(T0 + 5 * MIN)).alerts
    assert firing.state is State.FIRING
    assert firing.status.active_since == T0
    events = await db.fetch("SELECT * FROM alert_events ORDER BY id")
    assert [(e["state_from"], e["state_to"]) for e in events] == [
        ("inactive", "pending"),
        ("pending", "firing"),
    ]
    fired = events[1]
    assert fired["time"] == T0 + 5 * MIN
    assert (fired["province"], fired["district"], fired["severity"]) == (
        "binh-duong",
        None,
        "critical",
    )
    assert fired["labels"] == (
        '{"rule": "payment-success-rate-low", "team": "payments", "gateway": "vnpay", '
        '"province": "binh-duong", "severity": "critical"}'
    )
    assert fired["threshold"] == 0.95 and fired["value"] < 0.95
    assert fired["summary"].startswith("Tỷ lệ thành công qua vnpay tại Bình Dương: ")
    assert fired["summary_en"].startswith("Success rate through vnpay in Binh Duong: ")
    assert fired["reason"] == EvaluationReason.PENDING_ELAPSED.value


async def test_the_dashboard_roles_see_what_they_need(database, db):
    await store(database, outage())
    async with AlertStore(as_role(database, "ioc_alerter")) as alerter_store:
        shipped = [r for r in load_rules([DEFAULT_RULES_FILE]) if r.name != payment_rule().name]
        alerter = Alerter([payment_rule(), *shipped], alerter_store)
        await ticks(alerter, 0 * MIN, 6 * MIN, step=MIN)
        await alerter_store.add_silence(
            [Matcher.parse("gateway=momo")], starts_at=T0, ends_at=T0 + MIN, created_by="test"
        )
        acked = await alerter_store.acknowledge(
            rule=None, matchers=[], fingerprint=None, by="trực ban", comment="", now=T0 + 6 * MIN
        )
        assert len(acked) == 1
        await alerter.tick(T0 + 7 * MIN)
    grafana = await asyncpg.connect(as_role(database, "ioc_grafana"))
    try:
        [row] = await grafana.fetch("SELECT * FROM alerts_firing")
        assert (row["rule"], row["province"], row["province_name"]) == (
            "payment-success-rate-low",
            "binh-duong",
            "Bình Dương",
        )
        assert row["acknowledged"] and row["acked_by"] == "trực ban" and not row["silenced"]
        assert row["firing_since"] == T0 + 5 * MIN
        assert await grafana.fetchval("SELECT count(*) FROM alert_events") == 2
        for table in ("alert_states", "silences", "notification_log", "notification_state"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await grafana.fetch(f"SELECT * FROM {table}")
    finally:
        await grafana.close()


async def test_a_count_rule_resolves_when_its_label_set_disappears(database, db):
    reports = [
        incident(
            reported_at=T0 - 10 * MIN, occurred_at=T0 - 10 * MIN, due_at=T0 + 5 * 24 * 60 * MIN
        )
        for _ in range(3)
    ]
    await store(database, reports)
    rule = make_rule(
        name="open-incidents-high",
        kpi="open_incidents",
        params={},
        for_="0s",
        group_by=["province", "district"],
        condition={"op": ">", "threshold": 2},
        annotations={"summary": {"vi": "{district_name}: {value}", "en": "{district_name}"}},
    )
    async with AlertStore(database) as alert_store:
        alerter = Alerter([rule], alert_store)
        [firing] = (await alerter.tick(T0)).alerts
        assert firing.state is State.FIRING and firing.summary["vi"] == "Hạ Long: 3"
        await store(
            database,
            [
                r.model_copy(
                    update={
                        "event_id": uuid.uuid4(),
                        "status": IncidentStatus.RESOLVED,
                        "occurred_at": T0 + MIN,
                    }
                )
                for r in reports
            ],
        )
        [resolved] = (await alerter.tick(T0 + 2 * MIN)).alerts  # none open: the group is gone
    assert resolved.state is State.RESOLVED and resolved.status.last_value == 0.0


async def test_a_removed_or_regrouped_rule_resolves_its_alerts(database, db):
    await store(database, outage())
    async with AlertStore(database) as alert_store:
        await ticks(Alerter([payment_rule()], alert_store), 0 * MIN, 5 * MIN, step=MIN)
        regrouped = payment_rule(
            group_by=["province"],
            annotations={"summary": {"vi": "{province_name}: {value}", "en": "{value}"}},
        )
        result = await Alerter([regrouped], alert_store).tick(T0 + 6 * MIN)
        old = [a for a in result.alerts if "gateway" in a.labels]
        assert [(a.state, a.reason) for a in old] == [
            (State.RESOLVED, EvaluationReason.RULE_CHANGED.value)
        ]
        await Alerter([], alert_store).tick(T0 + 7 * MIN)
    assert await db.fetchval("SELECT count(*) FROM alert_states WHERE state = 'firing'") == 0


async def test_an_acknowledgement_lasts_while_the_alert_fires(database, db):
    await store(database, outage())
    async with AlertStore(database) as alert_store:
        alerter = Alerter([payment_rule()], alert_store)
        await ticks(alerter, 0 * MIN, 5 * MIN, step=MIN)
        acked = await alert_store.acknowledge(
            rule="payment-success-rate-low",
            matchers=[Matcher.parse("gateway=vnpay")],
            fingerprint=None,
            by="op",
            comment="gọi ngân hàng",
            now=T0 + 5 * MIN,
        )
        assert len(acked) == 1
        [still] = (await alerter.tick(T0 + 6 * MIN)).alerts
        assert (still.acked_by, still.ack_comment) == ("op", "gọi ngân hàng")
        results = await ticks(alerter, 7 * MIN, 16 * MIN, step=MIN)
    [resolved] = results[-1].alerts
    assert resolved.state is State.RESOLVED and resolved.acked_by is None
    row = await db.fetchrow("SELECT acked_by, acked_at FROM alert_states")
    assert tuple(row) == (None, None)


async def test_a_failing_kpi_query_skips_its_rule_only(database, db):
    await store(database, outage())
    await db.execute("ALTER TABLE incidents RENAME TO incidents_gone")
    broken = make_rule(
        name="open-incidents-high",
        kpi="open_incidents",
        params={},
        group_by=["province", "district"],
        condition={"op": ">", "threshold": 2},
        annotations={"summary": {"vi": "x", "en": "x"}},
    )
    async with AlertStore(database) as alert_store:
        results = await ticks(Alerter([broken, payment_rule()], alert_store), 0 * MIN, 5 * MIN, MIN)
    assert results[-1].failed_rules == ["open-incidents-high"]
    assert [a.state for a in results[-1].alerts] == [State.FIRING]


async def test_the_service_loop_reads_its_injected_clock_once_per_pass(database, db):
    await store(database, outage())
    clock = SteppingClock(T0 - MIN, timedelta(seconds=30))  # 30 s of alerting per pass
    async with AlertStore(database) as alert_store:
        alerter = Alerter([payment_rule()], alert_store, clock=clock)
        stop = asyncio.Event()
        loop = asyncio.create_task(alerter.run(stop, interval=0.01))

        async def resolved() -> bool:
            return bool(
                await db.fetchval("SELECT count(*) FROM alert_events WHERE state_to = 'resolved'")
            )

        try:
            await wait_until(resolved, timeout=20)
        finally:
            stop.set()
            await asyncio.wait_for(loop, 10)
    assert alerter.database_ok
    rows = await db.fetch("SELECT time, state_to FROM alert_events ORDER BY id")
    assert [(r["time"] - T0, r["state_to"]) for r in rows] == [
        (0 * MIN, "pending"),
        (5 * MIN, "firing"),
        (15 * MIN, "resolved"),
    ]
