"""Silences and acknowledgements, behind one ``Muter`` interface (as Alertmanager's
silences and inhibitions share one).

A silence mutes every alert its matchers match between its start and its end, firing or
resolved: nothing is sent about it. An acknowledgement mutes a firing alert: it is not
repeated; its resolution is still told to whoever was told it was firing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import State
from ioc.alerting.store import Silence


class MuteKind(StrEnum):
    """What muted an alert: the ``muter`` label of ``ioc_alert_muted``."""

    SILENCED = "silenced"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class Mute:
    """Why an alert is muted: the kind, and the prose a person reads."""

    kind: MuteKind
    detail: str

    def __str__(self) -> str:
        return self.detail


class Muter(Protocol):
    def mutes(self, alert: Alert, now: datetime) -> Mute | None:
        """Why ``alert`` must not be notified now, or None."""
        ...


class SilenceMuter:
    def __init__(self, silences: Sequence[Silence]) -> None:
        self.silences = list(silences)

    def silence_for(self, alert: Alert, now: datetime) -> Silence | None:
        for silence in self.silences:
            if silence.active(now) and silence.matches(alert.labels):
                return silence
        return None

    def mutes(self, alert: Alert, now: datetime) -> Mute | None:
        silence = self.silence_for(alert, now)
        if silence is None:
            return None
        return Mute(MuteKind.SILENCED, f"silenced by {silence.id} ({silence.created_by})")


class AckMuter:
    def mutes(self, alert: Alert, now: datetime) -> Mute | None:
        if alert.state is State.FIRING and alert.acked_at is not None:
            return Mute(MuteKind.ACKNOWLEDGED, f"acknowledged by {alert.acked_by}")
        return None


class Muters:
    """Several muters as one: the first reason wins."""

    def __init__(self, *muters: Muter) -> None:
        self.muters = muters

    def mutes(self, alert: Alert, now: datetime) -> Mute | None:
        for muter in self.muters:
            reason = muter.mutes(alert, now)
            if reason:
                return reason
        return None
