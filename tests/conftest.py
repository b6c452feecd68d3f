"""Real components for the tests: a Mosquitto and a PostgreSQL started here, on free ports.

Both run on 127.0.0.1 for the whole session and are stopped at its end. Each test that needs
a database gets a fresh, migrated one; each test names its MQTT client ids after itself.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiomqtt
import asyncpg
import pytest

from ioc.db import migrate
from ioc.fastmqtt import FastSource
from ioc.ingester import Ingester
from ioc.local import LocalMosquitto, LocalPostgres
from ioc.mqtt import PahoSource
from ioc.service import run_ingester
from ioc.settings import MqttUrl
from ioc.store import Store
from ioc.topics import FEED_FILTER

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    server = LocalPostgres(tmp_path_factory.mktemp("pg") / "data", durable=False)
    with server:
        yield server


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMosquitto]:
    with LocalMosquitto(tmp_path_factory.mktemp("mosquitto")) as server:
        yield server


@pytest.fixture
async def database(postgres: LocalPostgres) -> str:
    """A new, migrated database; returns its DSN."""
    dsn = postgres.create_database(f"test_{os.getpid()}_{next(_databases)}")
    await migrate(dsn)
    return dsn


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    yield conn
    await conn.close()


@pytest.fixture
def client_id(request: pytest.FixtureRequest) -> str:
    return f"test-{request.node.name}-{os.getpid()}"[:60]


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
    task = asyncio.create_task(run_ingester(service, stop=stop, handle_signals=False))
    deadline = time.monotonic() + 10
    while not source.subscribed:
        assert time.monotonic() < deadline, "the ingester did not subscribe"
        await asyncio.sleep(0.02)
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
