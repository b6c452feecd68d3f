"""The numbers on the wall are the numbers in the tables, whatever a user does.

One scenario on each backend, through the real pipeline (``ioc-sim backfill`` into an
``ioc ingest`` process running as ``ioc_ingester``, on a server of this test's own so that it
can be restarted). After each step it waits until, for every complete bucket each rollup keeps,
the rollup equals the same aggregate over the raw rows, and the bucket in progress shows the
raw rows so far (``ioc.storage.rollups.compare``): a 30-day backfill, on TimescaleDB the refresh
policies' next run (which used to lose what lay before their window), events hours and days
late (into compressed chunks on TimescaleDB), the same events again, ``ioc db refresh-rollups``
followed by events in the bucket in progress, an ingester restart, a database restart, and
the retention policies.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ioc.models import DossierStatus, IncidentStatus, PaymentStatus
from ioc.storage import rollups
from ioc.storage.migrations import migrate
from ioc.storage.rollups import compare
from ioc.tools.local import LocalMosquitto
from tests.factories import dossier, incident, payment
from tests.processes import IngesterProcess, StreamPublisher, as_messages, count_stored, wait_for
from tests.test_roles import as_role

pytestmark = [pytest.mark.db, pytest.mark.slow]

DAYS = 30
SCALE = 0.01  # ~58,000 events over 30 days for the three provinces
CONVERGE = 60.0
"""How long the rollups may take to catch up after a step (the refresher runs every second
here; on TimescaleDB a requested policy starts within a few seconds)."""


def _run(*command: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *command], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout + result.stderr


async def _comparisons(dsn: str) -> list[rollups.Comparison]:
    conn = await asyncpg.connect(dsn)
    try:
        return await compare(conn) + await compare(conn, in_progress=True)
    finally:
        await conn.close()


def assert_rollups_equal_raw(dsn: str, step: str, *, timeout: float = CONVERGE) -> float:
    """Wait until every rollup equals its raw aggregate; returns how long that took."""
    began = time.monotonic()
    while True:
        comparisons = asyncio.run(_comparisons(dsn))
        if all(c.equal for c in comparisons):
            waited = time.monotonic() - began
            print(f"{step}: equal after {waited:.1f} s")
            return waited
        if time.monotonic() - began > timeout:
            differing = "\n".join(str(c) for c in comparisons if not c.equal)
            raise AssertionError(f"{step}: rollups differ from the raw rows:\n{differing}")
        time.sleep(0.5)


def print_figures(dsn: str, step: str) -> None:
    for comparison in asyncio.run(_comparisons(dsn)):
        print(f"{step}: {comparison}")


async def _fetchval(dsn: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _execute(dsn: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _run_jobs(dsn: str, proc_name: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await rollups.run_jobs(conn, proc_name)
    finally:
        await conn.close()


def late_events(now: datetime, ages: list[timedelta]) -> list:
    """A few events of every feed at each age (a payment, a dossier's resolution, a report's)."""
    events = []
    for i, age in enumerate(ages):
        at = now - age
        province, district = [("binh-duong", "di-an"), ("quang-ninh", "ha-long")][i % 2]
        events.append(payment(occurred_at=at, province=province, district=district))
        events.append(
            payment(
                occurred_at=at,
                province=province,
                district=district,
                status=PaymentStatus.FAILED,
                error_code="TIMEOUT",
            )
        )
        events.append(
            dossier(
                DossierStatus.RESOLVED,
                occurred_at=at,
                submitted_at=at - timedelta(days=3),
                due_at=at + timedelta(days=2),
                province=province,
                district=district,
            )
        )
        events.append(
            incident(
                IncidentStatus.RECEIVED,
                occurred_at=at,
                reported_at=at,
                due_at=at + timedelta(days=5),
                province=province,
                district=district,
            )
        )
    return events


def publish(broker, events: list, client_id: str) -> None:
    publisher = StreamPublisher(broker.port, as_messages(events), client_id=client_id)
    publisher.start()
    publisher.finish()


def test_rollups_equal_the_raw_rows_after_everything_a_user_does(pg_backend, tmp_path):
    # a broker of its own: the session's keeps queues for the persistent sessions other tests
    # left, and the backfill's pacing counts them (README, "Pacing by the broker's backlog")
    with (
        LocalMosquitto(tmp_path / "mosquitto") as broker,
        pg_backend.server("invariant") as pg,
    ):
        owner = pg.dsn
        asyncio.run(migrate(owner))
        timescale = pg_backend.timescaledb
        env = dict(
            os.environ,
            IOC_DATABASE_URL=owner,
            IOC_MQTT_URL=broker.url,
            IOC_LOG_LEVEL="WARNING",
        )
        client = f"invariant-{pg_backend.name}-{os.getpid()}"

        def start_ingester() -> IngesterProcess:
            ingester = IngesterProcess(
                broker.url,
                as_role(owner, "ioc_ingester"),
                client,
                tmp_path,
                IOC_INGEST_ROLLUP_REFRESH_SECONDS="1",
            ).start()
            ingester.wait_ready()
            return ingester

        ingester = start_ingester()
        try:
            # 1. a backfill of 30 days, as `ioc demo` and the compose stack begin
            out = _run(
                "simulators.cli",
                "backfill",
                "--days",
                str(DAYS),
                "--scale",
                str(SCALE),
                "--seed",
                "11",
                "--client-id",
                f"{client}-backfill",
                env=env,
            )
            published = int(out.split("published ")[1].split()[0].replace(",", ""))
            wait_for(lambda: count_stored(owner) >= published, timeout=300)
            assert_rollups_equal_raw(owner, "after the backfill")
            if timescale:
                # the policies' next run used to move the watermark over what lay before
                # their window (a day, a week): now their windows cover what is kept
                assert asyncio.run(_run_jobs(owner, "policy_refresh_continuous_aggregate"))
                assert_rollups_equal_raw(owner, "after every refresh policy ran", timeout=5)
            print_figures(owner, f"{DAYS}-day backfill ({published:,} events)")

            # 2. events hours and days late; on TimescaleDB into compressed chunks too
            now = datetime.now(UTC)
            if timescale:
                assert asyncio.run(_run_jobs(owner, "policy_compression"))
                compressed = asyncio.run(
                    _fetchval(
                        owner,
                        "SELECT count(*) FROM timescaledb_information.chunks "
                        "WHERE hypertable_name = 'payment_events' AND is_compressed",
                    )
                )
                assert compressed >= DAYS - 8, f"{compressed} compressed chunks"
            late = late_events(
                now,
                [timedelta(hours=3), timedelta(days=2), timedelta(days=10), timedelta(days=20)],
            )
            publish(broker, late, f"{client}-late")
            wait_for(lambda: count_stored(owner) >= published + len(late), timeout=60)
            assert_rollups_equal_raw(owner, "after events 3 h, 2 d, 10 d and 20 d late")

            # 3. the same events again: recognised, counted once
            publish(broker, late, f"{client}-again")
            wait_for(lambda: ingester.metrics()["ioc_ingest_duplicates_ignored_total"] >= len(late))
            assert count_stored(owner) == published + len(late)
            assert_rollups_equal_raw(owner, "after the same events again")

            # 4. `ioc db refresh-rollups` at any moment, then more events in the buckets in
            #    progress: they show (the hour under way is not materialised half full)
            _run("ioc.cli", "db", "refresh-rollups", env=env)
            current = late_events(datetime.now(UTC), [timedelta(0)] * 3)
            publish(broker, current, f"{client}-now")
            wait_for(lambda: count_stored(owner) >= published + len(late) + len(current))
            assert_rollups_equal_raw(owner, "after refresh-rollups and events in progress")

            # 5. an ingester restart, with late events sent while it is away
            assert ingester.stop() == 0, ingester.log()
            away = late_events(datetime.now(UTC), [timedelta(hours=5), timedelta(days=4)])
            publish(broker, away, f"{client}-away")
            ingester = start_ingester()
            total = published + len(late) + len(current) + len(away)
            wait_for(lambda: count_stored(owner) >= total, timeout=60)
            assert_rollups_equal_raw(owner, "after an ingester restart")

            # 6. a database restart, with late events sent while it is down
            pg.stop()
            down = late_events(datetime.now(UTC), [timedelta(hours=1), timedelta(days=6)])
            publish(broker, down, f"{client}-down")
            pg.start()
            total += len(down)
            wait_for(lambda: count_stored(owner) >= total, timeout=90)
            assert_rollups_equal_raw(owner, "after a database restart")

            # 7. retention: minute rollups keep 14 days, the hourly ones and raw rows more
            if timescale:
                assert asyncio.run(_run_jobs(owner, "policy_retention"))
            else:
                _run("ioc.cli", "db", "refresh-rollups", env=env)  # it prunes, too
            oldest = asyncio.run(_fetchval(owner, "SELECT min(bucket) FROM payment_events_1m"))
            # TimescaleDB drops whole chunks of the aggregate: up to one more chunk is kept
            assert oldest >= now - rollups.MINUTE_RETENTION - timedelta(days=10 if timescale else 0)
            assert asyncio.run(
                _fetchval(owner, "SELECT min(bucket) FROM payment_sectors_1h")
            ) < now - timedelta(days=DAYS - 1)
            assert_rollups_equal_raw(owner, "after retention")
            assert count_stored(owner) == total
            assert asyncio.run(_fetchval(owner, "SELECT count(*) FROM dead_letters")) == 0
        finally:
            ingester.stop()
