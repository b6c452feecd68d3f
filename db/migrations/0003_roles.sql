-- Roles with least privilege. The role that applies the migrations owns every object (in
-- docker compose that is POSTGRES_USER=ioc_owner); the others can log in once
-- `ioc db migrate` has set their passwords from IOC_DB_*_PASSWORD.
--
--   ioc_ingester  writes events, current state and dead letters; cannot alter or drop
--   ioc_alerter   reads the data, writes alert state (tables added by the alerting step)
--   ioc_grafana   reads the reference tables and the dashboards' views, nothing else
--
-- Roles are cluster-wide, so they are created only when missing; grants are per database.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['ioc_ingester', 'ioc_alerter', 'ioc_grafana'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', name);
        END IF;
    END LOOP;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO ioc_ingester, ioc_alerter, ioc_grafana;

DO $$
BEGIN
    -- the ingester stages each batch in session-local temporary tables
    EXECUTE format('GRANT TEMPORARY, CONNECT ON DATABASE %I TO ioc_ingester', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO ioc_alerter, ioc_grafana', current_database());
END
$$;

GRANT SELECT, INSERT ON dossier_events, payment_events, incident_events TO ioc_ingester;
GRANT SELECT, INSERT, UPDATE ON dossiers, incidents TO ioc_ingester;
GRANT INSERT ON dead_letters TO ioc_ingester;
GRANT USAGE ON SEQUENCE dead_letters_id_seq TO ioc_ingester;
GRANT SELECT ON provinces, districts TO ioc_ingester;

GRANT SELECT ON provinces, districts, dossier_events, payment_events, incident_events,
    dossiers, incidents, dead_letters TO ioc_alerter;
GRANT SELECT ON dossier_facts, incident_facts, province_dossier_kpis, province_payment_kpis,
    province_incident_kpis TO ioc_alerter;
-- the KPI functions read with their owner's rights: only the roles that need them may call
-- them (functions are executable by PUBLIC by default)
REVOKE EXECUTE ON FUNCTION kpi_dossiers, kpi_payments, kpi_incidents FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kpi_dossiers, kpi_payments, kpi_incidents TO ioc_alerter, ioc_grafana;

GRANT SELECT ON provinces, districts TO ioc_grafana;
GRANT SELECT ON dossier_facts, incident_facts, province_dossier_kpis, province_payment_kpis,
    province_incident_kpis TO ioc_grafana;
