"""The field-report stream: citizens' reports by category and channel, with their deadlines
and handling, the rain that drives flooding reports, and the flood scenario's surge."""

from __future__ import annotations

import math
from typing import Any

from ioc.models import (
    Event,
    Feed,
    IncidentCategory,
    IncidentEvent,
    IncidentStatus,
    ReportChannel,
)
from simulators import patterns
from simulators.profiles import (
    CATEGORY_LATE,
    COMMUNES,
    ProvinceProfile,
    commune_title,
    district_title,
)
from simulators.streams import (
    RATINGS_LATE,
    SOURCES,
    Choice,
    SimulationState,
    Stream,
    lateness,
    local_datetime,
    ratings,
    uuid_from,
)
from simulators.weather import Weather
from simulators.worktime import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    WORKDAY_MS,
    add_work,
    work_between,
)

FLOOD_SURGE_PER_HOUR = 24.0
"""Flooding reports per hour (times ``scale``) from the district of a ``flood`` scenario."""

FLOOD_BASE_SHARE = 0.06
"""Share of field reports about flooding in dry weather."""

FLOOD_RAIN_FACTOR = 10.0
"""Flooding reports are multiplied by ``1 + FLOOD_RAIN_FACTOR * intensity**2`` in the rain."""


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


class IncidentStream(Stream):
    """Field reports, with weather-driven flooding; with ``surge`` a flood scenario's stream."""

    feed = Feed.INCIDENT

    N_UNIFORMS = 16
    N_IDS = 5

    def __init__(
        self, sim: SimulationState, profile: ProvinceProfile, weather: Weather,
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
        self._categories = Choice(_CATEGORY_WEIGHTS)
        self._channels = Choice(profile.report_channels)
        mix = {c: w * (1.0 - FLOOD_BASE_SHARE) for c, w in _CATEGORY_WEIGHTS}
        mix[Cat.FLOODING] = FLOOD_BASE_SHARE
        self._late_base = profile.incident_late_base(mix)
        unhappy = 1.0 - profile.incident_satisfaction / profile.incident_on_time_rate
        self._ratings_on_time = ratings(unhappy, _HAPPY_REPORT)
        self._places: dict[str, list[tuple[str, str]]] = {}
        if surge is None:
            self._prefix = f"PA-{profile.abbr}-"
        else:  # each flood scenario numbers its own reports: PA-BD-L1-240902-00001
            sim.surges[profile.code] = sim.surges.get(profile.code, 0) + 1
            self._prefix = f"PA-{profile.abbr}-L{sim.surges[profile.code]}-"
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
                    resolved = add_work(due, lateness(u[13], WORKDAY_MS))
                satisfaction = RATINGS_LATE(u[14])
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
        report.reported_at = local_datetime(reported)
        report.due_at = local_datetime(due)
        number = self.number(self._numbers, "", reported, t)
        report.report_id = f"{self._prefix}{self.yymmdd(reported)}-{number:05d}"
        self.sim.push(reported, self.step, report, self.key)
        return None

    def step(self, t: int, report: _Report, build: bool) -> Event | None:
        index = report.index
        steps = report.steps
        _, status, event_id, satisfaction = steps[index]
        report.index = index + 1
        if index + 1 < len(steps):
            self.sim.push(steps[index + 1][0], self.step, report, self.key)
        if not build:
            return None
        return IncidentEvent(
            event_id=uuid_from(event_id),
            occurred_at=local_datetime(t),
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
