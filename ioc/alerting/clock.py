"""The one place that reads the wall clock.

Everything else takes a ``Clock`` (or a ``now`` passed down from one) as an argument, so a
test runs an hour of alerting in a second by passing a clock it moves itself. One ``now`` is
read per evaluation pass and passed through the whole pass: every rule, every notification
decision and every stored timestamp of that pass agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    """The real clock (UTC)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


SYSTEM_CLOCK = SystemClock()
