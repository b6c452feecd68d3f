"""The PostgreSQL/TimescaleDB side of ingestion: one batch, one transaction.

``Store.write`` COPYs each feed's events into a session-local temporary table, claims their
ids in ``event_ids`` (keyed by ``event_id`` alone, on both backends: the event tables' keys
must include ``occurred_at`` on TimescaleDB), inserts the newly claimed ones into the event
tables, folds them into the current-state tables ``dossiers``, ``incidents`` and ``payments``
(latest by ``occurred_at``, ties broken by lifecycle order, never by arrival), and stores the
batch's dead letters, all in one transaction. An event whose id is already claimed is a
duplicate when it is the same event (same digest of its values) and a dead letter
(``conflicting_duplicate``, naming both ``occurred_at`` values) when it is not. Only after
``write`` returns may the messages be acknowledged to the broker.

Errors are classified at this boundary (as Telegraf's postgresql output does):

    StoreError
    ├── StoreUnavailable   connection lost, server shutting down, out of resources (class 08,
    │                      53, 57P), serialization failure or deadlock: retry the whole batch
    └── (data errors)      class 22/23: never retried as they are; ``write`` bisects the batch
                           and dead-letters the rows PostgreSQL refuses, storing the rest
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from ioc.ingest.boundary import DeadLetter, DeadLetterReason
from ioc.models import (
    EVENT_TYPES,
    FINAL_DOSSIER_STATUSES,
    FINAL_INCIDENT_STATUSES,
    FINAL_PAYMENT_STATUSES,
    DossierEvent,
    Event,
    IncidentEvent,
    PaymentEvent,
)
from ioc.runtime import utc_now
from ioc.storage.errors import is_data_error, is_retryable

log = logging.getLogger(__name__)


class StoreError(Exception):
    """Base of the store's errors."""


class StoreUnavailable(StoreError):
    """The database cannot take the batch now; the same batch should be retried later."""


class SchemaMissing(StoreUnavailable):
    """The tables are not there: run ``ioc db migrate``."""


_ENVELOPE_ONLY = ("event_id", "schema_version", "occurred_at", "source")


@dataclass(frozen=True)
class StateTable:
    """How a feed's events fold into a current-state table."""

    table: str
    key: str
    rank_function: str
    final_statuses: frozenset[str]

    def upsert_sql(self, model: type[Event], source_table: str) -> str:
        columns = [c for c in model.columns() if c not in _ENVELOPE_ONLY]
        finals = ", ".join(f"'{s}'" for s in sorted(self.final_statuses))
        select = ", ".join(columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c != self.key)
        return f"""
            INSERT INTO {self.table} AS s
                ({select}, finished_at, last_event_id, last_event_at)
            SELECT DISTINCT ON ({self.key})
                {select},
                CASE WHEN status IN ({finals}) THEN occurred_at END,
                event_id, occurred_at
            FROM {source_table}
            ORDER BY {self.key}, occurred_at DESC, {self.rank_function}(status) DESC
            ON CONFLICT ({self.key}) DO UPDATE SET
                {updates},
                finished_at = EXCLUDED.finished_at,
                last_event_id = EXCLUDED.last_event_id,
                last_event_at = EXCLUDED.last_event_at,
                updated_at = now()
            WHERE (EXCLUDED.last_event_at, {self.rank_function}(EXCLUDED.status))
                > (s.last_event_at, {self.rank_function}(s.status))
        """


STATE_TABLES: dict[type[Event], StateTable] = {
    DossierEvent: StateTable(
        "dossiers",
        "dossier_id",
        "dossier_status_rank",
        frozenset(s.value for s in FINAL_DOSSIER_STATUSES),
    ),
    IncidentEvent: StateTable(
        "incidents",
        "report_id",
        "incident_status_rank",
        frozenset(s.value for s in FINAL_INCIDENT_STATUSES),
    ),
    # a transaction is one or two events (pending, then settled): one row, its final state
    PaymentEvent: StateTable(
        "payments",
        "transaction_id",
        "payment_status_rank",
        frozenset(s.value for s in FINAL_PAYMENT_STATUSES),
    ),
}

DEAD_LETTER_COLUMNS = ("received_at", "topic", "payload", "reason", "detail")


def _temp_table(model: type[Event]) -> str:
    return f"ingest_{model.table}"


