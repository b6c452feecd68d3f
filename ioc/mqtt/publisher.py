"""``FastPublisher``: a QoS 1 bulk publisher on ``ioc.mqtt.wire`` and an asyncio protocol.

Why: the aiomqtt ``Publisher`` goes through paho's per-message machinery and one awaited
future per message, which tops out at 5-7k events/s, well below what the simulation
generates (~67k events/s). Here ``send`` encodes the PUBLISH, keeps it until its PUBACK, and
appends it to an output buffer written in large chunks; PUBACKs are decoded a whole read
buffer at a time. The caller waits only when ``window`` messages are unacknowledged, so
memory stays bounded and the generator runs exactly as fast as the broker acknowledges.

Delivery is QoS 1 at-least-once:

- Every message is kept (encoded) until the broker's PUBACK for its packet id. Packet ids
  cycle through 1..65535, skipping ids still in flight.
- A lost connection (socket error, the broker closing, no PINGRESP within the keepalive) is
  reconnected with exponential backoff, and every unacknowledged message is written again,
  in its original order, with the DUP flag. A message whose PUBACK was lost may so arrive
  twice; the ingester stores it once (by ``event_id``). Nothing acknowledged by the broker
  to us is sent again, and nothing unacknowledged is dropped.
- The session is persistent (clean_session false, a stable client id), as for ``Publisher``.
- A CONNACK refusal other than "server unavailable" (bad credentials, not authorised, client
  id rejected) is not retried: ``send``/``flush``/``publish`` raise ``PublisherRefused``.

Replay window (``replay_seconds``, ``replay_max``): a PUBACK from Mosquitto means "in
memory", not "on disk". Mosquitto writes its database every ``autosave_interval`` (60 s in
``mosquitto/mosquitto.conf``) and on a clean exit; a crash (kill -9, power loss) loses what
came after the last save, queued for the ingester or in flight to it, and a publisher whose
session was in that save even reconnects with session_present set. So every acknowledged
message is kept (encoded) until it is safe: once it is older than ``replay_seconds`` (longer
than the autosave interval plus the time a save takes, so a save holds it), or once the broker
no longer holds it (the ingester acknowledges only after its commit, and then the broker drops
the message): the window keeps at most as many of the newest messages as the broker holds
(``$SYS/broker/store/messages/count`` less ``$SYS/broker/retained messages/count``) plus those
acknowledged since the count may have been taken: Mosquitto computes its counts every
``sys_interval`` (10 s by default, 2 s in ours) and publishes them only when they change, so
twice the interval between two ``$SYS/broker/uptime`` values, plus a second (12 s until two
have come). After any reconnect the window
is published
again, with new packet ids, behind the resent unacknowledged messages; the ingester stores each
event once (by ``event_id``), so a replay costs duplicates, never a second row. ``replayed``
counts them. ``send`` waits while ``replay_max`` messages are kept (memory stays bounded), and
``settle`` waits, at the end of a run, until nothing sent is at risk.

No subscriber (MQTT 5 only): a broker that restarts without the ingester's session (a crash
before its first save of it) drops every message published before the ingester subscribes
again, and its PUBACK says so only in MQTT 5 (reason code 0x10, "no matching subscribers").
Such a message is kept and published again every ``unrouted_retry`` seconds until a
subscriber takes it, for ``replay_seconds`` at most (then it is given up with a warning and
counted in ``unrouted``). Our commands publish with MQTT 5 for this reason; over MQTT 3.1.1 the
broker's silence cannot be told from a delivery.

Broker backlog pacing (``max_backlog``): Mosquitto keeps at most ``max_queued_messages`` (and
``max_queued_bytes``) per client and silently drops QoS 1 messages past them, so a backfill
faster than the ingester could lose events inside the broker with no error anywhere. The
publisher subscribes (QoS 0, on the same connection) to ``$SYS/broker/store/messages/count``,
the messages Mosquitto holds (including those queued for absent or slow sessions), published
every ``sys_interval`` seconds, retained. Above ``max_backlog`` ``send`` pauses; it resumes
at half of it or below. If the subscription is refused or no value arrives within
``backlog_timeout`` seconds, one warning is logged and publishing goes on unpaced (pacing
starts if a value comes later).
"""

from __future__ import annotations

