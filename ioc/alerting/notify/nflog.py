"""The notification log: what each channel was told (for dedup) and every attempt made.

``NotificationLog`` keeps ``notification_state`` in memory, loaded once at start and written
through on every successful send, so the dedup decision costs no query and a restarted
alerter knows what it already said. ``AttemptRecorder`` writes every attempt to
``notification_log``, counts it in Prometheus and logs a failure when it changes, not on
every retry.
"""

from __future__ import annotations

import logging

from ioc.alerting import metrics
from ioc.alerting.errors import AlertStoreUnavailable
from ioc.alerting.store import AlertStore, Attempt, GroupLog

log = logging.getLogger(__name__)


class NotificationLog:
    def __init__(self, store: AlertStore) -> None:
        self.store = store
        self._entries: dict[tuple[str, str, str], GroupLog] = {}

    async def load(self) -> None:
        self._entries = await self.store.group_logs()

    def get(self, subscriber: str, channel: str, group_key: str) -> GroupLog | None:
        return self._entries.get((subscriber, channel, group_key))

    async def set(self, subscriber: str, channel: str, group_key: str, entry: GroupLog) -> None:
        await self.store.save_group_log(subscriber, channel, group_key, entry)
        self._entries[(subscriber, channel, group_key)] = entry


class AttemptRecorder:
    def __init__(self, store: AlertStore) -> None:
        self.store = store
        self._last_error: dict[tuple[str, str], str | None] = {}

    async def record(self, attempt: Attempt) -> None:
        metrics.NOTIFICATIONS.labels(attempt.channel_type, attempt.outcome).inc()
        context = {
            "subscriber": attempt.subscriber,
            "notifier": attempt.channel,
            "group": attempt.group_key,
            "attempt": attempt.attempt,
        }
        where = (attempt.subscriber, attempt.channel)
        if attempt.outcome == "sent":
            if self._last_error.get(where):
                log.warning("notifier recovered", extra=context)
            self._last_error[where] = None
            log.info("notification sent", extra={**context, "reason": attempt.reason})
        elif attempt.error != self._last_error.get(where):
            self._last_error[where] = attempt.error
            log.warning("notification %s: %s", attempt.outcome, attempt.error, extra=context)
        try:
            await self.store.record_attempt(attempt)
        except AlertStoreUnavailable as exc:
            log.warning("notification attempt not recorded: %s", exc, extra=context)
