"""``ioc bench``: the pipeline on local components, measured.

A Mosquitto and a PostgreSQL are started in a temporary directory, the schema migrated, and
``ioc ingest`` started as its own process (so its RSS and CPU are its own). Simulated events
are generated first, then published by several processes at QoS 1 (at full speed, or at a
fixed total rate with ``--rate``) from PUBLISH packets encoded before the start, so that the
load generator is not what is measured. The command prints rows/s stored, end-to-end latency
(publish to row written, from the publisher's clock and the row's ``ingested_at``), the
ingester's peak RSS and CPU per event, and lost and duplicated counts against what was
published, and beside the ingester's CPU per stored event those of the broker (Mosquitto's
process) and of PostgreSQL (the postmaster's whole tree, backends that exited included) over
the same interval, and their sum: the whole box's CPU per event, publishers left out.
``--workers N`` runs ``ioc ingest --workers N``; ``--outage SECONDS`` stops
PostgreSQL for SECONDS under the full load; ``--compare mq-bridge`` runs the same load on
the broker alone (``mosquitto_sub`` acking and discarding: the broker's QoS 1 ceiling for this
load), on ``ioc ingest`` and on mq-bridge (PyPI, its own virtual environment), and prints the
three blocks and the ratios. Timing
assertions never go in the test suite; figures go in BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil
from prometheus_client.parser import text_string_to_metric_families

from ioc.models import EVENT_TYPES
from ioc.settings import Settings
from ioc.storage.migrations import migrate
from ioc.tools.local import LocalMosquitto, LocalPostgres, free_port

MAX_PER_PUBLISHER = 50_000  # one packet id per message (< 65,536), as the issue asks


def generate(count: int, seed: int = 1) -> list[tuple[str, bytes, str]]:
    """``count`` simulated events as (topic, payload, event_id), from a month of history."""
    from simulators.engine import Simulation
    from simulators.profiles import PROFILES

    start = datetime.now(UTC) - timedelta(days=30)
    simulation = Simulation(list(PROFILES.values()), seed=seed, start=start, scale=1.0)
    out: list[tuple[str, bytes, str]] = []
    horizon = start
    while len(out) < count:
        horizon += timedelta(hours=6)
        for event in simulation.events_until(horizon):
            out.append(
                (
                    event.topic,
                    event.to_json(),
                    str(event.event_id),
                )
            )
            if len(out) >= count:
                break
    return out


def _publisher(
    port: int,
    items: list[tuple[str, bytes, str]],
    rate: float | None,
    ready: mp.Barrier,
    results: mp.Queue,
) -> None:
    """One publishing process at QoS 1; reports (event_id, publish time) once all are acked.

    The load must not be the limit, so this is no client library: the PUBLISH packets are
    encoded before the start (``ioc.mqtt.wire``, one packet id per message, hence at most
    65,535 per process) and written to the socket in large writes, and a reader thread counts
    the broker's PUBACKs. At full speed a process offers ~100k msg/s to an idle broker. With
    ``rate`` each packet is written at its own time.
    """
    import socket

    from ioc.mqtt.wire import ConnAck, Connect, Decoder, PubAck, Publish

    packets = [
        Publish(topic, payload, 1, index + 1).encode()
        for index, (topic, payload, _) in enumerate(items)
    ]
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(Connect(f"bench-pub-{os.getpid()}", keepalive=0).encode())
    decoder = Decoder()
    while not any(isinstance(p, ConnAck) for p in decoder.packets()):
        decoder.feed(sock.recv(65536))
    acked = 0

    def count_acks() -> None:
        nonlocal acked
        while acked < len(packets):
            data = sock.recv(1 << 20)
            if not data:
                return
            decoder.feed(data)
            acked += sum(1 for p in decoder.packets() if isinstance(p, PubAck))

    reader = threading.Thread(target=count_acks, daemon=True)
    reader.start()
    sent: list[tuple[str, float]] = []
    ready.wait()
    begin = time.perf_counter()
    chunk = 1 if rate else 256
    for index in range(0, len(packets), chunk):
        if rate:
            delay = begin + index / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        now = time.time()
        sent.extend((event_id, now) for _, _, event_id in items[index : index + chunk])
        sock.sendall(b"".join(packets[index : index + chunk]))
    reader.join(120)
    sock.close()
    results.put(sent)


@dataclass
class Figures:
    published: int
    stored: int
    lost: int
    duplicated: int
    publish_seconds: float
    store_seconds: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    peak_rss_mb: float
    cpu_us_per_event: float
    """The consumer's CPU (its process tree) per stored event."""
    broker_cpu_us_per_event: float
    """Mosquitto's CPU per stored event, over the consumer's interval."""
    postgres_cpu_us_per_event: float
    """The PostgreSQL server's CPU (postmaster and every backend, reaped ones included) per
    stored event, over the consumer's interval; NaN when it was restarted (an outage run)."""
    batches: tuple[int, float, float] | None = None
    """``ioc ingest`` only: (batches committed, mean events per batch, mean ms to write and
    commit one), from its /metrics: how full the batches ran and how long a commit took."""

    @property
    def rows_per_second(self) -> float:
        return self.stored / self.store_seconds if self.store_seconds else 0.0

    @property
    def box_cpu_us_per_event(self) -> float:
        """What one stored event costs the whole box: consumer + broker + PostgreSQL.

        The publishers are the offered load, not the pipeline, and are left out.
        """
        return self.cpu_us_per_event + self.broker_cpu_us_per_event + self.postgres_cpu_us_per_event


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


