"""Prometheus metrics of the ingester, and the small HTTP server that serves them.

Every message that does not become a stored row is counted somewhere: as a duplicate, or as
a dead letter by reason. ``/healthz`` says the process is alive; ``/readyz`` says it is
connected to both the broker and the database; ``/metrics`` is the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

RECEIVED = Counter("ioc_ingest_messages_received", "MQTT messages received")
STORED = Counter("ioc_ingest_events_stored", "Events stored (new rows)")
DUPLICATES = Counter("ioc_ingest_duplicates_ignored", "Redelivered events already stored")
DEAD_LETTERED = Counter(
    "ioc_ingest_dead_lettered", "Messages stored as dead letters, by reason", ["reason"]
)
WRITE_RETRIES = Counter("ioc_ingest_write_retries", "Batch writes retried (database unavailable)")
BATCH_SIZE = Histogram(
    "ioc_ingest_batch_size",
    "Messages per committed batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
COMMIT_SECONDS = Histogram(
    "ioc_ingest_commit_seconds",
    "Time to write and commit one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
AWAITING_ACK = Gauge("ioc_ingest_awaiting_ack", "Messages received, not yet acknowledged")
BROKER_UP = Gauge("ioc_ingest_broker_connected", "1 when connected to the MQTT broker")
DATABASE_UP = Gauge("ioc_ingest_database_connected", "1 when the last write reached the database")


class HealthServer:
    """/healthz, /readyz and /metrics over plain asyncio (no web framework needed)."""

    def __init__(
        self, host: str, port: int, ready: Callable[[], bool], *, setting: str | None = None
    ) -> None:
        """``setting``: the variable that chose the port, named when it cannot be used."""
        self.host, self.port, self.ready = host, port, ready
        self.setting = setting
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> HealthServer:
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            if self.setting is None:
                raise
            from ioc.connect import port_unusable

            raise port_unusable(exc, self.setting, self.host, self.port) from exc
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else "/"
            if path == "/metrics":
                status, body, ctype = "200 OK", generate_latest(), CONTENT_TYPE_LATEST
            elif path == "/healthz":
                status, body, ctype = "200 OK", b"ok\n", "text/plain"
            elif path == "/readyz":
                ok = self.ready()
                status = "200 OK" if ok else "503 Service Unavailable"
                body, ctype = (b"ready\n" if ok else b"not ready\n"), "text/plain"
            else:
                status, body, ctype = "404 Not Found", b"not found\n", "text/plain"
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()
