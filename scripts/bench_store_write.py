"""What ``Store.write`` costs per event, on pre-decoded events (no broker, no decoding).

    .venv/bin/python scripts/bench_store_write.py [--events 60000] [--batch 500] [--rounds 3]

Starts a durable local PostgreSQL in a temporary directory, migrates a fresh database per
round, and writes the simulated events of three provinces in batches over one connection, as
one ingester writer does. Prints events/s and microseconds per event for each round (wall
time, commits included). Used for the cost of the event_ids claim (README, Delivery
guarantees); it runs against any version of ``ioc.ingest.store``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ioc.ingest.store import Store
from ioc.storage.migrations import migrate
from ioc.tools.local import LocalPostgres
from simulators.engine import Simulation
from simulators.profiles import PROFILES


async def one_round(dsn: str, events: list, batch: int) -> float:
    await migrate(dsn)
    store = Store(dsn)
    try:
        began = time.perf_counter()
        for start in range(0, len(events), batch):
            await store.write(events[start : start + batch], [])
        return time.perf_counter() - began
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    sim = Simulation(list(PROFILES.values()), seed=3, start=start)
    events = []
    for event in sim.events_until(start + timedelta(days=30)):
        events.append(event)
        if len(events) == args.events:
            break
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres(Path(tmp) / "pg") as server:
        seconds = []
        for number in range(args.rounds):
            dsn = server.create_database(f"bench_{number}")
            took = asyncio.run(one_round(dsn, events, args.batch))
            seconds.append(took)
            print(f"round {number + 1}: {len(events):,} events in {took:.2f} s, "
                  f"{len(events) / took:,.0f} events/s, {took / len(events) * 1e6:.1f} µs/event")
    best = min(seconds)
    print(f"best of {args.rounds}: {len(events) / best:,.0f} events/s, "
          f"{best / len(events) * 1e6:.1f} µs/event (median "
          f"{statistics.median(seconds) / len(events) * 1e6:.1f} µs/event)")


if __name__ == "__main__":
    main()
