-- A province that looks real: the inputs of the Decision 766 index, payments as transactions,
-- display names and each province's targets, and the KPIs built on them.
--
-- 1. New event fields (all nullable: older payloads stay valid): a dossier's sector, whether
--    its files are digitised, its data reused, its status published to the national portal,
--    its result issued electronically, the applicant's rating; a payment's refund_of and
--    initiated_at, and latency_ms null when nothing was waited for (cash).
-- 2. A current-state table per payment transaction, ``payments``, like ``dossiers`` and
--    ``incidents``: a pending transaction has two events and one row, so the KPIs count
--    each transaction once, by its final state.
-- 3. Reference tables loaded by ``ioc db migrate`` (ioc/domain/names.py, ioc/domain/targets.py):
--    ``display_names`` and ``province_targets``; and the criteria of Decision 766/QĐ-TTg,
--    fixed here.
-- 4. The payment rollups are redefined to count transactions once (``payments`` = settled
--    ones; ``pending`` is the flow of transactions that went through pending), with the
--    payment method on failures and a latency count for means that leave cash out; a new
--    rollup ``dossier_sectors_1h``. (0008_province_realism.timescale.sql turns them into
--    continuous aggregates.)
-- 5. KPI functions: ``field_report_kpis`` (the one definition of "on time" for field reports,
--    which ``kpi_incidents`` and the panels share), ``kpi_payments`` on the transactions,
--    ``kpi_band`` (stat colours from the province's target and the sampling spread), and the
--    Decision 766 index (``service_index_rates``, ``service_index``, ``service_index_scores``).

-- ---------------------------------------------------------------------------------------
-- 1. Event fields (added in the models' order, after the existing ones)
-- ---------------------------------------------------------------------------------------

ALTER TABLE dossier_events
    ADD COLUMN sector text,
    ADD COLUMN files_digitised boolean,
    ADD COLUMN data_reused boolean,
    ADD COLUMN status_published boolean,
    ADD COLUMN result_digitised boolean,
    ADD COLUMN satisfaction smallint;

ALTER TABLE dossiers
    ADD COLUMN sector text,
    ADD COLUMN files_digitised boolean,
    ADD COLUMN data_reused boolean,
    ADD COLUMN status_published boolean,
    ADD COLUMN result_digitised boolean,
    ADD COLUMN satisfaction smallint;

ALTER TABLE payment_events
    ALTER COLUMN latency_ms DROP NOT NULL,
    ADD COLUMN refund_of text,
    ADD COLUMN initiated_at timestamptz;

-- Exactly once (0006) keeps a digest of every column of a stored event: those of the events
-- stored before the columns above existed are computed again, with the same statement as
-- 0006's, so that such an event redelivered now is still a duplicate, not a conflict.
SET LOCAL timezone = 'UTC';
DO $$
DECLARE
    feed text;
    columns text;
BEGIN
    FOREACH feed IN ARRAY ARRAY['dossier', 'payment'] LOOP
        SELECT string_agg(format('e.%I', column_name), ', ' ORDER BY ordinal_position)
        INTO columns
        FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = feed || '_events'
          AND column_name <> 'ingested_at';
        EXECUTE format(
            'UPDATE event_ids AS i SET digest = md5(%L || '':'' || ROW(%s)::text)::uuid '
            'FROM %I e WHERE e.event_id = i.event_id AND e.occurred_at = i.occurred_at',
            feed, columns, feed || '_events');
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------
-- 2. Payment transactions: the latest state of each, by occurred_at (not by arrival)
-- ---------------------------------------------------------------------------------------

CREATE FUNCTION payment_status_rank(status text) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'pending' THEN 1 WHEN 'success' THEN 2 WHEN 'failed' THEN 2 WHEN 'refunded' THEN 2
        ELSE 0 END::smallint
$$;

CREATE TABLE payments (
    transaction_id  text PRIMARY KEY,
    province        text NOT NULL,
    district        text NOT NULL,
    sector          text NOT NULL,
    method          text NOT NULL,
    channel         text NOT NULL,
    gateway         text NOT NULL,
    amount_vnd      bigint NOT NULL,
    status          text NOT NULL,
    latency_ms      integer,
    error_code      text,
    dossier_id      text,
    refund_of       text,
    initiated_at    timestamptz,
    finished_at     timestamptz,
    last_event_id   uuid NOT NULL,
    last_event_at   timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_pending ON payments (province, last_event_at) WHERE finished_at IS NULL;
CREATE INDEX payments_finished ON payments (province, finished_at);
CREATE INDEX payments_refund_of ON payments (refund_of) WHERE refund_of IS NOT NULL;

-- field_report_kpis reads the reports that fell due in a period
CREATE INDEX incidents_due ON incidents (province, due_at);

-- the transactions stored before this migration
INSERT INTO payments (transaction_id, province, district, sector, method, channel, gateway,
                      amount_vnd, status, latency_ms, error_code, dossier_id, refund_of,
                      initiated_at, finished_at, last_event_id, last_event_at)
SELECT DISTINCT ON (transaction_id)
    transaction_id, province, district, sector, method, channel, gateway, amount_vnd, status,
    latency_ms, error_code, dossier_id, refund_of, initiated_at,
    CASE WHEN status IN ('success', 'failed', 'refunded') THEN occurred_at END,
    event_id, occurred_at
FROM payment_events
ORDER BY transaction_id, occurred_at DESC, payment_status_rank(status) DESC;

-- Open pending transactions now, for the payments wall screen.
CREATE VIEW payment_pending AS
SELECT
    p.transaction_id,
    p.province,
    p.district,
    p.sector,
    p.method,
    p.gateway,
    p.amount_vnd,
    p.last_event_at AS pending_since,
    now() - p.last_event_at AS age
FROM payments AS p
WHERE p.finished_at IS NULL;

-- ---------------------------------------------------------------------------------------
-- 3. Reference data
-- ---------------------------------------------------------------------------------------

-- Loaded by `ioc db migrate` from ioc/domain/names.py: the names the wall screens show for codes.
CREATE TABLE display_names (
    kind      text NOT NULL,
    code      text NOT NULL,
    name_vi   text NOT NULL,
    name_en   text NOT NULL,
    position  integer NOT NULL,
    PRIMARY KEY (kind, code)
);

CREATE FUNCTION vi_name(p_kind text, p_code text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT n.name_vi FROM display_names AS n WHERE n.kind = p_kind AND n.code = p_code),
        p_code, 'Chưa phân loại')
$$;

CREATE FUNCTION name_order(p_kind text, p_code text) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT n.position FROM display_names AS n WHERE n.kind = p_kind AND n.code = p_code),
        1000)
