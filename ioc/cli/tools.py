"""``ioc demo``, ``ioc bench`` and ``ioc bench-panels``: the tooling of ``ioc.tools``."""

from __future__ import annotations

import click

from ioc.cli.common import configured
from ioc.cli.root import main
from ioc.tools.panelbench import BACKENDS
from ioc.tools.panelbench import main as run_bench_panels


@main.command()
@click.option("--speed", default=1.0, show_default=True, help="Simulated seconds per real second.")
@click.option("--scale", default=1.0, show_default=True, help="Multiplies every feed's rate.")
@click.option(
    "--backfill-hours",
    default=24.0,
    show_default=True,
    help="History published at start (only what the database does not have yet).",
)
@click.option("--seed", type=int, default=None, help="Default: a new seed per run.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.pass_context
def demo(
    ctx: click.Context,
    speed: float,
    scale: float,
    backfill_hours: float,
    seed: int | None,
    duration: float | None,
) -> None:
    """Everything on this machine: broker, database, simulators, ingester, alerter, summary."""
    settings = configured(ctx)
    from ioc.tools.demo import run_demo
    from ioc.tools.local import LocalServiceError

    try:
        run_demo(
            settings,
            speed=speed,
            scale=scale,
            backfill_hours=backfill_hours,
            seed=seed,
            duration=duration,
        )
    except LocalServiceError as exc:  # a missing or failing local server: say what to do
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--events", default=50_000, show_default=True, help="Events to publish.")
@click.option("--publishers", default=2, show_default=True, help="Publishing processes.")
@click.option(
    "--durable/--fast-db",
    default=True,
    show_default=True,
    help="fsync and synchronous_commit on (as in production) or off.",
)
@click.option(
    "--rate",
    type=float,
    default=None,
    help="Offered load in events/s over all publishers (default: full speed).",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    help="Run `ioc ingest --workers N` (shared subscription).",
)
@click.option(
    "--outage",
    type=float,
    default=None,
    metavar="SECONDS",
    help="Stop PostgreSQL for SECONDS under load once some rows are stored.",
)
@click.option(
    "--compare",
    type=click.Choice(["mq-bridge"]),
    default=None,
    help="Side by side: the same load on `ioc ingest` and on mq-bridge (from PyPI).",
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="postgresql",
    show_default=True,
    help="The embedded PostgreSQL, or a local PostgreSQL with TimescaleDB preloaded.",
)
@click.pass_context
def bench(
    ctx: click.Context,
    events: int,
    publishers: int,
    durable: bool,
    rate: float | None,
    workers: int,
    outage: float | None,
    compare: str | None,
    backend: str,
) -> None:
    """Measure the pipeline on local components: rows/s, latency p50/p95/p99, peak RSS, lost."""
    settings = configured(ctx)
    from ioc.tools.bench import run_bench, run_compare

    if compare:
        run_compare(
            events=events,
            publishers=publishers,
            durable=durable,
            against=compare,
            outage=outage,
            workers=workers,
        )
        return
    run_bench(
        settings,
        events=events,
        publishers=publishers,
        durable=durable,
        rate=rate,
        workers=workers,
        outage=outage,
        timescaledb=backend == "timescaledb",
    )


@main.command("bench-panels")
@click.option("--days", default=30.0, show_default=True, help="Days of simulated history.")
@click.option(
    "--scale", default=1.0, show_default=True, help="Multiplies every feed's rate (1 = real)."
)
@click.option("--runs", default=5, show_default=True, help="Timed runs of each query.")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="postgresql",
    show_default=True,
    help="postgresql: the embedded server, rollup tables; timescaledb: a local PostgreSQL "
    "with TimescaleDB (continuous aggregates).",
)
def bench_panels(days: float, scale: float, runs: int, backend: str) -> None:
    """Time every dashboard panel's query on DAYS of simulated data (a fresh local DB),
    after keeping the rollups current as a running stack would."""
    run_bench_panels(days, scale, runs, backend)
