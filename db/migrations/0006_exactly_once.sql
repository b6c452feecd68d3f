-- Exactly once by event_id, on plain PostgreSQL and on TimescaleDB alike.
--
-- The event tables' primary keys are (event_id, occurred_at), because a hypertable's unique
-- keys must include its partitioning column: by themselves they would store one event_id
-- twice when a second message gives it another occurred_at. event_ids is a plain table (not
-- chunked) keyed by event_id alone; the ingester claims every id here first, in the same
-- transaction as the rows (ioc/ingest/store.py). An id already claimed is a duplicate when the event
-- is the same (same digest) and a dead letter, reason conflicting_duplicate, when it is not.
--
-- digest: md5(feed || ':' || ROW(columns)::text)::uuid, the event's stored values as
-- PostgreSQL writes the row (the columns of the event table but ingested_at, in table order,
-- which is the model's order: tests/test_pipeline.py checks it), 16 bytes. The same
-- expression is ioc.store.digest_sql (tests/test_exactly_once.py checks that both agree); it
-- is written out rather than a function, which PostgreSQL did not inline (6 µs an event).
-- The text of a timestamptz depends on the session's time zone: the ingester's connections
-- and this migration use UTC.

CREATE TABLE event_ids (
    event_id     uuid PRIMARY KEY,
    feed         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    digest       uuid NOT NULL
);
-- retention (0006_exactly_once.timescale.sql) forgets ids by their events' time
CREATE INDEX event_ids_time ON event_ids (occurred_at);

SET LOCAL timezone = 'UTC';

-- The events stored so far (an id stored twice before this step keeps its earliest row).
DO $$
DECLARE
    feed text;
    columns text;
BEGIN
    FOREACH feed IN ARRAY ARRAY['dossier', 'payment', 'incident'] LOOP
        SELECT string_agg(format('e.%I', column_name), ', ' ORDER BY ordinal_position)
        INTO columns
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = feed || '_events'
          AND column_name <> 'ingested_at';
        EXECUTE format(
            'INSERT INTO event_ids (event_id, feed, occurred_at, digest) '
            'SELECT DISTINCT ON (event_id) event_id, %L, occurred_at, '
            'md5(%L || '':'' || ROW(%s)::text)::uuid FROM %I e ORDER BY event_id, occurred_at '
            'ON CONFLICT (event_id) DO NOTHING',
            feed, feed, columns, feed || '_events');
    END LOOP;
END
$$;

GRANT SELECT, INSERT ON event_ids TO ioc_ingester;

-- Least privilege, continued (tests/test_roles.py): PostgreSQL grants TEMPORARY on a new
-- database to PUBLIC, so ioc_grafana and ioc_alerter could create temporary tables. Only the
-- ingester stages batches in them (granted explicitly in 0003_roles.sql).
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
