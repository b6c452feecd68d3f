"""The default profiles reproduce the provinces' published figures, measured in the database.

Simulated data of all three provinces is stored through the real write path, and the KPI
functions (the same ones dashboards and alert rules use) must land within 2 percentage points
of each profile's targets: dossiers and payments over a simulated week, evaluated as of its
end; field reports over two weeks, as of their end, so that most reports are already due. Field
reports are few at the test's scale, so their daily volume is raised for their run (the shares,
which are the targets, stay the same).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from ioc.store import Store
from simulators.engine import Simulation
from simulators.profiles import PROFILES

pytestmark = pytest.mark.db

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday, 07:00 in Vietnam
WEEK_END = START + timedelta(days=7)
FORTNIGHT_END = START + timedelta(days=14)
TOLERANCE = 0.02


async def _store(dsn: str, simulation: Simulation, end: datetime) -> None:
    store = Store(dsn)
    batch = []
    try:
        for event in simulation.events_until(end):
            batch.append(event)
            if len(batch) == 5000:
                await store.write(batch, [])
                batch.clear()
        await store.write(batch, [])
    finally:
        await store.close()


async def test_simulated_data_lands_on_the_published_figures(database, db):
    services = [replace(p, incidents_per_day=0.0) for p in PROFILES.values()]
    await _store(database, Simulation(services, seed=2026, start=START, scale=0.1), WEEK_END)
    reports_only = [
        replace(p, dossiers_per_day=0.0, payments_per_day=0.0, incidents_per_day=400.0)
        for p in PROFILES.values()
    ]
    await _store(database, Simulation(reports_only, seed=2027, start=START), FORTNIGHT_END)

    async def by_province(function: str, end: datetime) -> dict:
        rows = await db.fetch(f"SELECT * FROM {function}($1, $2)", START, end)
        return {r["province"]: r for r in rows}

    dossiers = await by_province("kpi_dossiers", WEEK_END)
    payments = await by_province("kpi_payments", WEEK_END)
    reports = await by_province("kpi_incidents", FORTNIGHT_END)
    failures = []
    for code, profile in PROFILES.items():
        checks = [
            ("online share", dossiers[code]["online_share"], profile.online_share),
            (
                "fully online share of online",
                dossiers[code]["fully_online_share_of_online"],
                profile.fully_online_share_of_online,
            ),
            ("dossier on-time rate", dossiers[code]["on_time_rate"], profile.dossier_on_time_rate),
            (
                "online payment rate",
                payments[code]["online_payment_rate"],
                profile.online_payment_rate,
            ),
            ("payment success rate", payments[code]["success_rate"], profile.payment_success_rate),
            (
                "field report on-time rate",
                reports[code]["on_time_rate"],
                profile.incident_on_time_rate,
            ),
        ]
        for name, measured, target in checks:
            print(f"{code:<16} {name:<30} measured {measured:6.2%}  target {target:6.2%}")
            if measured is None or abs(measured - target) > TOLERANCE:
                failures.append(f"{code} {name}: {measured} vs target {target}")
    assert not failures, "\n".join(failures)
