"""``ioc.mqtt.wire`` (the codec, pure unit tests) and ``FastSource`` against a real Mosquitto.

The broker tests prove the delivery guarantees on the wire: a message is acknowledged only when
``ack()`` is called (a raw client that resumes the session sees the unacknowledged ones again,
with DUP set), the pending window stops reading, acks from an earlier connection are never
sent, and a broker restart or a refused login is waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ioc.mqtt.port import Received
from ioc.mqtt.subscriber import FastSource
from ioc.mqtt.wire import (
    DISCONNECT,
    PROTOCOL_5,
    PROTOCOL_311,
    ConnAck,
    Connect,
    Decoder,
    Disconnect,
    MqttProtocolError,
    Packet,
    PingReq,
    PingResp,
    Property,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    decode_varint,
    encode_varint,
    puback,
)
from ioc.runtime import Backoff
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto

FAST_BACKOFF = Backoff(initial=0.05, maximum=0.5)

# -- the codec ----------------------------------------------------------------------------------

PACKETS_311: list[Packet] = [
    Connect("ingester-1", keepalive=30, clean_session=False),
    Connect("ingester-1", keepalive=0, clean_session=True, username="ioc", password="s3cr3t"),
    Connect("ingester-ü", keepalive=65535, clean_session=False, username="ioc"),
    ConnAck(False, 0),
    ConnAck(True, 0),
    ConnAck(False, 4),
    ConnAck(False, 5),
    Publish("ioc/v1/binh-duong/payment/di-an", b'{"a": 1}', 0),
    Publish("ioc/v1/binh-duong/payment/di-an", b'{"a": 1}', 1, 1),
    Publish("t", b"", 1, 65535, dup=True, retain=True),
    Publish("tỉnh/huyện", bytes(range(256)), 1, 4242, dup=True),
    PubAck(1),
    PubAck(65535),
    Subscribe(1, (("ioc/v1/#", 1),)),
    Subscribe(7, (("$share/ingest/ioc/v1/#", 1), ("a/+/b", 0))),
    SubAck(1, (1,)),
    SubAck(7, (0, 1, 0x80)),
    PingReq(),
    PingResp(),
    Disconnect(),
]

PACKETS_5: list[Packet] = [
    Connect(
        "ingester-1",
        keepalive=30,
        clean_session=False,
        username="ioc",
        password="pw",
        protocol=PROTOCOL_5,
        properties={Property.SESSION_EXPIRY_INTERVAL: 604800, Property.RECEIVE_MAXIMUM: 2000},
    ),
    Connect("x", protocol=PROTOCOL_5),
    ConnAck(True, 0, {Property.RECEIVE_MAXIMUM: 1000, Property.SERVER_KEEP_ALIVE: 60}),
    ConnAck(False, 0x86, {Property.REASON_STRING: "bad user name or password"}),
    Publish("t/1", b"x", 1, 9, properties={}),
    Publish(
        "t/2",
        b"payload",
        1,
        10,
        dup=True,
        properties={
            Property.PAYLOAD_FORMAT_INDICATOR: 1,
            Property.MESSAGE_EXPIRY_INTERVAL: 3600,
            Property.CONTENT_TYPE: "application/json",
            Property.CORRELATION_DATA: b"\x00\x01",
            Property.SUBSCRIPTION_IDENTIFIER: [1, 268435455],
            Property.USER_PROPERTY: [("k", "v"), ("k", "w")],
        },
    ),
    PubAck(3),
    PubAck(3, 0x10, {Property.REASON_STRING: "no matching subscribers"}),
    Subscribe(1, (("ioc/v1/#", 1),)),
    SubAck(1, (1,), {Property.REASON_STRING: "ok"}),
    PingReq(),
    PingResp(),
    Disconnect(),
    Disconnect(0x8B, {Property.REASON_STRING: "server shutting down"}),
]


def decode_all(data: bytes, protocol: int = PROTOCOL_311) -> list[Packet]:
    decoder = Decoder(protocol)
    decoder.feed(data)
    packets = decoder.packets()
    assert decoder.buffered() == 0
    return packets


@pytest.mark.parametrize(
    ("protocol", "packet"),
    [(PROTOCOL_311, p) for p in PACKETS_311] + [(PROTOCOL_5, p) for p in PACKETS_5],
    ids=lambda value: type(value).__name__ if not isinstance(value, int) else f"v{value}",
)
def test_every_packet_round_trips(protocol: int, packet: Packet) -> None:
    assert decode_all(packet.encode(protocol), protocol) == [packet]


def test_fixed_encodings_match_the_specification() -> None:
    assert puback(0x1234) == b"\x40\x02\x12\x34" == PubAck(0x1234).encode()
    assert PingReq().encode() == b"\xc0\x00"
    assert DISCONNECT == b"\xe0\x00"
    assert Connect("c", keepalive=60, clean_session=False).encode() == (
        b"\x10\x0d\x00\x04MQTT\x04\x00\x00\x3c\x00\x01c"
    )
    assert Subscribe(1, (("a/#", 1),)).encode() == b"\x82\x08\x00\x01\x00\x03a/#\x01"
    assert Publish("a", b"hi", 1, 2, dup=True).encode() == b"\x3a\x07\x00\x01a\x00\x02hi"


def test_one_read_holding_many_packets_and_a_partial_one() -> None:
    publishes = [Publish(f"ioc/v1/p/payment/{i % 7}", b"x" * i, 1, i + 1) for i in range(1000)]
    stream = b"".join(p.encode() for p in publishes) + PingResp().encode()
    tail = Publish("t", b"the partial one", 1, 4000).encode()
    decoder = Decoder()
    decoder.feed(stream + tail[:5])
    packets = decoder.packets()
    assert packets == [*publishes, PingResp()]
    assert decoder.buffered() == 5
    assert decoder.packets() == []  # still partial: nothing, no error
    decoder.feed(tail[5:])
    assert decoder.packets() == [Publish("t", b"the partial one", 1, 4000)]
    assert decoder.buffered() == 0


def test_a_stream_fed_one_byte_at_a_time() -> None:
    publishes = [Publish("a/b", bytes([i]) * 200, 1, i + 1) for i in range(20)]
    stream = b"".join(p.encode() for p in publishes)
    decoder = Decoder()
    got: list[Packet] = []
    for index in range(len(stream)):
        decoder.feed(stream[index : index + 1])
        got += decoder.packets()
    assert got == publishes


def test_decoding_stops_after_max_publish_and_keeps_the_rest() -> None:
    publishes = [Publish("a", b"%d" % i, 1, i + 1) for i in range(10)]
    decoder = Decoder()
    decoder.feed(b"".join(p.encode() for p in publishes[:3]) + PingResp().encode())
    decoder.feed(b"".join(p.encode() for p in publishes[3:]))
    assert decoder.packets(max_publish=2) == publishes[:2]
    assert decoder.packets(max_publish=2) == [publishes[2], PingResp(), publishes[3]]
    assert decoder.packets() == publishes[4:]


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (0, 1),
        (127, 1),
        (128, 2),
        (16383, 2),
        (16384, 3),
        (2097151, 3),
        (2097152, 4),
        (268435455, 4),
    ],
)
def test_remaining_length_edges(value: int, size: int) -> None:
    encoded = encode_varint(value)
    assert len(encoded) == size
    assert decode_varint(encoded, 0) == (value, size)
    assert decode_varint(encoded[:-1], 0) is None  # cut short: wait for more, no error


@pytest.mark.parametrize("remaining", [127, 128, 16383, 16384, 2097151])
def test_publish_with_remaining_length_at_an_edge(remaining: int) -> None:
    # topic "t" (2 + 1 bytes) and packet id (2 bytes) come before the payload
    packet = Publish("t", b"p" * (remaining - 5), 1, 1)
    encoded = packet.encode()
    header = 1 + len(encode_varint(remaining))
    assert len(encoded) == header + remaining
    assert decode_all(encoded) == [packet]
    decoder = Decoder()
    decoder.feed(encoded[:-1])
    assert decoder.packets() == []
    decoder.feed(encoded[-1:])
    assert decoder.packets() == [packet]


def test_out_of_range_lengths_are_refused() -> None:
    with pytest.raises(MqttProtocolError, match="out of range"):
        encode_varint(268435456)
    with pytest.raises(MqttProtocolError, match="longer than 65535"):
        Publish("t" * 65536, b"", 0).encode()


MALFORMED = [
    (b"\x30\xff\xff\xff\xff\x01", PROTOCOL_311, "longer than four bytes"),
    (b"\x00\x00", PROTOCOL_311, "reserved packet type"),
    (b"\xf0\x00", PROTOCOL_311, "unsupported or reserved packet type: AUTH"),
    (b"\x50\x02\x00\x01", PROTOCOL_311, "unsupported or reserved packet type: PUBREC"),
    (b"\x36\x05\x00\x01a\x00\x01", PROTOCOL_311, "QoS 3"),
    (b"\x32\x05\x00\x01a\x00\x00", PROTOCOL_311, "packet id 0"),
    (b"\x32\x04\x00\x01a\x00", PROTOCOL_311, "ends inside the packet id"),
    (b"\x30\x03\x00\x09a", PROTOCOL_311, "topic runs past the packet"),
    (b"\x30\x01\x00", PROTOCOL_311, "ends inside the topic length"),
    (b"\x30\x02\x00\x00", PROTOCOL_311, "empty topic name"),
    (b"\x92\x03\x00\x01\x00", PROTOCOL_311, "invalid fixed header flags"),
    (b"\x20\x03\x00\x00\x00", PROTOCOL_311, "unexpected bytes at the end"),
    (b"\x20\x02\x02\x00", PROTOCOL_311, "reserved flag bits"),
    (b"\x20\x01\x00", PROTOCOL_311, "ends inside a field"),
    (b"\x90\x02\x00\x01", PROTOCOL_311, "no return codes"),
    (b"\x20\x05\x00\x00\x02\x7f\x00", PROTOCOL_5, "unknown property 0x7f"),
    (b"\x20\x04\x00\x00\x09\x01", PROTOCOL_5, "properties run past the packet"),
    (b"\x32\x07\x00\x01a\x00\x01\x01\x24", PROTOCOL_5, "packet ends inside a field"),
]


@pytest.mark.parametrize(("data", "protocol", "message"), MALFORMED)
def test_malformed_input_raises_a_clear_error(data: bytes, protocol: int, message: str) -> None:
    decoder = Decoder(protocol)
    decoder.feed(data)
    with pytest.raises(MqttProtocolError, match=message):
        decoder.packets()


def test_an_oversized_packet_is_refused_before_it_is_buffered() -> None:
    decoder = Decoder(max_packet_size=1024)
    decoder.feed(b"\x30" + encode_varint(1025))
    with pytest.raises(MqttProtocolError, match="exceeds the limit"):
        decoder.packets()


@given(data=st.binary(max_size=300), protocol=st.sampled_from([PROTOCOL_311, PROTOCOL_5]))
@settings(max_examples=500, deadline=None)
def test_arbitrary_bytes_decode_or_raise_the_protocol_error(data: bytes, protocol: int) -> None:
    decoder = Decoder(protocol)
    decoder.feed(data)
    with contextlib.suppress(MqttProtocolError):
        decoder.packets()


@given(
    packets=st.lists(
        st.builds(
            Publish,
            topic=st.text(min_size=1, max_size=30).filter(lambda t: "\x00" not in t),
            payload=st.binary(max_size=300),
            qos=st.just(1),
            packet_id=st.integers(1, 65535),
            dup=st.booleans(),
            retain=st.booleans(),
        ),
        max_size=30,
    ),
    cuts=st.lists(st.integers(0, 10_000), max_size=10),
)
@settings(max_examples=200, deadline=None)
def test_any_split_of_a_stream_decodes_the_same(packets: list[Publish], cuts: list[int]) -> None:
    stream = b"".join(p.encode() for p in packets)
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    decoder = Decoder()
    got: list[Packet] = []
    for start, stop in itertools.pairwise(bounds):
        decoder.feed(stream[start:stop])
        got += decoder.packets()
    assert got == packets


# -- FastSource on the real broker --------------------------------------------------------------

broker_test = pytest.mark.broker


async def connected(source: FastSource, timeout: float = 10.0) -> FastSource:
    deadline = time.monotonic() + timeout
    while not source.subscribed:
        assert time.monotonic() < deadline, "FastSource did not connect and subscribe"
        await asyncio.sleep(0.01)
    return source


@contextlib.asynccontextmanager
async def running(source: FastSource) -> AsyncIterator[FastSource]:
    async with source:
        yield await connected(source)


async def publish_all(
    port: int,
    messages: Sequence[tuple[str, bytes]],
    *,
    qos: int = 1,
    client_id: str = "",
    username: str | None = None,
    password: str | None = None,
) -> None:
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=client_id or None, username=username, password=password
    ) as client:
        for topic, payload in messages:
            await client.publish(topic, payload, qos=qos)


async def receive(
    source: FastSource, count: int, timeout: float = 10.0, *, ack: bool = False
) -> list[Received]:
    """At least ``count`` messages (acknowledged batch by batch if ``ack``)."""
    got: list[Received] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, f"received {len(got)} of {count}"
        batch = await source.batch(1000, 0.1)
        got += batch
        if ack:
            source.ack(batch)
    return got


async def quiet(source: FastSource, seconds: float = 0.5) -> list[Received]:
    """Whatever else arrives within ``seconds`` (expected: nothing)."""
    extra: list[Received] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        extra += await source.batch(1000, 0.05)
    return extra


async def raw_session(
    port: int, client_id: str, *, protocol: int = PROTOCOL_311, listen: float = 1.0
) -> tuple[ConnAck, list[Publish]]:
    """Resume ``client_id``'s session with the bare codec; read, acknowledge nothing, leave."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    properties = {Property.SESSION_EXPIRY_INTERVAL: 300} if protocol == PROTOCOL_5 else {}
    connect = Connect(client_id, 30, False, protocol=protocol, properties=properties)
    writer.write(connect.encode(protocol))
    decoder = Decoder(protocol)
    packets: list[Packet] = []
    deadline = time.monotonic() + listen
    with contextlib.suppress(TimeoutError):
        while (left := deadline - time.monotonic()) > 0:
            data = await asyncio.wait_for(reader.read(65536), left)
            if not data:
                break
            decoder.feed(data)
            packets += decoder.packets()
    writer.write(DISCONNECT)
    writer.close()
    await writer.wait_closed()
    connack = packets[0]
    assert isinstance(connack, ConnAck)
    return connack, [p for p in packets if isinstance(p, Publish)]


