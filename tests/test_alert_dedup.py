"""Grouping, dedup decisions, muting and message wording: pure, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import AlertStatus, State
from ioc.alerting.labels import Matcher
from ioc.alerting.notify.base import Notification, NotifyReason
from ioc.alerting.notify.dedup import Hold, Timing, after_sending, group_key, needs_update
from ioc.alerting.notify.message import (
    dashboard_link,
    email_body,
    email_subject,
    webhook_payload,
)
from ioc.alerting.notify.mute import AckMuter, Mute, MuteKind, Muters, SilenceMuter
from ioc.alerting.store import GroupLog, Silence
from ioc.alerting.templates import render

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
TIMING = Timing(
    group_wait=30 * timedelta(seconds=1),
    group_interval=5 * MIN,
    repeat_interval=60 * MIN,
    send_resolved=True,
)


def alert(
    gateway: str = "vnpay",
    state: State = State.FIRING,
    firing_since: datetime = T0,
    **fields,
) -> Alert:
    status = AlertStatus(
        state=state,
        active_since=firing_since - 5 * MIN,
        firing_since=firing_since,
        resolved_at=firing_since + 10 * MIN if state is State.RESOLVED else None,
        last_value=0.42 if state is State.FIRING else 0.99,
        last_evaluated=firing_since,
    )
    values = dict(
        rule="payment-success-rate-low",
        fingerprint=f"fp-{gateway}",
        labels={
            "rule": "payment-success-rate-low",
            "severity": "critical",
            "province": "binh-duong",
            "gateway": gateway,
        },
        severity="critical",
        status=status,
        reason="",
        op="<",
        threshold=0.95,
        unit="ratio",
        summary={"vi": f"Cổng {gateway} lỗi", "en": f"Gateway {gateway} failing"},
    )
    values.update(fields)
    return Alert(**values)


def told(*alerts: Alert, at: datetime = T0) -> GroupLog:
    return after_sending(
        None, needs_update(alerts, None, replace(TIMING, group_wait=timedelta(0)), at), alerts, at
    )


def test_a_new_group_waits_group_wait_then_sends_its_first_notification():
    a = alert()
    assert needs_update([a], None, TIMING, T0 + timedelta(seconds=29)).reason is Hold.GROUP_WAIT
    decision = needs_update([a], None, TIMING, T0 + timedelta(seconds=30))
    assert decision.reason is NotifyReason.FIRST and decision.firing == (a,)
    assert decision.changed == {a.key}


def test_a_channel_is_told_each_transition_once():
    a = alert()
    log = told(a)
    assert needs_update([a], log, TIMING, T0 + MIN).reason is Hold.NOTHING_NEW
    resolved = alert(state=State.RESOLVED)
    decision = needs_update([resolved], log, TIMING, T0 + 10 * MIN)
    assert decision.reason is NotifyReason.RESOLVED and decision.resolved == (resolved,)
    after = after_sending(log, decision, [resolved], T0 + 10 * MIN)
    assert after.notified == {}
    assert needs_update([resolved], after, TIMING, T0 + 11 * MIN).reason is Hold.NOTHING_NEW
    # a resolved alert this channel never heard firing is not news to it
    assert needs_update([resolved], None, TIMING, T0).reason is Hold.NOTHING_NEW


def test_new_alerts_in_a_notified_group_wait_for_group_interval():
    a, b = alert("vnpay"), alert("napas", firing_since=T0 + MIN)
    log = told(a)
    assert needs_update([a, b], log, TIMING, T0 + 2 * MIN).reason is Hold.GROUP_INTERVAL
    decision = needs_update([a, b], log, TIMING, T0 + 5 * MIN)
    assert decision.reason is NotifyReason.NEW_FIRING
    assert decision.firing == (a, b) and decision.changed == {b.key}  # a is context


def test_the_same_alert_firing_again_is_new():
    log = told(alert())
    again = alert(firing_since=T0 + 30 * MIN)
    assert needs_update([again], log, TIMING, T0 + 40 * MIN).reason is NotifyReason.NEW_FIRING


def test_repeat_interval_while_still_firing_and_never_when_zero():
    a = alert()
    log = told(a)
    assert needs_update([a], log, TIMING, T0 + 59 * MIN).reason is Hold.NOTHING_NEW
    assert needs_update([a], log, TIMING, T0 + 60 * MIN).reason is NotifyReason.REPEAT
    never = replace(TIMING, repeat_interval=timedelta(0))
    assert needs_update([a], log, never, T0 + 600 * MIN).reason is Hold.NOTHING_NEW


def test_send_resolved_false_tells_nothing_when_it_is_over():
    log = told(alert())
    quiet = replace(TIMING, send_resolved=False)
    resolved = alert(state=State.RESOLVED)
    assert needs_update([resolved], log, quiet, T0 + 10 * MIN).reason is Hold.NOTHING_NEW


def test_a_muted_alert_that_was_told_stays_remembered_until_it_resolves():
    a, b = alert("vnpay"), alert("napas", firing_since=T0 + MIN)
    log = told(a)
    # `a` is acknowledged (muted): only b goes through; a must still get its resolution later
    decision = needs_update([b], log, TIMING, T0 + 6 * MIN)
    log = after_sending(log, decision, [a, b], T0 + 6 * MIN)
    assert set(log.notified) == {a.key, b.key}
    done = alert("vnpay", state=State.RESOLVED)
    assert needs_update([done, b], log, TIMING, T0 + 12 * MIN).resolved == (done,)


def test_silences_and_acknowledgements_mute_through_one_interface():
    silence = Silence(
        uuid.uuid4(),
        (Matcher.parse("gateway=vnpay"),),
        starts_at=T0,
        ends_at=T0 + 60 * MIN,
        created_by="ops",
    )
    muter = Muters(SilenceMuter([silence]), AckMuter())
    silenced = muter.mutes(alert("vnpay"), T0 + MIN)
    assert silenced.kind is MuteKind.SILENCED
    assert str(silenced).startswith(f"silenced by {silence.id}")
    assert muter.mutes(alert("vnpay"), T0 + 60 * MIN) is None  # over
    assert muter.mutes(alert("vnpay"), T0 - MIN) is None  # not begun
    assert muter.mutes(alert("napas"), T0 + MIN) is None
    acked = alert("napas", acked_at=T0, acked_by="trực ban")
    assert muter.mutes(acked, T0 + MIN) == Mute(MuteKind.ACKNOWLEDGED, "acknowledged by trực ban")
    assert (
        muter.mutes(replace(acked, status=replace(acked.status, state=State.RESOLVED)), T0) is None
    )


def test_grouping_keys():
    a = alert("vnpay")
    assert group_key(a, ["rule", "province"]) == (
        '{province="binh-duong",rule="payment-success-rate-low"}',
        {"rule": "payment-success-rate-low", "province": "binh-duong"},
    )
    assert group_key(a, ["district"])[1] == {"district": ""}
    each = group_key(a, ["..."])
    assert each[1] == a.labels and each[0] != group_key(alert("napas"), ["..."])[0]


def notification(*alerts: Alert, language: str = "vi+en") -> Notification:
    firing = tuple(a for a in alerts if a.state is State.FIRING)
    resolved = tuple(a for a in alerts if a.state is not State.FIRING)
    return Notification(
        id=uuid.UUID(int=7),
        subscriber="ops",
        channel="email",
        group_key="{}",
        group_labels={},
        reason=NotifyReason.FIRST if firing else NotifyReason.RESOLVED,
        firing=firing,
        resolved=resolved,
        changed=frozenset(a.key for a in alerts),
        created_at=T0 + 20 * MIN,
        language=language,
        dashboard_url="http://grafana/d/ioc-overview",
    )


def test_messages_say_what_where_since_when_value_threshold_and_link():
    n = notification(alert("vnpay"), alert("napas"))
    assert email_subject(n) == "[CẢNH BÁO - NGHIÊM TRỌNG] Cổng vnpay lỗi (+1 cảnh báo khác)"
    body = email_body(n)
    assert "Có 2 cảnh báo đang xảy ra:" in body and "2 alert(s) firing:" in body
    assert "Nơi xảy ra: Bình Dương" in body and "Where: Binh Duong" in body
    assert (
        "Bắt đầu từ: 09:55 23/11/2026 (cảnh báo lúc 10:00 23/11/2026, đã kéo dài 25 phút)" in body
    )
    assert "Giá trị hiện tại: 42.0% (ngưỡng: < 95.0%)" in body
    assert "Dashboard: http://grafana/d/ioc-overview?var-province=binh-duong&from=" in body
    english = notification(alert(state=State.RESOLVED), language="en")
    assert email_subject(english) == "[RESOLVED] Gateway vnpay failing"
    assert "Resolved at: 10:10 23/11/2026 (wrong since 09:55 23/11/2026, lasted 15 min)" in (
        email_body(english)
    )
    assert "Nơi" not in email_body(english) and "Note:" not in email_body(english)
    closed = alert(state=State.RESOLVED, reason="outside the rule's schedule (office hours)")
    assert "Lưu ý: hết giờ hành chính" in email_body(notification(closed))
    payload = webhook_payload(n)
    assert payload["status"] == "firing" and len(payload["alerts"]) == 2
    assert payload["alerts"][0]["place"] == {"vi": "Bình Dương", "en": "Binh Duong"}
    assert payload["alerts"][0]["active_since"] == "2026-11-23T02:55:00Z"


def test_a_district_alert_links_to_its_district():
    a = alert(labels={"province": "quang-ninh", "district": "ha-long", "rule": "x"})
    link = dashboard_link("http://g/d/ioc-overview", a)
    assert link.startswith("http://g/d/ioc-overview?var-province=quang-ninh&var-district=ha-long")


def test_templates_render_units_local_times_and_missing_values():
    from ioc.alerting.kpis import Unit
    from ioc.alerting.templates import Number

    fields = {
        "value": Number(0.4236, Unit.RATIO, "vi"),
        "ratio": Number(3.25, Unit.FACTOR, "en"),
        "count": Number(12.0, Unit.COUNT, "vi"),
        "nothing": Number(None, Unit.COUNT, "vi"),
        "since": T0,
        "window": 90 * MIN,
        "missing": None,
    }
    text = "{value} {value:.0%} {ratio} {count} {nothing} {since} {window} {missing:.1f}"
    assert render(text, fields, "vi") == (
        "42.4% 42% 3.2x 12 không có dữ liệu 10:00 23/11/2026 1 giờ 30 phút —"
    )
    assert render("{window}", fields, "en") == "1 h 30 min"
