"""What every long-running part shares at run time, below everything else.

``Clock``/``SystemClock``  the clock port and the one reader of the wall clock; tests pass a
                           clock they move themselves (Alertmanager's ``DedupStage.now``);
                           ``TimingClock`` adds ``monotonic`` for durations
``utc_now``                the system clock's ``now``, for code that takes a callable
``Backoff``                exponential backoff with a cap, for every reconnect and retry
``StateLog``               log a repeating state (a failure, a recovery) when it changes, not
                           on every retry
``stop_on_signals``        SIGINT/SIGTERM call a stop function while a service runs
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

__all__ = [
    "SYSTEM_CLOCK",
    "Backoff",
    "Clock",
    "StateLog",
    "SystemClock",
    "TimingClock",
    "stop_on_signals",
    "utc_now",
]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class TimingClock(Clock, Protocol):
    """A clock that also measures durations (what drives a simulation against real time)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...


class SystemClock:
    """The real clock; ``now`` in ``tz`` (UTC unless told)."""

    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK = SystemClock()


def utc_now() -> datetime:
    """The system clock's current time, in UTC."""
    return SYSTEM_CLOCK.now()


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with a cap: 0.2 s, 0.4 s, ... up to ``maximum``."""

    initial: float = 0.2
    maximum: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.maximum, self.initial * (2 ** max(0, attempt - 1)))


class StateLog:
    """Logs a state only when it differs from the last one: a connection that keeps failing
    the same way is one line, not one per retry, and the next different state (the recovery,
    another failure) is logged again.

    ``message`` is a %-format with one ``%s`` for the state, or, with ``state_key``, a fixed
    message with the state in ``extra[state_key]``; ``context`` goes into every record's
    ``extra``. A state of None (all is well) is never logged.
    """

    def __init__(
        self,
        logger: logging.Logger,
        message: str = "%s",
        *,
        state_key: str | None = None,
        **context: object,
    ) -> None:
        self.logger = logger
        self.message = message
        self.state_key = state_key
        self.context = context
        self.last: str | None = None

    def __call__(self, state: str | None, level: int = logging.WARNING, **extra: object) -> bool:
        """Log ``state`` at ``level`` if it is not the last one; True if it was logged."""
        if state == self.last:
            return False
        self.last = state
        if state is None:
            return True
        if self.state_key:
            extra = {self.state_key: state, **extra}
            self.logger.log(level, self.message, extra={**self.context, **extra})
        else:
            self.logger.log(level, self.message, state, extra={**self.context, **extra})
        return True

    def set(self, state: str | None) -> None:
        """Take ``state`` as the last one without logging it (it was said another way)."""
        self.last = state


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], object], *, enabled: bool = True) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM call ``stop`` (on the running event loop); the
    handlers are removed on the way out. ``enabled=False`` does nothing, for a service run
    inside another that handles the signals itself (the demo, the tests)."""
    if not enabled:
        yield
        return
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
