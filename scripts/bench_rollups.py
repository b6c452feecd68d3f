"""A backfill through the real pipeline, then the rollups against the raw rows (BENCHMARKS.md).

    python scripts/bench_rollups.py --days 30 --scale 1 --backend timescaledb [--policies]
    python scripts/bench_rollups.py --days 30 --scale 0.2 --backend postgresql --refresh 3600

On fresh local servers (a durable PostgreSQL of the chosen backend, a Mosquitto): ``ioc db
migrate``, ``ioc ingest`` as ``ioc_ingester`` with its rollup refresher every ``--refresh``
seconds, ``ioc-sim backfill``; prints the storing rate, the CPU seconds of the ingester and of
every PostgreSQL process while the events were stored, how long after the last row every rollup
equalled the same aggregate over the raw rows (``ioc.storage.rollups.compare``, what ``ioc db
check-rollups`` prints), and the comparison; ``--policies`` then runs every TimescaleDB refresh
policy once more and compares again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import psutil

from ioc.models import EVENT_TYPES
from ioc.storage import rollups
from ioc.storage.migrations import migrate
from ioc.tools.local import LocalMosquitto, LocalPostgres, free_port


def postgres_cpu(pg: LocalPostgres) -> float:
    """CPU seconds of the server: the postmaster, its reaped children, the live ones."""
    pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    times = postmaster.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in postmaster.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        total += child_times.user + child_times.system
    return total


async def stored(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        counts = [
            await conn.fetchval(f"SELECT count(*) FROM {m.table}") for m in EVENT_TYPES.values()
        ]
        return sum(counts)
    finally:
        await conn.close()


async def comparisons(dsn: str) -> list[rollups.Comparison]:
    conn = await asyncpg.connect(dsn)
    try:
        return await rollups.compare(conn) + await rollups.compare(conn, in_progress=True)
    finally:
        await conn.close()


async def run_policies(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await rollups.run_refresh_policies(conn)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--scale", default="1")
    parser.add_argument("--backend", choices=["postgresql", "timescaledb"], default="timescaledb")
    parser.add_argument("--refresh", default="10", help="IOC_INGEST_ROLLUP_REFRESH_SECONDS")
    parser.add_argument("--wait", type=float, default=900, help="longest wait for equality")
    parser.add_argument("--policies", action="store_true")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="ioc-bench-rollups-") as tmp:
        root = Path(tmp)
        with (
            LocalMosquitto(root / "mosquitto") as broker,
            LocalPostgres(
                root / "pg" / "data", durable=True, timescaledb=args.backend == "timescaledb"
            ) as pg,
        ):
            print(asyncio.run(migrate(pg.dsn)), flush=True)
            env = dict(
                os.environ,
                IOC_DATABASE_URL=pg.dsn,
                IOC_MQTT_URL=broker.url,
                IOC_INGEST_METRICS_PORT=str(free_port()),
                IOC_INGEST_ROLLUP_REFRESH_SECONDS=args.refresh,
                IOC_LOG_LEVEL="WARNING",
            )
            ingester_env = dict(env, IOC_DATABASE_URL=pg.dsn.replace("postgres@", "ioc_ingester@"))
            ingester = subprocess.Popen([str(bin_dir / "ioc"), "ingest"], env=ingester_env)
            try:
                time.sleep(3)
                cpu_before = postgres_cpu(pg)
                began = time.time()
                backfill = subprocess.run(
                    [
                        str(bin_dir / "ioc-sim"),
                        "backfill",
                        "--days",
                        str(args.days),
                        "--scale",
                        args.scale,
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                published_after = time.time() - began
                published = int(backfill.stderr.split("published ")[1].split()[0].replace(",", ""))
                while asyncio.run(stored(pg.dsn)) < published:
                    time.sleep(1)
                stored_after = time.time() - began
                own = psutil.Process(ingester.pid).cpu_times()
                print(
                    f"published {published:,} in {published_after:.0f} s; all stored after "
                    f"{stored_after:.0f} s ({published / stored_after:,.0f}/s); ingester CPU "
                    f"{own.user + own.system:.0f} s, PostgreSQL CPU "
                    f"{postgres_cpu(pg) - cpu_before:.0f} s (refresh every {args.refresh} s)",
                    flush=True,
                )
                waited = time.time()
                while True:
                    result = asyncio.run(comparisons(pg.dsn))
                    if all(c.equal for c in result) or time.time() - waited > args.wait:
                        break
                    time.sleep(2)
                print(
                    f"rollups equal to the raw rows {time.time() - waited:.0f} s after the last "
                    f"row was stored: {all(c.equal for c in result)}"
                )
                for comparison in result:
                    print(f"   {comparison}")
                if args.policies and args.backend == "timescaledb":
                    asyncio.run(run_policies(pg.dsn))
                    result = asyncio.run(comparisons(pg.dsn))
                    print(f"after every refresh policy ran again: {all(c.equal for c in result)}")
                    for comparison in result[: len(rollups.ROLLUPS)]:
                        print(f"   {comparison}")
            finally:
                ingester.terminate()
                ingester.wait()


if __name__ == "__main__":
    main()
