"""The retry stage: the only place that knows about backoff.

It builds the ``Notification`` (one id for all its attempts), hands it to the notifier, and
on a ``RetryableNotifyError`` tries again after the subscriber channel's backoff, up to its
number of attempts; a ``PermanentNotifyError`` ends it at once. Every attempt is recorded
(sent, retried or failed). After a notification is given up, the same group is not tried
again on this channel before the backoff after that failure has passed (measured on the
evaluation clock), so a receiver that is down is not hammered on every pass.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol

from ioc.alerting.alert import Alert
from ioc.alerting.errors import NotifyError, PermanentNotifyError
from ioc.alerting.notify.base import Notification, Notifier, NotifyReason
from ioc.alerting.notify.stages import NotifyContext
from ioc.alerting.store import Attempt
from ioc.alerting.subscribers import RetryPolicy


class AttemptSink(Protocol):
    async def record(self, attempt: Attempt) -> None: ...


class RetryStage:
    def __init__(
        self,
        notifier: Notifier,
        channel: str,
        policy: RetryPolicy,
        recorder: AttemptSink,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.notifier = notifier
        self.channel = channel
        self.policy = policy
        self.recorder = recorder
        self.sleep = sleep
        self._given_up: dict[str, tuple[int, datetime]] = {}
        """group key -> (notifications given up in a row, not before)."""

    async def exec(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Sequence[Alert]:
        failures, not_before = self._given_up.get(ctx.group_key, (0, ctx.now))
        if ctx.now < not_before:
            return ()
        decision = ctx.decision
        assert decision is not None and isinstance(decision.reason, NotifyReason)
        notification = Notification(
            id=uuid.uuid4(),
            subscriber=ctx.subscriber.name,
            channel=self.channel,
            group_key=ctx.group_key,
            group_labels=ctx.group_labels,
            reason=decision.reason,
            firing=decision.firing,
            resolved=decision.resolved,
            changed=decision.changed,
            created_at=ctx.now,
            language=ctx.subscriber.language,
            dashboard_url=ctx.dashboard_url,
        )
        for attempt in range(1, self.policy.attempts + 1):
            try:
                await self.notifier.notify(notification)
            except NotifyError as exc:
                last = attempt == self.policy.attempts or isinstance(exc, PermanentNotifyError)
                await self._record(ctx, notification, attempt, "failed" if last else "retried", exc)
                if last:
                    failures += 1
                    retry_at = ctx.now + self.policy.delay(failures)
                    self._given_up[ctx.group_key] = (failures, retry_at)
                    return ()
                await self.sleep(self.policy.delay(attempt).total_seconds())
            else:
                await self._record(ctx, notification, attempt, "sent", None)
                self._given_up.pop(ctx.group_key, None)
                return alerts
        return ()  # pragma: no cover - the loop always returns

    async def _record(
        self,
        ctx: NotifyContext,
        n: Notification,
        attempt: int,
        outcome: str,
        error: NotifyError | None,
    ) -> None:
        await self.recorder.record(
            Attempt(
                time=ctx.now,
                notification_id=n.id,
                subscriber=n.subscriber,
                channel=self.channel,
                channel_type=self.notifier.kind,
                group_key=n.group_key,
                status=n.status,
                reason=n.reason.value,
                alerts=n.keys,
                attempt=attempt,
                outcome=outcome,
                error=None if error is None else f"{type(error).__name__}: {error}"[:1000],
            )
        )
