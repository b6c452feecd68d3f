"""Database connections and versioned migrations (``ioc db migrate``).

Migrations are the files ``db/migrations/NNNN_name.sql``, applied in order, each in its own
transaction, and recorded in ``schema_migrations`` with a checksum; applying them again does
nothing. A file ``NNNN_name.timescale.sql`` beside them holds the TimescaleDB-only part of a
step (continuous aggregates, compression and retention policies); it is applied only on a
database migrated with TimescaleDB, statement by statement, since some of those statements
cannot run inside a transaction block.

Whether a database is migrated with TimescaleDB is decided once, when its first migration is
applied (``IOC_TIMESCALEDB``, see ``choose_timescaledb``), and kept in ``schema_migrations``:
later runs follow the database, whatever the server offers by then.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncpg

from ioc.connect import PRELOAD_HINT, PRELOADED_SQL, connect_database
from ioc.errors import TimescaleDBRefused
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


TimescaleMode = Literal["auto", "on", "off"]


async def has_timescaledb(conn: asyncpg.Connection) -> bool:
    """True when the extension is created in this database."""
    return bool(
        await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'")
    )


@dataclass(frozen=True)
class ServerOffer:
    """What the server and the database say about TimescaleDB."""

    installed: bool
    """The extension's files are on the server (pg_available_extensions)."""
    preloaded: bool
    """The server was started with the library in shared_preload_libraries."""
    created: bool
    """CREATE EXTENSION was done in this database."""
    migrated_with: bool | None
    """How the database was migrated (schema_migrations.timescale), None when it is new."""


async def _server_offer(conn: asyncpg.Connection) -> ServerOffer:
    row = await conn.fetchrow(
        f"""SELECT
               EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'),
               {PRELOADED_SQL},
               EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'),
               to_regclass('schema_migrations') IS NOT NULL"""
    )
    migrated_with = None
    if row[3]:
        migrated_with = await conn.fetchval("SELECT bool_or(timescale) FROM schema_migrations")
    return ServerOffer(row[0], row[1], row[2], migrated_with)


def choose_timescaledb(mode: TimescaleMode, offer: ServerOffer) -> tuple[bool, str | None]:
    """(migrate with TimescaleDB?, a note for the user), or ``TimescaleDBRefused`` in one line.

    - ``auto``: with TimescaleDB when the extension can be created (installed and preloaded);
      plain PostgreSQL otherwise, with a note when it is installed but not preloaded;
    - ``on``: with TimescaleDB, or refuse;
    - ``off``: plain PostgreSQL even where TimescaleDB is available.

    A database already migrated stays as it was migrated: ``auto`` follows it (a plain one is
    not converted when TimescaleDB appears later), ``on``/``off`` against it are refused.
    """
    if offer.migrated_with is True or (offer.migrated_with is None and offer.created):
        if mode == "off":
            what = "was migrated with" if offer.migrated_with else "already has the extension of"
            raise TimescaleDBRefused(
                f"this database {what} TimescaleDB (hypertables, continuous aggregates); "
                "IOC_TIMESCALEDB=off cannot undo that: use auto, or migrate a new database"
            )
        if not offer.preloaded:
            raise TimescaleDBRefused(
                "this database uses TimescaleDB but the server does not preload it: " + PRELOAD_HINT
            )
        return True, None
    if offer.migrated_with is False:
        if mode == "on":
            raise TimescaleDBRefused(
                "this database was migrated for plain PostgreSQL; IOC_TIMESCALEDB=on cannot "
                "convert it: use auto (it stays plain), or migrate a new database"
            )
        return False, None
    if mode == "off":
        return False, None
    if offer.installed and offer.preloaded:
        return True, None
    if mode == "on":
        if offer.installed:
            raise TimescaleDBRefused(
                "IOC_TIMESCALEDB=on, but this server does not preload timescaledb: "
                f"{PRELOAD_HINT}, or set IOC_TIMESCALEDB=off"
            )
        raise TimescaleDBRefused(
            "IOC_TIMESCALEDB=on, but the timescaledb extension is not installed on this "
            "server: install it (and preload it), or set IOC_TIMESCALEDB=off"
        )
    if offer.installed:
        return False, (
            "timescaledb is installed on this server but not preloaded, so this database is "
            f"migrated for plain PostgreSQL; to use TimescaleDB {PRELOAD_HINT} and migrate a "
            "new database (IOC_TIMESCALEDB=off silences this note)"
        )
    return False, None


