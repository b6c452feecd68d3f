"""The words of a notification: what is wrong, where, since when, the value against the
threshold, a link to the dashboard, and when it is over.

One function per channel format: the webhook's JSON body (shaped like Alertmanager's), the
e-mail's subject and plain-text body (Vietnamese, English or both), the MQTT transition and
retained-state messages. Times are shown in Asia/Ho_Chi_Minh. Every phrase of the e-mail is
in one table per language (``WORDS``): a new language is a new table, not a new branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import EvaluationReason, State
from ioc.alerting.kpis import Unit
from ioc.alerting.notify.base import Notification
from ioc.alerting.templates import Moment, Number, place_names


@dataclass(frozen=True)
class Words:
    """Every phrase of a notification in one language; ``{name}`` placeholders."""

    severity_names: dict[str, str]
    more: str
    firing_tag: str
    resolved_tag: str
    where: str
    severity: str
    since: str
    value_firing: str
    resolved_at: str
    value_resolved: str
    note: str
    acknowledged: str
    dashboard: str
    firing_count: str
    resolved_count: str
    sent_because: str
    hours_minutes: str
    minutes: str
    ended_because: dict[str, str]
    """A resolution that is not "the value is back to normal" says why it ended."""

    def severity_name(self, code: str) -> str:
        return self.severity_names.get(code, code)


WORDS = {
    "vi": Words(
        severity_names={"critical": "nghiêm trọng", "warning": "cảnh báo", "info": "thông tin"},
        more=" (+{count} cảnh báo khác)",
        firing_tag="[CẢNH BÁO - {severity}]",
        resolved_tag="[ĐÃ KHẮC PHỤC]",
        where="Nơi xảy ra: {place}",
        severity="Mức độ: {severity}",
        since="Bắt đầu từ: {active} (cảnh báo lúc {firing}, đã kéo dài {duration})",
        value_firing="Giá trị hiện tại: {value} (ngưỡng: {op} {threshold})",
        resolved_at="Đã khắc phục lúc: {resolved} (xảy ra từ {active}, kéo dài {duration})",
        value_resolved="Giá trị hiện tại: {value} (ngưỡng cảnh báo: {op} {threshold})",
        note="Lưu ý: {note}",
        acknowledged="Đã xác nhận bởi: {by}",
        dashboard="Bảng điều khiển: {link}",
        firing_count="Có {count} cảnh báo đang xảy ra:",
        resolved_count="{count} cảnh báo đã khắc phục:",
        sent_because="(Lý do gửi: {reason}; mã thông báo {id})",
        hours_minutes="{hours} giờ {minutes} phút",
        minutes="{minutes} phút",
        ended_because={
            EvaluationReason.OUTSIDE_SCHEDULE.value: (
                "hết giờ hành chính, quy tắc tạm ngừng theo dõi"
            ),
            EvaluationReason.NO_DATA_OK.value: "không còn đủ dữ liệu để đánh giá",
            EvaluationReason.RULE_CHANGED.value: "quy tắc cảnh báo đã thay đổi hoặc bị gỡ bỏ",
        },
    ),
    "en": Words(
        severity_names={},
        more=" (+{count} more)",
        firing_tag="[ALERT - {severity}]",
        resolved_tag="[RESOLVED]",
        where="Where: {place}",
        severity="Severity: {severity}",
        since="Since: {active} (firing since {firing}, for {duration})",
        value_firing="Current value: {value} (threshold: {op} {threshold})",
        resolved_at="Resolved at: {resolved} (wrong since {active}, lasted {duration})",
        value_resolved="Current value: {value} (alert threshold: {op} {threshold})",
        note="Note: {note}",
        acknowledged="Acknowledged by: {by}",
        dashboard="Dashboard: {link}",
        firing_count="{count} alert(s) firing:",
        resolved_count="{count} alert(s) resolved:",
        sent_because="(Sent because: {reason}; notification {id})",
        hours_minutes="{hours} h {minutes} min",
        minutes="{minutes} min",
        ended_because={
            EvaluationReason.OUTSIDE_SCHEDULE.value: (
                "office hours are over: the rule is not judged now"
            ),
            EvaluationReason.NO_DATA_OK.value: "not enough data to judge any more",
            EvaluationReason.RULE_CHANGED.value: "the alert rule was changed or removed",
        },
    ),
}


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment else None


def _local(moment: datetime | None) -> str:
    return format(Moment(moment, "vi"), "")


def place(alert: Alert, language: str) -> str:
    """``Dĩ An, Bình Dương`` / ``Di An, Binh Duong``."""
    names = place_names(alert.labels, language)
    return ", ".join(n for n in (names.get("district_name"), names["province_name"]) if n)


def dashboard_link(base: str, alert: Alert) -> str:
    """The dashboard, filtered to the alert's province (and district), around its time."""
    since = alert.status.active_since or alert.status.firing_since
    params: dict[str, Any] = {"var-province": alert.province}
    if alert.district:
        params["var-district"] = alert.district
    if since is not None:
        params["from"] = int((since - timedelta(hours=1)).timestamp() * 1000)
        end = alert.status.resolved_at
        params["to"] = int((end + timedelta(minutes=30)).timestamp() * 1000) if end else "now"
    return f"{base}{'&' if '?' in base else '?'}{urlencode(params)}"


