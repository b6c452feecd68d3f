"""The ingester: MQTT feeds in, rows committed, then acknowledged.

One loop: take a batch from the message source (closed on size, on a short timer, or when the
queue runs empty), decode each message at the boundary into an event or a dead letter, write
the batch in one transaction, acknowledge it. Up to ``store.connections`` batches are written
at once, each in its own transaction on its own connection, so that one batch is decoded and
copied while PostgreSQL commits another; acknowledgements still go out in the order the
messages arrived (MQTT asks for it, and it keeps "acknowledged" meaning "this and everything
before it is committed"). While the database is unavailable each batch is retried with backoff
and nothing more is read (the source stops reading once its pending window is full), so memory
stays bounded and nothing is lost. On SIGINT/SIGTERM intake stops, the batches in hand are
committed and acknowledged, and the connections close.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ioc.ingest import metrics
from ioc.ingest.boundary import DeadLetter, decode_all
from ioc.ingest.store import Store, StoreUnavailable
from ioc.models import DEFAULT_TIME_LIMITS, Event, TimeLimits
from ioc.mqtt.port import MessageSource, Received
from ioc.runtime import Backoff, utc_now

log = logging.getLogger(__name__)


GC_GEN0_THRESHOLD = 50_000
"""Allocations between two young-generation collections in ``ioc ingest`` (CPython: 700)."""


def tune_gc_for_ingest() -> None:
    """Make the cyclic garbage collector cheap for the ingester's process, once started.

    Each batch allocates thousands of objects that live until its commit (events, their
    dicts, rows), so at the default threshold the collector runs every ~700 allocations and
    walks them, and its full collections walk every module, model schema and connection
    loaded at start-up: 5-15 µs of an event's CPU in ``ioc bench`` (BENCHMARKS.md, "The
    ingester's CPU"). What start-up loaded is moved out of the collector's sight
    (``gc.freeze``), and the young generation is collected every ``GC_GEN0_THRESHOLD``
    allocations. Memory is still freed by reference counting as before; only garbage in
    reference cycles waits longer. Not for a process that runs other things (the tests):
    the frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, older, oldest)


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


@dataclass(eq=False)
class _Turn:
    """A batch's place in the acknowledgement order."""

    messages: list[Received]
    done: bool = False
    released: bool = False


