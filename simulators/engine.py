"""The simulation engine: a deterministic discrete-event simulation of the three feeds.

How it works
------------
Every (province, feed) pair is a *stream* with its own random generator, seeded from
``"{seed}/{province}/{feed}"``, so adding a province or a scenario never changes another
stream's events. A stream is a non-homogeneous Poisson process whose rate is constant over
15-minute buckets (``patterns``, which follow the working calendar: holidays look like
Sundays): the next arrival is an exponential draw inside the bucket, redrawn from the next
bucket when it falls past the end (exact, by memorylessness).

One heap orders everything that is due: each stream's next arrival and the next step of every
open lifecycle (a dossier, a field report, a pending payment's settlement, a refund), as
``(time_ms, sequence, handler, payload, key)``. When an arrival is popped, the stream draws
the whole lifecycle at once (all times, all attributes, all event ids) and pushes its first
step; each step pushes the next one. Nothing depends on where ``events_until`` stops, so one
big step and many small steps give the same events, and the same seed gives the same events,
ids included.

Scenarios never change what a stream draws, only what is emitted: a gateway outage turns that
gateway's payments into failures, a degrading gateway fails more and more of them, a
degrading agency stops handling more and more of its dossiers until the scenario ends, a
silent feed drops events, a portal outage postpones submissions to the end of the outage
(people retry), and a flood adds a separate stream of flooding reports with its own
generator.

Events are built as the pydantic models of ``ioc.models`` (normal, validated construction),
only when they are emitted.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from statistics import NormalDist
from typing import Any, TypeVar
from uuid import UUID

from ioc.domain.geo import District
from ioc.domain.names import ERROR_CODES
from ioc.models import (
    VN_TZ,
    AgencyLevel,
    DossierChannel,
    DossierEvent,
    DossierStatus,
    Event,
    Feed,
    IncidentCategory,
    IncidentEvent,
    IncidentStatus,
    PaymentChannel,
    PaymentEvent,
    PaymentMethod,
    PaymentSector,
    PaymentStatus,
    ReportChannel,
)
from simulators import patterns
from simulators.patterns import BUCKET_MS
from simulators.profiles import (
    CATEGORY_LATE,
    COMMUNES,
    EXTENDED_HOURS_DEPARTMENTS,
    METHOD_FAILURE,
    SECTOR_FAILURE,
    Agency,
    Gateway,
    ProvinceProfile,
    commune_title,
    district_title,
)
from simulators.weather import Weather
from simulators.worktime import (
    DAY_MS,
    EXTENDED,
    HOUR_MS,
    LOCAL_OFFSET_MS,
    MINUTE_MS,
    OFFICE,
    SATURDAY_DESK,
    WEEK_MS,
    WORKDAY_MS,
    WorkCalendar,
    add_work,
    local_date,
    to_ms,
    work_between,
)

SCENARIOS = (
    "gateway-outage", "gateway-degraded", "agency-degraded", "portal-down", "flood",
    "feed-silent",
)

FLOOD_SURGE_PER_HOUR = 24.0
"""Flooding reports per hour (times ``scale``) from the district of a ``flood`` scenario."""

FLOOD_BASE_SHARE = 0.06
"""Share of field reports about flooding in dry weather."""

FLOOD_RAIN_FACTOR = 10.0
"""Flooding reports are multiplied by ``1 + FLOOD_RAIN_FACTOR * intensity**2`` in the rain."""

DEGRADED_MAX_FAILURE = 0.6
"""At the end of a ``gateway-degraded`` window this extra share of its payments fails (the
share grows linearly from 0 at the start)."""

SOURCES = {
    Feed.DOSSIER: "sim/dvc-portal",
    Feed.PAYMENT: "sim/payment-gw",
    ReportChannel.APP: "sim/field-app",
    ReportChannel.WEB: "sim/field-web",
    ReportChannel.HOTLINE_1022: "sim/hotline-1022",
}

T = TypeVar("T")
_Key = tuple[str, Feed]
_Handler = Callable[[int, Any, bool], Event | None]


def _dt(t: int) -> datetime:
    return datetime.fromtimestamp(t / 1000, VN_TZ)


def _uuid(bits: int) -> UUID:
    return UUID(int=bits, version=4)


def _unit(bits: int) -> float:
    """A uniform in [0, 1) from the high bits of a drawn 128-bit id (no extra draw)."""
    return (bits >> 75) / float(1 << 53)


def _cumulative(weights: Sequence[float]) -> tuple[list[float], float]:
    """Cumulative weights for ``_pick``; the last bound is infinite so no index overflows."""
    cum = list(accumulate(weights))
    total = cum[-1] if cum else 0.0
    if cum:
        cum[-1] = math.inf
    return cum, total


def _pick(items: Sequence[T], cum: list[float], total: float, u: float) -> T:
    """The item at ``u`` (uniform in [0, 1)) of a weighted choice."""
    return items[bisect_right(cum, u * total)]


class _Choice:
    """A weighted choice among ``(item, weight)`` rows, made once."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, rows: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in rows]
        self.cum, self.total = _cumulative([w for _, w in rows])

    def __call__(self, u: float) -> Any:
        return self.items[bisect_right(self.cum, u * self.total)]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario switched on for [start, end) in one province."""

    name: str
    province: str
    target: str | None
    start: datetime
    end: datetime


_Window = tuple[int, int, str]


def _ramp(windows: list[_Window] | None, target: str, t: int) -> float:
    """How far into a degradation window of ``target`` ``t`` is (0 outside any)."""
    if not windows:
        return 0.0
    best = 0.0
    for lo, hi, slug in windows:
        if slug == target and lo <= t < hi:
            best = max(best, (t - lo) / (hi - lo))
    return best


class Simulation:
    """The three feeds of several provinces, generated deterministically from a seed.

    ``events_until(end)`` yields every event with ``occurred_at`` in [previous end, end) in
    non-decreasing ``occurred_at`` order; call it again with a later ``end`` to go on.
    ``warmup`` starts the dossier and field-report streams earlier (their events before
    ``start`` are not emitted) so that the first hour already has a backlog of open dossiers.
    """

    def __init__(
        self,
        profiles: Sequence[ProvinceProfile],
        *,
        seed: int,
        start: datetime,
        scale: float = 1.0,
        warmup: timedelta = timedelta(0),
    ) -> None:
        if scale < 0:
            raise ValueError(f"scale must not be negative, not {scale}")
        codes = [p.code for p in profiles]
        if len(set(codes)) != len(codes):
            raise ValueError(f"each province at most once: {codes}")
        self.profiles: dict[str, ProvinceProfile] = {p.code: p for p in profiles}
        self.seed = seed
        self.scale = scale
        self._start = to_ms(start)
        self._emit_from = self._start
        self._now = self._start
        """The earliest time a new event may still have (the last popped, or the last end)."""
        self._heap: list[tuple[int, int, _Handler, Any, _Key]] = []
        self._seq = itertools.count()
        self._token = 0
        self.scenarios: list[Scenario] = []
        self._silences: dict[_Key, list[tuple[int, int]]] = {}
        self._outages: dict[str, list[_Window]] = {}
        self._degraded_gateways: dict[str, list[_Window]] = {}
        self._degraded_agencies: dict[str, list[_Window]] = {}
        self._portal_down: dict[str, list[tuple[int, int]]] = {}
        self._weather: dict[str, Weather] = {}
        self._surges: dict[str, int] = {}
        self._dossiers: dict[str, _DossierStream] = {}
        self._payments: dict[str, _PaymentStream] = {}
        self._incidents: dict[str, _IncidentStream] = {}
        early = self._start - max(0, warmup // timedelta(milliseconds=1))
        for profile in profiles:
            weather = Weather(profile.climate, seed=seed, province=profile.code)
            self._weather[profile.code] = weather
            payments = _PaymentStream(self, profile)
            self._payments[profile.code] = payments
            self._dossiers[profile.code] = _DossierStream(self, profile, payments)
            self._incidents[profile.code] = _IncidentStream(self, profile, weather)
        for code in self.profiles:  # arrivals are scheduled after every stream exists
            self._dossiers[code].begin(early)
            self._payments[code].begin(self._start)
            self._incidents[code].begin(early)

    # -- public API ------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Simulated time reached so far (the ``end`` of the last completed call)."""
        return _dt(self._now)

    def weather(self, province: str) -> Weather:
        return self._weather[province]

    def events_until(self, end: datetime) -> Iterator[Event]:
        """Every event with ``occurred_at`` in [previous end, ``end``), in time order.

        Consume the iterator before the next call: a new call makes older iterators stop.
        """
        end_ms = to_ms(end)
        if end_ms < self._now:
            raise ValueError(f"end {end.isoformat()} is before the simulation time {self.now}")
        self._token += 1
        return self._drain(end_ms, self._token)

    def inject(
        self,
        scenario: str,
        *,
        start: datetime,
        end: datetime,
        province: str | None = None,
        target: str | None = None,
    ) -> list[Scenario]:
        """Switch a scenario on for [start, end) in ``province`` (every province when None).

        - ``gateway-outage``: payments through gateway ``target`` fail (default: the
          busiest online gateway of each province);
        - ``gateway-degraded``: payments through gateway ``target`` (same default) fail more
          and more: none extra at the start, ``DEGRADED_MAX_FAILURE`` of them at the end;
        - ``agency-degraded``: agency ``target`` (an agency code such as ``BD.STNMT``, or a
          department code such as ``STNMT``; default: the land department) stops handling
          more and more of its dossiers, from none at the start to all of them at the end;
          what it left waits until the end, so dossiers fall behind and some become late;
        - ``portal-down``: no dossier is submitted; submissions resume at ``end`` (people
          retry) -- ``target`` must be None;
        - ``flood``: a surge of flooding reports from district ``target`` (default: the most
          populous district), ``FLOOD_SURGE_PER_HOUR`` times ``scale``;
        - ``feed-silent``: feed ``target`` (``dossier``, ``payment``, ``incident``; default:
          all three) publishes nothing.

        Only the part of the window after the current simulation time has an effect.
        Returns the scenarios applied, one per province.
        """
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r} (known: {', '.join(SCENARIOS)})")
        lo, hi = to_ms(start), to_ms(end)
        if hi <= lo:
            raise ValueError("a scenario's end must be after its start")
        if province is not None and province not in self.profiles:
            raise ValueError(
                f"province {province!r} is not simulated (simulated: {', '.join(self.profiles)})"
            )
        provinces = [province] if province else list(self.profiles)
        if scenario == "flood" and province is None and target is not None:
            provinces = [c for c in provinces if _has_district(self.profiles[c], target)]
            if not provinces:
                raise ValueError(f"no simulated province has a district {target!r}")
        applied = []
        for code in provinces:
            profile = self.profiles[code]
            resolved = self._apply(scenario, profile, lo, hi, target)
            record = Scenario(scenario, code, resolved, _dt(lo), _dt(hi))
            self.scenarios.append(record)
            applied.append(record)
        return applied

    # -- internals -------------------------------------------------------------------------

    def _apply(
        self, scenario: str, profile: ProvinceProfile, lo: int, hi: int, target: str | None
    ) -> str | None:
        code = profile.code
        if scenario in ("gateway-outage", "gateway-degraded"):
            slugs = [g.slug for g in profile.gateways]
            if target is None:
                online = [g for g in profile.gateways if g.channel is PaymentChannel.ONLINE]
                target = max(online, key=lambda g: g.weight).slug
            elif target not in slugs:
                raise ValueError(f"{code} has no gateway {target!r} (gateways: {', '.join(slugs)})")
            windows = self._outages if scenario == "gateway-outage" else self._degraded_gateways
            windows.setdefault(code, []).append((lo, hi, target))
            return target
        if scenario == "agency-degraded":
            agency = _find_agency(profile, target)
            self._degraded_agencies.setdefault(code, []).append((lo, hi, agency.code))
            return agency.code
        if scenario == "portal-down":
            if target is not None:
                raise ValueError("portal-down takes no target")
            self._portal_down.setdefault(code, []).append((lo, hi))
            return None
        if scenario == "flood":
            if target is None:
                target = max(profile.province.districts, key=lambda d: d.population).code
            elif not _has_district(profile, target):
                known = ", ".join(d.code for d in profile.province.districts)
                raise ValueError(f"{code} has no district {target!r} (districts: {known})")
            begin = max(lo, self._now)
            if begin < hi:
                surge = _IncidentStream(
                    self, profile, self._weather[code], surge=(target, begin, hi)
                )
                surge.begin(begin)
            return target
        # feed-silent
        feeds = list(Feed) if target is None else [_feed(target)]
        for feed in feeds:
            self._silences.setdefault((code, feed), []).append((lo, hi))
        return target

    def _push(self, t: int, handler: _Handler, payload: Any, key: _Key) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), handler, payload, key))

    def _silenced(self, key: _Key, t: int) -> bool:
        windows = self._silences.get(key)
        return windows is not None and any(lo <= t < hi for lo, hi in windows)

    def _drain(self, end_ms: int, token: int) -> Iterator[Event]:
        heap = self._heap
        pop = heapq.heappop
        emit_from = self._emit_from
        silences = self._silences
        while heap and heap[0][0] < end_ms:
            if token != self._token:
                return
            t, _, handler, payload, key = pop(heap)
            if t >= emit_from:  # (warm-up events come before the start; time never goes back)
                self._now = t
                build = not (silences and self._silenced(key, t))
            else:
                build = False
            event = handler(t, payload, build)
            if event is not None:
                yield event
        if token == self._token and end_ms > self._now:
            self._now = end_ms

    def _portal_down_until(self, province: str, t: int) -> int | None:
        """The end of a portal outage covering ``t``, if there is one."""
        windows = self._portal_down.get(province)
        if windows:
            ends = [hi for lo, hi in windows if lo <= t < hi]
            if ends:
                return max(ends)
        return None

    def _gateway_down(self, province: str, gateway: str, t: int) -> bool:
        windows = self._outages.get(province)
        return windows is not None and any(
            lo <= t < hi and slug == gateway for lo, hi, slug in windows
        )

    def _agency_hold(self, province: str, agency: str, t: int) -> int | None:
        """The end of a degradation window of ``agency`` covering ``t`` (None outside any)."""
        windows = self._degraded_agencies.get(province)
        if windows:
            for lo, hi, code in windows:
                if code == agency and lo <= t < hi:
                    return hi
        return None


