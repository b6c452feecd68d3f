"""The words of a notification: what is wrong, where, since when, the value against the
threshold, a link to the dashboard, and when it is over.

One function per channel format: the webhook's JSON body (shaped like Alertmanager's), the
e-mail's subject and plain-text body (Vietnamese, English or both), the MQTT transition and
retained-state messages. Times are shown in Asia/Ho_Chi_Minh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import EvaluationReason, State
from ioc.alerting.kpis import Unit
from ioc.alerting.notify.base import Notification
from ioc.alerting.templates import Moment, Number, place_names

SEVERITY_VI = {"critical": "nghiêm trọng", "warning": "cảnh báo", "info": "thông tin"}
STATE_VI = {"firing": "đang xảy ra", "resolved": "đã khắc phục"}
ENDED_BECAUSE = {
    # a resolution that is not "the value is back to normal" says so
    EvaluationReason.OUTSIDE_SCHEDULE.value: (
        "hết giờ hành chính, quy tắc tạm ngừng theo dõi",
        "office hours are over: the rule is not judged now",
    ),
    EvaluationReason.NO_DATA_OK.value: (
        "không còn đủ dữ liệu để đánh giá",
        "not enough data to judge any more",
    ),
    EvaluationReason.RULE_CHANGED.value: (
        "quy tắc cảnh báo đã thay đổi hoặc bị gỡ bỏ",
        "the alert rule was changed or removed",
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
    if language == "vi":
        return f"{hours} giờ {minutes} phút" if hours else f"{minutes} phút"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


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
    count = len(n.firing) if n.firing else len(n.resolved)
    more = ""
    if count > 1:
        more = f" (+{count - 1} cảnh báo khác)" if language == "vi" else f" (+{count - 1} more)"
    if language == "vi":
        tag = (
            "[ĐÃ KHẮC PHỤC]"
            if not n.firing
            else (f"[CẢNH BÁO - {SEVERITY_VI.get(first.severity, first.severity).upper()}]")
        )
    else:
        tag = "[RESOLVED]" if not n.firing else f"[ALERT - {first.severity.upper()}]"
    return f"{tag} {first.summary[language]}{more}"


def _alert_lines(a: Alert, n: Notification, language: str) -> list[str]:
    s = a.status
    value = _value(a, s.last_value, language)
    threshold = _value(a, a.threshold, language)
    link = dashboard_link(n.dashboard_url, a)
    if language == "vi":
        lines = [f"• {a.summary['vi']}", f"  Nơi xảy ra: {place(a, 'vi')}"]
        if a.state is State.FIRING:
            lines += [
                f"  Mức độ: {SEVERITY_VI.get(a.severity, a.severity)}",
                f"  Bắt đầu từ: {_local(s.active_since)} (cảnh báo lúc {_local(s.firing_since)}, "
                f"đã kéo dài {_duration(s.active_since, n.created_at, 'vi')})",
                f"  Giá trị hiện tại: {value} (ngưỡng: {a.op} {threshold})",
            ]
        else:
            lines += [
                f"  Đã khắc phục lúc: {_local(s.resolved_at)} (xảy ra từ {_local(s.active_since)}, "
                f"kéo dài {_duration(s.active_since, s.resolved_at or n.created_at, 'vi')})",
                f"  Giá trị hiện tại: {value} (ngưỡng cảnh báo: {a.op} {threshold})",
            ]
            if a.reason in ENDED_BECAUSE:
                lines.append(f"  Lưu ý: {ENDED_BECAUSE[a.reason][0]}")
        if a.description:
            lines.append(f"  {a.description['vi']}")
        if a.acked_by:
            lines.append(f"  Đã xác nhận bởi: {a.acked_by}")
        lines.append(f"  Bảng điều khiển: {link}")
    else:
        lines = [f"• {a.summary['en']}", f"  Where: {place(a, 'en')}"]
        if a.state is State.FIRING:
            lines += [
                f"  Severity: {a.severity}",
                f"  Since: {_local(s.active_since)} (firing since {_local(s.firing_since)}, "
                f"for {_duration(s.active_since, n.created_at, 'en')})",
                f"  Current value: {value} (threshold: {a.op} {threshold})",
            ]
        else:
            lines += [
                f"  Resolved at: {_local(s.resolved_at)} (wrong since {_local(s.active_since)}, "
                f"lasted {_duration(s.active_since, s.resolved_at or n.created_at, 'en')})",
                f"  Current value: {value} (alert threshold: {a.op} {threshold})",
            ]
            if a.reason in ENDED_BECAUSE:
                lines.append(f"  Note: {ENDED_BECAUSE[a.reason][1]}")
        if a.description:
            lines.append(f"  {a.description['en']}")
        if a.acked_by:
            lines.append(f"  Acknowledged by: {a.acked_by}")
        lines.append(f"  Dashboard: {link}")
    return lines


def email_body(n: Notification) -> str:
    parts = []
    for language in _languages(n):
        lines: list[str] = []
        if language == "vi":
            if n.firing:
                lines.append(f"Có {len(n.firing)} cảnh báo đang xảy ra:")
                for a in n.firing:
                    lines += _alert_lines(a, n, "vi")
            if n.resolved:
                lines.append(f"{len(n.resolved)} cảnh báo đã khắc phục:")
                for a in n.resolved:
                    lines += _alert_lines(a, n, "vi")
            lines.append(f"(Lý do gửi: {n.reason.value}; mã thông báo {n.id})")
        else:
            if n.firing:
                lines.append(f"{len(n.firing)} alert(s) firing:")
                for a in n.firing:
                    lines += _alert_lines(a, n, "en")
            if n.resolved:
                lines.append(f"{len(n.resolved)} alert(s) resolved:")
                for a in n.resolved:
                    lines += _alert_lines(a, n, "en")
            lines.append(f"(Sent because: {n.reason.value}; notification {n.id})")
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
