"""The registry of named, parameterised KPI queries that alert rules may use.

A rule file never contains SQL. It names one of the KPIs below and gives its parameters
(window, filters, minimum sample sizes), which the KPI's pydantic model validates strictly.
Each KPI is one fixed SQL statement with ``$n`` parameters; the only text spliced into it is
the rule's ``group_by``, and only from the KPI's own table of label -> column (an unknown
label is refused when the rule file is loaded, never reaches SQL).

Every statement takes ``$1`` = the evaluation's ``now`` (the injected clock) and looks at
``occurred_at`` (or ``submitted_at`` / ``reported_at``) in ``($1 - window, $1]``, never at the
database's ``now()``: evaluating "as of" any moment gives the same answer on any day, which is
what the tests do.

Each query returns one row per label set with a ``value`` column (NULL: no data for that
label set, for example too few payments to judge a success rate) and a few context columns
that the annotations may show ({attempts}, {reports}, {agency_name}, ...).

    payment_success_rate            success / (success + failed) payments in the window
    dossier_submissions             dossiers submitted (online by default) in the window
    open_incidents                  field reports open at now (optionally only overdue ones)
    late_or_about_to_be_late_share  share of an agency's dossiers late or due within a horizon
    flooding_reports_rate_ratio     report rate in the window / its usual rate (baseline)
    feed_events                     events per feed in the window (NULL when too quiet to tell)
    service_index                   Decision 766's index (0-100 points) or one of its criteria
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ioc.durations import Duration
from ioc.models import (
    EVENT_TYPES,
    AgencyLevel,
    DossierChannel,
    Feed,
    IncidentCategory,
    PaymentSector,
    Slug,
)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


Window = Annotated[Duration, AfterValidator(_positive)]


class Unit(StrEnum):
    RATIO = "ratio"  # 0..1, shown as a percentage
    COUNT = "count"
    FACTOR = "factor"  # "3.2x"
    POINTS = "points"  # "82.3 điểm"


@dataclass(frozen=True, slots=True)
class Sample:
    """One label set's value at one evaluation."""

    labels: dict[str, str]
    value: float | None
    """None: no data for this label set (too few events to judge, nothing expected)."""
    context: dict[str, Any] = field(default_factory=dict)


class Connection(Protocol):
    async def fetch(self, query: str, *args: object) -> Sequence[Mapping[str, Any]]: ...


class KpiQuery(BaseModel):
    """Base of every KPI's parameters; a subclass is one entry of the registry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str
    provinces: list[Slug] | None = Field(
        default=None, description="Only these provinces (default: all)."
    )

    labels: ClassVar[dict[str, str]]
    """Labels a rule may group by, and the SQL expression of each."""
    default_group_by: ClassVar[tuple[str, ...]]
    context: ClassVar[tuple[str, ...]] = ()
    """Context columns the query returns for the annotations."""
    unit: ClassVar[Unit]
    absent_means_zero: ClassVar[bool] = False
    """A label set the query no longer returns has the value 0 (counts), not "no data"."""

    def lookback(self) -> timedelta:
        """The span of time before ``now`` that the value describes (the schedule covers it)."""
        return getattr(self, "window", timedelta(0))

    def statement(self, group_by: Sequence[str]) -> str:
        raise NotImplementedError

    def arguments(self, now: datetime) -> list[object]:
        raise NotImplementedError

    # -- helpers for subclasses ----------------------------------------------------------------

    def _columns(self, group_by: Sequence[str]) -> tuple[str, str]:
        """``select`` and ``group by`` lists for the rule's labels (from the whitelist only)."""
        unknown = [label for label in group_by if label not in self.labels]
        if unknown:  # the rule model refuses these; this guards direct callers
            raise ValueError(f"{self.kpi} cannot group by {unknown}")
        select = ", ".join(f"{self.labels[label]} AS {label}" for label in group_by)
        group = ", ".join(self.labels[label] for label in group_by)
        return select, group

    @staticmethod
    def _values(items: Sequence[StrEnum] | None) -> list[str] | None:
        return [item.value for item in items] if items is not None else None


