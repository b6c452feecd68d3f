"""``decode_all`` (the ingester's batch path) accepts and refuses exactly what ``decode`` does.

The batch path takes shortcuts (topics parsed once per topic, the validator called directly,
the time bounds computed once per batch); each test here runs the same inputs through both
paths and asserts identical events and identical dead letters (reason and detail). The inputs
are the fuzz test's messages (tests/test_fuzz.py), the edge-value property test's
(tests/test_boundary_times.py), and hand-made mixed batches.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ioc.ingest.boundary import DeadLetter, DeadLetterReason, decode, decode_all
from ioc.models import DEFAULT_TIME_LIMITS, Event, TimeLimits
from ioc.runtime import utc_now
from tests.factories import dossier, incident, payment
from tests.test_boundary_times import RECEIVED, edited_events
from tests.test_fuzz import messages

LIMITS = st.one_of(
    st.just(DEFAULT_TIME_LIMITS),
    st.builds(
        TimeLimits,
        earliest=st.sampled_from(
            [datetime(2000, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
        ),
        max_future=st.sampled_from([timedelta(0), timedelta(hours=1), timedelta(hours=24)]),
        max_deadline=st.sampled_from([timedelta(days=1), timedelta(days=3650)]),
    ),
)
RECEIVED_AT = st.sampled_from(
    [
        RECEIVED,
        RECEIVED.astimezone(timezone(timedelta(hours=7))),
        datetime(2026, 11, 19, 23, 0, tzinfo=UTC),
        datetime(9999, 12, 31, 12, 0, tzinfo=UTC),  # the bounds overflow: ``check`` decides
        datetime(2026, 11, 20, 3, 0),  # naive: ``check`` raises, both paths must agree
    ]
)
ANY_MESSAGE = st.one_of(messages(), edited_events())


def _per_message(
    batch: list[tuple[str, bytes]],
    received_at: datetime,
    limits: TimeLimits = DEFAULT_TIME_LIMITS,
    max_payload_bytes: int = 65536,
) -> list[Event | DeadLetter]:
    return [
        decode(
            topic,
            payload,
            received_at=received_at,
            max_payload_bytes=max_payload_bytes,
            limits=limits,
        )
        for topic, payload in batch
    ]


def _batch(
    batch: list[tuple[str, bytes]],
    received_at: datetime,
    limits: TimeLimits = DEFAULT_TIME_LIMITS,
    max_payload_bytes: int = 65536,
) -> list[Event | DeadLetter]:
    return decode_all(
        batch, received_at=received_at, max_payload_bytes=max_payload_bytes, limits=limits
    )


def _same(batch: list[tuple[str, bytes]], **options) -> list[Event | DeadLetter]:
    """Both paths' results, asserted identical item by item (type, fields, reason, detail)."""
    expected, got = _per_message(batch, **options), _batch(batch, **options)
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=True):
        assert type(have) is type(want)
        if isinstance(want, DeadLetter):
            assert (have.reason, have.detail) == (want.reason, want.detail)
            assert (have.topic, have.payload, have.received_at) == (
                want.topic,
                want.payload,
                want.received_at,
            )
        else:
            assert have == want
            assert have.row() == want.row()
    return got


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    batch=st.lists(ANY_MESSAGE, min_size=1, max_size=20),
    received_at=RECEIVED_AT,
    limits=LIMITS,
    max_payload_bytes=st.sampled_from([65536, 700, 1]),
)
def test_the_fuzz_and_edge_inputs_decode_the_same_in_a_batch(
    batch, received_at, limits, max_payload_bytes
):
    _same(batch, received_at=received_at, limits=limits, max_payload_bytes=max_payload_bytes)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(batch=st.lists(ANY_MESSAGE, min_size=1, max_size=10), copies=st.integers(2, 3))
def test_repeated_messages_decode_the_same_in_a_batch(batch, copies):
    """Duplicated ids in one batch (redeliveries, or a publisher's retries)."""
    _same(batch * copies, received_at=RECEIVED)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=edited_events(), received_at=RECEIVED_AT, limits=LIMITS)
def test_the_fast_time_test_is_check_is_none(body, received_at, limits):
    topic, payload = body
    item = decode(topic, payload, received_at=RECEIVED, max_payload_bytes=65536)
    if not isinstance(item, Event):
        return  # refused before the time limits: nothing for them to say
    try:
        expected = limits.check(item, received_at) is None
    except TypeError:  # a naive received_at
        with pytest.raises(TypeError):
            limits.plausible_at(received_at)(item)
        return
    assert limits.plausible_at(received_at)(item) is expected


def _message(event: Event, **fields: object) -> tuple[str, bytes]:
    body = json.loads(event.to_json())
    body.update(fields)
    return event.topic, json.dumps(body).encode()


def _good() -> list[tuple[str, bytes]]:
    return [(e.topic, e.to_json()) for e in (dossier(), payment(), incident(), payment())]


BAD = {
    DeadLetterReason.OVERSIZED: ("ioc/v1/ba-ria-vung-tau/payment/vung-tau", b"{" + b" " * 70000),
    DeadLetterReason.UNKNOWN_TOPIC: ("ioc/v1/ba-ria-vung-tau/weather/vung-tau", b"{}"),
    DeadLetterReason.NOT_UTF8: ("ioc/v1/ba-ria-vung-tau/payment/vung-tau", b"\xff\xfe{"),
    DeadLetterReason.NOT_JSON: ("ioc/v1/ba-ria-vung-tau/payment/vung-tau", b"[1, 2]"),
    DeadLetterReason.SCHEMA: _message(payment(), amount_vnd="12"),
    DeadLetterReason.TOPIC_MISMATCH: _message(payment(), district="ba-ria"),
    DeadLetterReason.IMPLAUSIBLE_TIME: _message(
        payment(), occurred_at="2031-01-01T00:00:00+07:00"
    ),
}


@pytest.mark.parametrize("reason", list(BAD), ids=str)
@pytest.mark.parametrize("where", [0, 2, 4])
def test_one_bad_message_among_good_ones_keeps_its_reason_and_the_rest(reason, where):
    batch = _good()
    batch.insert(where, BAD[reason])
    items = _same(batch, received_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    dead = [item for item in items if isinstance(item, DeadLetter)]
    assert [item.reason for item in dead] == [reason]
    assert items.index(dead[0]) == where
    assert sum(isinstance(item, Event) for item in items) == len(_good())


def test_a_batch_of_every_feed_and_every_refusal_decodes_the_same():
    batch = [*_good(), *BAD.values(), *_good()]
    items = _same(batch, received_at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    assert {item.reason for item in items if isinstance(item, DeadLetter)} == set(BAD)
    assert {type(item).__name__ for item in items if isinstance(item, Event)} == {
        "DossierEvent",
        "PaymentEvent",
        "IncidentEvent",
    }


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T23:00:00-05:00",
        "0001-01-01T00:00:00+05:00",
        "0001-01-01T00:00:00+00:00",
        "0001-01-02T00:00:00+23:59",
        "0002-01-01T00:00:00+23:59",
        "9998-12-31T23:59:59.999999-23:59",
        "9999-12-31T23:59:59.999999+00:00",
        "1999-12-31T23:59:59.999999+00:00",
        "2000-01-01T00:00:00+00:00",
    ],
)
@pytest.mark.parametrize("field", ["occurred_at", "submitted_at", "due_at"])
def test_instants_at_the_edges_decode_the_same(field, value):
    _same([_message(dossier(), **{field: value})], received_at=utc_now())


def test_an_empty_batch_is_empty():
    assert decode_all([], received_at=utc_now(), max_payload_bytes=65536) == []