def payloads(messages: Sequence[Received | Publish]) -> list[bytes]:
    return sorted(m.payload for m in messages)


@pytest.fixture
def topic(request: pytest.FixtureRequest) -> str:
    return f"test/{request.node.name}"


@broker_test
@pytest.mark.parametrize("protocol", [PROTOCOL_311, PROTOCOL_5])
async def test_receives_what_is_published(
    broker: LocalMosquitto, client_id: str, topic: str, protocol: int
) -> None:
    sent = [(f"{topic}/{i % 3}", b"message %d" % i) for i in range(300)]
    source = FastSource(
        MqttUrl(broker.url), f"{topic}/#", client_id=f"{client_id}-{protocol}", protocol=protocol
    )
    async with running(source):
        await publish_all(broker.port, sent, client_id=f"{client_id}-pub")
        got = await receive(source, len(sent))
        assert sorted((m.topic, m.payload) for m in got) == sorted(sent)
        assert {m.qos for m in got} == {1}
        assert len({m.mid for m in got}) == len(got)  # all in flight at once: distinct ids
        assert source.pending() == len(sent)
        assert source.ack(got) == len(sent)
        assert source.pending() == 0
        assert await quiet(source) == []


@broker_test
@pytest.mark.parametrize("protocol", [PROTOCOL_311, PROTOCOL_5])
async def test_only_acknowledged_messages_leave_the_session(
    broker: LocalMosquitto, client_id: str, topic: str, protocol: int
) -> None:
    """Received but not acked: the broker sends them again, with DUP, to the resumed session."""
    client_id = f"{client_id}-{protocol}"
    sent = [(topic, b"m%02d" % i) for i in range(20)]
    source = FastSource(MqttUrl(broker.url), topic, client_id=client_id, protocol=protocol)
    async with running(source):
        await publish_all(broker.port, sent, client_id=f"{client_id}-pub")
        got = await receive(source, 20)
        got.sort(key=lambda m: m.payload)
        assert source.ack(got[:5]) == 5  # committed: these five are done
    connack, again = await raw_session(broker.port, client_id, protocol=protocol)
    assert connack.session_present
    assert payloads(again) == [payload for _, payload in sent[5:]]
    assert all(p.dup for p in again), "redelivered messages must carry DUP"
    # and a FastSource resuming the session gets them, acks them, and the session is empty
    async with running(
        FastSource(MqttUrl(broker.url), topic, client_id=client_id, protocol=protocol)
    ) as resumed:
        assert resumed.session_present
        got = await receive(resumed, 15, ack=True)
        assert payloads(got) == [payload for _, payload in sent[5:]]
    _, left = await raw_session(broker.port, client_id, protocol=protocol, listen=0.5)
    assert left == []


