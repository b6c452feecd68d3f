"""The ``ioc`` command line: ``db migrate``, ``ingest``, ``dead-letters``, ``demo``, ``bench``."""

from __future__ import annotations

import asyncio
import sys

import click
from pydantic import ValidationError

from ioc.logs import setup_logging
from ioc.settings import Settings


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        lines = [
            f"  IOC_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        ]
        raise click.ClickException("invalid configuration:\n" + "\n".join(lines)) from None


def _require_database(settings: Settings) -> str:
    if settings.database_url is None:
        raise click.ClickException(
            "IOC_DATABASE_URL is not set (postgresql://user:pass@host:port/db); "
            "`ioc demo` starts a local database by itself"
        )
    return settings.dsn()


@click.group()
@click.option("--log-level", default=None, help="DEBUG, INFO, WARNING (default: $IOC_LOG_LEVEL).")
@click.pass_context
def main(ctx: click.Context, log_level: str | None) -> None:
    """Provincial IOC monitoring service."""
    ctx.ensure_object(dict)
    ctx.obj["log_level"] = log_level


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@click.option("--database-url", envvar="IOC_DATABASE_URL", help="Default: $IOC_DATABASE_URL.")
@click.pass_context
def db_migrate(ctx: click.Context, database_url: str | None) -> None:
    """Apply the SQL migrations in db/migrations (idempotent)."""
    settings = load_settings(database_url=database_url)
    setup_logging(ctx.obj["log_level"] or settings.log_level)
    from ioc.db import migrate

    applied = asyncio.run(migrate(_require_database(settings)))
    click.echo(f"applied: {', '.join(applied)}" if applied else "schema is up to date")


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
    _require_database(settings)
    if workers > 1:
        from ioc.workers import run_workers

        sys.exit(run_workers(settings, workers))
    from ioc.service import build_ingester, run_ingester

    stats = asyncio.run(
        run_ingester(
            build_ingester(settings),
            metrics_host=settings.ingest_metrics_host,
            metrics_port=settings.ingest_metrics_port,
        )
    )
    click.echo(
        f"stopped: {stats.received} received, {stats.stored} stored, "
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
        import asyncpg

        conn = await asyncpg.connect(dsn)
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
            click.echo(f"{row['received_at']:%Y-%m-%d %H:%M:%S} {row['reason']:<14} {row['topic']}")
            click.echo(f"    {row['detail']}")

    asyncio.run(show())


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
) -> None:
    """Measure the pipeline on local components: rows/s, latency p50/p99, peak RSS, lost."""
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