@dataclass
class MigrateResult:
    applied: list[str] = field(default_factory=list)
    """The migrations applied by this run (``NNNN_name``)."""
    timescaledb: bool = False
    """The database is migrated with TimescaleDB."""
    version: str = ""
    """The server's version, and TimescaleDB's when used."""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        done = f"applied: {', '.join(self.applied)}" if self.applied else "schema is up to date"
        return f"{done} ({self.version})"


async def _create_extension(conn: asyncpg.Connection, mode: TimescaleMode) -> str | None:
    """CREATE EXTENSION timescaledb; None, a note (auto) or a refusal (on) when refused."""
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except asyncpg.InsufficientPrivilegeError as exc:
        problem = (
            f"cannot create the timescaledb extension ({exc}): a superuser must run "
            "CREATE EXTENSION timescaledb in this database first"
        )
        if mode == "on":
            raise TimescaleDBRefused(problem) from exc
        return problem + "; migrated for plain PostgreSQL (IOC_TIMESCALEDB=off silences this)"
    return None


DEADLOCK_RETRIES = 5


async def _retry_deadlock(step: Callable[..., Awaitable[object]], *args: object) -> None:
    """Run one migration step (a transaction or a single statement) again if PostgreSQL
    chose it as a deadlock's victim. On TimescaleDB the background jobs that earlier
    migrations scheduled (refresh, compression, retention policies) start at once and lock
    the same tables that a later migration alters; either side may be the victim, and the
    step, rolled back whole, is safe to run again."""
    for attempt in range(1, DEADLOCK_RETRIES + 1):
        try:
            await step(*args)
            return
        except asyncpg.DeadlockDetectedError:
            if attempt == DEADLOCK_RETRIES:
                raise
            log.info("migration step met a background job (deadlock); running it again")
            await asyncio.sleep(0.2 * attempt)


async def _apply(conn: asyncpg.Connection, migration: Migration, timescale: bool) -> None:
    """The plain-SQL part of ``migration`` and its record, in one transaction."""
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


async def migrate(
    dsn: str, directory: Path = MIGRATIONS_DIR, *, timescaledb: TimescaleMode = "auto"
) -> MigrateResult:
    """Apply the migrations that are not applied yet (see the module docstring)."""
    conn = await connect_database(dsn)
    result = MigrateResult()
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        # decided before CREATE EXTENSION: on a server that does not preload the library,
        # CREATE EXTENSION ends the connection (FATAL) instead of failing the statement
        timescale, note = choose_timescaledb(timescaledb, await _server_offer(conn))
        if timescale and not await has_timescaledb(conn):
            note = await _create_extension(conn, timescaledb)
            timescale = note is None
        if note:
            result.notes.append(note)
        result.timescaledb = timescale
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
            await _retry_deadlock(_apply, conn, migration, timescale)
            if timescale and migration.timescale_sql:
                for statement in split_statements(migration.timescale_sql):
                    await _retry_deadlock(conn.execute, statement)
            result.applied.append(f"{migration.version:04d}_{migration.name}")
        await load_reference_data(conn)
        if not timescale:
            from ioc.rollups import install_statements

            await install_statements(conn)
        await set_role_passwords(conn)
        result.version = await _describe_server(conn, timescale)
    finally:
        try:
            await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
        finally:
            await conn.close()
    return result


async def _describe_server(conn: asyncpg.Connection, timescale: bool) -> str:
    version = (await conn.fetchval("SHOW server_version")).split()[0]
    if not timescale:
        return f"plain PostgreSQL {version}"
    extension = await conn.fetchval(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    )
    return f"TimescaleDB {extension} on PostgreSQL {version}"


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