def _value(alert: Alert, value: float | None, language: str) -> str:
    unit = Unit(alert.unit) if alert.unit else Unit.COUNT
    return format(Number(value, unit, language), "")


def _duration(start: datetime | None, end: datetime, language: str) -> str:
    if start is None:
        return "—"
    minutes = max(0, int((end - start).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    words = WORDS[language]
    return (words.hours_minutes if hours else words.minutes).format(hours=hours, minutes=minutes)


def webhook_payload(n: Notification) -> dict[str, Any]:
    """The JSON body: one notification, its group, and every alert in it."""
    return {
        "version": "1",
        "notification_id": str(n.id),
        "status": n.status,
        "reason": n.reason.value,
        "subscriber": n.subscriber,
        "group_key": n.group_key,
        "group_labels": n.group_labels,
        "sent_at": _iso(n.created_at),
        "dashboard_url": n.dashboard_url,
        "alerts": [
            {
                "rule": a.rule,
                "fingerprint": a.fingerprint,
                "status": a.state.value,
                "changed": a.key in n.changed,
                "severity": a.severity,
                "labels": a.labels,
                "province": a.province,
                "district": a.district,
                "place": {"vi": place(a, "vi"), "en": place(a, "en")},
                "summary": a.summary,
                "description": a.description,
                "value": a.status.last_value,
                "op": a.op,
                "threshold": a.threshold,
                "active_since": _iso(a.status.active_since),
                "firing_since": _iso(a.status.firing_since),
                "resolved_at": _iso(a.status.resolved_at),
                "reason": a.reason,
                "acknowledged_by": a.acked_by,
                "dashboard_url": dashboard_link(n.dashboard_url, a),
            }
            for a in n.alerts
        ],
    }


def _languages(n: Notification) -> list[str]:
    return ["vi", "en"] if n.language == "vi+en" else [n.language]


def email_subject(n: Notification) -> str:
    first = n.alerts[0]
    language = _languages(n)[0]
    words = WORDS[language]
    count = len(n.firing) if n.firing else len(n.resolved)
    more = words.more.format(count=count - 1) if count > 1 else ""
    tag = (
        words.firing_tag.format(severity=words.severity_name(first.severity).upper())
        if n.firing
        else words.resolved_tag
    )
    return f"{tag} {first.summary[language]}{more}"


def _alert_lines(a: Alert, n: Notification, language: str) -> list[str]:
    s = a.status
    words = WORDS[language]
    value = _value(a, s.last_value, language)
    threshold = _value(a, a.threshold, language)
    lines = [f"• {a.summary[language]}", "  " + words.where.format(place=place(a, language))]
    if a.state is State.FIRING:
        lines += [
            "  " + words.severity.format(severity=words.severity_name(a.severity)),
            "  "
            + words.since.format(
                active=_local(s.active_since),
                firing=_local(s.firing_since),
                duration=_duration(s.active_since, n.created_at, language),
            ),
            "  " + words.value_firing.format(value=value, op=a.op, threshold=threshold),
        ]
    else:
        lines += [
            "  "
            + words.resolved_at.format(
                resolved=_local(s.resolved_at),
                active=_local(s.active_since),
                duration=_duration(s.active_since, s.resolved_at or n.created_at, language),
            ),
            "  " + words.value_resolved.format(value=value, op=a.op, threshold=threshold),
        ]
        if a.reason in words.ended_because:
            lines.append("  " + words.note.format(note=words.ended_because[a.reason]))
    if a.description:
        lines.append(f"  {a.description[language]}")
    if a.acked_by:
        lines.append("  " + words.acknowledged.format(by=a.acked_by))
    lines.append("  " + words.dashboard.format(link=dashboard_link(n.dashboard_url, a)))
    return lines


def email_body(n: Notification) -> str:
    parts = []
    for language in _languages(n):
        words = WORDS[language]
        lines: list[str] = []
        if n.firing:
            lines.append(words.firing_count.format(count=len(n.firing)))
            for a in n.firing:
                lines += _alert_lines(a, n, language)
        if n.resolved:
            lines.append(words.resolved_count.format(count=len(n.resolved)))
            for a in n.resolved:
                lines += _alert_lines(a, n, language)
        lines.append(words.sent_because.format(reason=n.reason.value, id=n.id))
        parts.append("\n".join(lines))
    return "\n\n----\n\n".join(parts) + "\n"


def mqtt_transition(a: Alert, n: Notification) -> dict[str, Any]:
    """One alert's transition (firing or resolved), published once on its alert topic."""
    return {
        "notification_id": str(n.id),
        "rule": a.rule,
        "fingerprint": a.fingerprint,
        "state": a.state.value,
        "severity": a.severity,
        "labels": a.labels,
        "summary": a.summary,
        "value": a.status.last_value,
        "op": a.op,
        "threshold": a.threshold,
        "active_since": _iso(a.status.active_since),
        "firing_since": _iso(a.status.firing_since),
        "resolved_at": _iso(a.status.resolved_at),
        "at": _iso(n.created_at),
        "dashboard_url": dashboard_link(n.dashboard_url, a),
    }


def mqtt_state(a: Alert, n: Notification) -> dict[str, Any]:
    """The retained current state of one alert."""
    return {**mqtt_transition(a, n), "acknowledged_by": a.acked_by}
