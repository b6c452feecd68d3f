"""The ingester: MQTT feeds in, rows committed, then acknowledged.

One loop: take a batch from the message source (closed on size, on a short timer, or when the
queue runs empty), decode each message at the boundary into an event or a dead letter, write
the batch in one transaction, acknowledge it. While the database is unavailable the same batch
is retried with backoff and nothing more is read (the source stops reading once its pending
window is full), so memory stays bounded and nothing is lost. On SIGINT/SIGTERM intake stops,
the batch in hand is committed and acknowledged, and the connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ioc import metrics
from ioc.boundary import DeadLetter, decode
from ioc.models import Event
from ioc.mqtt import MessageSource, Received
from ioc.store import Store, StoreUnavailable

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    batches: int = 0
    retries: int = 0
    by_feed: dict[str, int] = field(default_factory=dict)
    last_commit_at: float | None = None


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with a cap: 0.2 s, 0.4 s, ... up to ``maximum``."""

    initial: float = 0.2
    maximum: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * (2 ** max(0, attempt - 1)))


class Ingester:
    def __init__(
        self,
        source: MessageSource,
        store: Store,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.05,
        max_payload_bytes: int = 64 * 1024,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.source = source
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock
        self.backoff = backoff
        self.stats = IngestStats()
        self.database_ok: bool | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Stop taking new batches; the batch in hand is still committed and acknowledged."""
        self._stop.set()

    def decode_batch(self, messages: list[Received]) -> tuple[list[Event], list[DeadLetter]]:
        now = self.clock()
        events: list[Event] = []
        dead: list[DeadLetter] = []
        for message in messages:
            item = decode(
                message.topic,
                message.payload,
                received_at=now,
                max_payload_bytes=self.max_payload_bytes,
            )
            if isinstance(item, Event):
                events.append(item)
            else:
                dead.append(item)
                metrics.DEAD_LETTERED.labels(reason=item.reason.value).inc()
                log.info(
                    "dead letter",
                    extra={"topic": item.topic, "reason": item.reason.value, "detail": item.detail},
                )
        return events, dead

    async def run(self) -> None:
        while not self._stop.is_set():
            messages = await self.source.batch(self.batch_size, self.flush_interval)
            if not messages:
                continue
            await self.handle(messages)

    async def handle(self, messages: list[Received]) -> None:
        """Decode, store (retrying while the database is unavailable), then acknowledge."""
        self.stats.received += len(messages)
        metrics.RECEIVED.inc(len(messages))
        events, dead = self.decode_batch(messages)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                result = await self.store.write(events, dead)
                break
            except StoreUnavailable as exc:
                attempt += 1
                self.stats.retries += 1
                metrics.WRITE_RETRIES.inc()
                self._set_database_ok(False, str(exc))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.backoff.delay(attempt))
                if self._stop.is_set():
                    # Stopping during an outage: give the batch up unacknowledged (the broker
                    # redelivers it to the next session) rather than hang until the database
                    # returns.
                    self.source.release(messages)
                    log.warning(
                        "stopped with the database unavailable; batch left to the broker",
                        extra={"messages": len(messages)},
                    )
                    return
        self._set_database_ok(True)
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(messages))
        for rejected in result.rejected:
            metrics.DEAD_LETTERED.labels(reason=rejected.reason.value).inc()
            log.warning(
                "row refused by the database",
                extra={"topic": rejected.topic, "detail": rejected.detail},
            )
        self.source.ack(messages)
        metrics.STORED.inc(result.stored)
        metrics.DUPLICATES.inc(result.duplicates)
        stats = self.stats
        stats.batches += 1
        stats.stored += result.stored
        stats.duplicates += result.duplicates
        stats.dead_lettered += result.dead_lettered
        stats.last_commit_at = time.time()
        for event in events:
            stats.by_feed[event.feed.value] = stats.by_feed.get(event.feed.value, 0) + 1

    def _set_database_ok(self, ok: bool, detail: str = "") -> None:
        if ok != self.database_ok:
            self.database_ok = ok
            metrics.DATABASE_UP.set(1 if ok else 0)
            if ok:
                log.info("database available")
            else:
                log.warning("database unavailable; retrying the batch", extra={"detail": detail})
