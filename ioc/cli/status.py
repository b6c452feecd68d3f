"""``ioc status``: the overview wall screen's headline figures, once, for scripts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from ioc.cli.common import load_settings, require_database
from ioc.cli.root import main
from ioc.domain.geo import PROVINCES


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
    dsn = require_database(settings)
    from ioc.connect import connect_database
    from ioc.tools.status import render_json, render_text, status

    async def show_status() -> None:
        conn = await connect_database(dsn)
        try:
            statuses = await status(conn, datetime.now(UTC), provinces or None)
        finally:
            await conn.close()
        click.echo(render_json(statuses) if as_json else render_text(statuses))

    asyncio.run(show_status())