$$;

-- Loaded by `ioc db migrate` from ioc/domain/targets.py: each province's published figure or the
-- stated assumption, per KPI.
CREATE TABLE province_targets (
    province   text NOT NULL REFERENCES provinces (code),
    kpi        text NOT NULL,
    target     double precision NOT NULL,
    published  boolean NOT NULL,
    source     text NOT NULL,
    PRIMARY KEY (province, kpi)
);

CREATE FUNCTION province_target(p_province text, p_kpi text) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT t.target FROM province_targets AS t WHERE t.province = p_province AND t.kpi = p_kpi
$$;

-- The criteria of Decision 766/QĐ-TTg (23/6/2022), "Bộ chỉ số chỉ đạo, điều hành và đánh
-- giá chất lượng phục vụ người dân, doanh nghiệp trong thực hiện thủ tục hành chính, dịch vụ
-- công theo thời gian thực trên môi trường điện tử": five criteria of 18, 20, 22, 22 and 18
-- points (100 in all), each the sum of its sub-criteria's points, a sub-criterion scoring
-- max_points x its rate (capped at 1; ``full_at``: the rate that earns full points).
--
-- From the decision: the five criteria and their maxima; the sub-criteria of publicity
-- (procedures announced on time, updated and published on time, published with full
-- content, dossiers synchronised to the national portal), progress (dossiers resolved early
-- or on time), digitisation (results issued electronically, dossiers and results digitised,
-- digitised data reused), online service (procedures offered online, procedures with online
-- dossiers, online dossiers, online payment) and satisfaction (field reports handled on
-- time, satisfaction with their handling, satisfaction with the handling of dossiers, 6
-- points each); "procedures updated and published on time" worth 4 points.
--
-- Approximated here (README, "Decision 766 index"):
--   - the split of publicity, digitisation and online service between their sub-criteria
--     (4/4/4/6, 8/8/6, 4/4/8/6) is ours, the summaries we could read give only the totals;
--   - every sub-criterion scores linearly (full_at = 1), where the decision scores some
--     against the period's targets of Resolution 76/NQ-CP;
--   - P1-P3 and O1 are about procedures, not dossiers: no feed carries them, so they are the
--     province's figure in province_targets (published where it exists: Ba Ria-Vung Tau's
--     100% of procedures online; otherwise an assumption);
--   - S1 and S2 are the "phản ánh, kiến nghị" (feedback on administrative regulations and
--     procedures); the citizens' field reports (phản ánh hiện trường) stand in for them,
--     and an agency level's row carries the province's field-report figures;
--   - S3 counts a resolved dossier as not satisfied when it was late or rated 1-2 out of 5
--     (the decision: "rated not satisfied, or complained about, or overdue");
--   - R1, S3 and D1 are over the dossiers resolved in the period, the others over those
--     submitted in it.
CREATE TABLE service_index_criteria (
    code        text PRIMARY KEY,
    criterion   text NOT NULL,
    name_vi     text NOT NULL,
    max_points  double precision NOT NULL,
    full_at     double precision NOT NULL DEFAULT 1,
    measured    text NOT NULL CHECK (measured IN ('data', 'province_target')),
    position    integer NOT NULL
);
INSERT INTO service_index_criteria (code, criterion, name_vi, max_points, measured, position)
VALUES
    ('P1', 'publicity', 'Tỷ lệ TTHC công bố đúng hạn', 4, 'province_target', 1),
    ('P2', 'publicity', 'Tỷ lệ TTHC được cập nhật, công khai đúng hạn', 4, 'province_target', 2),
    ('P3', 'publicity', 'Tỷ lệ TTHC công khai đầy đủ nội dung', 4, 'province_target', 3),
    ('P4', 'publicity', 'Tỷ lệ hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia', 6, 'data', 4),
    ('R1', 'progress', 'Tỷ lệ hồ sơ giải quyết trước hạn, đúng hạn', 20, 'data', 5),
    ('D1', 'digitisation', 'Tỷ lệ cấp kết quả giải quyết TTHC điện tử', 8, 'data', 6),
    ('D2', 'digitisation', 'Tỷ lệ số hóa hồ sơ, kết quả giải quyết TTHC', 8, 'data', 7),
    ('D3', 'digitisation', 'Tỷ lệ khai thác, sử dụng lại dữ liệu số hóa', 6, 'data', 8),
    ('O1', 'online', 'Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến', 4, 'province_target', 9),
    ('O2', 'online', 'Tỷ lệ TTHC có phát sinh hồ sơ trực tuyến', 4, 'data', 10),
    ('O3', 'online', 'Tỷ lệ hồ sơ trực tuyến', 8, 'data', 11),
    ('O4', 'online', 'Tỷ lệ thanh toán trực tuyến', 6, 'data', 12),
    ('S1', 'satisfaction', 'Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn', 6, 'data', 13),
    ('S2', 'satisfaction', 'Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị', 6, 'data', 14),
    ('S3', 'satisfaction', 'Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC', 6, 'data', 15);

