"""``ioc bench-panels``: every dashboard panel's query, timed on a month of simulated data.

Also the one place that turns a panel's SQL into what Grafana sends to PostgreSQL, so the
tests (tests/test_panel_queries.py) and the benchmark run exactly the same statements:

- ``panel_queries`` reads the dashboard JSON of ``grafana/dashboards`` and lists every SQL
  query in it: panel targets, template-variable queries and annotation queries;
- ``interpolate`` does what Grafana's frontend does to a SQL datasource query: template
  variables (``$var``, ``${var}``, ``${var:sqlstring}``, ``[[var]]``; several values or All
  become a quoted, comma-separated list), ``$__interval`` and ``$__interval_ms``;
- ``expand_macros`` does what Grafana's PostgreSQL macro engine does on the server
  (pkg/tsdb/grafana-postgresql-datasource/macros.go): ``$__timeFilter``, ``$__timeFrom``,
  ``$__timeTo``, ``$__timeGroup``/``$__timeGroupAlias`` (``time_bucket`` when the datasource
  has TimescaleDB enabled, as ours does, ``floor(extract(epoch ...))`` otherwise),
  ``$__time``, ``$__timeEpoch``, ``$__unixEpochFilter``, ``$__unixEpochGroup(Alias)``, ...

The benchmark fills a fresh local PostgreSQL with ``--days`` of simulated history for the
three provinces (one writer process per province, ``Store.write`` in big batches), builds the
rollups, then prints each panel's median query time for its dashboard's default time range
and for 30 days, with the row counts.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from ioc.connect import connect_database
from ioc.durations import parse_duration

DASHBOARDS_DIR = Path(
    os.environ.get("IOC_DASHBOARDS_DIR", Path(__file__).parents[2] / "grafana" / "dashboards")
)

# --------------------------------------------------------------------------------------------
# Queries in the dashboards
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    """One SQL query of a dashboard, with what Grafana needs to run it."""

    dashboard: str
    """The dashboard's uid."""
    title: str
    kind: str
    """The panel type (stat, timeseries, ...), or ``variable`` / ``annotation``."""
    sql: str
    format: str = "table"
    min_interval: str | None = None
    time_from: str | None = None
    """The panel's relative time override (``30d``), if any."""
    default_range: str = "now-24h"
    """The dashboard's default time range (``time.from``)."""
    ref_id: str = "A"
    """The target's refId (a stat's refId B is the query its colour is configured from)."""

    @property
    def name(self) -> str:
        suffix = "" if self.ref_id == "A" else f" [{self.ref_id}]"
        return f"{self.dashboard} / {self.title}{suffix}"


def load_dashboards(directory: Path = DASHBOARDS_DIR) -> list[dict[str, Any]]:
    return [
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(directory.glob("*.json"))
    ]


def panel_queries(dashboards: Iterable[Mapping[str, Any]]) -> list[PanelQuery]:
    out: list[PanelQuery] = []
    for board in dashboards:
        uid = board["uid"]
        default = board["time"]["from"]
        for variable in board.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                query = variable["query"]
                text = query if isinstance(query, str) else query.get("rawSql", "")
                out.append(
                    PanelQuery(uid, f"${variable['name']}", "variable", text, default_range=default)
                )
        for annotation in board.get("annotations", {}).get("list", []):
            raw = (annotation.get("target") or {}).get("rawSql")
            if raw:
                out.append(
                    PanelQuery(uid, annotation["name"], "annotation", raw, default_range=default)
                )
        for panel in _all_panels(board.get("panels", [])):
            for target in panel.get("targets", []):
                if "rawSql" in target:
                    out.append(
                        PanelQuery(
                            uid,
                            panel["title"],
                            panel["type"],
                            target["rawSql"],
                            target.get("format", "table"),
                            panel.get("interval"),
                            panel.get("timeFrom"),
                            default,
                            target.get("refId", "A"),
                        )
                    )
    return out


