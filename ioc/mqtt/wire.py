"""MQTT 3.1.1 and 5 packets as bytes, in pure Python: what ``FastSource`` sends and reads.

Only what a QoS 0/1 subscriber needs, in both directions so that every packet can be tested by
a round trip: CONNECT / CONNACK, SUBSCRIBE / SUBACK, PUBLISH, PUBACK, PINGREQ / PINGRESP,
DISCONNECT. MQTT 5 adds properties (a ``dict`` from property id to value; the ids that may
repeat, user properties and subscription identifiers, map to a list) and reason codes.

``Decoder`` takes the bytes of a stream as they arrive and decodes every complete packet in
them at once, leaving a partial packet buffered for the next read. It can stop after a number
of PUBLISH packets and keep the rest buffered: that is how a subscriber holds to its pending
window without losing what it has already read from the socket.

Errors::

    MqttProtocolError (ValueError)   malformed bytes, or a packet this codec does not support

A malformed packet is an error for the whole stream (MQTT has no resynchronisation): the
connection is to be closed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

MAX_REMAINING_LENGTH = 268_435_455  # four bytes of varint: 0xFF 0xFF 0xFF 0x7F

PROTOCOL_311 = 4
PROTOCOL_5 = 5


class MqttProtocolError(ValueError):
    """Bytes that are not a valid (or not a supported) MQTT packet."""


class PacketType(enum.IntEnum):
    CONNECT = 1
    CONNACK = 2
    PUBLISH = 3
    PUBACK = 4
    PUBREC = 5
    PUBREL = 6
    PUBCOMP = 7
    SUBSCRIBE = 8
    SUBACK = 9
    UNSUBSCRIBE = 10
    UNSUBACK = 11
    PINGREQ = 12
    PINGRESP = 13
    DISCONNECT = 14
    AUTH = 15


class Property(enum.IntEnum):
    """MQTT 5 property identifiers (§2.2.2.2)."""

    PAYLOAD_FORMAT_INDICATOR = 0x01
    MESSAGE_EXPIRY_INTERVAL = 0x02
    CONTENT_TYPE = 0x03
    RESPONSE_TOPIC = 0x08
    CORRELATION_DATA = 0x09
    SUBSCRIPTION_IDENTIFIER = 0x0B
    SESSION_EXPIRY_INTERVAL = 0x11
    ASSIGNED_CLIENT_IDENTIFIER = 0x12
    SERVER_KEEP_ALIVE = 0x13
    AUTHENTICATION_METHOD = 0x15
    AUTHENTICATION_DATA = 0x16
    REQUEST_PROBLEM_INFORMATION = 0x17
    WILL_DELAY_INTERVAL = 0x18
    REQUEST_RESPONSE_INFORMATION = 0x19
    RESPONSE_INFORMATION = 0x1A
    SERVER_REFERENCE = 0x1C
    REASON_STRING = 0x1F
    RECEIVE_MAXIMUM = 0x21
    TOPIC_ALIAS_MAXIMUM = 0x22
    TOPIC_ALIAS = 0x23
    MAXIMUM_QOS = 0x24
    RETAIN_AVAILABLE = 0x25
    USER_PROPERTY = 0x26
    MAXIMUM_PACKET_SIZE = 0x27
    WILDCARD_SUBSCRIPTION_AVAILABLE = 0x28
    SUBSCRIPTION_IDENTIFIER_AVAILABLE = 0x29
    SHARED_SUBSCRIPTION_AVAILABLE = 0x2A


# value kinds: b = byte, h = two-byte int, i = four-byte int, v = varint, s = UTF-8 string,
# d = binary data, p = UTF-8 string pair
_PROPERTY_KINDS: dict[int, str] = {
    0x01: "b",
    0x02: "i",
    0x03: "s",
    0x08: "s",
    0x09: "d",
    0x0B: "v",
    0x11: "i",
    0x12: "s",
    0x13: "h",
    0x15: "s",
    0x16: "d",
    0x17: "b",
    0x18: "i",
    0x19: "b",
    0x1A: "s",
    0x1C: "s",
    0x1F: "s",
    0x21: "h",
    0x22: "h",
    0x23: "h",
    0x24: "b",
    0x25: "b",
    0x26: "p",
    0x27: "i",
    0x28: "b",
    0x29: "b",
    0x2A: "b",
}
_REPEATABLE = frozenset({Property.USER_PROPERTY, Property.SUBSCRIPTION_IDENTIFIER})

Properties = dict[int, object]

CONNACK_311_REASONS = {
    0: "accepted",
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorized",
}
REASONS_5 = {
    0x00: "success",
    0x04: "disconnect with will message",
    0x80: "unspecified error",
    0x81: "malformed packet",
    0x82: "protocol error",
    0x83: "implementation specific error",
    0x84: "unsupported protocol version",
    0x85: "client identifier not valid",
    0x86: "bad user name or password",
    0x87: "not authorized",
    0x88: "server unavailable",
    0x89: "server busy",
    0x8A: "banned",
    0x8B: "server shutting down",
    0x8C: "bad authentication method",
    0x8D: "keep alive timeout",
    0x8E: "session taken over",
    0x8F: "topic filter invalid",
    0x90: "topic name invalid",
    0x93: "receive maximum exceeded",
    0x94: "topic alias invalid",
    0x95: "packet too large",
    0x96: "message rate too high",
    0x97: "quota exceeded",
    0x98: "administrative action",
    0x99: "payload format invalid",
    0x9A: "retain not supported",
    0x9B: "QoS not supported",
    0x9C: "use another server",
    0x9D: "server moved",
    0x9E: "shared subscriptions not supported",
    0x9F: "connection rate exceeded",
    0xA0: "maximum connect time",
    0xA1: "subscription identifiers not supported",
    0xA2: "wildcard subscriptions not supported",
}


def reason_text(code: int, protocol: int = PROTOCOL_311) -> str:
    """A CONNACK return code (3.1.1) or reason code (5) in words."""
    table = CONNACK_311_REASONS if protocol == PROTOCOL_311 else REASONS_5
    return f"{table.get(code, 'unknown')} ({code})"


# -- primitives ---------------------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """The variable byte integer of §1.5.5 / §2.2.3 (the remaining length among others)."""
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise MqttProtocolError(f"variable byte integer out of range: {value}")
    if value < 128:
        return bytes((value,))
    out = bytearray()
    while True:
        digit = value & 0x7F
        value >>= 7
        if value:
            out.append(digit | 0x80)
        else:
            out.append(digit)
            return bytes(out)


def decode_varint(
    buf: bytes | bytearray | memoryview, pos: int, end: int | None = None
) -> tuple[int, int] | None:
    """(value, position after it), or None if ``buf`` (up to ``end``) ends inside the integer."""
    value = 0
    shift = 0
    if end is None:
        end = len(buf)
    for index in range(pos, pos + 4):
        if index >= end:
            return None
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, index + 1
        shift += 7
    raise MqttProtocolError("variable byte integer longer than four bytes")


def _string(text: str) -> bytes:
    return _binary(text.encode("utf-8"))


def _binary(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise MqttProtocolError(f"string or binary field longer than 65535 bytes ({len(data)})")
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte: int, body: bytes) -> bytes:
    return bytes((first_byte,)) + encode_varint(len(body)) + body


class _Reader:
    """Sequential reads from one packet's body, with a clear error when the body is short."""

    __slots__ = ("buf", "end", "kind", "pos")

    def __init__(self, buf: bytes, pos: int, end: int, kind: str) -> None:
        self.buf = buf
        self.pos = pos
        self.end = end
        self.kind = kind

    def _take(self, count: int) -> int:
        start = self.pos
        if start + count > self.end:
            raise MqttProtocolError(f"{self.kind}: packet ends inside a field")
        self.pos = start + count
        return start

    def byte(self) -> int:
        return self.buf[self._take(1)]

    def u16(self) -> int:
        start = self._take(2)
        return (self.buf[start] << 8) | self.buf[start + 1]

    def u32(self) -> int:
        start = self._take(4)
        return int.from_bytes(self.buf[start : start + 4], "big")

    def varint(self) -> int:
        decoded = decode_varint(self.buf, self.pos, self.end)
        if decoded is None:
            raise MqttProtocolError(f"{self.kind}: packet ends inside a variable byte integer")
        value, self.pos = decoded
        return value

    def binary(self) -> bytes:
        length = self.u16()
        start = self._take(length)
        return bytes(self.buf[start : start + length])

    def string(self) -> str:
        try:
            return self.binary().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MqttProtocolError(f"{self.kind}: string is not UTF-8") from exc

    def rest(self) -> bytes:
        start, self.pos = self.pos, self.end
        return bytes(self.buf[start : self.end])

    def remaining(self) -> int:
        return self.end - self.pos

    def properties(self) -> Properties:
        length = self.varint()
        stop = self.pos + length
        if stop > self.end:
            raise MqttProtocolError(f"{self.kind}: properties run past the packet")
        props: Properties = {}
        outer_end, self.end = self.end, stop
        try:
            while self.pos < stop:
                ident = self.varint()
                kind = _PROPERTY_KINDS.get(ident)
                if kind is None:
                    raise MqttProtocolError(f"{self.kind}: unknown property 0x{ident:02x}")
                value: object
                if kind == "b":
                    value = self.byte()
                elif kind == "h":
                    value = self.u16()
                elif kind == "i":
                    value = self.u32()
                elif kind == "v":
                    value = self.varint()
                elif kind == "s":
                    value = self.string()
                elif kind == "d":
                    value = self.binary()
                else:
                    value = (self.string(), self.string())
                if ident in _REPEATABLE:
                    props.setdefault(ident, []).append(value)  # type: ignore[union-attr]
                elif ident in props:
                    raise MqttProtocolError(f"{self.kind}: property 0x{ident:02x} given twice")
                else:
                    props[ident] = value
        finally:
            self.end = outer_end
        return props


