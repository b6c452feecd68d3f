-- The TimescaleDB side of 0005_dashboards.sql (applied only when the extension is present,
-- statement by statement, outside a transaction).
--
-- 1. Each rollup table of 0005_dashboards.sql becomes a continuous aggregate of the same name
--    and columns, with the aggregate expressions of ioc/storage/rollups.py (tests/test_dashboards.py
--    checks that they agree). Real-time aggregation is on (materialized_only = false): a
--    query adds the rows not yet materialized, so the wall screens are never behind.
-- 2. Refresh policies: minute aggregates every minute over the last day, hourly aggregates
--    every 10 minutes over the last 7 days. Events older than that arriving later (a long
--    backfill) show after `ioc db refresh-rollups`, which refreshes everything.
-- 3. Retention: minute aggregates keep 14 days; raw events 400 days (a year of reports and
--    a margin); the hourly aggregates and the current-state tables are kept.
-- 4. Compression of the event tables after 7 days, segmented by province (every panel and
--    alert filters on it), ordered by time and event id (the primary key, so a redelivered
--    old event is still recognised without decompressing the segment).
--
-- Written from TimescaleDB's documentation (2.17, the image in docker-compose.yml); the
-- tests run on plain PostgreSQL, where this file is not applied.

DROP TABLE dossier_events_1m;
CREATE MATERIALIZED VIEW dossier_events_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 minute', occurred_at) AS bucket,
    province,
    district,
    count(*) AS events,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received,
    sum(CASE WHEN status IN ('resolved', 'rejected') THEN 1 ELSE 0 END) AS finished
FROM dossier_events
GROUP BY bucket, province, district
WITH DATA;

DROP TABLE payment_events_1m;
CREATE MATERIALIZED VIEW payment_events_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 minute', occurred_at) AS bucket,
    province,
    district,
    count(*) AS events,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'success' THEN amount_vnd ELSE 0 END) AS amount_vnd
FROM payment_events
GROUP BY bucket, province, district
WITH DATA;

DROP TABLE incident_events_1m;
CREATE MATERIALIZED VIEW incident_events_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 minute', occurred_at) AS bucket,
    province,
    district,
    count(*) AS events,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received
FROM incident_events
GROUP BY bucket, province, district
WITH DATA;

DROP TABLE dossier_events_1h;
CREATE MATERIALIZED VIEW dossier_events_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    agency_level,
    channel,
    count(*) AS events,
    sum(CASE WHEN status = 'submitted' THEN 1 ELSE 0 END) AS submitted,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received,
    sum(CASE WHEN status = 'resolved' AND due_at - occurred_at >= INTERVAL '1 day'
        THEN 1 ELSE 0 END) AS resolved_early,
    sum(CASE WHEN status = 'resolved'
        AND occurred_at <= due_at AND due_at - occurred_at < INTERVAL '1 day'
        THEN 1 ELSE 0 END) AS resolved_on_time,
    sum(CASE WHEN status = 'resolved' AND occurred_at > due_at THEN 1 ELSE 0 END) AS resolved_late,
    sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected
FROM dossier_events
GROUP BY bucket, province, district, agency_level, channel
WITH DATA;

DROP TABLE dossier_agencies_1h;
CREATE MATERIALIZED VIEW dossier_agencies_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    agency_code,
    agency_name,
    agency_level,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received,
    sum(CASE WHEN status = 'resolved' AND due_at - occurred_at >= INTERVAL '1 day'
        THEN 1 ELSE 0 END) AS resolved_early,
    sum(CASE WHEN status = 'resolved'
        AND occurred_at <= due_at AND due_at - occurred_at < INTERVAL '1 day'
        THEN 1 ELSE 0 END) AS resolved_on_time,
    sum(CASE WHEN status = 'resolved' AND occurred_at > due_at THEN 1 ELSE 0 END) AS resolved_late,
    sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected
FROM dossier_events
GROUP BY bucket, province, district, agency_code, agency_name, agency_level
WITH DATA;

