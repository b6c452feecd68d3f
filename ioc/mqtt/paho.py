"""``PahoSource``: the ``MessageSource`` port (``ioc.mqtt.port``) on paho-mqtt 2.x with
``manual_ack=True`` (aiomqtt 2.5 acknowledges QoS 1 messages on receipt, before anything is
stored, so it cannot be used here). ``IOC_INGEST_CLIENT=paho``; the default is ``FastSource``.

Flow control: every received message takes a slot until it is acknowledged or dropped; when
``max_pending`` slots are taken, paho's network thread waits in ``on_message`` and stops
reading the socket, so a slow or absent database pushes back to the broker (which queues for
the persistent session) instead of filling memory here.

Sessions: the client id is stable and the session persistent (clean_session=False for MQTT
3.1.1, clean_start=False with a session expiry for MQTT 5), so the broker keeps what arrives
while the ingester is away and redelivers what was not acknowledged. Message ids belong to a
connection: after a reconnect a message received earlier is never acknowledged (its id may
now mean another message); the broker redelivers it and the store recognises the duplicate.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Iterable
from typing import Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ioc.mqtt.port import Received
from ioc.runtime import StateLog
from ioc.settings import MqttUrl

log = logging.getLogger(__name__)


class PahoSource:
    """QoS 1 subscriber with manual acknowledgement on paho-mqtt's network thread."""

    def __init__(
        self,
        url: MqttUrl,
        topic_filter: str,
        *,
        client_id: str,
        shared_group: str | None = None,
        max_pending: int = 2000,
        protocol: int = 4,
        keepalive: int = 30,
        ca_file: str | None = None,
        session_expiry: int = 7 * 24 * 3600,
    ) -> None:
        self.url = url
        self.client_id = client_id
        self.topic_filter = (
            f"$share/{shared_group}/{topic_filter}" if shared_group else topic_filter
        )
        self.max_pending = max_pending
        self.connected = False
        self.subscribed = False
        self.connect_failures = 0
        self._keepalive = keepalive
        self._protocol = protocol
        self._session_expiry = session_expiry
        self._queue: collections.deque[Received] = collections.deque()
        self._slots = threading.Semaphore(max_pending)
        self._pending = 0
        self._pending_lock = threading.Lock()
        self._session = 0
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._waiting = False
        # a repeating failure is logged when it changes
        self._log_state = StateLog(log, "mqtt %s", broker=f"{self.url.host}:{self.url.port}")

        kwargs: dict = {
            "callback_api_version": CallbackAPIVersion.VERSION2,
            "client_id": client_id,
            "manual_ack": True,
        }
        if protocol == 5:
            kwargs["protocol"] = paho.MQTTv5
        else:
            kwargs["protocol"] = paho.MQTTv311
            kwargs["clean_session"] = False
        self._client = paho.Client(**kwargs)
        if url.username:
            self._client.username_pw_set(url.username, url.password)
        if url.tls:
            context = ssl.create_default_context(cafile=ca_file)
            self._client.tls_set_context(context)
        self._client.reconnect_delay_set(min_delay=1, max_delay=15)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_connect_fail = self._on_connect_fail

    # -- paho's network thread ---------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.connect_failures += 1
            self._log_state(f"connection refused: {reason_code}")
            return
        self._session += 1
        self.connected = True
        self._log_state.set("connected")
        log.info("mqtt connected", extra={"session_present": flags.session_present})
        client.subscribe(self.topic_filter, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            self._log_state(f"subscription to {self.topic_filter} refused: {reason_codes}")
            return
        self.subscribed = True

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.connected = False
        self.subscribed = False
        if not self._stopping:
            self._log_state(f"disconnected: {reason_code}; reconnecting")

    def _on_connect_fail(self, client, userdata) -> None:
        self.connect_failures += 1
        self._log_state("broker unreachable; retrying")

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        session = self._session
        while not self._slots.acquire(timeout=0.5):
            if self._stopping:
                return
        if self._stopping:
            self._slots.release()
            return
        with self._pending_lock:
            self._pending += 1
        self._queue.append(
            Received(message.topic, message.payload, message.mid, message.qos, session, time.time())
        )
        if self._waiting and self._loop is not None and self._wakeup is not None:
            self._waiting = False
            self._loop.call_soon_threadsafe(self._wakeup.set)

    # -- the asyncio side ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        properties = None
        if self._protocol == 5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = self._session_expiry
            properties.ReceiveMaximum = min(self.max_pending, 65535)
            self._client.connect_async(
                self.url.host,
                self.url.port,
                self._keepalive,
                clean_start=False,
                properties=properties,
            )
        else:
            self._client.connect_async(self.url.host, self.url.port, self._keepalive)
        self._client.loop_start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping = True
        with contextlib.suppress(Exception):
            self._client.disconnect()
        await asyncio.get_running_loop().run_in_executor(None, self._client.loop_stop)
        self.connected = False

    async def batch(self, max_size: int, max_wait: float) -> list[Received]:
        assert self._wakeup is not None
        if not self._queue:
            self._wakeup.clear()
            self._waiting = True
            if not self._queue:  # re-check: a message may have landed before _waiting was set
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), max_wait)
            self._waiting = False
        taken: list[Received] = []
        queue = self._queue
        while queue and len(taken) < max_size:
            taken.append(queue.popleft())
        return taken

    def ack(self, messages: Iterable[Received]) -> int:
        sent = 0
        released = 0
        session = self._session
        for message in messages:
            released += 1
            if message.qos > 0 and message.session == session and self.connected:
                self._client.ack(message.mid, message.qos)
                sent += 1
        self._release(released)
        return sent

    def release(self, messages: Iterable[Received]) -> None:
        self._release(sum(1 for _ in messages))

    def _release(self, count: int) -> None:
        if count:
            with self._pending_lock:
                self._pending -= count
            self._slots.release(count)

    @property
    def state(self) -> str | None:
        return self._log_state.last

    def pending(self) -> int:
        return self._pending

    def queued(self) -> int:
        return len(self._queue)