def encode_properties(props: Properties | None) -> bytes:
    """An MQTT 5 property list with its length prefix (one zero byte when empty)."""
    if not props:
        return b"\x00"
    out = bytearray()
    for ident, value in props.items():
        kind = _PROPERTY_KINDS.get(ident)
        if kind is None:
            raise MqttProtocolError(f"unknown property 0x{ident:02x}")
        values = value if ident in _REPEATABLE and isinstance(value, list) else [value]
        for item in values:
            out += encode_varint(ident)
            if kind == "b":
                out.append(int(item))  # type: ignore[call-overload]
            elif kind == "h":
                out += int(item).to_bytes(2, "big")  # type: ignore[call-overload]
            elif kind == "i":
                out += int(item).to_bytes(4, "big")  # type: ignore[call-overload]
            elif kind == "v":
                out += encode_varint(int(item))  # type: ignore[call-overload]
            elif kind == "s":
                out += _string(str(item))
            elif kind == "d":
                out += _binary(bytes(item))  # type: ignore[call-overload]
            else:
                key, val = item  # type: ignore[misc]
                out += _string(key) + _string(val)
    return encode_varint(len(out)) + bytes(out)


# -- packets ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect:
    client_id: str
    keepalive: int = 60
    clean_session: bool = True
    username: str | None = None
    password: str | None = None
    protocol: int = PROTOCOL_311
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        flags = 0x02 if self.clean_session else 0
        payload = _string(self.client_id)
        if self.username is not None:
            flags |= 0x80
            payload += _string(self.username)
        if self.password is not None:
            if self.username is None and self.protocol == PROTOCOL_311:
                raise MqttProtocolError("MQTT 3.1.1 needs a user name to send a password")
            flags |= 0x40
            payload += _binary(self.password.encode("utf-8"))
        body = b"\x00\x04MQTT" + bytes((self.protocol, flags)) + self.keepalive.to_bytes(2, "big")
        if self.protocol == PROTOCOL_5:
            body += encode_properties(self.properties)
        return _packet(0x10, body + payload)