import array
import asyncio
import logging
import sys
import time
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from ioc.models import Event
from ioc.mqtt.client import PublisherClosed, default_client_id
from ioc.mqtt.connection import ClientConnection, open_connection, session_connect
from ioc.mqtt.wire import (
    DISCONNECT,
    PROTOCOL_5,
    PROTOCOL_311,
    ConnAck,
    Disconnect,
    MqttProtocolError,
    Property,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    publish_topic,
    reason_text,
    with_packet_id,
)
from ioc.runtime import Backoff, StateLog
from ioc.settings import MqttUrl

log = logging.getLogger(__name__)

__all__ = [
    "BACKLOG_TOPIC",
    "DEFAULT_MAX_BACKLOG",
    "DEFAULT_REPLAY_MAX",
    "DEFAULT_REPLAY_SECONDS",
    "RETAINED_TOPIC",
    "UPTIME_TOPIC",
    "FastPublisher",
    "PublisherRefused",
]

BACKLOG_TOPIC = "$SYS/broker/store/messages/count"
RETAINED_TOPIC = "$SYS/broker/retained messages/count"
UPTIME_TOPIC = "$SYS/broker/uptime"
DEFAULT_REPLAY_SECONDS = 90.0
"""Acknowledged messages are kept this long for a replay after a reconnect: longer than the
broker's ``autosave_interval`` (60 s) plus the time a save takes."""
DEFAULT_REPLAY_MAX = 500_000
"""Acknowledged messages kept at most (about 300 MB of simulated events); ``send`` waits
beyond it. Above what the broker may hold with ``--max-backlog`` pacing (200,000 and one
``sys_interval`` of sending)."""
DEFAULT_MAX_BACKLOG = 200_000
"""Undelivered messages the broker may hold before a backfill pauses (well under Mosquitto's
``max_queued_messages 1000000`` per client in ``mosquitto/mosquitto.conf``)."""
_NO_MATCHING_SUBSCRIBERS = 0x10  # MQTT 5 PUBACK reason code: accepted, delivered to nobody
_COUNT_STALENESS = 12.0
"""Seconds a broker's $SYS count may lag behind until its sys_interval is seen (Mosquitto's
default sys_interval is 10 s)."""
RECONNECT_BACKOFF = Backoff(initial=0.1, maximum=10.0)  # 0.1, 0.2, 0.4 ... 10 s
_MAX_ID = 0xFFFF
_LITTLE_ENDIAN = sys.byteorder == "little"
# CONNACK codes worth retrying: the broker is there but cannot take us just now
_TRANSIENT_311 = frozenset({3})  # server unavailable
_TRANSIENT_5 = frozenset({0x88, 0x89, 0x8B, 0x9F})  # unavailable, busy, shutting down, rate


class PublisherRefused(ConnectionError):
    """The broker refused the connection (CONNACK) for a reason retrying cannot fix."""


class _Connection(ClientConnection):
    """One connection of a ``FastPublisher``: PUBACKs in, chunked writes out."""

    def __init__(self, owner: FastPublisher, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop, owner.protocol)
        self.owner = owner
        self.writable = asyncio.Event()
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        # chunks of a few hundred messages: let the kernel and the buffer hold a few of them
        assert self.transport is not None
        self.transport.set_write_buffer_limits(high=4 << 20, low=1 << 20)

    def data_received(self, data: bytes) -> None:
        self.ping_sent_at = None
        if not self.decoder.buffered() and not len(data) % 4 and data[0] == 0x40:
            # The common read: nothing but PUBACKs (40 02 id id). Checked and unpacked in
            # C, several times cheaper per message than decoding each one; anything else
            # (a $SYS value, a partial packet) goes through the Decoder.
            words = array.array("H", data)
            if _LITTLE_ENDIAN:
                words.byteswap()
            heads = words[0::2]
            if heads.count(0x4002) == len(heads):
                self.owner._acknowledged(words[1::2])
                return
        self.decoder.feed(data)
        try:
            packets = self.decoder.packets()
        except MqttProtocolError as exc:
            self.owner._state(f"protocol error from the broker: {exc}; reconnecting")
            self.abort()
            return
        self.owner._dispatch(self, packets)

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()  # wake writers: they find the connection gone
        self.owner._lost(self)
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def keepalive_expired(self) -> None:
        self.owner._state("no answer from the broker within the keepalive; reconnecting")
        self.abort()


