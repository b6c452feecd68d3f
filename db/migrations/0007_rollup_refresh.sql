-- The rollups' refreshers get the rights they need and no more.
--
-- Until now the ingester's role could DELETE from and INSERT into every rollup table (and
-- write rollup_watermarks), since its background refresher recomputed them with its own
-- rights: a leaked ingester password could empty or falsify every wall screen. Now:
--
-- Plain PostgreSQL: the recompute of ioc/storage/rollups.py runs inside refresh_rollup_tables(), a
-- SECURITY DEFINER function owned by the role that applies the migrations; ioc_ingester may
-- only EXECUTE it. The function runs the statements of rollup_statements, a table that only
-- the owner can read or write and that `ioc db migrate` fills from ioc/storage/rollups.py (the one
-- definition of the rollups), so a caller chooses nothing but how far back to look:
--
--   refresh_rollup_tables(writers_since, margin)
--       recompute every (province, hour) that rows ingested since the last refresh fall into,
--       for every rollup of their event table; returns (source, touched_hours) per event
--       table, or no row when another refresh holds the lock. The new watermark is the
--       earliest of now() - margin, writers_since (the oldest open write transaction the
--       caller can see) and the oldest one the owner can see: a caller can only make it
--       earlier, which recomputes more, never less.
--   prune_rollup_tables()
--       drop minute buckets past their retention (14 days).
--
-- TimescaleDB: 0007_rollup_refresh.timescale.sql (the rollups are continuous aggregates,
-- which only their owner may refresh; the ingester may ask for a refresh, nothing more).

CREATE TABLE rollup_statements (
    position          integer PRIMARY KEY,
    rollup            text NOT NULL UNIQUE,
    source            text NOT NULL,
    touched_sql       text NOT NULL,   -- $1 since, $2 until -> (provinces[], hours[])
    delete_sql        text NOT NULL,   -- $1 provinces[], $2 hours[]
    insert_sql        text NOT NULL,   -- the same, one index range scan per touched hour
    prune_sql         text             -- NULL: kept for ever
);
REVOKE ALL ON rollup_statements FROM PUBLIC;

CREATE FUNCTION refresh_rollup_tables(
    p_writers_since timestamptz, p_margin interval
) RETURNS TABLE (source text, touched_hours integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    v_mark       timestamptz;
    v_since      timestamptz;
    v_provinces  text[];
    v_hours      timestamptz[];
    v_touched    integer;
    s            record;
    r            record;
BEGIN
    -- 17563653 = 0x10C0005, the refreshers' advisory lock (ioc/storage/rollups.py)
    IF NOT pg_try_advisory_xact_lock(17563653) THEN
        RETURN;  -- another refresher is at work
    END IF;
    -- Read the writers' transactions first, in a statement of its own: each statement below
    -- takes a newer snapshot, so a transaction that commits after this read is visible to the
    -- recompute, and one that starts after it has ingested_at later than the new watermark.
    SELECT least(now() - greatest(p_margin, INTERVAL '0'), p_writers_since, min(a.xact_start))
    INTO v_mark
    FROM pg_stat_activity AS a
    WHERE a.datname = current_database() AND a.backend_xid IS NOT NULL
      AND a.pid <> pg_backend_pid();
    FOR s IN
        SELECT DISTINCT ON (st.source) st.source, st.touched_sql
        FROM rollup_statements AS st ORDER BY st.source, st.position
    LOOP
        SELECT w.ingested_until INTO v_since FROM rollup_watermarks AS w WHERE w.source = s.source;
        EXECUTE s.touched_sql INTO v_provinces, v_hours
            USING coalesce(v_since, '-infinity'::timestamptz), v_mark;
        v_touched := coalesce(cardinality(v_provinces), 0);
        IF v_touched > 0 THEN
            FOR r IN
                SELECT st.* FROM rollup_statements AS st
                WHERE st.source = s.source ORDER BY st.position
            LOOP
                EXECUTE r.delete_sql USING v_provinces, v_hours;
                EXECUTE r.insert_sql USING v_provinces, v_hours;
            END LOOP;
        END IF;
        INSERT INTO rollup_watermarks AS w (source, ingested_until, refreshed_at)
        VALUES (s.source, v_mark, now())
        ON CONFLICT ON CONSTRAINT rollup_watermarks_pkey DO UPDATE
        SET ingested_until = EXCLUDED.ingested_until, refreshed_at = now();
        source := s.source;
        touched_hours := v_touched;
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE FUNCTION prune_rollup_tables() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT st.prune_sql FROM rollup_statements AS st WHERE st.prune_sql IS NOT NULL
    LOOP
        EXECUTE r.prune_sql;
    END LOOP;
END
$$;

REVOKE EXECUTE ON FUNCTION refresh_rollup_tables(timestamptz, interval),
    prune_rollup_tables() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_rollup_tables(timestamptz, interval),
    prune_rollup_tables() TO ioc_ingester;

-- What 0005_dashboards.sql granted the ingester for its refresher (on TimescaleDB those
-- tables are continuous aggregates now, on which it has no grant: a no-op there).
REVOKE ALL ON dossier_events_1m, payment_events_1m, incident_events_1m, dossier_events_1h,
    dossier_agencies_1h, payment_sectors_1h, payment_methods_1h, payment_gateways_1h,
    payment_failures_1h, incident_events_1h, rollup_watermarks FROM ioc_ingester;
