"""The alerter: evaluation passes on an interval, and the notifications they call for.

One pass, at one ``now`` read from the injected clock:

0. read how far the stored events are complete (ioc/completeness.py): if the windows ending
   at ``now`` are not complete yet (a backfill in progress, an ingester catching up or down),
   the pass is held: every alert stays as it is, nothing fires and nothing resolves;
1. load the stored alert states and the active silences;
2. for each rule, run its KPI query as of ``now`` and evaluate every label set it returns and
   every stored label set it no longer returns (``evaluate``, pure); an alert whose rule was
   removed or regrouped is retired;
3. store the new states, the removed ones and the transitions in one transaction;
4. hand the firing and recently resolved alerts to the dispatcher (routing, silences and
   acknowledgements, grouping, dedup, retry), which notifies what needs notifying.

Because the states (with their timers) and what each subscriber was told are in the database,
a restarted alerter picks up a pending timer where it was and does not notify again what it
already notified. ``run`` repeats passes until ``stop`` is set; a database that goes away is
waited for with backoff, and notifications run beside evaluation so a slow receiver does not
delay the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Self

from ioc.alerting import metrics
from ioc.alerting.alert import Alert
from ioc.alerting.errors import AlertStoreUnavailable, KpiError
from ioc.alerting.evaluate import AlertStatus, Outcome, State, evaluate, retire
from ioc.alerting.kpis import Sample
from ioc.alerting.labels import fingerprint
from ioc.alerting.notify.base import Notifier
from ioc.alerting.notify.mute import AckMuter, Muter, Muters, SilenceMuter
from ioc.alerting.notify.nflog import AttemptRecorder, NotificationLog
from ioc.alerting.notify.pipeline import Dispatcher
from ioc.alerting.rules import Rule
from ioc.alerting.store import AlertEvent, AlertStore
from ioc.alerting.subscribers import Subscriber
from ioc.alerting.templates import Number, label_names, place_names, render
from ioc.completeness import NEVER
from ioc.runtime import SYSTEM_CLOCK, Backoff, Clock

log = logging.getLogger(__name__)

LANGUAGES = ("vi", "en")


@dataclass
class PassResult:
    now: datetime
    alerts: list[Alert] = field(default_factory=list)
    """Every stored alert after the pass (pending, firing, resolved)."""
    events: list[AlertEvent] = field(default_factory=list)
    muter: Muter = field(default_factory=AckMuter)
    failed_rules: list[str] = field(default_factory=list)
    held: str | None = None
    """Why the pass judged nothing (the data is not complete up to ``now``), or None."""

    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.state is State.FIRING]


def describe(
    rule: Rule, group: Mapping[str, str], status: AlertStatus, context: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str] | None]:
    """The rule's summary and description for one alert, in each language."""
    unit = rule.query.unit
    summary: dict[str, str] = {}
    description: dict[str, str] = {}
    for language in LANGUAGES:
        clear = rule.condition.clear_threshold
        fields: dict[str, Any] = {
            **rule.labels,
            **{name: None for name in rule.query.context},
            **context,
            **group,
            **place_names(group, language),
            **label_names(group, language),
            "value": Number(status.last_value, unit, language),
            "threshold": Number(rule.condition.threshold, unit, language),
            "clear_threshold": Number(
                rule.condition.threshold if clear is None else clear, unit, language
            ),
            "op": rule.condition.op.value,
            "rule": rule.name,
            "severity": rule.severity.value,
            "since": status.active_since or status.firing_since,
            "window": rule.query.lookback(),
        }
        summary[language] = render(getattr(rule.annotations.summary, language), fields, language)
        if rule.annotations.description is not None:
            description[language] = render(
                getattr(rule.annotations.description, language), fields, language
            )
    return summary, description or None