class FastPublisher:
    """QoS 1 bulk publisher with a bounded window of unacknowledged messages (see the module doc).

    Use it as an async context manager. ``send`` is the fast path (returns once the message
    is buffered); ``publish``/``publish_raw`` return once the broker has acknowledged, like
    ``Publisher``'s; ``flush`` waits for every acknowledgement.
    """

    def __init__(
        self,
        url: MqttUrl,
        *,
        client_id: str | None = None,
        ca_file: str | Path | None = None,
        window: int = 5000,
        max_backlog: int | None = None,
        backlog_timeout: float = 30.0,
        protocol: int = PROTOCOL_311,
        keepalive: int = 30,
        connect_timeout: float = 10.0,
        chunk_bytes: int = 256 * 1024,
        backoff: Backoff = RECONNECT_BACKOFF,
        session_expiry: int = 24 * 3600,
        replay_seconds: float = DEFAULT_REPLAY_SECONDS,
        replay_max: int = DEFAULT_REPLAY_MAX,
        unrouted_retry: float = 1.0,
    ) -> None:
        if not 1 <= window < _MAX_ID:
            raise ValueError(f"window must be within 1..{_MAX_ID - 1}")
        if max_backlog is not None and max_backlog < 1:
            raise ValueError("max_backlog must be at least 1 (or None: no pacing)")
        if protocol not in (PROTOCOL_311, PROTOCOL_5):
            raise ValueError("protocol must be 4 (MQTT 3.1.1) or 5 (MQTT 5)")
        if replay_seconds < 0 or replay_max < 1:
            raise ValueError("replay_seconds must be >= 0 (0: no replay) and replay_max >= 1")
        self.url = url
        self.client_id = client_id or default_client_id(url.username)
        self.ca_file = ca_file
        self.window = window
        self.max_backlog = max_backlog
        self.backlog_timeout = backlog_timeout
        self.protocol = protocol
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.chunk_bytes = chunk_bytes
        self.backoff = backoff
        self.session_expiry = session_expiry
        self.replay_seconds = replay_seconds
        self.replay_max = replay_max
        self.unrouted_retry = unrouted_retry

        self.published = 0
        """Messages acknowledged by the broker (replays not counted again)."""
        self.replayed = 0
        """Acknowledged messages published again after a reconnect (the replay window)."""
        self.replay_wait = 0.0
        """Seconds ``send`` waited because ``replay_max`` messages were kept."""
        self.retained: int | None = None
        """The broker's last ``$SYS/broker/retained messages/count``."""
        self.unrouted = 0
        """MQTT 5 only: messages given up after ``replay_seconds`` of "no matching
        subscribers"."""
        self.unrouted_retries = 0
        """MQTT 5 only: messages published again because no subscriber took them."""
        self.retries = 0
        """Messages written again (with DUP) after a reconnect."""
        self.reconnects = 0
        self.refused = 0
        """MQTT 5 only: PUBACKs with a failure reason code (the broker did not take them)."""
        self.window_wait = 0.0
        """Seconds ``send`` waited for acknowledgements (a full window, a full write buffer,
        or no connection)."""
        self.backlog_wait = 0.0
        """Seconds ``send`` was paused because the broker's backlog was too high."""
        self.backlog: int | None = None
        """The broker's last ``$SYS/broker/store/messages/count`` (None before the first)."""
        self.backlog_paused = False
        self.backlog_pauses = 0

        self._limit = window  # MQTT 5: at most the broker's Receive Maximum
        self._inflight: dict[int, bytes] = {}  # packet id -> encoded PUBLISH, in send order
        self._window: deque[tuple[float, bytes]] = deque()  # (acked at, PUBLISH), oldest first
        self._pending_replay: deque[bytes] = deque()  # window entries to publish again
        self._replay_ids: set[int] = set()  # packet ids of replays in flight
        # (first refused, PUBLISH, counted as published already: a replay)
        self._unrouted: deque[tuple[float, bytes, bool]] = deque()
        self._unrouted_since: dict[int, float] = {}  # packet id in flight -> first refused
        self._unrouted_task: asyncio.Task[None] | None = None
        self._replay_task: asyncio.Task[None] | None = None
        self._ack_seconds: deque[list[int]] = deque()  # [second, acknowledgements in it]
        self._uptime_at: float | None = None  # when the last $SYS/broker/uptime came
        self._sys_interval: float | None = None  # the shortest gap seen between two
        self._acked: dict[int, asyncio.Future[None]] = {}  # publish_raw waiting for its id
        self._next_id = 0
        self._sub_id = 0
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._flush_scheduled = False
        self._conn: _Connection | None = None  # accepted by CONNACK, not yet lost
        self._room: asyncio.Event | None = None  # set while the window has room
        self._drained: asyncio.Event | None = None  # set while nothing is in flight
        self._online: asyncio.Event | None = None
        self._below_backlog: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._backlog_timer: asyncio.TimerHandle | None = None
        self._backlog_warned = False
        self._retained_warned = False
        self._error: BaseException | None = None
        self._closed = False
        self._state = StateLog(  # a state is logged when it changes, not on every retry
            log, "mqtt %s", client_id=self.client_id, broker=f"{self.url.host}:{self.url.port}"
        )

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def in_flight(self) -> int:
        """Messages sent (or buffered) and not yet acknowledged."""
        return len(self._inflight)

    @property
    def at_risk(self) -> int:
        """Messages a broker crash now could lose: unacknowledged, waiting to be published
        again, or acknowledged and kept in the replay window."""
        return (len(self._inflight) + len(self._pending_replay) + len(self._window)
                + len(self._unrouted))

    async def __aenter__(self) -> Self:
        """Connect (retrying an unreachable broker); raise ``PublisherRefused`` if refused."""
        self._room = asyncio.Event()
        self._room.set()
        self._drained = asyncio.Event()
        self._drained.set()
        self._online = asyncio.Event()
        self._below_backlog = asyncio.Event()
        self._below_backlog.set()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name=f"mqtt publisher {self.client_id}")
        if self.max_backlog is not None:
            self._backlog_timer = asyncio.get_running_loop().call_later(
                self.backlog_timeout, self._backlog_silent
            )
        await self._wait(self._online)
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Leave cleanly (DISCONNECT) without waiting for acknowledgements: ``flush`` first."""
        self._closed = True
        if self._backlog_timer is not None:
            self._backlog_timer.cancel()
        conn = self._conn
        if conn is not None:
            self._write_out(conn)
            conn.write(DISCONNECT)
            if conn.transport is not None:
                conn.transport.close()  # after the buffered bytes
        tasks = [
            t for t in (self._task, self._replay_task, self._unrouted_task) if t is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if conn is not None and not conn.closed.done():
            try:
                await asyncio.wait_for(asyncio.shield(conn.closed), 2.0)
            except TimeoutError:
                conn.abort()
        for future in self._acked.values():
            if not future.done():
                future.set_exception(PublisherClosed("the publisher is closed"))
        self._acked.clear()
        self._wake_all()

    # -- publishing ----------------------------------------------------------------------------

    async def send(self, topic: str, payload: bytes, *, retain: bool = False) -> int:
        """Queue one QoS 1 message for sending; return its packet id.

        Returns at once unless ``window`` messages are unacknowledged, the write buffer is
        full, there is no connection, the broker's backlog is above ``max_backlog``, or
        ``replay_max`` messages are kept (unacknowledged, or acknowledged and kept for a
        replay).
        """
        await self._admit()
        packet_id = self._allocate_id()
        await self._enqueue(
            packet_id, Publish(topic, payload, 1, packet_id, False, retain).encode(self.protocol)
        )
        return packet_id

    async def _admit(self, *, again: bool = False) -> None:
        """Wait until one more message may be sent. ``again``: a message kept already (a
        replay, one no subscriber took), which ``replay_max`` does not hold back: it counts
        there already, and the tasks publishing them are what empties it."""
        room = self._room
        if room is None:
            raise RuntimeError("use the FastPublisher as an async context manager")
        if not self._below_backlog.is_set():  # type: ignore[union-attr]
            began = time.monotonic()
            await self._wait(self._below_backlog)  # type: ignore[arg-type]
            self.backlog_wait += time.monotonic() - began
        if not again and self._kept() >= self.replay_max:
            began = time.monotonic()
            while True:
                self._trim_window(time.monotonic())
                if self._kept() < self.replay_max:
                    break
                await asyncio.sleep(0.1)
                self._check()
            self.replay_wait += time.monotonic() - began
        if not room.is_set():
            began = time.monotonic()
            await self._wait(room)
            self.window_wait += time.monotonic() - began
        self._check()

    def _kept(self) -> int:
        return len(self._window) + len(self._inflight) + len(self._unrouted)

    async def _enqueue(self, packet_id: int, data: bytes) -> None:
        """Keep ``data`` until acknowledged and write it out (in chunks)."""
        room = self._room
        assert room is not None
        self._inflight[packet_id] = data
        self._drained.clear()  # type: ignore[union-attr]
        if len(self._inflight) >= self._limit:
            room.clear()
        self._out.append(data)
        self._out_bytes += len(data)
        conn = self._conn
        if self._out_bytes >= self.chunk_bytes and conn is not None:
            self._write_out(conn)
            if not conn.writable.is_set():
                began = time.monotonic()
                await self._wait(conn.writable)
                self.window_wait += time.monotonic() - began
            else:
                await asyncio.sleep(0)  # let the loop read the PUBACKs of earlier chunks
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_write)

    async def settle(self, timeout: float) -> bool:
        """Wait until nothing sent is at risk in a broker crash (every message acknowledged,
        and then stored by a save or no longer held by the broker), ``timeout`` seconds at
        most; return whether it is so."""
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            self._trim_window(now)
            if not self.at_risk:
                return True
            if now >= deadline:
                return False
            await asyncio.sleep(min(0.2, deadline - now))
            self._check()

    async def flush(self) -> None:
        """Wait until every message sent so far has been acknowledged (and every message
        being published again after a reconnect)."""
        if self._drained is None:
            raise RuntimeError("use the FastPublisher as an async context manager")
        if self._conn is not None:
            self._write_out(self._conn)
        began = time.monotonic()
        await self._wait(self._drained)
        self.window_wait += time.monotonic() - began

    async def publish(self, event: Event) -> None:
        """Publish ``event`` to its feed topic; return when the broker has acknowledged it."""
        await self.publish_raw(
            event.topic, event.to_json()
        )

    async def publish_raw(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish a payload at QoS 1 and return once it is acknowledged (through reconnects)."""
        packet_id = await self.send(topic, payload, retain=retain)
        future = asyncio.get_running_loop().create_future()
        self._acked[packet_id] = future
        if packet_id not in self._inflight:  # acknowledged already (send yielded)
            self._acked.pop(packet_id, None)
            return
        await self._wait(future)

    # -- internals: ids, waiting, writing ------------------------------------------------------

    def _allocate_id(self) -> int:
        inflight = self._inflight
        packet_id = self._next_id
        while True:
            packet_id = packet_id + 1 if packet_id < _MAX_ID else 1
            if packet_id not in inflight and packet_id != self._sub_id:
                self._next_id = packet_id
                return packet_id

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise PublisherClosed("the publisher is closed")

    async def _wait(self, what: asyncio.Event | asyncio.Future[None]) -> None:
        """Wait for ``what``, or raise if the publisher fails or is closed meanwhile."""
        while True:
            self._check()
            if isinstance(what, asyncio.Event):
                if what.is_set():
                    return
                waiter: asyncio.Future[object] = asyncio.ensure_future(what.wait())
            else:
                if what.done():
                    what.result()
                    return
                waiter = what  # type: ignore[assignment]
            task = self._task
            assert task is not None
            done, _ = await asyncio.wait((waiter, task), return_when="FIRST_COMPLETED")
            if waiter is not what and waiter not in done:
                waiter.cancel()
            if task in done and not task.cancelled() and task.exception() is not None:
                self._error = task.exception()
            if waiter in done:
                self._check()
                if waiter is what:
                    what.result()  # type: ignore[union-attr]
                return

    def _wake_all(self) -> None:
        for event in (self._room, self._drained, self._online, self._below_backlog):
            if event is not None:
                event.set()

    def _scheduled_write(self) -> None:
        self._flush_scheduled = False
        if self._conn is not None:
            self._write_out(self._conn)

    def _write_out(self, conn: _Connection) -> None:
        if self._out:
            conn.write(b"".join(self._out))
            self._out.clear()
            self._out_bytes = 0

    # -- receiving -----------------------------------------------------------------------------

    def _dispatch(self, conn: _Connection, packets: list) -> None:  # type: ignore[type-arg]
        acks: list[int] = []
        for packet in packets:
            kind = type(packet)
            if kind is PubAck:
                if packet.reason_code == _NO_MATCHING_SUBSCRIBERS:
                    self._not_routed(packet.packet_id)
                    continue
                acks.append(packet.packet_id)
                if packet.reason_code >= 0x80:
                    self.refused += 1
                    self._state(
                        f"broker refused a message: {reason_text(packet.reason_code, PROTOCOL_5)}"
                    )
            elif kind is Publish:
                if packet.topic == BACKLOG_TOPIC:
                    self._on_backlog(packet.payload)
                elif packet.topic == RETAINED_TOPIC:
                    self._on_retained(packet.payload)
                elif packet.topic == UPTIME_TOPIC:
                    self._on_uptime()
            elif kind is ConnAck:
                if not conn.connack.done():
                    conn.connack.set_result(packet)
            elif kind is SubAck:
                if packet.packet_id == self._sub_id:
                    self._sub_id = 0
                    if packet.return_codes[0] >= 0x80:
                        self._backlog_unavailable(
                            f"subscription to {BACKLOG_TOPIC} refused (ACL?)"
                        )
                    refused = [t for (t, _), code in zip(
                        ((RETAINED_TOPIC, 0), (UPTIME_TOPIC, 0)), packet.return_codes[1:],
                        strict=False) if code >= 0x80]
                    if refused and not self._retained_warned:
                        # the replay window then keeps more than it needs
                        self._retained_warned = True
                        log.info("mqtt subscription to %s refused (ACL?)", ", ".join(refused))
            elif kind is Disconnect:
                self._state(
                    f"disconnected by the broker: {reason_text(packet.reason_code, PROTOCOL_5)}"
                )
                conn.abort()
                break
        if acks:
            self._acknowledged(acks)

    def _acknowledged(self, packet_ids: Iterable[int]) -> None:
        """PUBACKs: release the messages (an id not in flight is a resent one's second ack)
        into the replay window."""
        pop = self._inflight.pop
        before = len(self._inflight)
        waiting = self._acked
        replays = self._replay_ids
        keep = self._window.append if self.replay_seconds else None
        now = time.monotonic()
        replayed = 0
        for packet_id in packet_ids:
            data = pop(packet_id, None)
            if data is None:
                continue
            if keep is not None:
                keep((now, data))
            if replays and packet_id in replays:
                replays.discard(packet_id)
                replayed += 1
            if self._unrouted_since:
                self._unrouted_since.pop(packet_id, None)
            if waiting:
                future = waiting.pop(packet_id, None)
                if future is not None and not future.done():
                    future.set_result(None)
        left = len(self._inflight)
        if left != before:
            acked = before - left
            second = int(now)
            seconds = self._ack_seconds
            if seconds and seconds[-1][0] == second:
                seconds[-1][1] += acked
            else:
                seconds.append([second, acked])
            self.published += acked - replayed
            if left < self._limit:
                self._room.set()  # type: ignore[union-attr]
            if not left and not self._pending_replay and not self._unrouted:
                self._drained.set()  # type: ignore[union-attr]
            if keep is not None:
                self._trim_window(now)

    def _not_routed(self, packet_id: int) -> None:
        """A PUBACK "no matching subscribers": keep the message to publish it again later."""
        data = self._inflight.pop(packet_id, None)
        if data is None:
            return
        now = time.monotonic()
        first = self._unrouted_since.pop(packet_id, now)
        replay = packet_id in self._replay_ids
        self._replay_ids.discard(packet_id)
        if now - first > self.replay_seconds:
            self.unrouted += 1
            self._state(
                f"no subscriber took a message on {publish_topic(data)} for "
                f"{self.replay_seconds:g} s; giving it up"
            )
        else:
            self._unrouted.append((first, data, replay))
            if self._unrouted_task is None or self._unrouted_task.done():
                self._unrouted_task = asyncio.create_task(
                    self._run_unrouted(), name=f"mqtt unrouted {self.client_id}"
                )
        if len(self._inflight) < self._limit:
            self._room.set()  # type: ignore[union-attr]
        if not self._inflight and not self._pending_replay and not self._unrouted:
            self._drained.set()  # type: ignore[union-attr]

    async def _run_unrouted(self) -> None:
        """Publish the messages no subscriber took again, every ``unrouted_retry`` s."""
        unrouted = self._unrouted
        try:
            while unrouted:
                await asyncio.sleep(self.unrouted_retry)
                for _ in range(len(unrouted)):
                    await self._admit(again=True)
                    first, data, replay = unrouted.popleft()
                    packet_id = self._allocate_id()
                    self._unrouted_since[packet_id] = first
                    if replay:
                        self._replay_ids.add(packet_id)
                    self.unrouted_retries += 1
                    await self._enqueue(packet_id, with_packet_id(data, packet_id))
        except (PublisherClosed, PublisherRefused):
            return

    def _trim_window(self, now: float) -> None:
        """Forget the acknowledged messages that are safe (see the module doc)."""
        window = self._window
        horizon = now - self.replay_seconds
        while window and window[0][0] < horizon:
            window.popleft()
        held = self.broker_may_hold()
        if held is not None:
            while len(window) > held:
                window.popleft()

    def broker_may_hold(self) -> int | None:
        """How many of our newest acknowledged messages the broker may still hold (None:
        unknown, no reading since the connection was made). The stored-message count covers
        every client's messages, so it can only overstate ours; the acknowledgements of the
        last ``_COUNT_STALENESS`` seconds cover those that came after the count was taken."""
        if self.backlog is None:
            return None
        seconds = self._ack_seconds
        staleness = _COUNT_STALENESS
        if self._sys_interval is not None:
            staleness = min(staleness, 2 * self._sys_interval + 1)
        oldest = int(time.monotonic() - staleness)
        while seconds and seconds[0][0] < oldest:
            seconds.popleft()
        recent = sum(count for _, count in seconds)
        return max(0, self.backlog - (self.retained or 0)) + recent

    def _on_uptime(self) -> None:
        now = time.monotonic()
        if self._uptime_at is not None and now - self._uptime_at > 0.5:
            gap = now - self._uptime_at
            if self._sys_interval is None or gap < self._sys_interval:
                self._sys_interval = gap
        self._uptime_at = now

    def _on_retained(self, payload: bytes) -> None:
        try:
            self.retained = int(payload)
        except ValueError:
            return

    def _on_backlog(self, payload: bytes) -> None:
        try:
            value = int(payload)
        except ValueError:
            return
        self.backlog = value
        if self._backlog_timer is not None:
            self._backlog_timer.cancel()
            self._backlog_timer = None
        high = self.max_backlog
        if high is None:
            return
        below = self._below_backlog
        assert below is not None
        if value > high and not self.backlog_paused:
            self.backlog_paused = True
            self.backlog_pauses += 1
            below.clear()
            log.log(  # the first pause says it; the next ones are routine
                logging.WARNING if self.backlog_pauses == 1 else logging.INFO,
                "broker backlog above the high-water mark; pausing until it is below half",
                extra={"backlog": value, "max_backlog": high},
            )
        elif value <= high // 2 and self.backlog_paused:
            self.backlog_paused = False
            below.set()
            log.info("broker backlog drained; resuming", extra={"backlog": value})

    def _backlog_silent(self) -> None:
        self._backlog_timer = None
        if self.backlog is None:
            self._backlog_unavailable(
                f"no {BACKLOG_TOPIC} from the broker within {self.backlog_timeout:g} s"
            )

    def _backlog_unavailable(self, why: str) -> None:
        if not self._backlog_warned:
            self._backlog_warned = True
            if self.max_backlog is None:
                log.info(
                    "mqtt %s: the replay window is bounded by time only (%g s)",
                    why, self.replay_seconds,
                    extra={"broker": f"{self.url.host}:{self.url.port}"},
                )
                return
            log.warning(
                "mqtt %s: publishing without backlog pacing; a backlog above the broker's "
                "max_queued_messages is dropped by the broker",
                why,
                extra={"broker": f"{self.url.host}:{self.url.port}"},
            )

    def _lost(self, conn: _Connection) -> None:
        if self._conn is conn:
            self._conn = None
            self._online.clear()  # type: ignore[union-attr]

    # -- connecting ----------------------------------------------------------------------------

    async def _run(self) -> None:
        """Connect, and reconnect whenever the connection is lost, until closed."""
        failures = 0
        connected_once = False
        while not self._closed:
            try:
                up = await self._connection(connected_once)
                if up:
                    connected_once = True
                    failures = 0
            except PublisherRefused as exc:
                self._state(str(exc), logging.ERROR)
                self._error = exc
                self._wake_all()
                raise
            except (OSError, TimeoutError, ConnectionError, MqttProtocolError) as exc:
                failures += 1
                self._state(f"broker unreachable ({type(exc).__name__}: {exc}); retrying")
            if not self._closed:
                await asyncio.sleep(self.backoff.delay(max(failures, 1)))

    async def _connection(self, reconnect: bool) -> bool:
        """One connection: CONNECT, resend what is unacknowledged, then wait until it is lost.

        Returns whether the broker accepted it.
        """
        loop = asyncio.get_running_loop()
        conn = _Connection(self, loop)
        await open_connection(conn, self.url, ca_file=self.ca_file, timeout=self.connect_timeout)
        try:
            conn.start_keepalive(self.keepalive)
            conn.write(self._connect_packet())
            done, _ = await asyncio.wait(
                (conn.connack, conn.closed), timeout=self.connect_timeout,
                return_when="FIRST_COMPLETED",
            )
            if conn.connack not in done:
                if conn.closed in done:
                    raise ConnectionError("connection closed before CONNACK")
                raise TimeoutError(f"no CONNACK within {self.connect_timeout:g} s")
            connack = conn.connack.result()
            limit = 1 if self.protocol == PROTOCOL_311 else 0x80
            if connack.return_code >= limit:
                text = reason_text(connack.return_code, self.protocol)
                transient = _TRANSIENT_311 if self.protocol == PROTOCOL_311 else _TRANSIENT_5
                if connack.return_code in transient:
                    raise ConnectionError(f"connection refused: {text}")
                raise PublisherRefused(
                    f"broker {self.url.host}:{self.url.port} refused the connection of "
                    f"{self.client_id!r}: {text}"
                )
            server_keepalive = connack.properties.get(Property.SERVER_KEEP_ALIVE)
            if isinstance(server_keepalive, int):
                conn.start_keepalive(server_keepalive)
            receive_maximum = connack.properties.get(Property.RECEIVE_MAXIMUM)
            if isinstance(receive_maximum, int) and receive_maximum > 0:
                self._limit = min(self.window, receive_maximum)
            if reconnect:
                # readings of the broker before: a restarted one holds other messages now
                self.backlog = self.retained = None
                self._uptime_at = None
            if self.max_backlog is not None or self.replay_seconds:
                self._sub_id = self._allocate_id()
                topics = ((BACKLOG_TOPIC, 0), (RETAINED_TOPIC, 0), (UPTIME_TOPIC, 0))
                conn.write(Subscribe(self._sub_id, topics).encode(self.protocol))
            if reconnect:
                self.reconnects += 1
            self._resend(conn)
            if reconnect:
                self._replay_window()
            self._conn = conn
            self._online.set()  # type: ignore[union-attr]
            self._state(f"connected to {self.url.host}:{self.url.port}", logging.INFO)
            exc = await asyncio.shield(conn.closed)
            if not self._closed:
                self._state(f"connection lost ({exc or 'closed by the broker'}); reconnecting")
            return True
        finally:
            self._lost(conn)
            if not conn.closed.done() and not self._closed:
                conn.abort()

    def _replay_window(self) -> None:
        """After a reconnect: publish the acknowledged messages of the window again (the
        broker may have crashed and lost them, whatever session_present says)."""
        window = self._window
        if not window:
            return
        self._pending_replay.extend(data for _, data in window)
        window.clear()
        self._drained.clear()  # type: ignore[union-attr]
        self._state(
            f"publishing {len(self._pending_replay):,} acknowledged message(s) again in case "
            "the broker lost them", logging.INFO,
        )
        if self._replay_task is None or self._replay_task.done():
            self._replay_task = asyncio.create_task(
                self._run_replay(), name=f"mqtt replay {self.client_id}"
            )

    async def _run_replay(self) -> None:
        pending = self._pending_replay
        try:
            while pending:
                await self._admit(again=True)
                data = pending.popleft()
                packet_id = self._allocate_id()
                self._replay_ids.add(packet_id)
                self.replayed += 1
                await self._enqueue(packet_id, with_packet_id(data, packet_id))
        except (PublisherClosed, PublisherRefused):
            return
        if not self._inflight and not self._unrouted:
            self._drained.set()  # type: ignore[union-attr]

    def _resend(self, conn: _Connection) -> None:
        """Write every unacknowledged message again, in order, with DUP (what is buffered
        but was never written goes out with it, once)."""
        self._out.clear()
        self._out_bytes = 0
        if not self._inflight:
            return
        chunks = [bytes((data[0] | 0x08,)) + data[1:] for data in self._inflight.values()]
        self.retries += len(chunks)
        conn.write(b"".join(chunks))

    def _connect_packet(self) -> bytes:
        return session_connect(
            self.url,
            self.client_id,
            keepalive=self.keepalive,
            protocol=self.protocol,
            session_expiry=self.session_expiry,
        )