def _has_district(profile: ProvinceProfile, code: str) -> bool:
    return any(d.code == code for d in profile.province.districts)


def _find_agency(profile: ProvinceProfile, target: str | None) -> Agency:
    wanted = target or "STNMT"
    for agency in profile.agencies:
        if agency.code == wanted or agency.code == f"{profile.abbr}.{wanted}":
            return agency
    examples = ", ".join(a.code for a in profile.agencies[:4])
    raise ValueError(f"{profile.code} has no agency {wanted!r} (agencies: {examples}, ...)")


def _feed(value: str) -> Feed:
    try:
        return Feed(value)
    except ValueError:
        known = ", ".join(f.value for f in Feed)
        raise ValueError(f"unknown feed {value!r} (feeds: {known})") from None


# ------------------------------------------------------------------------------------------
# Streams
# ------------------------------------------------------------------------------------------


class _Stream:
    """A Poisson arrival process with a rate that is constant over each 15-minute bucket."""

    feed: Feed

    def __init__(self, sim: Simulation, profile: ProvinceProfile, name: str) -> None:
        self.sim = sim
        self.profile = profile
        self.province = profile.code
        self.key: _Key = (profile.code, self.feed)
        self.rng = random.Random(f"{sim.seed}/{profile.code}/{name}")
        self._bucket_start = -1
        self._components: tuple[float, ...] = ()
        self._total = 0.0
        self._day_strings: dict[int, str] = {}
        self._heap = sim._heap
        self._seq = sim._seq
        self._arrive = self.arrive  # one bound method, not one per arrival
        districts = profile.province.districts
        self.districts = districts
        self._district_cum, self._district_total = _cumulative([d.population for d in districts])

    # subclasses: the rate components (per ms) for the bucket starting at ``bucket_start``
    def rates(self, bucket_start: int) -> tuple[float, ...]:
        raise NotImplementedError

    def active(self) -> bool:
        return True

    def end(self) -> int | None:
        """No arrivals at or after this time (None: never ends)."""
        return None

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        raise NotImplementedError

    def begin(self, t: int) -> None:
        if self.active():
            first = self.next_arrival(t)
            if first is not None:
                self.sim._push(first, self.arrive, None, self.key)

    def components(self, t: int) -> tuple[float, ...]:
        start = t - (t + LOCAL_OFFSET_MS) % BUCKET_MS
        if start != self._bucket_start:
            self._bucket_start = start
            self._components = self.rates(start)
            self._total = sum(self._components)
        return self._components

    def next_arrival(self, t: int) -> int | None:
        """The first arrival after ``t``, or None when the stream has ended."""
        stop = self.end()
        limit = t + 2 * WEEK_MS  # a stream silent for two weeks has ended
        while t < limit:
            if stop is not None and t >= stop:
                return None
            start = t - (t + LOCAL_OFFSET_MS) % BUCKET_MS
            if start != self._bucket_start:
                self.components(t)
            rate = self._total
            bucket_end = start + BUCKET_MS
            if rate > 0.0:
                t_next = t + self.rng.expovariate(rate)
                if t_next < bucket_end:
                    arrival = int(t_next)
                    return None if stop is not None and arrival >= stop else arrival
            t = bucket_end
        return None

    def schedule_next(self, t: int) -> None:
        nxt = self.next_arrival(t)
        if nxt is not None:
            heapq.heappush(self._heap, (nxt, next(self._seq), self._arrive, None, self.key))

    def yymmdd(self, t: int) -> str:
        """The local date of ``t`` as in document numbers (``240902``), cached per day."""
        day = (t + LOCAL_OFFSET_MS) // DAY_MS
        text = self._day_strings.get(day)
        if text is None:
            if len(self._day_strings) > 64:
                self._day_strings.clear()
            text = self._day_strings[day] = local_date(day).strftime("%y%m%d")
        return text

    def number(
        self, counters: dict[tuple[str, int], int], prefix: str, at: int, now: int
    ) -> int:
        """The next number of the daily sequence of ``prefix`` on the local day of ``at``.

        ``now`` is the stream's own time (arrivals only move forward, and ``at >= now``):
        sequences of days before it can never be used again and are dropped.
        """
        key = (prefix, (at + LOCAL_OFFSET_MS) // DAY_MS)
        value = counters.get(key, 0) + 1
        counters[key] = value
        if value == 1 and len(counters) > 4096:
            today = (now + LOCAL_OFFSET_MS) // DAY_MS
            for old in [k for k in counters if k[1] < today]:
                del counters[old]
        return value

    def district(self, u: float) -> District:
        return _pick(self.districts, self._district_cum, self._district_total, u)


_NORMAL = NormalDist()


def _normal(u: float) -> float:
    """A standard normal quantile from one uniform (a fixed number of draws per lifecycle)."""
    return _NORMAL.inv_cdf(min(max(u, 1e-9), 1.0 - 1e-9))


def _lognormal(u: float, median: float, sigma: float) -> float:
    return median * math.exp(sigma * _normal(u))


# ------------------------------------------------------------------------------------------
# Payments
# ------------------------------------------------------------------------------------------

M = PaymentMethod
ON, OFF = PaymentChannel.ONLINE, PaymentChannel.COUNTER

_ONLINE_METHODS = (
    (M.BANK_TRANSFER, 0.35),
    (M.QR, 0.30),
    (M.E_WALLET, 0.25),
    (M.CARD, 0.10),
)
_COUNTER_METHODS = (
    (M.CASH, 0.60),
    (M.CARD, 0.25),
    (M.QR, 0.15),
)

# sector, share of the sector payments, median amount (VND), spread (sigma of the log),
# share paid online (None: the province's utility_online_share); assumptions.
_UTILITY_SECTORS = (
    (PaymentSector.ELECTRICITY, 0.40, 550_000, 0.7, None),
    (PaymentSector.WATER, 0.25, 140_000, 0.6, None),
    (PaymentSector.TELECOM, 0.35, 110_000, 0.6, None),
)
_OTHER_SECTORS = (
    (PaymentSector.HEALTHCARE, 0.40, 250_000, 1.0, 0.35),
    (PaymentSector.EDUCATION, 0.25, 1_200_000, 0.8, 0.70),
    (PaymentSector.TRANSPORT, 0.35, 80_000, 0.9, 0.90),
)
_UTILITY_SHARE = 0.75
"""Share of the (non-public-service) payments that are utility bills, over a month."""

_METHOD_ERRORS: dict[PaymentMethod, tuple[tuple[str, float], ...]] = {
    M.CASH: (("USER_CANCELLED", 0.6), ("COUNTER_ERROR", 0.4)),
    M.CARD: (("CARD_DECLINED", 0.35), ("OTP_FAILED", 0.25), ("INSUFFICIENT_FUNDS", 0.2),
             ("USER_CANCELLED", 0.1), ("TIMEOUT", 0.05), ("BANK_ERROR", 0.05)),
    M.BANK_TRANSFER: (("INSUFFICIENT_FUNDS", 0.25), ("OTP_FAILED", 0.2), ("TIMEOUT", 0.25),
                      ("BANK_ERROR", 0.2), ("USER_CANCELLED", 0.1)),
    M.QR: (("TIMEOUT", 0.3), ("BANK_ERROR", 0.25), ("QR_EXPIRED", 0.2),
           ("INSUFFICIENT_FUNDS", 0.15), ("USER_CANCELLED", 0.1)),
    M.E_WALLET: (("WALLET_INSUFFICIENT_BALANCE", 0.35), ("WALLET_AUTH_FAILED", 0.2),
                 ("TIMEOUT", 0.25), ("USER_CANCELLED", 0.2)),
}
"""How each method fails (assumption; every code is one ``ioc.domain.names.ERROR_CODES`` allows for
the method, which the tests check)."""

_PENDING_FAILURES = (("PENDING_EXPIRED", 0.6), ("TIMEOUT", 0.25), ("BANK_ERROR", 0.15))
"""How a pending transaction that does not settle ends (the codes the method allows)."""

PENDING_METHODS = frozenset({M.BANK_TRANSFER, M.QR, M.E_WALLET})
PENDING_SHARE = 0.03
"""Share of the transfers, QR and wallet payments that the bank or wallet first answers
"pending" (assumption)."""
PENDING_SETTLES = 0.8
"""Share of the pending ones that settle as paid; the others fail (expire)."""
PENDING_MEDIAN_MS = 8 * MINUTE_MS
PENDING_MAX_MS = 6 * HOUR_MS
"""A pending transaction settles or fails within minutes to hours (lognormal, capped)."""

REFUND_SHARE = 0.002
"""Share of the successful bill payments refunded later (a duplicate payment: assumption)."""
FEE_REFUND_SHARE = 0.5
"""Share of the fees of rejected dossiers that are refunded (assumption)."""

OUTAGE_LATENCY_MS = 30_000


def outage_error(method: PaymentMethod) -> str:
    """What a payment fails with when its gateway or counter system is down."""
    return "COUNTER_SYSTEM_DOWN" if method is M.CASH else "GATEWAY_UNAVAILABLE"


def degraded_error(method: PaymentMethod) -> str:
    """What a payment through a degrading gateway fails with (it answers too late)."""
    return "COUNTER_SYSTEM_DOWN" if method is M.CASH else "TIMEOUT"


OUTAGE_ERROR = outage_error(M.CARD)


class _MethodTable:
    """Method and gateway choice for one channel: method by weight, then gateway by weight."""

    def __init__(
        self, methods: Sequence[tuple[PaymentMethod, float]], gateways: Sequence[Gateway],
        weight: Callable[[Gateway], float],
    ) -> None:
        usable = [(m, w) for m, w in methods if any(m in g.methods for g in gateways)]
        self.methods = [m for m, _ in usable]
        self.method_weights = {m: w for m, w in usable}
        self.method_cum, self.method_total = _cumulative([w for _, w in usable])
        self.gateways: dict[PaymentMethod, tuple[list[Gateway], list[float], float]] = {}
        self.gateway_weights: dict[PaymentMethod, list[tuple[Gateway, float]]] = {}
        for method in self.methods:
            options = [g for g in gateways if method in g.methods]
            cum, total = _cumulative([weight(g) for g in options])
            self.gateways[method] = (options, cum, total)
            self.gateway_weights[method] = [(g, weight(g) / total) for g in options]

    def choose(self, u_method: float, u_gateway: float) -> tuple[PaymentMethod, Gateway]:
        method = self.methods[bisect_right(self.method_cum, u_method * self.method_total)]
        options, cum, total = self.gateways[method]
        return method, options[bisect_right(cum, u_gateway * total)]

    def mix(self) -> list[tuple[PaymentMethod, Gateway, float]]:
        """Every (method, gateway) this table chooses, with its probability."""
        total = sum(self.method_weights.values())
        return [
            (m, g, self.method_weights[m] / total * share)
            for m in self.methods
            for g, share in self.gateway_weights[m]
        ]


class _Transaction:
    """A payment transaction's fixed attributes, and what its later events need."""

    __slots__ = (
        "amount",
        "cancelled",
        "channel",
        "district",
        "dossier_id",
        "error",
        "gateway",
        "method",
        "refund_id",
        "sector",
        "settle_id",
        "started",
        "status",
        "transaction_id",
    )

    def __init__(self) -> None:
        self.cancelled = False
        self.dossier_id: str | None = None


@dataclass(slots=True)
class _Outcome:
    status: PaymentStatus
    """The final status (success or failed)."""
    pending: bool
    """Answered "pending" first, settled later."""
    error: str | None


class _PaymentStream(_Stream):
    """Bills and other payments (every sector but public_service).

    Public-service fees are paid by the dossiers' lifecycles and emitted through this stream
    (they belong to this feed, but are drawn by the dossier stream). A transaction through a
    bank transfer, QR or wallet may be "pending" first and settle (or expire) minutes to hours
    later; a few successful ones are refunded later, as transactions of their own.
    """

    feed = Feed.PAYMENT

    N_UNIFORMS = 14
    N_IDS = 3

    def __init__(self, sim: Simulation, profile: ProvinceProfile) -> None:
        super().__init__(sim, profile, "payment")
        per_ms = profile.payments_per_day * sim.scale / DAY_MS
        self._utility_rate = per_ms * _UTILITY_SHARE
        self._other_rate = per_ms * (1.0 - _UTILITY_SHARE)
        self._table = patterns.day_table(patterns.payments)
        self._source = SOURCES[Feed.PAYMENT]
        online = [g for g in profile.gateways if g.channel is PaymentChannel.ONLINE]
        counter = [g for g in profile.gateways if g.channel is PaymentChannel.COUNTER]
        self.online = _MethodTable(_ONLINE_METHODS, online, lambda g: g.weight)
        self.counter = _MethodTable(_COUNTER_METHODS, counter, lambda g: g.weight)
        self.fee_online = _MethodTable(_ONLINE_METHODS, online, lambda g: g.public_service_weight)
        self.fee_counter = counter and _MethodTable(
            _COUNTER_METHODS, counter, lambda g: g.public_service_weight
        )

        def specs(rows: Sequence[tuple]) -> tuple[list[tuple], list[float], float]:
            items = [
                (
                    sector,
                    profile.utility_online_share if online_share is None else online_share,
                    math.log(median),
                    sigma,
                )
                for sector, _, median, sigma, online_share in rows
            ]
            cum, total = _cumulative([row[1] for row in rows])
            return items, cum, total

        self._utility = specs(_UTILITY_SECTORS)
        self._other = specs(_OTHER_SECTORS)
        self._errors = {m: _Choice(rows) for m, rows in _METHOD_ERRORS.items()}
        self._pending_errors = {
            m: _Choice([(c, w) for c, w in _PENDING_FAILURES if m in ERROR_CODES[c].methods])
            for m in PENDING_METHODS
        }
        self._failure_base = (1.0 - profile.payment_success_rate) / self._expected_failure()
        self._count = 0
        self._prefix = f"TX{profile.abbr}"

    def _expected_failure(self) -> float:
        """The mean failure factor over the province's bill payments (sector x method x
        gateway)."""
        expected = 0.0
        groups = ((_UTILITY_SECTORS, _UTILITY_SHARE), (_OTHER_SECTORS, 1 - _UTILITY_SHARE))
        for group, share in groups:
            weights = sum(row[1] for row in group)
            for sector, weight, _, _, online in group:
                online_share = self.profile.utility_online_share if online is None else online
                for table, channel_share in ((self.online, online_share),
                                             (self.counter, 1 - online_share)):
                    for method, gateway, p in table.mix():
                        expected += share * weight / weights * channel_share * p * (
                            self.failure_factor(gateway, method, sector))
        return expected

    def failure_factor(
        self, gateway: Gateway, method: PaymentMethod, sector: PaymentSector
    ) -> float:
        return (self.profile.gateway_failure.get(gateway.slug, 1.0) * METHOD_FAILURE[method]
                * SECTOR_FAILURE.get(sector.value, 1.0))

    def success_probability(
        self, gateway: Gateway, method: PaymentMethod, sector: PaymentSector
    ) -> float:
        """How likely a payment of ``sector`` through ``gateway`` by ``method`` ends paid."""
        return 1.0 - min(0.9, self._failure_base * self.failure_factor(gateway, method, sector))

    def outcome(
        self, u: float, u_error: float, gateway: Gateway, method: PaymentMethod,
        sector: PaymentSector,
    ) -> _Outcome:
        """The final outcome of a transaction, and whether it was pending first."""
        success = self.success_probability(gateway, method, sector)
        pending = PENDING_SHARE if method in PENDING_METHODS else 0.0
        if u < success:
            return _Outcome(PaymentStatus.SUCCESS, u >= success - pending * PENDING_SETTLES, None)
        if u < success + pending * (1.0 - PENDING_SETTLES):
            return _Outcome(PaymentStatus.FAILED, True, self._pending_errors[method](u_error))
        return _Outcome(PaymentStatus.FAILED, False, self._errors[method](u_error))

    def active(self) -> bool:
        return self._utility_rate + self._other_rate > 0

    def rates(self, bucket_start: int) -> tuple[float, ...]:
        shape = patterns.weight(self._table, bucket_start)
        bill = patterns.BILL_DAY_FACTOR[local_date((bucket_start + LOCAL_OFFSET_MS) // DAY_MS).day]
        return (self._utility_rate * shape * bill, self._other_rate * shape)

    @staticmethod
    def latency(gateway: Gateway, method: PaymentMethod, u: float) -> int | None:
        """The gateway's answer time; none for cash (nothing is waited for)."""
        if method is M.CASH:
            return None
        return min(600_000, int(_lognormal(u, gateway.latency_ms, 0.5)))

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        rng = self.rng
        u = [rng.random() for _ in range(self.N_UNIFORMS)]
        ids = [rng.getrandbits(128) for _ in range(self.N_IDS)]
        utility, _ = self.components(t)
        sectors, cum, total = self._utility if u[0] * self._total < utility else self._other
        sector, online_share, mu, sigma = sectors[bisect_right(cum, u[1] * total)]
        district = self.districts[bisect_right(self._district_cum, u[2] * self._district_total)]
        online = u[3] < online_share
        table = self.online if online else self.counter
        method, gateway = table.choose(u[4], u[5])
        amount = max(1_000, int(math.exp(mu + sigma * _normal(u[6])) / 1_000 + 0.5) * 1_000)
        outcome = self.outcome(u[7], u[8], gateway, method, sector)
        self._count += 1
        self.schedule_next(t)
        tx = _Transaction()
        tx.transaction_id = f"{self._prefix}{self.yymmdd(t)}{self._count:08d}"
        tx.sector, tx.method, tx.gateway = sector, method, gateway
        tx.channel = PaymentChannel.ONLINE if online else PaymentChannel.COUNTER
        tx.district, tx.amount = district.code, min(amount, 10_000_000_000)
        tx.status, tx.error, tx.started = outcome.status, outcome.error, t
        tx.settle_id, tx.refund_id = ids[1], ids[2]
        first = self._first_event(
            t, tx, outcome, ids[0], self.latency(gateway, method, u[9]), build
        )
        if tx.cancelled:
            return first
        settled = t
        if outcome.pending:
            settled = t + min(PENDING_MAX_MS, max(MINUTE_MS, int(
                _lognormal(u[10], PENDING_MEDIAN_MS, 1.2))))
            self.sim._push(settled, self.settle, tx, self.key)
        if outcome.status is PaymentStatus.SUCCESS and u[11] < REFUND_SHARE:
            refund_at = settled + max(HOUR_MS, int(_lognormal(u[12], 6 * HOUR_MS, 1.0)))
            self.sim._push(refund_at, self.refund, tx, self.key)
        return first

    def _first_event(
        self, t: int, tx: _Transaction, outcome: _Outcome, event_id: int,
        latency: int | None, build: bool,
    ) -> PaymentEvent | None:
        """The transaction's first event, as the scenarios let it happen (a payment an outage
        or a degrading gateway fails has no later events: ``tx.cancelled``)."""
        status = PaymentStatus.PENDING if outcome.pending else outcome.status
        error = None if outcome.pending else outcome.error
        if self.sim._outages and self.sim._gateway_down(self.province, tx.gateway.slug, t):
            status, error = PaymentStatus.FAILED, outage_error(tx.method)
            latency = None if tx.method is M.CASH else OUTAGE_LATENCY_MS
            tx.cancelled = True
        elif self.sim._degraded_gateways and _unit(event_id) < DEGRADED_MAX_FAILURE * _ramp(
            self.sim._degraded_gateways.get(self.province), tx.gateway.slug, t
        ):
            status, error = PaymentStatus.FAILED, degraded_error(tx.method)
            latency = None if tx.method is M.CASH else OUTAGE_LATENCY_MS
            tx.cancelled = True
        if status is PaymentStatus.FAILED and error == "TIMEOUT" and latency is not None:
            latency = max(latency, OUTAGE_LATENCY_MS)
        if not build:
            return None
        return self._event(t, tx, status, error, latency, event_id)

    def _event(
        self, t: int, tx: _Transaction, status: PaymentStatus, error: str | None,
        latency: int | None, event_id: int, *, initiated: int | None = None,
        transaction_id: str | None = None, refund_of: str | None = None,
    ) -> PaymentEvent:
        return PaymentEvent(
            event_id=_uuid(event_id),
            occurred_at=_dt(t),
            province=self.province,
            district=tx.district,
            source=self._source,
            transaction_id=transaction_id or tx.transaction_id,
            sector=tx.sector,
            method=tx.method,
            channel=tx.channel,
            gateway=tx.gateway.slug,
            amount_vnd=tx.amount,
            status=status,
            latency_ms=latency,
            error_code=error,
            dossier_id=tx.dossier_id,
            refund_of=refund_of,
            initiated_at=None if initiated is None else _dt(initiated),
        )

    def settle(self, t: int, tx: _Transaction, build: bool) -> Event | None:
        """A pending transaction settles (or expires): notified later, nothing waited for."""
        if not build or tx.cancelled:
            return None
        return self._event(t, tx, tx.status, tx.error, None, tx.settle_id, initiated=tx.started)

    def refund(self, t: int, tx: _Transaction, build: bool) -> Event | None:
        """A refund of a successful payment: a transaction of its own that names it."""
        if not build or tx.cancelled:
            return None
        latency = self.latency(tx.gateway, tx.method, _unit(tx.refund_id))
        return self._event(
            t, tx, PaymentStatus.REFUNDED, None, latency, tx.refund_id,
            transaction_id=f"{tx.transaction_id}-HT", refund_of=tx.transaction_id,
        )

    def fee(self, dossier: _Dossier, u: Sequence[float], ids: Sequence[int], paid: int,
            final: int, number: str) -> None:
        """Schedule the fee payment of a dossier: an attempt, a retry if it fails (a fee
        always ends paid, once), and a refund of some fees of rejected dossiers."""
        if dossier.fee_paid_online:
            method, gateway = self.fee_online.choose(u[0], u[1])
        elif self.fee_counter:
            method, gateway = self.fee_counter.choose(u[0], u[1])
        else:
            method, gateway = self.fee_online.choose(u[0], u[1])
        outcome = self.outcome(u[2], u[3], gateway, method, PaymentSector.PUBLIC_SERVICE)
        attempts = [(paid, outcome, ids[0], ids[1], f"PS{number}")]
        if outcome.status is PaymentStatus.FAILED:
            retry = paid + 2 * MINUTE_MS + int(u[4] * 15 * MINUTE_MS)
            if outcome.pending:
                retry += int(_lognormal(u[5], PENDING_MEDIAN_MS, 1.0))
            paid_now = _Outcome(PaymentStatus.SUCCESS, False, None)
            attempts.append((retry, paid_now, ids[2], ids[2], f"PS{number}B"))
        for at, result, event_id, settle_id, transaction_id in attempts:
            tx = _Transaction()
            tx.transaction_id, tx.sector = transaction_id, PaymentSector.PUBLIC_SERVICE
            tx.method, tx.gateway = method, gateway
            tx.channel = ON if dossier.fee_paid_online else OFF
            tx.district, tx.amount = dossier.district, dossier.fee_vnd
            tx.dossier_id = dossier.dossier_id
            tx.status, tx.error = result.status, result.error
            tx.started, tx.settle_id = at, settle_id
            tx.refund_id = ids[3]
            latency = self.latency(gateway, method, u[6])
            self.sim._push(at, self.emit_fee, (tx, result, event_id, latency), self.key)
            if result.pending:
                settle = at + min(PENDING_MAX_MS, max(MINUTE_MS, int(
                    _lognormal(u[7], PENDING_MEDIAN_MS, 1.2))))
                self.sim._push(settle, self.settle, tx, self.key)
            refunded = dossier.rejected and u[8] < FEE_REFUND_SHARE
            if result.status is PaymentStatus.SUCCESS and refunded:
                refund_at = max(final, at) + HOUR_MS + int(u[9] * 2 * DAY_MS)
                self.sim._push(refund_at, self.refund, tx, self.key)

    def emit_fee(self, t: int, payload: tuple, build: bool) -> Event | None:
        tx, outcome, event_id, latency = payload
        return self._first_event(t, tx, outcome, event_id, latency, build)


# ------------------------------------------------------------------------------------------
# Dossiers
# ------------------------------------------------------------------------------------------


class _Dossier:
    """One dossier's fixed attributes and its pre-drawn lifecycle."""

    __slots__ = (
        "agency", "channel", "data_reused", "district", "dossier_id", "due_at", "due_ms",
        "fee_paid_online", "fee_vnd", "files_digitised", "hold", "index", "procedure",
        "rejected", "result_digitised", "satisfaction", "status_published", "steps",
        "submitted_at",
    )

    def __init__(self) -> None:
        self.index = 0
        self.steps: list[list] = []


_AGENCY_ACTIONS = frozenset({
    DossierStatus.PROCESSING, DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.RESOLVED,
    DossierStatus.REJECTED,
})

MAX_LATENESS_MS = 5 * WORKDAY_MS
"""Late dossiers and reports are finished at most this much working time after their due date
(the backlog gets chased), so anything due more than 8 calendar days ago is final."""


def _lateness(u: float, mean: float) -> int:
    """Working time past the due date: 30 min plus an exponential tail, capped."""
    return min(MAX_LATENESS_MS, 30 * MINUTE_MS + int(-math.log(1.0 - u) * mean))


def _ratings(unsatisfied: float, happy: tuple[float, float, float]) -> _Choice:
    """Ratings 1-5 with ``unsatisfied`` on 1-2 and the rest spread like ``happy`` on 3-5."""
    total = sum(happy)
    rest = [(1.0 - unsatisfied) * w / total for w in happy]
    return _Choice(list(zip(range(1, 6), [unsatisfied * 0.4, unsatisfied * 0.6, *rest],
                            strict=True)))


_RATINGS_LATE = _Choice(list(zip(range(1, 6), (0.20, 0.25, 0.30, 0.17, 0.08), strict=True)))
_RATINGS_REJECTED = _Choice(list(zip(range(1, 6), (0.25, 0.25, 0.30, 0.12, 0.08), strict=True)))


class _DossierStream(_Stream):
    feed = Feed.DOSSIER

    N_UNIFORMS = 42
    N_IDS = 6

    def __init__(
        self, sim: Simulation, profile: ProvinceProfile, payments: _PaymentStream
    ) -> None:
        super().__init__(sim, profile, "dossier")
        self.payments = payments
        per_ms = profile.dossiers_per_day * sim.scale / DAY_MS
        self._online_rate = per_ms * profile.online_share
        self._counter_rate = per_ms * (1.0 - profile.online_share)
        self._online_table = patterns.day_table(patterns.online_dossiers)
        self._counter_table = patterns.day_table(patterns.counter_dossiers(profile.saturday_desks))
        self._procedures = list(profile.procedures)
        self._procedure_cum, self._procedure_total = _cumulative(
            [p.weight for p in profile.procedures]
        )
        feeable = profile.feeable_share
        self._fee_probability = profile.fee_share / feeable if feeable > 0 else 0.0
        self._other_online_payment = profile.other_online_payment_probability
        self._counter_digitised = profile.counter_digitised_probability
        self._late_base = profile.dossier_late_base()
        self._desk: WorkCalendar = SATURDAY_DESK if profile.saturday_desks else OFFICE
        rated_unhappy = 1.0 - profile.dossier_satisfaction / profile.dossier_on_time_rate
        share = profile.rating_share
        self._ratings_on_time = _ratings(min(0.9, rated_unhappy / share) if share else 0.0,
                                         (0.12, 0.38, 0.50))
        self._departments = {a.code.rsplit(".", 1)[1]: a for a in profile.departments()}
        self._district_agency: dict[str, Agency] = {}
        self._communes: dict[str, list[Agency]] = {}
        for agency in profile.agencies:
            if agency.level is AgencyLevel.DISTRICT and agency.district:
                self._district_agency[agency.district] = agency
            elif agency.level is AgencyLevel.COMMUNE and agency.district:
                self._communes.setdefault(agency.district, []).append(agency)
        for procedure in profile.procedures:
            if procedure.level is AgencyLevel.PROVINCE and (
                procedure.department not in self._departments
            ):
                raise ValueError(
                    f"{profile.code}: procedure {procedure.code} needs department "
                    f"{procedure.department!r}, which the profile does not have"
                )
        self._source = SOURCES[Feed.DOSSIER]
        self._numbers: dict[tuple[str, int], int] = {}
        self._fee_count = 0

    def active(self) -> bool:
        return self._online_rate + self._counter_rate > 0

    def rates(self, bucket_start: int) -> tuple[float, ...]:
        return (self._online_rate * patterns.weight(self._online_table, bucket_start),
                self._counter_rate * patterns.weight(self._counter_table, bucket_start))

    def _agency(self, procedure_level: AgencyLevel, department: str | None,
                district: str, u: float) -> Agency:
        if procedure_level is AgencyLevel.PROVINCE:
            return self._departments[department or ""]
        if procedure_level is AgencyLevel.COMMUNE:
            communes = self._communes.get(district)
            if communes:
                return communes[min(int(u * len(communes)), len(communes) - 1)]
        return self._district_agency[district]

    @staticmethod
    def _calendar(agency: Agency) -> WorkCalendar:
        """When the agency's back office works on its dossiers."""
        return EXTENDED if agency.department in EXTENDED_HOURS_DEPARTMENTS else OFFICE

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        rng = self.rng
        r = rng.random
        online_rate, _ = self.components(t)
        total = self._total
        u = [r() for _ in range(self.N_UNIFORMS)]
        ids = [rng.getrandbits(128) for _ in range(self.N_IDS + 4)]
        self.schedule_next(t)  # the next arrival's draws come after this dossier's
        profile = self.profile

        online = u[0] * total < online_rate
        if online:
            fully = u[1] < profile.fully_online_share_of_online
            channel = DossierChannel.FULLY_ONLINE if fully else DossierChannel.PARTLY_ONLINE
        else:
            fully = False
            channel = DossierChannel.IN_PERSON
        district = self.district(u[2]).code
        procedure = _pick(self._procedures, self._procedure_cum, self._procedure_total, u[3])
        agency = self._agency(procedure.level, procedure.department, district, u[4])
        work_calendar = self._calendar(agency)
        fee = 0
        if procedure.fee_vnd > 0 and u[5] < self._fee_probability:
            fee = procedure.fee_vnd
            if procedure.fee_max_vnd > fee:
                fee *= 1 + int(u[6] * (procedure.fee_max_vnd // procedure.fee_vnd))
                fee = min(fee, procedure.fee_max_vnd)
        pays_online = fully or u[7] < self._other_online_payment

        # A portal outage postpones the submission: people come back when it is over.
        submitted = t
        resume = self.sim._portal_down_until(self.province, t) if self.sim._portal_down else None
        if resume is not None:
            submitted = resume + MINUTE_MS + int(u[8] * 45 * MINUTE_MS)

        # Receipt: at once at the counter, within the desk's hours for online dossiers.
        if online:
            received = add_work(submitted, 10 * MINUTE_MS + int(u[9] * 3 * HOUR_MS), self._desk)
        else:
            received = add_work(submitted, 2 * MINUTE_MS + int(u[9] * 10 * MINUTE_MS), self._desk)
        work = max(HOUR_MS, int(procedure.processing_days * WORKDAY_MS))
        due = add_work(received, work)  # deadlines count the legal working days

        # Agency actions as working-time offsets from receipt (all before ``work`` = due),
        # placed on the agency's own calendar (which may be open longer than the legal one).
        processing_off = 5 * MINUTE_MS + int(u[10] * min(2 * HOUR_MS, work // 10))
        S = DossierStatus
        offsets: list[tuple[int, DossierStatus]] = [(processing_off, S.PROCESSING)]
        supplement = procedure.processing_days >= 3 and u[11] < profile.supplement_rate
        rejected = u[12] < profile.dossier_rejection_rate
        last_off = processing_off
        if supplement:
            last_off += int(work * (0.05 + 0.2 * u[13]))
            offsets.append((last_off, S.SUPPLEMENT_REQUESTED))
            if not rejected:
                last_off += int(work * (0.1 + 0.2 * u[16]))
                offsets.append((last_off, S.PROCESSING))
        final_at: int | None = None
        late = u[15] < min(0.9, self._late_base * profile.late_factor(procedure, district))
        if rejected:
            final_off = last_off + int((work - last_off) * (0.1 + 0.6 * u[14]))
            offsets.append((final_off, S.REJECTED))
        elif not late:
            low = last_off + MINUTE_MS
            offsets.append((low + int((work - low) * u[14]), S.RESOLVED))
        else:  # late: some working time after the due date
            final_at = add_work(due, _lateness(u[14], 1.5 * WORKDAY_MS), work_calendar)

        steps: list[list] = [[submitted, S.SUBMITTED, ids[0]], [received, S.RECEIVED, ids[1]]]
        previous = received
        for i, (offset, status) in enumerate(offsets):
            at = max(add_work(received, offset, work_calendar), previous + 1_000)
            if status in (S.RESOLVED, S.REJECTED):
                at = min(at, max(due, previous + 1_000))  # an on-time one stays on time
            steps.append([at, status, ids[2 + i]])
            previous = at
        if final_at is not None:
            steps.append([max(final_at, previous + 1_000), S.RESOLVED, ids[2 + len(offsets)]])

        dossier = _Dossier()
        dossier.steps = steps
        dossier.channel = channel
        dossier.district = district
        dossier.procedure = procedure
        dossier.agency = agency
        dossier.fee_vnd = fee
        dossier.fee_paid_online = (pays_online if fee else None)
        dossier.submitted_at = _dt(submitted)
        dossier.due_at = _dt(due)
        dossier.due_ms = due
        dossier.rejected = rejected
        dossier.files_digitised = online or u[24] < self._counter_digitised
        dossier.data_reused = u[25] < profile.data_reuse_share
        dossier.status_published = u[26] < profile.status_published_share
        dossier.result_digitised = u[27] < profile.result_digitised_share
        dossier.hold = u[30]
        dossier.satisfaction = None
        if u[28] < profile.rating_share:
            if rejected:
                dossier.satisfaction = _RATINGS_REJECTED(u[29])
            elif late:
                dossier.satisfaction = _RATINGS_LATE(u[29])
            else:
                dossier.satisfaction = self._ratings_on_time(u[29])
        number = self.number(self._numbers, agency.code, submitted, t)
        dossier.dossier_id = f"{agency.code}-{self.yymmdd(submitted)}-{number:04d}"
        self.sim._push(submitted, self.step, dossier, self.key)

        if fee:
            self._schedule_fee(dossier, u, ids, fully, submitted, received, steps[-1][0])
        return None

    def _schedule_fee(
        self, dossier: _Dossier, u: list[float], ids: list[int], fully: bool,
        submitted: int, received: int, final: int,
    ) -> None:
        """The fee payment of a dossier (a failed or pending first attempt, sometimes)."""
        if fully:  # toàn trình: paid on the portal right after submitting
            paid = submitted + MINUTE_MS + int(u[17] * 15 * MINUTE_MS)
        elif dossier.fee_paid_online:  # paid online once the one-stop desk asks for it
            paid = received + 2 * MINUTE_MS + int(u[17] * 30 * MINUTE_MS)
        else:  # at the cashier, right after receipt
            paid = received + MINUTE_MS + int(u[17] * 5 * MINUTE_MS)
        paid = max(submitted, min(paid, final - MINUTE_MS))
        self._fee_count += 1
        number = f"{self.profile.abbr}{self.yymmdd(submitted)}{self._fee_count:07d}"
        self.payments.fee(dossier, u[31:41], ids[self.N_IDS:], paid, final, number)

    def step(self, t: int, dossier: _Dossier, build: bool) -> Event | None:
        index = dossier.index
        steps = dossier.steps
        _, status, event_id = steps[index]
        if status in _AGENCY_ACTIONS and self.sim._degraded_agencies:
            held = self._hold(t, dossier)
            if held:
                return None
        dossier.index = index + 1
        if index + 1 < len(steps):
            self.sim._push(steps[index + 1][0], self.step, dossier, self.key)
        if not build:
            return None
        agency = dossier.agency
        procedure = dossier.procedure
        final = status in (DossierStatus.RESOLVED, DossierStatus.REJECTED)
        return DossierEvent(
            event_id=_uuid(event_id),
            occurred_at=_dt(t),
            province=self.province,
            district=dossier.district,
            source=self._source,
            dossier_id=dossier.dossier_id,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            agency_code=agency.code,
            agency_name=agency.name,
            agency_level=agency.level,
            channel=dossier.channel,
            status=status,
            submitted_at=dossier.submitted_at,
            due_at=dossier.due_at,
            fee_vnd=dossier.fee_vnd,
            fee_paid_online=dossier.fee_paid_online,
            sector=procedure.sector,
            files_digitised=dossier.files_digitised,
            data_reused=dossier.data_reused,
            status_published=dossier.status_published,
            result_digitised=(
                dossier.result_digitised if status is DossierStatus.RESOLVED else None
            ),
            satisfaction=dossier.satisfaction if final else None,
        )

    def _hold(self, t: int, dossier: _Dossier) -> bool:
        """A degrading agency leaves this step for after the window (with a probability that
        grows over it): the step and all later ones move; True when it did."""
        windows = self.sim._degraded_agencies.get(self.province)
        ramp = _ramp(windows, dossier.agency.code, t)
        if ramp <= 0.0 or dossier.hold >= ramp:
            return False
        end = self.sim._agency_hold(self.province, dossier.agency.code, t) or t
        calendar = self._calendar(dossier.agency)
        # the backlog is cleared in the working hours after the window, oldest first
        resume = add_work(end, int(dossier.hold * 4 * HOUR_MS), calendar)
        delta = resume - t
        for step in dossier.steps[dossier.index:]:
            step[0] += delta
        self.sim._push(dossier.steps[dossier.index][0], self.step, dossier, self.key)
        return True


# ------------------------------------------------------------------------------------------
# Field reports
# ------------------------------------------------------------------------------------------

Cat = IncidentCategory

_CATEGORY_WEIGHTS = (  # dry-weather shares of the non-flooding reports (assumption)
    (Cat.TRAFFIC, 0.12), (Cat.PUBLIC_TRANSPORT, 0.03), (Cat.URBAN_ORDER, 0.18),
    (Cat.ENVIRONMENT, 0.12), (Cat.WATER_SUPPLY, 0.08), (Cat.INFRASTRUCTURE, 0.12),
    (Cat.PUBLIC_LIGHTING, 0.07), (Cat.TREES, 0.05), (Cat.ELECTRICITY, 0.06),
    (Cat.TELECOM, 0.03), (Cat.LAND, 0.05), (Cat.HEALTH, 0.02),
    (Cat.ADMINISTRATIVE_PROCEDURE, 0.03), (Cat.SECURITY, 0.04),
)

DEADLINES: dict[IncidentCategory, tuple[str, float]] = {
    Cat.FLOODING: ("hours", 24), Cat.SECURITY: ("hours", 24), Cat.ELECTRICITY: ("hours", 24),
    Cat.WATER_SUPPLY: ("workdays", 2), Cat.TREES: ("workdays", 2),
    Cat.PUBLIC_LIGHTING: ("workdays", 2), Cat.TRAFFIC: ("workdays", 2),
}
"""Deadlines by category (assumption): hazards within 24 hours, round the clock; outages and
obstructions within 2 working days; every other report within 5 working days."""
DEFAULT_DEADLINE = ("workdays", 5.0)

TITLES: dict[IncidentCategory, tuple[str, ...]] = {
    Cat.TRAFFIC: (
        "Đèn tín hiệu giao thông không hoạt động",
        "Ùn tắc giao thông kéo dài giờ cao điểm",
        "Xe tải đậu đỗ sai quy định gây cản trở giao thông",
        "Biển báo giao thông bị che khuất",
    ),
    Cat.PUBLIC_TRANSPORT: (
        "Xe buýt không dừng đón khách tại trạm",
        "Xe buýt chạy trễ giờ so với lịch trình",
        "Nhà chờ xe buýt hư hỏng",
    ),
    Cat.ENVIRONMENT: (
        "Đổ trộm rác thải sinh hoạt",
        "Nước thải chảy ra kênh gây ô nhiễm",
        "Khói bụi từ cơ sở sản xuất",
        "Đốt rác gây ô nhiễm không khí",
    ),
    Cat.URBAN_ORDER: (
        "Lấn chiếm vỉa hè để kinh doanh",
        "Xây dựng công trình không phép",
        "Tập kết vật liệu xây dựng trên lòng đường",
        "Quảng cáo rao vặt sai quy định",
    ),
    Cat.WATER_SUPPLY: (
        "Mất nước sinh hoạt nhiều ngày",
        "Vỡ đường ống cấp nước",
        "Nước máy có mùi, đục",
        "Cống thoát nước bốc mùi hôi",
    ),
    Cat.FLOODING: (
        "Ngập nước sâu sau mưa lớn",
        "Cống thoát nước bị tắc gây ngập",
        "Nước tràn vào nhà dân",
        "Tuyến đường ngập, xe chết máy hàng loạt",
    ),
    Cat.INFRASTRUCTURE: (
        "Ổ gà, hư hỏng mặt đường",
        "Mất nắp hố ga gây nguy hiểm",
        "Vỉa hè xuống cấp, bong tróc",
        "Lan can cầu bị hư hỏng",
    ),
    Cat.PUBLIC_LIGHTING: (
        "Đèn chiếu sáng công cộng không sáng",
        "Cột đèn chiếu sáng nghiêng, có nguy cơ đổ",
        "Đèn đường sáng cả ban ngày",
    ),
    Cat.TREES: (
        "Cây xanh gãy đổ",
        "Cây xanh có nguy cơ ngã đổ",
        "Cành cây che khuất biển báo, đèn đường",
    ),
    Cat.ELECTRICITY: (
        "Mất điện kéo dài",
        "Dây điện bị đứt, võng thấp",
        "Trạm biến áp phát ra tiếng nổ",
    ),
    Cat.TELECOM: (
        "Cáp viễn thông treo lơ lửng trên vỉa hè",
        "Mất sóng điện thoại di động",
    ),
    Cat.LAND: (
        "Lấn chiếm đất công",
        "Tranh chấp ranh giới đất",
        "San lấp đất nông nghiệp trái phép",
    ),
    Cat.HEALTH: (
        "Cơ sở kinh doanh thực phẩm không bảo đảm vệ sinh",
        "Nghi có ổ dịch sốt xuất huyết",
    ),
    Cat.ADMINISTRATIVE_PROCEDURE: (
        "Hồ sơ giải quyết trễ hẹn không có thông báo",
        "Cán bộ một cửa yêu cầu nộp thêm giấy tờ không đúng quy định",
    ),
    Cat.SECURITY: (
        "Tụ tập gây mất trật tự vào ban đêm",
        "Trộm cắp tài sản",
        "Đua xe trái phép",
        "Đánh nhau gây mất an ninh trật tự",
    ),
}

_QUICK_CHANNELS = frozenset({ReportChannel.HOTLINE_1022})
_HAPPY_REPORT = (0.15, 0.37, 0.40)


class _Report:
    __slots__ = (
        "category", "channel", "district", "due_at", "handling_unit", "index", "latitude",
        "longitude", "report_id", "reported_at", "source", "steps", "title",
    )


class _IncidentStream(_Stream):
    """Field reports, with weather-driven flooding; with ``surge`` a flood scenario's stream."""

    feed = Feed.INCIDENT

    N_UNIFORMS = 16
    N_IDS = 5

    def __init__(
        self, sim: Simulation, profile: ProvinceProfile, weather: Weather,
        surge: tuple[str, int, int] | None = None,
    ) -> None:
        name = "incident" if surge is None else f"incident/flood/{surge[0]}/{surge[1]}"
        super().__init__(sim, profile, name)
        self.weather = weather
        self.surge = surge
        per_ms = profile.incidents_per_day * sim.scale / DAY_MS
        self._flood_rate = per_ms * FLOOD_BASE_SHARE
        self._other_rate = per_ms * (1.0 - FLOOD_BASE_SHARE)
        self._surge_rate = FLOOD_SURGE_PER_HOUR * sim.scale / HOUR_MS
        self._table = patterns.day_table(patterns.incidents)
        self._categories = _Choice(_CATEGORY_WEIGHTS)
        self._channels = _Choice(profile.report_channels)
        mix = {c: w * (1.0 - FLOOD_BASE_SHARE) for c, w in _CATEGORY_WEIGHTS}
        mix[Cat.FLOODING] = FLOOD_BASE_SHARE
        self._late_base = profile.incident_late_base(mix)
        unhappy = 1.0 - profile.incident_satisfaction / profile.incident_on_time_rate
        self._ratings_on_time = _ratings(unhappy, _HAPPY_REPORT)
        self._places: dict[str, list[tuple[str, str]]] = {}
        if surge is None:
            self._prefix = f"PA-{profile.abbr}-"
        else:  # each flood scenario numbers its own reports: PA-BD-L1-240902-00001
            sim._surges[profile.code] = sim._surges.get(profile.code, 0) + 1
            self._prefix = f"PA-{profile.abbr}-L{sim._surges[profile.code]}-"
        self._numbers: dict[tuple[str, int], int] = {}

    def active(self) -> bool:
        if self.surge is not None:
            return self._surge_rate > 0
        return self._flood_rate + self._other_rate > 0

    def end(self) -> int | None:
        return None if self.surge is None else self.surge[2]

    def rates(self, bucket_start: int) -> tuple[float, ...]:
        if self.surge is not None:
            return (self._surge_rate, 0.0)
        shape = patterns.weight(self._table, bucket_start)
        rain = self.weather.intensity(bucket_start)
        flood = self._flood_rate * shape * (1.0 + FLOOD_RAIN_FACTOR * rain * rain)
        return (flood, self._other_rate * shape)

    def _places_of(self, district: str) -> list[tuple[str, str]]:
        """(place for a title, commune name or '') of a district."""
        places = self._places.get(district)
        if places is None:
            province = self.profile.province
            where = district_title(province, district)
            communes = COMMUNES.get(district, ())
            places = [(f"{commune_title(c)}, {where}", c) for c in communes] or [(where, "")]
            self._places[district] = places
        return places

    def _handling_unit(self, category: IncidentCategory, district: str, commune: str) -> str:
        where = district_title(self.profile.province, district)
        province = self.profile.province.name_vi
        if category is Cat.TRAFFIC:
            return f"Đội Cảnh sát giao thông - Công an {where}"
        if category is Cat.SECURITY:
            return f"Công an {commune_title(commune)}" if commune else f"Công an {where}"
        if category in (Cat.ENVIRONMENT, Cat.LAND):
            return f"Phòng Tài nguyên và Môi trường {where}"
        if category is Cat.ELECTRICITY:
            return f"Điện lực {where}"
        if category is Cat.WATER_SUPPLY:
            return f"Công ty Cấp thoát nước {province}"
        if category is Cat.TELECOM:
            return f"VNPT {province}"
        if category is Cat.PUBLIC_TRANSPORT:
            return f"Sở Giao thông vận tải {province}"
        if category is Cat.HEALTH:
            return f"Trung tâm Y tế {where}"
        if category is Cat.ADMINISTRATIVE_PROCEDURE:
            return f"Văn phòng HĐND và UBND {where}"
        if category is Cat.URBAN_ORDER and commune:
            return f"UBND {commune_title(commune)}"
        return self.profile.handling_units[district]

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        rng = self.rng
        r = rng.random
        flood_rate, _ = self.components(t)
        total = self._total
        u = [r() for _ in range(self.N_UNIFORMS)]
        ids = [rng.getrandbits(128) for _ in range(self.N_IDS)]
        self.schedule_next(t)
        profile = self.profile

        category = Cat.FLOODING if u[0] * total < flood_rate else self._categories(u[1])
        if self.surge is not None:
            district = profile.province.district(self.surge[0])
        else:
            district = self.district(u[2])
        channel = self._channels(u[3])
        places = self._places_of(district.code)
        place, commune = places[min(int(u[4] * len(places)), len(places) - 1)]
        titles = TITLES[category]
        title = f"{titles[min(int(u[5] * len(titles)), len(titles) - 1)]} tại {place}"
        latitude = min(23.5, max(8.0, round(district.latitude + (u[6] - 0.5) * 0.04, 5)))
        longitude = min(110.0, max(102.0, round(district.longitude + (u[7] - 0.5) * 0.04, 5)))

        reported = t
        unit, amount = DEADLINES.get(category, DEFAULT_DEADLINE)
        round_the_clock = unit == "hours"
        if round_the_clock:
            due = reported + int(amount * HOUR_MS)
        else:
            due = add_work(reported, int(amount * WORKDAY_MS))
        S = IncidentStatus
        steps: list[tuple[int, IncidentStatus, int, int | None]] = [
            (reported, S.RECEIVED, ids[0], None)
        ]
        if u[8] < profile.incident_rejection_rate:  # duplicate, out of scope, not verifiable
            steps.append((reported + 10 * MINUTE_MS + int(u[9] * 170 * MINUTE_MS), S.REJECTED,
                          ids[1], None))
        else:
            quick = channel in _QUICK_CHANNELS or round_the_clock
            verified = reported + MINUTE_MS + int(u[9] * (9 if quick else 85) * MINUTE_MS)
            assigned = verified + 2 * MINUTE_MS + int(u[10] * 18 * MINUTE_MS)
            if round_the_clock:
                started = assigned + 10 * MINUTE_MS + int(u[11] * 110 * MINUTE_MS)
            else:
                started = add_work(assigned, 15 * MINUTE_MS + int(u[11] * 4 * HOUR_MS))
            started = min(started, due - 2 * MINUTE_MS)
            late_factor = CATEGORY_LATE.get(category, 1.0) * profile.district_late.get(
                district.code, 1.0)
            on_time = u[12] >= min(0.9, self._late_base * late_factor)
            if on_time:
                if round_the_clock:
                    resolved = started + int((due - started) * (0.05 + 0.9 * u[13] ** 2))
                else:
                    span = work_between(started, due)
                    resolved = add_work(started, int(span * (0.05 + 0.95 * u[13])))
                resolved = min(due, max(resolved, started + MINUTE_MS))
                satisfaction = self._ratings_on_time(u[14])
            else:
                if round_the_clock:
                    resolved = due + 30 * MINUTE_MS + int(-math.log(1.0 - u[13]) * 8 * HOUR_MS)
                else:
                    resolved = add_work(due, _lateness(u[13], WORKDAY_MS))
                satisfaction = _RATINGS_LATE(u[14])
            steps += [
                (verified, S.VERIFIED, ids[1], None),
                (assigned, S.ASSIGNED, ids[2], None),
                (started, S.IN_PROGRESS, ids[3], None),
                (resolved, S.RESOLVED, ids[4], satisfaction),
            ]

        report = _Report()
        report.index = 0
        report.steps = steps
        report.category = category
        report.channel = channel
        report.source = SOURCES[channel]
        report.district = district.code
        report.title = title
        report.latitude = latitude
        report.longitude = longitude
        report.handling_unit = self._handling_unit(category, district.code, commune)
        report.reported_at = _dt(reported)
        report.due_at = _dt(due)
        number = self.number(self._numbers, "", reported, t)
        report.report_id = f"{self._prefix}{self.yymmdd(reported)}-{number:05d}"
        self.sim._push(reported, self.step, report, self.key)
        return None

    def step(self, t: int, report: _Report, build: bool) -> Event | None:
        index = report.index
        steps = report.steps
        _, status, event_id, satisfaction = steps[index]
        report.index = index + 1
        if index + 1 < len(steps):
            self.sim._push(steps[index + 1][0], self.step, report, self.key)
        if not build:
            return None
        return IncidentEvent(
            event_id=_uuid(event_id),
            occurred_at=_dt(t),
            province=self.province,
            district=report.district,
            source=report.source,
            report_id=report.report_id,
            category=report.category,
            channel=report.channel,
            status=status,
            title=report.title,
            latitude=report.latitude,
            longitude=report.longitude,
            handling_unit=report.handling_unit,
            reported_at=report.reported_at,
            due_at=report.due_at,
            satisfaction=satisfaction,
        )
