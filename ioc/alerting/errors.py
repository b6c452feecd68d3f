"""The alerting package's errors.

    AlertingError
    ├── ConfigError                a rule or subscriber file that does not validate; the
    │   │                          message names the file, the rule (or subscriber) and the field
    │   ├── RuleFileError
    │   └── SubscriberFileError
    ├── KpiError                   a KPI query failed for a reason other than the database
    │                              being away (a bug or a schema mismatch): that rule is skipped
    ├── AlertStoreUnavailable      the database cannot be reached now; the pass is retried later
    └── NotifyError                one notification attempt failed
        ├── RetryableNotifyError   worth another attempt: HTTP 5xx or 429, a timeout, a refused
        │                          connection, an SMTP 4xx reply, a broker that went away
        └── PermanentNotifyError   the same request would fail again: HTTP 4xx, SMTP 5xx, a
                                   refused recipient

A notifier raises a ``NotifyError`` saying which kind it is; it never sleeps or retries by
itself. Only the retry stage (``ioc.alerting.notify.retry``) owns the backoff policy.
"""

from __future__ import annotations


class AlertingError(Exception):
    """Base of the alerting errors."""


class ConfigError(AlertingError):
    """A configuration file that does not validate."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RuleFileError(ConfigError):
    """A rule file that does not validate; each problem names the rule and the field."""


class SubscriberFileError(ConfigError):
    """A subscriber file that does not validate; each problem names the subscriber and field."""


class KpiError(AlertingError):
    """A KPI query failed (not because the database is away)."""


class AlertStoreUnavailable(AlertingError):
    """The database is unreachable or refusing connections for now."""


class NotifyError(AlertingError):
    """A notification attempt failed."""

    retryable: bool = False


class RetryableNotifyError(NotifyError):
    """Another attempt may succeed (5xx, 429, timeout, connection refused, SMTP 4xx)."""

    retryable = True


class PermanentNotifyError(NotifyError):
    """Another attempt would fail the same way (4xx, SMTP 5xx, refused recipient)."""

    retryable = False
