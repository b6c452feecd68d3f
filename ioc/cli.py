"""The ``ioc`` command line: ``db migrate``, ``ingest``, ``dead-letters``, ``demo``, ``bench``."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

import click
from pydantic import ValidationError

from ioc.errors import IocError
from ioc.geo import PROVINCES
from ioc.logs import setup_logging
from ioc.settings import Settings
from ioc.timefmt import use_utc

log = logging.getLogger(__name__)


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = [
            f"IOC_{'_'.join(str(p) for p in e['loc']).upper()}: "
            f"{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        raise click.ClickException("invalid configuration: " + "; ".join(problems)) from None


def _require_database(settings: Settings) -> str:
    if settings.database_url is None:
        raise click.ClickException(
            "IOC_DATABASE_URL is not set (postgresql://user:pass@host:port/db); "
            "`ioc demo` starts a local database by itself"
        )
    return settings.dsn()


def require_reachable_database(settings: Settings) -> str:
    """The database URL, once a connection to it has worked: a long-running command says at
    start, in one line, why it cannot work (``DatabaseUnreachable``), rather than retry."""
    from ioc.connect import check_database

    dsn = _require_database(settings)
    asyncio.run(check_database(dsn))
    return dsn


def _one_line(exc: BaseException) -> str | None:
    """What to print for an error the user can fix; None for a bug (a traceback is right)."""
    import asyncpg

    from ioc.local import LocalServiceError

    if isinstance(exc, IocError | LocalServiceError):
        return " ".join(str(exc).split())
    if isinstance(exc, asyncpg.UndefinedTableError | asyncpg.UndefinedFunctionError):
        return f"the database lacks part of the schema ({exc}): run `ioc db migrate`"
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return f"the database refused ({exc}): this needs a role with more rights (the owner?)"
    return None


class _Commands(click.Group):
    """The root group: an ``IocError`` from any command becomes one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            line = _one_line(exc)
            if line is None:
                raise
            level = (ctx.obj or {}).get("log_level") or os.environ.get("IOC_LOG_LEVEL", "")
            if level.upper() == "DEBUG":
                log.debug("the command failed", exc_info=True)
            raise click.ClickException(line) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING (default: $IOC_LOG_LEVEL).")
@click.option(
    "--utc", is_flag=True, help="Print times in UTC (default: Vietnam time, +07; always named)."
)
@click.pass_context
def main(ctx: click.Context, log_level: str | None, utc: bool) -> None:
    """Provincial IOC monitoring service."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level
    use_utc(utc)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.option("--database-url", envvar="IOC_DATABASE_URL", help="Default: $IOC_DATABASE_URL.")
@click.pass_context
def db_migrate(ctx: click.Context, database_url: str | None) -> None:
    """Apply the SQL migrations in db/migrations (idempotent).

    On a new database, IOC_TIMESCALEDB decides: auto (default) uses TimescaleDB when the
    extension can be created, on requires it, off keeps to plain PostgreSQL. A database
    already migrated stays as it was migrated.
    """
    settings = load_settings(database_url=database_url)
    setup_logging(ctx.obj["log_level"] or settings.log_level)
    from ioc.db import migrate

    result = asyncio.run(migrate(_require_database(settings), timescaledb=settings.timescaledb))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(str(result))


@main.command()
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Ingester processes sharing one stream through $share/ subscriptions.",
)
@click.pass_context
def ingest(ctx: click.Context, workers: int) -> None:
    """Subscribe to the feeds and store every event exactly once (until SIGINT/SIGTERM)."""
    settings = load_settings()
    setup_logging(ctx.obj["log_level"] or settings.log_level)
    require_reachable_database(settings)
    if workers > 1:
        from ioc.workers import run_workers

        sys.exit(run_workers(settings, workers))
    from ioc.service import build_ingester, run_ingester

    stats = asyncio.run(
        run_ingester(
            build_ingester(settings),
            metrics_host=settings.ingest_metrics_host,
            metrics_port=settings.ingest_metrics_port,
            rollup_refresh_seconds=settings.ingest_rollup_refresh_seconds,
        )
    )
    click.echo(
        f"stopped; this run: {stats.received} received, {stats.stored} stored, "
        f"{stats.duplicates} duplicates, {stats.dead_lettered} dead letters",
        err=True,
    )


@main.command("dead-letters")
@click.option("--limit", default=20, show_default=True)
@click.option("--reason", default=None, help="Only this reason (schema, not_json, ...).")
def dead_letters(limit: int, reason: str | None) -> None:
    """Show the latest dead letters with their reasons."""
    settings = load_settings()
    dsn = _require_database(settings)

    async def show() -> None:
        from ioc.connect import connect_database

        conn = await connect_database(dsn)
        try:
            counts = await conn.fetch(
                "SELECT reason, count(*) AS n FROM dead_letters GROUP BY reason ORDER BY n DESC"
            )
            rows = await conn.fetch(
                "SELECT received_at, topic, reason, detail "
                "FROM dead_letters WHERE ($1::text IS NULL OR reason = $1) "
                "ORDER BY id DESC LIMIT $2",
                reason,
                limit,
            )
        finally:
            await conn.close()
        click.echo("by reason: " + (", ".join(f"{r['reason']}={r['n']}" for r in counts) or "none"))
        for row in rows:
            click.echo(f"{show(row['received_at'])} {row['reason']:<14} {row['topic']}")
            click.echo(f"    {row['detail']}")

    asyncio.run(show())


@main.command("status")
@click.option(
    "--province",
    "provinces",
    multiple=True,
    type=click.Choice(sorted(PROVINCES)),
    help="Only this province (repeatable; default: every province with data).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
def status_command(provinces: tuple[str, ...], as_json: bool) -> None:
    """The overview wall screen's headline figures per province, from the database, by the
    dashboard's own queries (as Grafana runs them: its default range, all districts)."""
    settings = load_settings()
    dsn = _require_database(settings)
    from ioc.status import render_json, render_text, status

    async def show_status() -> None:
        from datetime import UTC, datetime

        from ioc.connect import connect_database

        conn = await connect_database(dsn)
        try:
            statuses = await status(conn, datetime.now(UTC), provinces or None)
        finally:
            await conn.close()
        click.echo(render_json(statuses) if as_json else render_text(statuses))

    asyncio.run(show_status())


