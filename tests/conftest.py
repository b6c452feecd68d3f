"""Real components for the tests: a Mosquitto and a PostgreSQL started here, on free ports.

Both run on 127.0.0.1 for the whole session and are stopped at its end. Each test that needs
a database gets a fresh, migrated one, dropped when the test ends; each test names its MQTT
client ids after itself.

Two database backends (``tests/backends.py``): every test that touches the database runs on
plain PostgreSQL (the embedded default) and again on a PostgreSQL with TimescaleDB preloaded,
when this machine has one; the test id says which (``[postgresql]``, ``[timescaledb]``).
``IOC_TEST_TIMESCALEDB=required`` (what ``.ci/run`` sets) fails the run when none can be
found, ``off`` leaves it out. The summary says which backends ran and how their tests did.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import asyncpg
import pytest

from ioc.ingest.ingester import Ingester
from ioc.ingest.service import run_ingester
from ioc.ingest.store import Store
from ioc.mqtt.paho import PahoSource
from ioc.mqtt.subscriber import FastSource
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto, LocalPostgres
from ioc.topics import FEED_FILTER
from tests import backends
from tests.backends import Backend

_databases = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "timescaledb: about a TimescaleDB object; runs on the TimescaleDB backend only"
    )
    config.addinivalue_line(
        "markers",
        "plain_postgresql: about the plain-PostgreSQL rollup tables' refresher; runs there only",
    )
    backends.configure(config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # `pg_backend` is the root of every database fixture: parametrizing it here (rather than
    # with fixture params) lets a test about a TimescaleDB object run on that backend only
    if "pg_backend" in metafunc.fixturenames:
        chosen = backends.for_test(metafunc.definition)
        metafunc.parametrize(
            "pg_backend", chosen, ids=[b.name for b in chosen], indirect=True, scope="session"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backends.deselect_unavailable(config, items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    backends.record(item, report)
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    backends.summary(terminalreporter)


@pytest.fixture(scope="session")
def pg_backend(request: pytest.FixtureRequest) -> Backend:
    """The database backend of this test: plain PostgreSQL, or PostgreSQL with TimescaleDB."""
    return request.param


def pytest_unconfigure(config: pytest.Config) -> None:
    backends.remove_server_root()


@pytest.fixture(scope="session")
def postgres(pg_backend: Backend) -> Iterator[LocalPostgres]:
    """The session's server of this backend, with a migrated template database."""
    with pg_backend.server("session") as server:
        backends.prepare_template(server, pg_backend)
        yield server


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMosquitto]:
    with LocalMosquitto(tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture
def database(postgres: LocalPostgres) -> Iterator[str]:
    """A new, migrated database (a copy of the session's template), dropped at the end of the
    test; returns its DSN."""
    name = f"test_{os.getpid()}_{next(_databases)}"
    dsn = postgres.create_database(name, template=backends.TEMPLATE)
    yield dsn
    postgres.drop_database(name)


@pytest.fixture
def empty_database(postgres: LocalPostgres) -> Iterator[str]:
    """A new database with nothing in it (not migrated), dropped at the end of the test."""
    name = f"empty_{os.getpid()}_{next(_databases)}"
    dsn = postgres.create_database(name)
    yield dsn
    postgres.drop_database(name)


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    yield conn
    await conn.close()


@pytest.fixture
def client_id(request: pytest.FixtureRequest) -> str:
    # the digest keeps two long test ids (the same test on two backends) apart after the cut
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"test-{digest}-{os.getpid()}-{request.node.name}"[:60]


@pytest.fixture(params=["fast", "paho"])
async def ingester(
    request: pytest.FixtureRequest, broker: LocalMosquitto, database: str, client_id: str
) -> AsyncIterator[Ingester]:
    """An ingester running in this event loop, subscribed before the fixture returns; once
    with each receive path (FastSource, PahoSource)."""
    source_class = FastSource if request.param == "fast" else PahoSource
    source = source_class(MqttUrl(broker.url), FEED_FILTER, client_id=client_id, max_pending=2000)
    service = Ingester(
        source, Store(database, connections=2), batch_size=500, flush_interval=0.02
    )
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_ingester(
            service, stop=stop, handle_signals=False, progress_interval=0.05, progress_settle=0.1
        )
    )
    deadline = time.monotonic() + 10
    while not source.subscribed:
        assert time.monotonic() < deadline, "the ingester did not subscribe"
        await asyncio.sleep(0.02)
    # and has recorded that it caught up (ioc/completeness.py): alerter tests judge at once
    conn = await asyncpg.connect(database)
    try:
        while not await conn.fetchval(
            "SELECT complete_until IS NOT NULL FROM data_completeness WHERE source = $1",
            f"ingester:{client_id}",
        ):
            assert time.monotonic() < deadline, "the ingester did not record its progress"
            await asyncio.sleep(0.02)
    finally:
        await conn.close()
    yield service
    stop.set()
    await asyncio.wait_for(task, 20)


@pytest.fixture
async def publish(
    broker: LocalMosquitto, client_id: str
) -> AsyncIterator[Callable[[str, bytes], Awaitable[None]]]:
    """Publish raw bytes at QoS 1 to the test broker."""
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier=f"{client_id}-pub") as client:

        async def send(topic: str, payload: bytes) -> None:
            await client.publish(topic, payload, qos=1)

        yield send


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def count_rows(conn: asyncpg.Connection, table: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table}")


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
