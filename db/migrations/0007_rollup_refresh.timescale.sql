-- The TimescaleDB side of 0007_rollup_refresh.sql: refresh windows that cover everything the
-- aggregates keep, and a refresh the ingester may ask for but not do.
--
-- 1. The refresh policies of 0005 looked back 1 day (minute aggregates) and 7 days (hourly).
--    A refresh materialises the invalidated ranges inside its window and moves the watermark
--    (below which a query reads only the materialisation) to the window's end; what was
--    never materialised below the window's start stays invisible. So a backfill of 3 days
--    lost 2 of them from the minute aggregates at the policy's first run, and events arriving
--    a week late were never counted. Now each window starts where what it covers stops being
--    kept:
--      *_1m   start_offset 14 days  = their retention (drop_after 14 days, 0005)
--      *_1h   start_offset 400 days = the raw events' retention (drop_after 400 days): never
--             further back, or a refresh over chunks that retention dropped would delete the
--             hourly history kept beyond them
--    and ends 1 minute before now (end_offset), so every complete bucket is materialised by
--    the next run and the bucket in progress never is: real-time aggregation
--    (materialized_only = false) reads it from the raw rows, so a panel over it always shows
--    the rows so far. A refresh only recomputes what the invalidation log says changed, so a
--    long window costs nothing when nothing old changed.
--    Each policy refreshes oldest first (refresh_newest_first => false): a policy refreshes
--    in batches, each its own transaction, and newest first (the default) its first batch
--    moves the watermark to now, so until its last batch a backfill's older hours read from a
--    materialisation that does not hold them yet (20 of 140 payments shown, on a test).
-- 2. request_rollup_refresh(): refreshing a continuous aggregate takes its owner, and the
--    ingester is not (nor should be). This SECURITY DEFINER function, which ioc_ingester may
--    EXECUTE, starts at once the refresh policy of every aggregate with changes waiting inside
--    its window (rows written below the invalidation threshold: late events, a backfill), so
--    the running ingester's refresher (ioc/rollups.py) brings late events to the wall screens
--    within seconds rather than at the next scheduled run. It reads TimescaleDB's own record
--    of what changed (the invalidation logs of _timescaledb_catalog; written against 2.28.3)
--    and can do nothing but run the owner's policies sooner.
-- 3. The portals' KPI functions of 0005 read dossier_events_1h and dossier_agencies_1h from
--    inside a function, where TimescaleDB cannot fold the aggregate's watermark into the plan:
--    the real-time part is estimated at every raw row of the period, and the planner starts
--    parallel workers for what, at run time, is the last hour's chunk. Without them the
--    public-services panels take a fraction of the time (ioc bench-panels, BENCHMARKS.md).

SELECT remove_continuous_aggregate_policy('dossier_events_1m');
SELECT add_continuous_aggregate_policy('dossier_events_1m', start_offset => INTERVAL '14 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('payment_events_1m');
SELECT add_continuous_aggregate_policy('payment_events_1m', start_offset => INTERVAL '14 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('incident_events_1m');
SELECT add_continuous_aggregate_policy('incident_events_1m', start_offset => INTERVAL '14 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '1 minute',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('dossier_events_1h');
SELECT add_continuous_aggregate_policy('dossier_events_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('dossier_agencies_1h');
SELECT add_continuous_aggregate_policy('dossier_agencies_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('payment_sectors_1h');
SELECT add_continuous_aggregate_policy('payment_sectors_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('payment_methods_1h');
SELECT add_continuous_aggregate_policy('payment_methods_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('payment_gateways_1h');
SELECT add_continuous_aggregate_policy('payment_gateways_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('payment_failures_1h');
SELECT add_continuous_aggregate_policy('payment_failures_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);
SELECT remove_continuous_aggregate_policy('incident_events_1h');
SELECT add_continuous_aggregate_policy('incident_events_1h', start_offset => INTERVAL '400 days',
    end_offset => INTERVAL '1 minute', schedule_interval => INTERVAL '10 minutes',
    refresh_newest_first => false);

CREATE FUNCTION request_rollup_refresh() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT c.user_view_name::text AS rollup, j.job_id
        FROM _timescaledb_catalog.continuous_agg AS c
        JOIN _timescaledb_catalog.continuous_aggs_bucket_function AS b
          ON b.mat_hypertable_id = c.mat_hypertable_id
        JOIN timescaledb_information.jobs AS j
          ON j.proc_name = 'policy_refresh_continuous_aggregate'
         AND (j.config ->> 'mat_hypertable_id')::integer = c.mat_hypertable_id
        LEFT JOIN timescaledb_information.job_stats AS s ON s.job_id = j.job_id
        WHERE c.user_view_schema = 'public'
          AND j.scheduled
          AND coalesce(s.job_status, '') <> 'Running'
          AND coalesce(j.next_start, 'infinity') > clock_timestamp()
          AND (
              -- changed rows not yet moved to the aggregates' own logs
              EXISTS (
                  SELECT 1 FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log
                      AS h
                  WHERE h.hypertable_id = c.raw_hypertable_id)
              -- or changes in this aggregate's log between its window's start and its
              -- watermark (above the watermark real-time aggregation shows them already).
              -- A window starts at the first whole bucket: what lies before stays in the log
              -- for ever, so the first bucket's width is left to the policy's schedule.
              OR EXISTS (
                  SELECT 1
                  FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log AS m
                  WHERE m.materialization_id = c.mat_hypertable_id
                    AND m.greatest_modified_value >= _timescaledb_functions.to_unix_microseconds(
                        now() - (j.config ->> 'start_offset')::interval
                        + b.bucket_width::interval)
                    AND m.lowest_modified_value
                        < _timescaledb_functions.cagg_watermark(c.mat_hypertable_id))
          )
        ORDER BY c.user_view_name
    LOOP
        PERFORM alter_job(r.job_id, next_start => clock_timestamp());
        RETURN NEXT r.rollup;
    END LOOP;
END
$$;

ALTER FUNCTION dossier_period_kpis(text, text[], timestamptz, timestamptz)
    SET max_parallel_workers_per_gather = 0;
ALTER FUNCTION dossier_agency_kpis(text, text[], timestamptz, timestamptz)
    SET max_parallel_workers_per_gather = 0;

REVOKE EXECUTE ON FUNCTION request_rollup_refresh() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION request_rollup_refresh() TO ioc_ingester;
