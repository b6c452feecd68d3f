-- The TimescaleDB side of 0008_province_realism.sql (applied only when the extension is
-- present, statement by statement, outside a transaction), as 0005_dashboards.timescale.sql:
-- each rollup table of 0008 becomes a continuous aggregate of the same name and columns, with
-- the expressions of ioc/rollups.py (tests/test_dashboards.py checks that they agree), real-time
-- aggregation on, with the refresh policy of the other hourly aggregates
-- (0007_rollup_refresh.timescale.sql): every 10 minutes over the last 400 days (the raw
-- events' retention, never further), ending a minute before now, so every complete bucket is
-- materialised and the bucket in progress is read from the raw rows.

DROP TABLE dossier_sectors_1h;
CREATE MATERIALIZED VIEW dossier_sectors_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT
    time_bucket(INTERVAL '1 hour', occurred_at) AS bucket,
    province,
    district,
    sector,
    agency_level,
    sum(CASE WHEN status = 'received' THEN 1 ELSE 0 END) AS received,
    sum(CASE WHEN status = 'resolved' AND due_at - occurred_at >= INTERVAL '1 day' THEN 1 ELSE 0 END) AS resolved_early,
    sum(CASE WHEN status = 'resolved' AND occurred_at <= due_at AND due_at - occurred_at < INTERVAL '1 day' THEN 1 ELSE 0 END) AS resolved_on_time,
    sum(CASE WHEN status = 'resolved' AND occurred_at > due_at THEN 1 ELSE 0 END) AS resolved_late,
    sum(CASE WHEN status = 'rejected' THEN 1 ELSE 0 END) AS rejected
FROM dossier_events
GROUP BY bucket, province, district, sector, agency_level
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
    sum(CASE WHEN status IN ('success', 'failed') THEN 1 ELSE 0 END) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'success' AND method <> 'cash' THEN 1 ELSE 0 END) AS cashless,
    sum(CASE WHEN status = 'success' THEN amount_vnd ELSE 0 END) AS amount_vnd,
    sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded,
    sum(CASE WHEN status = 'refunded' THEN amount_vnd ELSE 0 END) AS refunded_vnd
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
    sum(CASE WHEN status IN ('success', 'failed') THEN 1 ELSE 0 END) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
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
    sum(CASE WHEN status IN ('success', 'failed') THEN 1 ELSE 0 END) AS payments,
    sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS succeeded,
    sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
    sum(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
    sum(CASE WHEN status = 'refunded' THEN 1 ELSE 0 END) AS refunded,
    sum(latency_ms) AS latency_ms_sum,
    count(latency_ms) AS latency_ms_count,
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
    method,
    error_code,
    count(*) AS failures
FROM payment_events
WHERE status = 'failed'
GROUP BY bucket, province, district, gateway, method, error_code
WITH DATA;

SELECT add_continuous_aggregate_policy('dossier_sectors_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT add_continuous_aggregate_policy('payment_sectors_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT add_continuous_aggregate_policy('payment_methods_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT add_continuous_aggregate_policy('payment_gateways_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT add_continuous_aggregate_policy('payment_failures_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);

-- Grafana reads the aggregates, the ingester no longer writes them (their tables' grants went
-- with the tables)
GRANT SELECT ON payment_sectors_1h, payment_methods_1h, payment_gateways_1h, payment_failures_1h,
    dossier_sectors_1h TO ioc_grafana;
