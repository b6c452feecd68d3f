"""One alert as the rest of the alerting package sees it: rule, labels, state, texts.

The engine builds it from an evaluation, the store maps it to and from ``alert_states``, the
notification pipeline routes, mutes, groups and sends it. ``key`` (rule/fingerprint) names
one alert everywhere: in the notification log and in what each subscriber was told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ioc.alerting.evaluate import AlertStatus, State


@dataclass(frozen=True, slots=True)
class Alert:
    rule: str
    fingerprint: str
    labels: dict[str, str]
    """group_by labels, the rule's own labels, and ``rule`` and ``severity``."""
    severity: str
    status: AlertStatus
    reason: str
    op: str
    threshold: float
    unit: str
    summary: dict[str, str]
    """language ("vi", "en") -> text."""
    description: dict[str, str] | None = None
    silenced_by: UUID | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_comment: str | None = None

    @property
    def key(self) -> str:
        return f"{self.rule}/{self.fingerprint}"

    @property
    def state(self) -> State:
        return self.status.state

    @property
    def province(self) -> str:
        return self.labels["province"]

    @property
    def district(self) -> str | None:
        return self.labels.get("district")
