"""The ingest path: MQTT message -> validated event or dead letter -> stored row, acked only
after the commit.

boundary.py  the one place raw bytes become a validated event or a dead letter (reasons)
ingester.py  batches from the source, writes, acknowledges in arrival order
store.py     one batch, one transaction: COPY, exactly once by event_id, current states
service.py   wiring from the settings: source, store, refresher, health server, signals
workers.py   ``ioc ingest --workers N``: processes sharing one stream
metrics.py   the ingester's Prometheus metrics
"""