-- ---------------------------------------------------------------------------------------
-- 4. Rollups: the payment ones redefined, dossiers by sector (see ioc/storage/rollups.py)
-- ---------------------------------------------------------------------------------------

-- On TimescaleDB the old ones are continuous aggregates, on plain PostgreSQL tables.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['payment_sectors_1h', 'payment_methods_1h',
                                'payment_gateways_1h', 'payment_failures_1h'] LOOP
        IF (SELECT relkind FROM pg_class WHERE oid = to_regclass(name)) = 'r' THEN
            EXECUTE format('DROP TABLE %I', name);
        ELSE
            EXECUTE format('DROP MATERIALIZED VIEW %I', name);
        END IF;
    END LOOP;
END
$$;

CREATE TABLE payment_sectors_1h (
    bucket        timestamptz NOT NULL,
    province      text NOT NULL,
    district      text NOT NULL,
    sector        text NOT NULL,
    channel       text NOT NULL,
    payments      bigint NOT NULL,   -- settled transactions (success or failed), once each
    succeeded     bigint NOT NULL,
    failed        bigint NOT NULL,
    cashless      bigint NOT NULL,   -- succeeded with a method other than cash
    amount_vnd    numeric NOT NULL,  -- of the succeeded ones
    refunded      bigint NOT NULL,   -- refund transactions
    refunded_vnd  numeric NOT NULL,
    PRIMARY KEY (province, bucket, district, sector, channel)
);

