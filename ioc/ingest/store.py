"""The PostgreSQL/TimescaleDB side of ingestion: one batch, one statement.

``Store.write`` sends a batch as one statement (``BATCH_SQL``): each feed's events as one
array of its event table's own row type, with their positions in the batch, and the batch's
dead letters. In it, PostgreSQL claims the ids in ``event_ids`` (keyed by ``event_id`` alone,
on both backends: the event tables' keys must include ``occurred_at`` on TimescaleDB), every
claim before anything else, then inserts the newly claimed events into the event tables,
folds them into the current-state tables ``dossiers``, ``incidents`` and ``payments`` (latest
by ``occurred_at``, ties broken by lifecycle order, never by arrival) and stores the dead
letters: one round trip and one transaction (the statement's own) per batch, no staging
table. The rare event whose id was claimed already (a redelivery, or a second message under
a stored id) is compared afterwards with the stored row, column by column: a duplicate when
it is the same event, a dead letter (``conflicting_duplicate``, naming both ``occurred_at``
values) when it is not, stored by a second statement. Both are idempotent, so a crash between
them only means a redelivery. Only after ``write`` returns may the messages be acknowledged
to the broker.

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
import operator
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


_TABLE_COLUMNS_SQL = """
    SELECT a.attname
    FROM pg_attribute a
    WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum
"""

TABLES_CHANGED = (asyncpg.DatatypeMismatchError, asyncpg.UndefinedColumnError)
"""What the batch statement raises when a table's row type changed since it was built."""

_BEFORE_0010_SQL = """
    SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'event_ids'::regclass
                   AND attname = 'digest' AND NOT attisdropped)
"""


@dataclass(frozen=True)
class _Layout:
    """A feed's event table as the batch statement sends it: one array of the table's row
    type, whose records have the table's columns in the table's order (columns added by later
    migrations come after ``ingested_at``, which is sent null and takes its default)."""

    model: type[Event]
    table_columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.model.feed.value

    def record_maker(self) -> Callable[[tuple], tuple]:
        """Makes a record of the table's row type from ``Event.row()``."""
        columns = self.model.columns()
        pick = operator.itemgetter(
            *(columns.index(c) if c in columns else len(columns) for c in self.table_columns)
        )

        def record(row: tuple) -> tuple:
            return pick((*row, None))

        return record

    def staged_sql(self, rows: int, positions: int) -> str:
        """The feed's rows of the batch, with their positions in it (``batch_index``)."""
        return (
            f"SELECT * FROM ROWS FROM (unnest(${rows}::{self.model.table}[]), "
            f"unnest(${positions}::integer[])) AS s({', '.join(self.table_columns)}, batch_index)"
        )


def _batch_sql(layouts: Sequence[_Layout]) -> str:
    """The statement that writes a batch (see the module docstring). Parameters: a row array
    and a position array per feed, in ``layouts`` order, then the dead letters' columns as
    arrays. Returns the events stored and the positions of the events claimed now.

    Locks are taken in one order by every writer: every id first, in ``event_id`` order (the
    claim is complete before ``new`` is read, through its array subquery), then each event
    table in a fixed order with its rows in primary-key order, then each state table with its
    rows in key order. Two batches written at once, even holding the same redelivered events,
    cannot deadlock."""
    parts = [f"staged_{x.name} AS ({x.staged_sql(2 * i + 1, 2 * i + 2)})"
             for i, x in enumerate(layouts)]
    ids = " UNION ALL ".join(
        f"SELECT event_id, '{x.name}'::text AS feed, occurred_at, batch_index FROM staged_{x.name}"
        for x in layouts
    )
    parts.append(f"staged AS ({ids})")
    parts.append("""claimed AS (
            INSERT INTO event_ids (event_id, feed, occurred_at)
            SELECT DISTINCT ON (event_id) event_id, feed, occurred_at FROM staged
            ORDER BY event_id, batch_index
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id)""")
    parts.append("""new AS (
            SELECT DISTINCT ON (event_id) event_id, batch_index FROM staged
            WHERE event_id = ANY ((SELECT array_agg(event_id) FROM claimed)::uuid[])
            ORDER BY event_id, batch_index)""")
    counts = []
    for x in layouts:
        listed = ", ".join(x.model.columns())
        parts.append(
            f"new_{x.name} AS (SELECT s.* FROM staged_{x.name} s "
            f"WHERE s.batch_index IN (SELECT batch_index FROM new))"
        )
        parts.append(f"""stored_{x.name} AS (
            INSERT INTO {x.model.table} ({listed})
            SELECT {listed} FROM new_{x.name} ORDER BY event_id, occurred_at
            ON CONFLICT DO NOTHING
            RETURNING 1)""")
        counts.append(f"(SELECT count(*) FROM stored_{x.name})")
    for x in layouts:
        state = STATE_TABLES.get(x.model)
        if state is not None:
            parts.append(f"folded_{x.name} AS ({state.upsert_sql(x.model, f'new_{x.name}')})")
    n = 2 * len(layouts)
    columns = ", ".join(DEAD_LETTER_COLUMNS)
    parts.append(f"""letters AS (
            INSERT INTO dead_letters ({columns})
            SELECT * FROM unnest(${n + 1}::timestamptz[], ${n + 2}::text[], ${n + 3}::bytea[],
                                 ${n + 4}::text[], ${n + 5}::text[]))""")
    return (
        "WITH " + ",\n".join(parts)
        + f"\nSELECT {' + '.join(counts)} AS stored, ARRAY(SELECT batch_index FROM new) AS new"
    )