@broker_test
async def test_pending_window_stops_reading_until_acks_free_it(
    broker: LocalMosquitto, client_id: str, topic: str
) -> None:
    sent = [(topic, b"%03d" % i) for i in range(55)]
    source = FastSource(MqttUrl(broker.url), topic, client_id=client_id, max_pending=10)
    async with running(source):
        await publish_all(broker.port, sent, client_id=f"{client_id}-pub")
        everything: list[Received] = []
        while len(everything) < len(sent):
            first = await receive(source, 1)
            await asyncio.sleep(0.3)  # the broker has sent far more than 10 by now
            held = first + await quiet(source, 0.2)
            assert len(held) == min(10, len(sent) - len(everything))
            assert source.pending() == len(held)
            everything += held
            source.ack(held)
        assert payloads(everything) == [payload for _, payload in sent]
        assert source.pending() == 0


@broker_test
async def test_qos0_messages_take_a_slot_and_need_no_ack(
    broker: LocalMosquitto, client_id: str, topic: str
) -> None:
    sent = [(topic, b"%d" % i) for i in range(8)]
    source = FastSource(MqttUrl(broker.url), topic, client_id=client_id, max_pending=5)
    async with running(source):
        await publish_all(broker.port, sent, qos=0, client_id=f"{client_id}-pub")
        first = await receive(source, 5)
        assert await quiet(source, 0.3) == []
        assert {m.qos for m in first} == {0} and source.pending() == 5
        assert source.ack(first) == 0  # no PUBACK for QoS 0, but the slots are free
        rest = await receive(source, 3)
        assert len(first) + len(rest) == len(sent)


