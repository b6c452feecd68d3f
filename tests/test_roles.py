"""Least privilege in PostgreSQL: the roles the migrations create can do their job, no more."""

from __future__ import annotations

import asyncpg
import pytest

from ioc.ingest.boundary import DeadLetter, DeadLetterReason
from ioc.ingest.store import Store
from tests.factories import BASE_TIME, dossier, incident, payment

pytestmark = pytest.mark.db


def as_role(dsn: str, role: str) -> str:
    # the test server trusts loopback connections; privileges are still the role's own
    return dsn.replace("postgresql://postgres@", f"postgresql://{role}@")


async def test_the_ingester_role_can_store_a_batch_and_cannot_drop_tables(database, db):
    store = Store(as_role(database, "ioc_ingester"))
    try:
        letter = DeadLetter(
            "ioc/v1/x", b"{}", DeadLetterReason.SCHEMA, "field 'x': test", BASE_TIME
        )
        result = await store.write([dossier(), payment(), incident()], [letter])
    finally:
        await store.close()
    assert (result.stored, result.dead_lettered) == (3, 1)
    assert await db.fetchval("SELECT count(*) FROM dossiers") == 1

    conn = await asyncpg.connect(as_role(database, "ioc_ingester"))
    try:
        for statement in (
            "DROP TABLE payment_events",
            "TRUNCATE dossier_events",
            "DELETE FROM dead_letters",
            "DELETE FROM event_ids",
            "UPDATE event_ids SET feed = 'payment'",
            "CREATE TABLE sneaky (x int)",
            "ALTER TABLE dossiers ADD COLUMN x int",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_the_grafana_role_reads_views_only_and_cannot_write(database):
    conn = await asyncpg.connect(as_role(database, "ioc_grafana"))
    try:
        assert await conn.fetch("SELECT * FROM province_dossier_kpis") == []
        assert await conn.fetchval("SELECT count(*) FROM districts") > 0
        for statement in (
            "SELECT * FROM payment_events",
            "SELECT * FROM dead_letters",
            "INSERT INTO provinces VALUES ('x', 'x', 'x', 1, 0, 0)",
            "UPDATE districts SET population = 0",
            "DELETE FROM provinces",
            "SELECT * FROM event_ids",
            "CREATE TABLE sneaky (x int)",
            # TEMPORARY is PUBLIC's on a new database; 0006 takes it back
            "CREATE TEMP TABLE sneaky (x int)",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_no_application_role_may_create_temporary_tables(database):
    """0006 took TEMPORARY back from PUBLIC; 0010 from the ingester, which no longer stages
    batches in temporary tables."""
    for role in ("ioc_ingester", "ioc_alerter", "ioc_grafana"):
        conn = await asyncpg.connect(as_role(database, role))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TEMP TABLE staging (x int)")
        finally:
            await conn.close()


async def _rollup_storage(conn: asyncpg.Connection, rollup: str) -> list[str]:
    """Where a rollup's rows are: the table (plain), or the continuous aggregate and its
    materialisation hypertable (TimescaleDB)."""
    hypertable = (
        await conn.fetchval(
            "SELECT format('%I.%I', materialization_hypertable_schema, "
            "materialization_hypertable_name) FROM timescaledb_information.continuous_aggregates "
            "WHERE view_name = $1",
            rollup,
        )
        if await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
        else None
    )
    return [rollup, hypertable] if hypertable else [rollup]


REFUSED_WRITES = (
    asyncpg.InsufficientPrivilegeError,
    asyncpg.ObjectNotInPrerequisiteStateError,
    asyncpg.FeatureNotSupportedError,
)
"""A write refused for want of the privilege; on TimescaleDB also a write into a continuous
aggregate (a view: "cannot delete from view") and a TRUNCATE of its materialisation hypertable
(refused to anyone), whichever PostgreSQL says before it checks the privilege."""


@pytest.mark.parametrize("role", ["ioc_ingester", "ioc_grafana"])
async def test_no_service_role_can_write_a_rollup_or_its_refresh_state(database, db, role):
    """The ingester's refresher recomputes the rollups only through the owner's functions
    (0007_rollup_refresh.sql); Grafana only reads them."""
    from ioc.storage.rollups import ROLLUPS

    conn = await asyncpg.connect(as_role(database, role))
    try:
        for rollup in ROLLUPS:
            for relation in await _rollup_storage(db, rollup.name):
                for statement in (
                    f"DELETE FROM {relation}",
                    f"UPDATE {relation} SET bucket = bucket",
                    f"INSERT INTO {relation} SELECT * FROM {relation}",
                    f"TRUNCATE {relation}",
                ):
                    # a continuous aggregate is a view: "cannot delete from view" (or a
                    # permission error) rather than a write, whichever PostgreSQL says first
                    with pytest.raises(REFUSED_WRITES):
                        await conn.execute(statement)
        for statement in (
            "DELETE FROM rollup_watermarks",
            "UPDATE rollup_watermarks SET ingested_until = now()",
            "SELECT * FROM rollup_statements",
            "UPDATE rollup_statements SET prune_sql = 'DELETE FROM dossiers'",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_only_the_ingester_may_run_the_rollup_refresh_and_only_the_owner_refreshes(
    database, db
):
    timescale = bool(
        await db.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
    )
    ours = ["refresh_rollup_tables(now(), INTERVAL '0')", "prune_rollup_tables()"]
    if timescale:
        ours.append("request_rollup_refresh()")
    ingester = await asyncpg.connect(as_role(database, "ioc_ingester"))
    grafana = await asyncpg.connect(as_role(database, "ioc_grafana"))
    try:
        for call in ours:
            await ingester.execute(f"SELECT * FROM {call}")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await grafana.execute(f"SELECT * FROM {call}")
        if timescale:
            # refreshing a continuous aggregate, or changing its policy, takes the owner
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingester.execute(
                    "CALL refresh_continuous_aggregate('payment_events_1m', NULL, NULL)"
                )
            job = await db.fetchval(
                "SELECT min(job_id) FROM timescaledb_information.jobs "
                "WHERE proc_name = 'policy_refresh_continuous_aggregate'"
            )
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await ingester.execute("SELECT alter_job($1, next_start => now())", job)
    finally:
        await ingester.close()
        await grafana.close()
