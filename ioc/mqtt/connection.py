"""The asyncio side of one MQTT client connection, shared by our receive and publish paths.

``ClientConnection`` holds what ``ioc.mqtt.subscriber`` (the ingester's subscriber) and
``ioc.mqtt.publisher`` (the bulk publisher) both need from a TCP or TLS connection to the
broker: the transport, a ``Decoder``, the CONNACK and "closed" futures, writes that remember
when they happened, and keepalive: a PINGREQ on a loop timer when nothing was written for half
the keepalive, and an abort when no answer came within it (any read counts as an answer).
What arrives is the subclass's business (``data_received``), and so is what a keepalive
timeout means for its owner (``keepalive_expired``).
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

from ioc.mqtt.wire import PINGREQ, PROTOCOL_5, ConnAck, Connect, Decoder, Property
from ioc.settings import MqttUrl


def session_connect(
    url: MqttUrl,
    client_id: str,
    *,
    keepalive: int,
    protocol: int,
    session_expiry: int,
    receive_maximum: int | None = None,
) -> bytes:
    """The encoded CONNECT of a persistent session (clean_session=False; MQTT 5: with its
    expiry and, for a subscriber, how many unacknowledged messages it takes), the
    credentials from the URL: what our subscriber and our publisher both send."""
    properties = {}
    if protocol == PROTOCOL_5:
        properties = {Property.SESSION_EXPIRY_INTERVAL: session_expiry}
        if receive_maximum is not None:
            properties[Property.RECEIVE_MAXIMUM] = min(receive_maximum, 0xFFFF)
    return Connect(
        client_id,
        keepalive=keepalive,
        clean_session=False,
        username=url.username,
        password=url.password,
        protocol=protocol,
        properties=properties,
    ).encode(protocol)


class ClientConnection(asyncio.Protocol):
    """One connection to the broker; subclasses read, owners decide what to do with it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: int) -> None:
        self.loop = loop
        self.decoder = Decoder(protocol)
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[Exception | None] = loop.create_future()
        self.connack: asyncio.Future[ConnAck] = loop.create_future()
        self.keepalive = 0.0
        self.last_write = loop.time()
        self.ping_sent_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def eof_received(self) -> bool | None:
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the keepalive and resolve ``closed`` (subclasses tell their owner first)."""
        self.stop_keepalive()
        if not self.closed.done():
            self.closed.set_result(exc)

    # -- writes and keepalive ------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            self.last_write = self.loop.time()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def start_keepalive(self, keepalive: float) -> None:
        """PINGREQ on a timer of the loop (not on reads: reading may be paused)."""
        self.stop_keepalive()
        self.keepalive = keepalive
        if keepalive > 0:
            self._timer = self.loop.call_later(keepalive / 2, self._tick)

    def stop_keepalive(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def ping_overdue(self, now: float) -> bool:
        """No answer to our PINGREQ within the keepalive."""
        return self.ping_sent_at is not None and now - self.ping_sent_at > self.keepalive

    def keepalive_expired(self) -> None:
        """The broker did not answer within the keepalive: drop the connection."""
        self.abort()

    def _tick(self) -> None:
        if not self.open:
            return
        now = self.loop.time()
        if self.ping_overdue(now):
            self.keepalive_expired()
            return
        interval = self.keepalive / 2
        if now - self.last_write >= interval:
            self.write(PINGREQ)
            if self.ping_sent_at is None:
                self.ping_sent_at = now
        self._timer = self.loop.call_later(interval, self._tick)


async def open_connection(
    connection: ClientConnection, url: MqttUrl, *, ca_file: str | Path | None, timeout: float
) -> None:
    """Connect ``connection`` to the broker of ``url`` (TLS for ``mqtts://``, verified
    against ``ca_file`` or the system's CAs) within ``timeout`` seconds."""
    context = ssl.create_default_context(cafile=ca_file) if url.tls else None
    async with asyncio.timeout(timeout):
        await connection.loop.create_connection(
            lambda: connection,
            url.host,
            url.port,
            ssl=context,
            server_hostname=url.host if context else None,
        )
