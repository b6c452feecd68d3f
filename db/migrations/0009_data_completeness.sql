-- How far the stored events are complete (ioc/completeness.py), so that the alerter judges
-- only data that is in: a window past the point up to which everything is stored is "not
-- complete yet", and no alert fires or resolves on it.
--
-- One row per claim. kind 'ingester': an ingester (by its MQTT client id) says that every
-- message the broker had for it before complete_until is committed (NULL: it has not caught
-- up yet since it started); it refreshes the row while it runs, and its claim falls behind
-- while it is stopped or cannot keep up. kind 'backfill': a backfill of history in progress
-- says that the events after complete_until (its start) are still arriving; once finished
-- (released_at) it stops counting as soon as every ingester has caught up past released_at.
-- A claim whose expires_at has passed is ignored (a killed backfill, a retired ingester).
CREATE TABLE data_completeness (
    source         text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('ingester', 'backfill')),
    complete_until timestamptz,
    released_at    timestamptz,
    updated_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);

GRANT SELECT, INSERT, UPDATE, DELETE ON data_completeness TO ioc_ingester;
GRANT SELECT ON data_completeness TO ioc_alerter, ioc_grafana;