class PaymentSuccessRate(KpiQuery):
    """Success rate of payments (success / (success + failed)) over a window."""

    kpi: Literal["payment_success_rate"]
    window: Window = Field(default=timedelta(minutes=10))
    min_attempts: int = Field(
        default=20, ge=1, description="Fewer finished payments in the window: no data."
    )
    gateways: list[Slug] | None = None
    sectors: list[PaymentSector] | None = None

    labels: ClassVar[dict[str, str]] = {
        "province": "province",
        "district": "district",
        "gateway": "gateway",
        "sector": "sector",
        "method": "method",
        "channel": "channel",
    }
    default_group_by: ClassVar[tuple[str, ...]] = ("province", "gateway")
    context: ClassVar[tuple[str, ...]] = ("attempts", "failed")
    unit: ClassVar[Unit] = Unit.RATIO

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        return f"""
            SELECT {select},
                   count(*) FILTER (WHERE status IN ('success', 'failed')) AS attempts,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   CASE WHEN count(*) FILTER (WHERE status IN ('success', 'failed')) >= $3
                        THEN count(*) FILTER (WHERE status = 'success')::float8
                             / count(*) FILTER (WHERE status IN ('success', 'failed'))
                   END AS value
            FROM payment_events
            WHERE occurred_at > $1::timestamptz - $2::interval AND occurred_at <= $1::timestamptz
              AND ($4::text[] IS NULL OR province = ANY($4::text[]))
              AND ($5::text[] IS NULL OR gateway = ANY($5::text[]))
              AND ($6::text[] IS NULL OR sector = ANY($6::text[]))
            GROUP BY {group}"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.window,
            self.min_attempts,
            self.provinces,
            self.gateways,
            self._values(self.sectors),
        ]


class DossierSubmissions(KpiQuery):
    """Dossiers submitted in the window; 0 for a place that submitted within ``known_within``.

    Read from the current-state ``dossiers`` table by ``submitted_at`` (one row per dossier,
    whatever lifecycle events its feed sends). A province or district that has submitted
    nothing for ``known_within`` is not judged at all (no data), so a province that is not
    simulated or not connected yet does not raise a "portal down" alert.
    """

    kpi: Literal["dossier_submissions"]
    window: Window = Field(default=timedelta(minutes=15))
    channels: list[DossierChannel] = Field(
        default=[DossierChannel.FULLY_ONLINE, DossierChannel.PARTLY_ONLINE],
        min_length=1,
        description="Submission channels counted (default: online, the portal).",
    )
    known_within: Window = Field(default=timedelta(days=3))

    labels: ClassVar[dict[str, str]] = {"province": "province", "district": "district"}
    default_group_by: ClassVar[tuple[str, ...]] = ("province",)
    context: ClassVar[tuple[str, ...]] = ("last_submission_at",)
    unit: ClassVar[Unit] = Unit.COUNT

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        return f"""
            SELECT {select},
                   count(*) FILTER (WHERE submitted_at > $1::timestamptz - $2::interval)::float8
                       AS value,
                   max(submitted_at) AS last_submission_at
            FROM dossiers
            WHERE submitted_at > $1::timestamptz - $3::interval
              AND submitted_at <= $1::timestamptz
              AND channel = ANY($4::text[])
              AND ($5::text[] IS NULL OR province = ANY($5::text[]))
            GROUP BY {group}"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.window,
            max(self.known_within, self.window),
            self._values(self.channels),
            self.provinces,
        ]


