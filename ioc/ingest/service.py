"""Wiring of the long-running ingester: source, store, ingester, health server, signals."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ioc.completeness import IngesterProgress
from ioc.health import HealthServer
from ioc.ingest import metrics
from ioc.ingest.ingester import Ingester, IngestStats
from ioc.ingest.store import Store
from ioc.mqtt.paho import PahoSource
from ioc.mqtt.port import MessageSource
from ioc.mqtt.subscriber import FastSource
from ioc.runtime import stop_on_signals
from ioc.settings import Settings
from ioc.storage.refresher import RollupRefresher
from ioc.topics import FEED_FILTER

log = logging.getLogger(__name__)


def build_source(settings: Settings, *, client_id: str | None = None) -> MessageSource:
    """The receive path chosen by IOC_INGEST_CLIENT: ``FastSource`` or ``PahoSource``."""
    source_class = FastSource if settings.ingest_client == "fast" else PahoSource
    return source_class(
        settings.mqtt,
        FEED_FILTER,
        client_id=client_id or settings.ingest_client_id,
        shared_group=settings.ingest_shared_group,
        max_pending=settings.ingest_max_pending,
        protocol=settings.mqtt_protocol,
        ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
    )


def build_ingester(settings: Settings, *, client_id: str | None = None) -> Ingester:
    source = build_source(settings, client_id=client_id)
    return Ingester(
        source,
        Store(settings.dsn(), connections=settings.ingest_writers),
        batch_size=settings.ingest_batch_size,
        flush_interval=settings.ingest_flush_ms / 1000,
        linger=settings.ingest_linger_ms / 1000,
        max_payload_bytes=settings.ingest_max_payload_bytes,
        time_limits=settings.time_limits(),
    )


async def run_ingester(
    ingester: Ingester,
    *,
    metrics_host: str = "127.0.0.1",
    metrics_port: int = 0,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    rollup_refresh_seconds: float = 10.0,
    progress_interval: float = 1.0,
    progress_settle: float = 2.0,
) -> IngestStats:
    """Run until ``stop`` is set or SIGINT/SIGTERM; commit the batch in hand, then close."""
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(stop_on_signals(ingester.stop, enabled=handle_signals))
        if metrics_port:
            await stack.enter_async_context(
                HealthServer(
                    metrics_host,
                    metrics_port,
                    ready=lambda: bool(ingester.source.subscribed and ingester.database_ok),
                    setting="IOC_INGEST_METRICS_PORT",
                )
            )
        ingester.database_ok = await ingester.store.ping() or None
        metrics.DATABASE_UP.set(1 if ingester.database_ok else 0)
        # the dashboards' rollups: own task and connection (ioc/storage/rollups.py)
        await stack.enter_async_context(
            RollupRefresher(ingester.store.dsn, interval=rollup_refresh_seconds)
        )
        # how far the stored data is complete, for the alerter (ioc/completeness.py);
        # entered before the source, so its last record follows the last commit
        await stack.enter_async_context(
            IngesterProgress(
                ingester,
                ingester.store.dsn,
                client_id=ingester.source.client_id,
                interval=progress_interval,
                settle=progress_settle,
                clock=ingester.clock,
            )
        )
        await stack.enter_async_context(ingester.source)
        # read at scrape time, so they are true even while a batch is being retried
        metrics.AWAITING_ACK.set_function(ingester.source.pending)
        metrics.BROKER_UP.set_function(lambda: 1 if ingester.source.connected else 0)
        stopper = None
        if stop is not None:
            stopper = asyncio.create_task(stop.wait())
            stopper.add_done_callback(lambda _: ingester.stop())
        try:
            await ingester.run()
        finally:
            if stopper:
                stopper.cancel()
            await ingester.store.close()
    log.info(
        "ingester stopped",
        extra={"stored": ingester.stats.stored, "dead_lettered": ingester.stats.dead_lettered},
    )
    return ingester.stats