def _classify_sql(layouts: Sequence[_Layout]) -> str:
    """For events not claimed by their batch (ids claimed before, or seen earlier in the
    batch), sent as the batch statement sends them: is each the event stored already under
    its id (a duplicate: same feed, same ``occurred_at``, the same values in every column),
    and if not, what was claimed. It runs after the batch statement has committed, so it sees
    the batch's own rows and those of any writer whose claim the batch waited for. An id whose
    row is gone (expired by retention before its id was forgotten) cannot be compared and
    counts as a duplicate."""
    parts = []
    for i, x in enumerate(layouts):
        compared = [c for c in x.model.columns() if c not in ("event_id", "occurred_at")]
        stored = ", ".join(f"t.{c}" for c in compared)
        staged = ", ".join(f"s.{c}" for c in compared)
        parts.append(f"""
            SELECT s.batch_index, e.feed, e.occurred_at,
                e.feed = '{x.name}' AND e.occurred_at = s.occurred_at AND NOT EXISTS (
                    SELECT 1 FROM {x.model.table} t
                    WHERE t.event_id = s.event_id AND t.occurred_at = s.occurred_at
                      AND ({stored}) IS DISTINCT FROM ({staged})
                ) AS same
            FROM ({x.staged_sql(2 * i + 1, 2 * i + 2)}) s JOIN event_ids e USING (event_id)""")
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
    one) and gives it back after its statement. The ingester writes one batch per connection
    concurrently so that PostgreSQL commits one batch while the next is being decoded (see
    ``Ingester``).
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
        # from the tables' columns, read at the first connection
        self._layouts: tuple[_Layout, ...] = ()
        self._records: dict[type[Event], tuple[int, Callable[[tuple], tuple]]] = {}
        self._batch_sql = ""
        self._classify_sql = ""

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
                self._dsn,
                timeout=self._connect_timeout,
                server_settings={"timezone": "UTC", "plan_cache_mode": "force_generic_plan"},
            )
        except Exception as exc:
            if is_retryable(exc) or isinstance(exc, asyncpg.PostgresError):
                raise StoreUnavailable(f"cannot connect to the database: {exc}") from exc
            raise
        try:
            if not self._layouts:
                await self._read_layouts(conn)
        except asyncpg.UndefinedTableError as exc:
            await conn.close()
            raise SchemaMissing(
                f"the database is not migrated to this version ({exc}): run `ioc db migrate`"
            ) from exc
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _read_layouts(self, conn: asyncpg.Connection) -> None:
        """The event tables' columns, in their order: the batch statement's row types."""
        if await conn.fetchval(_BEFORE_0010_SQL):
            raise asyncpg.UndefinedTableError("event_ids still has its digest column")
        layouts = []
        for model in EVENT_TYPES.values():
            table_columns = tuple(
                row[0] for row in await conn.fetch(_TABLE_COLUMNS_SQL, model.table)
            )
            missing = sorted(set(model.columns()) - set(table_columns))
            if missing:
                raise asyncpg.UndefinedTableError(
                    f"{model.table} has no column {', '.join(missing)}"
                )
            layouts.append(_Layout(model, table_columns))
        self._records = {
            x.model: (i, x.record_maker()) for i, x in enumerate(layouts)
        }
        self._batch_sql = _batch_sql(layouts)
        self._classify_sql = _classify_sql(layouts)
        self._layouts = tuple(layouts)

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
            if isinstance(exc, TABLES_CHANGED):
                await self._forget_layouts()
                raise StoreUnavailable(
                    f"the event tables changed under the ingester ({exc}); reading them again"
                ) from exc
            raise

    async def _forget_layouts(self) -> None:
        """A migration changed an event table while this store ran (a column added): its
        row type is no longer the one the batch statement and asyncpg's codecs were built
        for. Build them again from new connections; the batch is retried."""
        self._layouts = ()
        await self.close()

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
        async with self._connection() as conn:
            stored, new = await conn.fetchrow(
                self._batch_sql, *self._arguments(events, range(len(events)), dead_letters)
            )
            result.stored += stored
            # a claimed id whose row is there already (stored twice before 0006)
            result.duplicates += len(new) - stored
            result.dead_lettered += len(dead_letters)
            if len(new) < len(events):
                fresh = set(new)
                others = [i for i in range(len(events)) if i not in fresh]
                conflicts = await self._set_aside(conn, events, others, result)
                if conflicts:
                    await conn.fetchrow(self._batch_sql, *self._arguments([], [], conflicts))
                    result.dead_lettered += len(conflicts)
                    result.rejected += conflicts
        return result

    def _arguments(
        self, events: Sequence[Event], positions: Sequence[int], letters: Sequence[DeadLetter]
    ) -> list[list]:
        """The batch statement's parameters (``_batch_sql``): each feed's rows and positions,
        then the dead letters' columns."""
        arguments: list[list] = [[] for _ in range(2 * len(self._layouts))]
        records = self._records
        for event, position in zip(events, positions, strict=True):
            index, record = records[type(event)]
            arguments[2 * index].append(record(event.row()))
            arguments[2 * index + 1].append(position)
        arguments += [
            [d.received_at for d in letters],
            [_clean_text(d.topic) for d in letters],
            [d.payload for d in letters],
            [d.reason.value for d in letters],
            [_clean_text(d.detail) for d in letters],
        ]
        return arguments

    async def _set_aside(
        self,
        conn: asyncpg.Connection,
        events: Sequence[Event],
        positions: list[int],
        result: WriteResult,
    ) -> list[DeadLetter]:
        """The events at ``positions`` were not claimed by this batch: a duplicate is counted,
        a different event under a claimed id becomes a dead letter (returned)."""
        arguments = self._arguments([events[i] for i in positions], positions, [])
        conflicts = []
        now = self._clock()
        for index, feed, stored_at, same in await conn.fetch(
            self._classify_sql, *arguments[: 2 * len(self._layouts)]
        ):
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
