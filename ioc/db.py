"""Database connections and versioned migrations (``ioc db migrate``).

Migrations are the files ``db/migrations/NNNN_name.sql``, applied in order, each in its own
transaction, and recorded in ``schema_migrations`` with a checksum; applying them again does
nothing. A file ``NNNN_name.timescale.sql`` beside them holds the TimescaleDB-only part of a
step (continuous aggregates, compression and retention policies); it is applied only when the
timescaledb extension is available, statement by statement, since some of those statements
cannot run inside a transaction block.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from ioc.geo import PROVINCES
from ioc.names import display_name_rows
from ioc.targets import target_rows

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(
    os.environ.get("IOC_MIGRATIONS_DIR", Path(__file__).parent.parent / "db" / "migrations")
)
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x10C_0001  # advisory lock: one migrator at a time


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    timescale_sql: str | None

    @property
    def checksum(self) -> str:
        return hashlib.sha256((self.sql + (self.timescale_sql or "")).encode()).hexdigest()[:16]


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            continue
        timescale = path.with_name(path.stem + ".timescale.sql")
        migrations.append(
            Migration(
                int(match.group(1)),
                match.group(2),
                path.read_text(encoding="utf-8"),
                timescale.read_text(encoding="utf-8") if timescale.exists() else None,
            )
        )
    versions = [m.version for m in migrations]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a version number in {directory}")
    return migrations


def split_statements(sql: str) -> list[str]:
    """Split SQL on top-level semicolons, keeping $$-quoted bodies and comments intact."""
    statements, current, in_dollar = [], [], False
    for line in sql.splitlines():
        if line.count("$$") % 2:
            in_dollar = not in_dollar
        current.append(line)
        if not in_dollar and line.rstrip().endswith(";"):
            text = "\n".join(current).strip()
            if any(not ln.strip().startswith("--") and ln.strip() for ln in current):
                statements.append(text)
            current = []
    rest = "\n".join(current).strip()
    if rest and any(not ln.strip().startswith("--") and ln.strip() for ln in current):
        statements.append(rest)
    return statements


async def has_timescaledb(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
    )


async def _enable_timescaledb(conn: asyncpg.Connection) -> bool:
    available = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    )
    if available:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    return await has_timescaledb(conn)


async def migrate(dsn: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations that are not applied yet; return the names applied."""
    conn = await asyncpg.connect(dsn)
    applied_now: list[str] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        timescale = await _enable_timescaledb(conn)
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   timescale boolean NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r for r in await conn.fetch("SELECT * FROM schema_migrations")}
        for migration in load_migrations(directory):
            if migration.version in done:
                if done[migration.version]["checksum"] != migration.checksum:
                    log.warning(
                        "migration changed after it was applied",
                        extra={"migration": migration.name, "version": migration.version},
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, timescale) "
                    "VALUES ($1, $2, $3, $4)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                    timescale,
                )
            if timescale and migration.timescale_sql:
                for statement in split_statements(migration.timescale_sql):
                    await conn.execute(statement)
            applied_now.append(f"{migration.version:04d}_{migration.name}")
        await load_reference_data(conn)
        await set_role_passwords(conn)
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        finally:
            await conn.close()
    return applied_now


ROLE_PASSWORD_VARIABLES = {
    "ioc_ingester": "IOC_DB_INGESTER_PASSWORD",
    "ioc_alerter": "IOC_DB_ALERTER_PASSWORD",
    "ioc_grafana": "IOC_DB_GRAFANA_PASSWORD",
}


async def set_role_passwords(conn: asyncpg.Connection) -> list[str]:
    """Give the service roles the passwords found in the environment (none: unchanged)."""
    changed = []
    for role, variable in ROLE_PASSWORD_VARIABLES.items():
        password = os.environ.get(variable)
        if password:
            # ALTER ROLE takes no bind parameters: quote with format(%I, %L) server-side.
            statement = await conn.fetchval(
                "SELECT format('ALTER ROLE %I PASSWORD %L', $1::text, $2::text)", role, password
            )
            await conn.execute(statement)
            changed.append(role)
    return changed


async def load_reference_data(conn: asyncpg.Connection) -> None:
    """Upsert provinces and districts from ``ioc.geo``, display names from ``ioc.names`` and
    each province's targets from ``ioc.targets`` (what dashboards show and judge by)."""
    async with conn.transaction():
        await conn.executemany(
            """INSERT INTO provinces (code, name, name_vi, population, latitude, longitude)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_vi = EXCLUDED.name_vi,
                   population = EXCLUDED.population, latitude = EXCLUDED.latitude,
                   longitude = EXCLUDED.longitude""",
            [
                (p.code, p.name, p.name_vi, p.population, p.latitude, p.longitude)
                for p in PROVINCES.values()
            ],
        )
        await conn.executemany(
            """INSERT INTO districts
                   (province, code, name, name_vi, population, latitude, longitude)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (province, code) DO UPDATE SET name = EXCLUDED.name,
                   name_vi = EXCLUDED.name_vi, population = EXCLUDED.population,
                   latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude""",
            [
                (p.code, d.code, d.name, d.name_vi, d.population, d.latitude, d.longitude)
                for p in PROVINCES.values()
                for d in p.districts
            ],
        )
        tables = {
            "display_names": (("kind", "code", "name_vi", "name_en", "position"),
                              display_name_rows()),
            "province_targets": (("province", "kpi", "target", "published", "source"),
                                 target_rows()),
        }
        for table, (columns, rows) in tables.items():
            if await conn.fetchval("SELECT to_regclass($1) IS NULL", table):
                continue  # a migration set before 0008 (IOC_MIGRATIONS_DIR)
            await conn.execute(f"DELETE FROM {table}")
            await conn.copy_records_to_table(table, records=rows, columns=columns)
