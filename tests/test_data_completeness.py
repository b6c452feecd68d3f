"""Alerts judge only data that is in: no notification about data the ingester has not stored.

The demo-like start: a real broker, database, ingester and alerter (every shipped rule) with
a webhook subscriber (a real local HTTP server). A backfill of history is published while
the alerter evaluates as of the end of that history; then the live stream follows minute by
minute. One clock, fake, drives the ingester's records, the backfill's hold and the
alerter, so that a simulated office-hours Monday is judged in seconds. Without a scenario
the subscriber hears nothing; with ``feed-silent`` exactly one firing and one resolved.

``decide`` (the rule over the recorded claims) gets unit tests of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from ioc.alerting.engine import Alerter
from ioc.alerting.rules import DEFAULT_RULES_FILE, load_rules
from ioc.alerting.service import build_notifiers
from ioc.alerting.store import AlertStore
from ioc.alerting.subscribers import Subscriber
from ioc.completeness import NEVER, BackfillHold, Claim, decide, read_claims
from ioc.ingest.ingester import Ingester
from ioc.ingest.service import run_ingester
from ioc.ingest.store import Store
from ioc.models import VN_TZ
from ioc.mqtt.publisher import FastPublisher
from ioc.mqtt.subscriber import FastSource
from ioc.settings import MqttUrl
from ioc.topics import FEED_FILTER, feed_topic
from simulators.engine import Simulation
from simulators.profiles import PROFILES
from simulators.runner import backfill
from tests.conftest import wait_until
from tests.test_alert_notify import HttpReceiver

MONDAY = datetime(2026, 11, 23, tzinfo=VN_TZ)
T0 = datetime(2026, 11, 23, 5, tzinfo=UTC)
DAY = timedelta(days=1)


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


# -- decide: pure ---------------------------------------------------------------------------


def ingester(name: str, until: datetime | None, expires: datetime = T0 + DAY) -> Claim:
    return Claim(f"ingester:{name}", "ingester", until, None, expires)


def hold(start: datetime, released: datetime | None = None) -> Claim:
    return Claim("backfill:b", "backfill", start, released, T0 + DAY)


def test_no_claim_at_all_counts_as_complete():
    assert decide([], T0).until is None
    assert decide([], T0).covers(T0, timedelta(0))


def test_an_ingester_that_has_not_caught_up_yet_makes_nothing_complete():
    verdict = decide([ingester("a", T0), ingester("b", None)], T0)
    assert verdict.until == NEVER and "ingester:b" in verdict.reason
    assert not verdict.covers(T0, timedelta(days=365))


def test_the_slowest_ingester_sets_the_point():
    verdict = decide([ingester("a", T0 - timedelta(seconds=2)), ingester("b", T0 - DAY)], T0)
    assert verdict.until == T0 - DAY and "ingester:b" in verdict.reason
    assert not verdict.covers(T0, timedelta(seconds=10))
    fresh = decide([ingester("a", T0 - timedelta(seconds=2))], T0)
    assert fresh.covers(T0, timedelta(seconds=10))
    assert not fresh.covers(T0, timedelta(seconds=1))


def test_an_expired_claim_is_ignored():
    retired = ingester("old", T0 - DAY, expires=T0 - timedelta(seconds=1))
    assert decide([retired, ingester("a", T0)], T0).until == T0


def test_a_backfill_in_progress_holds_at_its_start_until_released_and_caught_up():
    start = T0 - timedelta(hours=24)
    assert decide([ingester("a", T0), hold(start)], T0).until == start
    released = T0 - timedelta(minutes=1)
    # released, but the ingester has not stored up to the release yet: still held
    behind = decide([ingester("a", released - timedelta(seconds=5)), hold(start, released)], T0)
    assert behind.until == start and "backfill" in behind.reason
    # caught up past the release: over
    assert decide([ingester("a", T0), hold(start, released)], T0).until == T0


# -- the demo-like start --------------------------------------------------------------------


@dataclass
class FakeClock:
    time: datetime

    def now(self) -> datetime:
        return self.time


@contextlib.asynccontextmanager
async def running_ingester(
    broker, database: str, client_id: str, clock: FakeClock
) -> AsyncIterator[Ingester]:
    source = FastSource(MqttUrl(broker.url), FEED_FILTER, client_id=client_id, max_pending=2000)
    service = Ingester(source, Store(database, connections=2), flush_interval=0.02, clock=clock.now)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingester(service, stop=stop, handle_signals=False, progress_interval=0.05)
    )

    async def subscribed() -> bool:
        return source.subscribed

    await wait_until(subscribed, timeout=10)
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def demo_like_start(
    broker, database: str, client_id: str, scenario: dict | None
) -> tuple[list[dict], int, list[tuple[str, str, str]]]:
    """(webhook bodies, passes held during the backfill, transitions as (time, rule, state))."""
    province = "binh-duong"
    history_start, live_start, end = at(10, 50), at(11, 50), at(12, 16)
    simulation = Simulation([PROFILES[province]], seed=11, start=history_start)
    if scenario:
        simulation.inject(province=province, **scenario)
    clock = FakeClock(live_start)
    rules = load_rules([DEFAULT_RULES_FILE])
    transitions: list[tuple[str, str, str]] = []
    held = 0
    with HttpReceiver() as receiver:
        subscriber = Subscriber.model_validate(
            {
                "name": "everyone",
                "matchers": [],
                "group_by": ["rule", "province"],
                "group_wait": "0s",
                "group_interval": "1m",
                "repeat_interval": "1h",
                "send_resolved": True,
                "channels": [
                    {"type": "webhook", "url": receiver.url, "secret_env": "IOC_TEST_SECRET"}
                ],
            }
        )
        async with (
            running_ingester(broker, database, f"{client_id}-ing", clock),
            AlertStore(database) as store,
            httpx.AsyncClient() as http,
            FastPublisher(MqttUrl(broker.url), client_id=f"{client_id}-sim") as publisher,
        ):
            notifiers = build_notifiers(
                [subscriber], http=http, mqtt=None, smtp=None, environ={"IOC_TEST_SECRET": "s"}
            )
            alerter = Alerter(rules, store, subscribers=[subscriber], notifiers=notifiers)

            async def tick() -> bool:
                result = await alerter.tick(clock.now())
                for event in result.events:
                    if event.alert.state.value in ("firing", "resolved"):
                        local = f"{clock.now().astimezone(VN_TZ):%H:%M}"
                        transitions.append((local, event.alert.rule, event.alert.state.value))
                return result.held is not None

            # the history, as `ioc demo` backfills it: the hold first, then the alerter
            async with BackfillHold(
                database, source=client_id, start=history_start, clock=clock.now
            ) as history:
                publishing = asyncio.create_task(backfill(simulation, publisher, end=live_start))
                while not publishing.done():
                    held += await tick()
                    await asyncio.sleep(0.05)
                await publishing
                await history.release()

                async def complete() -> bool:
                    return (await store.completeness(clock.now())).covers(
                        clock.now(), alerter.data_allowance
                    )

                await wait_until(complete, timeout=30)

                # live, a simulated minute at a time: publish it, let it be stored, judge it
                while clock.now() < end:
                    clock.time += timedelta(minutes=1)
                    for event in simulation.events_until(clock.now()):
                        topic = feed_topic(event.province, event.feed, event.district)
                        await publisher.send(topic, event.to_json())
                    await publisher.flush()
                    await wait_until(complete, timeout=30)
                    assert not await tick()
        return receiver.accepted(), held, transitions


@pytest.mark.db
async def test_a_demo_like_start_notifies_nobody_without_a_scenario(broker, database, client_id):
    bodies, held, transitions = await demo_like_start(broker, database, client_id, None)
    assert held > 0  # the alerter did evaluate while the history was arriving, and judged nothing
    assert transitions == []
    assert bodies == []


@pytest.mark.db
async def test_a_demo_like_start_notifies_the_scenario_once_firing_once_resolved(
    broker, database, client_id
):
    scenario = {"scenario": "feed-silent", "start": at(12), "end": at(12, 10)}
    bodies, held, transitions = await demo_like_start(broker, database, client_id, scenario)
    assert held > 0
    assert transitions == [("12:02", "feed-silent", "firing"), ("12:11", "feed-silent", "resolved")]
    assert [(b["status"], [a["labels"]["rule"] for a in b["alerts"]]) for b in bodies] == [
        ("firing", ["feed-silent"]),
        ("resolved", ["feed-silent"]),
    ]


@pytest.mark.db
def test_ioc_sim_backfill_holds_the_alerter_and_releases_the_hold_at_the_end(
    broker, database, client_id, monkeypatch
):
    from click.testing import CliRunner

    from simulators.cli import main as sim_main

    monkeypatch.setenv("IOC_DATABASE_URL", database)
    monkeypatch.setenv("IOC_MQTT_REPLAY_SECONDS", "1")
    before = datetime.now(UTC)
    result = CliRunner().invoke(
        sim_main,
        [
            "backfill",
            "--days",
            "0.01",
            "--province",
            "quang-ninh",
            "--seed",
            "7",
            "--mqtt-url",
            broker.url,
            "--client-id",
            f"{client_id}-sim",
        ],
    )
    assert result.exit_code == 0, result.output

    async def claims() -> list[Claim]:
        conn = await asyncpg.connect(database)
        try:
            return await read_claims(conn)
        finally:
            await conn.close()

    [claim] = asyncio.run(claims())
    assert (claim.source, claim.kind) == (f"backfill:{client_id}-sim", "backfill")
    assert claim.complete_until is not None and claim.released_at is not None
    # it held from the backfill's start (0.01 days before it began) and was released at its end
    assert claim.complete_until == pytest.approx(
        before - timedelta(days=0.01), abs=timedelta(seconds=5)
    )
    assert claim.released_at >= before
    # no ingester claim here: released, the hold no longer counts
    assert decide([claim], datetime.now(UTC)).until is None
