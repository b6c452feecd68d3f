"""Routing and grouping of alerts to subscribers, and the pipeline each group goes through.

For each subscriber: the alerts its matchers match, grouped by its ``group_by``; each group
goes through ``MuteStage -> Fanout(channel: Dedup -> Retry -> SetNotifies)``. The pipelines
(and the retry stages' memory of failures) live as long as the dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime

from ioc.alerting.alert import Alert
from ioc.alerting.labels import matches_all
from ioc.alerting.notify.base import Notifier
from ioc.alerting.notify.dedup import Timing, group_key
from ioc.alerting.notify.mute import Muter
from ioc.alerting.notify.nflog import NotificationLog
from ioc.alerting.notify.retry import AttemptSink, RetryStage
from ioc.alerting.notify.stages import (
    DedupStage,
    FanoutStage,
    MultiStage,
    MuteStage,
    NotifyContext,
    SetNotifiesStage,
    Stage,
)
from ioc.alerting.subscribers import Subscriber

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        subscribers: Sequence[Subscriber],
        notifiers: Mapping[tuple[str, str], Notifier],
        nflog: NotificationLog,
        recorder: AttemptSink,
        *,
        dashboard_url: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.subscribers = list(subscribers)
        self.dashboard_url = dashboard_url
        self._pipelines: dict[str, Stage] = {}
        for subscriber in self.subscribers:
            timing = Timing(
                subscriber.group_wait,
                subscriber.group_interval,
                subscriber.repeat_interval,
                subscriber.send_resolved,
            )
            channels: dict[str, Stage] = {
                channel.key: MultiStage(
                    DedupStage(nflog, timing),
                    RetryStage(
                        notifiers[(subscriber.name, channel.key)],
                        channel.key,
                        channel.retry,
                        recorder,
                        sleep=sleep,
                    ),
                    SetNotifiesStage(nflog),
                )
                for channel in subscriber.channels
            }
            self._pipelines[subscriber.name] = MultiStage(MuteStage(), FanoutStage(channels))

    async def dispatch(self, alerts: Sequence[Alert], muter: Muter, now: datetime) -> None:
        """Send what needs sending about ``alerts`` (firing and recently resolved) now."""
        runs = []
        for subscriber in self.subscribers:
            groups: dict[str, tuple[dict[str, str], list[Alert]]] = {}
            for alert in alerts:
                if matches_all(subscriber.matchers, alert.labels):
                    key, labels = group_key(alert, subscriber.group_by)
                    groups.setdefault(key, (labels, []))[1].append(alert)
            for key, (labels, members) in groups.items():
                ctx = NotifyContext(
                    now, subscriber, key, labels, tuple(members), muter, self.dashboard_url
                )
                runs.append(self._pipelines[subscriber.name].exec(ctx, members))
        for result in await asyncio.gather(*runs, return_exceptions=True):
            if isinstance(result, BaseException):
                log.error("notification dispatch failed", exc_info=result)
