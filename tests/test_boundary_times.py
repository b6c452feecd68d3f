"""Datetimes and typed fields at their edges: refused with a reason, never a crash.

``AwareDatetime`` accepts any instant of the years 1-9999 with any offset, but PostgreSQL gets
the UTC value through asyncpg, which cannot encode one outside those years and writes the very
first and last instants as -infinity and infinity. The property tests publish such values (and
arbitrary values in every typed field of every model) through the real broker to a real
ingester process, and check that every message is stored as it was sent or dead-lettered with
a reason, and that the ingester is still running. A retained poison message must not stop a
new ingester either.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import paho.mqtt.client as paho
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from ioc.ingest.boundary import DeadLetter, DeadLetterReason, decode
from ioc.ingest.store import Store
from ioc.models import DEFAULT_TIME_LIMITS, EVENT_TYPES, Event, PaymentEvent, TimeLimits
from ioc.tools.local import LocalMosquitto
from ioc.topics import feed_topic
from tests.backends import TEMPLATE
from tests.factories import dossier, incident, payment
from tests.processes import IngesterProcess, ingester_and_publisher, wait_for

FACTORIES = {"dossier": dossier, "payment": payment, "incident": incident}
RECEIVED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)

EDGE_INSTANTS = st.sampled_from(
    [
        datetime(1, 1, 1),
        datetime(1, 1, 1, 0, 0, 1),
        datetime(1, 1, 1, 23, 59),
        datetime(1, 1, 2),
        datetime(1999, 12, 31, 23, 59, 59, 999999),
        datetime(2000, 1, 1),
        datetime(9999, 12, 30, 23, 59),
        datetime(9999, 12, 31),
        datetime(9999, 12, 31, 23, 0),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
    ]
)
ANY_INSTANT = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59))
NEAR_THE_EVENTS = st.datetimes(min_value=datetime(2026, 10, 1), max_value=datetime(2027, 1, 1))
# every offset to the minute (ISO 8601 and pydantic allow up to +-23:59), and none at all
OFFSETS = st.one_of(
    st.builds(lambda m: timezone(timedelta(minutes=m)), st.integers(-1439, 1439)),
    st.sampled_from([UTC, timezone(timedelta(hours=7)), timezone(timedelta(hours=-5)), None]),
)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    moment = draw(st.one_of(EDGE_INSTANTS, ANY_INSTANT, NEAR_THE_EVENTS))
    return moment.replace(tzinfo=draw(OFFSETS)).isoformat()


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | timestamps(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children,
                                                                       max_size=3),
    max_leaves=8,
)


def time_fields(kind: str) -> list[str]:
    return [name for name, _ in EVENT_TYPES[_feed(kind)].time_fields()]


def _feed(kind: str):
    return next(feed for feed in EVENT_TYPES if feed.value == kind)


@st.composite
def edited_events(draw: st.DrawFn) -> tuple[str, bytes]:
    """A valid event of any feed with one datetime field, or any other field, replaced."""
    kind = draw(st.sampled_from(sorted(FACTORIES)))
    event = FACTORIES[kind](province="binh-duong", district="di-an")
    body = json.loads(event.to_json())
    if draw(st.booleans()):
        body[draw(st.sampled_from(time_fields(kind)))] = draw(timestamps())
    else:
        field = draw(st.sampled_from(sorted(set(body) - {"province", "district"})))
        body[field] = draw(JSON_VALUES)
    return feed_topic("binh-duong", _feed(kind), "di-an"), json.dumps(body).encode()


# -- the boundary alone --------------------------------------------------------------------


def _with(event: Event, **fields: str) -> bytes:
    body = json.loads(event.to_json())
    body.update(fields)
    return json.dumps(body).encode()


def _decode(
    event: Event, limits: TimeLimits = DEFAULT_TIME_LIMITS, **fields: str
) -> Event | DeadLetter:
    topic = event.topic
    return decode(topic, _with(event, **fields), received_at=RECEIVED,
                  max_payload_bytes=65536, limits=limits)


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-05:00",  # year 10000 in UTC: asyncpg's OverflowError
        "0001-01-01T00:00:00+05:00",  # year 0 in UTC
        "0001-01-01T00:00:00+00:00",  # asyncpg would write -infinity
        "9999-12-31T23:59:59.999999+00:00",  # and infinity
    ],
)
@pytest.mark.parametrize("field", ["occurred_at", "submitted_at", "due_at"])
def test_an_instant_postgresql_cannot_hold_is_a_schema_error_naming_the_field(field, value):
    item = _decode(dossier(), **{field: value})
    assert isinstance(item, DeadLetter)
    assert item.reason is DeadLetterReason.SCHEMA
    assert f"field '{field}'" in item.detail and value in item.detail


@pytest.mark.parametrize("value", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+00:00"])
def test_an_optional_instant_postgresql_cannot_hold_is_a_schema_error_too(value):
    """initiated_at (optional) was a plain AwareDatetime: the database refused it later."""
    item = _decode(payment(), initiated_at=value)
    assert isinstance(item, DeadLetter)
    assert item.reason is DeadLetterReason.SCHEMA
    assert "field 'initiated_at'" in item.detail and value in item.detail


@pytest.mark.parametrize(
    ("make", "field", "value", "setting"),
    [
        (dossier, "occurred_at", "2030-01-01T00:00:00+07:00", "IOC_INGEST_MAX_FUTURE_HOURS"),
        (dossier, "submitted_at", "1999-12-31T23:00:00+00:00", "IOC_INGEST_EARLIEST"),
        (dossier, "due_at", "2046-12-01T00:00:00+07:00", "IOC_INGEST_MAX_DEADLINE_DAYS"),
        (incident, "reported_at", "1990-05-01T08:00:00+07:00", "IOC_INGEST_EARLIEST"),
        (payment, "occurred_at", "2026-11-21T04:00:01+00:00", "IOC_INGEST_MAX_FUTURE_HOURS"),
    ],
)
def test_an_implausible_date_is_dead_lettered_with_the_setting_to_change(
    make, field, value, setting
):
    item = _decode(make(), **{field: value})
    assert isinstance(item, DeadLetter), item
    assert item.reason is DeadLetterReason.IMPLAUSIBLE_TIME
    assert f"field '{field}'" in item.detail and setting in item.detail


def test_plausible_dates_pass_and_the_bounds_are_settings(monkeypatch):
    a_day_ahead = "2026-11-21T03:00:00+00:00"  # exactly 24 h after RECEIVED: still allowed
    assert isinstance(_decode(payment(), occurred_at=a_day_ahead), PaymentEvent)
    assert isinstance(_decode(dossier(), due_at="2036-11-01T00:00:00+07:00"), Event)
    monkeypatch.setenv("IOC_INGEST_MAX_FUTURE_HOURS", "1")
    monkeypatch.setenv("IOC_INGEST_EARLIEST", "2026-01-01T00:00:00+07:00")
    from ioc.settings import Settings

    limits = Settings().time_limits()
    assert isinstance(_decode(payment(), limits, occurred_at=a_day_ahead), DeadLetter)
    old = _decode(payment(), limits, occurred_at="2025-12-31T23:00:00+07:00")
    assert isinstance(old, DeadLetter) and "2026-01-01T00:00:00+07:00" in old.detail


def test_an_earliest_date_without_an_offset_is_a_settings_error(monkeypatch):
    from pydantic import ValidationError

    from ioc.settings import Settings

    monkeypatch.setenv("IOC_INGEST_EARLIEST", "2000-01-01T00:00:00")
    with pytest.raises(ValidationError, match="UTC offset"):
        Settings()


# -- the store: defence in depth -------------------------------------------------------------


@pytest.mark.db
async def test_a_row_asyncpg_cannot_encode_is_dead_lettered_and_the_batch_stored(database, db):
    """Were the model to let an unstorable value through, COPY's encoding error
    (OverflowError) would cost that row only, as a data error does."""
    good = [payment() for _ in range(9)]
    extreme = datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5)))
    poison = PaymentEvent.model_construct(**{**payment().__dict__, "occurred_at": extreme})
    store = Store(database)
    try:
        result = await store.write([*good[:5], poison, *good[5:]], [])
    finally:
        await store.close()
    assert (result.stored, result.dead_lettered) == (9, 1)
    assert [r.reason for r in result.rejected] == [DeadLetterReason.DB_REJECTED]
    detail = await db.fetchval("SELECT detail FROM dead_letters")
    assert "date value out of range" in detail
    assert await db.fetchval("SELECT count(*) FROM payment_events") == 9


# -- through the real broker, the real database and a real ingester process ----------------------


@pytest.fixture(scope="module")
def edge_ingester(broker, postgres, pg_backend, tmp_path_factory):
    dsn = postgres.create_database("edges", template=TEMPLATE)
    log_dir = tmp_path_factory.mktemp("edge")
    # one MQTT session per backend: the second would otherwise inherit the first one's queue
    name = f"edge-{pg_backend.name}"
    with ingester_and_publisher(broker.url, broker.port, dsn, name, log_dir) as (ingester,
                                                                                client):
        yield ingester, client, dsn
    postgres.drop_database("edges")


async def _outcome(dsn: str, ids: list[str]) -> tuple[dict[str, dict], int, int]:
    """Stored rows of ``ids`` (their datetime columns), dead letters, infinite timestamps."""
    conn = await asyncpg.connect(dsn)
    try:
        rows: dict[str, dict] = {}
        infinite = 0
        for model in EVENT_TYPES.values():
            names = [name for name, _ in model.time_fields()]
            for record in await conn.fetch(
                f"SELECT event_id::text AS id, {', '.join(names)} FROM {model.table} "
                "WHERE event_id::text = ANY($1)", ids
            ):
                rows[record["id"]] = {name: record[name] for name in names}
            condition = " OR ".join(f"NOT isfinite({name})" for name in names)
            infinite += await conn.fetchval(f"SELECT count(*) FROM {model.table} WHERE {condition}")
        dead = await conn.fetchval("SELECT count(*) FROM dead_letters")
        return rows, dead, infinite
    finally:
        await conn.close()


@pytest.mark.broker
@pytest.mark.db
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(edited_events(), min_size=1, max_size=12))
def test_edge_values_are_stored_as_sent_or_dead_lettered(edge_ingester, batch):
    ingester, client, dsn = edge_ingester
    before = ingester.metrics()
    _, dead_before, _ = asyncio.run(_outcome(dsn, []))
    for topic, payload in batch:
        client.publish(topic, payload, qos=1).wait_for_publish(10)

    def received() -> float:
        return (ingester.metrics()["ioc_ingest_messages_received_total"]
                - before["ioc_ingest_messages_received_total"])

    wait_for(lambda: received() >= len(batch), timeout=20, interval=0.02, message=ingester.log())
    wait_for(lambda: ingester.metrics()["ioc_ingest_awaiting_ack"] == 0, timeout=20, interval=0.02)
    after = ingester.metrics()
    bodies = []
    for _, payload in batch:
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        bodies.append(body if isinstance(body, dict) else {})
    ids = [str(body.get("event_id")) for body in bodies]
    rows, dead_after, infinite = asyncio.run(_outcome(dsn, ids))
    duplicates = (after["ioc_ingest_duplicates_ignored_total"]
                  - before["ioc_ingest_duplicates_ignored_total"])
    assert ingester.process and ingester.process.poll() is None, "the ingester died"
    assert received() == len(batch)
    stored_now = sum(1 for i in set(ids) if i in rows)
    assert stored_now + (dead_after - dead_before) + duplicates == len(batch)
    assert infinite == 0, "a timestamp was stored as infinity"
    for body, event_id in zip(bodies, ids, strict=True):
        for name, value in rows.get(event_id, {}).items():
            sent = datetime.fromisoformat(body[name])
            assert value == sent, f"{name}: sent {body[name]}, stored {value.isoformat()}"
            assert datetime(2000, 1, 1, tzinfo=UTC) <= value


@pytest.mark.broker
@pytest.mark.db
@pytest.mark.slow
def test_a_retained_poison_message_does_not_stop_a_new_ingester(postgres, tmp_path):
    """A retained message is delivered to every new subscriber: one that crashed the ingester
    would stop every ingester that ever starts. (The project's broker refuses retained
    publishes on the feed topics; a broker without that rule, or a message retained before
    it, must still not stop anything.)"""
    dsn = postgres.create_database("retained_poison", template=TEMPLATE)
    with LocalMosquitto(tmp_path / "mq", identity_plugin=False) as own:
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="poison-publisher")
        client.connect("127.0.0.1", own.port)
        client.loop_start()
        poison = _with(dossier(), occurred_at="9999-12-31T23:00:00-05:00")
        topic = feed_topic("ba-ria-vung-tau", _feed("dossier"), "vung-tau")
        client.publish(topic, poison, qos=1, retain=True).wait_for_publish(10)
        good = [payment() for _ in range(200)]
        ingester = IngesterProcess(own.url, dsn, "fresh-ingester", tmp_path).start()
        ingester.wait_ready()
        for event in good:
            client.publish(event.topic,
                           event.to_json(), qos=1).wait_for_publish(10)
        rows: dict = {}
        try:
            wait_for(lambda: len(asyncio.run(_outcome(dsn, [str(e.event_id) for e in good]))[0])
                     == len(good), timeout=30, message=ingester.log())
            rows, dead, _ = asyncio.run(_outcome(dsn, [str(e.event_id) for e in good]))
            assert dead == 1
            assert ingester.process and ingester.process.poll() is None, ingester.log()
            # and once more: another new ingester gets the same retained message
            second = IngesterProcess(own.url, dsn, "second-ingester", tmp_path).start()
            second.wait_ready()
            wait_for(lambda: second.metrics()["ioc_ingest_messages_received_total"] >= 1)
            wait_for(lambda: asyncio.run(_outcome(dsn, []))[1] == 2, timeout=20)
            assert second.process and second.process.poll() is None, second.log()
            assert second.stop() == 0
        finally:
            client.loop_stop()
            client.disconnect()
            code = ingester.stop()
        postgres.drop_database("retained_poison")
        assert code == 0, ingester.log()
        print(f"published {len(good) + 1} (1 retained poison), stored {len(rows)}, "
              f"dead-lettered 1 per ingester, lost 0; both ingesters kept running")