class OpenIncidents(KpiQuery):
    """Field reports open at ``now`` (received, not yet resolved or rejected)."""

    kpi: Literal["open_incidents"]
    categories: list[IncidentCategory] | None = None
    overdue_only: bool = Field(default=False, description="Only reports past their due_at.")
    reported_within: Window | None = Field(
        default=None, description="Only reports received within this span before now."
    )

    labels: ClassVar[dict[str, str]] = {
        "province": "province",
        "district": "district",
        "category": "category",
        "channel": "channel",
    }
    default_group_by: ClassVar[tuple[str, ...]] = ("province", "district")
    context: ClassVar[tuple[str, ...]] = ("overdue",)
    unit: ClassVar[Unit] = Unit.COUNT
    absent_means_zero: ClassVar[bool] = True

    def lookback(self) -> timedelta:
        return self.reported_within or timedelta(0)

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        return f"""
            SELECT {select},
                   count(*)::float8 AS value,
                   count(*) FILTER (WHERE due_at < $1::timestamptz) AS overdue
            FROM incidents
            WHERE reported_at <= $1::timestamptz
              AND (finished_at IS NULL OR finished_at > $1::timestamptz)
              AND ($2::interval IS NULL OR reported_at > $1::timestamptz - $2::interval)
              AND ($3::text[] IS NULL OR category = ANY($3::text[]))
              AND (NOT $4::boolean OR due_at < $1::timestamptz)
              AND ($5::text[] IS NULL OR province = ANY($5::text[]))
            GROUP BY {group}"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.reported_within,
            self._values(self.categories),
            self.overdue_only,
            self.provinces,
        ]


class LateShare(KpiQuery):
    """Share of an agency's dossiers that are late or about to be late.

    Over the dossiers open at ``now`` plus those finished within ``window``: late means
    finished after ``due_at`` or still open past it; about to be late means open and due within
    ``about_to_be_late`` (24 h, as the ``dossier_facts`` view and the portals count it).
    """

    kpi: Literal["late_or_about_to_be_late_share"]
    window: Window = Field(
        default=timedelta(hours=24), description="Finished dossiers counted: this far back."
    )
    about_to_be_late: Window = Field(default=timedelta(hours=24))
    min_dossiers: int = Field(default=20, ge=1, description="Fewer dossiers: no data.")
    agency_levels: list[AgencyLevel] | None = None

    labels: ClassVar[dict[str, str]] = {
        "province": "province",
        "district": "district",
        "agency": "agency_code",
        "agency_level": "agency_level",
    }
    default_group_by: ClassVar[tuple[str, ...]] = ("province", "agency")
    context: ClassVar[tuple[str, ...]] = ("agency_name", "dossiers", "late", "about_to_be_late")
    unit: ClassVar[Unit] = Unit.RATIO

    def lookback(self) -> timedelta:
        return timedelta(0)  # a stock at now; the window only bounds finished dossiers

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        columns = "province, district, agency_code, agency_name, agency_level, due_at, finished_at"
        # Two index-friendly halves: the open ones (partial index dossiers_open) and the ones
        # finished recently (dossiers_finished); "finished after now" counts as open at now.
        return f"""
            WITH d AS (
                SELECT {columns} FROM dossiers
                WHERE finished_at IS NULL AND submitted_at <= $1::timestamptz
                UNION ALL
                SELECT {columns} FROM dossiers
                WHERE finished_at > $1::timestamptz - $2::interval
                  AND submitted_at <= $1::timestamptz
            ), f AS (
                SELECT *,
                       (finished_at IS NULL OR finished_at > $1::timestamptz) AS open_at_now
                FROM d
                WHERE ($5::text[] IS NULL OR agency_level = ANY($5::text[]))
                  AND ($6::text[] IS NULL OR province = ANY($6::text[]))
            ), g AS (
                SELECT {select},
                       min(agency_name) AS agency_name,
                       count(*) AS dossiers,
                       count(*) FILTER (WHERE (open_at_now AND due_at < $1::timestamptz)
                                           OR (NOT open_at_now AND finished_at > due_at)) AS late,
                       count(*) FILTER (WHERE open_at_now AND due_at >= $1::timestamptz
                                          AND due_at < $1::timestamptz + $3::interval)
                           AS about_to_be_late
                FROM f
                GROUP BY {group}
            )
            SELECT *,
                   CASE WHEN dossiers >= $4
                        THEN (late + about_to_be_late)::float8 / dossiers END AS value
            FROM g"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.window,
            self.about_to_be_late,
            self.min_dossiers,
            self._values(self.agency_levels),
            self.provinces,
        ]


