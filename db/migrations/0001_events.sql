-- Event tables per feed, current-state tables, dead letters and reference data.
--
-- Runs on plain PostgreSQL. When the timescaledb extension is installed, the DO block at the
-- end turns the event tables into hypertables (chunked by occurred_at); the tables, keys and
-- queries are the same either way. The primary keys include occurred_at because a hypertable's
-- unique keys must include its partitioning column; a redelivered event carries the same
-- occurred_at, so (event_id, occurred_at) recognises it.

CREATE TABLE provinces (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    name_vi     text NOT NULL,
    population  integer NOT NULL,
    latitude    double precision NOT NULL,
    longitude   double precision NOT NULL
);

CREATE TABLE districts (
    province    text NOT NULL REFERENCES provinces (code),
    code        text NOT NULL,
    name        text NOT NULL,
    name_vi     text NOT NULL,
    population  integer NOT NULL,
    latitude    double precision NOT NULL,
    longitude   double precision NOT NULL,
    PRIMARY KEY (province, code)
);

CREATE TABLE dossier_events (
    event_id         uuid NOT NULL,
    schema_version   smallint NOT NULL,
    occurred_at      timestamptz NOT NULL,
    province         text NOT NULL,
    district         text NOT NULL,
    source           text NOT NULL,
    dossier_id       text NOT NULL,
    procedure_code   text NOT NULL,
    procedure_name   text NOT NULL,
    agency_code      text NOT NULL,
    agency_name      text NOT NULL,
    agency_level     text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    submitted_at     timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    fee_vnd          bigint NOT NULL,
    fee_paid_online  boolean,
    ingested_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (event_id, occurred_at)
);
CREATE INDEX dossier_events_time ON dossier_events (occurred_at DESC);
CREATE INDEX dossier_events_province_time ON dossier_events (province, occurred_at DESC);

CREATE TABLE payment_events (
    event_id         uuid NOT NULL,
    schema_version   smallint NOT NULL,
    occurred_at      timestamptz NOT NULL,
    province         text NOT NULL,
    district         text NOT NULL,
    source           text NOT NULL,
    transaction_id   text NOT NULL,
    sector           text NOT NULL,
    method           text NOT NULL,
    channel          text NOT NULL,
    gateway          text NOT NULL,
    amount_vnd       bigint NOT NULL,
    status           text NOT NULL,
    latency_ms       integer NOT NULL,
    error_code       text,
    dossier_id       text,
    ingested_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (event_id, occurred_at)
);
CREATE INDEX payment_events_time ON payment_events (occurred_at DESC);
CREATE INDEX payment_events_province_time ON payment_events (province, occurred_at DESC);

CREATE TABLE incident_events (
    event_id         uuid NOT NULL,
    schema_version   smallint NOT NULL,
    occurred_at      timestamptz NOT NULL,
    province         text NOT NULL,
    district         text NOT NULL,
    source           text NOT NULL,
    report_id        text NOT NULL,
    category         text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    title            text NOT NULL,
    latitude         double precision NOT NULL,
    longitude        double precision NOT NULL,
    handling_unit    text NOT NULL,
    reported_at      timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    satisfaction     smallint,
    ingested_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (event_id, occurred_at)
);
CREATE INDEX incident_events_time ON incident_events (occurred_at DESC);
CREATE INDEX incident_events_province_time ON incident_events (province, occurred_at DESC);

-- Lifecycle order, to break ties between two events of one dossier/report at the same instant.
CREATE FUNCTION dossier_status_rank(status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'submitted' THEN 1 WHEN 'received' THEN 2 WHEN 'processing' THEN 3
        WHEN 'supplement_requested' THEN 4 WHEN 'resolved' THEN 5 WHEN 'rejected' THEN 5
        ELSE 0 END::smallint
$$;

CREATE FUNCTION incident_status_rank(status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'received' THEN 1 WHEN 'verified' THEN 2 WHEN 'assigned' THEN 3
        WHEN 'in_progress' THEN 4 WHEN 'resolved' THEN 5 WHEN 'rejected' THEN 5
        ELSE 0 END::smallint
$$;

-- Current state: the latest event of each dossier by occurred_at (not by arrival).
CREATE TABLE dossiers (
    dossier_id       text PRIMARY KEY,
    province         text NOT NULL,
    district         text NOT NULL,
    procedure_code   text NOT NULL,
    procedure_name   text NOT NULL,
    agency_code      text NOT NULL,
    agency_name      text NOT NULL,
    agency_level     text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    submitted_at     timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    fee_vnd          bigint NOT NULL,
    fee_paid_online  boolean,
    finished_at      timestamptz,
    last_event_id    uuid NOT NULL,
    last_event_at    timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dossiers_open ON dossiers (province, due_at) WHERE finished_at IS NULL;
CREATE INDEX dossiers_submitted ON dossiers (province, submitted_at);
CREATE INDEX dossiers_finished ON dossiers (province, finished_at);

CREATE TABLE incidents (
    report_id        text PRIMARY KEY,
    province         text NOT NULL,
    district         text NOT NULL,
    category         text NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    title            text NOT NULL,
    latitude         double precision NOT NULL,
    longitude        double precision NOT NULL,
    handling_unit    text NOT NULL,
    reported_at      timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    satisfaction     smallint,
    finished_at      timestamptz,
    last_event_id    uuid NOT NULL,
    last_event_at    timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_open ON incidents (province, district) WHERE finished_at IS NULL;
CREATE INDEX incidents_reported ON incidents (province, reported_at);

-- Everything the ingester could not store, with the reason, so nothing vanishes.
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    topic        text NOT NULL,
    payload      bytea NOT NULL,
    reason       text NOT NULL,
    detail       text NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters (received_at DESC);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        PERFORM create_hypertable('dossier_events', 'occurred_at',
                                  chunk_time_interval => INTERVAL '1 day', migrate_data => true);
        PERFORM create_hypertable('payment_events', 'occurred_at',
                                  chunk_time_interval => INTERVAL '1 day', migrate_data => true);
        PERFORM create_hypertable('incident_events', 'occurred_at',
                                  chunk_time_interval => INTERVAL '1 day', migrate_data => true);
    END IF;
END
$$;