def _all_panels(panels: Sequence[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for panel in panels:
        yield panel
        yield from _all_panels(panel.get("panels", []))  # panels inside collapsed rows


# --------------------------------------------------------------------------------------------
# Time ranges and intervals as Grafana computes them
# --------------------------------------------------------------------------------------------

def grafana_duration(text: str) -> timedelta:
    """``'30d'``, ``1m``, ``5s``: a Grafana interval, quoted or not, as a timedelta."""
    return parse_duration(text.strip().strip("'"))


def time_range(expression: str, now: datetime) -> tuple[datetime, datetime]:
    """``now-24h`` (a dashboard's ``time.from``) or ``30d`` (a panel's ``timeFrom``)."""
    text = expression.removeprefix("now-")
    return now - grafana_duration(text), now


# Grafana's rangeutil.roundInterval: the interval for a range and a number of data points,
# rounded to a readable step.
_ROUNDING = [
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1500, 1000),
    (3500, 2000),
    (7500, 5000),
    (12500, 10000),
    (17500, 15000),
    (25000, 20000),
    (45000, 30000),
    (90000, 60000),
    (210000, 120000),
    (450000, 300000),
    (750000, 600000),
    (1050000, 900000),
    (1500000, 1200000),
    (2700000, 1800000),
    (5400000, 3600000),
    (9000000, 7200000),
    (16200000, 10800000),
    (32400000, 21600000),
    (86400000, 43200000),
    (604800000, 86400000),
    (1814400000, 604800000),
    (3628800000, 2592000000),
]


def round_interval(ms: float) -> int:
    for limit, step in _ROUNDING:
        if ms < limit:
            return step
    return 31536000000


def grafana_interval(
    start: datetime, end: datetime, min_interval: str | None, max_data_points: int = 1000
) -> int:
    """``$__interval_ms`` for a panel: the range over its width, at least its min interval."""
    ms = round_interval((end - start) / timedelta(milliseconds=1) / max_data_points)
    if min_interval:
        ms = max(ms, int(grafana_duration(min_interval) / timedelta(milliseconds=1)))
    return ms


def format_interval(ms: int) -> str:
    """``$__interval`` as Grafana writes it: ``1m``, ``2h``, ``1d``, ``500ms``."""
    for unit, seconds in (
        ("y", 31536000),
        ("w", 604800),
        ("d", 86400),
        ("h", 3600),
        ("m", 60),
        ("s", 1),
    ):
        if ms >= seconds * 1000 and ms % (seconds * 1000) == 0:
            return f"{ms // (seconds * 1000)}{unit}"
    return f"{ms}ms"


# --------------------------------------------------------------------------------------------
# Template variables (Grafana's frontend) and macros (Grafana's server)
# --------------------------------------------------------------------------------------------

Values = str | Sequence[str]
VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+)(?::(\w+))?\]\]|\$\{(\w+)(?:\.(\w+))?(?::(\w+))?\}")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(value: Values, fmt: str | None, multi: bool) -> str:
    values = [value] if isinstance(value, str) else list(value)
    if fmt in ("sqlstring", "singlequote"):
        return ",".join(_quote(v) for v in values)
    if fmt == "doublequote":
        return ",".join('"' + v.replace('"', '\\"') + '"' for v in values)
    if fmt == "csv":
        return ",".join(values)
    if fmt in ("raw", "text"):
        return ",".join(values)
    if fmt is not None:
        raise ValueError(f"variable format {fmt!r} is not supported by this expander")
    # The SQL datasources' default: quoted when the variable is multi-value or has All.
    if multi or not isinstance(value, str):
        return ",".join(_quote(v) for v in values)
    return value


def interpolate(
    sql: str,
    variables: Mapping[str, Values],
    *,
    interval_ms: int,
    multi: frozenset[str] = frozenset(),
) -> str:
    """Replace template variables as Grafana's frontend does before sending the query."""
    builtins = {"__interval_ms": str(interval_ms), "__interval": format_interval(interval_ms)}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in builtins:
            return builtins[name]
        if name.startswith("__"):
            return match.group(0)  # a macro or a built-in this expander leaves to the server
        if name not in variables:
            raise KeyError(f"the query uses ${name}, which is not a dashboard variable")
        return _format(variables[name], fmt, name in multi)

    return VARIABLE.sub(replace, sql)


