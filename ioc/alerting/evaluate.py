"""Rule evaluation: a pure function from (rule, previous state, observation, now) to
(new state, reason).

Nothing here reads a clock, a database or a socket: the engine fetches the observation and
passes one ``now`` per pass, so every path is a unit test away. The states::

    inactive --met--> pending --met for `for`--> firing --not met for keep_firing_for--> resolved
       ^                 |                                |
       +----not met------+                                +-- still met (clear threshold): firing
    inactive or resolved --met, `for` is 0--> firing
    resolved --met again--> pending

- *met* is ``value <op> threshold``; while firing, the alert stays firing as long as
  ``value <op> clear_threshold`` holds (hysteresis: a success rate that fired below 95% is
  not over at 95.1% when the clear threshold is 97%);
- no data follows the rule's policy: ``ok`` (not met), ``alerting`` (met), ``keep`` (the
  state stays as it is; its timers keep their start, so a pending alert whose data comes
  back still met fires once `for` has passed since it started);
- outside the rule's schedule (office hours) the condition is not met.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ioc.alerting.rules import NoDataPolicy, Rule
from ioc.alerting.schedule import covers


class State(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class EvaluationReason(StrEnum):
    """Why an evaluation ended in its state (stored with every transition)."""

    NOT_MET = "condition not met"
    STILL_RESOLVED = "condition not met, still resolved"
    MET_PENDING = "condition met, pending for the `for` period"
    STILL_PENDING = "condition still met, pending"
    PENDING_ELAPSED = "condition met for the whole `for` period"
    MET_FIRING = "condition met (no `for` period)"
    CLEARED_WHILE_PENDING = "condition no longer met before the `for` period ended"
    STILL_FIRING = "condition still met"
    HYSTERESIS = "back past the threshold but not past the clear threshold"
    KEEP_FIRING = "condition not met, firing for `keep_firing_for`"
    CLEARED = "condition not met"
    NO_DATA_KEEP = "no data, state kept"
    NO_DATA_OK = "no data, treated as not met"
    NO_DATA_ALERTING = "no data, treated as met"
    OUTSIDE_SCHEDULE = "outside the rule's schedule (office hours)"
    RULE_CHANGED = "the rule no longer produces this label set (rule changed or removed)"


@dataclass(frozen=True, slots=True)
class AlertStatus:
    """The state of one alert (one rule, one label set)."""

    state: State = State.INACTIVE
    active_since: datetime | None = None
    """When the condition started to be met (pending began); kept while firing."""
    firing_since: datetime | None = None
    resolved_at: datetime | None = None
    cleared_since: datetime | None = None
    """While firing: since when the condition has not been met (for keep_firing_for)."""
    last_value: float | None = None
    last_evaluated: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    status: AlertStatus
    reason: EvaluationReason
    previous: State

    @property
    def changed(self) -> bool:
        return self.status.state is not self.previous


def evaluate(rule: Rule, previous: AlertStatus, value: float | None, now: datetime) -> Outcome:
    """One evaluation of one label set: ``value`` is the KPI's value, None for no data."""
    was = previous.state
    if not covers(rule.schedule, now, rule.query.lookback()):
        met = still_met = False
        why_not = EvaluationReason.OUTSIDE_SCHEDULE
    elif value is None:
        if rule.no_data is NoDataPolicy.KEEP:
            kept = replace(previous, last_evaluated=now)
            return Outcome(kept, EvaluationReason.NO_DATA_KEEP, was)
        met = still_met = rule.no_data is NoDataPolicy.ALERTING
        why_not = EvaluationReason.NO_DATA_OK
    else:
        met = rule.condition.met(value)
        still_met = rule.condition.still_met(value)
        why_not = EvaluationReason.CLEARED
    why_met = EvaluationReason.NO_DATA_ALERTING if value is None else None
    base = replace(previous, last_value=value, last_evaluated=now)

    if was is State.FIRING:
        if still_met:
            reason = why_met or (
                EvaluationReason.STILL_FIRING if met else EvaluationReason.HYSTERESIS
            )
            return Outcome(replace(base, cleared_since=None), reason, was)
        cleared_since = previous.cleared_since or now
        if now - cleared_since >= rule.keep_firing_for:
            resolved = replace(base, state=State.RESOLVED, resolved_at=now, cleared_since=None)
            return Outcome(resolved, why_not, was)
        return Outcome(
            replace(base, cleared_since=cleared_since), EvaluationReason.KEEP_FIRING, was
        )

    if was is State.PENDING:
        if not met:
            inactive = replace(base, state=State.INACTIVE, active_since=None)
            reason = (
                why_not
                if why_not is not EvaluationReason.CLEARED
                else EvaluationReason.CLEARED_WHILE_PENDING
            )
            return Outcome(inactive, reason, was)
        assert previous.active_since is not None
        if now - previous.active_since >= rule.for_:
            firing = replace(base, state=State.FIRING, firing_since=now, resolved_at=None)
            return Outcome(firing, why_met or EvaluationReason.PENDING_ELAPSED, was)
        return Outcome(base, why_met or EvaluationReason.STILL_PENDING, was)

    # inactive or resolved
    if not met:
        reason = (
            EvaluationReason.STILL_RESOLVED if was is State.RESOLVED else EvaluationReason.NOT_MET
        )
        if why_not is not EvaluationReason.CLEARED:
            reason = why_not
        return Outcome(base, reason, was)
    started = replace(base, active_since=now, firing_since=None, cleared_since=None)
    if rule.for_.total_seconds() == 0:
        firing = replace(started, state=State.FIRING, firing_since=now, resolved_at=None)
        return Outcome(firing, why_met or EvaluationReason.MET_FIRING, was)
    return Outcome(
        replace(started, state=State.PENDING), why_met or EvaluationReason.MET_PENDING, was
    )


def retire(previous: AlertStatus, now: datetime) -> Outcome:
    """A label set the rule no longer produces at all: end it (resolve it if firing)."""
    was = previous.state
    if was is State.FIRING:
        status = replace(
            previous,
            state=State.RESOLVED,
            resolved_at=now,
            cleared_since=None,
            last_value=None,
            last_evaluated=now,
        )
    elif was is State.PENDING:
        status = replace(previous, state=State.INACTIVE, active_since=None, last_evaluated=now)
    else:
        status = replace(previous, last_evaluated=now)
    return Outcome(status, EvaluationReason.RULE_CHANGED, was)
