"""Exactly once by event_id, whatever occurred_at a second message gives it.

The event tables are keyed by (event_id, occurred_at), as a hypertable must be; the ids are
claimed in ``event_ids``, keyed by event_id alone. A second message with a stored id is a
duplicate when it is the same event and a dead letter (conflicting_duplicate, naming both
occurred_at values) when it is not: in one batch, across batches, across days (chunks on
TimescaleDB) and across feeds.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, timedelta

import asyncpg
import pytest

from ioc.ingest.boundary import DeadLetterReason
from ioc.ingest.store import Store, StoreUnavailable
from ioc.models import DossierStatus, Event
from ioc.storage.migrations import MIGRATIONS_DIR
from tests.conftest import count_rows, wait_until
from tests.factories import dossier, incident, payment

pytestmark = [pytest.mark.db]


def moved(event: Event, **changes: object) -> Event:
    return event.model_copy(update=changes)


async def write(dsn: str, *batches: list[Event]):
    store = Store(dsn)
    try:
        return [await store.write(batch, []) for batch in batches]
    finally:
        await store.close()


async def test_a_second_occurred_at_under_a_stored_id_is_a_conflicting_duplicate(database, db):
    events = [payment() for _ in range(100)]
    later = [moved(e, occurred_at=e.occurred_at + timedelta(seconds=1)) for e in events]
    first, second = await write(database, events, later)
    assert (first.stored, first.duplicates, first.dead_lettered) == (100, 0, 0)
    assert (second.stored, second.duplicates, second.dead_lettered) == (0, 0, 100)
    assert {r.reason for r in second.rejected} == {DeadLetterReason.CONFLICTING_DUPLICATE}
    assert await count_rows(db, "payment_events") == 100
    detail = await db.fetchval(
        "SELECT detail FROM dead_letters WHERE reason = 'conflicting_duplicate' "
        "AND position($1::bytea IN payload) > 0", str(events[0].event_id).encode()
    )
    assert "2026-11-20T02:00:00+00:00" in detail  # the stored one, as PostgreSQL returns it
    assert "2026-11-20T09:00:01+07:00" in detail  # the new one, as sent
    print(f"published {len(events) + len(later)} (100 ids, each with two occurred_at), "
          f"stored {await count_rows(db, 'payment_events')}, distinct 100, dead-lettered "
          f"{await count_rows(db, 'dead_letters')}, lost 0")


async def test_the_same_event_again_is_a_duplicate_however_it_is_written(database, db):
    event = payment()
    utc = json.loads(event.to_json())
    utc["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    same_instant = type(event).model_validate_json(json.dumps(utc))
    first, again, rewritten = await write(database, [event], [event], [same_instant])
    assert first.stored == 1
    assert (again.stored, again.duplicates, again.dead_lettered) == (0, 1, 0)
    assert (rewritten.stored, rewritten.duplicates, rewritten.dead_lettered) == (0, 1, 0)


async def test_in_one_batch_the_first_occurrence_wins(database, db):
    event = payment()
    other = moved(event, occurred_at=event.occurred_at + timedelta(minutes=5))
    different = moved(event, amount_vnd=event.amount_vnd + 1)
    (result,) = await write(database, [event, event, other, different, payment()])
    assert (result.stored, result.duplicates, result.dead_lettered) == (2, 1, 2)
    stored = await db.fetchval(
        "SELECT amount_vnd FROM payment_events WHERE event_id = $1", event.event_id
    )
    assert stored == event.amount_vnd


async def test_across_days_and_chunks_and_feeds(database, db):
    event = dossier(DossierStatus.SUBMITTED)
    ten_days_on = moved(event, occurred_at=event.occurred_at + timedelta(days=10))
    same_id_payment = payment(event_id=event.event_id)
    _, later, other_feed = await write(database, [event], [ten_days_on], [same_id_payment])
    assert later.dead_lettered == 1 and later.stored == 0
    assert other_feed.dead_lettered == 1 and other_feed.stored == 0
    assert "stored already as a dossier event" in other_feed.rejected[0].detail
    assert "this payment event" in other_feed.rejected[0].detail
    assert await count_rows(db, "dossier_events") == 1
    assert await count_rows(db, "payment_events") == 0


async def test_a_conflicting_event_never_becomes_the_current_state(database, db):
    submitted = dossier(DossierStatus.SUBMITTED)
    # a "resolved" under the submitted event's id, a day later: not a real resolution
    impostor = moved(submitted, status=DossierStatus.RESOLVED,
                     occurred_at=submitted.occurred_at + timedelta(days=1))
    await write(database, [submitted], [impostor])
    status, last = await db.fetchrow(
        "SELECT status, last_event_at FROM dossiers WHERE dossier_id = $1", submitted.dossier_id
    )
    assert status == "submitted" and last == submitted.occurred_at


async def test_two_writers_with_the_same_ids_store_each_once(database, db):
    """Both claim the same ids at once: one waits for the other's commit and counts them as
    duplicates (the claim is one statement in id order, so neither can deadlock)."""
    events = [payment() for _ in range(400)] + [dossier() for _ in range(100)]
    store = Store(database, connections=2)
    try:
        results = await asyncio.gather(
            store.write(events, []), store.write(list(reversed(events)), [])
        )
    finally:
        await store.close()
    assert sum(r.stored for r in results) == len(events)
    assert sum(r.duplicates for r in results) == len(events)
    assert sum(r.dead_lettered for r in results) == 0


async def test_events_stored_before_the_migration_stay_duplicates(database, db):
    """0006 claimed the ids of the events stored before it with its own statement: those
    events, redelivered, are duplicates (compared with their stored rows, column by column),
    and one value changed under a stored id is a conflict."""
    events = [payment() for _ in range(20)] + [dossier() for _ in range(5)]
    events += [incident() for _ in range(5)]
    await write(database, events)
    migration = (MIGRATIONS_DIR / "0006_exactly_once.sql").read_text()
    backfill = migration[migration.index("DO $$"):migration.index("GRANT ")]
    await db.execute("ALTER TABLE event_ids ADD COLUMN digest uuid")  # dropped by 0010
    try:
        await db.execute("DELETE FROM event_ids")
        await db.execute(backfill)
    finally:
        await db.execute("ALTER TABLE event_ids DROP COLUMN digest")
    assert await count_rows(db, "event_ids") == 30
    changed = moved(events[0], amount_vnd=events[0].amount_vnd + 1)
    (again,) = await write(database, [*events, changed])
    assert (again.stored, again.duplicates, again.dead_lettered) == (0, 30, 1)
    assert "differs from it" in again.rejected[0].detail


async def test_every_column_is_compared(database, db):
    """A redelivered event differing in any one column (the optional ones too, null against
    a value) is a conflict, never a duplicate."""
    stored = [payment(), dossier(), incident()]
    await write(database, stored)
    variants = [
        moved(stored[0], gateway=stored[0].gateway + "-other"),
        moved(stored[0], error_code="E01"),
        moved(stored[1], fee_paid_online=not stored[1].fee_paid_online),
        moved(stored[2], latitude=stored[2].latitude + 1e-9),
        moved(stored[2], satisfaction=4 if stored[2].satisfaction != 4 else 5),
    ]
    for variant in variants:
        (result,) = await write(database, [variant])
        assert (result.stored, result.duplicates, result.dead_lettered) == (0, 0, 1), variant
    (same,) = await write(database, stored)
    assert (same.stored, same.duplicates, same.dead_lettered) == (0, 3, 0)


async def test_an_id_whose_row_has_expired_is_a_duplicate(database, db):
    """The row is gone (retention dropped it) but not yet its id: the event cannot be compared
    and is not stored again (it was stored once)."""
    event = payment()
    await write(database, [event])
    await db.execute("DELETE FROM payment_events")
    (again,) = await write(database, [event, moved(event, occurred_at=event.occurred_at
                                                  + timedelta(seconds=1))])
    assert (again.stored, again.duplicates, again.dead_lettered) == (0, 1, 1)
    assert await count_rows(db, "payment_events") == 0


@pytest.mark.broker
async def test_through_the_ingester(ingester, publish, db: asyncpg.Connection):
    event = payment()
    topic = event.topic
    await publish(topic, event.to_json())
    await wait_until(lambda: _count(db, "payment_events", 1))
    await publish(topic, moved(event, occurred_at=event.occurred_at + timedelta(seconds=1))
                  .to_json())
    await publish(topic, event.to_json())
    await wait_until(lambda: _count(db, "dead_letters", 1))
    await wait_until(lambda: _stats(ingester, 1))
    assert await count_rows(db, "payment_events") == 1
    reason = await db.fetchval("SELECT reason FROM dead_letters")
    assert reason == "conflicting_duplicate"


async def _count(db: asyncpg.Connection, table: str, expected: int) -> bool:
    return await count_rows(db, table) == expected


async def _stats(ingester, duplicates: int) -> bool:
    return ingester.stats.duplicates == duplicates


async def test_a_column_added_while_the_store_runs_costs_one_retry(database, db):
    """A migration adds a column to an event table while the ingester runs: the batch
    statement's row type is stale. The write says so as StoreUnavailable (the ingester retries
    the batch), the store reads the tables again, and the retry stores it: no dead letters."""
    store = Store(database, connections=2)
    try:
        await store.write([payment(), dossier()], [])
        await db.execute("ALTER TABLE payment_events ADD COLUMN note text")
        event = payment()
        with pytest.raises(StoreUnavailable, match="tables changed"):
            await store.write([event], [])
        result = await store.write([event], [])
    finally:
        await store.close()
    assert (result.stored, result.dead_lettered) == (1, 0)
    assert await count_rows(db, "payment_events") == 2
    assert await count_rows(db, "dead_letters") == 0

