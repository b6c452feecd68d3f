"""Property: whatever bytes arrive on the feed topics, nothing crashes and every message is
accounted for, either as a stored event or as a dead letter (or as a recognised duplicate)."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.models import EVENT_TYPES
from tests.factories import dossier, incident, payment
from tests.processes import ingester_and_publisher, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.db]

SLUGS = st.sampled_from(["binh-duong", "di-an", "ha-long", "quang-ninh", "x", "Bad Slug", ""])
FEEDS = st.sampled_from(["dossier", "payment", "incident", "weather", "alerts"])
TOPICS = st.one_of(
    st.builds(lambda p, f, d: f"ioc/v1/{p}/{f}/{d}", SLUGS, FEEDS, SLUGS),
    st.builds(
        lambda rest: f"ioc/v1/{rest}",
        # Mosquitto disconnects a client that names a topic with control characters or
        # non-characters (MQTT 3.1.1 §1.5.3), so such topics never reach an ingester
        st.text(
            st.characters(
                whitelist_categories=["L", "N", "P", "S", "Zs"], blacklist_characters="#+"
            ),
            min_size=1,
            max_size=40,
        ),
    ),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def _valid_event(kind: str, province: str, district: str):
    return {"dossier": dossier, "payment": payment, "incident": incident}[kind](
        province=province, district=district
    )


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, bytes]:
    choice = draw(st.integers(0, 4))
    if choice == 0:  # a valid event on its own topic
        kind = draw(st.sampled_from(["dossier", "payment", "incident"]))
        event = _valid_event(kind, "binh-duong", "di-an")
        return f"ioc/v1/binh-duong/{kind}/di-an", event.to_json()
    if choice == 1:  # a valid event with one field replaced by arbitrary JSON
        event = json.loads(payment(province="binh-duong", district="di-an").to_json())
        field = draw(st.sampled_from(sorted(event)))
        event[field] = draw(JSON_VALUES)
        return "ioc/v1/binh-duong/payment/di-an", json.dumps(event).encode()
    topic = draw(TOPICS)
    if choice == 2:
        return topic, draw(st.binary(max_size=300))
    return topic, json.dumps(draw(JSON_VALUES)).encode()


@pytest.fixture(scope="module")
def fuzz_ingester(broker, postgres, pg_backend, tmp_path_factory):
    from tests.backends import TEMPLATE

    dsn = postgres.create_database("fuzz", template=TEMPLATE)
    log_dir = tmp_path_factory.mktemp("fuzz")
    # one MQTT session per backend: the second would otherwise inherit the first one's queue
    name = f"fuzz-{pg_backend.name}"
    with ingester_and_publisher(broker.url, broker.port, dsn, name, log_dir) as (ingester,
                                                                                client):
        yield ingester, client, dsn
    postgres.drop_database("fuzz")


def _accounted(dsn: str) -> tuple[int, int]:
    async def count() -> tuple[int, int]:
        conn = await asyncpg.connect(dsn)
        try:
            stored = sum(
                [
                    await conn.fetchval(f"SELECT count(*) FROM {m.table}")
                    for m in EVENT_TYPES.values()
                ]
            )
            return stored, await conn.fetchval("SELECT count(*) FROM dead_letters")
        finally:
            await conn.close()

    return asyncio.run(count())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(messages(), min_size=1, max_size=15))
def test_every_message_is_stored_or_dead_lettered(fuzz_ingester, batch):
    ingester, client, dsn = fuzz_ingester
    before = ingester.metrics()
    stored_before, dead_before = _accounted(dsn)
    received_before = before["ioc_ingest_messages_received_total"]
    for topic, payload in batch:
        client.publish(topic, payload, qos=1).wait_for_publish(10)

    def all_received() -> bool:
        return ingester.metrics()["ioc_ingest_messages_received_total"] - received_before >= len(
            batch
        )

    wait_for(all_received, timeout=20, interval=0.02, message=ingester.log())
    wait_for(lambda: ingester.metrics()["ioc_ingest_awaiting_ack"] == 0, timeout=20, interval=0.02)
    after = ingester.metrics()
    stored_after, dead_after = _accounted(dsn)
    duplicates = (
        after["ioc_ingest_duplicates_ignored_total"] - before["ioc_ingest_duplicates_ignored_total"]
    )
    assert after["ioc_ingest_messages_received_total"] - received_before == len(batch)
    assert (stored_after - stored_before) + (dead_after - dead_before) + duplicates == len(batch)
    assert ingester.process and ingester.process.poll() is None, "the ingester died"
