"""Prometheus metrics of the alerter (served on /metrics by ``ioc alert run``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVALUATIONS = Counter(
    "ioc_alert_rule_evaluations", "Rule evaluations (one KPI query each)", ["rule"]
)
EVALUATION_ERRORS = Counter(
    "ioc_alert_rule_evaluation_errors", "Rule evaluations that failed (rule skipped)", ["rule"]
)
TRANSITIONS = Counter(
    "ioc_alert_transitions", "Alert state transitions", ["rule", "state_from", "state_to"]
)
ALERTS = Gauge("ioc_alerts", "Alerts by state after the last pass", ["state"])
PASS_SECONDS = Histogram(
    "ioc_alert_pass_seconds",
    "Time of one evaluation pass (all rules, state saved)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
NOTIFICATIONS = Counter(
    "ioc_alert_notification_attempts",
    "Notification attempts by channel type and outcome (sent, retried, failed)",
    ["channel_type", "outcome"],
)
MUTED = Counter("ioc_alert_muted", "Alerts left out of a notification, by muter", ["muter"])
DATABASE_UP = Gauge("ioc_alert_database_connected", "1 when the last pass reached the database")
DATA_LAG = Gauge(
    "ioc_alert_data_complete_lag_seconds",
    "How far behind the pass's now the stored data is complete (-1: nothing complete yet); "
    "past IOC_ALERT_DATA_ALLOWANCE_SECONDS the pass judges nothing",
)
