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

-- Headline figures per province, over everything stored (dashboards add time filters on the
-- facts views instead; tests compare these with the simulator profiles' targets).
CREATE VIEW province_dossier_kpis AS
SELECT
    province,
    count(*) AS dossiers,
    avg(online::int)::double precision AS online_share,
    (sum(fully_online::int)::double precision / nullif(sum(online::int), 0)) AS fully_online_share_of_online,
    (count(*) FILTER (WHERE outcome IN ('early', 'on_time'))::double precision
        / nullif(count(*) FILTER (WHERE outcome IN ('early', 'on_time', 'late')), 0)) AS on_time_rate,
    (count(*) FILTER (WHERE is_late)::double precision / nullif(count(*), 0)) AS late_rate
FROM dossier_facts
GROUP BY province;

CREATE VIEW province_payment_kpis AS
SELECT
    province,
    count(*) AS payments,
    (count(*) FILTER (WHERE sector = 'public_service' AND channel = 'online')::double precision
        / nullif(count(*) FILTER (WHERE sector = 'public_service'), 0)) AS online_payment_rate,
    (count(*) FILTER (WHERE method <> 'cash')::double precision / nullif(count(*), 0)) AS cashless_share,
    (count(*) FILTER (WHERE status = 'success')::double precision
        / nullif(count(*) FILTER (WHERE status IN ('success', 'failed')), 0)) AS success_rate,
    sum(amount_vnd) FILTER (WHERE status = 'success') AS amount_vnd
FROM payment_events
GROUP BY province;

CREATE VIEW province_incident_kpis AS
SELECT
    province,
    count(*) AS reports,
    count(*) FILTER (WHERE outcome IN ('open', 'overdue')) AS open_reports,
    count(*) FILTER (WHERE outcome = 'overdue') AS overdue_reports,
    (count(*) FILTER (WHERE outcome = 'on_time')::double precision
        / nullif(count(*) FILTER (WHERE outcome IN ('on_time', 'late')), 0)) AS on_time_rate
FROM incident_facts
GROUP BY province;