@dataclass(frozen=True, slots=True)
class ConnAck:
    session_present: bool
    return_code: int
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        body = bytes((1 if self.session_present else 0, self.return_code))
        if protocol == PROTOCOL_5:
            body += encode_properties(self.properties)
        return _packet(0x20, body)


class Publish:
    """A PUBLISH packet. A plain class with slots: one is made per message received."""

    __slots__ = ("dup", "packet_id", "payload", "properties", "qos", "retain", "topic")

    def __init__(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        packet_id: int = 0,
        dup: bool = False,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.packet_id = packet_id
        self.dup = dup
        self.retain = retain
        self.properties = properties

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Publish):
            return NotImplemented
        return (self.topic, self.payload, self.qos, self.packet_id, self.dup, self.retain) == (
            other.topic,
            other.payload,
            other.qos,
            other.packet_id,
            other.dup,
            other.retain,
        ) and (self.properties or {}) == (other.properties or {})

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Publish(topic={self.topic!r}, payload={self.payload[:40]!r}, qos={self.qos}, "
            f"packet_id={self.packet_id}, dup={self.dup}, retain={self.retain})"
        )

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        if self.qos not in (0, 1, 2):
            raise MqttProtocolError(f"QoS must be 0, 1 or 2, not {self.qos}")
        first = 0x30 | (self.qos << 1) | (0x08 if self.dup else 0) | (1 if self.retain else 0)
        body = _string(self.topic)
        if self.qos:
            if not 0 < self.packet_id <= 0xFFFF:
                raise MqttProtocolError(f"packet id must be 1..65535, not {self.packet_id}")
            body += self.packet_id.to_bytes(2, "big")
        if protocol == PROTOCOL_5:
            body += encode_properties(self.properties)
        return _packet(first, body + self.payload)


