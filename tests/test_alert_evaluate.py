"""Rule evaluation, pure: (rule, previous state, value or no data, now) -> (state, reason)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ioc.alerting.evaluate import AlertStatus, EvaluationReason, State, evaluate, retire
from ioc.alerting.rules import Rule
from ioc.alerting.schedule import Schedule, covers, in_office_hours
from ioc.models import VN_TZ

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # Monday 10:00 in Vietnam
MIN = timedelta(minutes=1)

BASE_RULE: dict[str, Any] = {
    "name": "pay-low",
    "kpi": "payment_success_rate",
    "params": {"window": "5m", "min_attempts": 5},
    "group_by": ["province", "gateway"],
    "condition": {"op": "<", "threshold": 0.95},
    "for": "5m",
    "severity": "critical",
    "annotations": {
        "summary": {
            "vi": "Tỷ lệ thành công qua {gateway} tại {province_name}: {value} "
            "(ngưỡng {threshold})",
            "en": "Success rate through {gateway} in {province_name}: {value} "
            "(threshold {threshold})",
        }
    },
}


def make_rule(**changes: Any) -> Rule:
    """The base rule with some fields replaced (``for_`` is ``for``; ``condition`` is merged)."""
    data = copy.deepcopy(BASE_RULE)
    for key, value in changes.items():
        key = "for" if key == "for_" else key
        if key == "condition":
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return Rule.model_validate(data)


def run(rule: Rule, steps: list[tuple[timedelta, float | None]], start: AlertStatus | None = None):
    """Evaluate a sequence of (time after T0, value); returns the outcomes."""
    status = start or AlertStatus()
    outcomes = []
    for offset, value in steps:
        outcome = evaluate(rule, status, value, T0 + offset)
        outcomes.append(outcome)
        status = outcome.status
    return outcomes


def test_pending_then_firing_after_the_for_period_then_resolved():
    rule = make_rule()
    out = run(rule, [(0 * MIN, 0.5), (4 * MIN, 0.6), (5 * MIN, 0.4), (9 * MIN, 0.99)])
    assert [o.status.state for o in out] == [
        State.PENDING,
        State.PENDING,
        State.FIRING,
        State.RESOLVED,
    ]
    assert [o.reason for o in out] == [
        EvaluationReason.MET_PENDING,
        EvaluationReason.STILL_PENDING,
        EvaluationReason.PENDING_ELAPSED,
        EvaluationReason.CLEARED,
    ]
    firing, resolved = out[2].status, out[3].status
    assert (firing.active_since, firing.firing_since) == (T0, T0 + 5 * MIN)
    assert firing.last_value == 0.4
    assert resolved.resolved_at == T0 + 9 * MIN
    assert resolved.active_since == T0  # "wrong since", for the resolved message
    assert [o.changed for o in out] == [True, False, True, True]


def test_a_condition_that_clears_while_pending_restarts_the_timer():
    rule = make_rule()
    out = run(
        rule, [(0 * MIN, 0.5), (3 * MIN, 0.99), (4 * MIN, 0.5), (8 * MIN, 0.5), (9 * MIN, 0.5)]
    )
    assert [o.status.state for o in out] == [
        State.PENDING,
        State.INACTIVE,
        State.PENDING,
        State.PENDING,
        State.FIRING,
    ]
    assert out[1].reason is EvaluationReason.CLEARED_WHILE_PENDING
    assert out[4].status.active_since == T0 + 4 * MIN


def test_no_for_period_fires_at_once_and_a_resolved_alert_can_fire_again():
    rule = make_rule(for_="0s")
    out = run(rule, [(0 * MIN, 0.5), (1 * MIN, 0.99), (2 * MIN, 0.99), (3 * MIN, 0.1)])
    assert [o.status.state for o in out] == [
        State.FIRING,
        State.RESOLVED,
        State.RESOLVED,
        State.FIRING,
    ]
    assert out[0].reason is EvaluationReason.MET_FIRING
    assert out[2].reason is EvaluationReason.STILL_RESOLVED
    assert out[3].status.firing_since == out[3].status.active_since == T0 + 3 * MIN
    assert out[3].status.resolved_at is None


def test_hysteresis_keeps_firing_until_past_the_clear_threshold():
    rule = make_rule(for_="0s", condition={"clear_threshold": 0.97})
    out = run(rule, [(0 * MIN, 0.90), (1 * MIN, 0.96), (2 * MIN, 0.969), (3 * MIN, 0.97)])
    assert [o.status.state for o in out] == [
        State.FIRING,
        State.FIRING,
        State.FIRING,
        State.RESOLVED,
    ]
    assert out[1].reason is EvaluationReason.HYSTERESIS
    # while pending, the fire threshold applies: 0.96 is not met
    pending_rule = make_rule(condition={"clear_threshold": 0.97})
    out = run(pending_rule, [(0 * MIN, 0.90), (1 * MIN, 0.96)])
    assert [o.status.state for o in out] == [State.PENDING, State.INACTIVE]


def test_clear_threshold_works_for_rules_that_fire_above_a_threshold():
    rule = make_rule(for_="0s", condition={"op": ">", "threshold": 80, "clear_threshold": 70})
    out = run(rule, [(0 * MIN, 81), (1 * MIN, 75), (2 * MIN, 70)])
    assert [o.status.state for o in out] == [State.FIRING, State.FIRING, State.RESOLVED]


def test_keep_firing_for_holds_a_firing_alert_and_restarts_when_met_again():
    rule = make_rule(for_="0s", keep_firing_for="2m")
    out = run(
        rule,
        [
            (0 * MIN, 0.5),  # fires
            (1 * MIN, 0.99),  # cleared: keep firing (cleared since 1m)
            (2 * MIN, 0.99),  # 1 min cleared
            (2.5 * MIN, 0.5),  # met again: the keep timer is reset
            (3 * MIN, 0.99),  # cleared since 3m
            (4.5 * MIN, 0.99),  # 1.5 min: still firing
            (5 * MIN, 0.99),  # 2 min: resolved
        ],
    )
    assert [o.status.state for o in out] == [State.FIRING] * 6 + [State.RESOLVED]
    assert out[1].reason is EvaluationReason.KEEP_FIRING
    assert out[1].status.cleared_since == T0 + 1 * MIN
    assert out[3].status.cleared_since is None
    assert out[4].status.cleared_since == T0 + 3 * MIN
    assert out[6].status.resolved_at == T0 + 5 * MIN
    assert out[6].status.firing_since == T0  # one firing period, not two


def test_no_data_ok_resolves_and_ends_pending():
    rule = make_rule(for_="0s", no_data="ok")
    out = run(rule, [(0 * MIN, 0.5), (1 * MIN, None)])
    assert out[1].status.state is State.RESOLVED and out[1].reason is EvaluationReason.NO_DATA_OK
    assert out[1].status.last_value is None
    out = run(make_rule(no_data="ok"), [(0 * MIN, 0.5), (1 * MIN, None)])
    assert out[1].status.state is State.INACTIVE and out[1].reason is EvaluationReason.NO_DATA_OK


def test_no_data_alerting_fires_after_the_for_period():
    rule = make_rule(no_data="alerting")
    out = run(rule, [(0 * MIN, None), (5 * MIN, None), (6 * MIN, 0.99)])
    assert [o.status.state for o in out] == [State.PENDING, State.FIRING, State.RESOLVED]
    assert out[1].reason is EvaluationReason.NO_DATA_ALERTING


def test_no_data_keep_changes_nothing_and_keeps_the_pending_timer():
    rule = make_rule(no_data="keep")
    out = run(rule, [(0 * MIN, 0.5), (2 * MIN, None), (6 * MIN, None), (6.5 * MIN, 0.5)])
    assert [o.status.state for o in out] == [
        State.PENDING,
        State.PENDING,
        State.PENDING,
        State.FIRING,
    ]
    assert out[1].reason is EvaluationReason.NO_DATA_KEEP and not out[1].changed
    assert out[1].status.last_value == 0.5  # the last value seen
    assert out[1].status.last_evaluated == T0 + 2 * MIN
    firing = run(make_rule(for_="0s", no_data="keep"), [(0 * MIN, 0.5), (1 * MIN, None)])
    assert firing[1].status.state is State.FIRING


def local(year, month, day, hour, minute) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


def test_office_hours_are_monday_to_friday_0730_to_1700_in_vietnam():
    assert in_office_hours(local(2026, 11, 23, 7, 30))  # Monday
    assert in_office_hours(local(2026, 11, 27, 16, 59))  # Friday
    assert not in_office_hours(local(2026, 11, 23, 7, 29))
    assert not in_office_hours(local(2026, 11, 23, 17, 0))
    assert not in_office_hours(local(2026, 11, 28, 10, 0))  # Saturday
    assert in_office_hours(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # 08:00 local
    window = timedelta(minutes=15)
    assert not covers(Schedule.OFFICE_HOURS, local(2026, 11, 23, 7, 44), window)
    assert covers(Schedule.OFFICE_HOURS, local(2026, 11, 23, 7, 45), window)
    assert covers(Schedule.ALWAYS, local(2026, 11, 28, 3, 0), window)


def portal_rule() -> Rule:
    return make_rule(
        name="portal-down",
        kpi="dossier_submissions",
        params={"window": "15m"},
        group_by=["province"],
        condition={"op": "<", "threshold": 1},
        for_="0s",
        schedule="office_hours",
        annotations={"summary": {"vi": "Không có hồ sơ tại {province_name}", "en": "None"}},
    )


def test_an_office_hours_rule_is_judged_only_inside_office_hours():
    rule = portal_rule()
    status = AlertStatus()
    for moment, expected in (
        (local(2026, 11, 23, 7, 40), State.INACTIVE),  # the window reaches 07:25
        (local(2026, 11, 23, 10, 0), State.FIRING),
        (local(2026, 11, 23, 16, 59), State.FIRING),
        (local(2026, 11, 23, 17, 5), State.RESOLVED),
        (local(2026, 11, 28, 10, 0), State.RESOLVED),  # Saturday
    ):
        outcome = evaluate(rule, status, 0.0, moment)
        assert outcome.status.state is expected, moment
        status = outcome.status
    assert outcome.reason is EvaluationReason.OUTSIDE_SCHEDULE


def test_retire_resolves_a_firing_alert_and_ends_a_pending_one():
    firing = AlertStatus(State.FIRING, T0, T0, last_value=0.5, last_evaluated=T0)
    outcome = retire(firing, T0 + MIN)
    assert outcome.status.state is State.RESOLVED
    assert outcome.reason is EvaluationReason.RULE_CHANGED
    pending = AlertStatus(State.PENDING, T0, last_value=0.5, last_evaluated=T0)
    assert retire(pending, T0 + MIN).status.state is State.INACTIVE


# -- flapping input -----------------------------------------------------------------------------

LEGAL = {
    (State.INACTIVE, State.PENDING),
    (State.INACTIVE, State.FIRING),
    (State.PENDING, State.INACTIVE),
    (State.PENDING, State.FIRING),
    (State.FIRING, State.RESOLVED),
    (State.RESOLVED, State.PENDING),
    (State.RESOLVED, State.FIRING),
}

values = st.one_of(st.none(), st.sampled_from([0.5, 0.94, 0.95, 0.955, 0.96, 0.97, 0.99]))


@settings(max_examples=300, deadline=None)
@given(
    for_seconds=st.sampled_from([0, 60, 300]),
    keep_seconds=st.sampled_from([0, 120]),
    clear=st.sampled_from([None, 0.97]),
    no_data=st.sampled_from(["ok", "alerting", "keep"]),
    steps=st.lists(
        st.tuples(st.integers(min_value=1, max_value=120), values), min_size=1, max_size=60
    ),
)
def test_flapping_input_never_breaks_the_state_machine(
    for_seconds, keep_seconds, clear, no_data, steps
):
    rule = make_rule(
        for_=f"{for_seconds}s",
        keep_firing_for=f"{keep_seconds}s",
        condition={"clear_threshold": clear},
        no_data=no_data,
    )
    status, now = AlertStatus(), T0
    met_since: datetime | None = None  # the condition (fire threshold) has held since
    unheld_since: datetime | None = None  # while firing: the condition has not held since
    for step, value in steps:
        now += timedelta(seconds=step)
        outcome = evaluate(rule, status, value, now)
        new = outcome.status
        if value is None and no_data == "keep":
            assert new.state is status.state and not outcome.changed
            status = new
            continue
        met = rule.condition.met(value) if value is not None else no_data == "alerting"
        held = rule.condition.still_met(value) if value is not None else no_data == "alerting"
        met_since = (met_since or now) if met else None
        if outcome.changed:
            assert (status.state, new.state) in LEGAL, (status.state, new.state)
        if new.state is State.FIRING and status.state is not State.FIRING:
            # fired only after the condition held at every evaluation for the whole `for`
            assert met and new.active_since is not None
            assert now - new.active_since >= rule.for_
            assert met_since is not None and met_since <= new.active_since
        if status.state is not State.FIRING:
            unheld_since = None
        else:
            unheld_since = None if held else (unheld_since or now)
            if new.state is State.RESOLVED:
                assert not held
                assert unheld_since is not None and now - unheld_since >= rule.keep_firing_for
            else:
                assert held or now - unheld_since < rule.keep_firing_for
        assert new.last_evaluated == now
        status = new


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.955, 0.96, 0.965]), min_size=1, max_size=40))
def test_values_inside_the_hysteresis_band_never_resolve_a_firing_alert(band_values):
    rule = make_rule(for_="0s", condition={"clear_threshold": 0.97})
    status = evaluate(rule, AlertStatus(), 0.5, T0).status
    for index, value in enumerate(band_values, start=1):
        status = evaluate(rule, status, value, T0 + index * MIN).status
        assert status.state is State.FIRING