@broker_test
async def test_a_shared_subscription_splits_the_stream(
    broker: LocalMosquitto, client_id: str, topic: str
) -> None:
    sent = [(topic, b"%d" % i) for i in range(200)]
    sources = [
        FastSource(MqttUrl(broker.url), topic, client_id=f"{client_id}-{i}", shared_group="fast")
        for i in (1, 2)
    ]
    async with running(sources[0]) as one, running(sources[1]) as two:
        await publish_all(broker.port, sent, client_id=f"{client_id}-pub")
        got_one: list[Received] = []
        got_two: list[Received] = []
        deadline = time.monotonic() + 10
        while len(got_one) + len(got_two) < len(sent) and time.monotonic() < deadline:
            for source, got in ((one, got_one), (two, got_two)):
                batch = await source.batch(1000, 0.02)
                source.ack(batch)
                got += batch
        assert got_one and got_two
        assert payloads(got_one + got_two) == sorted(payload for _, payload in sent)


@broker_test
async def test_keepalive_is_sent_while_the_application_is_busy(
    broker: LocalMosquitto, client_id: str, topic: str
) -> None:
    """Window full, nothing taken or acked for 4 s: still the same connection (keepalive 1 s)."""
    source = FastSource(MqttUrl(broker.url), topic, client_id=client_id, keepalive=1, max_pending=1)
    async with running(source):
        await publish_all(broker.port, [(topic, b"a"), (topic, b"b")], client_id=f"{client_id}-p")
        await asyncio.sleep(4)  # Mosquitto drops a client silent for 1.5 x keepalive
        assert source.subscribed and source.connect_failures == 0
        first = await source.batch(10, 1)
        source.ack(first)
        second = await receive(source, 1)
        assert [m.payload for m in first + second] == [b"a", b"b"]
        assert first[0].session == second[0].session, "the connection was replaced"
        assert source.ack(second) == 1


