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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from pydantic import SecretStr
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table

from ioc.alerting.subscribers import Subscriber
from ioc.completeness import BackfillHold
from ioc.connect import path_unusable, redact_url
from ioc.errors import BrokerUnreachable, IocError
from ioc.ingest.ingester import Ingester
from ioc.ingest.service import build_ingester, run_ingester
from ioc.joining import (
    ENV_FILE,
    export_lines,
    preferred_port,
    remember_ports,
    remove_env_file,
    running_demo,
    write_env_file,
)
from ioc.models import EVENT_TYPES, VN_TZ, Feed
from ioc.settings import Settings
from ioc.storage.migrations import migrate
from ioc.timefmt import show
from ioc.tools.local import LocalMosquitto, LocalPostgres, free_port
from ioc.tools.status import ProvinceStatus, status
from ioc.tools.status import rows as status_rows


async def _last_event_time(dsn: str) -> datetime | None:
    conn = await asyncpg.connect(dsn)
    try:
        union = " UNION ALL ".join(
            f"SELECT max(occurred_at) FROM {m.table}" for m in EVENT_TYPES.values()
        )
        return await conn.fetchval(f"SELECT max(max) FROM ({union}) AS t")
    finally:
        await conn.close()


async def _run_alerter(settings: Settings, stop: asyncio.Event) -> None:
    """The alerter on the demo's database: shipped rules, subscribers from the settings."""
    from ioc.alerting.service import load_configuration, run_alerter

    rules, subscribers = load_configuration(settings)
    if not subscribers:  # without a subscriber file, transitions still reach ioc/alerts/v1/#
        subscribers = [DEMO_SUBSCRIBER]
    await run_alerter(
        settings.model_copy(update={"alert_metrics_port": 0}),
        rules,
        subscribers,
        stop=stop,
        handle_signals=False,
    )


DEMO_SUBSCRIBER = Subscriber.model_validate(
    {"name": "demo-alert-topic", "group_wait": "0s", "channels": [{"type": "mqtt"}]}
)
"""The demo's subscriber when IOC_ALERT_SUBSCRIBERS is unset: every alert, on the MQTT topic."""


async def _keep_current(
    dsn: str, update: Callable[[asyncpg.Connection], Awaitable[None]], every: float
) -> None:
    """Run ``update`` every ``every`` seconds on one connection, reconnecting after a loss."""
    while True:
        try:
            conn = await asyncpg.connect(dsn)
            try:
                while True:
                    await update(conn)
                    await asyncio.sleep(every)
            finally:
                await conn.close()
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(every)


async def _watch_alerts(dsn: str, summary: Summary, every: float = 5.0) -> None:
    """Keep the summary's list of firing alerts current (the alerter's own view)."""

    async def update(conn: asyncpg.Connection) -> None:
        rows = await conn.fetch(
            "SELECT rule, province, coalesce(district, '') AS district "
            "FROM alerts_firing ORDER BY firing_since"
        )
        summary.firing = [f"{r['rule']} {r['province']} {r['district']}".strip() for r in rows]

    await _keep_current(dsn, update, every)


async def _watch_headlines(dsn: str, summary: Summary, every: float = 10.0) -> None:
    """Keep the summary's wall-screen figures current (the overview dashboard's queries)."""

    async def update(conn: asyncpg.Connection) -> None:
        summary.headlines = await status(conn, datetime.now(UTC))

    await _keep_current(dsn, update, every)


async def _wait_for_broker(
    ingester: Ingester,
    ingest_task: asyncio.Task[object],
    stop: asyncio.Event,
    console: Console,
    settings: Settings,
) -> bool:
    """Wait until the ingester is subscribed (True) or the demo is stopped first (False),
    saying what it waits for while the broker does not answer (the source retries)."""
    shown: str | None = None
    waited = time.monotonic()
    while not ingester.source.subscribed:
        if ingest_task.done():
            await ingest_task  # raises what stopped it
        if stop.is_set():
            return False
        state = ingester.source.state
        if state and state != shown and time.monotonic() - waited > 1.0:
            url = redact_url(settings.mqtt_url.get_secret_value())
            console.print(f"waiting for the MQTT broker at {url}: {state} (Ctrl-C stops)")
            shown = state
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.05)
    return True


