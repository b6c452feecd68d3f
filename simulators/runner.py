"""Driving a simulation against the wall clock (live) or as fast as the broker goes (backfill).

The clock is a port (``ioc.runtime.TimingClock``): ``SIMULATION_CLOCK``, the system clock in
Vietnam's time zone, is the only reader of the wall clock here; tests and tools pass their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ioc.models import VN_TZ
from ioc.mqtt.publisher import FastPublisher
from ioc.runtime import SystemClock, TimingClock
from simulators.control import ScenarioCommand
from simulators.engine import Scenario, Simulation

log = logging.getLogger(__name__)


SIMULATION_CLOCK = SystemClock(VN_TZ)


@dataclass(slots=True)
class RunStats:
    generated: int
    published: int
    seconds: float
    reconnects: int
    retries: int
    failed: int
    replayed: int = 0
    """Acknowledged messages published again after a reconnect (in case the broker lost
    them in a crash; the ingester stores each event once)."""
    unrouted: int = 0
    """MQTT 5: messages no subscriber took within the replay window (given up)."""
    waited: float = 0.0
    """Seconds spent waiting for the broker's acknowledgements (backfill only)."""
    paced: float = 0.0
    """Seconds paused because the broker's backlog was above ``max_backlog``."""

    @property
    def rate(self) -> float:
        """Published events per wall-clock second."""
        return self.published / self.seconds if self.seconds > 0 else 0.0


class LiveRun:
    """Simulated time starts at ``sim_start`` and runs ``speed`` times faster than the wall."""

    def __init__(
        self,
        sim: Simulation,
        publisher: FastPublisher,
        *,
        speed: float = 1.0,
        duration: float | None = None,
        count: int | None = None,
        clock: TimingClock | None = None,
        tick: float = 0.1,
        sim_start: datetime | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.sim = sim
        self.publisher = publisher
        self.speed = speed
        self.duration = duration
        self.count = count
        self.clock = clock or SIMULATION_CLOCK
        self.tick = tick
        self.stop = asyncio.Event()
        self.generated = 0
        self._sim_start = sim_start or sim.now
        self._wall_start = self.clock.monotonic()
        """Simulated time ``_sim_start`` (default: the simulation's now) is wall-clock
        ``_wall_start``, set at construction: a backfill published before ``run`` is caught
        up with at once."""

    def sim_time(self) -> datetime:
        elapsed = self.clock.monotonic() - self._wall_start
        return self._sim_start + timedelta(seconds=elapsed * self.speed)

    def apply(self, command: ScenarioCommand) -> list[Scenario]:
        """Apply a scenario command from the current simulated time (logged, never raises)."""
        now = max(self.sim.now, self.sim_time())
        try:
            applied = command.apply(self.sim, now)
        except ValueError as exc:
            log.warning("scenario command refused: %s", exc)
            return []
        for scenario in applied:
            log.warning(
                "scenario %s on in %s (target %s) from %s to %s", scenario.name,
                scenario.province, scenario.target, scenario.start.isoformat(timespec="seconds"),
                scenario.end.isoformat(timespec="seconds"),
            )
        return applied

    async def run(self, drain_timeout: float = 30.0) -> RunStats:
        """Publish until ``duration`` wall seconds or ``count`` events, or until ``stop``.

        Each event is sent as it falls due (the publisher waits only for a full window or the
        broker's backlog); at the end what was sent gets ``drain_timeout`` seconds to be
        acknowledged, and what is still unacknowledged counts as failed.
        """
        started = self.clock.monotonic()
        send = self.publisher.send
        while not self.stop.is_set():
            if self.duration is not None and self.clock.monotonic() - started >= self.duration:
                break
            for event in self.sim.events_until(max(self.sim.now, self.sim_time())):
                await send(event.topic,
                           event.to_json())
                self.generated += 1
                if self.count is not None and self.generated >= self.count:
                    self.stop.set()
                if self.stop.is_set():
                    break
            if not self.stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), self.tick)
        await _flush(self.publisher, None, drain_timeout)
        return _stats(self.generated, self.clock.monotonic() - started, self.publisher,
                      self.publisher.in_flight)


async def backfill(
    sim: Simulation,
    publisher: FastPublisher,
    *,
    end: datetime,
    stop: asyncio.Event | None = None,
    progress: Callable[[datetime, int], None] | None = None,
    clock: TimingClock | None = None,
    every: int = 2_000,
    drain_timeout: float = 30.0,
) -> RunStats:
    """Publish every event up to ``end`` as fast as the broker acknowledges them.

    The generator sends directly (the publisher waits only for a full window or the broker's
    backlog) and the acknowledgements are awaited at the end. The returned rate counts
    acknowledged events over the wall time, final acknowledgements included. After ``stop``,
    what was sent gets ``drain_timeout`` seconds to be acknowledged; the rest counts as failed.

    ``progress(simulated_time, events_generated)`` is called every ``every`` events.
    """
    clock = clock or SIMULATION_CLOCK
    started = clock.monotonic()
    generated = 0
    stopped = False
    send = publisher.send
    for event in sim.events_until(end):
        await send(event.topic, event.to_json())
        generated += 1
        if progress is not None and generated % every == 0:
            progress(event.occurred_at, generated)
        if stop is not None and stop.is_set():
            stopped = True
            break
    await _flush(publisher, stop, drain_timeout)
    if progress is not None and not stopped:
        progress(end, generated)
    stats = _stats(generated, clock.monotonic() - started, publisher, publisher.in_flight)
    stats.waited, stats.paced = publisher.window_wait, publisher.backlog_wait
    return stats


async def _flush(publisher: FastPublisher, stop: asyncio.Event | None, timeout: float) -> None:
    """Wait for every acknowledgement; once ``stop`` is set, ``timeout`` seconds at most."""
    flush = asyncio.ensure_future(publisher.flush())
    if stop is not None and not stop.is_set():
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait((flush, stopping), return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
    if not flush.done():
        await asyncio.wait((flush,), timeout=timeout)
    if flush.done():
        flush.result()  # raises what stopped the publisher (a refusal)
    else:
        flush.cancel()
        await asyncio.gather(flush, return_exceptions=True)


def _stats(generated: int, seconds: float, publisher: FastPublisher, failed: int) -> RunStats:
    return RunStats(
        generated=generated,
        published=publisher.published,
        seconds=seconds,
        reconnects=publisher.reconnects,
        retries=publisher.retries,
        failed=failed,
        replayed=publisher.replayed,
        unrouted=publisher.unrouted,
    )