class Alerter:
    """Evaluates rules and dispatches notifications; an async context manager."""

    def __init__(
        self,
        rules: Sequence[Rule],
        store: AlertStore,
        *,
        subscribers: Sequence[Subscriber] = (),
        notifiers: Mapping[tuple[str, str], Notifier] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        dashboard_url: str = "http://localhost:3000/d/ioc-overview",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        data_allowance: timedelta = timedelta(seconds=10),
    ) -> None:
        self.rules = list(rules)
        names = [rule.name for rule in self.rules]
        if len(names) != len(set(names)):
            raise ValueError(f"two rules share a name: {sorted(names)}")
        self.store = store
        self.clock = clock
        self.nflog = NotificationLog(store)
        self.dispatcher = Dispatcher(
            subscribers,
            notifiers or {},
            self.nflog,
            AttemptRecorder(store),
            dashboard_url=dashboard_url,
            sleep=sleep,
        )
        self.data_allowance = data_allowance
        """How far behind ``now`` the stored data may be complete and still be judged."""
        self._held: str | None = None
        self._ready = False
        self.database_ok = False
        self._rule_errors: dict[str, str] = {}
        self._dispatching: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.drain()

    async def _prepare(self) -> None:
        if not self._ready:
            await self.nflog.load()
            self._ready = True

    # -- one pass --------------------------------------------------------------------------

    async def evaluate(self, now: datetime) -> PassResult:
        """Evaluate every rule as of ``now`` and store the outcome (one transaction)."""
        started = time.perf_counter()
        completeness = await self.store.completeness(now)
        stored = {(a.rule, a.fingerprint): a for a in await self.store.alerts()}
        silencer = SilenceMuter(await self.store.silences(now))
        result = PassResult(now, muter=Muters(silencer, AckMuter()))
        if completeness.until is None:
            metrics.DATA_LAG.set(0)
        elif completeness.until == NEVER:
            metrics.DATA_LAG.set(-1)
        else:
            metrics.DATA_LAG.set(max(0.0, (now - completeness.until).total_seconds()))
        if not completeness.covers(now, self.data_allowance):
            # judge nothing on data that is not in: every alert stays as it was
            result.held = completeness.describe()
            result.alerts = [a for a in stored.values() if a.state is not State.INACTIVE]
            if self._held is None:
                log.warning("evaluation held until the data is in: %s", result.held)
            self._held = result.held
            return result
        if self._held is not None:
            log.warning("the stored data is complete again; evaluation resumed")
            self._held = None
        upserts: list[Alert] = []
        deletes: list[tuple[str, str]] = []
        rules = {rule.name: rule for rule in self.rules}

        def settle(previous: Alert | None, alert: Alert, outcome: Outcome) -> None:
            if outcome.status.state is State.INACTIVE:
                if previous is not None:
                    deletes.append((alert.rule, alert.fingerprint))
            else:
                upserts.append(alert)
                result.alerts.append(alert)
            if outcome.changed:
                result.events.append(AlertEvent(now, alert, outcome.previous))
                metrics.TRANSITIONS.labels(
                    alert.rule, outcome.previous.value, alert.state.value
                ).inc()
                log.info(
                    "alert %s -> %s",
                    outcome.previous.value,
                    alert.state.value,
                    extra={
                        "rule": alert.rule,
                        "province": alert.province,
                        "labels": alert.labels,
                        "value": alert.status.last_value,
                        "reason": outcome.reason.value,
                    },
                )

        for rule in self.rules:
            metrics.EVALUATIONS.labels(rule.name).inc()
            try:
                samples = await self.store.samples(rule, now)
            except KpiError as exc:
                metrics.EVALUATION_ERRORS.labels(rule.name).inc()
                if self._rule_errors.get(rule.name) != str(exc):
                    log.error("rule evaluation failed: %s", exc, extra={"rule": rule.name})
                self._rule_errors[rule.name] = str(exc)
                result.failed_rules.append(rule.name)
                # keep its alerts as they are until the query works again
                for (name, _), alert in stored.items():
                    if name == rule.name and alert.state is not State.INACTIVE:
                        result.alerts.append(alert)
                continue
            if self._rule_errors.pop(rule.name, None):
                log.warning("rule evaluation works again", extra={"rule": rule.name})
            by_fingerprint = {fingerprint(rule.name, s.labels): s for s in samples}
            for fp, sample in by_fingerprint.items():
                previous = stored.get((rule.name, fp))
                status = previous.status if previous else AlertStatus()
                outcome = evaluate(rule, status, sample.value, now)
                if previous is None and outcome.status.state is State.INACTIVE:
                    continue
                alert = self._alert(
                    rule, fp, sample.labels, sample, outcome, previous, silencer, now
                )
                settle(previous, alert, outcome)
            for (name, fp), previous in stored.items():
                if name != rule.name or fp in by_fingerprint:
                    continue
                group = {k: previous.labels[k] for k in rule.group_by if k in previous.labels}
                if fingerprint(rule.name, group) != fp:  # group_by changed: end it as it was
                    outcome = retire(previous.status, now)
                    alert = replace(previous, status=outcome.status, reason=outcome.reason.value)
                else:
                    value = 0.0 if rule.query.absent_means_zero else None
                    outcome = evaluate(rule, previous.status, value, now)
                    alert = self._alert(rule, fp, group, None, outcome, previous, silencer, now)
                settle(previous, alert, outcome)

        for (name, _), previous in stored.items():
            if name not in rules:  # the rule was removed
                outcome = retire(previous.status, now)
                alert = replace(previous, status=outcome.status, reason=outcome.reason.value)
                settle(previous, alert, outcome)

        await self.store.save_pass(now, upserts, deletes, result.events)
        counts = {state: 0 for state in State}
        for alert in result.alerts:
            counts[alert.state] += 1
        for state, count in counts.items():
            metrics.ALERTS.labels(state.value).set(count)
        metrics.PASS_SECONDS.observe(time.perf_counter() - started)
        return result

    def _alert(
        self,
        rule: Rule,
        fp: str,
        group: dict[str, str],
        sample: Sample | None,
        outcome: Outcome,
        previous: Alert | None,
        silencer: SilenceMuter,
        now: datetime,
    ) -> Alert:
        status = outcome.status
        summary, description = describe(rule, group, status, sample.context if sample else {})
        firing = status.state is State.FIRING
        alert = Alert(
            rule=rule.name,
            fingerprint=fp,
            labels={**group, **rule.labels, "rule": rule.name, "severity": rule.severity.value},
            severity=rule.severity.value,
            status=status,
            reason=outcome.reason.value,
            op=rule.condition.op.value,
            threshold=rule.condition.threshold,
            unit=rule.query.unit.value,
            summary=summary,
            description=description,
            acked_at=previous.acked_at if previous and firing else None,
            acked_by=previous.acked_by if previous and firing else None,
            ack_comment=previous.ack_comment if previous and firing else None,
        )
        if status.state in (State.PENDING, State.FIRING):
            silence = silencer.silence_for(alert, now)
            if silence is not None:
                alert = replace(alert, silenced_by=silence.id)
        return alert

    async def dispatch(self, result: PassResult) -> None:
        """Notify subscribers about a pass's alerts (firing and resolved)."""
        await self._prepare()
        await self.dispatcher.dispatch(result.alerts, result.muter, result.now)

    async def _dispatch_in_background(self, result: PassResult) -> None:
        try:
            await self.dispatch(result)
        except AlertStoreUnavailable as exc:
            log.warning("notifications postponed, database unavailable: %s", exc)
        except Exception:
            log.exception("notification dispatch failed")

    async def tick(self, now: datetime | None = None) -> PassResult:
        """One pass and its notifications, awaited (tests drive the alerter with this)."""
        await self._prepare()
        result = await self.evaluate(now or self.clock.now())
        await self.dispatch(result)
        return result

    # -- the service loop ------------------------------------------------------------------

    async def run(
        self, stop: asyncio.Event, *, interval: float = 15.0, backoff: Backoff | None = None
    ) -> None:
        """Passes every ``interval`` seconds until ``stop`` is set."""
        backoff = backoff or Backoff(initial=1.0, maximum=30.0)
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            delay = interval
            try:
                await self._prepare()
                result = await self.evaluate(self.clock.now())
            except AlertStoreUnavailable as exc:
                metrics.DATABASE_UP.set(0)
                self.database_ok = False
                failures += 1
                delay = backoff.delay(failures)
                if failures == 1:
                    log.warning("database unavailable, evaluation paused: %s", exc)
            else:
                metrics.DATABASE_UP.set(1)
                self.database_ok = True
                if failures:
                    log.warning("database reachable again, evaluation resumed")
                failures = 0
                if self._dispatching is None or self._dispatching.done():
                    self._dispatching = asyncio.create_task(self._dispatch_in_background(result))
                else:
                    log.info("notifications of the previous pass still running; skipping")
                delay = max(0.0, interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    async def drain(self, timeout: float = 20.0) -> None:
        """Let the notifications in progress finish (up to ``timeout``), then cancel them."""
        task, self._dispatching = self._dispatching, None
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
