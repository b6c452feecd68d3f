"""Real processes for fault tests: an ``ioc ingest`` process and a QoS 1 stream publisher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import paho.mqtt.client as paho
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from ioc.models import EVENT_TYPES, Event
from ioc.tools.local import free_port
from tests.factories import payment


class IngesterProcess:
    """``python -m ioc.cli.root ingest`` with its own environment, log file and metrics port."""

    def __init__(self, mqtt_url: str, dsn: str, client_id: str, log_dir: Path, **env: str) -> None:
        self.metrics_port = free_port()
        self.env = dict(
            os.environ,
            IOC_MQTT_URL=mqtt_url,
            IOC_DATABASE_URL=dsn,
            IOC_INGEST_CLIENT_ID=client_id,
            IOC_INGEST_METRICS_PORT=str(self.metrics_port),
            IOC_LOG_LEVEL="INFO",
            **env,
        )
        self.log_path = log_dir / f"{client_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IngesterProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ioc.cli", "ingest"], env=self.env, stdout=log, stderr=log
            )
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process and self.process.poll() is None, self.log()
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=1) as response:
                    if response.status == 200:
                        time.sleep(0.3)  # SUBACK follows CONNACK
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"ingester not ready: {self.log()}")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.url("/metrics"), timeout=2) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def rss(self) -> int:
        assert self.process
        return psutil.Process(self.process.pid).memory_info().rss

    def kill(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


@contextlib.contextmanager
def ingester_and_publisher(
    broker_url: str, broker_port: int, dsn: str, name: str, log_dir: Path
) -> Iterator[tuple[IngesterProcess, paho.Client]]:
    """A migrated database's ``ioc ingest`` process, ready, and a connected paho publisher
    (for the property tests, which publish many small batches to one ingester)."""
    asyncio.run(_migrate(dsn))
    ingester = IngesterProcess(broker_url, dsn, f"{name}-ingester", log_dir)
    ingester.start().wait_ready()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-publisher")
    client.connect("127.0.0.1", broker_port)
    client.loop_start()
    try:
        yield ingester, client
    finally:
        client.loop_stop()
        client.disconnect()
        assert ingester.stop() == 0, ingester.log()


async def _migrate(dsn: str) -> None:
    from ioc.storage.migrations import migrate

    await migrate(dsn)


class StreamPublisher(threading.Thread):
    """Publishes ``messages`` at QoS 1 from a paho client that reconnects by itself.

    paho keeps unacknowledged QoS 1 messages and sends them again after a reconnect, and
    queues what is published while disconnected, so a broker restart loses nothing.
    """

    def __init__(
        self,
        port: int,
        messages: Sequence[tuple[str, bytes]],
        *,
        rate: float | None = None,
        client_id: str = "stream-publisher",
    ) -> None:
        super().__init__(daemon=True)
        self.messages = messages
        self.rate = rate
        self.published = 0
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.connect("127.0.0.1", port, 30)
        self.client.loop_start()
        self.infos: list[paho.MQTTMessageInfo] = []

    def run(self) -> None:
        begin = time.perf_counter()
        for index, (topic, payload) in enumerate(self.messages):
            if self.rate:
                delay = begin + index / self.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            self.infos.append(self.client.publish(topic, payload, qos=1))
            self.published += 1

    def finish(self, timeout: float = 120) -> None:
        self.join(timeout)
        deadline = time.monotonic() + timeout
        for info in self.infos:
            # a message published while disconnected reports "not connected" but stays queued
            # and is sent after the reconnect: wait for its PUBACK (is_published() would raise
            # on the first attempt's return code, so read the flag the PUBACK sets)
            while not info._published:
                assert time.monotonic() < deadline, "publisher: messages never acknowledged"
                time.sleep(0.01)
        self.client.loop_stop()
        self.client.disconnect()


def payment_stream(
    count: int, province: str = "binh-duong", district: str = "di-an"
) -> list[Event]:
    return [payment(province=province, district=district) for _ in range(count)]


def as_messages(events: Sequence[Event]) -> list[tuple[str, bytes]]:
    return [(e.topic, e.to_json()) for e in events]


async def _stored_ids(dsn: str) -> tuple[int, set[str]]:
    conn = await asyncpg.connect(dsn)
    try:
        total, ids = 0, set()
        for model in EVENT_TYPES.values():
            rows = await conn.fetch(f"SELECT event_id::text FROM {model.table}")
            total += len(rows)
            ids.update(r[0] for r in rows)
        return total, ids
    finally:
        await conn.close()


def stored_ids(dsn: str) -> tuple[int, set[str]]:
    """(row count, distinct event ids) over every event table."""
    return asyncio.run(_stored_ids(dsn))


def count_stored(dsn: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(dsn)
        try:
            return sum(
                [
                    await conn.fetchval(f"SELECT count(*) FROM {m.table}")
                    for m in EVENT_TYPES.values()
                ]
            )
        finally:
            await conn.close()

    return asyncio.run(count())


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met within {timeout}s")
        time.sleep(interval)
