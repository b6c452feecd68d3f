"""The dashboards' rollups on plain PostgreSQL, kept current like continuous aggregates.

``ROLLUPS`` defines every rollup of the migrations (``db/migrations/0005_dashboards.sql``,
and ``0008_province_realism.sql`` which redefines the payment rollups and adds
``dossier_sectors_1h``): its event table, bucket width, grouping columns and aggregate
expressions. On TimescaleDB the same names are continuous aggregates (the ``.timescale.sql``
files, the same expressions, checked by tests/test_dashboards.py against the latest migration
that defines each) and TimescaleDB refreshes them itself; here ``refresh`` does it:

1. A watermark per event table says up to which ``ingested_at`` every row is in the rollups.
   The new watermark is the start of the oldest transaction still writing in this database
   (a row's ``ingested_at`` is ``clock_timestamp()`` inside its transaction, so no row older
   than that can still commit), less a small margin, and never later than ``now()``.
2. The (province, hour) pairs of the rows ingested between the two watermarks are "touched"
   (a BRIN index on ``ingested_at`` finds them; late and backfilled events touch old hours).
3. Each touched hour is recomputed from the event table, for every rollup of that table,
   in one transaction with the new watermark. Recomputing whole buckets (not adding deltas)
   makes a refresh idempotent: running one twice, or over the same rows, changes nothing.

The running ingester calls it every few seconds in the background (``RollupRefresher``, on
its own connection, so ``Store.write`` does no extra work); ``ioc db refresh-rollups`` runs it
once (on TimescaleDB it calls ``refresh_continuous_aggregate`` instead, after a backfill).
One refresher works at a time (an advisory lock); the others skip their turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg

from ioc.store import Store

log = logging.getLogger(__name__)

_LOCK_KEY = 0x10C_0005  # advisory lock: one refresher at a time
ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
"""date_bin's origin: buckets of a minute or an hour line up with TimescaleDB's time_bucket."""

SAFETY_MARGIN = timedelta(seconds=2)
"""Subtracted from the new watermark, for writers whose transactions this role cannot see."""

PER_HOUR_LIMIT = 48
"""Up to this many touched (province, hour) pairs, recompute them one index scan each."""

MINUTE_RETENTION = timedelta(days=14)
"""Minute rollups keep this much (TimescaleDB: the retention policy on the *_1m aggregates)."""


def _count(condition: str) -> str:
    # A plain CASE rather than FILTER: the same expression must be valid in a continuous
    # aggregate, where every function has to be immutable.
    return f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"


EVENTS = ("events", "count(*)")
RESOLVED_EARLY = (
    "resolved_early",
    _count("status = 'resolved' AND due_at - occurred_at >= INTERVAL '1 day'"),
)
RESOLVED_ON_TIME = (
    "resolved_on_time",
    _count(
        "status = 'resolved' AND occurred_at <= due_at AND due_at - occurred_at < INTERVAL '1 day'"
    ),
)
DOSSIER_OUTCOMES = (
    ("received", _count("status = 'received'")),
    RESOLVED_EARLY,
    RESOLVED_ON_TIME,
    ("resolved_late", _count("status = 'resolved' AND occurred_at > due_at")),
    ("rejected", _count("status = 'rejected'")),
)
SUCCEEDED = ("succeeded", _count("status = 'success'"))
FAILED = ("failed", _count("status = 'failed'"))
AMOUNT = ("amount_vnd", "sum(CASE WHEN status = 'success' THEN amount_vnd ELSE 0 END)")
SETTLED = ("payments", _count("status IN ('success', 'failed')"))
"""Payment transactions, each counted once, by its outcome event: a pending transaction is
counted when it settles (its ``pending`` event is a flow of its own), a refund is not a
payment."""
REFUNDED = ("refunded", _count("status = 'refunded'"))


@dataclass(frozen=True)
class Rollup:
    """One rollup: ``bucket``, ``province``, ``dimensions``, then ``measures``."""

    name: str
    source: str
    width: str
    """``'1 minute'`` or ``'1 hour'``."""
    dimensions: tuple[str, ...]
    measures: tuple[tuple[str, str], ...]
    """(column, aggregate expression over the event table's columns)."""
    where: str | None = None
    retention: timedelta | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        return ("bucket", "province", *self.dimensions, *(m for m, _ in self.measures))

    def delete_sql(self) -> str:
        return (
            f"DELETE FROM {self.name} AS r USING rollup_touched AS t "
            f"WHERE r.province = t.t_province "
            f"AND r.bucket >= t.t_hour AND r.bucket < t.t_hour + INTERVAL '1 hour'"
        )

    def insert_sql(self, *, per_hour: bool = True) -> str:
        """Recompute the touched hours from the event table.

        ``per_hour``: one index range scan per touched hour (a LATERAL subquery), for the few
        hours a live refresh touches; otherwise one join over the event table, for a rebuild
        (the planner would hash-join the whole table for a handful of hours, too).
        """
        dimensions = "".join(f", e.{d}" for d in self.dimensions)
        measures = ", ".join(expression for _, expression in self.measures)
        conditions = [
            "e.province = t.t_province",
            "e.occurred_at >= t.t_hour",
            "e.occurred_at < t.t_hour + INTERVAL '1 hour'",
        ]
        if self.where:
            conditions.append(self.where)
        touched = []
        if self.retention:
            touched.append(f"t.t_hour >= now() - INTERVAL '{_interval(self.retention)}'")
        groups = ", ".join(str(i) for i in range(1, 3 + len(self.dimensions)))
        select = (
            f"SELECT date_bin(INTERVAL '{self.width}', e.occurred_at, {ORIGIN}), "
            f"e.province{dimensions}, {measures}"
        )
        head = f"INSERT INTO {self.name} ({', '.join(self.columns)}) "
        if per_hour:
            return (
                head
                + f"SELECT g.* FROM rollup_touched AS t CROSS JOIN LATERAL ({select} "
                + f"FROM {self.source} AS e WHERE "
                + " AND ".join(conditions)
                + f" GROUP BY {groups}) AS g"
                + (f" WHERE {' AND '.join(touched)}" if touched else "")
            )
        return (
            head
            + f"{select} FROM rollup_touched AS t JOIN {self.source} AS e ON "
            + " AND ".join(conditions + touched)
            + f" GROUP BY {groups}"
        )


def _interval(value: timedelta) -> str:
    return f"{int(value.total_seconds())} seconds"


ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "dossier_events_1m",
        "dossier_events",
        "1 minute",
        ("district",),
        (
            EVENTS,
            ("received", _count("status = 'received'")),
            ("finished", _count("status IN ('resolved', 'rejected')")),
        ),
        retention=MINUTE_RETENTION,
    ),
    Rollup(
        "payment_events_1m",
        "payment_events",
        "1 minute",
        ("district",),
        (EVENTS, SUCCEEDED, FAILED, AMOUNT),
        retention=MINUTE_RETENTION,
    ),
    Rollup(
        "incident_events_1m",
        "incident_events",
        "1 minute",
        ("district",),
        (EVENTS, ("received", _count("status = 'received'"))),
        retention=MINUTE_RETENTION,
    ),
    Rollup(
        "dossier_events_1h",
        "dossier_events",
        "1 hour",
        ("district", "agency_level", "channel"),
        (EVENTS, ("submitted", _count("status = 'submitted'")), *DOSSIER_OUTCOMES),
    ),
    Rollup(
        "dossier_agencies_1h",
        "dossier_events",
        "1 hour",
        ("district", "agency_code", "agency_name", "agency_level"),
        DOSSIER_OUTCOMES,
    ),
    Rollup(
        "dossier_sectors_1h",
        "dossier_events",
        "1 hour",
        ("district", "sector", "agency_level"),
        DOSSIER_OUTCOMES,
    ),
    Rollup(
        "payment_sectors_1h",
        "payment_events",
        "1 hour",
        ("district", "sector", "channel"),
        (
            SETTLED,
            SUCCEEDED,
            FAILED,
            ("cashless", _count("status = 'success' AND method <> 'cash'")),
            AMOUNT,
            REFUNDED,
            ("refunded_vnd", "sum(CASE WHEN status = 'refunded' THEN amount_vnd ELSE 0 END)"),
        ),
    ),
    Rollup(
        "payment_methods_1h",
        "payment_events",
        "1 hour",
        ("district", "method", "channel"),
        (SETTLED, SUCCEEDED, FAILED, AMOUNT),
    ),
    Rollup(
        "payment_gateways_1h",
        "payment_events",
        "1 hour",
        ("district", "gateway"),
        (
            SETTLED,
            SUCCEEDED,
            FAILED,
            ("pending", _count("status = 'pending'")),
            REFUNDED,
            # latency is null for cash and for a settlement notified later: not waited for
            ("latency_ms_sum", "sum(latency_ms)"),
            ("latency_ms_count", "count(latency_ms)"),
            ("latency_ms_max", "max(latency_ms)"),
            ("slow", _count("latency_ms > 3000")),
        ),
    ),
    Rollup(
        "payment_failures_1h",
        "payment_events",
        "1 hour",
        ("district", "gateway", "method", "error_code"),
        (("failures", "count(*)"),),
        where="status = 'failed'",
    ),
    Rollup(
        "incident_events_1h",
        "incident_events",
        "1 hour",
        ("district", "category", "channel"),
        (
            EVENTS,
            ("received", _count("status = 'received'")),
            ("resolved", _count("status = 'resolved'")),
            ("resolved_on_time", _count("status = 'resolved' AND occurred_at <= due_at")),
            ("resolved_late", _count("status = 'resolved' AND occurred_at > due_at")),
            ("rejected", _count("status = 'rejected'")),
            ("satisfaction_sum", "sum(satisfaction)"),
            ("satisfaction_count", "count(satisfaction)"),
        ),
    ),
)

