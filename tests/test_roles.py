"""Least privilege in PostgreSQL: the roles the migrations create can do their job, no more."""

from __future__ import annotations

import asyncpg
import pytest

from ioc.boundary import DeadLetter, Reason
from ioc.store import Store
from tests.factories import BASE_TIME, dossier, incident, payment

pytestmark = pytest.mark.db


def as_role(dsn: str, role: str) -> str:
    # the test server trusts loopback connections; privileges are still the role's own
    return dsn.replace("postgresql://postgres@", f"postgresql://{role}@")


async def test_the_ingester_role_can_store_a_batch_and_cannot_drop_tables(database, db):
    store = Store(as_role(database, "ioc_ingester"))
    try:
        letter = DeadLetter("ioc/v1/x", b"{}", Reason.SCHEMA, "field 'x': test", BASE_TIME)
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
            "UPDATE event_ids SET digest = gen_random_uuid()",
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


async def test_only_the_ingester_may_create_temporary_tables(database):
    for role, allowed in (("ioc_ingester", True), ("ioc_alerter", False), ("ioc_grafana", False)):
        conn = await asyncpg.connect(as_role(database, role))
        try:
            if allowed:
                await conn.execute("CREATE TEMP TABLE staging (x int)")
            else:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.execute("CREATE TEMP TABLE staging (x int)")
        finally:
            await conn.close()
