"""Every dashboard query runs on the real schema, filled by the simulators, as Grafana would.

One database per module: the migrations, three simulated days of the three provinces up to a
weekday afternoon (``Store.write`` in batches), the rollups refreshed. Each panel's SQL is
expanded with Grafana's macros and template variables (``ioc.tools.panelbench``), then run as the
read-only role ``ioc_grafana`` for every province with all districts, one district and two,
and must return the columns its panel type needs, and rows for the whole province.

The two alert queries (the table of alerts_firing and the annotations from alert_events) are
skipped, saying so, only when 0004_alerts.sql is not there; when it is, a firing alert and its
events are written so that they return rows too.

Also here: the late-rate formula on hand-built dossiers, the rollup refresher (idempotent,
incremental, late events, the ingester's role), and the macro expander itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from ioc.domain.calendar import is_working_day
from ioc.ingest.store import Store
from ioc.models import VN_TZ, AgencyLevel, DossierChannel, DossierStatus, PaymentStatus
from ioc.storage import rollups
from ioc.storage.refresher import RollupRefresher
from ioc.storage.rollups import ROLLUPS, compare, refresh
from ioc.tools.panelbench import (
    PanelQuery,
    district_codes,
    expand,
    expand_macros,
    fill,
    format_interval,
    grafana_interval,
    interpolate,
    load_dashboards,
    panel_queries,
)
from simulators.profiles import PROFILES
from tests.backends import TEMPLATE
from tests.conftest import wait_until
from tests.factories import dossier, incident, payment
from tests.test_roles import as_role

PROVINCES = sorted(PROFILES)
QUERIES = panel_queries(load_dashboards())
ALERT_OBJECTS = ("alerts_firing", "alert_events")
NUMERIC = {"int2", "int4", "int8", "numeric", "float4", "float8"}
TIME = {"timestamptz", "timestamp"}
TEXT = {"text", "varchar", "name"}


def normal_afternoon(now: datetime) -> datetime:
    """The latest working day's 15:00 (Vietnam) before ``now`` whose day before is a working
    day too (no weekend, no holiday), so every flow of the last 24 hours has data."""
    local = now.astimezone(VN_TZ).replace(hour=15, minute=0, second=0, microsecond=0)
    while local > now or not (
        is_working_day(local.date()) and is_working_day(local.date() - timedelta(days=1))
    ):
        local -= timedelta(days=1)
    return local.astimezone(UTC)


NOW = normal_afternoon(datetime.now(UTC))


@pytest.fixture(scope="module")
async def panels_db(postgres) -> AsyncIterator[dict[str, Any]]:
    """A migrated database with three simulated days up to NOW, rollups refreshed (and, on
    TimescaleDB, every refresh policy run once after that)."""
    name = f"panels_{os.getpid()}"
    dsn = postgres.create_database(name, template=TEMPLATE)
    stored = await asyncio.to_thread(fill, dsn, days=3, scale=0.12, end=NOW, seed=5, parallel=False)
    conn = await asyncpg.connect(dsn)
    try:
        alerts = bool(await conn.fetchval("SELECT to_regclass('alerts_firing') IS NOT NULL"))
        alert_rows = alerts and await _write_alerts(conn)
        await refresh(conn, margin=timedelta(0), synchronous=True)
        if await rollups.uses_continuous_aggregates(conn):
            # what the scheduler does next: the history must survive the policies' runs
            await rollups.run_refresh_policies(conn)
        districts = {p: await district_codes(conn, p) for p in PROVINCES}
    finally:
        await conn.close()
    yield {
        "dsn": dsn,
        "stored": stored,
        "alerts": alerts,
        "alert_rows": alert_rows,
        "districts": districts,
    }
    postgres.drop_database(name)


_FILLERS = {
    "text": "x",
    "jsonb": "{}",
    "json": "{}",
    "boolean": False,
    "integer": 0,
    "bigint": 0,
    "double precision": 0.0,
    "numeric": 0,
    "uuid": None,
}


async def _insert(conn: asyncpg.Connection, table: str, values: dict[str, Any]) -> None:
    """Insert ``values``; other required columns (the alerting schema is still growing) get a
    plain value of their type."""
    required = await conn.fetch(
        """SELECT column_name, data_type FROM information_schema.columns
           WHERE table_name = $1 AND is_nullable = 'NO' AND column_default IS NULL""",
        table,
    )
    row = dict(values)
    for column in required:
        if column["column_name"] not in row:
            if column["data_type"].startswith("timestamp"):
                row[column["column_name"]] = NOW
            else:
                row[column["column_name"]] = _FILLERS.get(column["data_type"], "x")
    names = list(row)
    casts = {k: "::jsonb" for k in names if k == "labels"}
    await conn.execute(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ("
        + ", ".join(f"${i}{casts.get(n, '')}" for i, n in enumerate(names, start=1))
        + ")",
        *row.values(),
    )


async def _write_alerts(conn: asyncpg.Connection) -> bool:
    """A firing alert in each province and its transitions, as the alerter writes them;
    False when the alerting schema refuses these rows (then no rows are required)."""
    try:
        async with conn.transaction():
            for province in PROVINCES:
                district = PROFILES[province].province.districts[0].code
                since = NOW - timedelta(hours=2)
                common = {
                    "rule": "payment_success_rate",
                    "fingerprint": f"fp-{province}",
                    "labels": "{}",
                    "province": province,
                    "district": district,
                    "severity": "critical",
                    "threshold": 0.95,
                    "summary": "Tỷ lệ thanh toán thành công thấp",
                    "summary_en": "Low payment success rate",
                }
                await _insert(
                    conn,
                    "alert_states",
                    {
                        **common,
                        "state": "firing",
                        "reason": "condition met for 10m",
                        "op": "<",
                        "active_since": since,
                        "firing_since": since,
                        "last_value": 0.82,
                        "last_evaluated": NOW,
                    },
                )
                for state_from, state_to, at in (
                    ("pending", "firing", since - timedelta(hours=6)),
                    ("firing", "resolved", since - timedelta(hours=5)),
                    ("inactive", "pending", since - timedelta(minutes=10)),
                    ("pending", "firing", since),
                ):
                    await _insert(
                        conn,
                        "alert_events",
                        {
                            **common,
                            "time": at,
                            "state_from": state_from,
                            "state_to": state_to,
                            "reason": "test",
                            "value": 0.82,
                        },
                    )
        return True
    except asyncpg.PostgresError as exc:
        print(f"alert rows not written ({exc}); the alert queries only run")
        return False


def _uses_alerts(query: PanelQuery) -> bool:
    return any(name in query.sql for name in ALERT_OBJECTS)


async def run_query(dsn: str, sql: str) -> tuple[list[tuple[str, str]], list[asyncpg.Record]]:
    """Columns (name, type) and rows, as the read-only role Grafana logs in as."""
    conn = await asyncpg.connect(as_role(dsn, "ioc_grafana"))
    try:
        statement = await conn.prepare(sql)
        columns = [(a.name, a.type.name) for a in statement.get_attributes()]
        return columns, await statement.fetch()
    finally:
        await conn.close()


def check_shape(query: PanelQuery, columns: list[tuple[str, str]]) -> None:
    """The columns a panel of this type can draw."""
    types = dict(columns)
    numeric = [n for n, t in columns if t in NUMERIC]
    if query.kind == "timeseries":
        assert "time" in types, f"{query.name}: a time series needs a `time` column"
        assert types["time"] in TIME | NUMERIC
        values = [n for n in numeric if n != "time"]
        assert values, f"{query.name}: no numeric value column"
        if "metric" in types:
            assert types["metric"] in TEXT
    elif query.kind == "stat" and query.ref_id != "A":
        # the query a stat's colour comes from ("Config from query results"): a colour name
        assert columns == [("color", "text")], f"{query.name}: {columns}"
    elif query.kind == "stat":
        assert columns and all(t in NUMERIC for _, t in columns), f"{query.name}: {columns}"
    elif query.kind in ("bargauge", "piechart", "barchart"):
        assert columns[0][1] in TEXT, f"{query.name}: the first column names the bar/slice"
        assert all(t in NUMERIC for _, t in columns[1:]) and len(columns) >= 2
    elif query.kind == "geomap":
        assert types.get("latitude") in NUMERIC and types.get("longitude") in NUMERIC
    elif query.kind == "table":
        assert len(columns) >= 2
    elif query.kind == "annotation":
        assert types.get("time") in TIME and types.get("text") in TEXT
        assert types.get("tags", "text") in TEXT
    elif query.kind == "variable":
        assert types.get("__value") in TEXT and types.get("__text") in TEXT
    else:
        raise AssertionError(f"{query.name}: no shape rule for panel type {query.kind}")


pytestmark = pytest.mark.db


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.name} ({q.kind})")
async def test_panel_query_runs_as_grafana_with_every_kind_of_district_selection(
    panels_db, query: PanelQuery
):
    if _uses_alerts(query) and not panels_db["alerts"]:
        pytest.skip(
            "0004_alerts.sql is not applied: alerts_firing / alert_events do not exist "
            "(only the two alert queries are skipped for this reason)"
        )
    assert panels_db["stored"] > 10_000
    for province in PROVINCES:
        districts = panels_db["districts"][province]
        selections = {
            "all": districts,  # what Grafana sends for All (no custom all value)
            "one": [districts[0]],
            "two": districts[:2],
        }
        for label, chosen in selections.items():
            variables = {"province": province, "district": chosen}
            sql = expand(query, variables, now=NOW).sql
            columns, rows = await run_query(panels_db["dsn"], sql)
            check_shape(query, columns)
            if label == "all" and (panels_db["alert_rows"] or not _uses_alerts(query)):
                assert rows, f"{query.name}: no rows for {province} with all districts"
                if query.kind == "stat":
                    assert len(rows) == 1
                    assert all(v is not None for v in rows[0].values()), (
                        f"{query.name}: {dict(rows[0])} for {province}"
                    )


async def test_the_grafana_role_cannot_read_raw_events_or_write_rollups(panels_db):
    conn = await asyncpg.connect(as_role(panels_db["dsn"], "ioc_grafana"))
    try:
        for statement in (
            "SELECT * FROM dossier_events LIMIT 1",
            "SELECT * FROM dossiers LIMIT 1",
            "SELECT * FROM rollup_watermarks",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()
    # and writes no rollup: tests/test_roles.py


async def test_timeseries_are_filled_across_the_range(panels_db):
    """The flow panel has a point for (nearly) every minute of the last 24 hours."""
    query = next(q for q in QUERIES if q.title == "Luồng dữ liệu theo phút")
    variables = {"province": "binh-duong", "district": panels_db["districts"]["binh-duong"]}
    expanded = expand(query, variables, now=NOW)
    assert expanded.interval_ms == 60_000  # 24 h over 1000 points, rounded: a minute
    _, rows = await run_query(panels_db["dsn"], expanded.sql)
    payments = [r for r in rows if r["metric"] == "Thanh toán"]
    assert len(payments) > 0.5 * 24 * 60


# --------------------------------------------------------------------------------------------
# The late-rate formula on hand-built dossiers
# --------------------------------------------------------------------------------------------


def _lifecycle(
    name: str, received: datetime, due: datetime, final: tuple[DossierStatus, datetime] | None
) -> list:
    common = dict(
        dossier_id=f"HS-{name}",
        province="ba-ria-vung-tau",
        district="vung-tau",
        agency_code="SXD",
        agency_level=AgencyLevel.PROVINCE,
        channel=DossierChannel.FULLY_ONLINE,
        submitted_at=received - timedelta(minutes=30),
        due_at=due,
    )
    events = [
        dossier(DossierStatus.SUBMITTED, occurred_at=received - timedelta(minutes=30), **common),
        dossier(DossierStatus.RECEIVED, occurred_at=received, **common),
    ]
    if final:
        events.append(dossier(final[0], occurred_at=final[1], **common))
    return events


async def test_late_rate_follows_the_portals_formula(database, db):
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=5)  # the period: the last 5 days, on whole hours
    before = start - timedelta(days=3)
    day = timedelta(days=1)
    events = [
        # carried over: received before the period, still open when it began
        *_lifecycle("A", before, start + day, (DossierStatus.RESOLVED, start + 2 * day)),  # late
        *_lifecycle("B", before, start + day, None),  # overdue, still in progress
        # finished before the period: not carried over
        *_lifecycle("C", before, before + 5 * day, (DossierStatus.RESOLVED, before + day)),
        # received in the period
        *_lifecycle("D", start + day, start + 4 * day, (DossierStatus.RESOLVED, start + 2 * day)),
        *_lifecycle("E", start + day, now + 5 * day, None),  # in progress, not due
        *_lifecycle("F", start + day, now + 5 * day, (DossierStatus.REJECTED, start + 2 * day)),
        *_lifecycle("G", start + 2 * day, now + timedelta(hours=6), None),  # about to be late
        *_lifecycle(
            "H",
            start + 2 * day,
            start + 3 * day,
            (DossierStatus.RESOLVED, start + 3 * day - timedelta(hours=2)),
        ),  # on time, not early
    ]
    store = Store(database)
    try:
        await store.write(events, [])
    finally:
        await store.close()
    await refresh(db, margin=timedelta(0), synchronous=True)
    row = await db.fetchrow(
        "SELECT * FROM dossier_period_kpis('ba-ria-vung-tau', NULL, $1, $2)", start, now
    )
    assert dict(row) == {
        "received": 5,  # D E F G H
        "carried_over": 2,  # A B
        "resolved_early": 1,  # D
        "resolved_on_time": 1,  # H
        "resolved_late": 1,  # A
        "rejected": 1,  # F
        "in_progress": 1,  # E
        "about_to_be_late": 1,  # G
        "overdue": 1,  # B
        "late_rate": pytest.approx(2 / 7),  # (B + A) / (5 + 2)
        "on_time_rate": pytest.approx(5 / 7),
    }
    by_agency = await db.fetch(
        "SELECT * FROM dossier_agency_kpis('ba-ria-vung-tau', ARRAY['vung-tau'], $1, $2)",
        start,
        now,
    )
    assert [(r["agency_code"], r["received"], r["carried_over"]) for r in by_agency] == [
        ("SXD", 5, 2)
    ]
    assert by_agency[0]["late_rate"] == pytest.approx(2 / 7)
    other = await db.fetchrow(
        "SELECT * FROM dossier_period_kpis('ba-ria-vung-tau', ARRAY['ba-ria'], $1, $2)", start, now
    )
    assert (other["received"], other["late_rate"]) == (0, None)


# --------------------------------------------------------------------------------------------
# Refreshing: on both backends, then the plain-PostgreSQL refresher's own mechanics
# --------------------------------------------------------------------------------------------


async def _snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple]]:
    return {
        r.name: [
            tuple(row)
            for row in await conn.fetch(f"SELECT * FROM {r.name} ORDER BY {', '.join(r.columns)}")
        ]
        for r in ROLLUPS
    }


async def assert_rollups_equal_raw(conn: asyncpg.Connection) -> None:
    for comparison in await compare(conn) + await compare(conn, in_progress=True):
        assert comparison.equal, str(comparison)


async def _write(dsn: str, events: list) -> None:
    store = Store(as_role(dsn, "ioc_ingester"))
    try:
        await store.write(events, [])
    finally:
        await store.close()


async def test_a_refresh_brings_late_redelivered_and_new_events_into_the_rollups(database, db):
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    first = [payment(occurred_at=base + timedelta(minutes=i)) for i in range(10)]
    await _write(database, first)
    await refresh(db, margin=timedelta(0), synchronous=True)
    rows = await db.fetch("SELECT * FROM payment_gateways_1h")
    assert [(r["payments"], r["succeeded"]) for r in rows] == [(10, 10)]
    await refresh(db, margin=timedelta(0), synchronous=True)
    snapshot = await _snapshot(db)

    # a late event for the old hour, a redelivered one, and a new hour
    late = payment(
        occurred_at=base + timedelta(minutes=30), status=PaymentStatus.FAILED, error_code="TIMEOUT"
    )
    await _write(database, [late, first[0], payment(occurred_at=base + timedelta(hours=2))])
    await refresh(db, margin=timedelta(0), synchronous=True)
    hourly = {
        r["bucket"]: (r["payments"], r["succeeded"], r["failed"])
        for r in await db.fetch("SELECT * FROM payment_gateways_1h")
    }
    assert hourly == {base: (11, 10, 1), base + timedelta(hours=2): (1, 1, 0)}
    failures = await db.fetch("SELECT error_code, failures FROM payment_failures_1h")
    assert [tuple(r) for r in failures] == [("TIMEOUT", 1)]
    assert (await _snapshot(db)) != snapshot
    await assert_rollups_equal_raw(db)


async def test_the_ingester_role_can_refresh(database, db):
    await _write(database, [dossier(), incident(), payment()])
    conn = await asyncpg.connect(as_role(database, "ioc_ingester"))
    try:
        result = await refresh(conn, margin=timedelta(0))
        assert not result.skipped
    finally:
        await conn.close()
    if result.mode == "postgresql":
        assert await db.fetchval("SELECT sum(events) FROM incident_events_1m") == 1
    # TimescaleDB: the events are above the watermark, real-time aggregation shows them
    await assert_rollups_equal_raw(db)


async def test_the_background_refresher_brings_a_late_event_into_a_complete_bucket(database, db):
    """A late event for a bucket already materialised (TimescaleDB) or computed (plain)
    reaches the rollups through the running refresher alone, within seconds."""
    now = datetime.now(UTC)
    hours_ago = now - timedelta(hours=3)
    report = incident(
        occurred_at=hours_ago, reported_at=hours_ago, due_at=now + timedelta(days=5)
    )
    await _write(database, [report])
    await refresh(db, margin=timedelta(0), synchronous=True)
    if await rollups.uses_continuous_aggregates(db):
        await rollups.run_refresh_policies(db)  # as the scheduler: the watermark moves to now
    assert await db.fetchval("SELECT sum(received) FROM incident_events_1h") == 1
    late = incident(
        occurred_at=hours_ago + timedelta(minutes=5),
        reported_at=hours_ago,
        due_at=now + timedelta(days=5),
    )
    async with RollupRefresher(database.replace("postgres@", "ioc_ingester@"), interval=0.2) as r:
        await _write(database, [late])
        for _ in range(300):
            if await db.fetchval("SELECT sum(received) FROM incident_events_1h") == 2:
                break
            await asyncio.sleep(0.1)
        assert r.refreshes >= 1 and r.last_error is None, r.last_error
    assert await db.fetchval("SELECT sum(received) FROM incident_events_1h") == 2
    await assert_rollups_equal_raw(db)


async def test_the_refresher_refreshes_once_more_as_the_ingester_stops(database, db):
    """Rows committed after its last turn still reach the rollups: a stopped stack's wall
    screens show everything stored."""
    now = datetime.now(UTC)
    await _write(database, [payment(occurred_at=now - timedelta(hours=1))])
    await refresh(db, margin=timedelta(0), synchronous=True)
    if await rollups.uses_continuous_aggregates(db):
        await rollups.run_refresh_policies(db)  # the watermark past the next event's hour
    async with RollupRefresher(as_role(database, "ioc_ingester"), interval=3600) as refresher:

        async def first_turn_done() -> bool:  # its first turn, at start
            return refresher.refreshes > 0

        await wait_until(first_turn_done)
        await _write(database, [payment(occurred_at=now - timedelta(hours=2))])
    for _ in range(300):  # TimescaleDB: the policies it started run in the background,
        # each in its own job: wait for all of them, not for the first one to finish
        comparisons = await compare(db) + await compare(db, in_progress=True)
        if all(c.equal for c in comparisons):
            break
        await asyncio.sleep(0.1)
    await assert_rollups_equal_raw(db)


async def test_the_refresher_survives_a_database_without_the_rollups(empty_database):
    dsn = empty_database
    async with RollupRefresher(dsn, interval=0.02) as refresher:
        await asyncio.sleep(0.2)
        assert refresher.refreshes == 0
        assert refresher.last_error and "rollups do not exist" in refresher.last_error


@pytest.mark.plain_postgresql
async def test_the_plain_refresher_is_incremental_and_a_rebuild_gives_the_same(database, db):
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    first = [payment(occurred_at=base + timedelta(minutes=i)) for i in range(10)]
    await _write(database, first)
    result = await refresh(db, margin=timedelta(0))
    assert result.touched_hours["payment_events"] == 1
    again = await refresh(db, margin=timedelta(0))
    assert again.touched_hours["payment_events"] == 0
    await _write(database, [payment(occurred_at=base + timedelta(hours=2)), first[0]])
    result = await refresh(db, margin=timedelta(0))
    assert result.touched_hours["payment_events"] == 1  # the redelivered one was not stored

    # the same as a rebuild from scratch
    incremental = await _snapshot(db)
    for rollup in ROLLUPS:
        await db.execute(f"TRUNCATE {rollup.name}")
    await db.execute("TRUNCATE rollup_watermarks")
    await refresh(db, margin=timedelta(0))
    assert await _snapshot(db) == incremental


@pytest.mark.plain_postgresql
async def test_a_second_plain_refresher_waits_its_turn(database):
    await _write(database, [dossier(), incident(), payment()])
    holder = await asyncpg.connect(database)
    conn = await asyncpg.connect(as_role(database, "ioc_ingester"))
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", rollups._LOCK_KEY)
        assert (await refresh(conn, margin=timedelta(0))).skipped
        await holder.execute("SELECT pg_advisory_unlock($1)", rollups._LOCK_KEY)
        assert not (await refresh(conn, margin=timedelta(0))).skipped
        assert await holder.fetchval("SELECT sum(events) FROM incident_events_1m") == 1
    finally:
        await holder.close()
        await conn.close()


@pytest.mark.plain_postgresql
async def test_an_open_write_transaction_holds_the_watermark_back(database, db):
    writer = await asyncpg.connect(as_role(database, "ioc_ingester"))
    try:
        transaction = writer.transaction()
        await transaction.start()
        # any write gives the transaction an xid, as Store.write's statement does
        await writer.execute(
            "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) "
            "VALUES (now(), 'ioc/v1/probe', ''::bytea, 'schema', 'probe')"
        )
        began = await writer.fetchval("SELECT now()")
        # as the ingester (who sees its own role's transactions), and as the owner
        for role in ("ioc_ingester", "postgres"):
            conn = await asyncpg.connect(as_role(database, role))
            try:
                await refresh(conn, margin=timedelta(0))
            finally:
                await conn.close()
            marks = await db.fetch("SELECT ingested_until FROM rollup_watermarks")
            assert marks and all(m["ingested_until"] <= began for m in marks), role
        await transaction.rollback()
    finally:
        await writer.close()


# --------------------------------------------------------------------------------------------
# The expander (pure)
# --------------------------------------------------------------------------------------------

START = datetime(2026, 11, 19, 8, 0, tzinfo=UTC)
END = datetime(2026, 11, 20, 8, 0, 0, 250000, tzinfo=UTC)


def test_macros_expand_as_grafanas_postgres_macro_engine():
    sql = (
        "SELECT $__timeGroupAlias(bucket, '5m'), x FROM t WHERE $__timeFilter(bucket) "
        "AND a > $__timeFrom() AND b < $__timeTo() AND $__unixEpochFilter(e) "
        "GROUP BY $__timeGroup(bucket, 1h)"
    )
    assert expand_macros(sql, START, END) == (
        'SELECT floor(extract(epoch from bucket)/300)*300 AS "time", x FROM t WHERE '
        "bucket BETWEEN '2026-11-19T08:00:00Z' AND '2026-11-20T08:00:00.25Z' "
        "AND a > '2026-11-19T08:00:00Z' AND b < '2026-11-20T08:00:00.25Z' "
        f"AND e >= {int(START.timestamp())} AND e <= {int(END.timestamp())} "
        "GROUP BY floor(extract(epoch from bucket)/3600)*3600"
    )
    assert expand_macros("SELECT $__timeGroup(bucket, '1m'), 1", START, END, timescaledb=True) == (
        "SELECT time_bucket('60.000s',bucket) AS \"time\", 1"
    )


def test_variables_are_interpolated_as_grafanas_sql_datasources_do():
    sql = (
        "p = ${province:sqlstring} AND d IN (${district:sqlstring}) AND r = '$province' $__interval"
    )
    one = interpolate(
        sql,
        {"province": "ba-ria-vung-tau", "district": ["vung-tau"]},
        interval_ms=60_000,
        multi=frozenset({"district"}),
    )
    assert one == "p = 'ba-ria-vung-tau' AND d IN ('vung-tau') AND r = 'ba-ria-vung-tau' 1m"
    many = interpolate(
        "d IN ($district) AND x = ${x:sqlstring}",
        {"district": ["a", "b"], "x": "it's"},
        interval_ms=1,
        multi=frozenset({"district"}),
    )
    assert many == "d IN ('a','b') AND x = 'it''s'"
    with pytest.raises(KeyError):
        interpolate("$nope", {}, interval_ms=1)


def test_the_interval_follows_the_range_and_the_panels_minimum():
    assert grafana_interval(START, START + timedelta(hours=24), None) == 60_000
    assert grafana_interval(START, START + timedelta(hours=24), "1h") == 3_600_000
    assert grafana_interval(START, START + timedelta(days=30), "1m") == 1_800_000
    assert [format_interval(ms) for ms in (60_000, 120_000, 3_600_000, 86_400_000, 500)] == [
        "1m",
        "2m",
        "1h",
        "1d",
        "500ms",
    ]


async def test_every_banded_stat_is_green_on_a_normal_afternoon(panels_db):
    """The stat colours judge each province by its own targets with bands wider than the
    sampling noise: on a normal simulated afternoon every one is green (the flows over a whole
    week: tests/test_calibration.py)."""
    banded = [q for q in QUERIES if q.kind == "stat" and q.ref_id == "B"]
    assert len(banded) >= 12
    colours = {}
    for query in banded:
        for province in PROVINCES:
            variables = {"province": province, "district": panels_db["districts"][province]}
            _, rows = await run_query(panels_db["dsn"], expand(query, variables, now=NOW).sql)
            colours[(query.name, province)] = rows[0]["color"]
    assert {key: c for key, c in colours.items() if c != "green"} == {}
