"""``ioc db``: the schema (``migrate``) and the dashboards' rollups (``refresh-rollups``,
``check-rollups``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import click

from ioc.cli.common import configured, database_option, load_settings, require_database
from ioc.cli.root import main
from ioc.connect import connect_database
from ioc.storage.rollups import Comparison, RefreshResult, compare, prune, refresh


@main.group()
def db() -> None:
    """Database schema."""


@db.command("migrate")
@database_option()
@click.pass_context
def db_migrate(ctx: click.Context, database_url: str | None) -> None:
    """Apply the SQL migrations in db/migrations (idempotent).

    On a new database, IOC_TIMESCALEDB decides: auto (default) uses TimescaleDB when the
    extension can be created, on requires it, off keeps to plain PostgreSQL. A database
    already migrated stays as it was migrated.
    """
    settings = configured(ctx, database_url=database_url)
    from ioc.storage.migrations import migrate

    result = asyncio.run(migrate(require_database(settings), timescaledb=settings.timescaledb))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(str(result))


@db.command("refresh-rollups")
@database_option()
def refresh_rollups(database_url: str | None) -> None:
    """Bring the dashboards' rollups up to date now (after loading data some other way).

    Plain PostgreSQL: recompute the hours touched since the last refresh (the running
    ingester does the same every 10 seconds). TimescaleDB: refresh every continuous
    aggregate over its policy's window (what its retention keeps) up to the start of its
    bucket in progress, as the aggregates' owner.
    """
    dsn = require_database(load_settings(database_url=database_url))

    async def run() -> RefreshResult:
        conn = await connect_database(dsn)
        try:
            result = await refresh(conn, margin=timedelta(0), synchronous=True)
            await prune(conn)
            return result
        finally:
            await conn.close()

    click.echo(asyncio.run(run()))


@db.command("check-rollups")
@database_option()
def check_rollups(database_url: str | None) -> None:
    """Compare every rollup with the same aggregate over the raw rows.

    For every complete bucket each rollup keeps, and for the bucket in progress; exits 1
    when one differs. Reads every raw row once per rollup: minutes on a month of data.
    """
    dsn = require_database(load_settings(database_url=database_url))

    async def run() -> tuple[list[Comparison], list[Comparison]]:
        conn = await connect_database(dsn)
        try:
            return await compare(conn), await compare(conn, in_progress=True)
        finally:
            await conn.close()

    complete, current = asyncio.run(run())
    click.echo("complete buckets (each rollup's retention, up to its bucket in progress):")
    for line in complete:
        click.echo(f"  {line}")
    click.echo("bucket in progress (the raw rows so far):")
    for line in current:
        click.echo(f"  {line}")
    if not all(c.equal for c in complete + current):
        raise click.ClickException("a rollup differs from its raw rows (see above)")
