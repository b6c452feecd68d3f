"""One time convention: every printed time names its zone (Vietnam time, or UTC with --utc);
``-h`` is ``--help`` on every command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from ioc import timefmt
from ioc.cli import main

MOMENT = datetime(2026, 12, 1, 12, 30, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def vietnam_time():
    timefmt.use_utc(False)
    yield
    timefmt.use_utc(False)


def test_vietnam_time_by_default_with_its_offset():
    assert timefmt.show(MOMENT) == "2026-12-01 19:30:05 +07"
    assert timefmt.show(MOMENT, seconds=False) == "2026-12-01 19:30 +07"
    assert timefmt.show(None) == "-"


def test_utc_when_asked_and_a_naive_time_is_utc():
    timefmt.use_utc(True)
    assert timefmt.show(MOMENT) == "2026-12-01 12:30:05 UTC"
    assert timefmt.show(MOMENT.replace(tzinfo=None)) == "2026-12-01 12:30:05 UTC"


def test_the_root_option_switches_to_utc():
    result = CliRunner().invoke(main, ["--utc", "alert", "check-rules", "-h"])
    assert result.exit_code == 0
    assert timefmt.zone_name() == "UTC"


@pytest.mark.parametrize(
    "args",
    [[], ["db"], ["db", "migrate"], ["dead-letters"], ["demo"], ["bench"], ["alerts", "list"]],
    ids=" ".join,
)
def test_dash_h_is_help_everywhere(args):
    result = CliRunner().invoke(main, [*args, "-h"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: ")


def test_bench_help_names_the_percentiles_the_readme_names():
    result = CliRunner().invoke(main, ["bench", "-h"])
    assert "p50/p95/p99" in " ".join(result.output.split())


@pytest.mark.db
def test_dead_letters_prints_each_rows_time_with_its_zone(database):
    import asyncio

    import asyncpg

    async def insert() -> None:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(
                "INSERT INTO dead_letters (received_at, topic, payload, reason, detail) "
                "VALUES ($1, 'ioc/v1/binh-duong/dossiers/di-an', 'x', 'not_json', 'not JSON')",
                MOMENT,
            )
        finally:
            await conn.close()

    asyncio.run(insert())
    result = CliRunner().invoke(main, ["dead-letters"], env={"IOC_DATABASE_URL": database})
    assert result.exit_code == 0, result.output
    row = "2026-12-01 19:30:05 +07 not_json       ioc/v1/binh-duong/dossiers/di-an"
    assert row in result.output
    result = CliRunner().invoke(main, ["--utc", "dead-letters"], env={"IOC_DATABASE_URL": database})
    assert "2026-12-01 12:30:05 UTC not_json" in result.output