def _rfc3339(moment: datetime) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += ("." + f"{moment.microsecond:06d}").rstrip("0")
    return text + "Z"


def _seconds(interval: timedelta) -> str:
    seconds = interval.total_seconds()
    return f"{seconds:g}" if seconds != int(seconds) else str(int(seconds))


_MACRO = re.compile(r"\$(\w+)\(([^)]*)\)")


def expand_macros(sql: str, start: datetime, end: datetime, *, timescaledb: bool = False) -> str:
    """Grafana's PostgreSQL macro engine, for the macros this project's dashboards may use."""

    def evaluate(name: str, args: list[str]) -> str:
        if name == "__time":
            return f'{args[0]} AS "time"'
        if name == "__timeEpoch":
            return f'extract(epoch from {args[0]}) as "time"'
        if name == "__timeFilter":
            return f"{args[0]} BETWEEN '{_rfc3339(start)}' AND '{_rfc3339(end)}'"
        if name == "__timeFrom":
            return f"'{_rfc3339(start)}'"
        if name == "__timeTo":
            return f"'{_rfc3339(end)}'"
        if name in ("__timeGroup", "__timeGroupAlias"):
            if len(args) < 2:
                raise ValueError(f"${name} needs a column and an interval")
            if len(args) > 2:
                raise ValueError(f"${name} fill modes are not supported by this expander")
            interval = grafana_duration(args[1])
            if timescaledb:
                group = f"time_bucket('{interval.total_seconds():.3f}s',{args[0]})"
            else:
                s = _seconds(interval)
                group = f"floor(extract(epoch from {args[0]})/{s})*{s}"
            return group + (' AS "time"' if name == "__timeGroupAlias" else "")
        if name == "__unixEpochFilter":
            a, b = int(start.timestamp()), int(end.timestamp())
            return f"{args[0]} >= {a} AND {args[0]} <= {b}"
        if name == "__unixEpochFrom":
            return str(int(start.timestamp()))
        if name == "__unixEpochTo":
            return str(int(end.timestamp()))
        if name in ("__unixEpochGroup", "__unixEpochGroupAlias"):
            s = _seconds(grafana_duration(args[1]))
            group = f"floor(({args[0]})/{s})*{s}"
            return group + (' AS "time"' if name == "__unixEpochGroupAlias" else "")
        raise ValueError(f"unknown macro ${name}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        # macros.go: "$__timeGroup(...)," is read as $__timeGroupAlias (pre-5.3 dashboards)
        if name == "__timeGroup" and sql[match.end() : match.end() + 1] == ",":
            name = "__timeGroupAlias"
        args = [a.strip() for a in match.group(2).split(",")]
        return evaluate(name, args)

    return _MACRO.sub(replace, sql)


@dataclass(frozen=True)
class Expanded:
    sql: str
    start: datetime
    end: datetime
    interval_ms: int


def expand(
    query: PanelQuery,
    variables: Mapping[str, Values],
    *,
    now: datetime,
    range_override: str | None = None,
    timescaledb: bool = False,
    multi: frozenset[str] = frozenset({"district"}),
) -> Expanded:
    """The statement Grafana would run for ``query`` at ``now`` with these variable values."""
    if query.time_from:
        start, end = time_range(query.time_from, now)
    else:
        start, end = time_range(range_override or query.default_range, now)
    interval_ms = grafana_interval(start, end, query.min_interval)
    text = interpolate(query.sql, variables, interval_ms=interval_ms, multi=multi)
    return Expanded(
        expand_macros(text, start, end, timescaledb=timescaledb), start, end, interval_ms
    )


async def district_codes(conn: asyncpg.Connection, province: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT code FROM districts WHERE province = $1 ORDER BY population DESC", province
    )
    return [r["code"] for r in rows]


# --------------------------------------------------------------------------------------------
# Filling a database with simulated history
# --------------------------------------------------------------------------------------------


def _fill_province(
    dsn: str,
    province: str,
    start: datetime,
    end: datetime,
    scale: float,
    seed: int,
    batch: int,
    progress: Any,
) -> int:
    """One writer: one province's feeds from ``start`` to ``end`` (a process of its own)."""
    from ioc.ingest.store import Store
    from simulators.engine import Simulation
    from simulators.profiles import PROFILES

    async def run() -> int:
        simulation = Simulation(
            [PROFILES[province]], seed=seed, start=start, scale=scale, warmup=timedelta(days=7)
        )
        store = Store(dsn)
        written = 0
        try:
            pending = []
            horizon = start
            while horizon < end:
                horizon = min(end, horizon + timedelta(hours=6))
                for event in simulation.events_until(horizon):
                    pending.append(event)
                    if len(pending) >= batch:
                        written += (await store.write(pending, [])).stored
                        if progress is not None:
                            progress.put(len(pending))
                        pending = []
            if pending:
                written += (await store.write(pending, [])).stored
                if progress is not None:
                    progress.put(len(pending))
        finally:
            await store.close()
        return written

    return asyncio.run(run())


def _fill_worker(args: tuple[Any, ...]) -> int:
    return _fill_province(*args)


def fill(
    dsn: str,
    *,
    days: float,
    scale: float,
    end: datetime,
    seed: int = 1,
    provinces: Sequence[str] | None = None,
    batch: int = 20_000,
    parallel: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``days`` of simulated events ending at ``end``; returns the rows stored.

    Each province's streams are independent in the simulator (their own seeded generators),
    so one process per province produces the same events as a single simulation would.
    """
    from simulators.profiles import PROFILES

    codes = list(provinces or PROFILES)
    start = end - timedelta(days=days)
    if not parallel:
        return sum(
            _fill_province(dsn, code, start, end, scale, seed, batch, None) for code in codes
        )
    ctx = mp.get_context("spawn")
    manager = ctx.Manager()
    queue = manager.Queue()
    with ctx.Pool(len(codes)) as pool:
        result = pool.map_async(
            _fill_worker, [(dsn, c, start, end, scale, seed, batch, queue) for c in codes]
        )
        while not result.ready():
            result.wait(0.2)
            while not queue.empty():
                count = queue.get()
                if on_progress:
                    on_progress(count)
        stored = sum(result.get())
    while not queue.empty():
        count = queue.get()
        if on_progress:
            on_progress(count)
    manager.shutdown()
    return stored


def expected_events(days: float, scale: float) -> int:
    """Roughly how many events ``fill`` writes (for the progress bar)."""
    from simulators.profiles import PROFILES

    per_day = 0.0
    for p in PROFILES.values():
        # ~4.3 events per dossier, ~5 per report, payments plus the dossiers' fee payments
        per_day += p.dossiers_per_day * (4.3 + 0.6 * p.fee_share) + p.payments_per_day
        per_day += p.incidents_per_day * 5
    return int(per_day * scale * days)


# --------------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    query: PanelQuery
    rows: int
    default_ms: float
    month_ms: float | None


@dataclass
class BenchReport:
    days: float
    scale: float
    events: int
    fill_seconds: float
    refresh_seconds: float
    live_refresh: tuple[int, float]
    rollup_rows: dict[str, int] = field(default_factory=dict)
    database_mb: float = 0.0
    timings: list[Timing] = field(default_factory=list)
    backend: str = "plain PostgreSQL"
    """The server, as ``ioc db migrate`` describes it."""
    timescaledb: bool = False


async def time_query(conn: asyncpg.Connection, sql: str, runs: int) -> tuple[int, float]:
    """(rows, median milliseconds) of ``runs`` executions after one warm-up."""
    rows = len(await conn.fetch(sql))
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await conn.fetch(sql)
        samples.append((time.perf_counter() - began) * 1000)
    return rows, statistics.median(samples)


async def _measure(dsn: str, province: str, now: datetime, runs: int) -> list[Timing]:
    conn = await connect_database(
        dsn.replace("postgresql://postgres@", "postgresql://ioc_grafana@")
    )
    try:
        variables = {"province": province, "district": await district_codes(conn, province)}
        timings = []
        for query in panel_queries(load_dashboards()):
            expanded = expand(query, variables, now=now)
            rows, default_ms = await time_query(conn, expanded.sql, runs)
            month_ms = None
            if query.kind not in ("variable",) and not query.time_from:
                month = expand(query, variables, now=now, range_override="now-30d")
                if month.sql != expanded.sql:
                    month_ms = (await time_query(conn, month.sql, runs))[1]
            timings.append(Timing(query, rows, default_ms, month_ms))
        return timings
    finally:
        await conn.close()


async def _rollup_stats(dsn: str) -> tuple[dict[str, int], float]:
    from ioc.storage.rollups import ROLLUPS

    conn = await connect_database(dsn)
    try:
        counts = {r.name: await conn.fetchval(f"SELECT count(*) FROM {r.name}") for r in ROLLUPS}
        size = await conn.fetchval("SELECT pg_database_size(current_database())")
        return counts, size / 2**20
    finally:
        await conn.close()


async def _keep_current(dsn: str) -> float:
    """What a running stack has done by the time anyone looks: plain PostgreSQL, the
    ingester's refresher recomputes the hours the rows touched; TimescaleDB, the scheduler ran
    every refresh policy (which the ingester's refresher starts at once after a backfill) and
    the compression and retention policies. Then statistics, as autovacuum would have them."""
    from ioc.storage.rollups import (
        refresh,
        run_jobs,
        run_refresh_policies,
        uses_continuous_aggregates,
    )

    conn = await connect_database(dsn)
    try:
        began = time.perf_counter()
        if await uses_continuous_aggregates(conn):
            await run_refresh_policies(conn)
            await run_jobs(conn, "policy_compression", "policy_retention")
        else:
            await refresh(conn, margin=timedelta(0))
        await conn.execute("VACUUM ANALYZE")
        return time.perf_counter() - began
    finally:
        await conn.close()


async def _live_refresh(dsn: str, now: datetime, scale: float) -> tuple[int, float]:
    """Write the last minutes as the ingester would, then time what keeps the rollups current
    after them: one refresh (plain), every refresh policy's run (TimescaleDB)."""
    from ioc.ingest.store import Store
    from ioc.storage.rollups import refresh, run_refresh_policies, uses_continuous_aggregates
    from simulators.engine import Simulation
    from simulators.profiles import PROFILES

    simulation = Simulation(
        list(PROFILES.values()), seed=99, start=now - timedelta(minutes=5), scale=scale
    )
    events = list(simulation.events_until(now))
    store = Store(dsn)
    try:
        await store.write(events, [])
    finally:
        await store.close()
    conn = await connect_database(dsn)
    try:
        began = time.perf_counter()
        if await uses_continuous_aggregates(conn):
            await run_refresh_policies(conn)
        else:
            await refresh(conn, margin=timedelta(0))
        return len(events), (time.perf_counter() - began) * 1000
    finally:
        await conn.close()


BACKENDS = ("postgresql", "timescaledb")


def run_bench_panels(
    *,
    days: float,
    scale: float,
    runs: int = 5,
    province: str = "binh-duong",
    backend: str = "postgresql",
    log=print,
) -> BenchReport:
    """``backend``: ``postgresql`` (the embedded default, rollup tables) or ``timescaledb`` (a
    local server with the extension, continuous aggregates; LocalServiceError when none)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from ioc.storage.migrations import migrate
    from ioc.tools.local import LocalPostgres

    timescale = backend == "timescaledb"
    now = datetime.now(UTC).replace(microsecond=0)
    with (
        tempfile.TemporaryDirectory(prefix="ioc-bench-panels-") as tmp,
        LocalPostgres(Path(tmp) / "pg" / "data", durable=False, timescaledb=timescale) as pg,
    ):
        migrated = asyncio.run(migrate(pg.dsn, timescaledb="on" if timescale else "off"))
        log(f"{migrated.version}: filling {days:g} days at scale {scale:g} …")
        total = expected_events(days, scale)
        began = time.perf_counter()
        with Progress(
            TextColumn("filling"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} events"),
            TimeRemainingColumn(),
            transient=True,
            console=None,
        ) as progress:
            task = progress.add_task("fill", total=total)
            events = fill(
                pg.dsn,
                days=days,
                scale=scale,
                end=now - timedelta(minutes=5),
                on_progress=lambda n: progress.advance(task, n),
            )
        fill_seconds = time.perf_counter() - began
        log(f"stored {events:,} events in {fill_seconds:.0f} s; keeping the rollups current …")
        refresh_seconds = asyncio.run(_keep_current(pg.dsn))
        live = asyncio.run(_live_refresh(pg.dsn, now, scale))
        rollup_rows, size_mb = asyncio.run(_rollup_stats(pg.dsn))
        log(f"timing {runs} runs of every panel query as ioc_grafana …")
        timings = asyncio.run(_measure(pg.dsn, province, now, runs))
    return BenchReport(
        days,
        scale,
        events,
        fill_seconds,
        refresh_seconds,
        live,
        rollup_rows,
        size_mb,
        timings,
        backend=migrated.version,
        timescaledb=migrated.timescaledb,
    )


def report(bench: BenchReport, *, province: str = "binh-duong") -> str:
    if bench.timescaledb:
        kind = "continuous aggregates, real-time aggregation"
        built = "every refresh, compression and retention policy run once"
        live = "every refresh policy run once"
    else:
        kind = "rollup tables"
        built = "all history, one refresh"
        live = "one refresh"
    lines = [
        f"ioc bench-panels: {bench.days:g} days at scale {bench.scale:g}, {bench.backend} "
        f"({kind}), {os.cpu_count()} cores",
        f"  events stored        {bench.events:>12,} in {bench.fill_seconds:,.0f} s "
        f"({bench.events / max(bench.fill_seconds, 1e-9):,.0f}/s)",
        f"  rollups kept current {bench.refresh_seconds:>12,.1f} s ({built})",
        f"  live refresh         {bench.live_refresh[1]:>12,.1f} ms "
        f"({live}, after {bench.live_refresh[0]:,} events of the last 5 minutes)",
        f"  database size        {bench.database_mb:>12,.0f} MB",
        "  rollup rows          "
        + ", ".join(f"{name} {rows:,}" for name, rows in bench.rollup_rows.items()),
        "",
        f"  median of the runs, province={province}, district=All, as ioc_grafana; "
        "'default' is the dashboard's range (or the panel's own), '30 d' the same over 30 days",
        f"  {'dashboard / panel':<62} {'type':<10} {'rows':>6} {'default':>10} {'30 d':>10}",
    ]
    for t in bench.timings:
        month = f"{t.month_ms:8.1f} ms" if t.month_ms is not None else f"{'':>8} --"
        name = t.query.name if len(t.query.name) <= 62 else t.query.name[:61] + "…"
        lines.append(f"  {name:<62} {t.query.kind:<10} {t.rows:>6} {t.default_ms:8.1f} ms {month}")
    worst = max(bench.timings, key=lambda t: max(t.default_ms, t.month_ms or 0))
    lines.append("")
    lines.append(
        f"  slowest: {worst.query.name} "
        f"({max(worst.default_ms, worst.month_ms or 0):.1f} ms); "
        f"total of all panels at their default range: "
        f"{sum(t.default_ms for t in bench.timings):.0f} ms"
    )
    return "\n".join(lines)


def main(days: float, scale: float, runs: int, backend: str = "postgresql") -> None:
    bench = run_bench_panels(
        days=days,
        scale=scale,
        runs=runs,
        backend=backend,
        log=lambda m: print(m, file=sys.stderr),
    )
    print(report(bench))


__all__ = [
    "PanelQuery",
    "expand",
    "expand_macros",
    "fill",
    "interpolate",
    "load_dashboards",
    "panel_queries",
    "run_bench_panels",
]