def _claim_sql(models: Sequence[type[Event]]) -> str:
    """Claim the batch's ids, every feed in one statement in ``event_id`` order (so that two
    writers holding the same redelivered ids take their locks in the same order); an id seen
    twice in the batch is claimed by its first occurrence. Returns the ids claimed now."""
    staged = " UNION ALL ".join(
        f"SELECT event_id, '{m.feed.value}' AS feed, occurred_at, batch_index "
        f"FROM {_temp_table(m)}"
        for m in models
    )
    return f"""
        INSERT INTO event_ids (event_id, feed, occurred_at)
        SELECT DISTINCT ON (event_id) event_id, feed, occurred_at
        FROM ({staged}) AS staged
        ORDER BY event_id, batch_index
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
    """


def _insert_sql(model: type[Event]) -> str:
    """Store a feed's new staged events (all but those at the positions ``$1``) and fold them
    into its current state, in one statement. Returns how many event rows were inserted."""
    listed = ", ".join(model.columns())
    sql = f"""
        WITH staged AS (
            SELECT * FROM {_temp_table(model)} WHERE batch_index <> ALL($1::integer[])
        ), stored AS (
            INSERT INTO {model.table} ({listed})
            SELECT {listed} FROM staged ORDER BY event_id, occurred_at
            ON CONFLICT DO NOTHING
            RETURNING 1
        )"""
    state = STATE_TABLES.get(model)
    if state is not None:
        sql += f", folded AS ({state.upsert_sql(model, 'staged')})"
    return sql + " SELECT count(*) FROM stored"


def _classify_sql(models: Sequence[type[Event]]) -> str:
    """For the staged rows (ids claimed before, or a second occurrence in the batch): is each
    the event stored already under its id (a duplicate: same feed, same ``occurred_at``, the
    same values in every column), and if not, what was claimed. Run after the batch's own
    rows are inserted and in a statement of its own, so that it sees those and the ids another
    writer committed while the claim waited for them. An id whose row is gone (expired by
    retention before its id was forgotten) cannot be compared and counts as a duplicate."""
    parts = []
    for m in models:
        columns = [c for c in m.columns() if c not in ("event_id", "occurred_at")]
        stored = ", ".join(f"t.{c}" for c in columns)
        staged = ", ".join(f"s.{c}" for c in columns)
        parts.append(f"""
            SELECT s.batch_index, e.feed, e.occurred_at,
                e.feed = '{m.feed.value}' AND e.occurred_at = s.occurred_at AND NOT EXISTS (
                    SELECT 1 FROM {m.table} t
                    WHERE t.event_id = s.event_id AND t.occurred_at = s.occurred_at
                      AND ({stored}) IS DISTINCT FROM ({staged})
                ) AS same
            FROM {_temp_table(m)} s JOIN event_ids e USING (event_id)
            WHERE s.batch_index = ANY($1::integer[])""")
    return " UNION ALL ".join(parts)


@dataclass
class WriteResult:
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    rejected: list[DeadLetter] = field(default_factory=list)
    """Events stored as dead letters instead: refused by PostgreSQL (data errors), or a
    different event under an id stored already (conflicting duplicates)."""

    def add(self, other: WriteResult) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.dead_lettered += other.dead_lettered
        self.rejected += other.rejected


def _clean_text(value: str) -> str:
    return value.replace("\x00", "\\0")