@dataclass(frozen=True, slots=True)
class PubAck:
    packet_id: int
    reason_code: int = 0
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        if protocol == PROTOCOL_5 and (self.reason_code or self.properties):
            body = self.packet_id.to_bytes(2, "big") + bytes((self.reason_code,))
            return _packet(0x40, body + encode_properties(self.properties))
        return puback(self.packet_id)


@dataclass(frozen=True, slots=True)
class Subscribe:
    packet_id: int
    filters: tuple[tuple[str, int], ...]
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        if not self.filters:
            raise MqttProtocolError("SUBSCRIBE needs at least one topic filter")
        body = self.packet_id.to_bytes(2, "big")
        if protocol == PROTOCOL_5:
            body += encode_properties(self.properties)
        for topic_filter, options in self.filters:
            body += _string(topic_filter) + bytes((options,))
        return _packet(0x82, body)


@dataclass(frozen=True, slots=True)
class SubAck:
    packet_id: int
    return_codes: tuple[int, ...]
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        body = self.packet_id.to_bytes(2, "big")
        if protocol == PROTOCOL_5:
            body += encode_properties(self.properties)
        return _packet(0x90, body + bytes(self.return_codes))


@dataclass(frozen=True, slots=True)
class PingReq:
    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        return PINGREQ


@dataclass(frozen=True, slots=True)
class PingResp:
    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        return PINGRESP


@dataclass(frozen=True, slots=True)
class Disconnect:
    reason_code: int = 0
    properties: Properties = field(default_factory=dict)

    def encode(self, protocol: int = PROTOCOL_311) -> bytes:
        if protocol == PROTOCOL_5 and (self.reason_code or self.properties):
            body = bytes((self.reason_code,)) + encode_properties(self.properties)
            return _packet(0xE0, body)
        return DISCONNECT


Packet = Connect | ConnAck | Publish | PubAck | Subscribe | SubAck | PingReq | PingResp | Disconnect

PINGREQ = b"\xc0\x00"
PINGRESP = b"\xd0\x00"
DISCONNECT = b"\xe0\x00"


def puback(packet_id: int) -> bytes:
    """PUBACK for ``packet_id`` (the short form, valid in 3.1.1 and, for success, in 5)."""
    return b"\x40\x02" + packet_id.to_bytes(2, "big")


# fixed-header flags that §2.2.2 prescribes for each packet type (PUBLISH's are its own)
_FIXED_FLAGS = {1: 0, 2: 0, 4: 0, 5: 0, 6: 2, 7: 0, 8: 2, 9: 0, 10: 2, 11: 0, 12: 0, 13: 0, 14: 0}


