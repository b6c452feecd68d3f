"""Threshold alerts on the stored KPIs, and notifications to subscribers.

rules.py        the YAML rule model (strict) and its loader
yamlfile.py     strict YAML reading (a key given twice is an error) for rules and subscribers
kpis.py         the registry of named, parameterised KPI queries a rule may use
evaluate.py     pure evaluation: (rule, state, value, now) -> (new state, EvaluationReason)
schedule.py     office hours (Asia/Ho_Chi_Minh) for rules judged only then
templates.py    annotation templates ({value}, {threshold}, {province_name}, ...)
alert.py        ``Alert``: one alert as the notifiers see it
labels.py       labels, their fingerprint, matchers (``gateway=vnpay``, ``rule=~"payment-.*"``)
store.py        the alert store (PostgreSQL): alert states, transitions, silences, notification log
subscribers.py  the YAML subscriber model: matchers, grouping, channels
notify/         the notification pipeline and the webhook, e-mail and MQTT notifiers
engine.py       the alerter: evaluation passes and dispatch
service.py      wiring from the settings, signals (``ioc.runtime.stop_on_signals``)
metrics.py      the alerter's Prometheus metrics
errors.py       the alerting errors

The commands are ``ioc.cli.alerting``; the clock is ``ioc.runtime``'s (one reader of the wall
clock, a test passes its own).
"""

from ioc.alerting.alert import Alert
from ioc.alerting.engine import Alerter, PassResult
from ioc.alerting.errors import (
    AlertingError,
    AlertStoreUnavailable,
    ConfigError,
    KpiError,
    NotifyError,
    PermanentNotifyError,
    RetryableNotifyError,
    RuleFileError,
    SubscriberFileError,
)
from ioc.alerting.evaluate import AlertStatus, EvaluationReason, Outcome, State, evaluate
from ioc.alerting.kpis import KPIS, KpiQuery, Sample
from ioc.alerting.rules import DEFAULT_RULES_FILE, Rule, load_rules
from ioc.alerting.store import AlertStore, Silence
from ioc.alerting.subscribers import Subscriber, load_subscribers
from ioc.runtime import SYSTEM_CLOCK, Clock, SystemClock

__all__ = [
    "DEFAULT_RULES_FILE",
    "KPIS",
    "SYSTEM_CLOCK",
    "Alert",
    "AlertStatus",
    "AlertStore",
    "AlertStoreUnavailable",
    "Alerter",
    "AlertingError",
    "Clock",
    "ConfigError",
    "EvaluationReason",
    "KpiError",
    "KpiQuery",
    "NotifyError",
    "Outcome",
    "PassResult",
    "PermanentNotifyError",
    "RetryableNotifyError",
    "Rule",
    "RuleFileError",
    "Sample",
    "Silence",
    "State",
    "Subscriber",
    "SubscriberFileError",
    "SystemClock",
    "evaluate",
    "load_rules",
    "load_subscribers",
]