@broker_test
async def test_a_broker_restart_is_waited_out_and_old_acks_are_dropped(
    tmp_path: Path, topic: str
) -> None:
    with LocalMosquitto(tmp_path / "mosquitto") as own:
        source = FastSource(MqttUrl(own.url), topic, client_id="restart-fast", backoff=FAST_BACKOFF)
        async with running(source):
            await publish_all(own.port, [(topic, b"%d" % i) for i in range(10)])
            before = await receive(source, 10)
            own.restart()  # persistence on: the session and its unacked messages survive
            await asyncio.sleep(0.1)  # the loop sees the old connection end (it was blocked)
            await connected(source, 15)
            # packet ids of the first connection mean nothing now: released, never sent
            assert source.ack(before) == 0
            again = await receive(source, 10)
            assert payloads(again) == payloads(before)
            assert all(m.session > before[0].session for m in again)
            assert source.ack(again) == 10
            assert source.pending() == 0
            await publish_all(own.port, [(topic, b"after")])
            after = await receive(source, 1, ack=True)
            assert [m.payload for m in after] == [b"after"]


@pytest.fixture
def passwd(tmp_path: Path) -> Path:
    """A Mosquitto password file with one user: ioc / right."""
    path = tmp_path / "passwd"
    path.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(path), "ioc", "right"], check=True)
    path.chmod(0o644)
    return path