DROP TABLE payment_sectors_1h;
CREATE MATERIALIZED VIEW payment_sectors_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    sector,
    channel,
    count(*) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'success' AND method <> 'cash' THEN 1 ELSE 0 END) AS cashless,
    sum(CASE WHEN status = 'success' THEN amount_vnd ELSE 0 END) AS amount_vnd
FROM payment_events
GROUP BY bucket, province, district, sector, channel
WITH DATA;

DROP TABLE payment_methods_1h;
CREATE MATERIALIZED VIEW payment_methods_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    method,
    channel,
    count(*) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'success' THEN amount_vnd ELSE 0 END) AS amount_vnd
FROM payment_events
GROUP BY bucket, province, district, method, channel
WITH DATA;

DROP TABLE payment_gateways_1h;
CREATE MATERIALIZED VIEW payment_gateways_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    gateway,
    count(*) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
    sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded,
    sum(latency_ms) AS latency_ms_sum,
    max(latency_ms) AS latency_ms_max,
    sum(CASE WHEN latency_ms > 3000 THEN 1 ELSE 0 END) AS slow
FROM payment_events
GROUP BY bucket, province, district, gateway
WITH DATA;

DROP TABLE payment_failures_1h;
CREATE MATERIALIZED VIEW payment_failures_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    gateway,
    error_code,
    count(*) AS failures
FROM payment_events
WHERE status = 'failed'
GROUP BY bucket, province, district, gateway, error_code
WITH DATA;

DROP TABLE incident_events_1h;
CREATE MATERIALIZED VIEW incident_events_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    category,
    channel,
    count(*) AS events,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received,
    sum(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END) AS resolved,
    sum(CASE WHEN status = 'resolved' AND occurred_at <= due_at
        THEN 1 ELSE 0 END) AS resolved_on_time,
    sum(CASE WHEN status = 'resolved' AND occurred_at > due_at THEN 1 ELSE 0 END) AS resolved_late,
    sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
    sum(satisfaction) AS satisfaction_sum,
    count(satisfaction) AS satisfaction_count
FROM incident_events
GROUP BY bucket, province, district, category, channel
WITH DATA;
SELECT add_continuous_aggregate_policy('dossier_events_1m', start_offset => INTERVAL '1 day',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('payment_events_1m', start_offset => INTERVAL '1 day',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('incident_events_1m', start_offset => INTERVAL '1 day',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute');
SELECT add_continuous_aggregate_policy('dossier_events_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('dossier_agencies_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('payment_sectors_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('payment_methods_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('payment_gateways_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('payment_failures_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');
SELECT add_continuous_aggregate_policy('incident_events_1h', start_offset => INTERVAL '7 days',
    end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '10 minutes');

SELECT add_retention_policy('dossier_events_1m', drop_after => INTERVAL '14 days');
SELECT add_retention_policy('payment_events_1m', drop_after => INTERVAL '14 days');
SELECT add_retention_policy('incident_events_1m', drop_after => INTERVAL '14 days');

ALTER TABLE dossier_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'province',
    timescaledb.compress_orderby = 'occurred_at DESC, event_id');
SELECT add_compression_policy('dossier_events', compress_after => INTERVAL '7 days');
SELECT add_retention_policy('dossier_events', drop_after => INTERVAL '400 days');

ALTER TABLE payment_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'province',
    timescaledb.compress_orderby = 'occurred_at DESC, event_id');
SELECT add_compression_policy('payment_events', compress_after => INTERVAL '7 days');
SELECT add_retention_policy('payment_events', drop_after => INTERVAL '400 days');

ALTER TABLE incident_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'province',
    timescaledb.compress_orderby = 'occurred_at DESC, event_id');
SELECT add_compression_policy('incident_events', compress_after => INTERVAL '7 days');
SELECT add_retention_policy('incident_events', drop_after => INTERVAL '400 days');

-- Grafana reads the aggregates (their tables' grants went with the tables)
GRANT SELECT ON dossier_events_1m, payment_events_1m, incident_events_1m, dossier_events_1h,
    dossier_agencies_1h, payment_sectors_1h, payment_methods_1h, payment_gateways_1h,
    payment_failures_1h, incident_events_1h TO ioc_grafana;
