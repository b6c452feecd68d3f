"""How far the stored events are complete: "everything that happened before T is in".

The alerter must not judge data the ingester has not stored yet: on a first start while the
history backfill is still arriving, a window of the last 15 minutes holds nothing and a
"portal down" rule would fire on it; after an ingester outage the same happens until the
broker's queue is drained. So the writers record claims in ``data_completeness``
(db/migrations/0009_data_completeness.sql), and the alerter reads the point T up to which
every claim agrees; a pass whose windows end past T (plus a small allowance for the
ingester's own lag) keeps every alert as it is: nothing fires, nothing resolves.

- ``IngesterProgress`` (in the running ingester): "every message the broker had for me
  before T is committed". T advances whenever the ingester holds nothing uncommitted (its
  acknowledgement window is empty, so the broker is not holding anything back for it), but
  only once it has been connected for ``settle`` seconds, so that a persistent session's
  queue has started to arrive. A new ingester claims nothing (NULL) until then; a stopped
  one keeps its last T, which falls behind.
- ``BackfillHold`` (around a backfill of history): "the events after its start are still
  arriving". Released when the backfill has published everything, it stops counting once
  every ingester has caught up past the release.

``decide`` is the pure rule; claims past their ``expires_at`` (a killed backfill, an
ingester renamed or retired a day ago) are ignored, and with no claim at all (a database
filled by something else) the data counts as complete, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, Self

import asyncpg

log = logging.getLogger(__name__)

INGESTER_CLAIM_TTL = timedelta(days=1)
"""An ingester's claim counts this long after its last refresh (then it is retired)."""
BACKFILL_CLAIM_TTL = timedelta(minutes=2)
"""A backfill refreshes its hold well within this; a killed one stops holding after it."""
NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Claim:
    source: str
    kind: str  # "ingester" | "backfill"
    complete_until: datetime | None
    released_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Completeness:
    """Up to when the stored data is complete, and why not further."""

    until: datetime | None
    """None: no claim says otherwise (complete up to any ``now``)."""
    reason: str

    def covers(self, now: datetime, allowance: timedelta) -> bool:
        """True when a window ending at ``now`` is complete (within ``allowance``)."""
        return self.until is None or now - self.until <= allowance

    def describe(self) -> str:
        when = "nothing" if self.until in (None, NEVER) else f"{self.until.isoformat()}"
        return f"stored data complete up to {when}: {self.reason}"


def decide(claims: Sequence[Claim], now: datetime) -> Completeness:
    """The point up to which every live claim says the data is complete."""
    live = [c for c in claims if c.expires_at > now]
    ingesters = [c for c in live if c.kind == "ingester"]
    until: datetime | None = None
    reason = "no claim"
    behind = [c for c in ingesters if c.complete_until is None]
    if behind:
        return Completeness(NEVER, f"ingester {behind[0].source} has not caught up yet")
    for claim in ingesters:
        assert claim.complete_until is not None
        if until is None or claim.complete_until < until:
            until, reason = claim.complete_until, f"ingester {claim.source} stored up to then"
    caught_up = until if ingesters else None
    for claim in live:
        if claim.kind != "backfill" or claim.complete_until is None:
            continue
        if claim.released_at is not None and (caught_up is None or caught_up >= claim.released_at):
            continue  # finished, and the ingesters have stored what it published
        if until is None or claim.complete_until < until:
            until, reason = claim.complete_until, f"backfill {claim.source} in progress"
    return Completeness(until, reason)


# -- the table -------------------------------------------------------------------------------


class Executor(Protocol):
    async def execute(self, query: str, *args: object) -> Any: ...
    async def fetch(self, query: str, *args: object) -> Sequence[Any]: ...


async def read_claims(conn: Executor) -> list[Claim]:
    rows = await conn.fetch(
        "SELECT source, kind, complete_until, released_at, expires_at FROM data_completeness"
    )
    return [Claim(**dict(row)) for row in rows]


async def write_claim(
    conn: Executor,
    source: str,
    kind: str,
    now: datetime,
    *,
    complete_until: datetime | None,
    keep_until: bool = False,
    released_at: datetime | None = None,
    ttl: timedelta,
) -> None:
    """Insert or refresh a claim; ``keep_until``: an existing row keeps its complete_until."""
    await conn.execute(
        """
        INSERT INTO data_completeness
            (source, kind, complete_until, released_at, updated_at, expires_at)
        VALUES ($1, $2, $3, $4, $5, $5::timestamptz + $6::interval)
        ON CONFLICT (source) DO UPDATE SET
            kind = EXCLUDED.kind,
            complete_until = CASE WHEN $7 THEN data_completeness.complete_until
                                  ELSE EXCLUDED.complete_until END,
            released_at = EXCLUDED.released_at,
            updated_at = EXCLUDED.updated_at,
            expires_at = EXCLUDED.expires_at""",
        source,
        kind,
        complete_until,
        released_at,
        now,
        ttl,
        keep_until,
    )


