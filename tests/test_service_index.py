"""Decision 766/QĐ-TTg's index, computed in SQL, on hand-built dossiers and field reports.

Every rate of the index is worked out by hand below from the dossiers' attributes, and every
sub-criterion's points from the criteria of 0008_province_realism.sql (max points x rate):
the SQL functions ``service_index_rates``, ``service_index`` and ``service_index_scores`` must
give exactly these numbers, for the province and for each agency level.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from ioc.models import (
    AgencyLevel,
    DossierChannel,
    DossierStatus,
    Event,
    IncidentStatus,
)
from tests.factories import BASE_TIME, dossier, incident
from tests.test_alert_engine import store

pytestmark = pytest.mark.db

T0 = BASE_TIME - timedelta(days=3)
T1 = BASE_TIME + timedelta(days=4)
PROVINCE = "ba-ria-vung-tau"


def _dossier(
    name: str, channel: DossierChannel, level: AgencyLevel, procedure: str, *,
    late: bool | None, fee_online: bool | None, digitised: bool, reused: bool,
    published: bool, result: bool | None = None, rating: int | None = None,
) -> list[Event]:
    """A dossier submitted at T0 + 1 day, due 2 days later; resolved on time, late, or open."""
    submitted = T0 + timedelta(days=1)
    due = submitted + timedelta(days=2)
    common = dict(
        province=PROVINCE, district="vung-tau", dossier_id=f"HS-766-{name}",
        procedure_code=procedure, agency_code=f"AG-{level.value}", agency_level=level,
        channel=channel, submitted_at=submitted, due_at=due,
        fee_vnd=0 if fee_online is None else 50_000, fee_paid_online=fee_online,
        files_digitised=digitised, data_reused=reused, status_published=published,
    )
    events = [dossier(DossierStatus.SUBMITTED, occurred_at=submitted, **common)]
    if late is not None:
        finished = due + timedelta(hours=5) if late else due - timedelta(hours=5)
        events.append(dossier(DossierStatus.RESOLVED, occurred_at=finished,
                              result_digitised=result, satisfaction=rating, **common))
    return events


def _report(name: str, outcome: str, rating: int | None = None) -> list[Event]:
    """A field report due inside the period: resolved on time, late, or still open."""
    reported = T0 + timedelta(days=1)
    due = reported + timedelta(days=1)
    common = dict(
        province=PROVINCE, district="vung-tau", report_id=f"PA-766-{name}",
        reported_at=reported, due_at=due,
    )
    events = [incident(IncidentStatus.RECEIVED, occurred_at=reported, **common)]
    if outcome != "open":
        finished = due - timedelta(hours=2) if outcome == "on_time" else due + timedelta(hours=2)
        events.append(incident(IncidentStatus.RESOLVED, occurred_at=finished,
                               satisfaction=rating, **common))
    return events


def index_events() -> list[Event]:
    F, C, P = DossierChannel.FULLY_ONLINE, DossierChannel.IN_PERSON, DossierChannel.PARTLY_ONLINE
    prov, com = AgencyLevel.PROVINCE, AgencyLevel.COMMUNE
    return [
        *_dossier("1", F, prov, "A", late=False, fee_online=True, digitised=True, reused=True,
                  published=True, result=True, rating=5),
        *_dossier("2", C, prov, "A", late=True, fee_online=False, digitised=False,
                  reused=False, published=True, result=False, rating=2),
        *_dossier("3", P, com, "B", late=False, fee_online=None, digitised=True, reused=False,
                  published=False, result=True, rating=1),
        *_dossier("4", C, com, "C", late=None, fee_online=None, digitised=True, reused=True,
                  published=True),
        *_report("1", "on_time", 4),
        *_report("2", "late", 5),
        *_report("3", "open"),
        *_report("4", "on_time", 2),
    ]


# the province: 4 dossiers submitted, 1-3 resolved (2 on time), 4 field reports due
PROVINCE_RATES = {
    "dossiers": 4,
    "status_published": 3 / 4,
    "on_time": 2 / 3,
    "result_digitised": 2 / 3,
    "files_digitised": 3 / 4,
    "data_reused": 2 / 4,
    "procedures_with_online": 2 / 3,  # A and B of A, B, C
    "online": 2 / 4,
    "paid_online": 1 / 2,
    "reports_on_time": 2 / 4,
    "reports_satisfied": 1 / 4,  # on time and not rated 1-2: report 1 only
    "dossiers_satisfied": 1 / 3,  # on time and not rated 1-2: dossier 1 only
}
# (procedure criteria P1-P3 and O1 are Ba Ria-Vung Tau's figures: 100%)
PROVINCE_SCORES = {
    "publicity": 4 + 4 + 4 + 6 * 3 / 4,
    "progress": 20 * 2 / 3,
    "digitisation": 8 * 2 / 3 + 8 * 3 / 4 + 6 * 2 / 4,
    "online": 4 * 1.0 + 4 * 2 / 3 + 8 * 2 / 4 + 6 * 1 / 2,
    "satisfaction": 6 * 2 / 4 + 6 * 1 / 4 + 6 * 1 / 3,
}
# the province level (dossiers 1 and 2), with the province's field-report figures
LEVEL_SCORES = {
    "publicity": 18.0,
    "progress": 20 * 1 / 2,
    "digitisation": 8 * 1 / 2 + 8 * 1 / 2 + 6 * 1 / 2,
    "online": 4 + 4 * 1.0 + 8 * 1 / 2 + 6 * 1 / 2,
    "satisfaction": 6 * 2 / 4 + 6 * 1 / 4 + 6 * 1 / 2,
}


async def test_the_index_follows_the_decisions_criteria(database, db):
    await store(database, index_events())
    rates = {
        r["agency_level"]: dict(r)
        for r in await db.fetch("SELECT * FROM service_index_rates($1, $2, $3)", PROVINCE, T0, T1)
    }
    assert set(rates) == {None, "province", "commune"}
    measured = {k: v for k, v in rates[None].items() if k != "agency_level"}
    assert measured == pytest.approx(PROVINCE_RATES)

    scores = {
        r["agency_level"]: dict(r)
        for r in await db.fetch("SELECT * FROM service_index_scores($1, $2, $3)", PROVINCE, T0, T1)
    }
    for level, expected in ((None, PROVINCE_SCORES), ("province", LEVEL_SCORES)):
        got = scores[level]
        assert {k: got[k] for k in expected} == pytest.approx(expected), level
        assert got["total"] == pytest.approx(sum(expected.values()))

    points = await db.fetch(
        "SELECT code, max_points, rate, points FROM service_index($1, $2, $3) "
        "WHERE agency_level IS NULL ORDER BY code",
        PROVINCE, T0, T1,
    )
    assert sum(p["max_points"] for p in points) == 100  # 18 + 20 + 22 + 22 + 18
    assert all(p["points"] == pytest.approx(p["max_points"] * p["rate"]) for p in points)


async def test_a_province_without_dossiers_has_no_index(db):
    assert await db.fetch("SELECT * FROM service_index_scores($1, $2, $3)", PROVINCE, T0, T1) == []


async def test_field_reports_share_one_definition_of_on_time(database, db):
    """kpi_incidents (the alert rules' and calibration's) and field_report_kpis (the panels')
    give the same on-time rate: overdue open reports count as late."""
    await store(database, index_events())
    kpi = await db.fetchrow("SELECT * FROM kpi_incidents($1, $2) WHERE province = $3",
                            T0, T1, PROVINCE)
    panel = await db.fetchrow(
        "SELECT * FROM field_report_kpis($1, NULL, $2, $3) WHERE district IS NULL",
        PROVINCE, T0, T1,
    )
    assert kpi["on_time_rate"] == panel["on_time_rate"] == pytest.approx(2 / 4)
    assert (kpi["reports"], kpi["open_reports"], kpi["overdue_reports"]) == (4, 1, 1)
