"""A deterministic rain model per province: what drives flooding reports.

Every local day gets its own random generator, seeded from (seed, province, day), so the
weather of a day never depends on which days were asked about before, nor on the step size
of the simulation. In the rainy season an afternoon shower is likely and a storm (heavy rain
for a few hours, any time from noon to late evening) happens on some days; in the dry season
both are rare. ``intensity`` is 0 when dry, about 0.2-0.6 in a shower and 1 or more in a
storm; it decays linearly for ``TAIL_MS`` after the rain stops, because streets stay
flooded for a while.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from simulators.worktime import HOUR_MS, MINUTE_MS, day_start, local_date, local_day, to_ms

TAIL_MS = 90 * MINUTE_MS
STORM_INTENSITY = 1.0
"""A spell at or above this intensity is a storm."""


@dataclass(frozen=True, slots=True)
class Climate:
    """Rain statistics of a province (assumptions from the regional climate, not measurements).

    The South (Ba Ria-Vung Tau, Binh Duong) has its rainy season from May to November with
    short, heavy afternoon showers; the North-East coast (Quang Ninh) from May to October,
    with tropical storms mostly from July to September.
    """

    rainy_months: frozenset[int]
    shower_probability: float
    """Chance of an afternoon shower on a rainy-season day."""
    storm_probability: float
    """Chance of a storm on a day of the storm season."""
    storm_months: frozenset[int] | None = None
    """The storm season (default: the rainy season)."""
    dry_shower_probability: float = 0.05
    dry_storm_probability: float = 0.005
    """Chances outside the seasons."""


@dataclass(frozen=True, slots=True)
class Spell:
    """One period of rain, in epoch milliseconds."""

    start: int
    end: int
    intensity: float

    @property
    def is_storm(self) -> bool:
        return self.intensity >= STORM_INTENSITY


class Weather:
    """The rain over one province, generated lazily day by day and cached."""

    def __init__(self, climate: Climate, *, seed: int, province: str) -> None:
        self.climate = climate
        self._key = f"{seed}/{province}/weather"
        self._days: dict[int, tuple[Spell, ...]] = {}

    def spells(self, day: int) -> tuple[Spell, ...]:
        """The rain that starts on local day ``day`` (it may run past midnight)."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        rng = random.Random(f"{self._key}/{day}")
        # Always the same draws in the same order, whatever the season.
        u_shower, u_storm = rng.random(), rng.random()
        shower_start = 13 * HOUR_MS + int(rng.random() * 4 * HOUR_MS)
        shower_length = 30 * MINUTE_MS + int(rng.random() * 90 * MINUTE_MS)
        shower_intensity = 0.2 + 0.4 * rng.random()
        storm_start = 12 * HOUR_MS + int(rng.random() * 10 * HOUR_MS)
        storm_length = 2 * HOUR_MS + int(rng.random() * 4 * HOUR_MS)
        storm_intensity = STORM_INTENSITY + 0.6 * rng.random()

        climate = self.climate
        month = local_date(day).month
        rainy = month in climate.rainy_months
        stormy = month in (climate.storm_months or climate.rainy_months)
        p_shower = climate.shower_probability if rainy else climate.dry_shower_probability
        p_storm = climate.storm_probability if stormy else climate.dry_storm_probability
        base = day_start(day)
        spells = []
        if u_shower < p_shower:
            start = base + shower_start
            spells.append(Spell(start, start + shower_length, shower_intensity))
        if u_storm < p_storm:
            start = base + storm_start
            spells.append(Spell(start, start + storm_length, storm_intensity))
        result = tuple(spells)
        if len(self._days) > 4096:  # a long live run: keep memory flat
            self._days.clear()
        self._days[day] = result
        return result

    def intensity(self, t: int) -> float:
        """Rain intensity at ``t`` (epoch ms), with the post-rain tail."""
        day = local_day(t)
        best = 0.0
        for d in (day - 1, day):
            for spell in self.spells(d):
                if spell.start <= t < spell.end:
                    value = spell.intensity
                elif spell.end <= t < spell.end + TAIL_MS:
                    value = spell.intensity * (1.0 - (t - spell.end) / TAIL_MS)
                else:
                    continue
                if value > best:
                    best = value
        return best

    def storms(self, start: datetime, end: datetime) -> list[Spell]:
        """The storms that start in [start, end)."""
        lo, hi = to_ms(start), to_ms(end)
        found = []
        for day in range(local_day(lo) - 1, local_day(hi) + 1):
            for spell in self.spells(day):
                if spell.is_storm and lo <= spell.start < hi:
                    found.append(spell)
        return found
