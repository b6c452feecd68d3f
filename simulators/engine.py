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

This module is the orchestration (``Simulation``, ``Scenario``); each feed's stream is a
module of its own: ``simulators.dossiers``, ``simulators.payments``, ``simulators.incidents``,
on what they share in ``simulators.streams``.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ioc.models import (
    Event,
    Feed,
    PaymentChannel,
)
from simulators.dossiers import DossierStream
from simulators.incidents import IncidentStream
from simulators.payments import PaymentStream
from simulators.profiles import (
    Agency,
    ProvinceProfile,
)
from simulators.streams import (
    Handler,
    StreamKey,
    Window,
    local_datetime,
)
from simulators.weather import Weather
from simulators.worktime import (
    to_ms,
)

SCENARIOS = (
    "gateway-outage", "gateway-degraded", "agency-degraded", "portal-down", "flood",
    "feed-silent",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scenario switched on for [start, end) in one province."""

    name: str
    province: str
    target: str | None
    start: datetime
    end: datetime


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
        self.heap: list[tuple[int, int, Handler, Any, StreamKey]] = []
        self.seq = itertools.count()
        self._token = 0
        self.scenarios: list[Scenario] = []
        self._silences: dict[StreamKey, list[tuple[int, int]]] = {}
        self.outages: dict[str, list[Window]] = {}
        self.degraded_gateways: dict[str, list[Window]] = {}
        self.degraded_agencies: dict[str, list[Window]] = {}
        self.portal_down: dict[str, list[tuple[int, int]]] = {}
        self._weather: dict[str, Weather] = {}
        self.surges: dict[str, int] = {}
        self._dossiers: dict[str, DossierStream] = {}
        self._payments: dict[str, PaymentStream] = {}
        self._incidents: dict[str, IncidentStream] = {}
        early = self._start - max(0, warmup // timedelta(milliseconds=1))
        for profile in profiles:
            weather = Weather(profile.climate, seed=seed, province=profile.code)
            self._weather[profile.code] = weather
            payments = PaymentStream(self, profile)
            self._payments[profile.code] = payments
            self._dossiers[profile.code] = DossierStream(self, profile, payments)
            self._incidents[profile.code] = IncidentStream(self, profile, weather)
        for code in self.profiles:  # arrivals are scheduled after every stream exists
            self._dossiers[code].begin(early)
            self._payments[code].begin(self._start)
            self._incidents[code].begin(early)

    # -- public API ------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """Simulated time reached so far (the ``end`` of the last completed call)."""
        return local_datetime(self._now)

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
            record = Scenario(scenario, code, resolved, local_datetime(lo), local_datetime(hi))
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
            windows = self.outages if scenario == "gateway-outage" else self.degraded_gateways
            windows.setdefault(code, []).append((lo, hi, target))
            return target
        if scenario == "agency-degraded":
            agency = _find_agency(profile, target)
            self.degraded_agencies.setdefault(code, []).append((lo, hi, agency.code))
            return agency.code
        if scenario == "portal-down":
            if target is not None:
                raise ValueError("portal-down takes no target")
            self.portal_down.setdefault(code, []).append((lo, hi))
            return None
        if scenario == "flood":
            if target is None:
                target = max(profile.province.districts, key=lambda d: d.population).code
            elif not _has_district(profile, target):
                known = ", ".join(d.code for d in profile.province.districts)
                raise ValueError(f"{code} has no district {target!r} (districts: {known})")
            begin = max(lo, self._now)
            if begin < hi:
                surge = IncidentStream(
                    self, profile, self._weather[code], surge=(target, begin, hi)
                )
                surge.begin(begin)
            return target
        # feed-silent
        feeds = list(Feed) if target is None else [_feed(target)]
        for feed in feeds:
            self._silences.setdefault((code, feed), []).append((lo, hi))
        return target

    def push(self, t: int, handler: Handler, payload: Any, key: StreamKey) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), handler, payload, key))

    def _silenced(self, key: StreamKey, t: int) -> bool:
        windows = self._silences.get(key)
        return windows is not None and any(lo <= t < hi for lo, hi in windows)

    def _drain(self, end_ms: int, token: int) -> Iterator[Event]:
        heap = self.heap
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

    def portal_down_until(self, province: str, t: int) -> int | None:
        """The end of a portal outage covering ``t``, if there is one."""
        windows = self.portal_down.get(province)
        if windows:
            ends = [hi for lo, hi in windows if lo <= t < hi]
            if ends:
                return max(ends)
        return None

    def gateway_down(self, province: str, gateway: str, t: int) -> bool:
        windows = self.outages.get(province)
        return windows is not None and any(
            lo <= t < hi and slug == gateway for lo, hi, slug in windows
        )

    def agency_hold(self, province: str, agency: str, t: int) -> int | None:
        """The end of a degradation window of ``agency`` covering ``t`` (None outside any)."""
        windows = self.degraded_agencies.get(province)
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