@main.command()
@click.option("--speed", default=1.0, show_default=True, help="Simulated seconds per real second.")
@click.option("--scale", default=1.0, show_default=True, help="Multiplies every feed's rate.")
@click.option(
    "--backfill-hours",
    default=24.0,
    show_default=True,
    help="History published at start (only what the database does not have yet).",
)
@click.option("--seed", type=int, default=None, help="Default: a new seed per run.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.pass_context
def demo(
    ctx: click.Context,
    speed: float,
    scale: float,
    backfill_hours: float,
    seed: int | None,
    duration: float | None,
) -> None:
    """Everything on this machine: broker, database, simulators, ingester, alerter, summary."""
    settings = load_settings()
    setup_logging(ctx.obj["log_level"] or settings.log_level)
    from ioc.demo import run_demo
    from ioc.local import LocalServiceError

    try:
        run_demo(
            settings,
            speed=speed,
            scale=scale,
            backfill_hours=backfill_hours,
            seed=seed,
            duration=duration,
        )
    except LocalServiceError as exc:  # a missing or failing local server: say what to do
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--events", default=50_000, show_default=True, help="Events to publish.")
@click.option("--publishers", default=2, show_default=True, help="Publishing processes.")
@click.option(
    "--durable/--fast-db",
    default=True,
    show_default=True,
    help="fsync and synchronous_commit on (as in production) or off.",
)
@click.option(
    "--rate",
    type=float,
    default=None,
    help="Offered load in events/s over all publishers (default: full speed).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Run `ioc ingest --workers N` (shared subscription).",
)
@click.option(
    "--outage",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Stop PostgreSQL for SECONDS under load once some rows are stored.",
)
@click.option(
    "--compare",
    type=click.Choice(["mq-bridge"]),
    default=None,
    help="Side by side: the same load on `ioc ingest` and on mq-bridge (from PyPI).",
)
@click.option(
    "--backend",
    type=click.Choice(["postgresql", "timescaledb"]),
    default="postgresql",
    show_default=True,
    help="The embedded PostgreSQL, or a local PostgreSQL with TimescaleDB preloaded.",
)
@click.pass_context
def bench(
    ctx: click.Context,
    events: int,
    publishers: int,
    durable: bool,
    rate: float | None,
    workers: int,
    outage: float | None,
    compare: str | None,
    backend: str,
) -> None:
    """Measure the pipeline on local components: rows/s, latency p50/p95/p99, peak RSS, lost."""
    settings = load_settings()
    setup_logging(ctx.obj["log_level"] or settings.log_level)
    from ioc.bench import run_bench, run_compare

    if compare:
        run_compare(
            events=events,
            publishers=publishers,
            durable=durable,
            against=compare,
            outage=outage,
            workers=workers,
        )
        return
    run_bench(
        settings,
        events=events,
        publishers=publishers,
        durable=durable,
        rate=rate,
        workers=workers,
        outage=outage,
        timescaledb=backend == "timescaledb",
    )


def _add_subsystem_commands() -> None:
    """Commands that live beside their subsystem: ``ioc alert``/``ioc alerts`` (alerting),
    ``ioc bench-panels`` and ``ioc db refresh-rollups`` (dashboards)."""
    from ioc.alerting.cli import register as register_alerting
    from ioc.panelbench import register as register_dashboards

    register_alerting(main)
    register_dashboards(main, db)


_add_subsystem_commands()

if __name__ == "__main__":
    main()
