"""Persistence of the alerting state in PostgreSQL (db/migrations/0004_alerts.sql).

``AlertStore`` is the only module of the package that talks to the database: KPI queries,
alert states and their transitions (one transaction per evaluation pass), silences,
acknowledgements, what each subscriber was told (``notification_state``) and every
notification attempt (``notification_log``). Connection problems are mapped at this boundary
to ``AlertStoreUnavailable`` (the pass is retried later); any other database error in a KPI
query to ``KpiError`` (that rule is skipped, the others go on).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

import asyncpg

from ioc.alerting.alert import Alert
from ioc.alerting.errors import AlertStoreUnavailable, KpiError
from ioc.alerting.evaluate import AlertStatus, State
from ioc.alerting.kpis import Sample, fetch_samples
from ioc.alerting.labels import Matcher, matches_all
from ioc.alerting.rules import Rule
from ioc.completeness import Completeness, decide, read_claims
from ioc.storage.errors import is_retryable

log = logging.getLogger(__name__)

RESOLVED_RETENTION = timedelta(hours=24)
"""Resolved alerts stay in alert_states this long (their history stays in alert_events)."""


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One transition of one alert."""

    time: datetime
    alert: Alert
    state_from: State


@dataclass(frozen=True, slots=True)
class Silence:
    id: uuid.UUID
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str = ""

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: dict[str, str]) -> bool:
        return matches_all(self.matchers, labels)


@dataclass
class GroupLog:
    """What one subscriber's channel was told about one notification group."""

    notified: dict[str, str] = field(default_factory=dict)
    """alert key -> the firing_since (ISO, UTC) it was told about."""
    last_sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    time: datetime
    notification_id: uuid.UUID
    subscriber: str
    channel: str
    channel_type: str
    group_key: str
    status: str
    reason: str
    alerts: tuple[str, ...]
    attempt: int
    outcome: str  # sent | retried | failed
    error: str | None = None


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: json.dumps(v, ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )


_STATE_COLUMNS = (
    "rule, fingerprint, labels, province, district, severity, state, reason, active_since, "
    "firing_since, resolved_at, cleared_since, last_value, op, threshold, unit, last_evaluated, "
    "summary, summary_en, description, description_en, silenced_by"
)

_UPSERT = f"""
    INSERT INTO alert_states ({_STATE_COLUMNS})
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19, $20, $21, $22)
    ON CONFLICT (rule, fingerprint) DO UPDATE SET
        labels = EXCLUDED.labels, province = EXCLUDED.province, district = EXCLUDED.district,
        severity = EXCLUDED.severity, state = EXCLUDED.state, reason = EXCLUDED.reason,
        active_since = EXCLUDED.active_since, firing_since = EXCLUDED.firing_since,
        resolved_at = EXCLUDED.resolved_at, cleared_since = EXCLUDED.cleared_since,
        last_value = EXCLUDED.last_value, op = EXCLUDED.op, threshold = EXCLUDED.threshold,
        unit = EXCLUDED.unit,
        last_evaluated = EXCLUDED.last_evaluated, summary = EXCLUDED.summary,
        summary_en = EXCLUDED.summary_en, description = EXCLUDED.description,
        description_en = EXCLUDED.description_en, silenced_by = EXCLUDED.silenced_by,
        updated_at = now(),
        -- an acknowledgement (written by `ioc alerts ack`) lasts while the alert fires
        acked_at = CASE WHEN EXCLUDED.state = 'firing' THEN alert_states.acked_at END,
        acked_by = CASE WHEN EXCLUDED.state = 'firing' THEN alert_states.acked_by END,
        ack_comment = CASE WHEN EXCLUDED.state = 'firing' THEN alert_states.ack_comment END
"""


def _state_row(alert: Alert) -> tuple[Any, ...]:
    s = alert.status
    description = alert.description or {}
    return (
        alert.rule,
        alert.fingerprint,
        alert.labels,
        alert.province,
        alert.district,
        alert.severity,
        s.state.value,
        alert.reason,
        s.active_since,
        s.firing_since,
        s.resolved_at,
        s.cleared_since,
        s.last_value,
        alert.op,
        alert.threshold,
        alert.unit,
        s.last_evaluated,
        alert.summary["vi"],
        alert.summary["en"],
        description.get("vi"),
        description.get("en"),
        alert.silenced_by,
    )


