"""``ioc ingest`` (the ingester, until SIGINT/SIGTERM) and ``ioc dead-letters``."""

from __future__ import annotations

import asyncio
import sys

import click

from ioc.cli.common import configured, load_settings, require_database, require_reachable_database
from ioc.cli.root import main


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
    settings = configured(ctx)
    require_reachable_database(settings)
    if workers > 1:
        from ioc.ingest.workers import run_workers

        sys.exit(run_workers(settings, workers))
    from ioc.ingest.ingester import tune_gc_for_ingest
    from ioc.ingest.service import build_ingester, run_ingester

    ingester = build_ingester(settings)
    tune_gc_for_ingest()
    stats = asyncio.run(
        run_ingester(
            ingester,
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
    dsn = require_database(settings)

    async def list_dead_letters() -> None:
        from ioc.connect import connect_database
        from ioc.timefmt import show

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

    asyncio.run(list_dead_letters())
