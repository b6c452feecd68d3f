-- What the Grafana dashboards read: rollups of the event tables, the open backlogs, and the
-- period KPIs of the public-service portals. Panels query only the objects of this file (and
-- provinces, districts, alerts_firing, alert_events), never the raw event tables.
--
-- Rollups. Each one is `bucket` (the start of a minute or an hour, UTC-aligned), the grouping
-- columns, and additive counts, so a panel sums them over any range and any set of districts.
--
--   dossier_events_1m     per minute and district: events, received, finished
--   payment_events_1m     per minute and district: events, succeeded, failed, amount_vnd
--   incident_events_1m    per minute and district: events, received
--   dossier_events_1h     per hour, district, agency level and channel: submitted, received,
--                         outcomes
--   dossier_agencies_1h   per hour, district and agency: received and outcomes
--   payment_sectors_1h    per hour, district, sector and channel: volume, amount, cashless
--   payment_methods_1h    per hour, district, method and channel: volume, amount
--   payment_gateways_1h   per hour, district and gateway: outcomes and latency
--   payment_failures_1h   per hour, district, gateway and error code: failures
--   incident_events_1h    per hour, district, category and channel: received and handling
--
-- On plain PostgreSQL they are the tables below, kept current by the running ingester
-- (ioc/storage/rollups.py recomputes every hour that rows ingested since its watermark fall into,
-- about every 10 seconds) and by `ioc db refresh-rollups`. On TimescaleDB,
-- 0005_dashboards.timescale.sql replaces each table with a continuous aggregate of the same
-- name and columns (with real-time aggregation), so the same panel SQL runs on both. The
-- aggregate expressions are written once more there; tests/test_dashboards.py checks that
-- both files and ioc/storage/rollups.py agree.
--
-- Outcomes follow 0002_kpi_views.sql: a dossier resolved at least one day before its due date
-- is early, by its due date on time, after it late. Minute rollups keep 14 days.

CREATE TABLE dossier_events_1m (
    bucket    timestamptz NOT NULL,
    province  text NOT NULL,
    district  text NOT NULL,
    events    bigint NOT NULL,
    received  bigint NOT NULL,
    finished  bigint NOT NULL,
    PRIMARY KEY (province, bucket, district)
);

CREATE TABLE payment_events_1m (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    events      bigint NOT NULL,
    succeeded   bigint NOT NULL,
    failed      bigint NOT NULL,
    amount_vnd  numeric NOT NULL,
    PRIMARY KEY (province, bucket, district)
);

CREATE TABLE incident_events_1m (
    bucket    timestamptz NOT NULL,
    province  text NOT NULL,
    district  text NOT NULL,
    events    bigint NOT NULL,
    received  bigint NOT NULL,
    PRIMARY KEY (province, bucket, district)
);

CREATE TABLE dossier_events_1h (
    bucket            timestamptz NOT NULL,
    province          text NOT NULL,
    district          text NOT NULL,
    agency_level      text NOT NULL,
    channel           text NOT NULL,
    events            bigint NOT NULL,
    submitted         bigint NOT NULL,
    received          bigint NOT NULL,
    resolved_early    bigint NOT NULL,
    resolved_on_time  bigint NOT NULL,
    resolved_late     bigint NOT NULL,
    rejected          bigint NOT NULL,
    PRIMARY KEY (province, bucket, district, agency_level, channel)
);

CREATE TABLE dossier_agencies_1h (
    bucket            timestamptz NOT NULL,
    province          text NOT NULL,
    district          text NOT NULL,
    agency_code       text NOT NULL,
    agency_name       text NOT NULL,
    agency_level      text NOT NULL,
    received          bigint NOT NULL,
    resolved_early    bigint NOT NULL,
    resolved_on_time  bigint NOT NULL,
    resolved_late     bigint NOT NULL,
    rejected          bigint NOT NULL,
    PRIMARY KEY (province, bucket, district, agency_code, agency_name, agency_level)
);

CREATE TABLE payment_sectors_1h (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    sector      text NOT NULL,
    channel     text NOT NULL,
    payments    bigint NOT NULL,
    succeeded   bigint NOT NULL,
    failed      bigint NOT NULL,
    cashless    bigint NOT NULL,   -- succeeded with a method other than cash
    amount_vnd  numeric NOT NULL,  -- of the succeeded ones
    PRIMARY KEY (province, bucket, district, sector, channel)
);