def _alert_from_row(row: asyncpg.Record) -> Alert:
    description = (
        {"vi": row["description"], "en": row["description_en"]}
        if row["description"] is not None
        else None
    )
    return Alert(
        rule=row["rule"],
        fingerprint=row["fingerprint"],
        labels=row["labels"],
        severity=row["severity"],
        status=AlertStatus(
            state=State(row["state"]),
            active_since=row["active_since"],
            firing_since=row["firing_since"],
            resolved_at=row["resolved_at"],
            cleared_since=row["cleared_since"],
            last_value=row["last_value"],
            last_evaluated=row["last_evaluated"],
        ),
        reason=row["reason"],
        op=row["op"],
        threshold=row["threshold"],
        unit=row["unit"],
        summary={"vi": row["summary"], "en": row["summary_en"]},
        description=description,
        silenced_by=row["silenced_by"],
        acked_at=row["acked_at"],
        acked_by=row["acked_by"],
        ack_comment=row["ack_comment"],
    )


def _silence_from_row(row: asyncpg.Record) -> Silence:
    return Silence(
        id=row["id"],
        matchers=tuple(Matcher.parse(m) for m in row["matchers"]),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        created_by=row["created_by"],
        comment=row["comment"],
    )


class AlertStore:
    """A small asyncpg pool and every query of the alerting package."""

    def __init__(self, dsn: str, *, max_connections: int = 4, connect_timeout: float = 5.0):
        self._dsn = dsn
        self._max = max_connections
        self._timeout = connect_timeout
        self._pool: asyncpg.Pool | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await pool.close()
            except Exception:  # closing a pool whose server is gone
                pool.terminate()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            try:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=1,
                    max_size=self._max,
                    timeout=self._timeout,
                    init=_init_connection,
                )
            except Exception as exc:
                if is_retryable(exc) or isinstance(exc, asyncpg.PostgresError):
                    raise AlertStoreUnavailable(f"cannot connect to the database: {exc}") from exc
                raise
        return self._pool

    async def _run(self, method: str, *args: Any) -> Any:
        pool = await self._get_pool()
        try:
            return await getattr(pool, method)(*args)
        except Exception as exc:
            if is_retryable(exc):
                raise AlertStoreUnavailable(f"database unavailable: {exc}") from exc
            raise

    async def ping(self) -> bool:
        try:
            return await self._run("fetchval", "SELECT 1") == 1
        except AlertStoreUnavailable:
            return False

    async def completeness(self, now: datetime) -> Completeness:
        """Up to when the stored events are complete (ioc/completeness.py)."""
        pool = await self._get_pool()
        try:
            async with pool.acquire() as conn:
                return decide(await read_claims(conn), now)
        except Exception as exc:
            if is_retryable(exc):
                raise AlertStoreUnavailable(f"database unavailable: {exc}") from exc
            raise

    # -- KPIs ------------------------------------------------------------------------------

    async def samples(self, rule: Rule, now: datetime) -> list[Sample]:
        pool = await self._get_pool()
        try:
            async with pool.acquire() as conn:
                return await fetch_samples(conn, rule.query, rule.group_by, now)
        except Exception as exc:
            if is_retryable(exc):
                raise AlertStoreUnavailable(f"database unavailable: {exc}") from exc
            if isinstance(exc, asyncpg.PostgresError):
                raise KpiError(f"{rule.kpi} for rule {rule.name}: {exc}") from exc
            raise

    # -- alert states and transitions ------------------------------------------------------

    async def alerts(self, *, states: Sequence[State] | None = None) -> list[Alert]:
        rows = await self._run(
            "fetch",
            "SELECT * FROM alert_states WHERE ($1::text[] IS NULL OR state = ANY($1::text[])) "
            "ORDER BY rule, province, fingerprint",
            [s.value for s in states] if states is not None else None,
        )
        return [_alert_from_row(r) for r in rows]

    async def save_pass(
        self,
        now: datetime,
        upserts: Sequence[Alert],
        deletes: Sequence[tuple[str, str]],
        events: Sequence[AlertEvent],
    ) -> None:
        """Store one evaluation pass atomically: states, removed states, transitions."""
        pool = await self._get_pool()
        try:
            async with pool.acquire() as conn, conn.transaction():
                if upserts:
                    await conn.executemany(_UPSERT, [_state_row(a) for a in upserts])
                if deletes:
                    await conn.executemany(
                        "DELETE FROM alert_states WHERE rule = $1 AND fingerprint = $2", deletes
                    )
                await conn.execute(
                    "DELETE FROM alert_states WHERE state = 'resolved' AND resolved_at < $1",
                    now - RESOLVED_RETENTION,
                )
                if events:
                    await conn.executemany(
                        """INSERT INTO alert_events (time, rule, fingerprint, labels, province,
                               district, severity, state_from, state_to, reason, value,
                               threshold, summary, summary_en)
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)""",
                        [
                            (
                                e.time,
                                e.alert.rule,
                                e.alert.fingerprint,
                                e.alert.labels,
                                e.alert.province,
                                e.alert.district,
                                e.alert.severity,
                                e.state_from.value,
                                e.alert.state.value,
                                e.alert.reason,
                                e.alert.status.last_value,
                                e.alert.threshold,
                                e.alert.summary["vi"],
                                e.alert.summary["en"],
                            )
                            for e in events
                        ],
                    )
        except Exception as exc:
            if is_retryable(exc):
                raise AlertStoreUnavailable(f"database unavailable: {exc}") from exc
            raise

    async def acknowledge(
        self,
        *,
        rule: str | None,
        matchers: Sequence[Matcher],
        fingerprint: str | None,
        by: str,
        comment: str,
        now: datetime,
    ) -> list[Alert]:
        """Acknowledge the firing alerts that match; returns them."""
        firing = await self.alerts(states=[State.FIRING])
        chosen = [
            a
            for a in firing
            if (rule is None or a.rule == rule)
            and (fingerprint is None or a.fingerprint.startswith(fingerprint))
            and matches_all(matchers, a.labels)
        ]
        if chosen:
            await self._run(
                "executemany",
                "UPDATE alert_states SET acked_at = $3, acked_by = $4, ack_comment = $5 "
                "WHERE rule = $1 AND fingerprint = $2 AND state = 'firing'",
                [(a.rule, a.fingerprint, now, by, comment) for a in chosen],
            )
        return chosen

    # -- silences --------------------------------------------------------------------------

    async def add_silence(
        self,
        matchers: Sequence[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        created_by: str,
        comment: str = "",
    ) -> Silence:
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        if ends_at <= starts_at:
            raise ValueError("a silence must end after it starts")
        silence = Silence(uuid.uuid4(), tuple(matchers), starts_at, ends_at, created_by, comment)
        await self._run(
            "execute",
            "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            silence.id,
            [str(m) for m in matchers],
            starts_at,
            ends_at,
            created_by,
            comment,
        )
        return silence

    async def silences(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        rows = await self._run(
            "fetch",
            "SELECT * FROM silences WHERE $2 OR ends_at > $1 ORDER BY starts_at, id",
            now,
            include_expired,
        )
        return [_silence_from_row(r) for r in rows]

    async def expire_silence(self, silence_id: str, now: datetime) -> Silence | None:
        """End a silence now (by its id or a unique prefix of it); None if none is active."""
        rows = await self._run(
            "fetch",
            "SELECT * FROM silences WHERE id::text LIKE $1 || '%' AND ends_at > $2",
            silence_id.lower(),
            now,
        )
        if len(rows) != 1:
            if len(rows) > 1:
                raise ValueError(f"{silence_id!r} matches {len(rows)} silences: give more of it")
            return None
        row = await self._run(
            "fetchrow",
            "UPDATE silences SET ends_at = greatest($2, starts_at + interval '1 microsecond') "
            "WHERE id = $1 RETURNING *",
            rows[0]["id"],
            now,
        )
        return _silence_from_row(row)

    # -- what subscribers were told, and every attempt --------------------------------------

    async def group_logs(self) -> dict[tuple[str, str, str], GroupLog]:
        rows = await self._run("fetch", "SELECT * FROM notification_state")
        return {
            (r["subscriber"], r["channel"], r["group_key"]): GroupLog(
                dict(r["notified"]), r["last_sent_at"]
            )
            for r in rows
        }

    async def save_group_log(
        self, subscriber: str, channel: str, group_key: str, entry: GroupLog
    ) -> None:
        await self._run(
            "execute",
            """INSERT INTO notification_state (subscriber, channel, group_key, notified,
                                               last_sent_at)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (subscriber, channel, group_key) DO UPDATE
               SET notified = EXCLUDED.notified, last_sent_at = EXCLUDED.last_sent_at""",
            subscriber,
            channel,
            group_key,
            entry.notified,
            entry.last_sent_at,
        )

    async def record_attempt(self, attempt: Attempt) -> None:
        await self._run(
            "execute",
            """INSERT INTO notification_log (time, notification_id, subscriber, channel,
                   channel_type, group_key, status, reason, alerts, attempt, outcome, error)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)""",
            attempt.time,
            attempt.notification_id,
            attempt.subscriber,
            attempt.channel,
            attempt.channel_type,
            attempt.group_key,
            attempt.status,
            attempt.reason,
            list(attempt.alerts),
            attempt.attempt,
            attempt.outcome,
            attempt.error,
        )
