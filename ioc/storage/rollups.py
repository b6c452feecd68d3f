"""The dashboards' rollups, kept equal to the same aggregates over the raw rows.

``ROLLUPS`` defines every rollup of the migrations (``db/migrations/0005_dashboards.sql``,
and ``0008_province_realism.sql`` which redefines the payment rollups and adds
``dossier_sectors_1h``): its event table, bucket width, grouping columns and aggregate
expressions. On TimescaleDB the same names are continuous aggregates (the ``.timescale.sql``
files, the same expressions, checked by tests/test_dashboards.py against the latest migration
that defines each); on plain PostgreSQL they are tables that ``refresh`` recomputes.

Plain PostgreSQL (``refresh_rollup_tables()`` of 0007_rollup_refresh.sql, a SECURITY DEFINER
function running the statements ``install_statements`` derives from ``ROLLUPS``):

1. A watermark per event table says up to which ``ingested_at`` every row is in the rollups.
   The new watermark is the start of the oldest transaction still writing in this database
   (a row's ``ingested_at`` is ``clock_timestamp()`` inside its transaction, so no row older
   than that can still commit), less a small margin, and never later than ``now()``.
2. The (province, hour) pairs of the rows ingested between the two watermarks are "touched"
   (a BRIN index on ``ingested_at`` finds them; late and backfilled events touch old hours).
3. Each touched hour is recomputed from the event table, for every rollup of that table,
   in one transaction with the new watermark. Recomputing whole buckets (not adding deltas)
   makes a refresh idempotent: running one twice, or over the same rows, changes nothing.

TimescaleDB (0007_rollup_refresh.timescale.sql): the refresh policies' windows cover what each
aggregate keeps and end before the bucket in progress, which real-time aggregation reads from
the raw rows. TimescaleDB records what changed below its watermark (its invalidation logs);
``refresh`` asks it, through ``request_rollup_refresh()``, to run at once the policies of the
aggregates with changes waiting, rather than at their next scheduled run.

The running ingester calls ``refresh`` every few seconds in the background
(``RollupRefresher`` of ``ioc.storage.refresher``, on its own connection, so ``Store.write``
does no extra work), as its own role, which may run those two functions and nothing else
on the rollups. ``ioc db refresh-rollups`` refreshes once (on TimescaleDB every aggregate
over its policy's window up to its bucket in progress, as their owner); ``ioc db
check-rollups`` compares every rollup with the raw rows (``compare``). One refresher works at
a time (an advisory lock); the others skip their turn.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x10C_0005
"""The advisory lock that keeps refreshers one at a time (taken in refresh_rollup_tables)."""
ORIGIN = "TIMESTAMPTZ '2000-01-01 00:00:00+00'"
"""date_bin's origin: buckets of a minute or an hour line up with TimescaleDB's time_bucket."""

SAFETY_MARGIN = timedelta(seconds=2)
"""Subtracted from the new watermark, for writers whose transactions this role cannot see."""

MINUTE_RETENTION = timedelta(days=14)
"""Minute rollups keep this much (TimescaleDB: the retention policy on the *_1m aggregates)."""

RAW_RETENTION = timedelta(days=400)
"""TimescaleDB drops raw events after this (0005's retention policy); the hourly rollups keep
their buckets beyond it, so no refresh looks further back."""


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

    @property
    def retained(self) -> timedelta:
        """How far back this rollup holds buckets (what a refresh may recompute)."""
        return self.retention or RAW_RETENTION

    def _select(self, prefix: str = "e.") -> str:
        dimensions = "".join(f", {prefix}{d}" for d in self.dimensions)
        measures = ", ".join(f"{expression} AS {column}" for column, expression in self.measures)
        return (
            f"SELECT date_bin(INTERVAL '{self.width}', {prefix}occurred_at, {ORIGIN}) AS bucket, "
            f"{prefix}province{dimensions}, {measures}"
        )

    def _groups(self) -> str:
        return ", ".join(str(i) for i in range(1, 3 + len(self.dimensions)))

    def delete_sql(self) -> str:
        """Delete the touched hours: ``$1`` provinces, ``$2`` hours (two arrays, pairwise)."""
        return (
            f"DELETE FROM {self.name} AS r USING {TOUCHED} "
            f"WHERE r.province = t.t_province "
            f"AND r.bucket >= t.t_hour AND r.bucket < t.t_hour + INTERVAL '1 hour'"
        )

    def insert_sql(self) -> str:
        """Recompute the touched hours (``$1`` provinces, ``$2`` hours) from the event table:
        one index range scan per touched hour (a LATERAL subquery). It is also the fastest
        rebuild measured: 27 s for 30 days of three provinces (2,163 touched hours), where one
        join of the touched pairs with the event table took minutes (the planner merges on the
        province and filters the time range row by row)."""
        conditions = [
            "e.province = t.t_province",
            "e.occurred_at >= t.t_hour",
            "e.occurred_at < t.t_hour + INTERVAL '1 hour'",
        ]
        if self.where:
            conditions.append(self.where)
        if self.retention:
            # buckets that start inside the retention (an hour may straddle its start)
            conditions.append(
                f"e.occurred_at >= date_bin(INTERVAL '{self.width}', "
                f"now() - INTERVAL '{_interval(self.retention)}', {ORIGIN})"
            )
        return (
            f"INSERT INTO {self.name} ({', '.join(self.columns)}) "
            f"SELECT g.* FROM {TOUCHED} CROSS JOIN LATERAL ({self._select()} "
            f"FROM {self.source} AS e WHERE "
            + " AND ".join(conditions)
            + f" GROUP BY {self._groups()}) AS g"
        )

    def prune_sql(self) -> str | None:
        """Delete the buckets past the retention (None: kept for ever)."""
        if not self.retention:
            return None
        return (
            f"DELETE FROM {self.name} WHERE province IN (SELECT code FROM provinces) "
            f"AND bucket < now() - INTERVAL '{_interval(self.retention)}'"
        )

    def compare_sql(self) -> str:
        """The rollup's rows against the same aggregate over the raw rows, for the buckets in
        [``$1``, ``$2``): (groups, groups that differ, raw total, rollup total) of the first
        measure, and which buckets differ (the first few)."""
        keys = ["bucket", "province", *self.dimensions]
        measures = [m for m, _ in self.measures]
        where = f" AND ({self.where})" if self.where else ""
        raw = (
            f"{self._select('')} FROM {self.source} "
            f"WHERE occurred_at >= $1 AND occurred_at < $2{where} GROUP BY {self._groups()}"
        )
        rolled = (
            f"SELECT {', '.join(self.columns)} FROM {self.name} "
            "WHERE bucket >= $1 AND bucket < $2"
        )
        differ = (
            f"ROW({', '.join(f'a.{m}' for m in measures)}) "
            f"IS DISTINCT FROM ROW({', '.join(f'b.{m}' for m in measures)})"
        )
        first = measures[0]
        # a grouping column may be null (a dossier without a sector): null matches null, as
        # in GROUP BY; each key is two equalities so that the full join can still hash them
        same = " AND ".join(
            f"(a.{k} IS NULL) = (b.{k} IS NULL) AND "
            f"coalesce(a.{k}::text, '') = coalesce(b.{k}::text, '')"
            for k in keys
        )
        return (
            f"WITH a AS ({raw}), b AS ({rolled}) "
            f"SELECT count(*) AS groups, count(*) FILTER (WHERE {differ}) AS differ, "
            f"coalesce(sum(a.{first}), 0) AS raw_total, "
            f"coalesce(sum(b.{first}), 0) AS rollup_total, "
            "(array_agg(DISTINCT coalesce(a.bucket, b.bucket) "
            "ORDER BY coalesce(a.bucket, b.bucket)) "
            f"FILTER (WHERE {differ}))[1:5] AS buckets "
            f"FROM a FULL JOIN b ON {same}"
        )


TOUCHED = "unnest($1::text[], $2::timestamptz[]) AS t(t_province, t_hour)"
"""The touched (province, hour) pairs a recompute is given, as two arrays."""


def touched_sql(source: str) -> str:
    """The (province, hour) pairs of the rows of ``source`` ingested in [``$1``, ``$2``)."""
    return (
        "SELECT array_agg(t_province), array_agg(t_hour) FROM ("
        f"SELECT DISTINCT province AS t_province, "
        f"date_bin(INTERVAL '1 hour', occurred_at, {ORIGIN}) AS t_hour FROM {source} "
        "WHERE ingested_at >= $1 AND ingested_at < $2) AS touched"
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


def statement_rows() -> list[tuple[int, str, str, str, str, str, str | None]]:
    """The rows of ``rollup_statements``: what refresh_rollup_tables() runs, per rollup."""
    return [
        (
            position,
            rollup.name,
            rollup.source,
            touched_sql(rollup.source),
            rollup.delete_sql(),
            rollup.insert_sql(),
            rollup.prune_sql(),
        )
        for position, rollup in enumerate(ROLLUPS, start=1)
    ]


async def install_statements(conn: asyncpg.Connection) -> None:
    """Write ``rollup_statements`` from ``ROLLUPS`` (``ioc db migrate`` does it, as the owner,
    on plain PostgreSQL), so the SECURITY DEFINER refresh runs this module's definitions."""
    async with conn.transaction():
        await conn.execute("DELETE FROM rollup_statements")
        await conn.executemany(
            "INSERT INTO rollup_statements (position, rollup, source, touched_sql, delete_sql, "
            "insert_sql, prune_sql) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            statement_rows(),
        )


@dataclass
class RefreshResult:
    """What one refresh did (``skipped``: another refresher held the lock)."""

    mode: str = "postgresql"
    skipped: bool = False
    touched_hours: dict[str, int] = field(default_factory=dict)
    """Plain PostgreSQL: the (province, hour) pairs recomputed, per event table."""
    requested: list[str] = field(default_factory=list)
    """TimescaleDB, the running refresher: the aggregates whose policy it started now."""
    windows: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """TimescaleDB, ``ioc db refresh-rollups``: the window refreshed, per aggregate."""
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.skipped:
            return "skipped: another refresher is running"
        if self.mode == "timescaledb":
            if self.windows:
                spans = sorted({(a, b) for a, b in self.windows.values()})
                described = "; ".join(
                    f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC" for a, b in spans
                )
                return (
                    f"refreshed {len(self.windows)} continuous aggregates ({described}; the "
                    f"bucket in progress is read from the raw rows) in {self.seconds:.2f} s"
                )
            asked = ", ".join(self.requested) or "none needed"
            return f"refresh policies started: {asked} ({self.seconds:.2f} s)"
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


_VISIBLE_WRITERS = """(SELECT min(a.xact_start) FROM pg_stat_activity AS a
    WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
      AND a.pid <> pg_backend_pid())"""
"""The oldest open write transaction the caller can see (the owner may not see them all)."""


async def refresh(
    conn: asyncpg.Connection, *, margin: timedelta = SAFETY_MARGIN, synchronous: bool = False
) -> RefreshResult:
    """Bring the rollups up to date (see the module docstring). Not inside a transaction.

    Plain PostgreSQL: recompute the touched hours, before returning. TimescaleDB: start the
    policies of the aggregates with changes waiting (what the running ingester does; they run
    in the background within seconds), or with ``synchronous`` refresh every aggregate over
    its policy's window up to the start of its bucket in progress before returning (``ioc db
    refresh-rollups``; this takes the aggregates' owner).
    """
    began = time.perf_counter()
    if await uses_continuous_aggregates(conn):
        result = RefreshResult(mode="timescaledb")
        if synchronous:
            result.windows = await refresh_continuous_aggregates(conn)
        else:
            result.requested = [
                r[0] for r in await conn.fetch("SELECT * FROM request_rollup_refresh()")
            ]
        result.seconds = time.perf_counter() - began
        return result
    rows = await conn.fetch(
        f"SELECT * FROM refresh_rollup_tables({_VISIBLE_WRITERS}, $1::interval)", margin
    )
    if not rows:
        return RefreshResult(skipped=True, seconds=time.perf_counter() - began)
    result = RefreshResult(touched_hours={r["source"]: r["touched_hours"] for r in rows})
    result.seconds = time.perf_counter() - began
    return result


async def policy_windows(conn: asyncpg.Connection) -> dict[str, tuple[datetime, datetime]]:
    """Each continuous aggregate's refresh window now: from its policy's start_offset back
    (what its retention keeps) to the start of its bucket in progress (never materialised:
    real-time aggregation reads it from the raw rows, so panels show the rows so far)."""
    rows = await conn.fetch(
        """SELECT c.view_name::text AS name,
                  now() - (j.config ->> 'start_offset')::interval AS window_start
           FROM timescaledb_information.continuous_aggregates AS c
           JOIN timescaledb_information.jobs AS j
             ON j.proc_name = 'policy_refresh_continuous_aggregate'
            AND j.hypertable_schema = c.view_schema AND j.hypertable_name = c.view_name"""
    )
    starts = {r["name"]: r["window_start"] for r in rows}
    now = await conn.fetchval("SELECT now()")
    windows = {}
    for rollup in ROLLUPS:
        start = starts.get(rollup.name, now - rollup.retained)
        end = await conn.fetchval(
            f"SELECT date_bin(INTERVAL '{rollup.width}', $1::timestamptz, {ORIGIN})", now
        )
        windows[rollup.name] = (start, end)
    return windows


async def refresh_continuous_aggregates(
    conn: asyncpg.Connection,
) -> dict[str, tuple[datetime, datetime]]:
    """Refresh every continuous aggregate over ``policy_windows`` (as their owner)."""
    windows = await policy_windows(conn)
    for name, (start, end) in windows.items():
        # a procedure that cannot run inside a transaction block: asyncpg's execute outside
        # one is fine
        await _while_another_refreshes(
            conn,
            "CALL refresh_continuous_aggregate($1::regclass, $2::timestamptz, $3::timestamptz)",
            name,
            start,
            end,
        )
    return windows


CONCURRENT_REFRESH_WAIT = 120.0
"""How long a refresh waits for one of the same aggregate already running (a policy's)."""


async def _while_another_refreshes(conn: asyncpg.Connection, sql: str, *args: Any) -> None:
    """Run ``sql`` (a refresh); while TimescaleDB refuses it because a refresh of the same
    aggregate is running (it does not wait, it fails), try again a little later."""
    deadline = time.monotonic() + CONCURRENT_REFRESH_WAIT
    while True:
        try:
            await conn.execute(sql, *args)
            return
        except asyncpg.LockNotAvailableError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run_jobs(conn: asyncpg.Connection, *procedures: str) -> int:
    """Run every TimescaleDB job of these procedures now, in this session, as the scheduler
    would (``policy_refresh_continuous_aggregate``, ``policy_compression``,
    ``policy_retention``; as the owner or a superuser); returns how many ran. For benchmarks
    and tests that need "after the policies' next run" without waiting for it."""
    jobs = await conn.fetch(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = ANY($1::text[]) "
        "ORDER BY job_id",
        list(procedures),
    )
    for job in jobs:
        await _while_another_refreshes(conn, "CALL run_job($1)", job["job_id"])
    return len(jobs)


async def run_refresh_policies(conn: asyncpg.Connection) -> int:
    """Run every continuous aggregate's refresh policy now (see ``run_jobs``)."""
    return await run_jobs(conn, "policy_refresh_continuous_aggregate")


async def prune(conn: asyncpg.Connection) -> None:
    """Drop minute buckets past their retention (plain PostgreSQL only)."""
    if await uses_continuous_aggregates(conn):
        return  # TimescaleDB's retention policies do it
    await conn.execute("SELECT prune_rollup_tables()")


@dataclass(frozen=True)
class Comparison:
    """One rollup against the same aggregate over the raw rows, over some buckets."""

    rollup: str
    measure: str
    start: datetime
    end: datetime
    groups: int
    differ: int
    raw_total: int
    rollup_total: int
    buckets: tuple[datetime, ...] = ()
    """The first few buckets that differ."""

    @property
    def equal(self) -> bool:
        return self.differ == 0

    def __str__(self) -> str:
        from ioc.timefmt import show

        state = "equal" if self.equal else f"{self.differ} of {self.groups} groups differ"
        first = f" (first: {show(self.buckets[0], seconds=False)})" if self.buckets else ""
        return (
            f"{self.rollup:<20} {self.measure:<10} raw {self.raw_total:>12,} "
            f"rollup {self.rollup_total:>12,}  {state}{first}"
        )


async def compare(
    conn: asyncpg.Connection, *, in_progress: bool = False, now: datetime | None = None
) -> list[Comparison]:
    """Every rollup against the same aggregate over the raw rows, in one snapshot.

    By default the complete buckets each rollup keeps (from its retention, 14 days for the
    minute rollups, 400 days for the hourly ones, to the start of its bucket in progress);
    ``in_progress``: the bucket in progress only, against the raw rows so far.
    """
    out = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        moment = now or await conn.fetchval("SELECT now()")
        for rollup in ROLLUPS:
            current = await conn.fetchval(
                f"SELECT date_bin(INTERVAL '{rollup.width}', $1::timestamptz, {ORIGIN})", moment
            )
            if in_progress:
                start, end = current, current + _width(rollup)
            else:
                # from the first bucket wholly inside the retention
                start = await conn.fetchval(
                    f"SELECT date_bin(INTERVAL '{rollup.width}', $1::timestamptz, {ORIGIN}) "
                    f"+ INTERVAL '{rollup.width}'",
                    moment - rollup.retained,
                )
                end = current
            row = await conn.fetchrow(rollup.compare_sql(), start, end)
            out.append(
                Comparison(
                    rollup.name,
                    rollup.measures[0][0],
                    start,
                    end,
                    row["groups"],
                    row["differ"],
                    int(row["raw_total"]),
                    int(row["rollup_total"]),
                    tuple(row["buckets"] or ()),
                )
            )
    return out


def _width(rollup: Rollup) -> timedelta:
    return timedelta(minutes=1) if rollup.width == "1 minute" else timedelta(hours=1)
