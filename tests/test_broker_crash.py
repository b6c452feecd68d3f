"""kill -9 of the broker at several moments of a stream: every event stored exactly once.

Mosquitto acknowledges a QoS 1 message once it is in memory, and writes its database every
``autosave_interval`` (60 s here, as in mosquitto/mosquitto.conf) and on SIGUSR1 (used for a
deterministic "after an autosave" moment). A crash loses what came after the last save,
queued for the ingester or in flight to it. ``FastPublisher`` keeps what the broker may still
lose and publishes it again after a reconnect; the ingester stores each event once.

Each case streams 20,000 events at 2,000/s from a ``FastPublisher`` (in this event loop) to a
real ``ioc ingest`` process through a broker that is killed and restarted mid-stream, then
counts rows against what was published.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from ioc.mqtt.publisher import FastPublisher
from ioc.mqtt.wire import PROTOCOL_5
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto
from tests.backends import TEMPLATE
from tests.processes import IngesterProcess, count_stored, payment_stream, stored_ids

pytestmark = [pytest.mark.broker, pytest.mark.db, pytest.mark.slow]

EVENTS = 20_000
RATE = 2_000.0


def _dead_letters(dsn: str) -> int:
    import asyncpg

    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval("SELECT count(*) FROM dead_letters")
        finally:
            await conn.close()

    return asyncio.run(count())


async def _settled(dsn: str, expected: int, timeout: float = 120) -> None:
    """Until every event is stored, or nothing more arrives for 10 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stored = await asyncio.to_thread(count_stored, dsn)
        if stored >= expected:
            return
        if stored != last:
            last, since = stored, time.monotonic()
        elif time.monotonic() - since > 10:
            return
        await asyncio.sleep(0.3)


@pytest.mark.parametrize(
    "case",
    ["before an autosave", "after an autosave", "with a backlog for a stopped ingester",
     "twice"],
)
async def test_kill_9_the_broker_mid_stream_loses_nothing(case, postgres, tmp_path):
    name = f"crash_{abs(hash(case)) % 10**8}"
    dsn = postgres.create_database(name, template=TEMPLATE)
    broker = LocalMosquitto(tmp_path / "mq").start()
    ingesters = [IngesterProcess(broker.url, dsn, "crash-ingester", tmp_path).start()]
    try:
        await asyncio.to_thread(ingesters[0].wait_ready)
        events = payment_stream(EVENTS)

        async def crash() -> None:
            await asyncio.to_thread(broker.kill)
            await asyncio.sleep(2)
            await asyncio.to_thread(broker.start)

        actions = {
            "before an autosave": {6_000: crash},
            "after an autosave": {4_000: broker.save, 8_000: crash},
            "with a backlog for a stopped ingester": {
                3_000: ingesters[0].kill, 6_000: broker.save, 9_000: crash,
            },
            "twice": {5_000: crash, 9_000: broker.save, 12_000: crash},
        }[case]
        async with FastPublisher(MqttUrl(broker.url), client_id="crash-publisher",
                                 window=500, protocol=PROTOCOL_5) as publisher:
            began = time.monotonic()
            for number, event in enumerate(events):
                delay = began + number / RATE - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await publisher.send(event.topic,
                                     event.to_json())
                action = actions.get(number)
                if action is not None:
                    result = action()
                    if asyncio.iscoroutine(result):
                        await result
            await asyncio.wait_for(publisher.flush(), 60)
            if case.startswith("with a backlog"):
                ingesters.append(
                    IngesterProcess(broker.url, dsn, "crash-ingester", tmp_path).start()
                )
                await asyncio.to_thread(ingesters[-1].wait_ready)
            await _settled(dsn, EVENTS)
            published, replayed = publisher.published, publisher.replayed
            retried = publisher.unrouted_retries
            reconnects = publisher.reconnects
        rows, ids = await asyncio.to_thread(stored_ids, dsn)
        lost = len({str(e.event_id) for e in events} - ids)
        dead = await asyncio.to_thread(_dead_letters, dsn)
        print(f"{case}: published {published:,} (replayed {replayed:,}, published again "
              f"for want of a subscriber {retried:,}, reconnects {reconnects}), stored "
              f"{rows:,}, distinct {len(ids):,}, dead-lettered {dead}, lost {lost}")
        assert published == EVENTS
        assert reconnects >= 1 and replayed > 0
        assert lost == 0, f"{lost} of {EVENTS} events lost"
        assert rows == len(ids) == EVENTS, f"{rows - len(ids)} rows stored twice"
        assert dead == 0
    finally:
        for ingester in ingesters:
            ingester.stop()
        broker.stop()
        postgres.drop_database(name)
