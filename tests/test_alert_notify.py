"""Notifications end to end on real components: payment events published to the real broker
and stored by the real ingester, the alerter evaluating them in PostgreSQL with a fake
clock, and a real SMTP server (aiosmtpd), a real HTTP receiver and the real broker taking
the notifications."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiomqtt
import httpx
import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from ioc.alerting.engine import Alerter
from ioc.alerting.errors import RetryableNotifyError
from ioc.alerting.labels import Matcher
from ioc.alerting.notify.email import SmtpServer
from ioc.alerting.notify.mqtt import MqttPublisher
from ioc.alerting.rules import Rule
from ioc.alerting.service import build_notifiers
from ioc.alerting.store import AlertStore
from ioc.alerting.subscribers import Subscriber
from ioc.cli import main
from ioc.models import Event
from ioc.settings import MqttUrl
from ioc.tools.local import LocalMosquitto, free_port
from ioc.topics import alert_topic
from tests.conftest import wait_until
from tests.test_alert_engine import MIN, T0, outage, payment_rule, store, ticks

pytestmark = [pytest.mark.broker, pytest.mark.db]

SECRET = "khoá-bí-mật-webhook"
DASHBOARD = "http://grafana.test/d/ioc-overview"
RULE = "payment-success-rate-low"


# -- real receivers ------------------------------------------------------------------------------


@dataclass
class Request:
    headers: Any
    body: bytes
    status: int

    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server in a thread: records every POST, answers with the next scripted status."""

    def __init__(self, statuses: Sequence[int] = ()) -> None:
        self.requests: list[Request] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(Request(self.headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/ioc-alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.requests if r.status < 300]


class Mailbox:
    """aiosmtpd handler: keeps every message, parsed."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        raw = envelope.original_content or envelope.content
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return "250 Message accepted for delivery"


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@contextlib.asynccontextmanager
async def mqtt_messages(port: int, topic_filter: str, client_id: str) -> AsyncIterator[list]:
    """Every message on ``topic_filter`` while inside: (topic, payload, retained)."""
    received: list[tuple[str, dict, bool]] = []
    async with aiomqtt.Client("127.0.0.1", port, identifier=client_id) as client:
        await client.subscribe(topic_filter, qos=1)

        async def read() -> None:
            async for message in client.messages:
                received.append((str(message.topic), json.loads(message.payload), message.retain))

        reader = asyncio.create_task(read())
        try:
            yield received
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


# -- the system under test ----------------------------------------------------------------------


def subscriber(**fields: Any) -> Subscriber:
    values: dict[str, Any] = {
        "name": "ops",
        "matchers": ["team=payments"],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "1h",
        "channels": [],
    }
    values.update(fields)
    return Subscriber.model_validate(values)


def webhook(url: str, **fields: Any) -> dict[str, Any]:
    return {"type": "webhook", "url": url, "secret_env": "IOC_TEST_SECRET", **fields}


@contextlib.asynccontextmanager
async def alerter(
    database: str,
    broker,
    subscribers: Sequence[Subscriber],
    *,
    client_id: str,
    smtp_port: int = 1,
    rules: Sequence[Rule] | None = None,
) -> AsyncIterator[Alerter]:
    async with (
        AlertStore(database) as alert_store,
        httpx.AsyncClient() as http,
        MqttPublisher(MqttUrl(broker.url), client_id=client_id) as mqtt,
    ):
        notifiers = build_notifiers(
            subscribers,
            http=http,
            mqtt=mqtt,
            smtp=SmtpServer("127.0.0.1", smtp_port, sender="IOC Cảnh báo <ioc@test.vn>"),
            environ={"IOC_TEST_SECRET": SECRET},
        )
        async with Alerter(
            rules or [payment_rule()],
            alert_store,
            subscribers=subscribers,
            notifiers=notifiers,
            dashboard_url=DASHBOARD,
        ) as running:
            yield running


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def check() -> bool:
        return condition()

    await wait_until(check, timeout=timeout)


async def publish_all(publish, db, events: Sequence[Event]) -> None:
    for event in events:
        await publish(event.topic, event.to_json())

    async def stored() -> bool:
        return await db.fetchval("SELECT count(*) FROM payment_events") == len(events)

    await wait_until(stored, timeout=30)


async def attempts(db, subscriber_name: str | None = None) -> list[tuple[str, str, int, str]]:
    rows = await db.fetch(
        "SELECT channel, outcome, attempt, status FROM notification_log "
        "WHERE $1::text IS NULL OR subscriber = $1 ORDER BY id",
        subscriber_name,
    )
    return [tuple(r) for r in rows]


# -- the tests -----------------------------------------------------------------------------------


async def test_a_gateway_outage_notifies_once_firing_and_once_resolved_on_every_channel(
    ingester, publish, db, database, broker, mailbox, client_id
):
    await publish_all(publish, db, outage())
    with HttpReceiver() as receiver:
        subs = [
            subscriber(
                channels=[
                    webhook(receiver.url),
                    {"type": "email", "to": ["truc-ban@binhduong.gov.vn"]},
                    {"type": "mqtt"},
                ]
            )
        ]
        async with (
            mqtt_messages(broker.port, "ioc/alerts/v1/binh-duong/#", f"{client_id}-sub") as bus,
            alerter(database, broker, subs, client_id=client_id, smtp_port=mailbox.port) as a,
        ):
            await ticks(a, -1 * MIN, 25 * MIN)
            await eventually(lambda: len([m for m in bus if "/state/" not in m[0]]) >= 2)
            await asyncio.sleep(0.2)  # anything more would arrive by now
        transitions = [(t, p) for t, p, _ in bus if "/state/" not in t]

    # webhook: one firing, one resolved, signed
    assert [r.status for r in receiver.requests] == [200, 200]
    firing, resolved = receiver.accepted()
    for request in receiver.requests:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["X-IOC-Signature-256"] == expected
        assert request.headers["X-IOC-Notification-Id"] == request.json()["notification_id"]
    assert (firing["status"], firing["reason"]) == ("firing", "first notification of the group")
    [alert] = firing["alerts"]
    assert alert["labels"]["gateway"] == "vnpay" and alert["province"] == "binh-duong"
    assert alert["value"] < 0.95 and (alert["op"], alert["threshold"]) == ("<", 0.95)
    assert alert["firing_since"] == "2026-11-23T03:05:00Z"
    assert alert["active_since"] == "2026-11-23T03:00:00Z"
    assert alert["summary"]["vi"].startswith("Tỷ lệ thành công qua vnpay tại Bình Dương")
    assert alert["dashboard_url"].startswith(f"{DASHBOARD}?var-province=binh-duong&from=")
    assert (resolved["status"], resolved["reason"]) == ("resolved", "alerts resolved")
    assert resolved["alerts"][0]["resolved_at"] == "2026-11-23T03:15:00Z"
    assert resolved["alerts"][0]["value"] >= 0.97

    # e-mail: one firing, one resolved, in Vietnamese and English, UTF-8
    assert len(mailbox.messages) == 2
    fired_mail, resolved_mail = mailbox.messages
    assert fired_mail["Subject"].startswith("[CẢNH BÁO - NGHIÊM TRỌNG] Tỷ lệ thành công qua vnpay")
    assert fired_mail["To"] == "truc-ban@binhduong.gov.vn"
    body = fired_mail.get_content()
    assert "Nơi xảy ra: Bình Dương" in body
    assert "Bắt đầu từ: 10:00 23/11/2026 (cảnh báo lúc 10:05 23/11/2026" in body
    assert "(ngưỡng: < 95.0%)" in body and "Current value:" in body
    assert f"{DASHBOARD}?var-province=binh-duong" in body
    assert resolved_mail["Subject"].startswith("[ĐÃ KHẮC PHỤC] Tỷ lệ thành công qua vnpay")
    assert "Đã khắc phục lúc: 10:15 23/11/2026" in resolved_mail.get_content()

    # MQTT: one message per transition on the alert topic, and the retained state
    topic = alert_topic("binh-duong", RULE)
    assert [(t, p["state"]) for t, p in transitions] == [(topic, "firing"), (topic, "resolved")]
    async with mqtt_messages(broker.port, f"{topic}/state/+", f"{client_id}-late") as late:
        await eventually(lambda: len(late) >= 1)
    [(state_topic, state, retained)] = late
    assert state_topic.startswith(f"{topic}/state/vnpay-") and retained
    assert state["state"] == "resolved" and state["labels"]["gateway"] == "vnpay"

    # every attempt recorded (the channels of one notification are sent side by side)
    assert sorted(await attempts(db)) == sorted(
        (channel, "sent", 1, status)
        for channel in ("webhook", "email", "mqtt")
        for status in ("firing", "resolved")
    )
    transitions_stored = await db.fetch(
        "SELECT labels->>'gateway' AS gateway, state_from, state_to FROM alert_events ORDER BY id"
    )
    assert [tuple(r) for r in transitions_stored] == [
        ("vnpay", "inactive", "pending"),
        ("vnpay", "pending", "firing"),
        ("vnpay", "firing", "resolved"),
    ]


async def test_a_silence_suppresses_every_notification(
    ingester, publish, db, database, broker, mailbox, client_id
):
    await publish_all(publish, db, outage(province="ba-ria-vung-tau", district="vung-tau"))
    with HttpReceiver() as receiver:
        subs = [
            subscriber(
                channels=[
                    webhook(receiver.url),
                    {"type": "email", "to": ["ops@brvt.gov.vn"]},
                    {"type": "mqtt"},
                ]
            )
        ]
        async with (
            mqtt_messages(broker.port, "ioc/alerts/v1/ba-ria-vung-tau/#", f"{client_id}-s") as bus,
            alerter(database, broker, subs, client_id=client_id, smtp_port=mailbox.port) as a,
        ):
            await a.store.add_silence(
                [Matcher.parse("gateway=vnpay"), Matcher.parse("province=ba-ria-vung-tau")],
                starts_at=T0 - 60 * MIN,
                ends_at=T0 + 60 * MIN,
                created_by="test",
                comment="bảo trì cổng thanh toán",
            )
            await ticks(a, -1 * MIN, 7 * MIN)
            firing = await db.fetchrow("SELECT * FROM alerts_firing")
            await ticks(a, 7 * MIN + timedelta(seconds=30), 25 * MIN)
            await asyncio.sleep(0.3)
    assert firing is not None and firing["silenced"]  # the dashboards still show it
    assert receiver.requests == [] and mailbox.messages == []
    assert [m for m in bus if not m[2]] == []
    assert await attempts(db) == []
    assert await db.fetchval("SELECT count(*) FROM alert_events WHERE state_to = 'resolved'") == 1


async def test_a_webhook_that_fails_twice_then_succeeds_gets_the_notification_once(
    ingester, publish, db, database, broker, client_id
):
    await publish_all(publish, db, outage())
    retry = {"attempts": 3, "initial": "10ms", "maximum": "50ms"}
    with HttpReceiver([500, 503]) as flaky, HttpReceiver([404] * 10) as wrong:
        subs = [
            subscriber(name="flaky", channels=[webhook(flaky.url, retry=retry)]),
            subscriber(name="wrong", channels=[webhook(wrong.url, retry=retry)]),
        ]
        async with alerter(database, broker, subs, client_id=client_id) as a:
            await ticks(a, -1 * MIN, 5 * MIN)  # fires at T0+5m
            assert [r.status for r in flaky.requests] == [500, 503, 200]
            assert len({r.headers["X-IOC-Notification-Id"] for r in flaky.requests}) == 1
            assert [r.status for r in wrong.requests] == [404]  # a 4xx is not retried
            await ticks(a, 5 * MIN + timedelta(seconds=30), 8 * MIN)
    assert len(flaky.requests) == 3 and len(flaky.accepted()) == 1
    assert await attempts(db, "flaky") == [
        ("webhook", "retried", 1, "firing"),
        ("webhook", "retried", 2, "firing"),
        ("webhook", "sent", 3, "firing"),
    ]
    wrong_attempts = await attempts(db, "wrong")
    # given up at once each time, and tried again on a later pass after the backoff
    assert wrong_attempts and all(a == ("webhook", "failed", 1, "firing") for a in wrong_attempts)
    assert len(wrong.requests) == len(wrong_attempts)


async def test_restarting_the_alerter_while_firing_sends_nothing_new(
    ingester, publish, db, database, broker, mailbox, client_id
):
    await publish_all(publish, db, outage(province="quang-ninh", district="ha-long"))
    with HttpReceiver() as receiver:
        subs = [
            subscriber(
                channels=[
                    webhook(receiver.url),
                    {"type": "email", "to": ["ops@quangninh.gov.vn"]},
                    {"type": "mqtt"},
                ]
            )
        ]
        async with mqtt_messages(
            broker.port, "ioc/alerts/v1/quang-ninh/+", f"{client_id}-s"
        ) as bus:
            async with alerter(
                database, broker, subs, client_id=client_id, smtp_port=mailbox.port
            ) as a:
                await ticks(a, -1 * MIN, 6 * MIN)
            assert len(receiver.requests) == len(mailbox.messages) == 1
            # a new alerter: new connections, nothing in memory
            async with alerter(
                database, broker, subs, client_id=client_id, smtp_port=mailbox.port
            ) as b:
                await ticks(b, 6 * MIN + timedelta(seconds=30), 12 * MIN)
                assert len(receiver.requests) == len(mailbox.messages) == 1
                await ticks(b, 12 * MIN + timedelta(seconds=30), 20 * MIN)
            await eventually(lambda: len(bus) >= 2)
            await asyncio.sleep(0.2)
    assert [r.json()["status"] for r in receiver.requests] == ["firing", "resolved"]
    assert len(mailbox.messages) == 2
    assert [p["state"] for _, p, _ in bus] == ["firing", "resolved"]


async def test_an_acknowledged_alert_is_not_repeated_but_its_resolution_is_sent(
    ingester, publish, db, database, broker, client_id
):
    await publish_all(publish, db, outage())
    with HttpReceiver() as receiver:
        subs = [subscriber(repeat_interval="2m", channels=[webhook(receiver.url)])]
        async with alerter(database, broker, subs, client_id=client_id) as a:
            await ticks(a, -1 * MIN, 7 * MIN)  # fires at 5m, repeats at 7m
            await a.store.acknowledge(
                rule=RULE,
                matchers=[],
                fingerprint=None,
                by="trực ban",
                comment="",
                now=T0 + 7 * MIN,
            )
            await ticks(a, 7 * MIN + timedelta(seconds=30), 20 * MIN)
    assert [r.json()["reason"] for r in receiver.requests] == [
        "first notification of the group",
        "repeat interval elapsed, still firing",
        "alerts resolved",
    ]
    assert receiver.requests[-1].json()["alerts"][0]["acknowledged_by"] is None


# -- the command line ----------------------------------------------------------------------------


def test_operators_list_silence_and_acknowledge_from_the_command_line(database, monkeypatch):
    monkeypatch.setenv("IOC_DATABASE_URL", database)

    async def fire() -> None:
        await store(database, outage())
        async with AlertStore(database) as alert_store:
            await ticks(Alerter([payment_rule()], alert_store), 0 * MIN, 5 * MIN, step=MIN)

    asyncio.run(fire())
    runner = CliRunner()
    listed = runner.invoke(main, ["alerts", "list"])
    assert listed.exit_code == 0, listed.output
    assert "firing   critical payment-success-rate-low" in listed.output
    assert "Tỷ lệ thành công qua vnpay tại Bình Dương" in listed.output

    added = runner.invoke(
        main,
        [
            "alerts",
            "silence",
            "add",
            "-m",
            "gateway=vnpay",
            "-m",
            'rule=~"payment-.*"',
            "--duration",
            "2h",
            "--comment",
            "bảo trì",
            "--by",
            "ops",
        ],
    )
    assert added.exit_code == 0, added.output
    silence_id = added.output.split()[1]
    listed = runner.invoke(main, ["alerts", "silence", "list"])
    assert f"{silence_id}  active" in listed.output
    assert 'gateway="vnpay" rule=~"payment-.*"' in listed.output and "# bảo trì" in listed.output
    expired = runner.invoke(main, ["alerts", "silence", "expire", silence_id[:8]])
    assert expired.exit_code == 0 and f"silence {silence_id} expired" in expired.output
    assert "0 silence(s)" in runner.invoke(main, ["alerts", "silence", "list"]).output
    assert "expired" in runner.invoke(main, ["alerts", "silence", "list", "--all"]).output
    bad = runner.invoke(main, ["alerts", "silence", "add", "-m", "gateway"])
    assert bad.exit_code == 2 and "is not a matcher" in bad.output

    acked = runner.invoke(main, ["alerts", "ack", RULE, "-m", "gateway=vnpay", "--by", "ops"])
    assert acked.exit_code == 0 and "acknowledged payment-success-rate-low" in acked.output
    assert "[acked by ops]" in runner.invoke(main, ["alerts", "list"]).output
    none = runner.invoke(main, ["alerts", "ack", RULE, "-m", "gateway=momo"])
    assert none.exit_code == 1 and "no firing alert matches" in none.output

    # one pass of the shipped rules with the real clock: the 2026 outage is not "now"
    once = runner.invoke(main, ["alert", "run", "--once"])
    assert once.exit_code == 0, once.output
    assert "nobody is notified" in once.output


@pytest.mark.slow
def test_ioc_alert_run_serves_metrics_and_stops_cleanly_on_sigterm(database, broker, tmp_path):
    subscribers = tmp_path / "subscribers.yml"
    subscribers.write_text("subscribers:\n  - name: bus\n    channels:\n      - type: mqtt\n")
    port = free_port()
    log = tmp_path / "alerter.log"
    env = dict(
        os.environ,
        IOC_DATABASE_URL=database,
        IOC_MQTT_URL=broker.url,
        IOC_ALERT_SUBSCRIBERS=str(subscribers),
        IOC_ALERT_INTERVAL_SECONDS="1",
        IOC_ALERT_METRICS_PORT=str(port),
        IOC_ALERT_MQTT_CLIENT_ID=f"alerter-{os.getpid()}",
        IOC_LOG_LEVEL="INFO",
    )
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ioc.cli", "alert", "run"], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 20
        metrics = ""
        while 'ioc_alert_rule_evaluations_total{rule="portal-down"} 2.0' not in metrics:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            url = f"http://127.0.0.1:{port}/metrics"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as r:
                metrics = r.read().decode()
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            assert response.status == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
    assert "alerter stopped" in log.read_text()


async def test_the_mqtt_publisher_reconnects_after_the_broker_restarts(tmp_path, client_id):
    with LocalMosquitto(tmp_path / "mosquitto") as own:
        async with MqttPublisher(MqttUrl(own.url), client_id=client_id, timeout=2) as publisher:
            await publisher.publish("ioc/alerts/v1/binh-duong/x", b"{}")
            own.stop()
            await asyncio.sleep(0.3)
            with pytest.raises(RetryableNotifyError):  # the retry stage will try again
                await publisher.publish("ioc/alerts/v1/binh-duong/x", b"{}")
            with pytest.raises(RetryableNotifyError, match="cannot connect"):
                await publisher.publish("ioc/alerts/v1/binh-duong/x", b"{}")
            own.start()
            async with mqtt_messages(own.port, "ioc/alerts/v1/#", f"{client_id}-sub") as got:
                await publisher.publish("ioc/alerts/v1/binh-duong/x", b'{"n": 3}')
                await eventually(lambda: len(got) == 1)
    assert got == [("ioc/alerts/v1/binh-duong/x", {"n": 3}, False)]
