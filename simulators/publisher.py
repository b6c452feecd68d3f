"""Publishing events to the broker: QoS 1, reconnect with backoff, bounded in-flight messages.

``Publisher`` wraps one aiomqtt 2.5 client. ``publish`` returns once the broker has
acknowledged the message (PUBACK). A watcher task notices a lost connection at once and
reconnects (exponential backoff, 0.1 s doubling up to ``max_backoff``); a publish that fails
or whose PUBACK does not come within ``timeout`` is repeated on the new connection, so
nothing is lost. A message whose acknowledgement was lost may arrive twice, which the
ingester recognises by its ``event_id``. Any number of tasks may publish at once: a
semaphore keeps at most ``max_inflight`` messages unacknowledged (and paho's own window is
set to the same), so a fast backfill waits for the broker instead of filling memory, and
only one task reconnects while the others wait for it.

``PublishQueue`` runs worker tasks that drain a bounded queue into a ``Publisher``: the
generator awaits ``put`` and so runs exactly as fast as the broker takes messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Self

import aiomqtt

from ioc.models import Event
from ioc.settings import MqttUrl
from ioc.topics import feed_topic

log = logging.getLogger(__name__)

__all__ = ["PublishQueue", "Publisher", "PublisherClosed", "default_client_id", "make_client"]


class PublisherClosed(RuntimeError):
    """``publish`` was called on (or was waiting in) a publisher that has been closed."""


def default_client_id(prefix: str = "ioc-sim") -> str:
    return f"{prefix}-{os.getpid()}"


def make_client(
    url: MqttUrl,
    *,
    identifier: str,
    ca_file: str | Path | None = None,
    max_inflight: int | None = None,
    timeout: float | None = None,
) -> aiomqtt.Client:
    """An aiomqtt client for ``url`` (credentials from the URL, TLS for ``mqtts://``)."""
    tls_context = ssl.create_default_context(cafile=ca_file) if url.tls else None
    client = aiomqtt.Client(
        url.host,
        url.port,
        username=url.username,
        password=url.password,
        identifier=identifier,
        tls_context=tls_context,
        max_inflight_messages=max_inflight,
        timeout=timeout,
    )
    if max_inflight is not None:  # aiomqtt warns past this many pending publishes; ours is a choice
        client.pending_calls_threshold = max_inflight + 1
    return client


class Publisher:
    """A QoS 1 publisher that survives broker restarts (an async context manager)."""

    def __init__(
        self,
        url: MqttUrl,
        *,
        client_id: str | None = None,
        max_inflight: int = 100,
        ca_file: str | Path | None = None,
        timeout: float = 5.0,
        max_backoff: float = 10.0,
        client_factory: Callable[[], aiomqtt.Client] | None = None,
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self.url = url
        self.client_id = client_id or default_client_id()
        self.max_inflight = max_inflight
        self.timeout = timeout
        self.max_backoff = max_backoff
        self._factory = client_factory or (
            lambda: make_client(
                url, identifier=self.client_id, ca_file=ca_file,
                max_inflight=max_inflight, timeout=timeout,
            )
        )
        self.published = 0
        """Messages acknowledged by the broker."""
        self.retries = 0
        """Publish attempts that failed and were repeated after a reconnect."""
        self.reconnects = 0
        self._client: aiomqtt.Client | None = None
        self._generation = 0
        self._lock: asyncio.Lock | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        self._last_state = ""
        self._watcher: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def __aenter__(self) -> Self:
        self._lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(self.max_inflight)
        await self._reconnect(self._generation)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await _close(client)
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)

    async def publish(self, event: Event) -> None:
        """Publish ``event`` to its feed topic; return when the broker has acknowledged it."""
        await self.publish_raw(feed_topic(event.province, event.feed, event.district),
                               event.to_json())

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish a payload at QoS 1, retrying through reconnects until it is acknowledged."""
        if self._slots is None:
            raise RuntimeError("use the Publisher as an async context manager")
        async with self._slots:
            while True:
                if self._closed:
                    raise PublisherClosed("the publisher is closed")
                client, generation = self._client, self._generation
                if client is None:
                    await self._reconnect(generation)
                    continue
                try:
                    await client.publish(topic, payload, qos=1, retain=retain,
                                         timeout=self.timeout)
                except aiomqtt.MqttError as exc:
                    self.retries += 1
                    self._state(f"publish failed ({exc}); reconnecting")
                    await self._reconnect(generation)
                    continue
                self.published += 1
                return

    async def _reconnect(self, generation: int) -> None:
        """Replace the client of ``generation`` by a connected one (once, for all callers)."""
        assert self._lock is not None
        async with self._lock:
            if generation != self._generation or self._closed:
                return  # another task has reconnected already (or we are closing)
            old, self._client = self._client, None
            if old is not None:
                await _close(old)
            delay = 0.1
            while not self._closed:
                client = self._factory()
                try:
                    await client.__aenter__()
                except aiomqtt.MqttError as exc:
                    self._state(f"broker {self.url.host}:{self.url.port} unreachable ({exc}); "
                                f"retrying every {self.max_backoff:.0f} s at most")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.max_backoff)
                    continue
                if self._generation > 0:
                    self.reconnects += 1
                self._generation += 1
                self._client = client
                self._watcher = asyncio.create_task(self._watch(client, self._generation))
                self._state(f"connected to {self.url.host}:{self.url.port}", level=logging.INFO)
                return

    async def _watch(self, client: aiomqtt.Client, generation: int) -> None:
        """Reconnect as soon as the connection of ``generation`` is lost.

        Nothing is subscribed, so ``client.messages`` yields nothing; it raises ``MqttError``
        when the connection drops (which also consumes aiomqtt's disconnect exception).
        """
        try:
            async for _ in client.messages:
                pass
        except aiomqtt.MqttError as exc:
            if generation == self._generation and not self._closed:
                self._state(f"connection lost ({exc}); reconnecting")
                await self._reconnect(generation)

    def _state(self, state: str, level: int = logging.WARNING) -> None:
        """Log a state when it changes, not on every retry."""
        if state != self._last_state:
            self._last_state = state
            log.log(level, "mqtt %s", state, extra={"client_id": self.client_id})


async def _close(client: aiomqtt.Client) -> None:
    with contextlib.suppress(Exception):
        await client.__aexit__(None, None, None)


class PublishQueue:
    """Worker tasks publishing events from a bounded queue (an async context manager).

    ``put`` waits while the queue is full, which paces the producer to the broker. On exit
    the queue is drained (up to ``drain_timeout`` seconds) and the workers stop.
    """

    def __init__(
        self,
        publisher: Publisher,
        *,
        workers: int | None = None,
        maxsize: int = 2000,
        drain_timeout: float = 30.0,
    ) -> None:
        self.publisher = publisher
        self.workers = workers or publisher.max_inflight
        self.drain_timeout = drain_timeout
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self._tasks: list[asyncio.Task[None]] = []
        self.failed = 0

    async def __aenter__(self) -> Self:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), self.drain_timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def put(self, event: Event) -> None:
        await self._queue.put(event)

    async def drain(self) -> None:
        """Wait until every queued event has been published."""
        await self._queue.join()

    async def _work(self) -> None:
        queue = self._queue
        while True:
            event = await queue.get()
            try:
                await self.publisher.publish(event)
            except PublisherClosed:
                self.failed += 1
            except Exception:  # a bug must not silently stop a worker
                self.failed += 1
                log.exception("publishing %s failed", event.event_id)
            finally:
                queue.task_done()
