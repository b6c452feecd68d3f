"""``FastPublisher`` and ``ioc-sim backfill`` against a real Mosquitto.

Subscribers are ``FastSource`` QoS 1 sessions (persistent, reconnecting by themselves) that
acknowledge what they receive. Tests that restart, stop or reconfigure the broker get their
own (``own_broker``, with ``sys_interval 1`` so the backlog count comes every second).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ioc.mqtt.publisher import FastPublisher, PublisherRefused
from ioc.mqtt.subscriber import FastSource
from ioc.mqtt.wire import PROTOCOL_5, PROTOCOL_311, Decoder, Publish, with_packet_id
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto
from ioc.topics import FEED_FILTER
from simulators.cli import main as sim_main


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalMosquitto]:
    with LocalMosquitto(tmp_path / "mosquitto", extra_config="sys_interval 1") as server:
        yield server


class Collector:
    """A persistent QoS 1 subscription that acknowledges and records every payload."""

    def __init__(self, url: str, topic_filter: str, client_id: str) -> None:
        self.source = FastSource(MqttUrl(url), topic_filter, client_id=client_id, max_pending=5000)
        self.payloads: Counter[bytes] = Counter()

    async def __aenter__(self) -> Collector:
        await self.source.__aenter__()
        await until(lambda: self.source.subscribed, "the subscriber did not subscribe")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.source.__aexit__(*exc)

    async def collect(self, expected: set[bytes], timeout: float = 30.0) -> None:
        """Receive until every payload of ``expected`` has arrived at least once."""
        deadline = time.monotonic() + timeout
        while not expected <= self.payloads.keys():
            missing = len(expected - self.payloads.keys())
            assert time.monotonic() < deadline, f"{missing} messages never arrived"
            batch = await self.source.batch(2000, 0.1)
            self.payloads.update(message.payload for message in batch)
            self.source.ack(batch)


async def until(predicate, message: str, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.01)


async def subscribe_and_leave(url: str, topic_filter: str, client_id: str) -> None:
    """A persistent session that is subscribed and away: the broker queues for it."""
    async with Collector(url, topic_filter, client_id):
        pass


async def drain_event_ids(url: str, client_id: str, count: int) -> Counter[str]:
    """The event ids of ``count`` feed messages queued for the session ``client_id``."""
    ids: Counter[str] = Counter()
    async with Collector(url, FEED_FILTER, client_id) as sub:
        deadline = time.monotonic() + 30
        while sum(ids.values()) < count:
            assert time.monotonic() < deadline, f"{sum(ids.values())} of {count}"
            batch = await sub.source.batch(2000, 0.1)
            ids.update(json.loads(message.payload)["event_id"] for message in batch)
            sub.source.ack(batch)
    return ids


def payloads(count: int) -> list[bytes]:
    return [f"message {i}".encode() for i in range(count)]


async def test_every_message_arrives_exactly_once(broker: LocalMosquitto, client_id: str) -> None:
    topic = f"test/{client_id}/x"
    messages = payloads(5000)
    async with Collector(broker.url, topic, f"{client_id}-sub") as sub:
        async with FastPublisher(MqttUrl(broker.url), client_id=f"{client_id}-pub",
                                 window=300) as publisher:
            for payload in messages:
                await publisher.send(topic, payload)
            await publisher.flush()
            assert publisher.in_flight == 0
            assert publisher.published == len(messages)
            await publisher.publish_raw(topic, b"acknowledged")  # returns once acked
            assert publisher.published == len(messages) + 1
        await sub.collect({*messages, b"acknowledged"})
        assert set(sub.payloads.values()) == {1}, "a message arrived twice"
        assert publisher.retries == publisher.reconnects == 0


async def test_a_broker_restart_loses_nothing(own_broker: LocalMosquitto, client_id: str) -> None:
    topic = f"test/{client_id}/x"
    messages = payloads(20_000)
    async with Collector(own_broker.url, topic, f"{client_id}-sub") as sub:
        async with FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                                 window=500) as publisher:

            async def produce() -> None:
                for payload in messages:
                    await publisher.send(topic, payload)
                await publisher.flush()

            producer = asyncio.create_task(produce())
            await until(lambda: publisher.published >= 3000 or producer.done(), "no progress")
            assert not producer.done(), "too fast to restart the broker in the middle"
            await asyncio.to_thread(own_broker.restart)
            await asyncio.wait_for(producer, 60)
            assert publisher.reconnects >= 1
            assert publisher.in_flight == 0
        await sub.collect(set(messages), timeout=60)


async def test_the_window_bounds_unacknowledged_messages(
    own_broker: LocalMosquitto, client_id: str
) -> None:
    topic = f"test/{client_id}/x"
    messages = payloads(1000)
    async with FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                             window=100) as publisher:
        assert own_broker.process is not None
        own_broker.process.send_signal(signal.SIGSTOP)  # a broker that acknowledges nothing
        try:
            async def produce() -> None:
                for payload in messages:
                    await publisher.send(topic, payload)

            producer = asyncio.create_task(produce())
            await until(lambda: publisher.in_flight == 100, "the window did not fill")
            for _ in range(20):  # it stays full: send waits
                await asyncio.sleep(0.01)
                assert publisher.in_flight == 100
                assert not producer.done()
        finally:
            own_broker.process.send_signal(signal.SIGCONT)
        await asyncio.wait_for(producer, 30)
        await asyncio.wait_for(publisher.flush(), 30)
        assert publisher.published == len(messages)
        assert publisher.in_flight == 0


async def test_backlog_pacing_waits_for_an_absent_subscriber(
    own_broker: LocalMosquitto, client_id: str
) -> None:
    topic = f"test/{client_id}/x"
    messages = payloads(6000)
    await subscribe_and_leave(own_broker.url, topic, f"{client_id}-sub")
    async with FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                             window=50, max_backlog=300) as publisher:
        await until(lambda: publisher.backlog is not None, "no $SYS store count")

        async def produce() -> None:  # ~2,000 messages/s: the broker's count can follow
            for number, payload in enumerate(messages):
                await publisher.send(topic, payload)
                if number % 20 == 19:
                    await asyncio.sleep(0.01)
            await publisher.flush()

        producer = asyncio.create_task(produce())
        await until(lambda: publisher.backlog_paused or producer.done(), "never paused")
        assert not producer.done(), "published everything into the absent session's queue"
        paused_at = publisher.published
        assert paused_at < len(messages)
        async with Collector(own_broker.url, topic, f"{client_id}-sub") as sub:
            collector = asyncio.create_task(sub.collect(set(messages)))
            await asyncio.wait_for(producer, 60)  # resumes once the subscriber drains the queue
            await collector
        assert publisher.backlog_wait > 0
        assert publisher.published == len(messages)


async def test_without_sys_values_it_warns_once_and_publishes_unpaced(
    tmp_path: Path, client_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    acl = tmp_path / "acl"
    acl.write_text("topic readwrite test/#\n")  # anonymous clients: no $SYS
    config = f"acl_file {acl}\nsys_interval 1"
    topic = f"test/{client_id}/x"
    with LocalMosquitto(tmp_path / "mosquitto", extra_config=config) as server:
        async with FastPublisher(MqttUrl(server.url), client_id=f"{client_id}-pub",
                                 max_backlog=10, backlog_timeout=1.0) as publisher:
            with caplog.at_level(logging.WARNING, logger="ioc.mqtt.publisher"):
                for payload in payloads(500):
                    await publisher.send(topic, payload)
                await publisher.flush()
                await until(lambda: "without backlog pacing" in caplog.text, "no warning")
            assert publisher.published == 500
            assert publisher.backlog is None and not publisher.backlog_paused
    assert caplog.text.count("without backlog pacing") == 1


async def test_a_refused_connection_is_a_clear_error(tmp_path: Path, client_id: str) -> None:
    with (
        LocalMosquitto(tmp_path / "mosquitto", allow_anonymous=False) as server,
        pytest.raises(PublisherRefused, match=r"not authori[sz]ed|bad user name"),
    ):
        async with FastPublisher(MqttUrl(server.url), client_id=f"{client_id}-pub"):
                pass


def test_the_backfill_command_publishes_a_short_span(
    own_broker: LocalMosquitto, client_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the subscriber is away: at the end the command waits (up to the replay window) for the
    # broker to save what it holds; a short window keeps the test short
    monkeypatch.setenv("IOC_MQTT_REPLAY_SECONDS", "2")
    asyncio.run(subscribe_and_leave(own_broker.url, FEED_FILTER, f"{client_id}-sub"))
    result = CliRunner().invoke(sim_main, [
        "backfill", "--days", "0.02", "--province", "quang-ninh", "--seed", "7",
        "--mqtt-url", own_broker.url, "--client-id", f"{client_id}-sim",
    ])
    assert result.exit_code == 0, result.output
    found = re.search(r"published ([\d,]+) of ([\d,]+) events in [\d.]+ s \(([\d,]+) events/s\)",
                      result.output)
    assert found, result.output
    published, generated = (int(found.group(n).replace(",", "")) for n in (1, 2))
    assert published == generated > 0
    assert "replayed 0" in result.output

    ids = asyncio.run(drain_event_ids(own_broker.url, f"{client_id}-sub", published))
    assert len(ids) == published and set(ids.values()) == {1}


# -- the replay window ------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [PROTOCOL_311, PROTOCOL_5])
def test_a_kept_message_is_published_again_under_a_new_packet_id(protocol: int) -> None:
    long_topic = "ioc/v1/" + "x" * 200  # a remaining length of two bytes
    for topic, payload in (("t", b"p"), (long_topic, b"y" * 20_000)):
        original = Publish(topic, payload, 1, 5, True, False).encode(protocol)
        decoder = Decoder(protocol)
        decoder.feed(with_packet_id(original, 777))
        (again,) = decoder.packets()
        assert (again.topic, again.payload, again.packet_id, again.dup, again.qos) == (
            topic, payload, 777, False, 1,
        )


async def test_what_the_subscriber_took_is_not_kept(own_broker: LocalMosquitto,
                                                    client_id: str) -> None:
    """Once the broker no longer holds the messages ($SYS store count), the window lets them
    go long before its time bound."""
    topic = f"test/{client_id}/x"
    messages = payloads(3000)
    async with (
        Collector(own_broker.url, topic, f"{client_id}-sub") as sub,
        FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                      replay_seconds=3600) as publisher,
    ):
        for payload in messages:
            await publisher.send(topic, payload)
        await publisher.flush()
        assert publisher.at_risk == len(messages)  # acknowledged, not yet taken
        await sub.collect(set(messages))
        assert await publisher.settle(60), f"{publisher.at_risk} still kept"


async def test_the_window_is_bounded_and_waits_out_its_time(own_broker: LocalMosquitto,
                                                           client_id: str) -> None:
    topic = f"test/{client_id}/x"
    await subscribe_and_leave(own_broker.url, topic, f"{client_id}-sub")  # the broker holds all
    async with FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                             window=50, replay_seconds=1.0, replay_max=200) as publisher:
        most = 0
        for payload in payloads(600):
            await publisher.send(topic, payload)
            most = max(most, publisher.at_risk)
        await publisher.flush()
        assert publisher.published == 600
        assert most <= 200 and publisher.replay_wait > 0


async def test_a_restarted_broker_gets_the_window_again(own_broker: LocalMosquitto,
                                                        client_id: str) -> None:
    """kill -9 before any save: the broker comes back empty, without the subscriber's session;
    the window is published again, and (MQTT 5) what reached no subscriber is kept and
    published again until the subscriber is back."""
    topic = f"test/{client_id}/x"
    first, second = payloads(2000)[:1000], payloads(2000)[1000:]
    async with (
        Collector(own_broker.url, topic, f"{client_id}-sub") as sub,
        FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                      protocol=PROTOCOL_5, unrouted_retry=0.2) as publisher,
    ):
        for payload in first:
            await publisher.send(topic, payload)
        await publisher.flush()
        await asyncio.to_thread(own_broker.kill)
        await asyncio.to_thread(own_broker.start)
        for payload in second:  # the subscriber is still reconnecting: nobody takes these
            await publisher.send(topic, payload)
        await asyncio.wait_for(publisher.flush(), 60)
        await sub.collect(set(first) | set(second), timeout=60)
        assert publisher.reconnects == 1
        assert publisher.replayed >= 1
        assert publisher.published == len(first) + len(second)
        assert publisher.unrouted == 0


def test_the_run_command_backfills_then_goes_live_through_one_publisher(
    own_broker: LocalMosquitto, client_id: str
) -> None:
    asyncio.run(subscribe_and_leave(own_broker.url, FEED_FILTER, f"{client_id}-sub"))
    result = CliRunner().invoke(sim_main, [
        "run", "--province", "binh-duong", "--seed", "3", "--backfill-days", "0.01",
        "--speed", "600", "--duration", "2", "--mqtt-url", own_broker.url,
        "--client-id", f"{client_id}-sim",
    ], env={"IOC_MQTT_REPLAY_SECONDS": "1"})
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps at 80 columns here
    assert "backfilled" in output
    found = re.search(r"published ([\d,]+) of ([\d,]+) events .* replayed 0", output)
    assert found, output
    published, generated = (int(found.group(n).replace(",", "")) for n in (1, 2))
    assert published == generated > 0

    ids = asyncio.run(drain_event_ids(own_broker.url, f"{client_id}-sub", published))
    assert len(ids) == published and set(ids.values()) == {1}


async def test_what_no_subscriber_takes_is_given_up_after_the_window(
    own_broker: LocalMosquitto, client_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """MQTT 5: nobody subscribes at all. The messages are published again for the replay
    window, then given up, counted and logged: flush returns, nothing is kept forever."""
    topic = f"test/{client_id}/nobody"
    async with FastPublisher(MqttUrl(own_broker.url), client_id=f"{client_id}-pub",
                             protocol=PROTOCOL_5, replay_seconds=1.0,
                             unrouted_retry=0.2) as publisher:
        with caplog.at_level(logging.WARNING, logger="ioc.mqtt.publisher"):
            for payload in payloads(50):
                await publisher.send(topic, payload)
            await asyncio.wait_for(publisher.flush(), 30)
        assert publisher.unrouted == 50
        assert publisher.unrouted_retries >= 50
        assert publisher.published == 0
        assert publisher.at_risk == 0
    assert "no subscriber took a message on " + topic in caplog.text