@pytest.fixture
def server_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key: (cert, key); the cert is the CA."""
    key, cert = tmp_path / "server.key", tmp_path / "server.crt"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o644)
    return cert, key


@broker_test
async def test_refused_credentials_are_logged_once_and_retried(
    tmp_path: Path, passwd: Path, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    with LocalMosquitto(
        tmp_path / "mosquitto", allow_anonymous=False, extra_config=f"password_file {passwd}"
    ) as own:
        caplog.set_level(logging.INFO, logger="ioc.mqtt.subscriber")
        wrong = FastSource(
            # client ids named after the account: the broker's identity plugin refuses others
            MqttUrl(own.url_for("ioc", "wrong")), topic, client_id="ioc-auth", backoff=FAST_BACKOFF
        )
        async with wrong:
            deadline = time.monotonic() + 10
            while wrong.connect_failures < 3:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert not wrong.connected and not wrong.subscribed
        refusals = [r for r in caplog.records if "connection refused" in r.getMessage()]
        assert len(refusals) == 1, "a repeating refusal is logged once"
        async with running(
            FastSource(MqttUrl(own.url_for("ioc", "right")), topic, client_id="ioc-auth")
        ) as right:
            await publish_all(own.port, [(topic, b"ok")], client_id="ioc-publisher",
                              username="ioc", password="right")
            assert [m.payload for m in await receive(right, 1, ack=True)] == [b"ok"]


@broker_test
async def test_tls_with_a_private_ca(
    tmp_path: Path, server_cert: tuple[Path, Path], topic: str
) -> None:
    cert, key = server_cert
    with LocalMosquitto(
        tmp_path / "mosquitto", extra_config=f"certfile {cert}\nkeyfile {key}"
    ) as own:
        url = MqttUrl(f"mqtts://127.0.0.1:{own.port}")
        async with running(
            FastSource(url, topic, client_id="fast-tls", ca_file=str(cert))
        ) as source:
            async with aiomqtt.Client(
                "127.0.0.1", own.port, tls_params=aiomqtt.TLSParameters(ca_certs=str(cert))
            ) as client:
                await client.publish(topic, b"over tls", qos=1)
            assert [m.payload for m in await receive(source, 1, ack=True)] == [b"over tls"]