class ReportRateRatio(KpiQuery):
    """Reports of some categories in the window, as a multiple of their usual rate.

    usual rate = reports in the ``baseline`` before the window / its length, at least
    ``min_baseline_per_hour`` (a quiet district must not turn 2 reports into a 50x surge).
    Fewer than ``min_reports`` in the window is never a surge: the value is 0.
    """

    kpi: Literal["flooding_reports_rate_ratio"]
    categories: list[IncidentCategory] = Field(default=[IncidentCategory.FLOODING], min_length=1)
    window: Window = Field(default=timedelta(minutes=30))
    baseline: Window = Field(default=timedelta(days=7))
    min_reports: int = Field(default=5, ge=1)
    min_baseline_per_hour: float = Field(default=0.2, gt=0)

    labels: ClassVar[dict[str, str]] = {"province": "province", "district": "district"}
    default_group_by: ClassVar[tuple[str, ...]] = ("province", "district")
    context: ClassVar[tuple[str, ...]] = ("reports", "usual_per_hour")
    unit: ClassVar[Unit] = Unit.FACTOR
    absent_means_zero: ClassVar[bool] = True

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        return f"""
            WITH g AS (
                SELECT {select},
                       count(*) FILTER (WHERE reported_at > $1::timestamptz - $2::interval)
                           AS reports,
                       count(*) FILTER (WHERE reported_at <= $1::timestamptz - $2::interval)
                           AS baseline_reports
                FROM incidents
                WHERE reported_at > $1::timestamptz - $2::interval - $3::interval
                  AND reported_at <= $1::timestamptz
                  AND category = ANY($4::text[])
                  AND ($5::text[] IS NULL OR province = ANY($5::text[]))
                GROUP BY {group}
            )
            SELECT g.*,
                   baseline_reports / $7::float8 AS usual_per_hour,
                   CASE WHEN reports >= $8
                        THEN (reports / $6::float8) / greatest(baseline_reports / $7::float8, $9)
                        ELSE 0 END AS value
            FROM g"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.window,
            self.baseline,
            self._values(self.categories),
            self.provinces,
            self.window.total_seconds() / 3600,
            self.baseline.total_seconds() / 3600,
            self.min_reports,
            self.min_baseline_per_hour,
        ]


class FeedEvents(KpiQuery):
    """Events received per feed in the window, by ``occurred_at``.

    A quiet feed is not a silent one: when the ``baseline`` before the window predicts fewer
    than ``min_expected`` events in the window and none came, the value is NULL (no data:
    too quiet to tell), so a feed of 0.2 events a minute never raises a 2-minute "silent"
    alert. A feed with no event in the whole baseline is not returned at all.
    """

    kpi: Literal["feed_events"]
    window: Window = Field(default=timedelta(minutes=2))
    baseline: Window = Field(default=timedelta(hours=1))
    min_expected: float = Field(default=5.0, ge=0)
    feeds: list[Feed] | None = None

    labels: ClassVar[dict[str, str]] = {"province": "province", "feed": "feed"}
    default_group_by: ClassVar[tuple[str, ...]] = ("province", "feed")
    context: ClassVar[tuple[str, ...]] = ("expected", "last_event_at")
    unit: ClassVar[Unit] = Unit.COUNT

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        branches = " UNION ALL ".join(
            f"""SELECT province, '{feed.value}'::text AS feed, occurred_at FROM {table}
                WHERE occurred_at > $1::timestamptz - $2::interval - $3::interval
                  AND occurred_at <= $1::timestamptz
                  AND ($4::text[] IS NULL OR '{feed.value}' = ANY($4::text[]))
                  AND ($5::text[] IS NULL OR province = ANY($5::text[]))"""
            for feed, table in _FEED_TABLES.items()
        )
        return f"""
            WITH g AS (
                SELECT {select},
                       count(*) FILTER (WHERE occurred_at > $1::timestamptz - $2::interval)
                           AS events,
                       count(*) FILTER (WHERE occurred_at <= $1::timestamptz - $2::interval)
                           * $6::float8 AS expected,
                       max(occurred_at) AS last_event_at
                FROM ({branches}) AS e
                GROUP BY {group}
            )
            SELECT g.*,
                   CASE WHEN events > 0 OR expected >= $7 THEN events::float8 END AS value
            FROM g"""

    def arguments(self, now: datetime) -> list[object]:
        return [
            now,
            self.window,
            self.baseline,
            self._values(self.feeds),
            self.provinces,
            self.window / self.baseline,
            self.min_expected,
        ]


IndexCriterion = Literal["total", "publicity", "progress", "digitisation", "online", "satisfaction"]


class ServiceIndex(KpiQuery):
    """Decision 766/QĐ-TTg's index of a province (or of each agency level) over a window.

    The SQL function ``service_index_scores`` (db/migrations/0008_province_realism.sql) computes
    it, the same that the overview dashboard shows: ``criterion`` picks the total (0-100) or
    one of the five criteria's points. Fewer than ``min_dossiers`` dossiers submitted in the
    window: no data.
    """

    kpi: Literal["service_index"]
    window: Window = Field(default=timedelta(days=7))
    criterion: IndexCriterion = "total"
    min_dossiers: int = Field(default=100, ge=1)

    labels: ClassVar[dict[str, str]] = {"province": "p.code", "agency_level": "s.agency_level"}
    default_group_by: ClassVar[tuple[str, ...]] = ("province",)
    context: ClassVar[tuple[str, ...]] = (
        "dossiers", "publicity", "progress", "digitisation", "online", "satisfaction", "total",
    )
    unit: ClassVar[Unit] = Unit.POINTS

    def statement(self, group_by: Sequence[str]) -> str:
        select, group = self._columns(group_by)
        # one row per province (agency_level NULL) or per agency level: never both
        level = "IS NOT NULL" if "agency_level" in group_by else "IS NULL"
        criteria = ", ".join(f"max(s.{c}) AS {c}" for c in self.context if c != "dossiers")
        return f"""
            SELECT {select}, max(s.dossiers) AS dossiers, {criteria},
                   CASE WHEN max(s.dossiers) >= $3 THEN max(s.{self.criterion}) END AS value
            FROM provinces AS p
            CROSS JOIN LATERAL service_index_scores(
                p.code, $1::timestamptz - $2::interval, $1::timestamptz) AS s
            WHERE s.agency_level {level}
              AND ($4::text[] IS NULL OR p.code = ANY($4::text[]))
            GROUP BY {group}"""

    def arguments(self, now: datetime) -> list[object]:
        return [now, self.window, self.min_dossiers, self.provinces]


_FEED_TABLES = {feed: model.table for feed, model in EVENT_TYPES.items()}

KPIS: dict[str, type[KpiQuery]] = {
    model.model_fields["kpi"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        PaymentSuccessRate,
        DossierSubmissions,
        OpenIncidents,
        LateShare,
        ReportRateRatio,
        FeedEvents,
        ServiceIndex,
    )
}
"""The registry: KPI name -> its parameter model."""

AnyKpi = Annotated[
    PaymentSuccessRate
    | DossierSubmissions
    | OpenIncidents
    | LateShare
    | ReportRateRatio
    | FeedEvents
    | ServiceIndex,
    Field(discriminator="kpi"),
]


async def fetch_samples(
    conn: Connection, query: KpiQuery, group_by: Sequence[str], now: datetime
) -> list[Sample]:
    """Run one KPI as of ``now``: one ``Sample`` per label set."""
    rows = await conn.fetch(query.statement(group_by), *query.arguments(now))
    samples = []
    for row in rows:
        value = row["value"]
        samples.append(
            Sample(
                labels={label: str(row[label]) for label in group_by},
                value=None if value is None else float(value),
                context={name: row[name] for name in query.context},
            )
        )
    return samples