CREATE TABLE payment_methods_1h (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    method      text NOT NULL,
    channel     text NOT NULL,
    payments    bigint NOT NULL,
    succeeded   bigint NOT NULL,
    failed      bigint NOT NULL,
    amount_vnd  numeric NOT NULL,
    PRIMARY KEY (province, bucket, district, method, channel)
);

CREATE TABLE payment_gateways_1h (
    bucket            timestamptz NOT NULL,
    province          text NOT NULL,
    district          text NOT NULL,
    gateway           text NOT NULL,
    payments          bigint NOT NULL,
    succeeded         bigint NOT NULL,
    failed            bigint NOT NULL,
    pending           bigint NOT NULL,   -- transactions that went pending (settled later)
    refunded          bigint NOT NULL,
    latency_ms_sum    bigint,            -- over the events with a latency (none for cash)
    latency_ms_count  bigint NOT NULL,
    latency_ms_max    integer,
    slow              bigint NOT NULL,   -- took longer than 3 seconds
    PRIMARY KEY (province, bucket, district, gateway)
);

CREATE TABLE payment_failures_1h (
    bucket      timestamptz NOT NULL,
    province    text NOT NULL,
    district    text NOT NULL,
    gateway     text NOT NULL,
    method      text NOT NULL,
    error_code  text NOT NULL,
    failures    bigint NOT NULL,
    PRIMARY KEY (province, bucket, district, gateway, method, error_code)
);

-- sector is null for dossiers of systems that do not send it: no primary key
CREATE TABLE dossier_sectors_1h (
    bucket            timestamptz NOT NULL,
    province          text NOT NULL,
    district          text NOT NULL,
    sector            text,
    agency_level      text NOT NULL,
    received          bigint NOT NULL,
    resolved_early    bigint NOT NULL,
    resolved_on_time  bigint NOT NULL,
    resolved_late     bigint NOT NULL,
    rejected          bigint NOT NULL
);
CREATE INDEX dossier_sectors_1h_bucket ON dossier_sectors_1h (province, bucket);

-- Recompute the rollups of both sources at the next refresh (plain PostgreSQL): the new and
-- redefined ones start empty.
DELETE FROM rollup_watermarks WHERE source IN ('payment_events', 'dossier_events');

-- ---------------------------------------------------------------------------------------
-- 5. KPI functions
-- ---------------------------------------------------------------------------------------

-- Stat colours. A KPI is on target (green) when it is within the band of its province's
-- target: 2 points (the tolerance the simulated provinces are calibrated to, over a week)
-- plus 3 standard errors of a share measured on p_n items at the target rate, so sampling
-- noise alone does not leave the green band (3 sigma: about 1 window in 700). Up to 5 points
-- past the band it is orange, further red; blue when there is nothing to judge.
CREATE FUNCTION kpi_band_width(p_target double precision, p_n bigint)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 0.02 + 3 * sqrt(greatest(p_target * (1 - p_target), 0) / greatest(p_n, 1))
$$;

