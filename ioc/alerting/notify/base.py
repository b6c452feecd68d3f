"""What a notifier receives, and what it must do.

A ``Notification`` is one message for one subscriber's channel about one group of alerts.
A ``Notifier`` delivers it once: it returns on success and raises a ``NotifyError`` saying
whether another attempt may succeed (``RetryableNotifyError``) or not
(``PermanentNotifyError``). It never sleeps or retries: the retry stage does that.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import State


class NotifyReason(StrEnum):
    """Why a notification is sent (as Alertmanager's ``needsUpdate`` says)."""

    FIRST = "first notification of the group"
    NEW_FIRING = "new alerts firing in the group"
    RESOLVED = "alerts resolved"
    REPEAT = "repeat interval elapsed, still firing"


@dataclass(frozen=True, slots=True)
class Notification:
    id: uuid.UUID
    """The same for every attempt to deliver it (receivers may deduplicate on it)."""
    subscriber: str
    channel: str
    group_key: str
    group_labels: dict[str, str]
    reason: NotifyReason
    firing: tuple[Alert, ...]
    resolved: tuple[Alert, ...]
    changed: frozenset[str]
    """Keys of the alerts whose transition this notification reports (new firing, resolved)."""
    created_at: datetime
    language: str
    dashboard_url: str

    @property
    def status(self) -> str:
        return State.FIRING.value if self.firing else State.RESOLVED.value

    @property
    def alerts(self) -> tuple[Alert, ...]:
        return self.firing + self.resolved

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.alerts)


class Notifier(Protocol):
    kind: str
    """webhook | email | mqtt"""

    async def notify(self, notification: Notification) -> None:
        """Deliver once; raise RetryableNotifyError or PermanentNotifyError on failure."""
        ...
