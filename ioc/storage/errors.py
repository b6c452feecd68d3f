"""Which database errors are worth retrying, for every writer (the ingester's store, the
alert store).

A connection or resource problem (class 08, 53, 57P, serialisation failures and deadlocks)
may pass: the same work is retried, with backoff, by the caller. A data error (class 22, 23,
or a value asyncpg cannot encode) is the rows' fault and can only fail again: the row is
dead-lettered. Telegraf's postgresql output draws the same line.
"""

from __future__ import annotations

import asyncio

import asyncpg
from asyncpg.exceptions._base import DataError as _ClientDataError

__all__ = ["is_data_error", "is_retryable"]


def is_retryable(exc: BaseException) -> bool:
    """A connection or resource problem: the same work may succeed later."""
    if is_data_error(exc):
        return False
    if isinstance(exc, (OSError, asyncio.TimeoutError, asyncpg.InterfaceError)):
        return True
    if isinstance(exc, asyncpg.InternalClientError):
        # e.g. "cannot switch to state 15; another operation (2) is in progress": an idle
        # connection that took the server's shutdown message; a new connection will do
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        # 08 connection, 53 resources (disk full, out of memory, too many connections),
        # 57P operator intervention (shutdown, cannot connect now), 40001/40P01 transient.
        return state[:2] in ("08", "53") or state.startswith("57P") or state in ("40001", "40P01")
    return False


def is_data_error(exc: BaseException) -> bool:
    """The rows are bad, not the connection: retrying them can only fail again.

    Server side: class 22 data exception (NUL in text, out of range), 23 integrity violation.
    Client side: asyncpg encodes each value before it is sent (COPY included), and a value it
    cannot encode raises there: OverflowError ("date value out of range"), ValueError, or
    asyncpg's own client ``DataError`` (an ``InterfaceError``, and so otherwise taken for a
    lost connection and retried forever). The model refuses what it knows cannot be stored;
    this is the defence in depth, so that a value nobody foresaw costs one row, not the
    ingester.
    """
    if isinstance(exc, asyncpg.PostgresError):
        return (exc.sqlstate or "")[:2] in ("22", "23")
    return isinstance(exc, (OverflowError, ValueError, _ClientDataError))
