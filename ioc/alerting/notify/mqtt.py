"""MQTT notifier: one message per alert transition on its alert topic, and a retained
current-state message per alert.

Topics (``ioc.topics.alert_topic``)::

    ioc/alerts/v1/{province}/{rule}                     a transition (firing, resolved), QoS 1
    ioc/alerts/v1/{province}/{rule}/state/{alert_id}    its current state, QoS 1, retained

so ``ioc/alerts/v1/#`` takes everything, ``ioc/alerts/v1/+/+`` only transitions and
``ioc/alerts/v1/+/+/state/+`` only current states (a new subscriber gets every alert's last
state at once). ``alert_id`` is the alert's other labels (gateway, district, ...) made a
topic-safe slug, plus the start of its fingerprint.

``MqttPublisher`` holds one aiomqtt connection, opened on first use and again after it is
lost; a publish that fails is a retryable error (the retry stage decides when to try again).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from typing import Self

import aiomqtt

from ioc.alerting.alert import Alert
from ioc.alerting.errors import RetryableNotifyError
from ioc.alerting.notify.base import Notification
from ioc.alerting.notify.message import mqtt_state, mqtt_transition
from ioc.mqtt.client import make_client
from ioc.settings import MqttUrl
from ioc.topics import alert_topic

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^a-z0-9-]+")
_GROUP_LABEL_ORDER = ("district", "gateway", "agency", "feed", "category", "sector", "method")


def alert_id(alert: Alert) -> str:
    parts = [
        alert.labels[name]
        for name in sorted(
            set(alert.labels) - {"province", "rule", "severity"},
            key=lambda n: (_GROUP_LABEL_ORDER.index(n) if n in _GROUP_LABEL_ORDER else 99, n),
        )
        if name in _GROUP_LABEL_ORDER
    ]
    slug = _UNSAFE.sub("-", ".".join(parts).lower()).strip("-")
    return f"{slug}-{alert.fingerprint[:8]}" if slug else alert.fingerprint[:8]


def state_topic(alert: Alert) -> str:
    return f"{alert_topic(alert.province, alert.rule)}/state/{alert_id(alert)}"


class MqttPublisher:
    def __init__(
        self,
        url: MqttUrl,
        *,
        client_id: str,
        protocol: int = 4,
        ca_file: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.protocol = protocol
        self.ca_file = ca_file
        self.timeout = timeout
        self._client: aiomqtt.Client | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._drop()

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def _connect(self) -> aiomqtt.Client:
        if self._client is not None:
            return self._client
        client = make_client(
            self.url,
            identifier=self.client_id,
            ca_file=self.ca_file,
            timeout=self.timeout,
            protocol=self.protocol,
        )
        try:
            await client.__aenter__()
        except aiomqtt.MqttError as exc:
            raise RetryableNotifyError(f"cannot connect to the broker: {exc}") from exc
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):  # already disconnected
                await client.__aexit__(None, None, None)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        client = await self._connect()
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=self.timeout)
        except aiomqtt.MqttError as exc:
            await self._drop()
            raise RetryableNotifyError(f"publish to {topic} failed: {exc}") from exc


class MqttNotifier:
    kind = "mqtt"

    def __init__(self, publisher: MqttPublisher, *, retain_state: bool = True) -> None:
        self.publisher = publisher
        self.retain_state = retain_state

    async def notify(self, notification: Notification) -> None:
        for alert in notification.alerts:
            if alert.key in notification.changed:
                payload = json.dumps(mqtt_transition(alert, notification), ensure_ascii=False)
                await self.publisher.publish(
                    alert_topic(alert.province, alert.rule), payload.encode()
                )
            if self.retain_state:
                payload = json.dumps(mqtt_state(alert, notification), ensure_ascii=False)
                await self.publisher.publish(state_topic(alert), payload.encode(), retain=True)
