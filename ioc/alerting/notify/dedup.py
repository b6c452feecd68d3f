"""Grouping and deduplication: which alerts form one notification, and whether to send it.

``needs_update`` is the pure decision (Alertmanager's ``DedupStage.needsUpdate``): given the
group's alerts (already routed and unmuted), what this channel was told before and ``now``,
it returns a ``Decision`` carrying its reason: a ``NotifyReason`` to send, or a ``Hold``
saying why not. A channel is told about each transition once: an alert it was told is firing
(with the same ``firing_since``) is not new again; a resolved alert is reported only to a
channel that was told it was firing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import State
from ioc.alerting.notify.base import NotifyReason
from ioc.alerting.store import GroupLog
from ioc.alerting.subscribers import ALL_LABELS


class Hold(StrEnum):
    NOTHING_NEW = "nothing new to tell"
    GROUP_WAIT = "waiting for group_wait (more alerts of the group may come)"
    GROUP_INTERVAL = "waiting for group_interval since the last notification"


@dataclass(frozen=True, slots=True)
class Timing:
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    send_resolved: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    reason: NotifyReason | Hold
    firing: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()
    changed: frozenset[str] = field(default_factory=frozenset)

    @property
    def send(self) -> bool:
        return isinstance(self.reason, NotifyReason)


def stamp(moment: datetime | None) -> str:
    """How a firing_since is remembered (UTC ISO, whatever zone the clock used)."""
    return moment.astimezone(UTC).isoformat() if moment else ""


def needs_update(
    alerts: Sequence[Alert], log: GroupLog | None, timing: Timing, now: datetime
) -> Decision:
    notified = log.notified if log else {}
    firing = tuple(a for a in alerts if a.state is State.FIRING)
    new = [a for a in firing if notified.get(a.key) != stamp(a.status.firing_since)]
    resolved = (
        tuple(a for a in alerts if a.state is not State.FIRING and a.key in notified)
        if timing.send_resolved
        else ()
    )
    if not new and not resolved:
        if (
            firing
            and log is not None
            and log.last_sent_at is not None
            and timing.repeat_interval > timedelta(0)
            and now - log.last_sent_at >= timing.repeat_interval
        ):
            return Decision(NotifyReason.REPEAT, firing, ())
        return Decision(Hold.NOTHING_NEW)
    changed = frozenset(a.key for a in (*new, *resolved))
    if not notified:  # nothing outstanding: a new group
        start = min(a.status.firing_since or now for a in new)
        if now < start + timing.group_wait:
            return Decision(Hold.GROUP_WAIT)
        return Decision(NotifyReason.FIRST, firing, resolved, changed)
    if log and log.last_sent_at and now < log.last_sent_at + timing.group_interval:
        return Decision(Hold.GROUP_INTERVAL)
    reason = NotifyReason.NEW_FIRING if new else NotifyReason.RESOLVED
    return Decision(reason, firing, resolved, changed)


def after_sending(
    previous: GroupLog | None, decision: Decision, group: Iterable[Alert], now: datetime
) -> GroupLog:
    """What the channel knows once ``decision`` was delivered.

    The alerts just reported firing, plus those told before that are still firing (muted
    ones included: an acknowledged alert's resolution must still be told); resolved ones
    are forgotten.
    """
    still_firing = {a.key for a in group if a.state is State.FIRING}
    notified = {
        key: since
        for key, since in (previous.notified if previous else {}).items()
        if key in still_firing
    }
    notified.update({a.key: stamp(a.status.firing_since) for a in decision.firing})
    return GroupLog(notified, now)


def group_key(alert: Alert, group_by: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The group an alert belongs to for one subscriber: a stable key and its labels."""
    if list(group_by) == [ALL_LABELS]:
        labels = dict(alert.labels)
    else:
        labels = {name: alert.labels.get(name, "") for name in group_by}
    key = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return key, labels
