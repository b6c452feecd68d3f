"""What our MQTT clients share: client ids, the aiomqtt client of the ordinary clients (the
simulators' control channel, the alerter's MQTT notifier), and the error of a closed
publisher.

The events themselves are published by ``ioc.mqtt.publisher.FastPublisher``, live and
backfill alike, so that its replay window (what a broker crash may lose) is in one place.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import aiomqtt

from ioc.settings import MqttUrl

__all__ = ["PublisherClosed", "default_client_id", "make_client"]


class PublisherClosed(RuntimeError):
    """``publish`` was called on (or was waiting in) a publisher that has been closed."""


def default_client_id(username: str | None = None, prefix: str = "ioc-sim") -> str:
    """``ioc-sim-<pid>``; for a broker account, named after it (``simulators-sim-<pid>``):
    the project's broker lets an account use only client ids that begin with its name
    (mosquitto/plugin/ioc_identity.c)."""
    if username:
        return f"{username}-{prefix.removeprefix('ioc-')}-{os.getpid()}"
    return f"{prefix}-{os.getpid()}"


def make_client(
    url: MqttUrl,
    *,
    identifier: str,
    ca_file: str | Path | None = None,
    max_inflight: int | None = None,
    timeout: float | None = None,
    protocol: int = 4,
) -> aiomqtt.Client:
    """An aiomqtt client for ``url`` (credentials from the URL, TLS for ``mqtts://``),
    MQTT 3.1.1 (``protocol=4``) or 5."""
    tls_context = ssl.create_default_context(cafile=ca_file) if url.tls else None
    client = aiomqtt.Client(
        url.host,
        url.port,
        username=url.username,
        password=url.password,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5 if protocol == 5 else aiomqtt.ProtocolVersion.V311,
        tls_context=tls_context,
        max_inflight_messages=max_inflight,
        timeout=timeout,
    )
    if max_inflight is not None:  # aiomqtt warns past this many pending publishes; ours is a choice
        client.pending_calls_threshold = max_inflight + 1
    return client
