"""What every feed's stream shares: the Poisson arrival process over 15-minute buckets
(``Stream``), the draws it makes without extra random numbers (ids, uniforms, weighted
choices, normal and lognormal quantiles), the event sources, and the scenario windows' ramp.
See ``simulators.engine`` for how the streams and the simulation fit together.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from itertools import accumulate
from statistics import NormalDist
from typing import Any, Protocol, TypeVar
from uuid import UUID

from ioc.domain.geo import District
from ioc.models import (
    VN_TZ,
    Event,
    Feed,
    ReportChannel,
)
from simulators.patterns import BUCKET_MS
from simulators.profiles import (
    ProvinceProfile,
)
from simulators.worktime import (
    DAY_MS,
    LOCAL_OFFSET_MS,
    MINUTE_MS,
    WEEK_MS,
    WORKDAY_MS,
    local_date,
)

T = TypeVar("T")
StreamKey = tuple[str, Feed]
Handler = Callable[[int, Any, bool], Event | None]


def local_datetime(t: int) -> datetime:
    return datetime.fromtimestamp(t / 1000, VN_TZ)


def uuid_from(bits: int) -> UUID:
    return UUID(int=bits, version=4)


def unit_from(bits: int) -> float:
    """A uniform in [0, 1) from the high bits of a drawn 128-bit id (no extra draw)."""
    return (bits >> 75) / float(1 << 53)


def cumulative(weights: Sequence[float]) -> tuple[list[float], float]:
    """Cumulative weights for ``pick``; the last bound is infinite so no index overflows."""
    cum = list(accumulate(weights))
    total = cum[-1] if cum else 0.0
    if cum:
        cum[-1] = math.inf
    return cum, total


def pick(items: Sequence[T], cum: list[float], total: float, u: float) -> T:
    """The item at ``u`` (uniform in [0, 1)) of a weighted choice."""
    return items[bisect_right(cum, u * total)]


class Choice:
    """A weighted choice among ``(item, weight)`` rows, made once."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, rows: Sequence[tuple[Any, float]]) -> None:
        self.items = [item for item, _ in rows]
        self.cum, self.total = cumulative([w for _, w in rows])

    def __call__(self, u: float) -> Any:
        return self.items[bisect_right(self.cum, u * self.total)]


Window = tuple[int, int, str]


def degradation_ramp(windows: list[Window] | None, target: str, t: int) -> float:
    """How far into a degradation window of ``target`` ``t`` is (0 outside any)."""
    if not windows:
        return 0.0
    best = 0.0
    for lo, hi, slug in windows:
        if slug == target and lo <= t < hi:
            best = max(best, (t - lo) / (hi - lo))
    return best


SOURCES = {
    Feed.DOSSIER: "sim/dvc-portal",
    Feed.PAYMENT: "sim/payment-gw",
    ReportChannel.APP: "sim/field-app",
    ReportChannel.WEB: "sim/field-web",
    ReportChannel.HOTLINE_1022: "sim/hotline-1022",
}



class SimulationState(Protocol):
    """What a stream uses of the simulation that drives it (``simulators.engine.Simulation``):
    the seed and scale, the one agenda of everything due, and the scenarios in force."""

    seed: int
    scale: float
    heap: list[tuple[int, int, Handler, Any, StreamKey]]
    seq: Iterator[int]
    surges: dict[str, int]
    outages: dict[str, list[Window]]
    degraded_gateways: dict[str, list[Window]]
    degraded_agencies: dict[str, list[Window]]
    portal_down: dict[str, list[tuple[int, int]]]

    def push(self, t: int, handler: Handler, payload: Any, key: StreamKey) -> None: ...

    def portal_down_until(self, province: str, t: int) -> int | None: ...

    def gateway_down(self, province: str, gateway: str, t: int) -> bool: ...

    def agency_hold(self, province: str, agency: str, t: int) -> int | None: ...


# ------------------------------------------------------------------------------------------
# Streams
# ------------------------------------------------------------------------------------------


class Stream:
    """A Poisson arrival process with a rate that is constant over each 15-minute bucket."""

    feed: Feed

    def __init__(self, sim: SimulationState, profile: ProvinceProfile, name: str) -> None:
        self.sim = sim
        self.profile = profile
        self.province = profile.code
        self.key: StreamKey = (profile.code, self.feed)
        self.rng = random.Random(f"{sim.seed}/{profile.code}/{name}")
        self._bucket_start = -1
        self._components: tuple[float, ...] = ()
        self._total = 0.0
        self._day_strings: dict[int, str] = {}
        self.heap = sim.heap
        self.seq = sim.seq
        self._arrive = self.arrive  # one bound method, not one per arrival
        districts = profile.province.districts
        self.districts = districts
        self._district_cum, self._district_total = cumulative([d.population for d in districts])

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
                self.sim.push(first, self.arrive, None, self.key)

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
            heapq.heappush(self.heap, (nxt, next(self.seq), self._arrive, None, self.key))

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
        return pick(self.districts, self._district_cum, self._district_total, u)


_NORMAL = NormalDist()


def normal_quantile(u: float) -> float:
    """A standard normal quantile from one uniform (a fixed number of draws per lifecycle)."""
    return _NORMAL.inv_cdf(min(max(u, 1e-9), 1.0 - 1e-9))


def lognormal(u: float, median: float, sigma: float) -> float:
    return median * math.exp(sigma * normal_quantile(u))


MAX_LATENESS_MS = 5 * WORKDAY_MS
"""Late dossiers and reports are finished at most this much working time after their due date
(the backlog gets chased), so anything due more than 8 calendar days ago is final."""


def lateness(u: float, mean: float) -> int:
    """Working time past the due date: 30 min plus an exponential tail, capped."""
    return min(MAX_LATENESS_MS, 30 * MINUTE_MS + int(-math.log(1.0 - u) * mean))


def ratings(unsatisfied: float, happy: tuple[float, float, float]) -> Choice:
    """Ratings 1-5 with ``unsatisfied`` on 1-2 and the rest spread like ``happy`` on 3-5."""
    total = sum(happy)
    rest = [(1.0 - unsatisfied) * w / total for w in happy]
    return Choice(list(zip(range(1, 6), [unsatisfied * 0.4, unsatisfied * 0.6, *rest],
                            strict=True)))


RATINGS_LATE = Choice(list(zip(range(1, 6), (0.20, 0.25, 0.30, 0.17, 0.08), strict=True)))
RATINGS_REJECTED = Choice(list(zip(range(1, 6), (0.25, 0.25, 0.30, 0.12, 0.08), strict=True)))


class Dossier:
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
