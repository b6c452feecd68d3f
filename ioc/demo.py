"""``ioc demo``: the whole pipeline on this machine, with a live terminal summary.

Broker: the one at IOC_MQTT_URL when that is set, otherwise a Mosquitto started here.
Database: the one at IOC_DATABASE_URL when set, otherwise an embedded PostgreSQL whose data
stays in the state directory, so a second run continues where the first stopped (the history
backfill then only covers the time since the last stored event).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from rich.console import Console
from rich.live import Live
from rich.table import Table

from ioc.db import migrate
from ioc.ingester import Ingester
from ioc.local import LocalMosquitto, LocalPostgres, free_port
from ioc.models import EVENT_TYPES, Feed
from ioc.service import build_ingester, run_ingester
from ioc.settings import Settings


async def _last_event_time(dsn: str) -> datetime | None:
    conn = await asyncpg.connect(dsn)
    try:
        union = " UNION ALL ".join(
            f"SELECT max(occurred_at) FROM {m.table}" for m in EVENT_TYPES.values()
        )
        return await conn.fetchval(f"SELECT max(max) FROM ({union}) AS t")
    finally:
        await conn.close()


class Summary:
    """What the terminal shows: per-feed rates, totals, dead letters, acknowledgement lag."""

    def __init__(self, ingester: Ingester) -> None:
        self.ingester = ingester
        self.published: dict[str, int] = {f.value: 0 for f in Feed}
        self.phase = "starting"
        self.sim_time: datetime | None = None
        self._history: list[tuple[float, dict[str, int]]] = []

    def render(self) -> Table:
        now = time.monotonic()
        stats = self.ingester.stats
        self._history.append((now, dict(stats.by_feed)))
        self._history = [h for h in self._history if now - h[0] <= 5.0]
        then, before = self._history[0]
        span = max(now - then, 1e-6)
        table = Table(title=f"IOC demo — {self.phase}", caption="Ctrl-C stops everything cleanly")
        for column in ("feed", "published", "stored events", "events/s (5 s)"):
            table.add_column(column, justify="right" if column != "feed" else "left")
        for feed in Feed:
            count = stats.by_feed.get(feed.value, 0)
            rate = (count - before.get(feed.value, 0)) / span if len(self._history) > 1 else 0.0
            table.add_row(
                feed.value, f"{self.published[feed.value]:,}", f"{count:,}", f"{rate:,.1f}"
            )
        lag = (time.time() - stats.last_commit_at) if stats.last_commit_at else None
        table.add_section()
        table.add_row("rows stored", "", f"{stats.stored:,}", "")
        table.add_row("duplicates ignored", "", f"{stats.duplicates:,}", "")
        table.add_row("dead letters", "", f"{stats.dead_lettered:,}", "")
        table.add_row("awaiting ack", "", f"{self.ingester.source.pending():,}", "")
        table.add_row("since last commit", "", f"{lag:.1f} s" if lag is not None else "-", "")
        if self.sim_time:
            table.add_row(
                "simulated time", "", f"{self.sim_time.astimezone():%Y-%m-%d %H:%M:%S}", ""
            )
        return table


async def _demo(
    settings: Settings,
    *,
    speed: float,
    scale: float,
    backfill_hours: float,
    seed: int | None,
    duration: float | None,
) -> None:
    from simulators.engine import Simulation
    from simulators.publisher import Publisher

    from simulators.profiles import PROFILES

    console = Console()
    state = settings.state_dir
    state.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    with contextlib.ExitStack() as services:
        if "IOC_MQTT_URL" not in os.environ:
            console.print("starting Mosquitto …")
            broker = services.enter_context(LocalMosquitto(state / "mosquitto", port=free_port()))
            settings = settings.model_copy(update={"mqtt_url": type(settings.mqtt_url)(broker.url)})
        if settings.database_url is None:
            console.print(f"starting PostgreSQL (data in {state / 'postgres'}) …")
            pg = services.enter_context(LocalPostgres(state / "postgres", durable=True))
            settings = settings.model_copy(update={"database_url": type(settings.mqtt_url)(pg.dsn)})
        dsn = settings.dsn()
        applied = await migrate(dsn)
        console.print(f"schema: {', '.join(applied) if applied else 'up to date'}")
        console.print(f"broker {settings.mqtt!r}, database {dsn.split('@')[-1]}")

        ingester = build_ingester(settings, client_id="ioc-demo-ingester")
        ingest_task = asyncio.create_task(
            run_ingester(
                ingester,
                metrics_host=settings.ingest_metrics_host,
                metrics_port=0,
                stop=stop,
                handle_signals=False,
            )
        )
        summary = Summary(ingester)
        now = datetime.now(UTC)
        last = await _last_event_time(dsn)
        start = now - timedelta(hours=backfill_hours)
        if last is not None and last > start:
            start = min(last, now)
        simulation = Simulation(
            list(PROFILES.values()),
            seed=seed if seed is not None else int(time.time()),
            start=start,
            scale=scale,
        )

        async def simulate() -> None:
            async with Publisher(settings.mqtt, client_id=f"ioc-demo-sim-{os.getpid()}") as pub:
                summary.phase = (
                    f"backfilling {(now - start).total_seconds() / 3600:.1f} h of history"
                )
                for event in simulation.events_until(now):
                    if stop.is_set():
                        return
                    await pub.publish(event)
                    summary.published[event.feed.value] += 1
                summary.phase = f"live at {speed:g}x"
                wall0, sim0 = time.monotonic(), now
                while not stop.is_set():
                    await asyncio.sleep(0.2)
                    summary.sim_time = sim0 + timedelta(seconds=(time.monotonic() - wall0) * speed)
                    for event in simulation.events_until(summary.sim_time):
                        await pub.publish(event)
                        summary.published[event.feed.value] += 1

        sim_task = asyncio.create_task(simulate())
        started = time.monotonic()
        with Live(summary.render(), console=console, refresh_per_second=2) as live:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                live.update(summary.render())
                if sim_task.done() and sim_task.exception():
                    stop.set()
                if duration is not None and time.monotonic() - started > duration:
                    stop.set()
            summary.phase = "stopping"
            live.update(summary.render())
        stop.set()
        sim_error = None
        try:
            await asyncio.wait_for(sim_task, 15)
        except Exception as exc:  # reported below, after a clean shutdown
            sim_error = exc
        await asyncio.wait_for(ingest_task, 30)
        console.print(summary.render())
        if sim_error:
            console.print(f"[red]simulator stopped with an error: {sim_error!r}[/red]")
        console.print("stopped cleanly")


def run_demo(settings: Settings, **options: object) -> None:
    asyncio.run(_demo(settings, **options))  # type: ignore[arg-type]
