"""``RollupRefresher``: the running ingester's background task that keeps the dashboards'
rollups current (``ioc.storage.rollups.refresh`` every few seconds, ``prune`` every hour).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from ioc.connect import connect_database
from ioc.runtime import StateLog
from ioc.storage.rollups import RefreshResult, prune, refresh

__all__ = ["RollupRefresher"]

log = logging.getLogger(__name__)


class RollupRefresher:
    """Keeps the rollups current while the ingester runs, every ``interval`` seconds.

    Plain PostgreSQL: recompute the hours touched since the last refresh
    (refresh_rollup_tables). TimescaleDB: start the refresh policies of the aggregates with
    changes waiting (request_rollup_refresh), so late and backfilled events reach them within
    seconds; the policies run as the aggregates' owner, which the ingester is not.

    Its own connection, its own task: ``Store.write`` is untouched. A failure is logged when
    it changes (not on every retry) and never stops the ingester.
    """

    def __init__(
        self,
        dsn: str | None,
        *,
        interval: float = 10.0,
        prune_every: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn = dsn
        self.interval = interval
        self.prune_every = prune_every
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._failure = StateLog(log, "rollup refresh failed, retrying", state_key="error")
        self.refreshes = 0
        self.last: RefreshResult | None = None

    async def __aenter__(self) -> RollupRefresher:
        if self._dsn:
            self._task = asyncio.create_task(self._run(), name="rollup-refresher")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            await self._last_refresh()

    async def _last_refresh(self, timeout: float = 10.0) -> None:
        """One more refresh as the ingester stops, after its last batch is committed, so that
        a stopped stack's rollups hold every stored row (plain PostgreSQL; on TimescaleDB the
        policies would get there by themselves). Never raises: stopping must not fail."""
        try:
            conn = await connect_database(self._dsn or "", timeout=5)
            try:
                await asyncio.wait_for(refresh(conn, margin=timedelta(0)), timeout)
            finally:
                conn.terminate()
        except Exception as exc:  # the database is away: the next start catches up
            log.info("no last rollup refresh", extra={"error": f"{type(exc).__name__}: {exc}"})

    async def _run(self) -> None:
        conn: asyncpg.Connection | None = None
        last_prune = float("-inf")
        try:
            while True:
                try:
                    if conn is None or conn.is_closed():
                        conn = await connect_database(self._dsn or "", timeout=5)
                    result = await refresh(conn)
                    self.refreshes += 1
                    self.last = result
                    if self._clock() - last_prune >= self.prune_every:
                        await prune(conn)
                        last_prune = self._clock()
                    log.debug("rollups refreshed", extra={"detail": str(result)})
                    self._report(None)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database restart, a missing migration: retry
                    self._report(f"{type(exc).__name__}: {exc}")
                    if conn is not None:
                        conn.terminate()
                        conn = None
                await asyncio.sleep(self.interval)
        finally:
            if conn is not None:
                conn.terminate()

    @property
    def last_error(self) -> str | None:
        """Why the last refresh failed; None once one has worked."""
        return self._failure.last

    def _report(self, error: str | None) -> None:
        """A failure when it changes, and the recovery after one."""
        failing = self._failure.last is not None
        if self._failure(error) and error is None and failing:
            log.info("rollup refresh works again")