def decode_packet(
    first_byte: int, buf: bytes, start: int, end: int, protocol: int = PROTOCOL_311
) -> Packet:
    """Decode the packet whose fixed header byte is ``first_byte`` and body is ``buf[start:end]``.

    The general (slower) path; ``Decoder`` decodes PUBLISH inline.
    """
    kind = first_byte >> 4
    flags = first_byte & 0x0F
    if kind == PacketType.PUBLISH:
        return _decode_publish(first_byte, buf, start, end, protocol)
    if kind not in _FIXED_FLAGS or kind in (5, 6, 7, 10, 11):
        name = PacketType(kind).name if 0 < kind < 16 else f"type {kind}"
        raise MqttProtocolError(f"unsupported or reserved packet type: {name}")
    name = PacketType(kind).name
    if flags != _FIXED_FLAGS[kind]:
        raise MqttProtocolError(f"{name}: invalid fixed header flags 0x{flags:x}")
    r = _Reader(buf, start, end, name)
    v5 = protocol == PROTOCOL_5
    packet: Packet
    if kind == PacketType.CONNACK:
        ack_flags = r.byte()
        if ack_flags & 0xFE:
            raise MqttProtocolError("CONNACK: reserved flag bits set")
        code = r.byte()
        props = r.properties() if v5 and r.remaining() else {}
        packet = ConnAck(bool(ack_flags & 1), code, props)
    elif kind == PacketType.PUBACK:
        packet_id = r.u16()
        code = r.byte() if v5 and r.remaining() else 0
        props = r.properties() if v5 and r.remaining() else {}
        packet = PubAck(packet_id, code, props)
    elif kind == PacketType.SUBACK:
        packet_id = r.u16()
        props = r.properties() if v5 else {}
        codes = r.rest()
        if not codes:
            raise MqttProtocolError("SUBACK: no return codes")
        packet = SubAck(packet_id, tuple(codes), props)
    elif kind == PacketType.SUBSCRIBE:
        packet_id = r.u16()
        props = r.properties() if v5 else {}
        filters: list[tuple[str, int]] = []
        while r.remaining():
            filters.append((r.string(), r.byte()))
        if not filters:
            raise MqttProtocolError("SUBSCRIBE: no topic filters")
        packet = Subscribe(packet_id, tuple(filters), props)
    elif kind == PacketType.PINGREQ:
        packet = PingReq()
    elif kind == PacketType.PINGRESP:
        packet = PingResp()
    elif kind == PacketType.DISCONNECT:
        code = r.byte() if v5 and r.remaining() else 0
        props = r.properties() if v5 and r.remaining() else {}
        packet = Disconnect(code, props)
    else:  # CONNECT
        packet = _decode_connect(r)
    if r.remaining():
        raise MqttProtocolError(f"{name}: {r.remaining()} unexpected bytes at the end")
    return packet


def _decode_connect(r: _Reader) -> Connect:
    if r.string() != "MQTT":
        raise MqttProtocolError("CONNECT: protocol name is not MQTT")
    level = r.byte()
    if level not in (PROTOCOL_311, PROTOCOL_5):
        raise MqttProtocolError(f"CONNECT: unsupported protocol level {level}")
    flags = r.byte()
    if flags & 0x01:
        raise MqttProtocolError("CONNECT: reserved flag set")
    if flags & 0x04:
        raise MqttProtocolError("CONNECT: will messages are not supported by this codec")
    keepalive = r.u16()
    props = r.properties() if level == PROTOCOL_5 else {}
    client_id = r.string()
    username = r.string() if flags & 0x80 else None
    password = r.binary().decode("utf-8", "replace") if flags & 0x40 else None
    return Connect(client_id, keepalive, bool(flags & 0x02), username, password, level, props)


def _decode_publish(first: int, buf: bytes, start: int, end: int, protocol: int) -> Publish:
    qos = (first >> 1) & 3
    if qos == 3:
        raise MqttProtocolError("PUBLISH: QoS 3 is not valid")
    r = _Reader(buf, start, end, "PUBLISH")
    topic_bytes = r.binary()
    packet_id = r.u16() if qos else 0
    if qos and not packet_id:
        raise MqttProtocolError("PUBLISH: packet id 0")
    props = r.properties() if protocol == PROTOCOL_5 else None
    if not topic_bytes and not (props and Property.TOPIC_ALIAS in props):
        raise MqttProtocolError("PUBLISH: empty topic name")
    return Publish(
        topic_bytes.decode("utf-8", "replace"),
        r.rest(),
        qos,
        packet_id,
        bool(first & 0x08),
        bool(first & 0x01),
        props,
    )


