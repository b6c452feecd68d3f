"""Switching scenarios on in a running simulator, through an MQTT control topic.

``ioc-sim scenario NAME`` publishes a ``ScenarioCommand`` (JSON, QoS 1, not retained: a
command is a one-off, it must not fire again when a simulator restarts) to ``CONTROL_TOPIC``;
every running ``ioc-sim run`` listens there and applies it from its current simulated time
for ``minutes`` simulated minutes. The topic has four levels, so the ingester's
``ioc/v1/+/+/+`` subscription never sees it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import aiomqtt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ioc import topics
from ioc.mqtt.client import make_client
from ioc.settings import MqttUrl
from simulators.engine import Scenario, Simulation

log = logging.getLogger(__name__)

CONTROL_TOPIC = topics.CONTROL_TOPIC

ScenarioName = Literal[
    "gateway-outage", "gateway-degraded", "agency-degraded", "portal-down", "flood", "feed-silent"
]


class ScenarioCommand(BaseModel):
    """Switch ``scenario`` on for ``minutes`` of simulated time, from the simulator's now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: ScenarioName
    province: str | None = None
    """None: every simulated province."""
    target: str | None = None
    """Gateway slug, agency code, district code or feed name, depending on the scenario."""
    minutes: float = Field(default=15.0, gt=0, le=7 * 24 * 60)

    def apply(self, sim: Simulation, now: datetime) -> list[Scenario]:
        """Inject into ``sim`` from ``now`` (raises ValueError for an unknown target)."""
        return sim.inject(
            self.scenario,
            start=now,
            end=now + timedelta(minutes=self.minutes),
            province=self.province,
            target=self.target,
        )


def parse_command(payload: bytes) -> ScenarioCommand | str:
    """The command in ``payload``, or why it is not one."""
    try:
        return ScenarioCommand.model_validate_json(payload)
    except ValidationError as exc:
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )


async def send(
    url: MqttUrl, command: ScenarioCommand, *, client_id: str, ca_file: str | Path | None = None
) -> None:
    """Publish ``command`` once, at QoS 1; raises ``aiomqtt.MqttError`` if the broker is away."""
    async with make_client(url, identifier=client_id, ca_file=ca_file) as client:
        await client.publish(CONTROL_TOPIC, command.model_dump_json().encode(), qos=1)


async def listen(
    url: MqttUrl,
    on_command: Callable[[ScenarioCommand], None],
    *,
    client_id: str,
    ca_file: str | Path | None = None,
    max_backoff: float = 10.0,
) -> None:
    """Call ``on_command`` for every valid command, until cancelled; reconnects on its own."""
    delay = 0.5
    failing = False
    while True:
        try:
            async with make_client(url, identifier=client_id, ca_file=ca_file) as client:
                await client.subscribe(CONTROL_TOPIC, qos=1)
                if failing:
                    log.info("control topic subscribed again")
                failing, delay = False, 0.5
                async for message in client.messages:
                    payload = message.payload
                    data = payload if isinstance(payload, bytes) else str(payload).encode()
                    command = parse_command(data)
                    if isinstance(command, str):
                        log.warning("ignored an invalid scenario command: %s", command)
                        continue
                    on_command(command)
        except aiomqtt.MqttError as exc:
            if not failing:
                log.warning("control topic unavailable (%s); retrying", exc)
            failing = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_backoff)
