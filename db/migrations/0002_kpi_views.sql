-- KPI views: the definitions that dashboards, alert rules and tests share.
--
-- Dossier outcomes follow the portals' vocabulary: resolved early (at least one day before
-- the due date), on time, late; still open and "about to be late" (due within 24 hours),
-- or overdue. A dossier submitted online is fully online ("toàn trình") or partly online.

CREATE VIEW dossier_facts AS
SELECT
    d.*,
    d.channel IN ('fully_online', 'partly_online') AS online,
    d.channel = 'fully_online' AS fully_online,
    CASE
        WHEN d.status = 'rejected' THEN 'rejected'
        WHEN d.finished_at IS NULL AND now() > d.due_at THEN 'overdue'
        WHEN d.finished_at IS NULL AND now() > d.due_at - INTERVAL '24 hours' THEN 'about_to_be_late'
        WHEN d.finished_at IS NULL THEN 'in_progress'
        WHEN d.finished_at <= d.due_at - INTERVAL '1 day' THEN 'early'
        WHEN d.finished_at <= d.due_at THEN 'on_time'
        ELSE 'late'
    END AS outcome,
    (d.finished_at IS NULL AND now() > d.due_at) OR d.finished_at > d.due_at AS is_late
FROM dossiers AS d;

CREATE VIEW incident_facts AS
SELECT
    i.*,
    CASE
        WHEN i.status = 'rejected' THEN 'rejected'
        WHEN i.finished_at IS NULL AND now() > i.due_at THEN 'overdue'
        WHEN i.finished_at IS NULL THEN 'open'
        WHEN i.finished_at <= i.due_at THEN 'on_time'
        ELSE 'late'
    END AS outcome
FROM incidents AS i;

-- Headline KPIs per province over a period [p_from, p_to), evaluated as of p_to: the same
-- functions serve dashboards (with Grafana's time range), alert rules and the calibration
-- tests. Definitions (DESIGN.md):
--   online_share                  dossiers submitted online (fully or partly) / all submitted
--   fully_online_share_of_online  of those submitted online, the share processed fully online
--   on_time_rate                  of the dossiers (reports) already due by p_to and not
--                                 rejected, the share finished by their due date; one still
--                                 open past its due date counts as late
--   late_rate                     (late still open + late already finished) / all submitted
--   online_payment_rate           of the public-service fees paid successfully, the share
--                                 paid online (a failed attempt is retried, so only successes
--                                 count; otherwise one fee would count twice)
-- They run with their owner's rights (SECURITY DEFINER, fixed search_path) so that read-only
-- roles may call them without reading the tables themselves; they only ever read.
CREATE FUNCTION kpi_dossiers(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, dossiers bigint, online_share double precision,
               fully_online_share_of_online double precision, on_time_rate double precision,
               late_rate double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT
        d.province,
        count(*),
        avg((d.channel <> 'in_person')::int)::double precision,
        sum((d.channel = 'fully_online')::int)::double precision
            / nullif(sum((d.channel <> 'in_person')::int), 0),
        count(*) FILTER (WHERE d.due_at < p_to AND d.status <> 'rejected'
                         AND d.finished_at <= d.due_at)::double precision
            / nullif(count(*) FILTER (WHERE d.due_at < p_to AND d.status <> 'rejected'), 0),
        count(*) FILTER (WHERE d.status <> 'rejected' AND d.due_at < p_to
                         AND (d.finished_at IS NULL OR d.finished_at > d.due_at))::double precision
            / nullif(count(*), 0)
    FROM dossiers AS d
    WHERE d.submitted_at >= p_from AND d.submitted_at < p_to
    GROUP BY d.province
$$;

CREATE FUNCTION kpi_payments(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, payments bigint, online_payment_rate double precision,
               cashless_share double precision, success_rate double precision,
               amount_vnd numeric)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT
        p.province,
        count(*),
        count(*) FILTER (WHERE p.sector = 'public_service' AND p.status = 'success'
                         AND p.channel = 'online')::double precision
            / nullif(count(*) FILTER (WHERE p.sector = 'public_service'
                                      AND p.status = 'success'), 0),
        count(*) FILTER (WHERE p.method <> 'cash')::double precision / nullif(count(*), 0),
        count(*) FILTER (WHERE p.status = 'success')::double precision
            / nullif(count(*) FILTER (WHERE p.status IN ('success', 'failed')), 0),
        sum(p.amount_vnd) FILTER (WHERE p.status = 'success')
    FROM payment_events AS p
    WHERE p.occurred_at >= p_from AND p.occurred_at < p_to
    GROUP BY p.province
$$;

CREATE FUNCTION kpi_incidents(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, reports bigint, open_reports bigint, overdue_reports bigint,
               on_time_rate double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT
        i.province,
        count(*),
        count(*) FILTER (WHERE i.finished_at IS NULL OR i.finished_at >= p_to),
        count(*) FILTER (WHERE (i.finished_at IS NULL OR i.finished_at >= p_to)
                         AND i.due_at < p_to),
        count(*) FILTER (WHERE i.due_at < p_to AND i.status <> 'rejected'
                         AND i.finished_at <= i.due_at)::double precision
            / nullif(count(*) FILTER (WHERE i.due_at < p_to AND i.status <> 'rejected'), 0)
    FROM incidents AS i
    WHERE i.reported_at >= p_from AND i.reported_at < p_to
    GROUP BY i.province
$$;

-- Everything stored, as of now.
CREATE VIEW province_dossier_kpis AS SELECT * FROM kpi_dossiers('-infinity', now());
CREATE VIEW province_payment_kpis AS SELECT * FROM kpi_payments('-infinity', now());
CREATE VIEW province_incident_kpis AS SELECT * FROM kpi_incidents('-infinity', now());
