"""Feed simulators: dossiers, payments and field reports of three provinces, over MQTT.

``Simulation`` generates the events (``ioc.models``) deterministically from a seed,
``PROFILES`` holds each province's loads and published figures, and ``Publisher`` sends events
to the broker. ``ioc-sim`` (``simulators.cli``) runs them live, as a backfill, or switches a
scenario on in a running simulator.
"""

from simulators.engine import SCENARIOS, Scenario, Simulation
from simulators.profiles import PROFILES, ProvinceProfile
from simulators.publisher import Publisher, PublisherClosed, PublishQueue

__all__ = [
    "PROFILES",
    "SCENARIOS",
    "ProvinceProfile",
    "PublishQueue",
    "Publisher",
    "PublisherClosed",
    "Scenario",
    "Simulation",
]
