-- Alerting: the state of every alert, its transitions, silences, and the notification log.
--
-- Written by the alerter (`ioc alert run`, role ioc_alerter) and by operators through
-- `ioc alerts silence ...` and `ioc alerts ack ...`; read by Grafana (role ioc_grafana)
-- through alert_events (annotations, history) and the alerts_firing view (the wall screen's
-- table of what is wrong now).
--
-- One alert is one rule and one label set (its fingerprint, a hash of the rule name and the
-- group_by labels). Its timers live in alert_states, so a restarted alerter neither forgets a
-- pending alert nor notifies a firing one again; what each subscriber was told lives in
-- notification_state for the same reason.

CREATE TABLE alert_states (
    rule            text NOT NULL,
    fingerprint     text NOT NULL,
    labels          jsonb NOT NULL,        -- group_by labels, rule labels, rule, severity
    province        text NOT NULL,
    district        text,
    severity        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
    reason          text NOT NULL,         -- why the last evaluation left it in this state
    active_since    timestamptz,           -- the condition has been met since (pending began)
    firing_since    timestamptz,
    resolved_at     timestamptz,
    cleared_since   timestamptz,           -- firing, condition not met since (keep_firing_for)
    last_value      double precision,
    op              text NOT NULL,         -- the rule's comparison: < <= > >=
    threshold       double precision NOT NULL,
    unit            text NOT NULL,         -- ratio | count | factor (how to show the value)
    last_evaluated  timestamptz NOT NULL,
    summary         text NOT NULL,         -- Vietnamese, rendered at the last evaluation
    summary_en      text NOT NULL,
    description     text,
    description_en  text,
    silenced_by     uuid,                  -- an active silence that matches it, if any
    acked_at        timestamptz,           -- acknowledged by an operator (until it resolves)
    acked_by        text,
    ack_comment     text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule, fingerprint)
);
CREATE INDEX alert_states_state ON alert_states (state);

-- Every transition (inactive -> pending -> firing -> resolved ...), for Grafana annotations
-- and the history table. `time` is the evaluation's time (the alerter's clock).
CREATE TABLE alert_events (
    id           bigserial PRIMARY KEY,
    time         timestamptz NOT NULL,
    rule         text NOT NULL,
    fingerprint  text NOT NULL,
    labels       jsonb NOT NULL,
    province     text NOT NULL,
    district     text,
    severity     text NOT NULL,
    state_from   text NOT NULL,
    state_to     text NOT NULL,
    reason       text NOT NULL,
    value        double precision,
    threshold    double precision NOT NULL,
    summary      text NOT NULL,
    summary_en   text NOT NULL
);
CREATE INDEX alert_events_time ON alert_events (time DESC);
CREATE INDEX alert_events_province_time ON alert_events (province, time DESC);

-- Silences: matchers (Alertmanager syntax, as text) and a time span.
CREATE TABLE silences (
    id          uuid PRIMARY KEY,
    matchers    text[] NOT NULL CHECK (cardinality(matchers) > 0),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);
CREATE INDEX silences_ends ON silences (ends_at);

-- What each subscriber's channel was told about each notification group: the alerts it was
-- told are firing (fingerprint -> firing_since) and when it was last sent.
CREATE TABLE notification_state (
    subscriber    text NOT NULL,
    channel       text NOT NULL,
    group_key     text NOT NULL,
    notified      jsonb NOT NULL,
    last_sent_at  timestamptz NOT NULL,
    PRIMARY KEY (subscriber, channel, group_key)
);

-- Every notification attempt: sent, retried (failed, another attempt follows) or failed
-- (given up). `notification_id` is the same for every attempt of one notification.
CREATE TABLE notification_log (
    id               bigserial PRIMARY KEY,
    time             timestamptz NOT NULL,
    notification_id  uuid NOT NULL,
    subscriber       text NOT NULL,
    channel          text NOT NULL,
    channel_type     text NOT NULL,
    group_key        text NOT NULL,
    status           text NOT NULL,        -- firing | resolved (of the notification)
    reason           text NOT NULL,        -- why it was sent (first, new alerts, resolved, repeat)
    alerts           text[] NOT NULL,      -- rule/fingerprint of the alerts in it
    attempt          integer NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('sent', 'retried', 'failed')),
    error            text
);
CREATE INDEX notification_log_time ON notification_log (time DESC);

-- The wall screen's table: what is firing now, where, since when, acknowledged or silenced.
CREATE VIEW alerts_firing AS
SELECT
    s.rule,
    s.severity,
    s.province,
    p.name_vi AS province_name,
    s.district,
    d.name_vi AS district_name,
    s.labels,
    s.last_value AS value,
    s.threshold,
    s.active_since,
    s.firing_since,
    s.summary,
    s.summary_en,
    s.description,
    s.acked_at IS NOT NULL AS acknowledged,
    s.acked_by,
    s.silenced_by IS NOT NULL AS silenced,
    s.last_evaluated,
    s.fingerprint
FROM alert_states AS s
LEFT JOIN provinces AS p ON p.code = s.province
LEFT JOIN districts AS d ON d.province = s.province AND d.code = s.district
WHERE s.state = 'firing';

GRANT SELECT, INSERT, UPDATE, DELETE ON alert_states TO ioc_alerter;
GRANT SELECT, INSERT ON alert_events TO ioc_alerter;
GRANT USAGE ON SEQUENCE alert_events_id_seq TO ioc_alerter;
GRANT SELECT, INSERT, UPDATE ON silences TO ioc_alerter;
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_state TO ioc_alerter;
GRANT SELECT, INSERT ON notification_log TO ioc_alerter;
GRANT USAGE ON SEQUENCE notification_log_id_seq TO ioc_alerter;
GRANT SELECT ON alerts_firing TO ioc_alerter;

GRANT SELECT ON alert_events, alerts_firing TO ioc_grafana;
