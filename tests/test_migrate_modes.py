"""``IOC_TIMESCALEDB`` for ``ioc db migrate``: what each mode does on each kind of server and
database (``ioc.storage.migrations.choose_timescaledb``, pure), then on the real servers."""

from __future__ import annotations

import asyncpg
import pytest

from ioc.errors import TimescaleDBRefused
from ioc.storage.migrations import ServerOffer, choose_timescaledb, migrate

NONE = ServerOffer(installed=False, preloaded=False, created=False, migrated_with=None)
INSTALLED = ServerOffer(installed=True, preloaded=False, created=False, migrated_with=None)
READY = ServerOffer(installed=True, preloaded=True, created=False, migrated_with=None)


def offer(base: ServerOffer, **changes: object) -> ServerOffer:
    return ServerOffer(**{**base.__dict__, **changes})


@pytest.mark.parametrize(
    ("mode", "server", "expected"),
    [
        ("auto", NONE, False),
        ("auto", READY, True),
        ("off", READY, False),
        ("on", READY, True),
        ("off", NONE, False),
        # a database already migrated stays as it was, whatever the server offers now
        ("auto", offer(READY, migrated_with=False), False),
        ("off", offer(READY, migrated_with=False), False),
        ("auto", offer(READY, created=True, migrated_with=True), True),
        ("on", offer(READY, created=True, migrated_with=True), True),
    ],
)
def test_the_mode_and_the_server_decide(mode, server, expected):
    assert choose_timescaledb(mode, server)[0] is expected


def test_auto_on_a_server_that_does_not_preload_it_migrates_plain_and_says_why():
    timescale, note = choose_timescaledb("auto", INSTALLED)
    assert timescale is False
    assert note and "not preloaded" in note and "shared_preload_libraries" in note


@pytest.mark.parametrize(
    ("mode", "server", "words"),
    [
        ("on", NONE, ["not installed", "IOC_TIMESCALEDB=off"]),
        ("on", INSTALLED, ["does not preload", "shared_preload_libraries", "IOC_TIMESCALEDB=off"]),
        (
            "on",
            offer(READY, migrated_with=False),
            ["migrated for plain PostgreSQL", "new database"],
        ),
        ("off", offer(READY, created=True, migrated_with=True), ["migrated with TimescaleDB"]),
        ("off", offer(READY, created=True), ["already has the extension"]),
        ("auto", offer(INSTALLED, created=True, migrated_with=True), ["does not preload it"]),
    ],
)
def test_every_refusal_is_one_line_that_says_what_to_do(mode, server, words):
    with pytest.raises(TimescaleDBRefused) as refused:
        choose_timescaledb(mode, server)
    text = str(refused.value)
    assert "\n" not in text
    for word in words:
        assert word in text, text


@pytest.mark.timescaledb
async def test_off_keeps_a_database_plain_where_timescaledb_is_there_and_auto_follows_it(
    empty_database,
):
    first = await migrate(empty_database, timescaledb="off")
    assert not first.timescaledb and first.version.startswith("plain PostgreSQL")
    again = await migrate(empty_database)  # auto, on a server that could give TimescaleDB
    assert not again.timescaledb and again.applied == []
    with pytest.raises(TimescaleDBRefused, match="migrated for plain PostgreSQL"):
        await migrate(empty_database, timescaledb="on")
    conn = await asyncpg.connect(empty_database)
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
        )
        assert (
            await conn.fetchval(
                "SELECT relkind::text FROM pg_class WHERE relname = 'payment_events_1m'"
            )
            == "r"
        )
    finally:
        await conn.close()


async def test_migrate_says_which_backend(pg_backend, empty_database):
    result = await migrate(empty_database)
    assert result.timescaledb is pg_backend.timescaledb
    expected = "TimescaleDB 2." if pg_backend.timescaledb else "plain PostgreSQL "
    assert result.version.startswith(expected) and result.version in str(result)
