"""The IOC monitoring service: simulated feeds -> MQTT -> ingest -> storage -> rollups ->
alerting and Grafana. Each subpackage is one stage of that flow; every dependency points down
this list (tests/test_layout.py checks it, with no circles and no private imports):

cli/         the ``ioc`` command line: one root group, a module per subject
tools/       demo, benchmarks, local servers: beside the service, never imported by it
alerting/    threshold alerts on the stored KPIs, notifications to subscribers
ingest/      MQTT message -> validated event or dead letter -> stored row, acked after commit
storage/     the schema: migrations, the dashboards' rollups and their refresher, which
             database errors are retried
mqtt/        the transport: the receive port, the wire codec, connections, subscriber,
             publisher, the paho adapter
(simulators/, beside ioc/, sits on mqtt/ and the shared types)

The shared types, below them all:

models.py    the event models: one definition of every feed's payload; ``TimeLimits``
topics.py    the MQTT topic layout and the feeds
settings.py  configuration from the environment (``IOC_``)
domain/      the provinces' reference data: geography, display names, targets, calendar
durations.py ``30s``, ``1h30m``, ``7d``: one duration grammar
runtime.py   the clock port and the one wall-clock reader, Backoff, log-on-change, signals
health.py    ``/healthz``, ``/readyz``, ``/metrics`` of the ingester and the alerter
connect.py   connecting to PostgreSQL, and a failure said in one line
errors.py    the errors a user can fix (one line each)
logs.py      structured ``key=value`` logging
timefmt.py   every printed time names its zone (Vietnam time, or UTC with ``--utc``)
completeness.py  how far the stored events are complete: the ingesters' progress and the
             backfills' holds that the alerter reads before judging a window
joining.py   the running demo's servers written down (``demo.env``) for other commands
leftovers.py a local server left by a killed run: recognised by its pid file and port
"""