CREATE TABLE payment_methods_1h (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    method      text NOT NULL,
    channel     text NOT NULL,
    payments    bigint NOT NULL,
    succeeded   bigint NOT NULL,
    amount_vnd  numeric NOT NULL,
    PRIMARY KEY (province, bucket, district, method, channel)
);

CREATE TABLE payment_gateways_1h (
    bucket          timestamptz NOT NULL,
    province        text NOT NULL,
    district        text NOT NULL,
    gateway         text NOT NULL,
    payments        bigint NOT NULL,
    succeeded       bigint NOT NULL,
    failed          bigint NOT NULL,
    pending         bigint NOT NULL,
    refunded        bigint NOT NULL,
    latency_ms_sum  bigint NOT NULL,
    latency_ms_max  integer NOT NULL,
    slow            bigint NOT NULL,   -- took longer than 3 seconds
    PRIMARY KEY (province, bucket, district, gateway)
);

CREATE TABLE payment_failures_1h (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    gateway     text NOT NULL,
    error_code  text NOT NULL,
    failures    bigint NOT NULL,
    PRIMARY KEY (province, bucket, district, gateway, error_code)
);

CREATE TABLE incident_events_1h (
    bucket              timestamptz NOT NULL,
    province            text NOT NULL,
    district            text NOT NULL,
    category            text NOT NULL,
    channel             text NOT NULL,
    events              bigint NOT NULL,
    received            bigint NOT NULL,
    resolved            bigint NOT NULL,
    resolved_on_time    bigint NOT NULL,
    resolved_late       bigint NOT NULL,
    rejected            bigint NOT NULL,
    satisfaction_sum    bigint,
    satisfaction_count  bigint NOT NULL,
    PRIMARY KEY (province, bucket, district, category, channel)
);

-- The refresher's watermark per event table: every row ingested before it is in the rollups.
CREATE TABLE rollup_watermarks (
    source          text PRIMARY KEY,
    ingested_until  timestamptz NOT NULL,
    refreshed_at    timestamptz NOT NULL
);

-- Finding the rows ingested since the watermark. BRIN: ingested_at grows with the heap, so
-- the index is a few pages and costs the insert path next to nothing (TimescaleDB does not
-- need it: its continuous aggregates track changes themselves).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        CREATE INDEX dossier_events_ingested ON dossier_events USING brin (ingested_at);
        CREATE INDEX payment_events_ingested ON payment_events USING brin (ingested_at);
        CREATE INDEX incident_events_ingested ON incident_events USING brin (ingested_at);
    END IF;
END
$$;

-- Open backlogs: the stocks the wall screens show now (read through the partial indexes
-- dossiers_open and incidents_open, so their cost follows the backlog, not the history).
-- A dossier is in the backlog once it has been received (a submitted one is not yet).
CREATE VIEW dossier_backlog AS
SELECT
    d.dossier_id,
    d.province,
    d.district,
    d.agency_code,
    d.agency_name,
    d.agency_level,
    d.channel,
    d.status,
    d.submitted_at,
    d.due_at,
    CASE
        WHEN now() > d.due_at THEN 'overdue'
        WHEN now() > d.due_at - INTERVAL '24 hours' THEN 'about_to_be_late'
        ELSE 'in_progress'
    END AS state
FROM dossiers AS d
WHERE d.finished_at IS NULL AND d.status <> 'submitted';

CREATE VIEW incident_backlog AS
SELECT
    i.report_id,
    i.province,
    i.district,
    i.category,
    i.channel,
    i.status,
    i.title,
    i.latitude,
    i.longitude,
    i.handling_unit,
    i.reported_at,
    i.due_at,
    now() > i.due_at AS overdue,
    now() - i.reported_at AS age
FROM incidents AS i
WHERE i.finished_at IS NULL;

