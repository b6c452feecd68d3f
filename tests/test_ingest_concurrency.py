"""Several batches written at once (``IOC_INGEST_WRITERS``): acknowledged in arrival order,
never deadlocked by the same events or dossiers in two transactions."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from ioc.ingest.ingester import Ingester
from ioc.ingest.service import run_ingester
from ioc.ingest.store import Store
from ioc.models import DossierEvent, Event, IncidentEvent
from ioc.mqtt.port import Received
from ioc.mqtt.subscriber import FastSource
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto
from ioc.topics import FEED_FILTER
from simulators.engine import Simulation
from simulators.profiles import PROFILES
from tests.conftest import wait_until

START = datetime(2026, 3, 2, 8, tzinfo=UTC)


def simulated(hours: float, seed: int = 5) -> list[Event]:
    simulation = Simulation(list(PROFILES.values()), seed=seed, start=START, scale=0.3)
    return list(simulation.events_until(START + timedelta(hours=hours)))


class RecordingSource(FastSource):
    """The real receive path, recording what it hands out and what it is told to ack."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.handed_out: list[bytes] = []
        self.acked: list[bytes] = []

    async def batch(self, max_size: int, max_wait: float) -> list[Received]:
        messages = await super().batch(max_size, max_wait)
        self.handed_out += [m.payload for m in messages]
        return messages

    def ack(self, messages: list[Received]) -> int:  # type: ignore[override]
        self.acked += [m.payload for m in messages]
        return super().ack(messages)


class FirstWriteSlow(Store):
    """A real store whose first transaction takes longer, so the second commits first."""

    def __init__(self, dsn: str, delay: float = 0.6) -> None:
        super().__init__(dsn, connections=2)
        self.delay = delay
        self.calls = 0
        self.sizes: list[int] = []
        self.committed: list[int] = []

    async def write(self, events, dead_letters):  # type: ignore[no-untyped-def]
        self.calls += 1
        self.sizes.append(len(events) + len(dead_letters))
        call = self.calls
        if call == 1:
            await asyncio.sleep(self.delay)
        result = await super().write(events, dead_letters)
        self.committed.append(call)
        return result


async def test_acks_follow_arrival_order_when_a_later_batch_commits_first(
    broker: LocalMosquitto, database: str, client_id: str, publish
) -> None:
    events = simulated(3)[:120]
    source = RecordingSource(MqttUrl(broker.url), FEED_FILTER, client_id=client_id)
    store = FirstWriteSlow(database)
    ingester = Ingester(source, store, batch_size=20, flush_interval=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(run_ingester(ingester, stop=stop, handle_signals=False))
    await wait_until(lambda: _true(source.subscribed))
    for event in events:
        await publish(event.topic, event.to_json())
    await wait_until(lambda: _true(len(source.acked) == len(events)))
    stop.set()
    await asyncio.wait_for(task, 20)

    assert store.committed[0] != 1, "the slow first batch should have committed after another"
    assert source.acked == source.handed_out  # every message, in the order it arrived
    assert ingester.stats.stored == len(events)
    assert source.pending() == 0


async def test_messages_arriving_during_a_commit_wait_for_it_and_go_in_one_batch(
    broker: LocalMosquitto, database: str, client_id: str, publish
) -> None:
    """Group commit: a second writer is not started for a trickle of messages."""
    events = simulated(3)[:41]
    source = FastSource(MqttUrl(broker.url), FEED_FILTER, client_id=client_id)
    store = FirstWriteSlow(database, delay=1.5)
    ingester = Ingester(source, store, batch_size=500, flush_interval=3.0)
    stop = asyncio.Event()
    task = asyncio.create_task(run_ingester(ingester, stop=stop, handle_signals=False))
    await wait_until(lambda: _true(source.subscribed))
    first, *rest = events
    await publish(first.topic, first.to_json())
    await wait_until(lambda: _true(store.calls == 1))
    for event in rest:  # one by one, while the first batch is still being written
        await publish(event.topic, event.to_json())
    await wait_until(lambda: _true(ingester.stats.stored == len(events)))
    stop.set()
    await asyncio.wait_for(task, 20)

    assert store.sizes == [1, len(rest)]


async def test_a_batch_that_is_not_full_lingers_for_more(
    broker: LocalMosquitto, database: str, client_id: str, publish
) -> None:
    """A trickle of messages (one every 20 ms, nothing committing) goes in one transaction
    when batches linger; without it, each is taken as it comes (IOC_INGEST_LINGER_MS)."""
    events = simulated(3)[:30]
    sizes = {}
    for linger in (3.0, 0.0):
        source = FastSource(MqttUrl(broker.url), FEED_FILTER, client_id=f"{client_id}-{linger:g}")
        store = FirstWriteSlow(database, delay=0.0)
        ingester = Ingester(source, store, batch_size=500, flush_interval=0.05, linger=linger)
        stop = asyncio.Event()
        task = asyncio.create_task(run_ingester(ingester, stop=stop, handle_signals=False))
        await wait_until(lambda: _true(source.subscribed))  # noqa: B023 - awaited here
        batch = [e.model_copy(update={"event_id": uuid.uuid4()}) for e in events]
        for event in batch:
            await publish(event.topic, event.to_json())
            await asyncio.sleep(0.02)
        await wait_until(lambda: _true(ingester.stats.stored == len(batch)))  # noqa: B023
        stop.set()
        await asyncio.wait_for(task, 20)
        sizes[linger] = store.sizes
    assert sizes[3.0] == [len(events)]
    assert len(sizes[0.0]) > 5


async def test_two_writers_with_the_same_events_and_dossiers_do_not_deadlock(
    database: str,
) -> None:
    """A redelivery can put events of a batch still committing into the next batch."""
    events = [e for e in simulated(6, seed=8) if isinstance(e, DossierEvent | IncidentEvent)]
    assert len(events) > 200
    store = Store(database, connections=2)
    rng = random.Random(4)
    written: set[object] = set()
    for _ in range(8):
        first = rng.sample(events, k=len(events) * 2 // 3)
        second = list(reversed(rng.sample(events, k=len(events) * 2 // 3)))
        written |= {e.event_id for e in first + second}
        await asyncio.gather(store.write(first, []), store.write(second, []))
    await store.close()

    conn = await asyncpg.connect(database)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM dossier_events") + await conn.fetchval(
            "SELECT count(*) FROM incident_events"
        )
        assert stored == len(written)  # each event once, however often it was written
        latest: dict[str, DossierEvent] = {}
        stored_ids = {
            r["event_id"]
            for r in await conn.fetch(
                "SELECT event_id FROM dossier_events UNION ALL SELECT event_id FROM incident_events"
            )
        }
        for event in events:
            if isinstance(event, DossierEvent) and event.event_id in stored_ids:
                known = latest.get(event.dossier_id)
                if known is None or event.occurred_at >= known.occurred_at:
                    latest[event.dossier_id] = event
        rows = {
            r["dossier_id"]: r["last_event_at"]
            for r in await conn.fetch("SELECT dossier_id, last_event_at FROM dossiers")
        }
        assert rows.keys() == latest.keys()
        assert all(rows[k] == latest[k].occurred_at for k in rows)
    finally:
        await conn.close()


async def _true(value: bool) -> bool:
    return value
