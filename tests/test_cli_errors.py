"""Every command that needs the database says in one line why it cannot work, and exits 1.

Each case is run against every such command: nothing listens on the port, the URL is not a
PostgreSQL one, the database does not exist, TimescaleDB is asked for where it cannot be had.
The line names the URL with its password hidden and the cause; there is no traceback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ioc.cli import main
from ioc.connect import redact_url
from ioc.storage.migrations import migrate
from ioc.tools.local import LocalPostgres, free_port, timescaledb_bin_dir
from tests.backends import server_root

SECRET = "s3cret-pw"

COMMANDS = [
    ["db", "migrate"],
    ["db", "refresh-rollups"],
    ["db", "check-rollups"],
    ["dead-letters"],
    ["ingest"],
    ["alert", "run", "--once"],
    ["alerts", "list"],
    ["alerts", "silence", "list"],
    ["alerts", "silence", "add", "-m", "province=binh-duong", "--duration", "1h", "--comment", "x"],
    ["alerts", "silence", "expire", "00000000-0000-0000-0000-000000000000"],
    ["alerts", "ack", "feed-silent", "--by", "Nguyễn Văn A"],
]


def run_command(args: list[str], database_url: str, **env: str):
    environment = {
        "IOC_DATABASE_URL": database_url,
        "IOC_INGEST_METRICS_PORT": "0",
        "IOC_ALERT_METRICS_PORT": "0",
        "IOC_LOG_LEVEL": "WARNING",
        **env,
    }
    return CliRunner().invoke(main, args, env=environment)


def assert_one_line(result, *expected: str) -> str:
    output = result.output.strip()
    assert result.exit_code == 1, (result.exit_code, output, result.exception)
    # the command ended by itself with its message, not by an exception escaping it
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: "), output
    assert SECRET not in output
    for text in expected:
        assert text in output, output
    return lines[0]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_nothing_listening_on_the_port(args):
    url = f"postgresql://ioc_owner:{SECRET}@127.0.0.1:{free_port()}/ioc"
    line = assert_one_line(run_command(args, url), redact_url(url), "connection refused")
    assert "ioc_owner:***@" in line


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_url_that_is_not_postgresql(args):
    url = f"mysql://ioc_owner:{SECRET}@127.0.0.1:3306/ioc"
    assert_one_line(run_command(args, url), "IOC_DATABASE_URL", "postgresql://", "not mysql://")


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_database_that_does_not_exist(postgres, args):
    url = postgres.dsn_for("no_such_database")
    assert_one_line(
        run_command(args, url), redact_url(url), 'database "no_such_database" does not exist'
    )


def test_a_refused_login_is_one_line_without_the_password(postgres, empty_database):
    asyncio.run(
        _execute(empty_database, f"CREATE ROLE ioc_pw_test LOGIN PASSWORD '{SECRET}-right'")
    )
    # the test server trusts loopback logins: a role that may not log in is refused instead
    asyncio.run(_execute(empty_database, "ALTER ROLE ioc_pw_test NOLOGIN"))
    try:
        url = empty_database.replace("postgres@", f"ioc_pw_test:{SECRET}@")
        assert_one_line(run_command(["dead-letters"], url), "ioc_pw_test", "not permitted")
    finally:
        asyncio.run(_execute(empty_database, "DROP ROLE ioc_pw_test"))


async def _execute(dsn: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def test_a_real_process_prints_one_line_and_exits_1(tmp_path):
    """The same as a user sees it: the ``ioc`` process, its stderr, its exit status."""
    url = f"postgresql://ioc_owner:{SECRET}@127.0.0.1:{free_port()}/ioc"
    env = dict(os.environ, IOC_DATABASE_URL=url, IOC_INGEST_METRICS_PORT="0")
    for args in (["db", "migrate"], ["ingest"]):
        result = subprocess.run(
            [sys.executable, "-m", "ioc.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "connection refused" in result.stderr and SECRET not in result.stderr


@pytest.mark.plain_postgresql
def test_timescaledb_on_where_the_server_has_no_timescaledb(empty_database):
    assert_one_line(
        run_command(["db", "migrate"], empty_database, IOC_TIMESCALEDB="on"),
        "IOC_TIMESCALEDB=on",
        "not installed",
        "IOC_TIMESCALEDB=off",
    )


@pytest.fixture(scope="module")
def not_preloaded():
    """A PostgreSQL whose installation has TimescaleDB, started without preloading it (what
    installing the package without timescaledb-tune gives)."""
    bin_dir = timescaledb_bin_dir()
    assert bin_dir is not None
    previous = os.environ.get("IOC_PG_BIN")
    os.environ["IOC_PG_BIN"] = str(bin_dir)
    try:
        server = LocalPostgres(server_root() / "not-preloaded" / "data", durable=False)
    finally:
        if previous is None:
            os.environ.pop("IOC_PG_BIN")
        else:
            os.environ["IOC_PG_BIN"] = previous
    assert not server.timescaledb and server.bin_dir == bin_dir
    with server:
        yield server


@pytest.mark.timescaledb
def test_a_server_that_has_timescaledb_but_does_not_preload_it(not_preloaded):
    on = not_preloaded.create_database("ts_on")
    line = assert_one_line(
        run_command(["db", "migrate"], on, IOC_TIMESCALEDB="on"),
        "does not preload timescaledb",
        "shared_preload_libraries = 'timescaledb'",
        "IOC_TIMESCALEDB=off",
    )
    assert "connection" not in line  # decided before CREATE EXTENSION, which would end it
    auto = not_preloaded.create_database("ts_auto")
    result = run_command(["db", "migrate"], auto)
    assert result.exit_code == 0, result.output
    assert "note: timescaledb is installed on this server but not preloaded" in result.output
    assert "(plain PostgreSQL 15" in result.output
    off = not_preloaded.create_database("ts_off")
    result = run_command(["db", "migrate"], off, IOC_TIMESCALEDB="off")
    assert result.exit_code == 0 and "note:" not in result.output, result.output


@pytest.mark.timescaledb
def test_a_timescaledb_database_on_a_server_restarted_without_preloading_it(pg_backend):
    server = pg_backend.server("restarted-without-preload")
    with server:
        dsn = server.create_database("was_timescale")
        asyncio.run(migrate(dsn, timescaledb="on"))
        result = run_command(["db", "migrate"], dsn, IOC_TIMESCALEDB="off")
        assert_one_line(result, "was migrated with TimescaleDB", "IOC_TIMESCALEDB=off")
    server.timescaledb = False  # the same data directory, started without the preload
    with server:
        # the long-running services and the operators' commands check before they start
        # (`ioc dead-letters` reads a plain table and just works)
        for args in (["ingest"], ["alert", "run", "--once"], ["alerts", "list"]):
            assert_one_line(
                run_command(args, dsn), "uses TimescaleDB", "does not preload it", "restart"
            )
        assert_one_line(run_command(["db", "migrate"], dsn), "does not preload it")