-- The portals' period KPIs for dossiers (DESIGN.md), in one place:
--
--   late rate    = (late still in progress + late already resolved)
--                  / (received in the period + carried over from before)
--   on-time rate = 1 - late rate
CREATE FUNCTION dossier_late_rate(
    late_in_progress bigint, late_resolved bigint, received bigint, carried_over bigint
) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (late_in_progress + late_resolved)::double precision
        / nullif(received + carried_over, 0)
$$;

-- "Carried over from before" is the backlog when the period began, stepped back from the
-- backlog now with the flows since: open now - received since + finished since (a dossier
-- enters the backlog by its `received` event and leaves it by its final one), so no query
-- scans the history.
CREATE FUNCTION dossier_carried_over(open_now bigint, received_since bigint, finished_since bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(open_now - received_since + finished_since, 0)
$$;

-- The period's flows and stocks over whole hours from p_from to p_to, for a province and
-- some of its districts (NULL: all). "Late still in progress" (overdue) and "about to be
-- late" are stocks at the time of the query.
CREATE FUNCTION dossier_period_kpis(
    p_province text, p_districts text[], p_from timestamptz, p_to timestamptz
) RETURNS TABLE (
    received          bigint,
    carried_over      bigint,
    resolved_early    bigint,
    resolved_on_time  bigint,
    resolved_late     bigint,
    rejected          bigint,
    in_progress       bigint,
    about_to_be_late  bigint,
    overdue           bigint,
    late_rate         double precision,
    on_time_rate      double precision
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH flows AS (
        SELECT
            coalesce(sum(r.received) FILTER (WHERE r.bucket < p_to), 0)::bigint AS received,
            coalesce(sum(r.resolved_early) FILTER (WHERE r.bucket < p_to), 0)::bigint AS early,
            coalesce(sum(r.resolved_on_time) FILTER (WHERE r.bucket < p_to), 0)::bigint
                AS on_time,
            coalesce(sum(r.resolved_late) FILTER (WHERE r.bucket < p_to), 0)::bigint AS late,
            coalesce(sum(r.rejected) FILTER (WHERE r.bucket < p_to), 0)::bigint AS rejected,
            coalesce(sum(r.received), 0)::bigint AS received_since,
            coalesce(sum(r.resolved_early + r.resolved_on_time + r.resolved_late
                         + r.rejected), 0)::bigint AS finished_since
        FROM dossier_events_1h AS r
        WHERE r.province = p_province
          AND (p_districts IS NULL OR r.district = ANY (p_districts))
          AND r.bucket >= date_bin(INTERVAL '1 hour', p_from, TIMESTAMPTZ '2000-01-01 00:00:00+00')
    ), backlog AS (
        SELECT
            count(*) AS open_now,
            count(*) FILTER (WHERE b.state = 'in_progress') AS in_progress,
            count(*) FILTER (WHERE b.state = 'about_to_be_late') AS about_to_be_late,
            count(*) FILTER (WHERE b.state = 'overdue') AS overdue
        FROM dossier_backlog AS b
        WHERE b.province = p_province
          AND (p_districts IS NULL OR b.district = ANY (p_districts))
    ), terms AS (
        SELECT f.*, b.*,
               dossier_carried_over(b.open_now, f.received_since, f.finished_since) AS carried
        FROM flows AS f CROSS JOIN backlog AS b
    )
    SELECT received, carried, early, on_time, late, rejected,
           in_progress, about_to_be_late, overdue,
           dossier_late_rate(overdue, late, received, carried),
           1 - dossier_late_rate(overdue, late, received, carried)
    FROM terms
$$;

-- The same per agency (the rows of dossier_agencies_1h and of the backlog, by agency code).
CREATE FUNCTION dossier_agency_kpis(
    p_province text, p_districts text[], p_from timestamptz, p_to timestamptz
) RETURNS TABLE (
    agency_code       text,
    agency_name       text,
    agency_level      text,
    received          bigint,
    carried_over      bigint,
    resolved_early    bigint,
    resolved_on_time  bigint,
    resolved_late     bigint,
    rejected          bigint,
    in_progress       bigint,
    about_to_be_late  bigint,
    overdue           bigint,
    late_rate         double precision,
    on_time_rate      double precision
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH flows AS (
        SELECT
            r.agency_code, min(r.agency_name) AS agency_name, min(r.agency_level) AS agency_level,
            coalesce(sum(r.received) FILTER (WHERE r.bucket < p_to), 0)::bigint AS received,
            coalesce(sum(r.resolved_early) FILTER (WHERE r.bucket < p_to), 0)::bigint AS early,
            coalesce(sum(r.resolved_on_time) FILTER (WHERE r.bucket < p_to), 0)::bigint
                AS on_time,
            coalesce(sum(r.resolved_late) FILTER (WHERE r.bucket < p_to), 0)::bigint AS late,
            coalesce(sum(r.rejected) FILTER (WHERE r.bucket < p_to), 0)::bigint AS rejected,
            sum(r.received)::bigint AS received_since,
            sum(r.resolved_early + r.resolved_on_time + r.resolved_late + r.rejected)::bigint
                AS finished_since
        FROM dossier_agencies_1h AS r
        WHERE r.province = p_province
          AND (p_districts IS NULL OR r.district = ANY (p_districts))
          AND r.bucket >= date_bin(INTERVAL '1 hour', p_from, TIMESTAMPTZ '2000-01-01 00:00:00+00')
        GROUP BY r.agency_code
    ), backlog AS (
        SELECT
            b.agency_code, min(b.agency_name) AS agency_name, min(b.agency_level) AS agency_level,
            count(*) AS open_now,
            count(*) FILTER (WHERE b.state = 'in_progress') AS in_progress,
            count(*) FILTER (WHERE b.state = 'about_to_be_late') AS about_to_be_late,
            count(*) FILTER (WHERE b.state = 'overdue') AS overdue
        FROM dossier_backlog AS b
        WHERE b.province = p_province
          AND (p_districts IS NULL OR b.district = ANY (p_districts))
        GROUP BY b.agency_code
    ), terms AS (
        SELECT
            coalesce(f.agency_code, b.agency_code) AS code,
            coalesce(f.agency_name, b.agency_name) AS name,
            coalesce(f.agency_level, b.agency_level) AS level,
            coalesce(f.received, 0) AS received, coalesce(f.early, 0) AS early,
            coalesce(f.on_time, 0) AS on_time, coalesce(f.late, 0) AS late,
            coalesce(f.rejected, 0) AS rejected, coalesce(b.in_progress, 0) AS in_progress,
            coalesce(b.about_to_be_late, 0) AS about_to_be_late,
            coalesce(b.overdue, 0) AS overdue,
            dossier_carried_over(coalesce(b.open_now, 0), coalesce(f.received_since, 0),
                                 coalesce(f.finished_since, 0)) AS carried
        FROM flows AS f FULL JOIN backlog AS b ON b.agency_code = f.agency_code
    )
    SELECT code, name, level, received, carried, early, on_time, late, rejected,
           in_progress, about_to_be_late, overdue,
           dossier_late_rate(overdue, late, received, carried),
           1 - dossier_late_rate(overdue, late, received, carried)
    FROM terms
$$;

-- Grafana reads these and nothing else of this file; the ingester's refresher writes the
-- rollups (on TimescaleDB the timescale file grants the continuous aggregates instead).
GRANT SELECT ON dossier_events_1m, payment_events_1m, incident_events_1m, dossier_events_1h,
    dossier_agencies_1h, payment_sectors_1h, payment_methods_1h, payment_gateways_1h,
    payment_failures_1h, incident_events_1h, dossier_backlog, incident_backlog TO ioc_grafana;
REVOKE EXECUTE ON FUNCTION dossier_period_kpis(text, text[], timestamptz, timestamptz),
    dossier_agency_kpis(text, text[], timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION dossier_period_kpis(text, text[], timestamptz, timestamptz),
    dossier_agency_kpis(text, text[], timestamptz, timestamptz) TO ioc_grafana;

GRANT SELECT, INSERT, DELETE ON dossier_events_1m, payment_events_1m, incident_events_1m,
    dossier_events_1h, dossier_agencies_1h, payment_sectors_1h, payment_methods_1h,
    payment_gateways_1h, payment_failures_1h, incident_events_1h TO ioc_ingester;
GRANT SELECT, INSERT, UPDATE ON rollup_watermarks TO ioc_ingester;
