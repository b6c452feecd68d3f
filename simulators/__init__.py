"""Feed simulators: dossiers, payments and field reports of three provinces, over MQTT.

engine.py     ``Simulation``: the deterministic discrete-event simulation, its one agenda and
              the scenarios (``Scenario``, ``SCENARIOS``) switched on in it
streams.py    what every feed's stream shares: Poisson arrivals per 15-minute bucket, the
              draws, the sources, the scenario ramp
dossiers.py   the dossier stream (procedures, agencies, working calendar, portal outages)
payments.py   the payment stream (gateways, methods, pending settlements, refunds, outages)
incidents.py  the field-report stream (categories, deadlines, rain, the flood surge)
profiles.py   each province's loads, shares and targets, with their sources
patterns.py   the shapes of demand over a day, a week and a month
worktime.py   local time and the working calendars on integer milliseconds
weather.py    the rain model that drives flooding reports
runner.py     driving a simulation live (wall clock) or as a backfill, through one publisher
control.py    scenario commands over MQTT to a running simulator
cli.py        ``ioc-sim run|backfill|scenario``

Simulators import only the shared types of ``ioc`` and ``ioc.mqtt``: events are published by
``ioc.mqtt.publisher.FastPublisher``, live and backfill alike, so that its replay window (what
a crashed broker may lose) is in one place.
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
