"""Nothing lost, nothing counted twice: faults injected into real processes.

Each test publishes a known stream, breaks something in the middle of it (kill -9 the
ingester, stop PostgreSQL, restart Mosquitto), and then counts the rows against what was
published: every event id present, no row twice.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest

from ioc.storage.migrations import migrate
from ioc.tools.local import LocalMosquitto
from tests.processes import (
    IngesterProcess,
    StreamPublisher,
    as_messages,
    count_stored,
    payment_stream,
    stored_ids,
    wait_for,
)

pytestmark = [pytest.mark.broker, pytest.mark.db, pytest.mark.slow]


def readyz_status(ingester: IngesterProcess) -> int:
    try:
        with urllib.request.urlopen(ingester.url("/readyz"), timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def assert_exactly_once(dsn: str, events) -> None:
    rows, ids = stored_ids(dsn)
    expected = {str(e.event_id) for e in events}
    missing = expected - ids
    assert not missing, f"{len(missing)} of {len(expected)} events lost"
    assert rows == len(expected), f"{rows - len(expected)} rows stored twice"
    print(f"published {len(expected)}, stored {rows} rows, {len(ids)} distinct")


def test_kill_9_the_ingester_mid_stream_loses_nothing(broker, database, pg_backend, tmp_path):
    events = payment_stream(20_000)
    ingester = IngesterProcess(
        broker.url, database, f"kill9-ingester-{pg_backend.name}", tmp_path
    ).start()
    ingester.wait_ready()
    publisher = StreamPublisher(
        broker.port, as_messages(events), client_id=f"kill9-pub-{pg_backend.name}"
    )
    publisher.start()
    wait_for(lambda: count_stored(database) >= 5_000, message="no progress before the kill")
    ingester.kill()  # whatever was received but not committed was never acknowledged
    killed_at = count_stored(database)
    publisher.finish()
    restarted = IngesterProcess(
        broker.url, database, f"kill9-ingester-{pg_backend.name}", tmp_path
    ).start()
    restarted.wait_ready()
    wait_for(
        lambda: count_stored(database) >= len(events),
        timeout=90,
        message=f"stalled at {count_stored(database)} after restart: {restarted.log()}",
    )
    time.sleep(0.5)  # anything redelivered twice would land now
    restarted.stop()
    print(f"killed at {killed_at} stored")
    assert_exactly_once(database, events)


def test_database_outage_is_waited_out_with_bounded_memory(broker, pg_backend, tmp_path):
    events = payment_stream(20_000)
    with pg_backend.server("outage") as pg:
        import asyncio

        asyncio.run(migrate(pg.dsn))
        ingester = IngesterProcess(
            broker.url,
            pg.dsn,
            f"outage-ingester-{pg_backend.name}",
            tmp_path,
            IOC_INGEST_MAX_PENDING="2000",
        ).start()
        ingester.wait_ready()
        publisher = StreamPublisher(
            broker.port, as_messages(events), rate=2_000, client_id=f"outage-pub-{pg_backend.name}"
        )
        publisher.start()
        wait_for(lambda: count_stored(pg.dsn) >= 3_000)
        # true from the first batch, not only once an outage has come and gone
        assert ingester.metrics()["ioc_ingest_database_connected"] == 1
        baseline_rss = ingester.rss()
        pg.stop()
        outage_started = time.monotonic()
        peak_rss, peak_pending = baseline_rss, 0.0
        while time.monotonic() - outage_started < 20:
            peak_rss = max(peak_rss, ingester.rss())
            peak_pending = max(peak_pending, ingester.metrics()["ioc_ingest_awaiting_ack"])
            time.sleep(0.25)
        assert ingester.metrics()["ioc_ingest_database_connected"] == 0
        assert readyz_status(ingester) == 503
        with urllib.request.urlopen(ingester.url("/healthz"), timeout=2) as response:
            assert response.status == 200  # alive, just not ready
        pg.start()
        publisher.finish()
        wait_for(
            lambda: count_stored(pg.dsn) >= len(events),
            timeout=120,
            message=f"stalled after the outage: {ingester.log()}",
        )
        assert readyz_status(ingester) == 200
        assert ingester.metrics()["ioc_ingest_database_connected"] == 1
        retries = ingester.metrics()["ioc_ingest_write_retries_total"]
        ingester.stop()
        print(
            f"outage 20 s: RSS {baseline_rss / 2**20:.1f} -> peak {peak_rss / 2**20:.1f} MB, "
            f"peak awaiting ack {peak_pending:.0f}, {retries:.0f} write retries"
        )
        assert peak_pending <= 2000, "held more messages than its window"
        assert peak_rss - baseline_rss < 64 * 2**20, "memory grew during the outage"
        assert retries > 0
        assert_exactly_once(pg.dsn, events)


def test_broker_restart_mid_stream_loses_nothing(database, pg_backend, tmp_path):
    events = payment_stream(20_000)
    with LocalMosquitto(tmp_path / "mosquitto") as own_broker:
        ingester = IngesterProcess(
            own_broker.url, database, f"restart-ingester-{pg_backend.name}", tmp_path
        ).start()
        ingester.wait_ready()
        publisher = StreamPublisher(
            own_broker.port,
            as_messages(events),
            rate=4_000,
            client_id=f"restart-pub-{pg_backend.name}",
        )
        publisher.start()
        wait_for(lambda: count_stored(database) >= 4_000)
        own_broker.restart()  # persistence on: queued and in-flight QoS 1 messages survive
        publisher.finish()
        wait_for(
            lambda: count_stored(database) >= len(events),
            timeout=90,
            message=f"stalled after the broker restart: {ingester.log()}",
        )
        assert ingester.process and ingester.process.poll() is None, "the ingester was restarted"
        ingester.stop()
    assert_exactly_once(database, events)


def test_two_ingesters_share_one_stream_without_duplicates(broker, database, pg_backend, tmp_path):
    events = payment_stream(20_000)
    workers = [
        IngesterProcess(
            broker.url,
            database,
            f"shared-{i}-{pg_backend.name}",
            tmp_path,
            IOC_INGEST_SHARED_GROUP=f"test-shared-{pg_backend.name}",
        ).start()
        for i in (1, 2)
    ]
    for worker in workers:
        worker.wait_ready()
    publisher = StreamPublisher(
        broker.port, as_messages(events), client_id=f"shared-pub-{pg_backend.name}"
    )
    publisher.start()
    publisher.finish()
    wait_for(lambda: count_stored(database) >= len(events), timeout=90)
    time.sleep(0.5)
    received = [w.metrics()["ioc_ingest_messages_received_total"] for w in workers]
    duplicates = [w.metrics()["ioc_ingest_duplicates_ignored_total"] for w in workers]
    for worker in workers:
        worker.stop()
    print(f"received per worker {received}, duplicates {duplicates}")
    assert all(r > 0 for r in received), "one worker got nothing: the subscription is not shared"
    assert sum(received) == len(events)
    assert_exactly_once(database, events)


def test_sigterm_during_a_database_outage_stops_promptly_and_loses_nothing(
    broker, pg_backend, tmp_path
):
    events = payment_stream(500)
    with pg_backend.server("outage") as pg:
        import asyncio

        asyncio.run(migrate(pg.dsn))
        ingester = IngesterProcess(
            broker.url, pg.dsn, f"sigterm-outage-{pg_backend.name}", tmp_path
        ).start()
        ingester.wait_ready()
        pg.stop()
        publisher = StreamPublisher(
            broker.port, as_messages(events), client_id=f"sigterm-pub-{pg_backend.name}"
        )
        publisher.start()
        publisher.finish()
        wait_for(lambda: ingester.metrics()["ioc_ingest_write_retries_total"] > 0)
        # the batch in hand cannot be committed: it is left unacknowledged to the broker
        assert ingester.stop() == 0, ingester.log()
        assert "batch left to the broker" in ingester.log()
        pg.start()
        restarted = IngesterProcess(
            broker.url, pg.dsn, f"sigterm-outage-{pg_backend.name}", tmp_path
        ).start()
        restarted.wait_ready()
        wait_for(lambda: count_stored(pg.dsn) >= len(events), timeout=60)
        restarted.stop()
        assert_exactly_once(pg.dsn, events)