SOURCES: tuple[str, ...] = tuple(dict.fromkeys(r.source for r in ROLLUPS))


@dataclass
class RefreshResult:
    """What one refresh did (``skipped``: another refresher held the lock)."""

    mode: str = "postgresql"
    skipped: bool = False
    touched_hours: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another refresher is running"
        if self.mode == "timescaledb":
            return f"refreshed the continuous aggregates in {self.seconds:.2f} s"
        hours = ", ".join(f"{s} {n} h" for s, n in self.touched_hours.items())
        return f"recomputed {hours or 'nothing'} in {self.seconds:.2f} s"


async def uses_continuous_aggregates(conn: asyncpg.Connection) -> bool:
    """True when the rollups are TimescaleDB's views rather than this module's tables."""
    kind = await conn.fetchval(
        "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", ROLLUPS[0].name
    )
    if kind is None:
        raise LookupError("the rollups do not exist: run `ioc db migrate`")
    return kind != "r"


async def refresh(
    conn: asyncpg.Connection, *, margin: timedelta = SAFETY_MARGIN, timescale_full: bool = False
) -> RefreshResult:
    """Bring the rollups up to date (see the module docstring). Not inside a transaction."""
    began = time.perf_counter()
    if await uses_continuous_aggregates(conn):
        result = RefreshResult(mode="timescaledb")
        if timescale_full:
            for rollup in ROLLUPS:
                start = "NULL"
                if rollup.retention:
                    start = f"now() - INTERVAL '{_interval(rollup.retention)}'"
                # a procedure that cannot run inside a transaction block: asyncpg's
                # execute outside one is fine
                await conn.execute(
                    f"CALL refresh_continuous_aggregate('{rollup.name}', {start}, NULL)"
                )
        result.seconds = time.perf_counter() - began
        return result
    if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", _LOCK_KEY):
        return RefreshResult(skipped=True)
    try:
        result = await _refresh_tables(conn, margin)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    result.seconds = time.perf_counter() - began
    return result