async def prune(conn: Executor, now: datetime) -> None:
    await conn.execute("DELETE FROM data_completeness WHERE expires_at < $1", now)


# -- the writers ------------------------------------------------------------------------------


class ProgressSource(Protocol):
    """What ``IngesterProgress`` reads of the ingester's message source."""

    connected: bool
    subscribed: bool

    def pending(self) -> int: ...


class Progressing(Protocol):
    source: ProgressSource
    idle_at: tuple[datetime, float] | None
    """(clock time, monotonic time) when it last held nothing uncommitted."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


class IngesterProgress:
    """Records how far an ingester has committed what the broker had for it."""

    def __init__(
        self,
        ingester: Progressing,
        dsn: str,
        *,
        client_id: str,
        interval: float = 1.0,
        settle: float = 2.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.ingester = ingester
        self.dsn = dsn
        self.source = f"ingester:{client_id}"
        self.interval = interval
        self.settle = settle
        self.clock = clock
        self.claimed: datetime | None = None
        self._connected_since: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._failing = False

    def caught_up(self) -> datetime | None:
        """The latest instant before which all is committed, or None (not since connected)."""
        source = self.ingester.source
        if not (source.connected and source.subscribed):
            self._connected_since = None
            return None
        if self._connected_since is None:
            self._connected_since = time.monotonic()
        idle = self.ingester.idle_at
        if idle is not None and idle[1] - self._connected_since >= self.settle:
            return idle[0]
        return None

    async def _write(self, conn: asyncpg.Connection) -> None:
        at = self.caught_up()
        if at is not None and (self.claimed is None or at > self.claimed):
            self.claimed = at
        await write_claim(
            conn,
            self.source,
            "ingester",
            self.clock(),
            # not caught up yet: a restarted ingester keeps the claim it left (still true)
            complete_until=self.claimed,
            keep_until=self.claimed is None,
            ttl=INGESTER_CLAIM_TTL,
        )

    async def _run(self) -> None:
        conn: asyncpg.Connection | None = None
        first = True
        while True:
            try:
                if conn is None or conn.is_closed():
                    conn = await asyncpg.connect(self.dsn, timeout=5)
                await self._write(conn)
                if first:
                    await prune(conn, self.clock())
                first = False
                if self._failing:
                    log.info("data completeness recorded again")
                self._failing = False
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if not self._failing:
                    log.warning("cannot record data completeness: %s", exc)
                self._failing = True
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None
            if self._stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.interval)
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()  # one last write: what the batches in hand committed
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._task, 10)


class BackfillHold:
    """Says "a backfill from ``start`` is in progress" for as long as it is entered.

    ``release()`` (when everything is published) turns the hold into "over once the
    ingesters have stored up to now"; leaving without release (the backfill failed or was
    stopped) leaves the hold to expire, since what was not published is not in.
    """

    def __init__(
        self,
        dsn: str,
        *,
        source: str,
        start: datetime,
        refresh: float = 30.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.dsn = dsn
        self.source = f"backfill:{source}"
        self.start = start
        self.refresh = refresh
        self.clock = clock
        self.released_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    async def _write(self) -> None:
        conn = await asyncpg.connect(self.dsn, timeout=5)
        try:
            await write_claim(
                conn,
                self.source,
                "backfill",
                self.clock(),
                complete_until=self.start,
                released_at=self.released_at,
                # released: it ends by itself once the ingesters catch up; give them time
                ttl=BACKFILL_CLAIM_TTL if self.released_at is None else timedelta(hours=1),
            )
        finally:
            await conn.close()

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.refresh)
            try:
                await self._write()
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("cannot refresh the backfill's hold: %s", exc)

    async def release(self) -> None:
        self.released_at = self.clock()
        await self._write()

    async def begin(self) -> None:
        """Record the hold (before the alerter can judge anything) and keep it fresh."""
        await self._write()
        self._task = asyncio.create_task(self._refresh())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.released_at is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
                await self._write()  # keeps it alive until the ingesters catch up

    async def __aenter__(self) -> Self:
        await self.begin()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