class RssWatcher(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                rss = sum(p.memory_info().rss for p in [self.process, *self.process.children(True)])
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            time.sleep(0.05)


# Where each consumer's rows are: (table, SQL for the event id, SQL for the write time).
IOC_TABLES = [(m.table, "event_id::text", "ingested_at") for m in EVENT_TYPES.values()]
MQB_TABLE = "mqb_messages"  # mq-bridge's own schema: id, payload bytea, created_at
MQB_TABLES = [
    (MQB_TABLE, "convert_from(payload, 'UTF8')::jsonb->>'event_id'", "created_at"),
]
MQB_VERSION = "1.2.0"
MQB_VENV = Path.home() / ".cache" / "ioc-bench" / "mq-bridge-venv"


async def _count_rows(conn: asyncpg.Connection, tables: list[tuple[str, str, str]] | None) -> int:
    return sum([await conn.fetchval(f"SELECT count(*) FROM {t[0]}") for t in tables or IOC_TABLES])


async def _count_stored(dsn: str, tables: list[tuple[str, str, str]] | None = None) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await _count_rows(conn, tables)
    finally:
        await conn.close()


@dataclass
class Tally:
    """What a consumer delivered, counted by event id against what was published."""

    received: int
    lost: int
    duplicated: int
    last: float
    """Time of the last arrival (epoch seconds)."""
    latencies_ms: list[float]
    """Publish -> arrival, sorted."""


def _tally(arrivals: Iterable[tuple[str, float]], sent: dict[str, float]) -> Tally:
    """Count (event id, arrival time) pairs against ``sent`` (event id -> publish time)."""
    seen: set[str] = set()
    latencies: list[float] = []
    received = 0
    last = 0.0
    for event_id, arrived in arrivals:
        received += 1
        last = max(last, arrived)
        seen.add(event_id)
        if event_id in sent:
            latencies.append((arrived - sent[event_id]) * 1000)
    return Tally(received, len(set(sent) - seen), received - len(seen), last, sorted(latencies))


async def _collect(
    dsn: str, sent: dict[str, float], tables: list[tuple[str, str, str]] | None = None
) -> Tally:
    """The stored rows' event ids and write times, counted against what was published."""
    conn = await asyncpg.connect(dsn)
    try:
        arrivals: list[tuple[str, float]] = []
        for table, id_sql, time_sql in tables or IOC_TABLES:
            rows = await conn.fetch(
                f"SELECT {id_sql} AS id, extract(epoch FROM {time_sql}) AS t FROM {table}"
            )
            arrivals += [(row["id"], float(row["t"])) for row in rows]
        return _tally(arrivals, sent)
    finally:
        await conn.close()


def measure(
    *,
    events: int,
    publishers: int,
    durable: bool,
    rate: float | None = None,
    workdir: Path | None = None,
    ingest_args: tuple[str, ...] = (),
    workers: int = 1,
    outage: float | None = None,
    consumer: str = "ioc",
    timescaledb: bool = False,
    log: Callable[[str], object] = print,
) -> Figures:
    """Run one measurement on fresh local servers and return the figures.

    ``workers`` > 1 runs ``ioc ingest --workers N`` (RSS and CPU are summed over the worker
    processes). ``outage`` stops PostgreSQL for that many seconds once some rows are stored,
    under the full load, then starts it again on the same port. ``consumer="mq-bridge"`` runs
    mq-bridge (from its own virtual environment) instead of ``ioc ingest``, writing raw
    payload rows into a table of its own schema in a separate database.
    """
    with tempfile.TemporaryDirectory(prefix="ioc-bench-", dir=workdir) as tmp:
        root = Path(tmp)
        log(f"generating {events:,} simulated events …")
        items = generate(events)
        publishers = max(publishers, -(-len(items) // MAX_PER_PUBLISHER))
        with (
            LocalMosquitto(root / "mosquitto") as broker,
            LocalPostgres(root / "pg" / "data", durable=durable, timescaledb=timescaledb) as pg,
        ):
            asyncio.run(migrate(pg.dsn, timescaledb="on" if timescaledb else "off"))
            dsn, tables = pg.dsn, IOC_TABLES
            metrics_port = free_port()
            env = dict(
                os.environ,
                IOC_MQTT_URL=broker.url,
                IOC_DATABASE_URL=pg.dsn,
                IOC_INGEST_METRICS_PORT=str(metrics_port),
                IOC_INGEST_CLIENT_ID="bench-ingester",
                IOC_LOG_LEVEL="WARNING",
            )
            null_output = root / "mosquitto_sub.out"
            if consumer == "broker":
                ingester = _start_null_consumer(broker.port, len(items), null_output)
            elif consumer == "mq-bridge":
                dsn, tables = pg.create_database("mqbridge"), MQB_TABLES
                ingester = _start_mqbridge(root, broker.url, dsn, retry=bool(outage))
            else:
                if workers > 1:
                    ingest_args = (*ingest_args, "--workers", str(workers))
                ingester = subprocess.Popen(
                    [sys.executable, "-m", "ioc.cli", "ingest", *ingest_args], env=env
                )
            outage_thread: threading.Thread | None = None
            batches = None
            try:
                if consumer == "broker":
                    time.sleep(0.5)  # its SUBSCRIBE precedes the first publish
                elif consumer == "mq-bridge":
                    _wait_table(dsn, MQB_TABLE, ingester)
                else:
                    for index in range(workers):
                        _wait_ready(metrics_port + index, ingester)
                watcher = RssWatcher(ingester.pid)
                watcher.start()
                postmaster = pg.pid
                if broker.process is None or postmaster is None:
                    raise RuntimeError("the broker or PostgreSQL stopped before the run")
                box = [ingester.pid, broker.process.pid, postmaster]
                cpu_before = [tree_cpu_seconds(pid) for pid in box]
                ctx = mp.get_context("spawn")
                barrier = ctx.Barrier(publishers + 1)
                results: mp.Queue = ctx.Queue()
                share = -(-len(items) // publishers)
                per_rate = rate / publishers if rate else None
                procs = [
                    ctx.Process(
                        target=_publisher,
                        args=(
                            broker.port,
                            items[i * share : (i + 1) * share],
                            per_rate,
                            barrier,
                            results,
                        ),
                    )
                    for i in range(publishers)
                ]
                for proc in procs:
                    proc.start()
                barrier.wait()
                t0 = time.time()
                if outage:
                    outage_thread = threading.Thread(
                        target=_outage,
                        args=(pg, dsn, tables, outage, max(1, len(items) // 10), log),
                    )
                    outage_thread.start()
                log(
                    f"publishing with {publishers} process(es) "
                    + (f"at {rate:,.0f} events/s …" if rate else "at full speed …")
                )
                sent: dict[str, float] = {}
                for _ in procs:
                    sent.update(results.get(timeout=600))
                publish_seconds = time.time() - t0
                for proc in procs:
                    proc.join()
                if outage_thread is not None:
                    outage_thread.join()
                if consumer == "broker":
                    cpu_used = _cpu_used(box, cpu_before)
                    ingester.wait(120)
                    watcher.running = False
                    tally = null_consumer_counts(null_output, sent)
                else:
                    stall = 60.0 if outage else 15.0
                    cpu_used = _wait_stored(
                        dsn, len(items), stall, tables, box=box, cpu_before=cpu_before
                    )
                    watcher.running = False
                    if consumer == "ioc":
                        batches = _batches(metrics_port)
                    tally = asyncio.run(_collect(dsn, sent, tables))
                if pg.pid != postmaster:  # restarted by the outage: its first life is gone
                    cpu_used[2] = float("nan")
            finally:
                ingester.terminate()
                try:
                    ingester.wait(30)
                except subprocess.TimeoutExpired:
                    log("the consumer did not stop within 30 s of SIGTERM; killed")
                    ingester.kill()
                    ingester.wait(30)
        return Figures(
            published=len(items),
            stored=tally.received,
            lost=tally.lost,
            duplicated=tally.duplicated,
            publish_seconds=publish_seconds,
            store_seconds=max(tally.last - t0, 1e-9),
            latency_p50_ms=_percentile(tally.latencies_ms, 0.50),
            latency_p95_ms=_percentile(tally.latencies_ms, 0.95),
            latency_p99_ms=_percentile(tally.latencies_ms, 0.99),
            peak_rss_mb=watcher.peak / 2**20,
            cpu_us_per_event=cpu_used[0] / max(tally.received, 1) * 1e6,
            broker_cpu_us_per_event=cpu_used[1] / max(tally.received, 1) * 1e6,
            postgres_cpu_us_per_event=cpu_used[2] / max(tally.received, 1) * 1e6,
            batches=batches,
        )


def _batches(metrics_port: int) -> tuple[int, float, float] | None:
    """(batches, mean events per batch, mean commit ms) from the ingester's /metrics."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    count = values.get("ioc_ingest_batch_size_count", 0.0)
    if not count:
        return None
    return (
        int(count),
        values.get("ioc_ingest_batch_size_sum", 0.0) / count,
        values.get("ioc_ingest_commit_seconds_sum", 0.0) / count * 1000,
    )


def _start_null_consumer(port: int, count: int, output: Path) -> subprocess.Popen[bytes]:
    """The broker's QoS 1 ceiling: Mosquitto's own C client acks and writes, nothing else.

    ``mosquitto_sub`` (Debian's mosquitto-clients) on the same filter and QoS with a persistent
    session, exiting after ``count`` messages; each line is a payload and its arrival time.
    """
    import shutil

    binary = shutil.which("mosquitto_sub")
    if binary is None:
        raise RuntimeError("mosquitto_sub is not installed: apt-get install mosquitto-clients")
    args = [binary, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-c", "-i", "bench-null"]
    args += ["-t", "ioc/v1/#", "-C", str(count), "-F", "%U %p"]
    with open(output, "wb") as out:
        return subprocess.Popen(args, stdout=out)


def null_consumer_counts(output: Path, sent: dict[str, float]) -> Tally:
    """``mosquitto_sub -F '%U %p'`` output (arrival time, payload per line), counted."""

    def arrivals() -> Iterator[tuple[str, float]]:
        with open(output, "rb") as lines:
            for line in lines:
                stamp, _, payload = line.partition(b" ")
                yield json.loads(payload)["event_id"], float(stamp)

    return _tally(arrivals(), sent)


def _outage(
    pg: LocalPostgres,
    dsn: str,
    tables: list[tuple[str, str, str]],
    seconds: float,
    after_rows: int,
    log: Callable[[str], object],
) -> None:
    """Stop PostgreSQL once ``after_rows`` rows are stored; start it again ``seconds`` later."""
    while True:
        try:
            if asyncio.run(_count_stored(dsn, tables)) >= after_rows:
                break
        except (OSError, asyncpg.PostgresError):
            pass
        time.sleep(0.1)
    log(f"outage: stopping PostgreSQL for {seconds:.0f} s")
    pg.stop("immediate")
    time.sleep(seconds)
    pg.start()
    log("outage: PostgreSQL is back")


def ensure_mqbridge(version: str = MQB_VERSION, venv: Path = MQB_VENV) -> Path:
    """mq-bridge ``version`` from PyPI in its own virtual environment; returns its Python."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('mq-bridge'))"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip() == version:
            return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", f"mq-bridge=={version}"], check=True)
    return python


def _start_mqbridge(
    root: Path, broker_url: str, dsn: str, *, retry: bool = False
) -> subprocess.Popen[bytes]:
    """mq-bridge's MQTT -> sqlx route on the same broker, topic and QoS as ``ioc ingest``.

    Default route settings; with ``retry`` (outage runs) the output gets mq-bridge's own
    ``retry`` middleware, long enough to outlast the outage, as ours retries until it is back.
    """
    python = ensure_mqbridge()
    sqlx: dict[str, object] = {"url": dsn, "table": MQB_TABLE, "auto_create_table": True}
    output: dict[str, object] = {"sqlx": sqlx}
    if retry:
        output["middlewares"] = [
            {"retry": {"max_attempts": 1000, "initial_interval_ms": 200, "max_interval_ms": 2000}}
        ]
    config = {
        "input": {
            "mqtt": {
                "url": broker_url,
                "topic": "ioc/v1/#",
                "qos": 1,
                "client_id": "bench-mq-bridge",
                "clean_session": False,
            }
        },
        "output": output,
    }
    path = root / "mq-bridge.json"
    path.write_text(json.dumps(config))
    runner = Path(__file__).with_name("mqbridge_runner.py")
    return subprocess.Popen([str(python), str(runner), str(path)], stdout=subprocess.DEVNULL)


def _wait_table(dsn: str, table: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until mq-bridge has created its table (its route is then deployed)."""

    async def exists() -> bool:
        conn = await asyncpg.connect(dsn)
        try:
            return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))
        finally:
            await conn.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mq-bridge exited with {process.returncode}")
        if asyncio.run(exists()):
            time.sleep(1.0)  # the MQTT subscription follows the deployment
            return
        time.sleep(0.2)
    raise RuntimeError("mq-bridge did not create its table")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of ``pid``, its live descendants and the children it reaped.

    The reaped part is what makes this right for PostgreSQL: a backend that exits during the
    run (the consumer's reconnections, say) is then in its postmaster's children times, not
    lost. A descendant that exits between the two reads is missed.
    """
    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(True):
        try:
            times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _cpu_used(pids: list[int], before: list[float]) -> list[float]:
    """CPU seconds each process tree used since ``before``; NaN for one that is gone."""
    used: list[float] = []
    for pid, start in zip(pids, before, strict=True):
        try:
            used.append(tree_cpu_seconds(pid) - start)
        except psutil.NoSuchProcess:
            used.append(float("nan"))
    return used


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the ingester exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
                if response.status == 200:
                    time.sleep(0.3)  # the subscription follows the connection
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the ingester did not become ready")


def _wait_stored(
    dsn: str,
    expected: int,
    stall: float,
    tables: list[tuple[str, str, str]] | None,
    *,
    box: list[int],
    cpu_before: list[float],
) -> list[float]:
    """Poll until ``expected`` rows are stored (or none came for ``stall`` s); then the CPU
    seconds each process tree of ``box`` used since ``cpu_before`` (``_cpu_used``).

    The polling is the bench's, not the consumer's, work: one connection does it all (a new
    backend per poll would cost PostgreSQL a fork and a catalog load each time), and that
    backend's CPU, read while it is still open, is taken out of PostgreSQL's (``box[2]``, the
    postmaster). A new connection per poll cost it 4-16 ms a poll on our 2-core machine.
    """

    async def poll() -> list[float]:
        conn = await asyncpg.connect(dsn)
        try:
            backend = psutil.Process(await conn.fetchval("SELECT pg_backend_pid()"))
            last, last_change = -1, time.monotonic()
            while True:
                stored = await _count_rows(conn, tables)
                if stored >= expected:
                    break
                if stored != last:
                    last, last_change = stored, time.monotonic()
                elif time.monotonic() - last_change > stall:
                    break
                await asyncio.sleep(0.2)
            used = _cpu_used(box, cpu_before)
            own = backend.cpu_times()
            used[2] -= own.user + own.system
            return used
        finally:
            await conn.close()

    return asyncio.run(poll())


def report(figures: Figures, title: str, who: str = "ingester", unit: str = "rows") -> str:
    return "\n".join(
        [
            title,
            f"  published            {figures.published:>10,} events "
            f"in {figures.publish_seconds:.2f} s "
            f"({figures.published / max(figures.publish_seconds, 1e-9):,.0f}/s)",
            f"  {'stored' if unit == 'rows' else 'received':<20} {figures.stored:>10,} {unit} "
            f"in {figures.store_seconds:.2f} s",
            f"  sustained            {figures.rows_per_second:>10,.0f} {unit}/s",
            f"  latency p50/p95/p99  {figures.latency_p50_ms:>8,.1f} / "
            f"{figures.latency_p95_ms:,.1f} / "
            f"{figures.latency_p99_ms:,.1f} ms (publish -> "
            + ("row written)" if unit == "rows" else "received)"),
            f"  {who + ' peak RSS':<20} {figures.peak_rss_mb:>10,.1f} MB",
            f"  {who + ' CPU':<20} {figures.cpu_us_per_event:>10,.1f} µs/event",
            f"  broker CPU           {figures.broker_cpu_us_per_event:>10,.1f} µs/event "
            "(mosquitto)",
            f"  PostgreSQL CPU       {figures.postgres_cpu_us_per_event:>10,.1f} µs/event "
            + (
                "(postmaster and all its backends)"
                if unit == "rows"
                else "(idle server: no database in this run)"
            ),
            f"  whole box CPU        {figures.box_cpu_us_per_event:>10,.1f} µs/event "
            f"({who} + broker + PostgreSQL; publishers not counted)",
            *(
                [
                    f"  batches              {figures.batches[0]:>10,} (mean "
                    f"{figures.batches[1]:,.0f} events, {figures.batches[2]:,.1f} ms to write "
                    "and commit)"
                ]
                if figures.batches
                else []
            ),
            f"  lost                 {figures.lost:>10,}",
            f"  duplicated           {figures.duplicated:>10,}",
        ]
    )


def run_bench(
    settings: Settings,
    *,
    events: int,
    publishers: int,
    durable: bool,
    rate: float | None = None,
    workers: int = 1,
    outage: float | None = None,
    timescaledb: bool = False,
) -> None:
    figures = measure(
        events=events,
        publishers=publishers,
        durable=durable,
        rate=rate,
        workers=workers,
        outage=outage,
        timescaledb=timescaledb,
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    extra = (f", {workers} ingest workers" if workers > 1 else "") + (
        f", PostgreSQL stopped {outage:.0f} s under load" if outage else ""
    )
    if timescaledb:
        extra += ", TimescaleDB"
    machine = f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    print(
        report(
            figures,
            f"ioc bench: {events:,} events, {publishers} publisher(s), "
            f"{'durable' if durable else 'fast'} PostgreSQL{extra}, {machine}",
        )
    )


def run_compare(
    *,
    events: int,
    publishers: int,
    durable: bool,
    against: str,
    outage: float | None = None,
    workers: int = 1,
) -> None:
    """Same offered load on fresh servers: the broker alone, ``ioc ingest``, mq-bridge.

    The first run is the broker's QoS 1 ceiling for this load (``mosquitto_sub`` acking and
    discarding, no database); the ratios put both consumers against it and each other.
    """
    if against != "mq-bridge":
        raise ValueError(f"unknown comparison target {against!r}")
    log: Callable[[str], object] = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    ensure_mqbridge()
    common = dict(events=events, publishers=publishers, durable=durable, log=log)
    ceiling = None if outage else measure(consumer="broker", **common)  # type: ignore[arg-type]
    ours = measure(outage=outage, workers=workers, **common)  # type: ignore[arg-type]
    theirs = measure(outage=outage, consumer="mq-bridge", **common)  # type: ignore[arg-type]
    machine = f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    head = (
        f"{events:,} events, {publishers} publisher(s), QoS 1, "
        f"{'durable' if durable else 'fast'} PostgreSQL, {machine}"
        + (f", PostgreSQL stopped {outage:.0f} s under load" if outage else "")
    )
    if ceiling is not None:
        print(
            report(
                ceiling,
                f"broker ceiling (mosquitto_sub -q 1, acks and discards; no database): {head}",
                who="mosquitto_sub",
                unit="messages",
            )
        )
    print(
        report(
            ours,
            f"ioc ingest{f' --workers {workers}' if workers > 1 else ''}: {head}",
        )
    )
    print(
        report(
            theirs,
            f"mq-bridge {MQB_VERSION} (PyPI, default route settings"
            + (", retry middleware on the output" if outage else "")
            + f"; raw payload rows in its own table, not our typed schema): {head}",
            who="mq-bridge",
        )
    )

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "n/a"

    print("ours / theirs")
    print(f"  rows/s               {ratio(ours.rows_per_second, theirs.rows_per_second):>10}")
    print(f"  CPU µs/event         {ratio(ours.cpu_us_per_event, theirs.cpu_us_per_event):>10}")
    print(
        f"  broker CPU µs/event  "
        f"{ratio(ours.broker_cpu_us_per_event, theirs.broker_cpu_us_per_event):>10}"
    )
    print(
        f"  PostgreSQL CPU       "
        f"{ratio(ours.postgres_cpu_us_per_event, theirs.postgres_cpu_us_per_event):>10}"
    )
    box = ratio(ours.box_cpu_us_per_event, theirs.box_cpu_us_per_event)
    print(f"  whole box CPU        {box:>10}")
    print(f"  peak RSS             {ratio(ours.peak_rss_mb, theirs.peak_rss_mb):>10}")
    if ceiling is not None:
        top = ceiling.rows_per_second
        print("share of the broker's ceiling")
        print(f"  ioc ingest           {ratio(ours.rows_per_second, top):>10}")
        print(f"  mq-bridge            {ratio(theirs.rows_per_second, top):>10}")