async def _refresh_tables(conn: asyncpg.Connection, margin: timedelta) -> RefreshResult:
    # Read the writers' transactions first, in its own statement: a transaction that commits
    # after this read and before the snapshot below is then visible to the recompute, and one
    # that starts after it has ingested_at later than the new watermark.
    mark = await conn.fetchval(
        """SELECT least(now() - $1::interval, min(a.xact_start))
           FROM pg_stat_activity AS a
           WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
             AND a.pid <> pg_backend_pid()""",
        margin,
    )
    result = RefreshResult()
    async with conn.transaction():
        marks = {
            r["source"]: r["ingested_until"]
            for r in await conn.fetch("SELECT source, ingested_until FROM rollup_watermarks")
        }
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS rollup_touched "
            "(t_province text NOT NULL, t_hour timestamptz NOT NULL) ON COMMIT DELETE ROWS"
        )
        for source in SOURCES:
            since = marks.get(source)
            await conn.execute("TRUNCATE rollup_touched")
            status = await conn.execute(
                f"""INSERT INTO rollup_touched (t_province, t_hour)
                    SELECT DISTINCT province, date_bin(INTERVAL '1 hour', occurred_at, {ORIGIN})
                    FROM {source}
                    WHERE ingested_at >= coalesce($1, '-infinity'::timestamptz)
                      AND ingested_at < $2""",
                since,
                mark,
            )
            touched = int(status.rsplit(" ", 1)[-1])
            result.touched_hours[source] = touched
            if touched:
                await conn.execute("ANALYZE rollup_touched")
                per_hour = touched <= PER_HOUR_LIMIT
                for rollup in ROLLUPS:
                    if rollup.source == source:
                        await conn.execute(rollup.delete_sql())
                        await conn.execute(rollup.insert_sql(per_hour=per_hour))
            await conn.execute(
                """INSERT INTO rollup_watermarks (source, ingested_until, refreshed_at)
                   VALUES ($1, $2, now())
                   ON CONFLICT (source) DO UPDATE
                   SET ingested_until = EXCLUDED.ingested_until, refreshed_at = now()""",
                source,
                mark,
            )
    return result


