"""Feed simulators: dossiers, payments and field reports of three provinces, over MQTT.

``Simulation`` generates the events (``ioc.models``) deterministically from a seed,
``PROFILES`` holds each province's loads and published figures, and ``FastPublisher`` sends
events to the broker (and again after a reconnect, what a crashed broker may have lost).
``ioc-sim`` (``simulators.cli``) runs them live, as a backfill, or switches a scenario on in
a running simulator.
"""

from ioc.mqtt.client import PublisherClosed
from ioc.mqtt.publisher import FastPublisher, PublisherRefused
from simulators.engine import SCENARIOS, Scenario, Simulation
from simulators.profiles import PROFILES, ProvinceProfile

__all__ = [
    "PROFILES",
    "SCENARIOS",
    "FastPublisher",
    "ProvinceProfile",
    "PublisherClosed",
    "PublisherRefused",
    "Scenario",
    "Simulation",
]
