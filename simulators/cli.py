"""``ioc-sim``: run the feed simulators against a broker.

    ioc-sim run [--province CODE ...] [--seed N] [--speed X] [--duration S | --count N]
    ioc-sim backfill --days N [--province CODE ...] [--seed N] [--scale F] [--max-backlog N]
    ioc-sim scenario NAME [--province P] [--target T] [--minutes M]

The broker comes from ``--mqtt-url`` or ``IOC_MQTT_URL`` (default mqtt://127.0.0.1:1883).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ioc.completeness import BackfillHold
from ioc.models import VN_TZ
from ioc.mqtt.client import default_client_id
from ioc.mqtt.publisher import DEFAULT_MAX_BACKLOG, FastPublisher, PublisherRefused
from ioc.mqtt.wire import PROTOCOL_5
from ioc.settings import MqttUrl, Settings
from simulators.control import ScenarioCommand, listen, send
from simulators.engine import SCENARIOS, Simulation
from simulators.profiles import PROFILES, ProvinceProfile
from simulators.runner import SIMULATION_CLOCK, LiveRun, RunStats, backfill

console = Console(stderr=True)


def _mqtt_url(value: str | None) -> MqttUrl:
    if value is None:
        return Settings().mqtt
    try:
        return MqttUrl(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mqtt-url") from None


def _ca_file(value: Path | None) -> Path | None:
    return value if value is not None else Settings().mqtt_ca_file


def _profiles(codes: tuple[str, ...]) -> list[ProvinceProfile]:
    return [PROFILES[code] for code in (codes or tuple(PROFILES))]


def _options(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def apply(function: Any) -> Any:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


broker_options = _options(
    click.option("--mqtt-url", help="mqtt://user:pass@host:port (default: $IOC_MQTT_URL)."),
    click.option("--ca-file", type=click.Path(path_type=Path, dir_okay=False),
                 help="CA bundle for mqtts:// (default: $IOC_MQTT_CA_FILE)."),
    click.option("--client-id", help="MQTT client id (default: ioc-sim-<pid>)."),
)

simulation_options = _options(
    click.option("--province", "provinces", multiple=True, type=click.Choice(sorted(PROFILES)),
                 help="Simulate this province (repeatable; default: all)."),
    click.option("--seed", type=int, default=1, show_default=True,
                 help="Same seed, same events (ids included)."),
    click.option("--scale", type=click.FloatRange(min=0), default=1.0, show_default=True,
                 help="Multiplies every rate (0.1 = a tenth of the real load)."),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--log-level", default=None, help="Logging level (default: $IOC_LOG_LEVEL).")
def main(log_level: str | None) -> None:
    """Simulated IOC feeds: dossiers, payments and field reports of three provinces."""
    level = (log_level or Settings().log_level).upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _on_signals(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop)


def _summary(stats: RunStats, unsafe: int = 0) -> None:
    console.print(
        f"published {stats.published:,} of {stats.generated:,} events in {stats.seconds:.1f} s "
        f"({stats.rate:,.0f} events/s); reconnects {stats.reconnects}, retries {stats.retries}, "
        f"replayed {stats.replayed:,}"
        + (f", [red]{stats.failed} not published[/red]" if stats.failed else "")
        + (f", [red]{stats.unrouted:,} taken by no subscriber (is the ingester "
           "subscribed?)[/red]" if stats.unrouted else "")
    )
    if stats.waited or stats.paced:
        working = max(0.0, stats.seconds - stats.waited - stats.paced)
        console.print(
            f"  generating and sending {working:.1f} s, waiting for acknowledgements "
            f"{stats.waited:.1f} s, paused for the broker's backlog {stats.paced:.1f} s"
        )
    if unsafe:
        console.print(
            f"  [yellow]{unsafe:,} acknowledged message(s) were not yet saved by the broker "
            "nor stored by the ingester at exit: a broker crash now could lose them[/yellow]"
        )


def _publisher(url: MqttUrl, client_id: str, ca_file: Path | None, **options: Any) -> FastPublisher:
    """MQTT 5 whatever IOC_MQTT_PROTOCOL says: only its PUBACK tells a message that reached
    no subscriber (a broker restarted without the ingester's session) from a delivered one."""
    settings = Settings()
    return FastPublisher(
        url, client_id=client_id, ca_file=_ca_file(ca_file), protocol=PROTOCOL_5,
        replay_seconds=settings.mqtt_replay_seconds, replay_max=settings.mqtt_replay_max,
        **options,
    )


async def _settle(publisher: FastPublisher, stopped: bool) -> int:
    """At the end of a run, wait (up to the replay window) until the broker has saved or
    delivered what it acknowledged; return how many messages are still at risk. Not after
    Ctrl-C: the user asked to stop now."""
    if stopped or not publisher.at_risk:
        return publisher.at_risk
    console.print(f"waiting up to {publisher.replay_seconds:g} s until the broker has stored "
                  f"or delivered the last {publisher.at_risk:,} message(s) …")
    await publisher.settle(publisher.replay_seconds)
    return publisher.at_risk


@main.command()
@simulation_options
@broker_options
@click.option("--speed", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="Simulated seconds per wall-clock second.")
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many events.")
@click.option("--warmup-days", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Start with the backlog of open dossiers and reports of this many days "
                   "(not published).")
@click.option("--backfill-days", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="First publish this many days of history, then go on live with the same "
                   "simulation (backfilled dossiers complete live).")
def run(
    provinces: tuple[str, ...], seed: int, scale: float, mqtt_url: str | None,
    ca_file: Path | None, client_id: str | None, speed: float, duration: float | None,
    count: int | None, warmup_days: float, backfill_days: float,
) -> None:
    """Publish events live: simulated time starts now and runs SPEED times the wall clock.

    Listens on ioc/control/v1/scenario for `ioc-sim scenario` commands. Ctrl-C stops cleanly.
    """
    if duration is not None and count is not None:
        raise click.UsageError("give --duration or --count, not both")
    url = _mqtt_url(mqtt_url)
    profiles = _profiles(provinces)
    client = client_id or default_client_id(url.username)

    async def go() -> tuple[RunStats, int]:
        clock = SIMULATION_CLOCK
        now, started = clock.now(), clock.monotonic()
        sim = Simulation(profiles, seed=seed, start=now - timedelta(days=backfill_days),
                         scale=scale, warmup=timedelta(days=warmup_days))
        console.print(
            f"ioc-sim run: {', '.join(p.code for p in profiles)}; seed {seed}, scale {scale}, "
            f"speed {speed}x; broker {url!r}"
        )
        # one publisher, one replay window: the history (paced by the broker's backlog) and
        # then the live stream
        async with _publisher(url, client, ca_file, max_backlog=DEFAULT_MAX_BACKLOG) as publisher:
            live = LiveRun(sim, publisher, speed=speed, duration=duration, count=count,
                           clock=clock, sim_start=now)
            signalled = asyncio.Event()
            _on_signals(lambda: (signalled.set(), live.stop.set()))
            if backfill_days:
                stats = await backfill(sim, publisher, end=now, stop=live.stop, clock=clock)
                console.print(f"backfilled {stats.generated:,} events ({stats.rate:,.0f}/s)")
                live.generated = stats.generated
            control = asyncio.create_task(
                listen(url, live.apply, client_id=f"{client}-control", ca_file=_ca_file(ca_file))
            )
            status = asyncio.create_task(_status(live, publisher))
            try:
                stats = await live.run()
            finally:
                for task in (control, status):
                    task.cancel()
                await asyncio.gather(control, status, return_exceptions=True)
            unsafe = await _settle(publisher, signalled.is_set())
            stats.seconds = clock.monotonic() - started  # the whole command, backfill included
            return stats, unsafe

    try:
        _summary(*asyncio.run(go()))
    except PublisherRefused as exc:
        raise click.ClickException(str(exc)) from None


async def _status(live: LiveRun, publisher: FastPublisher, every: float = 10.0) -> None:
    while True:
        await asyncio.sleep(every)
        console.print(
            f"simulated {live.sim_time().isoformat(timespec='seconds')}: "
            f"{publisher.published:,} published"
            + ("" if publisher.connected else " [yellow](reconnecting)[/yellow]")
        )


async def _events_stored_since(period: timedelta) -> int:
    """Events stored in the last ``period`` (needs only SELECT on the event tables)."""
    from ioc.connect import connect_database
    from ioc.errors import IocError
    from ioc.models import EVENT_TYPES
    from ioc.settings import Settings

    settings = Settings()
    if settings.database_url is None:
        raise click.UsageError("--unless-stored needs IOC_DATABASE_URL")
    try:
        conn = await connect_database(settings.dsn())
    except IocError as exc:  # one line, as every command says it
        raise click.ClickException(str(exc)) from None
    try:
        total = 0
        for model in EVENT_TYPES.values():
            total += await conn.fetchval(
                f"SELECT count(*) FROM (SELECT 1 FROM {model.table} "
                "WHERE occurred_at > now() - $1::interval LIMIT 1) AS t", period
            )
        return total
    finally:
        await conn.close()


async def _hold_alerts(start: datetime, client_id: str) -> BackfillHold | None:
    """With IOC_DATABASE_URL: tell the alerter that the events after ``start`` are still
    arriving (ioc/completeness.py), so that it judges none of them until they are stored.
    A database that cannot take the hold is one warning; the backfill goes on."""
    import asyncpg

    settings = Settings()
    if settings.database_url is None:
        return None
    hold = BackfillHold(settings.dsn(), source=client_id, start=start)
    try:
        await hold.begin()
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        console.print(f"[yellow]the alerter is not told about this backfill: {exc}[/yellow]")
        return None
    return hold


@main.command(name="backfill")
@simulation_options
@broker_options
@click.option("--days", type=click.FloatRange(min=0, min_open=True), required=True,
              help="Days of history, ending now.")
@click.option("--unless-stored", is_flag=True,
              help="Do nothing if the database at IOC_DATABASE_URL already holds events of "
                   "the period (so a repeated `docker compose up` does not add a second "
                   "history on top of the first).")
@click.option("--max-backlog", type=click.IntRange(min=0), default=DEFAULT_MAX_BACKLOG,
              show_default=True,
              help="Pause while the broker holds more than this many undelivered messages "
                   "($SYS/broker/store/messages/count), resume below half; 0: never pause.")
@click.option("--window", type=click.IntRange(min=1, max=65_000), default=5_000,
              show_default=True, help="Unacknowledged messages in flight at most.")
def backfill_command(
    provinces: tuple[str, ...], seed: int, scale: float, mqtt_url: str | None,
    ca_file: Path | None, client_id: str | None, days: float, unless_stored: bool,
    max_backlog: int, window: int,
) -> None:
    """Publish DAYS of history ending now, as fast as the broker takes it.

    The broker's backlog paces it: a backfill faster than the ingester waits rather than
    overrun the broker's queue limits (past which Mosquitto drops messages).
    """
    url = _mqtt_url(mqtt_url)
    profiles = _profiles(provinces)
    if unless_stored:
        stored = asyncio.run(_events_stored_since(timedelta(days=days)))
        if stored:
            console.print(f"{stored:,} events of the last {days:g} days are already stored: "
                          "nothing to backfill")
            return

    async def go() -> tuple[RunStats, int]:
        clock = SIMULATION_CLOCK
        end = clock.now()
        start = end - timedelta(days=days)
        sim = Simulation(profiles, seed=seed, start=start, scale=scale)
        stop = asyncio.Event()
        _on_signals(stop.set)
        columns = (
            TextColumn("[bold]backfill"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[at]}"), TextColumn("{task.fields[events]:,} events"),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[note]}"),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("backfill", total=days * 86_400, at="", events=0, note="")

            from ioc.timefmt import show

            def advance(at: datetime, generated: int) -> None:
                progress.update(task, completed=(at - start).total_seconds(), events=generated,
                                at=show(at, seconds=False))

            hold = await _hold_alerts(start, client_id or default_client_id(url.username))
            try:
                async with _publisher(
                    url, client_id or default_client_id(url.username), ca_file,
                    window=window, max_backlog=max_backlog or None,
                ) as publisher:
                    notes = asyncio.create_task(
                        _backfill_notes(publisher, lambda note: progress.update(task, note=note))
                    )
                    try:
                        stats = await backfill(sim, publisher, end=end, stop=stop,
                                               progress=advance, clock=clock)
                    finally:
                        notes.cancel()
                        await asyncio.gather(notes, return_exceptions=True)
                    settled = await _settle(publisher, stop.is_set())
                    if hold is not None and not stop.is_set():
                        await hold.release()  # over once the ingesters have stored it
                    return stats, settled
            finally:
                if hold is not None:
                    await hold.close()

    try:
        _summary(*asyncio.run(go()))
    except PublisherRefused as exc:
        raise click.ClickException(str(exc)) from None


async def _backfill_notes(
    publisher: FastPublisher, show: Callable[[str], None], every: float = 0.5
) -> None:
    """Say on the progress line why the backfill waits, when it does."""
    while True:
        if publisher.backlog_paused:
            show(f"[yellow]broker holds {publisher.backlog or 0:,} undelivered messages; "
                 "waiting for the ingester[/yellow]")
        elif not publisher.connected:
            show("[yellow](reconnecting)[/yellow]")
        else:
            show("")
        await asyncio.sleep(every)


@main.command()
@simulation_options
@click.option("--days", type=click.FloatRange(min=0, min_open=True), default=30.0,
              show_default=True, help="Simulated days to generate.")
def bench(provinces: tuple[str, ...], seed: int, scale: float, days: float) -> None:
    """Generate DAYS of events without publishing them; print the generation rate."""
    import resource
    import time
    from collections import Counter

    profiles = _profiles(provinces)
    start = datetime(2024, 9, 1, tzinfo=VN_TZ)  # fixed, so runs are comparable
    sim = Simulation(profiles, seed=seed, start=start, scale=scale)
    feeds: Counter[str] = Counter()
    began = time.perf_counter()
    for event in sim.events_until(start + timedelta(days=days)):
        feeds[event.feed.value] += 1
    seconds = time.perf_counter() - began
    total = sum(feeds.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(
        f"generated {total:,} events ({', '.join(f'{k} {v:,}' for k, v in sorted(feeds.items()))})"
        f" in {seconds:.1f} s: {total / seconds:,.0f} events/s; peak RSS {peak_mb:,.0f} MB"
    )


@main.command()
@click.argument("name", type=click.Choice(SCENARIOS))
@click.option("--province", type=click.Choice(sorted(PROFILES)),
              help="Only this province (default: every province the simulator runs).")
@click.option("--target", help="Gateway slug, agency code, district code or feed name "
              "(see each scenario above).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=15.0,
              show_default=True, help="How long, in simulated minutes.")
@broker_options
def scenario(
    name: str, province: str | None, target: str | None, minutes: float,
    mqtt_url: str | None, ca_file: Path | None, client_id: str | None,
) -> None:
    """Switch scenario NAME on in the running `ioc-sim run` processes.

    \b
    gateway-outage    payments through gateway TARGET fail (default: the busiest one)
    gateway-degraded  payments through gateway TARGET fail more and more (0 to 60% extra)
    agency-degraded   agency TARGET (BD.STNMT, or STNMT) handles less and less, falls behind
    portal-down       no dossier submissions; they resume when it is over
    flood             a surge of flooding reports from district TARGET
    feed-silent       feed TARGET (dossier, payment, incident; default: all) goes quiet
    """
    command = ScenarioCommand(scenario=name, province=province, target=target,  # type: ignore[arg-type]
                              minutes=minutes)
    # Refuse what a simulator would refuse, before sending it.
    now = SIMULATION_CLOCK.now()
    probe = Simulation(_profiles((province,) if province else ()), seed=0, start=now, scale=0)
    try:
        command.apply(probe, now)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--target") from None
    url = _mqtt_url(mqtt_url)
    try:
        asyncio.run(send(url, command, client_id=client_id or default_client_id(url.username,
                                                                                 "ioc-sim-ctl"),
                         ca_file=_ca_file(ca_file)))
    except aiomqtt.MqttError as exc:
        raise click.ClickException(f"could not reach the broker {url!r}: {exc}") from None
    console.print(
        f"sent {command.model_dump_json()} to {url!r}; every running `ioc-sim run` applies it "
        f"from its current simulated time for {minutes:g} simulated minutes"
    )


if __name__ == "__main__":
    main()