async def prune(conn: asyncpg.Connection) -> None:
    """Drop minute buckets past their retention (plain PostgreSQL only)."""
    if await uses_continuous_aggregates(conn):
        return  # TimescaleDB's retention policies do it
    for rollup in ROLLUPS:
        if rollup.retention:
            await conn.execute(
                f"DELETE FROM {rollup.name} WHERE province IN (SELECT code FROM provinces) "
                f"AND bucket < now() - $1::interval",
                rollup.retention,
            )


class RollupRefresher:
    """Refreshes the rollups every ``interval`` seconds while the ingester runs.

    Its own connection, its own task: ``Store.write`` is untouched. A failure is logged when
    it changes (not on every retry) and never stops the ingester; on TimescaleDB it stops at
    once, since TimescaleDB's policies keep the continuous aggregates current.
    """

    def __init__(
        self,
        dsn: str | None,
        *,
        interval: float = 10.0,
        prune_every: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn = dsn
        self.interval = interval
        self.prune_every = prune_every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._last_error: str | None = None
        self.refreshes = 0

    @classmethod
    def for_store(cls, store: Store, **kwargs: Any) -> RollupRefresher:
        """A refresher on the database a ``Store`` writes to."""
        return cls(store.dsn, **kwargs)

    async def __aenter__(self) -> RollupRefresher:
        if self._dsn:
            self._task = asyncio.create_task(self._run(), name="rollup-refresher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        conn: asyncpg.Connection | None = None
        last_prune = float("-inf")
        try:
            while True:
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self._dsn, timeout=5)
                    if await uses_continuous_aggregates(conn):
                        log.info("rollups are continuous aggregates: TimescaleDB refreshes them")
                        return
                    result = await refresh(conn)
                    self.refreshes += 1
                    if self._clock() - last_prune >= self.prune_every:
                        await prune(conn)
                        last_prune = self._clock()
                    log.debug("rollups refreshed", extra={"detail": str(result)})
                    self._report(None)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database restart, a missing migration: retry
                    self._report(f"{type(exc).__name__}: {exc}")
                    if conn is not None:
                        conn.terminate()
                        conn = None
                await asyncio.sleep(self.interval)
        finally:
            if conn is not None:
                conn.terminate()

    def _report(self, error: str | None) -> None:
        if error == self._last_error:
            return
        if error is None:
            log.info("rollup refresh works again")
        else:
            log.warning("rollup refresh failed, retrying", extra={"error": error})
        self._last_error = error


# --------------------------------------------------------------------------------------------
# ``ioc db refresh-rollups`` (registered in ioc/cli.py)
# --------------------------------------------------------------------------------------------


def _refresh_command() -> Any:
    import click

    @click.command("refresh-rollups")
    @click.option("--database-url", envvar="IOC_DATABASE_URL", help="Default: $IOC_DATABASE_URL.")
    def refresh_rollups(database_url: str | None) -> None:
        """Bring the dashboards' rollups up to date now (after a backfill, for example).

        Plain PostgreSQL: recompute the hours touched since the last refresh (the running
        ingester does the same every 10 seconds). TimescaleDB: refresh every continuous
        aggregate over its whole range (the policies only look back 1 to 7 days).
        """
        from ioc.cli import _require_database, load_settings

        dsn = _require_database(load_settings(database_url=database_url))

        async def run() -> RefreshResult:
            conn = await asyncpg.connect(dsn)
            try:
                result = await refresh(conn, margin=timedelta(0), timescale_full=True)
                await prune(conn)
                return result
            finally:
                await conn.close()

        click.echo(asyncio.run(run()))

    return refresh_rollups


refresh_rollups_command = _refresh_command()
