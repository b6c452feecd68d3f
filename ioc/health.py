"""``HealthServer``: ``/healthz``, ``/readyz`` and ``/metrics`` of a long-running process (the
ingester, the alerter) over plain asyncio.

``/healthz`` says the process is alive; ``/readyz`` asks the process (``ready``) whether it
can do its work; ``/metrics`` is the Prometheus text format of every metric registered.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

__all__ = ["HealthServer"]


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