CREATE FUNCTION kpi_band(
    p_value double precision, p_target double precision, p_n bigint,
    p_higher_is_better boolean DEFAULT true
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN p_value IS NULL OR p_target IS NULL OR coalesce(p_n, 0) = 0 THEN 'blue'
        WHEN shortfall <= width THEN 'green'
        WHEN shortfall <= width + 0.05 THEN 'orange'
        ELSE 'red'
    END
    FROM (SELECT CASE WHEN p_higher_is_better THEN p_target - p_value
                      ELSE p_value - p_target END AS shortfall,
                 kpi_band_width(p_target, p_n) AS width) AS b
$$;

-- Field reports of a province (some districts, or all: NULL) over [p_from, p_to), as of
-- p_to: one row per district and one for them all (district NULL). Counts are of the reports
-- received in the period. "On time" is the one definition that kpi_incidents, the alert rules
-- and the panels share: of the reports that fell due in the period and were not rejected, the
-- share resolved by their deadline; one still open past it is late (so an overdue backlog
-- shows at once, not only when it is finally cleared). Satisfied (Decision 766's "tỷ lệ hài
-- lòng trong xử lý phản ánh"): of the same reports, the share resolved on time and not rated
-- 1 or 2 out of 5.
CREATE FUNCTION field_report_kpis(
    p_province text, p_districts text[], p_from timestamptz, p_to timestamptz
) RETURNS TABLE (
    district         text,
    reports          bigint,
    rejected         bigint,
    hotline_reports  bigint,
    open_reports     bigint,
    overdue_reports  bigint,
    due_reports      bigint,
    on_time_rate     double precision,
    satisfied_share  double precision,
    satisfaction     double precision
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH i AS (
        SELECT i.*,
               i.reported_at >= p_from AND i.reported_at < p_to AS received_in,
               i.due_at >= p_from AND i.due_at < p_to AND i.status <> 'rejected' AS due_in
        FROM incidents AS i
        WHERE i.province = p_province
          AND (p_districts IS NULL OR i.district = ANY (p_districts))
          AND ((i.reported_at >= p_from AND i.reported_at < p_to)
               OR (i.due_at >= p_from AND i.due_at < p_to))
    )
    SELECT
        i.district,
        count(*) FILTER (WHERE received_in),
        count(*) FILTER (WHERE received_in AND i.status = 'rejected' AND i.finished_at < p_to),
        count(*) FILTER (WHERE received_in AND i.channel = 'hotline_1022'),
        count(*) FILTER (WHERE received_in AND (i.finished_at IS NULL OR i.finished_at >= p_to)),
        count(*) FILTER (WHERE received_in AND (i.finished_at IS NULL OR i.finished_at >= p_to)
                         AND i.due_at < p_to),
        count(*) FILTER (WHERE due_in),
        count(*) FILTER (WHERE due_in AND i.finished_at <= i.due_at)::double precision
            / nullif(count(*) FILTER (WHERE due_in), 0),
        count(*) FILTER (WHERE due_in AND i.finished_at <= i.due_at
                         AND coalesce(i.satisfaction, 5) > 2)::double precision
            / nullif(count(*) FILTER (WHERE due_in), 0),
        avg(i.satisfaction) FILTER (WHERE received_in AND i.finished_at < p_to)::double precision
    FROM i
    GROUP BY GROUPING SETS ((), (i.district))
$$;

CREATE OR REPLACE FUNCTION kpi_incidents(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, reports bigint, open_reports bigint, overdue_reports bigint,
               on_time_rate double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT p.code, k.reports, k.open_reports, k.overdue_reports, k.on_time_rate
    FROM provinces AS p
    CROSS JOIN LATERAL field_report_kpis(p.code, NULL, p_from, p_to) AS k
    WHERE k.district IS NULL AND k.reports > 0
$$;

-- Dossiers per province over [p_from, p_to), as of p_to. Shares are of the dossiers
-- submitted in the period; the on-time rate, as the provinces report it, is of the dossiers
-- resolved in the period (rejected ones left out): the share resolved by their due date.
-- (Counting the dossiers submitted in the period and due by p_to instead, as 0002 did, leaves
-- out the longer procedures -- land, construction -- that are not due yet, and those are where
-- the late ones are.) The portals' formula, which counts the overdue backlog too, is
-- dossier_period_kpis; late_rate here is unchanged.
CREATE OR REPLACE FUNCTION kpi_dossiers(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, dossiers bigint, online_share double precision,
               fully_online_share_of_online double precision, on_time_rate double precision,
               late_rate double precision)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH d AS (
        SELECT d.*,
               d.submitted_at >= p_from AND d.submitted_at < p_to AS submitted_in,
               d.status = 'resolved' AND d.finished_at >= p_from AND d.finished_at < p_to
                   AS resolved_in
        FROM dossiers AS d
        WHERE (d.submitted_at >= p_from AND d.submitted_at < p_to)
           OR (d.finished_at >= p_from AND d.finished_at < p_to)
    )
    SELECT
        d.province,
        count(*) FILTER (WHERE submitted_in),
        avg((d.channel <> 'in_person')::int) FILTER (WHERE submitted_in)::double precision,
        sum((d.channel = 'fully_online')::int) FILTER (WHERE submitted_in)::double precision
            / nullif(sum((d.channel <> 'in_person')::int) FILTER (WHERE submitted_in), 0),
        count(*) FILTER (WHERE resolved_in AND d.finished_at <= d.due_at)::double precision
            / nullif(count(*) FILTER (WHERE resolved_in), 0),
        count(*) FILTER (WHERE submitted_in AND d.status <> 'rejected' AND d.due_at < p_to
                         AND (d.finished_at IS NULL OR d.finished_at > d.due_at))::double precision
            / nullif(count(*) FILTER (WHERE submitted_in), 0)
    FROM d
    GROUP BY d.province
$$;

-- Payments per province over [p_from, p_to), as of p_to, on the transactions (each once,
-- by its final state, when it reached it): a pending one counts when it settles, a refund
-- is not a payment (refunds: counted apart).
--   online_payment_rate   of the public-service fees paid successfully, the share paid
--                         online (a failed attempt is retried, so only successes count)
--   cashless_share        of the successful payments, the share not paid in cash
--   utility_online_share  of the successful electricity, water and telecom payments, the
--                         share paid online
--   success_rate          success / (success + failed)
DROP VIEW province_payment_kpis;
DROP FUNCTION kpi_payments(timestamptz, timestamptz);
CREATE FUNCTION kpi_payments(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (province text, payments bigint, online_payment_rate double precision,
               cashless_share double precision, success_rate double precision,
               amount_vnd numeric, utility_online_share double precision, refunds bigint,
               pending_now bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH t AS (
        SELECT p.*, p.finished_at >= p_from AND p.finished_at < p_to AS settled_in
        FROM payments AS p
        WHERE (p.finished_at >= p_from AND p.finished_at < p_to)
           OR (p.finished_at IS NULL OR p.finished_at >= p_to)
              AND coalesce(p.initiated_at, p.last_event_at) < p_to
    )
    SELECT
        t.province,
        count(*) FILTER (WHERE settled_in AND t.status IN ('success', 'failed')),
        count(*) FILTER (WHERE settled_in AND t.sector = 'public_service'
                         AND t.status = 'success' AND t.channel = 'online')::double precision
            / nullif(count(*) FILTER (WHERE settled_in AND t.sector = 'public_service'
                                      AND t.status = 'success'), 0),
        count(*) FILTER (WHERE settled_in AND t.status = 'success'
                         AND t.method <> 'cash')::double precision
            / nullif(count(*) FILTER (WHERE settled_in AND t.status = 'success'), 0),
        count(*) FILTER (WHERE settled_in AND t.status = 'success')::double precision
            / nullif(count(*) FILTER (WHERE settled_in AND t.status IN ('success', 'failed')),
                     0),
        sum(t.amount_vnd) FILTER (WHERE settled_in AND t.status = 'success'),
        count(*) FILTER (WHERE settled_in AND t.status = 'success' AND t.channel = 'online'
                         AND t.sector IN ('electricity', 'water', 'telecom'))::double precision
            / nullif(count(*) FILTER (WHERE settled_in AND t.status = 'success'
                                      AND t.sector IN ('electricity', 'water', 'telecom')), 0),
        count(*) FILTER (WHERE settled_in AND t.status = 'refunded'),
        count(*) FILTER (WHERE NOT coalesce(settled_in, false))
    FROM t
    GROUP BY t.province
$$;
CREATE VIEW province_payment_kpis AS SELECT * FROM kpi_payments('-infinity', now());

-- The rates of Decision 766's data-measured sub-criteria for a province over [p_from,
-- p_to), as of p_to, one row per agency level and one for the whole province (agency_level
-- NULL). Dossiers: those submitted in the period, except R1 and S3 (and D1), which are of the
-- dossiers resolved in the period (as kpi_dossiers' on-time rate). Field reports:
-- field_report_kpis.
CREATE FUNCTION service_index_rates(p_province text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    agency_level              text,
    dossiers                  bigint,
    status_published          double precision,  -- P4
    on_time                   double precision,  -- R1
    result_digitised          double precision,  -- D1
    files_digitised           double precision,  -- D2
    data_reused               double precision,  -- D3
    procedures_with_online    double precision,  -- O2
    online                    double precision,  -- O3
    paid_online               double precision,  -- O4
    reports_on_time           double precision,  -- S1
    reports_satisfied         double precision,  -- S2
    dossiers_satisfied        double precision   -- S3
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH d AS (
        SELECT d.*,
               d.submitted_at >= p_from AND d.submitted_at < p_to AS s,
               d.status = 'resolved' AND d.finished_at >= p_from AND d.finished_at < p_to AS r
        FROM dossiers AS d
        WHERE d.province = p_province
          AND ((d.submitted_at >= p_from AND d.submitted_at < p_to)
               OR (d.finished_at >= p_from AND d.finished_at < p_to))
    ), levels AS (
        SELECT
            d.agency_level,
            count(*) FILTER (WHERE s) AS dossiers,
            avg(d.status_published::int) FILTER (WHERE s)::double precision AS status_published,
            count(*) FILTER (WHERE r AND d.finished_at <= d.due_at)::double precision
                / nullif(count(*) FILTER (WHERE r), 0) AS on_time,
            avg(d.result_digitised::int) FILTER (WHERE r)::double precision AS result_digitised,
            avg(d.files_digitised::int) FILTER (WHERE s)::double precision AS files_digitised,
            avg(d.data_reused::int) FILTER (WHERE s)::double precision AS data_reused,
            count(DISTINCT d.procedure_code) FILTER (WHERE s AND d.channel <> 'in_person')
                ::double precision
                / nullif(count(DISTINCT d.procedure_code) FILTER (WHERE s), 0)
                AS procedures_with_online,
            avg((d.channel <> 'in_person')::int) FILTER (WHERE s)::double precision AS online,
            avg(d.fee_paid_online::int) FILTER (WHERE s AND d.fee_vnd > 0)::double precision
                AS paid_online,
            count(*) FILTER (WHERE r AND d.finished_at <= d.due_at
                             AND coalesce(d.satisfaction, 5) > 2)::double precision
                / nullif(count(*) FILTER (WHERE r), 0) AS dossiers_satisfied
        FROM d
        GROUP BY GROUPING SETS ((), (d.agency_level))
    ), reports AS (
        SELECT k.on_time_rate, k.satisfied_share
        FROM field_report_kpis(p_province, NULL, p_from, p_to) AS k
        WHERE k.district IS NULL
    )
    SELECT l.agency_level, l.dossiers, l.status_published, l.on_time, l.result_digitised,
           l.files_digitised, l.data_reused, l.procedures_with_online, l.online,
           l.paid_online, r.on_time_rate, r.satisfied_share, l.dossiers_satisfied
    FROM levels AS l LEFT JOIN reports AS r ON true
$$;

-- Each sub-criterion's rate and points: one row per agency level (NULL: the province) and
-- sub-criterion. A sub-criterion without data scores no points.
CREATE FUNCTION service_index(p_province text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    agency_level  text,
    criterion     text,
    code          text,
    name_vi       text,
    rate          double precision,
    max_points    double precision,
    points        double precision,
    dossiers      bigint
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.agency_level, c.criterion, c.code, c.name_vi, v.rate, c.max_points,
           coalesce(c.max_points * least(1.0, v.rate / c.full_at), 0), r.dossiers
    FROM service_index_rates(p_province, p_from, p_to) AS r
    CROSS JOIN service_index_criteria AS c
    CROSS JOIN LATERAL (
        SELECT CASE c.code
            WHEN 'P1' THEN province_target(p_province, 'procedures_published_on_time')
            WHEN 'P2' THEN province_target(p_province, 'procedures_updated_on_time')
            WHEN 'P3' THEN province_target(p_province, 'procedures_full_content')
            WHEN 'P4' THEN r.status_published
            WHEN 'R1' THEN r.on_time
            WHEN 'D1' THEN r.result_digitised
            WHEN 'D2' THEN r.files_digitised
            WHEN 'D3' THEN r.data_reused
            WHEN 'O1' THEN province_target(p_province, 'procedures_online_share')
            WHEN 'O2' THEN r.procedures_with_online
            WHEN 'O3' THEN r.online
            WHEN 'O4' THEN r.paid_online
            WHEN 'S1' THEN r.reports_on_time
            WHEN 'S2' THEN r.reports_satisfied
            WHEN 'S3' THEN r.dossiers_satisfied
        END AS rate
    ) AS v
    WHERE r.dossiers > 0
$$;

-- The index and its five criteria, per agency level (NULL: the province).
CREATE FUNCTION service_index_scores(p_province text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (
    agency_level  text,
    publicity     double precision,
    progress      double precision,
    digitisation  double precision,
    online        double precision,
    satisfaction  double precision,
    total         double precision,
    dossiers      bigint
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT
        s.agency_level,
        sum(s.points) FILTER (WHERE s.criterion = 'publicity'),
        sum(s.points) FILTER (WHERE s.criterion = 'progress'),
        sum(s.points) FILTER (WHERE s.criterion = 'digitisation'),
        sum(s.points) FILTER (WHERE s.criterion = 'online'),
        sum(s.points) FILTER (WHERE s.criterion = 'satisfaction'),
        sum(s.points),
        max(s.dossiers)
    FROM service_index(p_province, p_from, p_to) AS s
    GROUP BY s.agency_level
$$;

-- ---------------------------------------------------------------------------------------
-- Grants
-- ---------------------------------------------------------------------------------------

GRANT SELECT, INSERT, UPDATE ON payments TO ioc_ingester;
GRANT SELECT ON display_names, province_targets, service_index_criteria TO ioc_ingester;
-- the rollups: no write right for the ingester, whose refresher recomputes them only through
-- the owner's functions of 0007_rollup_refresh.sql

GRANT SELECT ON payments, payment_pending, display_names, province_targets,
    service_index_criteria, province_payment_kpis TO ioc_alerter;

GRANT SELECT ON payment_sectors_1h, payment_methods_1h, payment_gateways_1h,
    payment_failures_1h, dossier_sectors_1h, payment_pending, display_names,
    province_targets, service_index_criteria, province_payment_kpis TO ioc_grafana;

REVOKE EXECUTE ON FUNCTION kpi_payments(timestamptz, timestamptz),
    field_report_kpis(text, text[], timestamptz, timestamptz),
    service_index_rates(text, timestamptz, timestamptz),
    service_index(text, timestamptz, timestamptz),
    service_index_scores(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION kpi_payments(timestamptz, timestamptz),
    field_report_kpis(text, text[], timestamptz, timestamptz),
    service_index_rates(text, timestamptz, timestamptz),
    service_index(text, timestamptz, timestamptz),
    service_index_scores(text, timestamptz, timestamptz) TO ioc_alerter, ioc_grafana;
