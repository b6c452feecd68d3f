"""End to end on the real broker and database: publish, ingest, read back."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import asyncpg
import pytest

from ioc.domain.geo import PROVINCES
from ioc.models import (
    EVENT_TYPES,
    DossierStatus,
    Event,
    IncidentStatus,
    PaymentStatus,
)
from ioc.storage.migrations import migrate
from tests.conftest import count_rows, wait_until
from tests.factories import BASE_TIME, dossier, incident, payment

pytestmark = [pytest.mark.broker, pytest.mark.db]


def known_events() -> tuple[list[Event], dict[str, str], dict[str, str]]:
    """Events over all feeds and provinces, with full lifecycles; the expected final states."""
    events: list[Event] = []
    dossier_final: dict[str, str] = {}
    report_final: dict[str, str] = {}
    lifecycle = [
        DossierStatus.SUBMITTED,
        DossierStatus.RECEIVED,
        DossierStatus.PROCESSING,
        DossierStatus.RESOLVED,
    ]
    report_cycle = [
        IncidentStatus.RECEIVED,
        IncidentStatus.VERIFIED,
        IncidentStatus.ASSIGNED,
        IncidentStatus.IN_PROGRESS,
        IncidentStatus.RESOLVED,
    ]
    for province in PROVINCES.values():
        for index, district in enumerate(province.districts):
            first = dossier(province=province.code, district=district.code)
            dossier_id = first.dossier_id
            steps = lifecycle[: 1 + index % len(lifecycle)]
            for minutes, status in enumerate(steps):
                events.append(
                    first.model_copy(
                        update={
                            "event_id": first.event_id if minutes == 0 else uuid.uuid4(),
                            "status": status,
                            "occurred_at": BASE_TIME + timedelta(hours=minutes),
                        }
                    )
                )
            dossier_final[dossier_id] = steps[-1].value
            opened = incident(
                province=province.code,
                district=district.code,
                title=f"Phản ánh tại {district.name_vi}",
            )
            steps = report_cycle[: 1 + index % len(report_cycle)]
            for minutes, status in enumerate(steps):
                events.append(
                    opened.model_copy(
                        update={
                            "event_id": opened.event_id if minutes == 0 else uuid.uuid4(),
                            "status": status,
                            "occurred_at": BASE_TIME + timedelta(hours=minutes),
                            "satisfaction": 4 if status is IncidentStatus.RESOLVED else None,
                        }
                    )
                )
            report_final[opened.report_id] = steps[-1].value
            for status in (PaymentStatus.SUCCESS, PaymentStatus.FAILED):
                events.append(
                    payment(
                        province=province.code,
                        district=district.code,
                        status=status,
                        error_code="TIMEOUT" if status is PaymentStatus.FAILED else None,
                    )
                )
    return events, dossier_final, report_final


async def test_every_event_stored_once_field_for_field(ingester, publish, db: asyncpg.Connection):
    events, dossier_final, report_final = known_events()
    shuffled = events[:]
    random.Random(7).shuffle(shuffled)  # lifecycles arrive out of order
    for event in shuffled:
        await publish(event.topic, event.to_json())
    # and a redelivery of some of them: recognised, not stored again
    for event in shuffled[:25]:
        await publish(event.topic, event.to_json())

    async def all_stored() -> bool:
        total = sum([await count_rows(db, m.table) for m in EVENT_TYPES.values()])
        written = ingester.stats.stored + ingester.stats.duplicates  # counted after commit
        return total >= len(events) and written >= len(events) + 25

    await wait_until(all_stored)
    for model in EVENT_TYPES.values():
        expected = {e.event_id: e for e in events if isinstance(e, model)}
        rows = await db.fetch(f"SELECT {', '.join(model.columns())} FROM {model.table}")
        assert len(rows) == len(expected), model.table
        for row in rows:
            event = expected[row["event_id"]]
            assert tuple(row.values()) == event.row(), f"{model.table} row differs from its event"
    assert ingester.stats.duplicates == 25
    assert await count_rows(db, "dead_letters") == 0

    states = dict(await db.fetch("SELECT dossier_id, status FROM dossiers"))
    assert states == dossier_final
    states = dict(await db.fetch("SELECT report_id, status FROM incidents"))
    assert states == report_final
    finished = await db.fetchval(
        "SELECT count(*) FROM dossiers WHERE (status = 'resolved') <> (finished_at IS NOT NULL)"
    )
    assert finished == 0
    assert (
        await db.fetchval("SELECT satisfaction FROM incidents WHERE status = 'resolved' LIMIT 1")
        == 4
    )


async def test_an_older_event_never_overwrites_a_newer_state(ingester, publish, db):
    resolved = dossier(DossierStatus.RESOLVED, minutes=120)
    submitted = resolved.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "status": DossierStatus.SUBMITTED,
            "occurred_at": BASE_TIME,
        }
    )
    await publish(resolved.topic, resolved.to_json())
    await wait_until(lambda: _has(db, "dossiers", resolved.dossier_id))
    await publish(submitted.topic, submitted.to_json())
    await wait_until(lambda: _count_is(db, "dossier_events", 2))
    row = await db.fetchrow("SELECT status, finished_at, last_event_id FROM dossiers")
    assert row["status"] == "resolved"
    assert row["finished_at"] == resolved.occurred_at
    assert row["last_event_id"] == resolved.event_id


async def _has(db, table: str, key: str) -> bool:
    column = "dossier_id" if table == "dossiers" else "report_id"
    return bool(await db.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", key))


async def _count_is(db, table: str, expected: int) -> bool:
    return await count_rows(db, table) >= expected


def _valid_payment_dict() -> dict:
    return json.loads(payment(province="binh-duong", district="di-an").to_json())


BAD_MESSAGES = [
    # (topic, payload, reason, words the detail must contain)
    ("ioc/v1/binh-duong/payment/di-an", b"this is not json", "not_json", "not JSON"),
    ("ioc/v1/binh-duong/payment/di-an", b"\xff\xfe\x00garbage", "not_utf8", "not UTF-8"),
    ("ioc/v1/binh-duong/payment/di-an", b"[1, 2, 3]", "not_json", "not a JSON object"),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"amount_vnd": "150000"},
        "schema",
        "field 'amount_vnd': Input should be a valid integer",
    ),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"amount_vnd": -10},
        "schema",
        "field 'amount_vnd': Input should be greater than 0",
    ),
    ("ioc/v1/binh-duong/payment/di-an", {"method": "gold_bars"}, "schema", "field 'method'"),
    ("ioc/v1/binh-duong/payment/di-an", {"gateway": None}, "schema", "field 'gateway'"),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"-gateway": None},
        "schema",
        "field 'gateway': Field required",
    ),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"occurred_at": "2026-11-20T09:00:00"},
        "schema",
        "field 'occurred_at'",
    ),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"colour": "blue"},
        "schema",
        "field 'colour': unknown field",
    ),
    ("ioc/v1/binh-duong/payment/thu-dau-mot", {}, "topic_mismatch", "field 'district'"),
    (
        "ioc/v1/binh-duong/dossier/di-an",
        {},
        "topic_mismatch",
        "payload is a ioc.payment event but the topic is the dossier feed",
    ),
    ("ioc/v1/binh-duong/payment/di-an", {"schema_name": {"not": "a string"}}, "schema",
     "field 'schema_name'"),
    ("ioc/v1/binh-duong/weather/di-an", {}, "unknown_topic", "unknown feed 'weather'"),
    ("ioc/v1/binh-duong/payment", {}, "unknown_topic", "is not ioc/v1/"),
    (
        "ioc/v1/binh-duong/payment/di-an",
        b"{" + b'"x": "' + b"a" * 70_000 + b'"}',
        "oversized",
        "limit is",
    ),
    (
        "ioc/v1/binh-duong/payment/di-an",
        {"source": "bad\u0000byte"},
        "db_rejected",
        "database refused the row",
    ),
]


async def test_malformed_payloads_are_dead_lettered_with_the_field(ingester, publish, db):
    for topic, body, _, _ in BAD_MESSAGES:
        if isinstance(body, dict):
            data = _valid_payment_dict()
            for key, value in body.items():
                if key.startswith("-"):
                    data.pop(key[1:])
                else:
                    data[key] = value
            body = json.dumps(data).encode()
        await publish(topic, body)
    good = [payment(province="binh-duong", district="di-an") for _ in range(5)]
    for event in good:
        await publish(event.topic, event.to_json())

    await wait_until(lambda: _count_is(db, "payment_events", len(good)))
    await wait_until(lambda: _count_is(db, "dead_letters", len(BAD_MESSAGES)))
    rows = await db.fetch("SELECT topic, reason, detail, payload FROM dead_letters ORDER BY id")
    assert len(rows) == len(BAD_MESSAGES)
    by_topic_reason = [(r["topic"], r["reason"], r["detail"]) for r in rows]
    for topic, _, reason, words in BAD_MESSAGES:
        matches = [d for t, rs, d in by_topic_reason if t == topic and rs == reason and words in d]
        assert matches, f"no dead letter for {topic} with reason {reason} saying {words!r}"
    stored = {r["event_id"] for r in await db.fetch("SELECT event_id FROM payment_events")}
    assert stored == {e.event_id for e in good}
    assert ingester.stats.dead_lettered == len(BAD_MESSAGES)


async def test_migrations_apply_twice_on_empty_and_on_filled(empty_database):
    dsn = empty_database
    first = await migrate(dsn)
    assert first.applied and first.applied[0].startswith("0001")
    assert (await migrate(dsn)).applied == []
    conn = await asyncpg.connect(dsn)
    try:
        event = payment()
        await conn.execute(
            f"INSERT INTO payment_events ({', '.join(event.columns())}) VALUES "
            f"({', '.join(f'${i + 1}' for i in range(len(event.columns())))})",
            *event.row(),
        )
        assert (await migrate(dsn)).applied == []
        assert await conn.fetchval("SELECT count(*) FROM payment_events") == 1
        assert await conn.fetchval("SELECT count(*) FROM districts") == sum(
            len(p.districts) for p in PROVINCES.values()
        )
    finally:
        await conn.close()


async def test_event_tables_have_exactly_the_model_columns(db):
    for model in EVENT_TYPES.values():
        columns = [
            r["column_name"]
            for r in await db.fetch(
                "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
                "ORDER BY ordinal_position",
                model.table,
            )
        ]
        # columns added by later migrations come after ingested_at, in the model's order
        assert "ingested_at" in columns, model.table
        assert [c for c in columns if c != "ingested_at"] == list(model.columns()), model.table
