"""The notification pipeline's stages (after Alertmanager's ``notify/notify.go``).

A stage takes the alerts of one group and returns those that go on; an empty result stops
the pipeline. ``ioc.alerting.notify.pipeline`` composes them per subscriber::

    MuteStage (silences + acks) -> Fanout over channels:
        DedupStage (send? why?) -> RetryStage (notifier, backoff) -> SetNotifiesStage
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from ioc.alerting import metrics
from ioc.alerting.alert import Alert
from ioc.alerting.notify.dedup import Decision, Timing, after_sending, needs_update
from ioc.alerting.notify.mute import Muter
from ioc.alerting.notify.nflog import NotificationLog
from ioc.alerting.subscribers import Subscriber

log = logging.getLogger(__name__)


@dataclass
class NotifyContext:
    """One group of one subscriber at one pass; each channel gets its own copy."""

    now: datetime
    subscriber: Subscriber
    group_key: str
    group_labels: dict[str, str]
    group: tuple[Alert, ...]
    """Every alert of the group, muted ones included."""
    muter: Muter
    dashboard_url: str
    channel: str = ""
    decision: Decision | None = None


class Stage(Protocol):
    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]: ...


class MultiStage:
    """Stages in order; stops at the first that returns no alerts."""

    def __init__(self, *stages: Stage) -> None:
        self.stages = stages

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        for stage in self.stages:
            alerts = await stage.exec(ctx, alerts)
            if not alerts:
                return ()
        return alerts


class FanoutStage:
    """Stages side by side (one per channel), each with its own copy of the context."""

    def __init__(self, stages: dict[str, Stage]) -> None:
        self.stages = stages

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        results = await asyncio.gather(
            *(s.exec(replace(ctx, channel=name), alerts) for name, s in self.stages.items()),
            return_exceptions=True,
        )
        for name, result in zip(self.stages, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "notification pipeline failed",
                    exc_info=result,
                    extra={"subscriber": ctx.subscriber.name, "notifier": name},
                )
        return alerts


class MuteStage:
    """Leaves out the alerts a muter (silences, acknowledgements) mutes."""

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        kept = []
        for alert in alerts:
            why = ctx.muter.mutes(alert, ctx.now)
            if why is None:
                kept.append(alert)
            else:
                metrics.MUTED.labels(why.kind.value).inc()
        return kept


class DedupStage:
    """Decides whether this channel needs a notification now, and says why."""

    def __init__(self, nflog: NotificationLog, timing: Timing) -> None:
        self.nflog = nflog
        self.timing = timing

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        entry = self.nflog.get(ctx.subscriber.name, ctx.channel, ctx.group_key)
        decision = needs_update(alerts, entry, self.timing, ctx.now)
        if not decision.send:
            return ()
        ctx.decision = decision
        return decision.firing + decision.resolved


class SetNotifiesStage:
    """Remembers what was delivered, so that it is not delivered again (also after a restart)."""

    def __init__(self, nflog: NotificationLog) -> None:
        self.nflog = nflog

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        assert ctx.decision is not None
        name = ctx.subscriber.name
        previous = self.nflog.get(name, ctx.channel, ctx.group_key)
        entry = after_sending(previous, ctx.decision, ctx.group, ctx.now)
        await self.nflog.set(name, ctx.channel, ctx.group_key, entry)
        return alerts