class Decoder:
    """Decodes a byte stream into packets: all complete ones in each read, at once.

    ``feed`` appends what the socket delivered; ``packets`` returns the packets that are
    complete, stopping early after ``max_publish`` PUBLISH packets if given (the rest stays
    buffered until the next call). A malformed packet raises ``MqttProtocolError``, and the
    stream is unusable after it.
    """

    __slots__ = ("_buf", "_pos", "max_packet_size", "protocol")

    def __init__(
        self, protocol: int = PROTOCOL_311, max_packet_size: int = MAX_REMAINING_LENGTH
    ) -> None:
        self.protocol = protocol
        self.max_packet_size = max_packet_size
        self._buf = b""
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos < len(self._buf):
            self._buf = self._buf[self._pos :] + data
        else:
            self._buf = data
        self._pos = 0

    def buffered(self) -> int:
        """Bytes received and not yet decoded (a partial packet, or packets held back)."""
        return len(self._buf) - self._pos

    def reset(self) -> None:
        self._buf = b""
        self._pos = 0

    def packets(self, max_publish: int | None = None) -> list[Packet]:
        buf = self._buf
        pos = self._pos
        end = len(buf)
        v5 = self.protocol == PROTOCOL_5
        limit = self.max_packet_size
        budget = end if max_publish is None else max_publish  # a packet takes >= 2 bytes
        out: list[Packet] = []
        append = out.append
        try:
            while budget > 0 and end - pos >= 2:
                first = buf[pos]
                length = buf[pos + 1]
                if length < 0x80:
                    start = pos + 2
                else:
                    decoded = decode_varint(buf, pos + 1)
                    if decoded is None:
                        break
                    length, start = decoded
                stop = start + length
                if length > limit:
                    raise MqttProtocolError(
                        f"packet of {length} bytes exceeds the limit of {limit} bytes"
                    )
                if stop > end:
                    break
                if first >> 4 == 3 and not v5:  # PUBLISH, 3.1.1: the hot path, inline
                    qos = (first >> 1) & 3
                    if length < 2:
                        raise MqttProtocolError("PUBLISH: packet ends inside the topic length")
                    topic_end = start + 2 + ((buf[start] << 8) | buf[start + 1])
                    if qos:
                        payload_at = topic_end + 2
                        if payload_at > stop or qos == 3:
                            raise MqttProtocolError(
                                "PUBLISH: QoS 3 is not valid"
                                if qos == 3
                                else "PUBLISH: packet ends inside the packet id"
                            )
                        packet_id = (buf[topic_end] << 8) | buf[topic_end + 1]
                        if not packet_id:
                            raise MqttProtocolError("PUBLISH: packet id 0")
                    else:
                        payload_at = topic_end
                        packet_id = 0
                        if topic_end > stop:
                            raise MqttProtocolError("PUBLISH: topic runs past the packet")
                    if topic_end == start + 2:
                        raise MqttProtocolError("PUBLISH: empty topic name")
                    append(
                        Publish(
                            buf[start + 2 : topic_end].decode("utf-8", "replace"),
                            buf[payload_at:stop],
                            qos,
                            packet_id,
                            bool(first & 0x08),
                            bool(first & 0x01),
                        )
                    )
                    budget -= 1
                else:
                    packet = decode_packet(first, buf, start, stop, self.protocol)
                    append(packet)
                    if type(packet) is Publish:
                        budget -= 1
                pos = stop
        finally:
            self._pos = pos
        return out


def _topic_span(data: bytes) -> tuple[int, int]:
    """Where the topic of an encoded PUBLISH is: it follows the fixed header (one byte), the
    remaining length (1-4 bytes) and the topic's own 2-byte length."""
    position = 1
    while data[position] & 0x80:  # the remaining length's continuation bytes
        position += 1
    position += 1
    length = int.from_bytes(data[position : position + 2], "big")
    return position + 2, position + 2 + length


def publish_topic(data: bytes) -> str:
    """The topic of an encoded PUBLISH (for a log line)."""
    start, end = _topic_span(data)
    return data[start:end].decode("utf-8", "replace")


def with_packet_id(data: bytes, packet_id: int) -> bytes:
    """An encoded QoS 1 PUBLISH with another packet id (and no DUP flag): the id follows the
    topic."""
    _, end = _topic_span(data)
    return b"".join((bytes((data[0] & ~0x08,)), data[1:end], packet_id.to_bytes(2, "big"),
                     data[end + 2 :]))