async def _drain(ingester: Ingester, published: int, timeout: float = 15.0) -> None:
    """Wait until the ingester has received what was published (or is idle for a second)."""
    deadline = time.monotonic() + timeout
    last, idle_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        stats = ingester.stats
        if stats.received >= published and ingester.source.pending() == 0:
            return
        if stats.received != last:
            last, idle_since = stats.received, time.monotonic()
        elif time.monotonic() - idle_since > 1.0:
            return  # the rest stays queued in the broker for the next run's session
        await asyncio.sleep(0.1)


class Summary:
    """What the terminal shows: per-feed rates, totals, dead letters, acknowledgement lag."""

    def __init__(self, ingester: Ingester) -> None:
        self.ingester = ingester
        self.phase = "starting"
        self.published = 0
        self.sim_time: datetime | None = None
        self.firing: list[str] = []
        self.headlines: list[ProvinceStatus] = []
        """The overview wall screen's figures per province (ioc/tools/status.py)."""
        self._history: list[tuple[float, dict[str, int]]] = []

    def render(self) -> RenderableType:
        now = time.monotonic()
        stats = self.ingester.stats
        self._history.append((now, dict(stats.by_feed)))
        self._history = [h for h in self._history if now - h[0] <= 5.0]
        then, before = self._history[0]
        span = max(now - then, 1e-6)
        table = Table(title=f"IOC demo — {self.phase}", caption="Ctrl-C stops everything cleanly")
        table.add_column("feed")
        table.add_column("received this run", justify="right")
        table.add_column("events/s (5 s)", justify="right")
        for feed in Feed:
            count = stats.by_feed.get(feed.value, 0)
            rate = (count - before.get(feed.value, 0)) / span if len(self._history) > 1 else 0.0
            table.add_row(feed.value, f"{count:,}", f"{rate:,.1f}")
        lag = (time.time() - stats.last_commit_at) if stats.last_commit_at else None
        table.add_section()
        table.add_row("published this run", f"{self.published:,}", "")
        table.add_row("stored this run", f"{stats.stored:,}", "")
        table.add_row("duplicates this run", f"{stats.duplicates:,}", "")
        table.add_row("dead letters this run", f"{stats.dead_lettered:,}", "")
        table.add_row("awaiting acknowledgement", f"{self.ingester.source.pending():,}", "")
        table.add_row("since the last commit", f"{lag:.1f} s" if lag is not None else "-", "")
        table.add_row("alerts firing", f"{len(self.firing)}", "; ".join(self.firing[:3]))
        if self.sim_time:
            table.add_row("simulated time", show(self.sim_time), "")
        if not self.headlines:
            return table
        first = self.headlines[0]
        screen = Table(
            title="overview wall screen (database, same queries as Grafana)",
            caption=f"{show(first.start, seconds=False)} to {show(first.end, seconds=False)}; "
            "field reports and alerts: now",
        )
        screen.add_column("")
        for province in self.headlines:
            screen.add_column(province.name, justify="right")
        for row in status_rows(self.headlines):
            screen.add_row(*row)
        return Group(table, screen)


