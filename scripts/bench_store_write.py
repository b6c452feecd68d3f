"""What ``Store.write`` costs per event, on pre-decoded events (no broker, no decoding).

    .venv/bin/python scripts/bench_store_write.py [--events 60000] [--batch 500] [--rounds 3]
        [--backend postgresql|timescaledb] [--statements] [--redeliver FRACTION]
        [--without-index NAME ...] [--explain]

Starts a durable local PostgreSQL in a temporary directory, migrates a fresh database per
round, and writes the events `ioc bench` publishes (three provinces) in batches over one
connection, as one ingester writer does. Prints for each round: events/s and microseconds
per event of wall time (commits included), the CPU per event of PostgreSQL (the postmaster
and all its backends) and of this process (the store's side: building rows, asyncpg's
encoding). With ``--statements`` the server preloads pg_stat_statements and the round's
statements are listed with their execution time per event: where PostgreSQL's microseconds
go. ``--redeliver`` writes that fraction of the events a second time (in later batches), as
a broker's redelivery does. ``--explain`` runs one more batch under EXPLAIN ANALYZE (rolled
back) and prints the time of each part of the batch statement: the claim, each table's
insert or fold. ``--without-index`` drops an index after migrating: what that index costs
each write (the index audit in BENCHMARKS.md). It runs against any version of
``ioc.ingest.store``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from ioc.ingest.store import Store
from ioc.models import EVENT_TYPES
from ioc.storage.migrations import migrate
from ioc.tools.bench import generate, tree_cpu_seconds
from ioc.tools.local import LocalPostgres
from ioc.topics import parse_feed_topic

STATEMENTS = """
    SELECT calls, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g')
    FROM pg_stat_statements
    WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND query NOT ILIKE '%pg_stat_statements%'
    ORDER BY total_exec_time DESC LIMIT $1
"""


def _plan_parts(node: dict, out: list[tuple[str, float, int]]) -> None:
    """(what, ms, rows) of each insert (ModifyTable) and each CTE of a JSON plan."""
    name = node.get("Subplan Name") or ""
    if node.get("Node Type") == "ModifyTable":
        out.append((f"{node.get('Operation', '').lower()} {node.get('Relation Name')}",
                    node.get("Actual Total Time", 0.0), node.get("Actual Rows", 0)))
    elif name.startswith("CTE "):
        out.append((name, node.get("Actual Total Time", 0.0), node.get("Actual Rows", 0)))
    for child in node.get("Plans", []):
        _plan_parts(child, out)


async def explain_batch(dsn: str, store: Store, batch: list) -> None:
    """One batch under EXPLAIN ANALYZE, rolled back: where the statement's time goes."""
    conn = await asyncpg.connect(dsn, server_settings={"plan_cache_mode": "force_generic_plan"})
    try:
        async with conn.transaction():
            sql = store._batch_sql  # the store's own statement
            arguments = store._arguments(batch, range(len(batch)), [])
            (plan,) = json.loads(
                await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *arguments)
            )
            parts: list[tuple[str, float, int]] = []
            _plan_parts(plan["Plan"], parts)
            print(f"    EXPLAIN ANALYZE of one batch of {len(batch)}: execution "
                  f"{plan['Execution Time']:.2f} ms, planning {plan['Planning Time']:.2f} ms")
            for what, ms, rows in parts:
                print(f"      {ms * 1000 / len(batch):7.2f} µs/event (inclusive) {rows:6.0f} rows"
                      f"  {what}")
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


async def one_round(
    dsn: str,
    batches: list[list],
    postmaster: int,
    statements: bool,
    timescaledb: str,
    without: list[str],
    explain: list | None = None,
) -> tuple[float, float, float, list]:
    await migrate(dsn, timescaledb=timescaledb)
    if without:
        conn = await asyncpg.connect(dsn)
        for index in without:
            await conn.execute(f'DROP INDEX "{index}"')
        await conn.close()
    if statements:
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("SELECT pg_stat_statements_reset()")
        await conn.close()
    store = Store(dsn)
    try:
        await store.ping()  # connected (and its temporary tables made) before the clock starts
        pg_before, own_before = tree_cpu_seconds(postmaster), time.process_time()
        began = time.perf_counter()
        for batch in batches:
            await store.write(batch, [])
        took = time.perf_counter() - began
        pg_cpu = tree_cpu_seconds(postmaster) - pg_before
        own_cpu = time.process_time() - own_before
    finally:
        await store.close()
    if explain:
        await explain_batch(dsn, store, explain)
    top: list = []
    if statements:
        conn = await asyncpg.connect(dsn)
        top = await conn.fetch(STATEMENTS, 12)
        await conn.close()
    return took, pg_cpu, own_cpu, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("postgresql", "timescaledb"), default="postgresql")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--redeliver", type=float, default=0.0)
    parser.add_argument("--without-index", action="append", default=[])
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    # the events `ioc bench` publishes (the same mix of feeds), decoded
    events = [
        EVENT_TYPES[parse_feed_topic(topic).feed].model_validate_json(payload)
        for topic, payload, _ in generate(args.events)
    ]
    stream = list(events)
    spare = [  # events not written by the rounds, for --explain
        EVENT_TYPES[parse_feed_topic(topic).feed].model_validate_json(payload)
        for topic, payload, _ in generate(args.batch, seed=99)
    ]
    if args.redeliver:
        chooser = random.Random(7)
        again = [e for e in events if chooser.random() < args.redeliver]
        for offset, event in enumerate(again):  # each a few batches after its first time
            stream.insert(min(len(stream), events.index(event) + 3 * args.batch + offset), event)
    batches = [stream[i : i + args.batch] for i in range(0, len(stream), args.batch)]
    mode = "on" if args.backend == "timescaledb" else "off"
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalPostgres(
            Path(tmp) / "pg",
            timescaledb=args.backend == "timescaledb",
            preload=("pg_stat_statements",) if args.statements else (),
        ) as server,
    ):
        seconds = []
        for number in range(args.rounds):
            dsn = server.create_database(f"bench_{number}")
            postmaster = server.pid
            assert postmaster is not None
            took, pg_cpu, own_cpu, top = asyncio.run(
                one_round(
                    dsn,
                    batches,
                    postmaster,
                    args.statements,
                    mode,
                    args.without_index,
                    spare[: args.batch] if args.explain else None,
                )
            )
            seconds.append(took)
            n = len(stream)
            print(
                f"round {number + 1}: {n:,} writes ({len(events):,} events) in {took:.2f} s, "
                f"{n / took:,.0f}/s, {took / n * 1e6:.1f} µs/event wall, PostgreSQL CPU "
                f"{pg_cpu / n * 1e6:.1f} µs/event, store (this process) CPU "
                f"{own_cpu / n * 1e6:.1f} µs/event"
            )
            for calls, total_ms, rows, query in top:
                print(f"    {total_ms * 1000 / n:7.2f} µs/event {calls:6d} calls {rows:8d} rows"
                      f"  {query[:150]}")
    best = min(seconds)
    n = len(stream)
    print(f"best of {args.rounds}: {n / best:,.0f}/s, {best / n * 1e6:.1f} µs/event (median "
          f"{statistics.median(seconds) / n * 1e6:.1f} µs/event)")


if __name__ == "__main__":
    main()
