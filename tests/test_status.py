"""`ioc status`: the overview wall screen's headline figures per province, by the dashboard's
own queries (found by panel title in grafana/dashboards/ioc-overview.json).

One simulated day of the three provinces up to a weekday afternoon, rollups refreshed; the
figures are checked against the raw rows they summarise.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from ioc.cli import main
from ioc.storage.rollups import refresh
from ioc.tools.panelbench import fill, load_dashboards
from ioc.tools.status import HEADLINES, DashboardChanged, headline_queries, render_text, status
from tests.test_panel_queries import NOW


def test_every_headline_is_a_panel_of_the_overview():
    queries = headline_queries()
    assert set(queries) == {h.key for h in HEADLINES}
    boards = load_dashboards()
    for board in boards:
        if board["uid"] == "ioc-overview":
            board["panels"] = [p for p in board["panels"] if p["title"] != HEADLINES[0].panel]
    with pytest.raises(DashboardChanged, match=HEADLINES[0].panel):
        headline_queries(boards)


@pytest.mark.db
async def test_the_figures_are_the_raw_rows_summarised(database, db):
    await asyncio.to_thread(fill, database, days=1, scale=0.12, end=NOW, seed=5, parallel=False)
    await refresh(db, margin=timedelta(0), synchronous=True)
    statuses = await status(db, NOW)
    assert [s.province for s in statuses] == ["ba-ria-vung-tau", "binh-duong", "quang-ninh"]
    for s in statuses:
        assert (s.start, s.end) == (NOW - timedelta(hours=24), NOW)
        for key in ("on_time", "fully_online", "online_payment", "payment_success"):
            assert s.values[key] is not None and 0 < s.values[key] <= 1, (s.province, key)
        success, finished = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'success'), "
            "count(*) FILTER (WHERE status IN ('success', 'failed')) FROM payment_events "
            "WHERE province = $1 AND occurred_at >= $2 AND occurred_at < $3",
            s.province,
            s.start,
            s.end,
        )
        assert s.values["payment_success"] == pytest.approx(success / finished, abs=1e-12)
        open_, overdue = await db.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE overdue) FROM incident_backlog "
            "WHERE province = $1",
            s.province,
        )
        assert (s.values["open_reports"], s.values["overdue_reports"]) == (open_, overdue)
        assert open_ > 0
        assert s.values["alerts_firing"] == await db.fetchval(
            "SELECT count(*) FROM alerts_firing WHERE province = $1", s.province
        )
    text = render_text(statuses)
    assert "+07" in text and "payment success" in text and "Binh Duong" in text


@pytest.mark.db
def test_the_command_prints_json_for_scripts(database):
    result = CliRunner().invoke(
        main, ["status", "--json", "--province", "binh-duong"], env={"IOC_DATABASE_URL": database}
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures["binh-duong"]) == {"from", "to", *(h.key for h in HEADLINES)}
