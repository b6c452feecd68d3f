-- Exactly once (0006), at less cost per event: the claim no longer computes a digest of every
-- event. An id claimed already is compared with the stored row itself, column by column
-- (ioc/ingest/store.py), and only for the rare event that arrives under a claimed id: a
-- redelivery or a conflict. The comparison reads the event table by its primary key
-- (event_id, occurred_at). It also never needs computing again when columns are added (as
-- 0008 had to).
ALTER TABLE event_ids DROP COLUMN digest;

-- The ingester writes each batch in one statement from arrays and no longer stages batches in
-- temporary tables: it loses TEMPORARY too, so no application role can create them.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM ioc_ingester', current_database());
END
$$;