async def _demo(
    settings: Settings,
    *,
    speed: float,
    scale: float,
    backfill_hours: float,
    seed: int | None,
    duration: float | None,
) -> None:
    from ioc.mqtt.publisher import DEFAULT_MAX_BACKLOG, FastPublisher
    from ioc.mqtt.wire import PROTOCOL_5
    from simulators.control import listen
    from simulators.engine import Simulation
    from simulators.profiles import PROFILES
    from simulators.runner import SIMULATION_CLOCK, LiveRun, backfill

    console = Console()
    state = settings.state_dir
    try:
        state.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise path_unusable(exc, "IOC_STATE_DIR", state, "directory") from exc
    other = running_demo(state)
    if other is not None and other != os.getpid():
        raise IocError(
            f"another ioc demo (pid {other}) runs on IOC_STATE_DIR={state}: join it (its "
            f"variables are in {state / ENV_FILE}) or give this one another IOC_STATE_DIR"
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:  # counted from the start, whatever the demo is waiting for
        loop.call_later(duration, stop.set)

    with contextlib.ExitStack() as services:
        if "IOC_MQTT_URL" not in os.environ:
            console.print("starting Mosquitto …")
            port = preferred_port(state, "mqtt") or free_port()  # the same as last time if free
            broker = services.enter_context(LocalMosquitto(state / "mosquitto", port=port))
            remember_ports(state, mqtt=broker.port)
            for note in broker.notes:
                console.print(note)
            settings = settings.model_copy(update={"mqtt_url": SecretStr(broker.url)})
        if settings.database_url is None:
            console.print(f"starting PostgreSQL (data in {state / 'postgres'}) …")
            pg = services.enter_context(
                LocalPostgres(
                    state / "postgres", durable=True, port=preferred_port(state, "postgres")
                )
            )
            remember_ports(state, postgres=pg.port)
            for note in pg.notes:
                console.print(note)
            settings = settings.model_copy(update={"database_url": SecretStr(pg.dsn)})
        dsn = settings.dsn()
        migrated = await migrate(dsn, timescaledb=settings.timescaledb)
        for note in migrated.notes:
            console.print(note)
        console.print(f"schema: {migrated}")
        # what another terminal needs (ioc/joining.py reads the file when these are unset)
        joining = {"IOC_MQTT_URL": settings.mqtt_url.get_secret_value(), "IOC_DATABASE_URL": dsn}
        env_file = write_env_file(state, joining, pid=os.getpid(), started=datetime.now(VN_TZ))
        services.callback(remove_env_file, state, os.getpid())
        console.print(f"to join this demo from another terminal (also in {env_file}):")
        for line in export_lines(joining):
            console.print(line, soft_wrap=True, markup=False, highlight=False)

        ingester = build_ingester(settings, client_id="ioc-demo-ingester")
        ingest_stop = asyncio.Event()  # set last: the ingester drains what was published
        ingest_task = asyncio.create_task(
            run_ingester(
                ingester,
                metrics_host=settings.ingest_metrics_host,
                metrics_port=0,
                stop=ingest_stop,
                handle_signals=False,
                rollup_refresh_seconds=settings.ingest_rollup_refresh_seconds,
            )
        )
        summary = Summary(ingester)
        # A first run's session has no subscription until SUBACK: nothing may be published
        # before it, or it would not be queued for the ingester.
        if not await _wait_for_broker(ingester, ingest_task, stop, console, settings):
            ingest_stop.set()
            await asyncio.wait_for(ingest_task, 30)
            if ingester.source.state is None:  # stopped before it even tried
                console.print("stopped before the broker was reached; nothing was started")
                return
            raise BrokerUnreachable(
                "the MQTT broker",
                redact_url(settings.mqtt_url.get_secret_value()),
                (ingester.source.state or "no answer").removesuffix("; retrying")
                + "; stopped before it answered",
                "start it or correct IOC_MQTT_URL; unset, `ioc demo` starts a Mosquitto itself",
            )
        clock = SIMULATION_CLOCK
        now = clock.now()
        last = await _last_event_time(dsn)
        start = now - timedelta(hours=backfill_hours)
        if last is not None and last > start:
            start = min(last, now)  # a second run continues where the first stopped
        # the alerter judges nothing past `start` until the history is in (ioc/completeness.py)
        hold = BackfillHold(dsn, source=f"ioc-demo-{os.getpid()}", start=start)
        await hold.begin()
        alert_stop = asyncio.Event()
        alert_task = asyncio.create_task(_run_alerter(settings, alert_stop))
        watch_task = asyncio.create_task(_watch_alerts(dsn, summary))
        headlines_task = asyncio.create_task(_watch_headlines(dsn, summary))
        simulation = Simulation(
            list(PROFILES.values()),
            seed=seed if seed is not None else int(time.time()),
            start=start,
            scale=scale,
        )

        async def simulate() -> None:
            # one publisher for the history (paced by the broker's backlog) and the live
            # stream, so that one replay window covers both (ioc/mqtt/publisher.py)
            async with FastPublisher(
                settings.mqtt, client_id=f"ioc-demo-sim-{os.getpid()}",
                ca_file=settings.mqtt_ca_file, max_backlog=DEFAULT_MAX_BACKLOG,
                protocol=PROTOCOL_5, replay_seconds=settings.mqtt_replay_seconds,
                replay_max=settings.mqtt_replay_max,
            ) as pub:
                live = LiveRun(simulation, pub, speed=speed, clock=clock, sim_start=now)
                stop_task = asyncio.create_task(stop.wait())
                stop_task.add_done_callback(lambda _: live.stop.set())
                hours = (now - start).total_seconds() / 3600
                summary.phase = f"backfilling {hours:.1f} h of history"

                def progress(at: datetime, _generated: int) -> None:
                    summary.sim_time, summary.published = at, pub.published

                await backfill(
                    simulation, pub, end=now, stop=live.stop, progress=progress, clock=clock
                )
                if not live.stop.is_set():
                    await hold.release()  # over once the ingester has stored it all
                summary.published = pub.published
                summary.phase = f"live at {speed:g}x (ioc-sim scenario NAME provokes alerts)"
                control = asyncio.create_task(
                    listen(settings.mqtt, live.apply, client_id=f"ioc-demo-control-{os.getpid()}")
                )
                runner = asyncio.create_task(live.run())
                try:
                    while not runner.done():
                        summary.sim_time = live.sim_time()
                        summary.published = pub.published
                        await asyncio.wait([runner], timeout=0.5)
                    await runner
                    summary.published = pub.published  # the last ones too
                finally:
                    for task in (control, stop_task):
                        task.cancel()
                    await asyncio.gather(control, stop_task, return_exceptions=True)

        sim_task = asyncio.create_task(simulate())
        started = time.monotonic()
        with Live(summary.render(), console=console, refresh_per_second=2) as live_view:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                live_view.update(summary.render())
                if sim_task.done():
                    stop.set()
                if duration is not None and time.monotonic() - started > duration:
                    stop.set()
            summary.phase = "stopping"
            live_view.update(summary.render())
        sim_error = None
        try:
            await asyncio.wait_for(sim_task, 15)
        except Exception as exc:  # reported below, after a clean shutdown
            sim_error = exc
        alert_stop.set()
        await hold.close()
        watch_task.cancel()
        headlines_task.cancel()
        await asyncio.gather(watch_task, headlines_task, return_exceptions=True)
        try:
            await asyncio.wait_for(alert_task, 15)
        except Exception as exc:  # reported, the shutdown goes on
            console.print(f"[red]alerter stopped with an error: {exc!r}[/red]")
        summary.phase = "storing what is still in flight"
        await _drain(ingester, summary.published)
        ingest_stop.set()
        await asyncio.wait_for(ingest_task, 30)
        summary.phase = "stopped"
        console.print(summary.render())
        if sim_error:
            console.print(f"[red]simulator stopped with an error: {sim_error!r}[/red]")
        console.print("stopped cleanly; data kept in the database for the next run")


def run_demo(settings: Settings, **options: object) -> None:
    asyncio.run(_demo(settings, **options))  # type: ignore[arg-type]
