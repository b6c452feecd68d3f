-- TimescaleDB: event_ids follows the event tables' retention (400 days, 0005_dashboards.
-- timescale.sql). Without this job the ids of dropped chunks would stay forever; with it, an
-- event older than the retention that is published again is stored again, and dropped again
-- with its chunk.
CREATE PROCEDURE prune_event_ids(job_id integer, config jsonb)
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_ids WHERE occurred_at < now() - (config ->> 'drop_after')::interval;
END
$$;

SELECT add_job('prune_event_ids', INTERVAL '1 day', config => '{"drop_after": "400 days"}');
