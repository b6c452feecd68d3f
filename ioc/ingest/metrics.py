"""Prometheus metrics of the ingester (served by ``ioc.health.HealthServer``).

Every message that does not become a stored row is counted somewhere: as a duplicate, or as
a dead letter by reason. The ingester is ready (``/readyz``) when it is connected to both
the broker and the database.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

RECEIVED = Counter("ioc_ingest_messages_received", "MQTT messages received")
STORED = Counter("ioc_ingest_events_stored", "Events stored (new rows)")
DUPLICATES = Counter("ioc_ingest_duplicates_ignored", "Redelivered events already stored")
DEAD_LETTERED = Counter(
    "ioc_ingest_dead_lettered", "Messages stored as dead letters, by reason", ["reason"]
)
WRITE_RETRIES = Counter("ioc_ingest_write_retries", "Batch writes retried (database unavailable)")
BATCH_SIZE = Histogram(
    "ioc_ingest_batch_size",
    "Messages per committed batch",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000),
)
COMMIT_SECONDS = Histogram(
    "ioc_ingest_commit_seconds",
    "Time to write and commit one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
AWAITING_ACK = Gauge("ioc_ingest_awaiting_ack", "Messages received, not yet acknowledged")
BROKER_UP = Gauge("ioc_ingest_broker_connected", "1 when connected to the MQTT broker")
DATABASE_UP = Gauge("ioc_ingest_database_connected", "1 when the last write reached the database")
