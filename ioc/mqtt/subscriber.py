"""``FastSource``: the ``MessageSource`` seam on a thin asyncio protocol and ``ioc.mqtt.wire``.

Why: paho reads one packet per call and runs a Python callback chain for each, about 60 µs of
CPU per message; here each read from the socket is decoded whole (every complete packet in the
buffer, a few µs each) and all the PUBACKs of a committed batch go out in one write. Everything
runs on the event loop: no thread, no lock.

The semantics are those of ``PahoSource`` (see ``ioc.mqtt.paho``):

- A QoS 1 message is acknowledged only by ``ack()``, i.e. after its commit.
- Pending window: every message received (QoS 0 too) takes a slot until ``ack()`` releases it.
  When ``max_pending`` are taken, decoding stops at that message, whatever else was read stays
  buffered, and the transport stops reading the socket, so the broker keeps the rest. ``ack()``
  frees slots, decodes what was held back and resumes reading.
- Sessions: a stable client id with a persistent session (clean_session=False for 3.1.1,
  clean_start=False with a session expiry and Receive Maximum for MQTT 5). Each accepted
  CONNACK starts a new session number; a message from an earlier session is never acknowledged
  on a later connection (its packet id may now mean another message), only released.
- Keepalive: a timer on the loop sends PINGREQ when nothing else was sent for half the
  keepalive, also while the application is busy or reading is paused. A missing PINGRESP
  closes the connection only while reading (a paused reader cannot see it).
- Any loss or refusal (CONNACK return code, SUBACK failure, protocol error, timeout) is
  logged when the state changes and retried with exponential backoff up to ``backoff.maximum``;
  the source never raises into the ingester.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Self, TypeVar

from ioc.mqtt.connection import ClientConnection, open_connection, session_connect
from ioc.mqtt.port import Received
from ioc.mqtt.wire import (
    DISCONNECT,
    PROTOCOL_5,
    PROTOCOL_311,
    ConnAck,
    Disconnect,
    MqttProtocolError,
    Packet,
    PingResp,
    Property,
    Publish,
    SubAck,
    Subscribe,
    puback,
    reason_text,
)
from ioc.runtime import Backoff, StateLog
from ioc.settings import MqttUrl

log = logging.getLogger(__name__)

SUBSCRIBE_PACKET_ID = 1
RECONNECT_BACKOFF = Backoff(initial=0.5, maximum=15.0)  # 0.5, 1, 2, 4, 8, 15, 15 ... s
_T = TypeVar("_T")


class _Refused(Exception):
    """The broker answered, and said no (CONNACK or SUBACK failure)."""


class _Connection(ClientConnection):
    """One connection of a ``FastSource``: bytes in to the decoder, up to the free slots."""

    def __init__(self, source: FastSource, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop, source.protocol)
        self.source = source
        self.suback: asyncio.Future[SubAck] = loop.create_future()
        self.accepted = False
        self.paused = False
        self.leaving = False

    def data_received(self, data: bytes) -> None:
        if self.leaving:
            return  # after our DISCONNECT: whatever comes is redelivered to the next session
        self.ping_sent_at = None
        self.decoder.feed(data)
        self.source._drain(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.decoder.reset()
        self.source._lost(self)
        super().connection_lost(exc)

    def pause(self) -> None:
        if not self.paused and self.open:
            assert self.transport is not None
            self.paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self.paused and self.open:
            assert self.transport is not None
            self.paused = False
            self.ping_sent_at = None  # a PINGRESP may be waiting in the socket
            self.transport.resume_reading()

    def leave(self) -> None:
        """DISCONNECT, then read until the broker closes.

        The broker handles a connection's packets in order, so once it has closed, every PUBACK
        written before the DISCONNECT has been applied. Closing first instead would race a
        successor with the same client id: its CONNECT takes the session over and the old
        connection's unread PUBACKs are discarded (redelivered, then recognised as duplicates).
        """
        self.leaving = True
        self.write(DISCONNECT)
        if self.paused and self.open:
            assert self.transport is not None
            self.paused = False
            self.transport.resume_reading()  # to see the broker's end of the connection

    def ping_overdue(self, now: float) -> bool:
        # while reading is paused the PINGRESP waits unread in the socket: not a dead broker
        return not self.paused and super().ping_overdue(now)

    def keepalive_expired(self) -> None:
        self.source._log_state("no PINGRESP within the keepalive; reconnecting")
        self.abort()


class FastSource:
    """QoS 1 subscriber with manual acknowledgement on the event loop (see the module doc)."""

    def __init__(
        self,
        url: MqttUrl,
        topic_filter: str,
        *,
        client_id: str,
        shared_group: str | None = None,
        max_pending: int = 2000,
        protocol: int = PROTOCOL_311,
        keepalive: int = 30,
        ca_file: str | None = None,
        session_expiry: int = 7 * 24 * 3600,
        connect_timeout: float = 10.0,
        backoff: Backoff = RECONNECT_BACKOFF,
    ) -> None:
        if protocol not in (PROTOCOL_311, PROTOCOL_5):
            raise ValueError("protocol must be 4 (MQTT 3.1.1) or 5 (MQTT 5)")
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.url = url
        self.topic_filter = (
            f"$share/{shared_group}/{topic_filter}" if shared_group else topic_filter
        )
        self.client_id = client_id
        self.max_pending = max_pending
        self.protocol = protocol
        self.keepalive = keepalive
        self.ca_file = ca_file
        self.session_expiry = session_expiry
        self.connect_timeout = connect_timeout
        self.backoff = backoff
        self.connected = False  # CONNACK accepted on the current connection
        self.subscribed = False  # and SUBACK granted: messages published now are queued for us
        self.connect_failures = 0
        self.session_present: bool | None = None
        self._queue: collections.deque[Received] = collections.deque()
        self._pending = 0
        self._session = 0
        self._live: _Connection | None = None  # the connection whose CONNACK was accepted
        self._conn: _Connection | None = None  # the latest connection, in any state
        self._waiter: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        # a repeating failure is logged when it changes
        self._log_state = StateLog(log, "mqtt %s", broker=f"{self.url.host}:{self.url.port}")

    # -- the seam ------------------------------------------------------------------------------

    @property
    def state(self) -> str | None:
        """The connection's state as last logged ("connected", or why not); None at first."""
        return self._log_state.last

    async def __aenter__(self) -> Self:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"mqtt {self.client_id}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        conn = self._conn
        if conn is not None and not conn.closed.done():
            try:
                await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
            except TimeoutError:
                conn.abort()
        self.connected = self.subscribed = False
        self._live = None

    async def batch(self, max_size: int, max_wait: float) -> list[Received]:
        """Wait up to ``max_wait`` s for a first message; return it with all that are queued."""
        queue = self._queue
        if not queue and max_wait > 0:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(max_wait, _resolve, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        if len(queue) <= max_size:
            taken = list(queue)
            queue.clear()
            return taken
        popleft = queue.popleft
        return [popleft() for _ in range(max_size)]

    def ack(self, messages: Iterable[Received]) -> int:
        """PUBACK the committed messages of this session in one write; free every slot."""
        live = self._live
        session = self._session
        acks: list[bytes] = []
        released = 0
        for message in messages:
            released += 1
            if message.qos and message.session == session and live is not None:
                acks.append(puback(message.mid))
        if acks and live is not None:
            live.write(b"".join(acks))
        self._free(released)
        return len(acks)

    def release(self, messages: Iterable[Received]) -> None:
        """Free the slots of messages given up unacknowledged (the broker redelivers them)."""
        self._free(sum(1 for _ in messages))

    def _free(self, count: int) -> None:
        if count:
            self._pending -= count
            conn = self._conn
            if conn is not None and conn.paused:
                self._drain(conn)

    def pending(self) -> int:
        """Messages received and not yet acknowledged or dropped."""
        return self._pending

    def queued(self) -> int:
        """Messages received and not yet taken by ``batch``."""
        return len(self._queue)

    # -- receiving -----------------------------------------------------------------------------

    def _drain(self, conn: _Connection) -> None:
        """Decode what ``conn`` has buffered, up to the free slots; pause or resume reading."""
        transport = conn.transport
        if transport is None or transport.is_closing():
            return  # what an old connection still holds is never decoded: it is redelivered
        room = self.max_pending - self._pending
        if room > 0:
            try:
                packets = conn.decoder.packets(room)
            except MqttProtocolError as exc:
                self._log_state(f"protocol error: {exc}; reconnecting")
                conn.abort()
                return
            if packets:
                self._dispatch(conn, packets)
        if self._pending >= self.max_pending:
            conn.pause()
        else:
            conn.resume()

    def _dispatch(self, conn: _Connection, packets: list[Packet]) -> None:
        queue = self._queue
        append = queue.append
        received_before = len(queue)
        now = time.time()
        session = self._session
        for packet in packets:
            if type(packet) is Publish:
                append(
                    Received(
                        packet.topic, packet.payload, packet.packet_id, packet.qos, session, now
                    )
                )
            elif type(packet) is ConnAck:
                if conn.connack.done():
                    self._log_state("protocol error: a second CONNACK; reconnecting")
                    conn.abort()
                    break
                # 3.1.1: return code 0 only; MQTT 5: reason codes below 0x80 are successes
                limit = 1 if self.protocol == PROTOCOL_311 else 0x80
                accepted = packet.return_code < limit
                if accepted:  # a new session number before the messages that follow it
                    self._session += 1
                    session = self._session
                    self._live = conn
                    conn.accepted = True
                if not conn.connack.done():
                    conn.connack.set_result(packet)
            elif type(packet) is SubAck:
                if packet.packet_id == SUBSCRIBE_PACKET_ID and not conn.suback.done():
                    conn.suback.set_result(packet)
            elif type(packet) is PingResp:
                pass
            elif type(packet) is Disconnect:  # MQTT 5: the broker says why it closes
                self._log_state(
                    f"disconnected by the broker: {reason_text(packet.reason_code, PROTOCOL_5)}"
                )
                conn.abort()
                break
            else:
                log.debug("mqtt packet ignored", extra={"packet": type(packet).__name__})
        received = len(queue) - received_before  # counted even if the loop broke off
        if received:
            self._pending += received
            waiter = self._waiter
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _lost(self, conn: _Connection) -> None:
        if self._live is conn:
            self._live = None
            self.connected = self.subscribed = False

    # -- connecting ----------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                await self._connection()
                failures = 0  # it was up: the next attempt comes after the shortest delay
            except _Refused as exc:
                failures += 1
                self.connect_failures += 1
                self._log_state(f"{exc}; retrying")
            except (OSError, TimeoutError, ConnectionError, MqttProtocolError) as exc:
                failures += 1
                self.connect_failures += 1
                self._log_state(f"broker unreachable ({type(exc).__name__}: {exc}); retrying")
            except Exception:  # never let a bug here end the ingester's intake silently
                failures += 1
                self.connect_failures += 1
                log.exception("mqtt connection failed unexpectedly; retrying")
            if not self._stopping:
                await asyncio.sleep(self.backoff.delay(max(failures, 1)))

    async def _connection(self) -> None:
        """Connect, subscribe, and return when the connection is lost (raise if it never was)."""
        loop = asyncio.get_running_loop()
        conn = _Connection(self, loop)
        await open_connection(conn, self.url, ca_file=self.ca_file, timeout=self.connect_timeout)
        self._conn = conn
        try:
            conn.start_keepalive(self.keepalive)
            conn.write(self._connect_packet())
            connack = await self._reply(conn, conn.connack, "CONNACK")
            if not conn.accepted:
                raise _Refused(
                    f"connection refused: {reason_text(connack.return_code, self.protocol)}"
                )
            keepalive = connack.properties.get(Property.SERVER_KEEP_ALIVE)
            if isinstance(keepalive, int) and keepalive != self.keepalive:
                conn.start_keepalive(keepalive)
            self.session_present = connack.session_present
            self.connected = not conn.closed.done()
            conn.write(
                Subscribe(SUBSCRIBE_PACKET_ID, ((self.topic_filter, 1),)).encode(self.protocol)
            )
            suback = await self._reply(conn, conn.suback, "SUBACK")
            if suback.return_codes[0] >= 0x80:
                raise _Refused(
                    f"subscription to {self.topic_filter!r} refused ({suback.return_codes[0]:#x})"
                )
            self.subscribed = not conn.closed.done()
            if self.subscribed:
                self._log_state.set("connected")
                log.info(
                    "mqtt connected",
                    extra={"session_present": connack.session_present, "session": self._session},
                )
            exc = await asyncio.shield(conn.closed)  # cancelling us must not cancel it
            if not self._stopping:
                self._log_state(f"disconnected: {exc or 'closed by the broker'}; reconnecting")
        finally:
            self.connected = self.subscribed = False
            if not conn.closed.done():
                if self._stopping and conn.accepted:
                    conn.leave()  # a clean end: the session stays, acks are applied first
                elif conn.transport is not None:
                    conn.transport.close()

    async def _reply(self, conn: _Connection, reply: asyncio.Future[_T], name: str) -> _T:
        """The broker's answer, or an error if the connection closes or the time runs out."""
        done, _ = await asyncio.wait(
            (reply, conn.closed), timeout=self.connect_timeout, return_when="FIRST_COMPLETED"
        )
        if reply in done:
            return reply.result()
        if conn.closed in done:
            raise ConnectionError(f"connection closed before {name}")
        raise TimeoutError(f"no {name} within {self.connect_timeout:g} s")

    def _connect_packet(self) -> bytes:
        return session_connect(
            self.url,
            self.client_id,
            keepalive=self.keepalive,
            protocol=self.protocol,
            session_expiry=self.session_expiry,
            receive_maximum=self.max_pending,
        )


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
