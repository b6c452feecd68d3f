"""What the migrations create on TimescaleDB exists, and does its job (TimescaleDB backend only).

Hypertables with daily chunks; continuous aggregates with real-time aggregation; refresh
policies whose windows cover what each aggregate keeps and stop before the bucket in progress;
compression of old chunks, into which late and redelivered events still go once; retention of
raw events and of the minute aggregates; the ingester's request for a refresh running the
owner's policies.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from ioc import rollups
from ioc.models import EVENT_TYPES
from ioc.rollups import ROLLUPS, compare
from ioc.store import Store
from tests.factories import payment
from tests.test_roles import as_role

pytestmark = [pytest.mark.db, pytest.mark.timescaledb]

EVENT_TABLES = [m.table for m in EVENT_TYPES.values()]


async def _write(dsn: str, events: list) -> tuple[int, int]:
    store = Store(dsn)
    try:
        result = await store.write(events, [])
    finally:
        await store.close()
    return result.stored, result.duplicates


async def _jobs(db: asyncpg.Connection, proc: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT job_id, hypertable_name, config FROM timescaledb_information.jobs "
        "WHERE proc_name = $1 ORDER BY job_id",
        proc,
    )


async def _run(db: asyncpg.Connection, proc: str) -> None:
    assert await rollups.run_jobs(db, proc)


async def _materialized(db: asyncpg.Connection, rollup: str) -> str:
    return await db.fetchval(
        "SELECT format('%I.%I', materialization_hypertable_schema, "
        "materialization_hypertable_name) FROM timescaledb_information.continuous_aggregates "
        "WHERE view_name = $1",
        rollup,
    )


async def test_the_event_tables_are_hypertables_with_daily_chunks(database, db):
    rows = await db.fetch(
        "SELECT hypertable_name, column_name, time_interval "
        "FROM timescaledb_information.dimensions ORDER BY hypertable_name"
    )
    events = {r["hypertable_name"]: r for r in rows if r["hypertable_name"] in EVENT_TABLES}
    assert sorted(events) == sorted(EVENT_TABLES)
    for row in events.values():
        assert (row["column_name"], row["time_interval"]) == ("occurred_at", timedelta(days=1))
    now = datetime.now(UTC)
    await _write(database, [payment(occurred_at=now - timedelta(days=d)) for d in (1, 2, 3)])
    chunks = await db.fetchval(
        "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = $1",
        "payment_events",
    )
    assert chunks == 3


async def test_every_rollup_is_a_continuous_aggregate_that_shows_new_rows_at_once(database, db):
    rows = await db.fetch(
        "SELECT view_name, materialized_only FROM timescaledb_information.continuous_aggregates"
    )
    assert {r["view_name"]: r["materialized_only"] for r in rows} == {
        r.name: False for r in ROLLUPS
    }
    assert await rollups.uses_continuous_aggregates(db)
    await _write(database, [payment(occurred_at=datetime.now(UTC))])
    # no refresh: real-time aggregation reads the bucket in progress from the raw rows
    assert await db.fetchval("SELECT sum(events) FROM payment_events_1m") == 1
    assert await db.fetchval("SELECT sum(payments) FROM payment_sectors_1h") == 1


async def test_the_refresh_policies_cover_what_is_kept_and_stop_before_the_bucket_in_progress(
    database, db
):
    retention = {r["hypertable_name"]: r["config"] for r in await _jobs(db, "policy_retention")}
    policies = {
        r["hypertable_name"]: r["config"]
        for r in await _jobs(db, "policy_refresh_continuous_aggregate")
    }
    import json

    for rollup in ROLLUPS:
        config = json.loads(policies[rollup.name])
        assert config["end_offset"] == "00:01:00", rollup.name
        if rollup.retention:  # a minute aggregate: as far back as it keeps
            kept = json.loads(retention[rollup.name])["drop_after"]
        else:  # an hourly one: as far back as the raw events are kept, never further
            kept = json.loads(retention[rollup.source])["drop_after"]
        assert config["start_offset"] == kept, rollup.name
    assert json.loads(retention["payment_events"])["drop_after"] == "400 days"

    now = datetime.now(UTC)
    await _write(
        database, [payment(occurred_at=now - timedelta(days=10)), payment(occurred_at=now)]
    )
    await _run(db, "policy_refresh_continuous_aggregate")

    async def materialized(rollup: str, where: str) -> int:
        table = await _materialized(db, rollup)
        return await db.fetchval(f"SELECT count(*) FROM {table} WHERE {where}")

    # ten days back: materialised, in the hourly aggregates and the minute ones (14 days)
    assert await materialized("payment_sectors_1h", "bucket < now() - '9 days'::interval") == 1
    assert await materialized("payment_events_1m", "bucket < now() - '9 days'::interval") == 1
    # the buckets in progress: not materialised, and shown all the same
    assert await materialized("payment_sectors_1h", "bucket > now() - '1 hour'::interval") == 0
    assert await materialized("payment_events_1m", "bucket > now() - '1 minute'::interval") == 0
    assert await db.fetchval("SELECT sum(payments) FROM payment_sectors_1h") == 2
    for comparison in await compare(db) + await compare(db, in_progress=True):
        assert comparison.equal, str(comparison)


async def test_old_chunks_are_compressed_and_late_events_into_them_are_stored_once(database, db):
    now = datetime.now(UTC)
    old = [payment(occurred_at=now - timedelta(days=10, minutes=i)) for i in range(5)]
    await _write(database, old)
    await rollups.refresh(db, synchronous=True)
    await _run(db, "policy_compression")
    compressed = await db.fetchval(
        "SELECT count(*) FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'payment_events' AND is_compressed"
    )
    assert compressed == 1
    late = payment(occurred_at=now - timedelta(days=10, minutes=30))
    assert await _write(as_role(database, "ioc_ingester"), [*old, late]) == (1, 5)
    assert await db.fetchval("SELECT count(*) FROM payment_events") == 6
    # the ingester's refresher asks; the owner's policy runs in the background
    conn = await asyncpg.connect(as_role(database, "ioc_ingester"))
    try:
        assert "payment_sectors_1h" in (await rollups.refresh(conn)).requested
    finally:
        await conn.close()
    for _ in range(300):
        if await db.fetchval("SELECT sum(payments) FROM payment_sectors_1h") == 6:
            break
        await asyncio.sleep(0.1)
    for comparison in await compare(db):
        assert comparison.equal, str(comparison)


async def test_retention_drops_old_raw_chunks_and_old_minute_buckets(database, db):
    now = datetime.now(UTC)
    # written straight into the table: older than anything the ingester would accept
    event = payment(occurred_at=now - timedelta(days=402))
    columns = event.columns()
    await db.execute(
        f"INSERT INTO payment_events ({', '.join(columns)}) "
        f"VALUES ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
        *event.row(),
    )
    await _write(database, [payment(occurred_at=now - timedelta(days=d)) for d in (30, 1)])
    minute = await _materialized(db, "payment_events_1m")
    # materialise the 30-day-old minute (outside its policy's window, as a user might)
    await db.execute(
        "CALL refresh_continuous_aggregate('payment_events_1m', now() - INTERVAL '35 days', "
        "now() - INTERVAL '25 days')"
    )
    assert await db.fetchval(f"SELECT count(*) FROM {minute}") == 1
    await _run(db, "policy_retention")
    assert await db.fetchval(
        "SELECT min(occurred_at) > now() - INTERVAL '400 days' FROM payment_events"
    )
    assert await db.fetchval("SELECT count(*) FROM payment_events") == 2
    # the aggregate drops whole chunks older than 14 days: the 30-day-old one went
    assert await db.fetchval(f"SELECT count(*) FROM {minute}") == 0
    # the scheduler's own runs did their jobs too: none failed, but for a refresh that met
    # one of this test's (TimescaleDB refuses a second refresh of an aggregate at once)
    errors = await db.fetch(
        "SELECT job_id, proc_name, sqlerrcode, err_message FROM timescaledb_information.job_errors"
    )
    assert all(e["sqlerrcode"] == "55P03" for e in errors), [dict(e) for e in errors]


async def test_a_policy_catching_up_never_shows_less_than_the_raw_rows(database, db):
    """A backfill is shown by real-time aggregation until a policy materialises it. The
    policy refreshes in batches, each its own transaction; newest first (TimescaleDB's
    default), its first batch moves the watermark to now, and until the last batch the older
    hours read from a materialisation that does not hold them yet: a wall screen after a
    backfill showed the last hours only, for as long as the policy ran. Oldest first, every
    hour below the watermark is materialised."""
    now = datetime.now(UTC)
    backfill = [
        payment(occurred_at=now - timedelta(hours=h, minutes=m))
        for h in range(2, 3 * 24) for m in (5, 35)
    ]
    assert await _write(database, backfill) == (len(backfill), 0)
    total = "SELECT coalesce(sum(payments), 0) FROM payment_sectors_1h"
    assert await db.fetchval(total) == len(backfill)
    (job,) = [
        r["job_id"] for r in await _jobs(db, "policy_refresh_continuous_aggregate")
        if r["hypertable_name"] == "payment_sectors_1h"
    ]
    runner = await asyncpg.connect(database)
    try:
        running = asyncio.create_task(runner.execute("CALL run_job($1)", job))
        seen = []
        while not running.done():
            seen.append(await db.fetchval(total))
        await running
    finally:
        await runner.close()
    seen.append(await db.fetchval(total))
    assert min(seen) == len(backfill), (min(seen), len(seen))
    table = await _materialized(db, "payment_sectors_1h")
    assert await db.fetchval(f"SELECT sum(payments) FROM {table}") == len(backfill)
