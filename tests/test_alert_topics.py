"""The alert topic layout, and whether the broker's ACL lets alerts flow through it."""

from __future__ import annotations

from datetime import UTC, datetime

from ioc.alerting.alert import Alert
from ioc.alerting.evaluate import AlertStatus, State
from ioc.alerting.notify.mqtt import state_topic
from ioc.topics import alert_topic
from tests.conftest import repo_root

SUBSCRIBER_FILTER = "ioc/alerts/v1/#"


def matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching (a filter's ``+`` is one level, ``#`` the rest)."""
    wanted, parts = topic_filter.split("/"), topic.split("/")
    for index, level in enumerate(wanted):
        if level == "#":
            return True
        if index >= len(parts) or level not in ("+", parts[index]):
            return False
    return len(wanted) == len(parts)


def acl_rights(user: str) -> list[tuple[str, str]]:
    """(access, pattern) of one user of mosquitto/acl."""
    rights, current = [], None
    for line in (repo_root() / "mosquitto" / "acl").read_text().splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user":
            current = words[1]
        elif words[0] == "topic" and current == user:
            access, pattern = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            rights.append((access, pattern))
    return rights


def allowed(user: str, access: str, topic_or_filter: str) -> bool:
    return any(
        matches(pattern, topic_or_filter)
        for kind, pattern in acl_rights(user)
        if kind in (access, "readwrite")
    )


def an_alert(**labels: str) -> Alert:
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    return Alert(
        rule="dossiers-late-share-high",
        fingerprint="0123456789abcdef",
        labels={"province": "ba-ria-vung-tau", **labels},
        severity="warning",
        status=AlertStatus(State.FIRING, now, now),
        reason="",
        op=">",
        threshold=0.35,
        unit="ratio",
        summary={"vi": "x", "en": "x"},
    )


def test_transitions_and_states_have_their_own_filters_under_one_root():
    alert = an_alert(agency="BRVT.UBND.VUNG-TAU")
    transition = alert_topic(alert.province, alert.rule)
    state = state_topic(alert)
    assert transition == "ioc/alerts/v1/ba-ria-vung-tau/dossiers-late-share-high"
    assert state == f"{transition}/state/brvt-ubnd-vung-tau-01234567"  # no '/', '+', '#'
    assert matches(SUBSCRIBER_FILTER, transition) and matches(SUBSCRIBER_FILTER, state)
    assert matches("ioc/alerts/v1/+/+", transition) and not matches("ioc/alerts/v1/+/+", state)
    assert matches("ioc/alerts/v1/+/+/state/+", state)
    assert not matches("ioc/v1/#", transition)  # the ingester never sees alerts
    assert state_topic(an_alert()).endswith("/state/01234567")


def test_the_broker_acl_lets_the_alerter_publish_and_subscribers_read_alerts():
    alert = an_alert(agency="SXD")
    for topic in (alert_topic(alert.province, alert.rule), state_topic(alert)):
        assert allowed("alerter", "write", topic), topic
        assert not allowed("ingester", "read", topic)
    assert allowed("subscriber", "read", SUBSCRIBER_FILTER)
    assert not allowed("subscriber", "write", alert_topic(alert.province, alert.rule))