class Ingester:
    def __init__(
        self,
        source: MessageSource,
        store: Store,
        *,
        batch_size: int = 500,
        flush_interval: float = 0.05,
        linger: float = 0.0,
        max_payload_bytes: int = 64 * 1024,
        time_limits: TimeLimits = DEFAULT_TIME_LIMITS,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff = Backoff(),
    ) -> None:
        self.source = source
        self.store = store
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.linger = linger
        self.max_payload_bytes = max_payload_bytes
        self.time_limits = time_limits
        self.clock = clock
        self.backoff = backoff
        self.stats = IngestStats()
        self.database_ok: bool | None = None
        self.idle_at: tuple[datetime, float] | None = None
        """(clock, monotonic) when it last held nothing uncommitted (ioc/completeness.py)."""
        self._stop = asyncio.Event()
        self._turns: deque[_Turn] = deque()

    def stop(self) -> None:
        """Stop taking new batches; the batch in hand is still committed and acknowledged."""
        self._stop.set()

    def decode_batch(self, messages: list[Received]) -> tuple[list[Event], list[DeadLetter]]:
        events: list[Event] = []
        dead: list[DeadLetter] = []
        decoded = decode_all(
            [(message.topic, message.payload) for message in messages],
            received_at=self.clock(),
            max_payload_bytes=self.max_payload_bytes,
            limits=self.time_limits,
        )
        for item in decoded:
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
        """Take batches until stopped, writing up to ``store.connections`` of them at once."""
        slots = asyncio.Semaphore(self.store.connections)
        writing: set[asyncio.Task[None]] = set()
        failure: list[BaseException] = []

        def finished(task: asyncio.Task[None]) -> None:
            writing.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                failure.append(task.exception())  # type: ignore[arg-type]
                self._stop.set()

        try:
            while not self._stop.is_set():
                await slots.acquire()
                if self._stop.is_set():
                    slots.release()
                    break
                if writing:
                    await self._fill_while_committing(writing)
                messages = await self.source.batch(self.batch_size, self.flush_interval)
                if messages and len(messages) < self.batch_size and self.linger > 0:
                    messages += await self._linger(len(messages))
                if not messages:
                    slots.release()
                    self._note_idle()
                    continue
                turn = self._take_turn(messages)
                task = asyncio.create_task(self.handle(messages, turn))
                writing.add(task)
                task.add_done_callback(finished)
        finally:
            if writing:
                await asyncio.gather(*writing, return_exceptions=True)
        if failure:
            raise failure[0]

    async def _fill_while_committing(self, writing: set[asyncio.Task[None]]) -> None:
        """Group commit: while a batch commits, let the next one fill rather than open a
        transaction for a handful of events; stop waiting when the batch is full, a write
        has finished, or ``flush_interval`` has passed. At full speed batches fill at once
        and two are written at the same time; at moderate rates this keeps the cost per
        event (a transaction is shared by the batch) near the full-speed figure."""
        deadline = time.monotonic() + self.flush_interval
        while self.source.queued() < self.batch_size and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            done, _ = await asyncio.wait(
                writing, timeout=min(left, 0.002), return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                return

    async def _linger(self, taken: int) -> list[Received]:
        """A batch that is not full waits up to ``linger`` for more messages, then takes
        them. At moderate rates a transaction per handful of events costs several times the
        CPU per event of a full batch (BENCHMARKS.md, the ingester's batches); a few ms more
        latency buy most of it back. At full speed batches are full and never wait."""
        deadline = time.monotonic() + self.linger
        while taken + self.source.queued() < self.batch_size and not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(left, 0.005))
        return await self.source.batch(self.batch_size - taken, 0)

    def _take_turn(self, messages: list[Received]) -> _Turn:
        turn = _Turn(messages)
        self._turns.append(turn)
        return turn

    def _finish(self, turn: _Turn, *, released: bool = False) -> None:
        """Mark ``turn`` written (or given up); acknowledge every finished batch at the head."""
        turn.done, turn.released = True, released
        turns = self._turns
        while turns and turns[0].done:
            head = turns.popleft()
            if not head.released:
                self.source.ack(head.messages)
        self._note_idle()

    def _note_idle(self) -> None:
        """Everything received is committed: what the broker had for us is stored."""
        if not self._turns and self.source.pending() == 0:
            self.idle_at = (self.clock(), time.monotonic())

    async def handle(self, messages: list[Received], turn: _Turn | None = None) -> None:
        """Decode, store (retrying while the database is unavailable), then acknowledge.

        The acknowledgement waits for the batches taken before this one (``turn``: its place
        in the order, taken when the batch was; a direct call takes the next place).
        """
        turn = turn or self._take_turn(messages)
        try:
            written = await self._store(messages)
        except BaseException:
            # not written: the broker redelivers it; later batches must not wait for it
            self.source.release(messages)
            self._finish(turn, released=True)
            raise
        if not written:
            self.source.release(messages)
        self._finish(turn, released=not written)

    async def _store(self, messages: list[Received]) -> bool:
        """Decode and write one batch; False if stopped during an outage (not written)."""
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
                    log.warning(
                        "stopped with the database unavailable; batch left to the broker",
                        extra={"messages": len(messages)},
                    )
                    return False
        self._set_database_ok(True)
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.BATCH_SIZE.observe(len(messages))
        for rejected in result.rejected:
            metrics.DEAD_LETTERED.labels(reason=rejected.reason.value).inc()
            log.warning(
                "event dead-lettered by the store",
                extra={
                    "topic": rejected.topic,
                    "reason": rejected.reason.value,
                    "detail": rejected.detail,
                },
            )
        metrics.STORED.inc(result.stored)
        metrics.DUPLICATES.inc(result.duplicates)
        stats = self.stats
        stats.batches += 1
        stats.stored += result.stored
        stats.duplicates += result.duplicates
        stats.dead_lettered += result.dead_lettered
        stats.last_commit_at = time.time()
        by_feed = stats.by_feed
        for model, count in Counter(map(type, events)).items():  # not ``.value`` per event
            feed = model.feed.value
            by_feed[feed] = by_feed.get(feed, 0) + count
        return True

    def _set_database_ok(self, ok: bool, detail: str = "") -> None:
        # the gauge is set on every write, not only on a change: ``run_ingester`` may have
        # set ``database_ok`` from its first ping already, and the gauge must say so too
        metrics.DATABASE_UP.set(1 if ok else 0)
        if ok != self.database_ok:
            self.database_ok = ok
            if ok:
                log.info("database available")
            else:
                log.warning("database unavailable; retrying the batch", extra={"detail": detail})