class Store:
    """Writes batches over up to ``connections`` dedicated connections, reconnecting when lost.

    ``write`` may be awaited by several tasks at once: each takes an idle connection (or opens
    one) and gives it back after its transaction. The ingester writes one batch per connection
    concurrently so that PostgreSQL commits one batch while the next is being decoded and
    copied (see ``Ingester``). Each connection has its own temporary tables.
    """

    def __init__(
        self,
        dsn: str,
        *,
        connect_timeout: float = 5.0,
        connections: int = 1,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if connections < 1:
            raise ValueError("a store needs at least one connection")
        self._dsn = dsn
        self._clock = clock  # when a row the database refused became a dead letter
        self._connect_timeout = connect_timeout
        self.connections = connections
        self._idle: list[asyncpg.Connection] = []
        self._busy = 0
        self._slots: asyncio.Semaphore | None = None
        self._insert_sql = {model: _insert_sql(model) for model in EVENT_TYPES.values()}
        self._claim_sql: dict[tuple[type[Event], ...], str] = {}
        self._classify_sql: dict[tuple[type[Event], ...], str] = {}

    @property
    def dsn(self) -> str:
        return self._dsn

    @property
    def connected(self) -> bool:
        """A connection is open (idle or in a transaction)."""
        return self._busy > 0 or any(not conn.is_closed() for conn in self._idle)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """An open connection of this store for one unit of work.

        A connection that raises anything but a data error (whose transaction has been rolled
        back) is closed, its state being unknown; the next caller opens a new one, so a lost
        connection is replaced on the next attempt.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.connections)
        async with self._slots:
            conn = None
            while self._idle and conn is None:
                candidate = self._idle.pop()
                if candidate.is_closed():
                    continue
                conn = candidate
            if conn is None:
                conn = await self._connect()
            self._busy += 1
            try:
                yield conn
            except BaseException as exc:
                if is_data_error(exc) and not conn.is_closed():
                    self._idle.append(conn)
                else:
                    conn.terminate()
                raise
            else:
                self._idle.append(conn)
            finally:
                self._busy -= 1

    async def _connect(self) -> asyncpg.Connection:
        try:
            conn = await asyncpg.connect(
                # UTC: the digest reads timestamps as the session's time zone writes them
                # (db/migrations/0006_exactly_once.sql)
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"timezone": "UTC"},
            )
        except Exception as exc:
            if is_retryable(exc) or isinstance(exc, asyncpg.PostgresError):
                raise StoreUnavailable(f"cannot connect to the database: {exc}") from exc
            raise
        try:
            for model in EVENT_TYPES.values():
                await conn.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {_temp_table(model)} "
                    f"(LIKE {model.table} INCLUDING DEFAULTS, batch_index integer NOT NULL) "
                    "ON COMMIT DELETE ROWS"
                )
        except asyncpg.UndefinedTableError as exc:
            await conn.close()
            raise SchemaMissing("the event tables do not exist: run `ioc db migrate`") from exc
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def close(self) -> None:
        """Close the idle connections (call when no write is running)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    async def ping(self) -> bool:
        try:
            async with self._connection() as conn:
                await conn.fetchval("SELECT 1", timeout=2)
            return True
        except Exception:
            return False

    async def write(
        self, events: Sequence[Event], dead_letters: Sequence[DeadLetter]
    ) -> WriteResult:
        """Store a batch atomically; bisect around rows PostgreSQL refuses.

        Raises ``StoreUnavailable`` when the batch should be retried as a whole later.
        """
        try:
            return await self._write_once(events, dead_letters)
        except Exception as exc:
            if is_data_error(exc):
                return await self._isolate(events, dead_letters, exc)
            if is_retryable(exc):
                raise StoreUnavailable(f"database unavailable: {exc}") from exc
            if isinstance(exc, asyncpg.UndefinedTableError):
                raise SchemaMissing(f"{exc}: run `ioc db migrate`") from exc
            raise

    async def _isolate(
        self, events: Sequence[Event], dead_letters: Sequence[DeadLetter], exc: BaseException
    ) -> WriteResult:
        if not events:
            return await self._isolate_dead_letters(dead_letters, exc)
        if len(events) <= 1:
            rejected = [
                DeadLetter(
                    topic=event.topic,
                    payload=event.to_json(),
                    reason=DeadLetterReason.DB_REJECTED,
                    detail=_clean_text(f"database refused the row: {exc}"),
                    received_at=self._clock(),
                )
                for event in events
            ]
            result = await self.write([], [*dead_letters, *rejected])
            result.rejected += rejected
            return result
        middle = len(events) // 2
        result = await self.write(events[:middle], dead_letters)
        result.add(await self.write(events[middle:], []))
        return result

    async def _isolate_dead_letters(
        self, dead_letters: Sequence[DeadLetter], exc: BaseException
    ) -> WriteResult:
        """A dead letter the database refuses (which should not happen: its text is cleaned)
        is kept in a last-resort form, its topic and detail as ASCII escapes, so that it
        cannot loop back here."""
        if len(dead_letters) > 1:
            middle = len(dead_letters) // 2
            result = await self.write([], dead_letters[:middle])
            result.add(await self.write([], dead_letters[middle:]))
            return result
        if not dead_letters:
            raise exc
        (letter,) = dead_letters
        def ascii_text(text: str) -> str:
            return _clean_text(text.encode("ascii", "backslashreplace").decode())

        safe = DeadLetter(
            topic=ascii_text(letter.topic),
            payload=letter.payload,
            reason=letter.reason,
            detail=ascii_text(f"{letter.detail} (database refused the dead letter: {exc})"),
            received_at=self._clock(),
        )
        if safe == letter:
            raise exc
        return await self._write_once([], [safe])

    async def _write_once(
        self, events: Sequence[Event], dead_letters: Sequence[DeadLetter]
    ) -> WriteResult:
        result = WriteResult()
        conflicts: list[DeadLetter] = []
        async with self._connection() as conn, conn.transaction():
            # Locks are taken in one order by every writer: the ids in event_id order (one
            # statement), then the tables in a fixed order with their rows in key order (the
            # inserts ORDER BY the primary key, the state upserts by their key). Two batches
            # written at once, even holding the same redelivered events, cannot deadlock.
            if events:
                by_model: dict[type[Event], list[tuple]] = defaultdict(list)
                for index, event in enumerate(events):
                    by_model[type(event)].append((*event.row(), index))
                models = tuple(model for model in EVENT_TYPES.values() if model in by_model)
                for model in models:
                    await conn.copy_records_to_table(
                        _temp_table(model),
                        records=by_model[model],
                        columns=(*model.columns(), "batch_index"),
                    )
                others = await self._claim(conn, events, models)
                for model in models:
                    staged = len(by_model[model]) - sum(
                        1 for index in others if type(events[index]) is model
                    )
                    stored = await conn.fetchval(self._insert_sql[model], others)
                    result.stored += stored
                    # a claimed id whose row is there already (stored twice before 0006)
                    result.duplicates += staged - stored
                if others:
                    conflicts = await self._set_aside(conn, events, models, others, result)
            letters = [*dead_letters, *conflicts]
            if letters:
                await conn.copy_records_to_table(
                    "dead_letters",
                    records=[
                        (
                            d.received_at,
                            _clean_text(d.topic),
                            d.payload,
                            d.reason.value,
                            _clean_text(d.detail),
                        )
                        for d in letters
                    ],
                    columns=DEAD_LETTER_COLUMNS,
                )
                result.dead_lettered += len(letters)
        result.rejected += conflicts
        return result

    async def _claim(
        self, conn: asyncpg.Connection, events: Sequence[Event], models: tuple[type[Event], ...]
    ) -> list[int]:
        """Claim the staged batch's ids; returns the positions of the events not claimed now
        (ids claimed before, or seen earlier in the batch)."""
        sql = self._claim_sql.get(models)
        if sql is None:
            sql = self._claim_sql[models] = _claim_sql(models)
        claimed = {row[0] for row in await conn.fetch(sql)}
        others: list[int] = []
        seen: set[object] = set()
        for index, event in enumerate(events):
            if event.event_id in seen or event.event_id not in claimed:
                others.append(index)
            seen.add(event.event_id)
        return others

    async def _set_aside(
        self,
        conn: asyncpg.Connection,
        events: Sequence[Event],
        models: tuple[type[Event], ...],
        positions: list[int],
        result: WriteResult,
    ) -> list[DeadLetter]:
        """The staged events at ``positions`` (ids claimed already) were not stored: a
        duplicate is counted, a different event under a claimed id becomes a dead letter."""
        sql = self._classify_sql.get(models)
        if sql is None:
            sql = self._classify_sql[models] = _classify_sql(models)
        conflicts = []
        now = self._clock()
        for index, feed, stored_at, same in await conn.fetch(sql, positions):
            if same:
                result.duplicates += 1
                continue
            event = events[index]
            conflicts.append(
                DeadLetter(
                    topic=event.topic,
                    payload=event.to_json(),
                    reason=DeadLetterReason.CONFLICTING_DUPLICATE,
                    detail=(
                        f"event_id {event.event_id} is stored already as a {feed} event with "
                        f"occurred_at {stored_at.isoformat()}; this {event.feed.value} event "
                        f"with occurred_at {event.occurred_at.isoformat()} differs from it"
                    ),
                    received_at=now,
                )
            )
        return conflicts
