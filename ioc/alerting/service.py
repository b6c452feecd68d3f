"""Wiring of the long-running alerter from the settings: rules, subscribers, notifiers, the
database, the broker, /metrics, and the signals that stop it.

Everything long-lived is an async context manager entered on one ``AsyncExitStack`` and
closed in reverse order on SIGINT/SIGTERM: the evaluation loop stops, the notifications in
progress drain (with a timeout), then the MQTT connection, the HTTP client and the database
pool close.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from ioc.alerting.engine import Alerter
from ioc.alerting.errors import ConfigError
from ioc.alerting.notify.base import Notifier
from ioc.alerting.notify.email import EmailNotifier, SmtpServer
from ioc.alerting.notify.mqtt import MqttNotifier, MqttPublisher
from ioc.alerting.notify.webhook import WebhookNotifier
from ioc.alerting.rules import DEFAULT_RULES_FILE, Rule, load_rules
from ioc.alerting.store import AlertStore
from ioc.alerting.subscribers import (
    EmailChannel,
    MqttChannel,
    Subscriber,
    WebhookChannel,
    load_subscribers,
)
from ioc.connect import path_unusable
from ioc.health import HealthServer
from ioc.runtime import SYSTEM_CLOCK, Clock, stop_on_signals
from ioc.settings import Settings

log = logging.getLogger(__name__)


def rule_paths(settings: Settings, extra: Sequence[Path] = ()) -> list[Path]:
    """The shipped rules (unless disabled), then IOC_ALERT_RULES, then ``extra``."""
    paths = [DEFAULT_RULES_FILE] if settings.alert_default_rules else []
    if settings.alert_rules is not None:
        paths.append(settings.alert_rules)
    return paths + list(extra)


def load_configuration(
    settings: Settings,
    *,
    rules: Sequence[Path] = (),
    subscribers: Path | None = None,
) -> tuple[list[Rule], list[Subscriber]]:
    named = [("IOC_ALERT_RULES", settings.alert_rules)]
    if subscribers is None:
        named.append(("IOC_ALERT_SUBSCRIBERS", settings.alert_subscribers))
    for setting, named_path in named:
        if named_path is not None and not named_path.exists():
            missing = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            raise path_unusable(missing, setting, named_path, "file")
    loaded_rules = load_rules(rule_paths(settings, rules))
    path = subscribers or settings.alert_subscribers
    loaded_subscribers = load_subscribers(path) if path else []
    return loaded_rules, loaded_subscribers


def smtp_server(settings: Settings) -> SmtpServer | None:
    if settings.alert_smtp_url is None:
        return None
    parts = urlsplit(settings.alert_smtp_url.get_secret_value())
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (465 if implicit_tls else 25),
        sender=settings.alert_smtp_from,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=implicit_tls,
        start_tls=settings.alert_smtp_starttls and not implicit_tls,
    )


def build_notifiers(
    subscribers: Sequence[Subscriber],
    *,
    http: httpx.AsyncClient,
    mqtt: MqttPublisher | None,
    smtp: SmtpServer | None,
    environ: Mapping[str, str] | None = None,
) -> dict[tuple[str, str], Notifier]:
    """One notifier per subscriber channel."""
    environ = os.environ if environ is None else environ
    notifiers: dict[tuple[str, str], Notifier] = {}
    problems = []
    for subscriber in subscribers:
        for channel in subscriber.channels:
            key = (subscriber.name, channel.key)
            if isinstance(channel, WebhookChannel):
                notifiers[key] = WebhookNotifier(
                    str(channel.url),
                    channel.secret(environ),
                    client=http,
                    timeout=channel.timeout.total_seconds(),
                )
            elif isinstance(channel, EmailChannel):
                if smtp is None:
                    problems.append(
                        f"subscriber {subscriber.name!r} has an e-mail channel but "
                        "IOC_ALERT_SMTP_URL is not set"
                    )
                    continue
                notifiers[key] = EmailNotifier(smtp, list(channel.to))
            elif isinstance(channel, MqttChannel):
                assert mqtt is not None
                notifiers[key] = MqttNotifier(mqtt, retain_state=channel.retain_state)
    if problems:
        raise ConfigError(problems)
    return notifiers


def needs_mqtt(subscribers: Sequence[Subscriber]) -> bool:
    return any(isinstance(c, MqttChannel) for s in subscribers for c in s.channels)


async def run_alerter(
    settings: Settings,
    rules: Sequence[Rule],
    subscribers: Sequence[Subscriber],
    *,
    once: bool = False,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    clock: Clock = SYSTEM_CLOCK,
) -> None:
    """Run the alerter until SIGINT/SIGTERM (or ``stop``); ``once``: one pass, then return."""
    stop = stop or asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        store = await stack.enter_async_context(AlertStore(settings.dsn()))
        http = await stack.enter_async_context(httpx.AsyncClient())
        mqtt = None
        if needs_mqtt(subscribers):
            mqtt = await stack.enter_async_context(
                MqttPublisher(
                    settings.mqtt,
                    client_id=settings.alert_mqtt_client_id,
                    protocol=settings.mqtt_protocol,
                    ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
                )
            )
        notifiers = build_notifiers(subscribers, http=http, mqtt=mqtt, smtp=smtp_server(settings))
        alerter = await stack.enter_async_context(
            Alerter(
                rules,
                store,
                subscribers=subscribers,
                notifiers=notifiers,
                clock=clock,
                dashboard_url=settings.alert_dashboard_url,
                data_allowance=timedelta(seconds=settings.alert_data_allowance_seconds),
            )
        )
        if once:
            result = await alerter.tick()
            log.info(
                "one pass done",
                extra={"alerts": len(result.alerts), "transitions": len(result.events)},
            )
            return
        if settings.alert_metrics_port:
            await stack.enter_async_context(
                HealthServer(
                    settings.alert_metrics_host,
                    settings.alert_metrics_port,
                    ready=lambda: alerter.database_ok,
                    setting="IOC_ALERT_METRICS_PORT",
                )
            )
        stack.enter_context(stop_on_signals(stop.set, enabled=handle_signals))
        log.info(
            "alerter running",
            extra={"rules": len(rules), "subscribers": len(subscribers)},
        )
        await alerter.run(stop, interval=settings.alert_interval_seconds)
    log.info("alerter stopped")
