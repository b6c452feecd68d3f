"""Province profiles: the loads, shares and targets the simulator reproduces, with their sources.

A ``ProvinceProfile`` says how much of each feed a province produces at ``scale = 1``, the
shares it lands on (its targets: ``ioc.domain.targets``, published figures or stated assumptions, so
the wall screens judge the simulated province by the same figures), and how its agencies,
procedure sectors (lĩnh vực), districts, payment gateways and report categories differ from
each other. The engine draws every event so that, over whole weeks, the generated data lands on
the targets; the tests check it.

Heterogeneity is calibrated, not random. Each breakdown has relative factors (``*_LATE`` for
dossiers and field reports, ``*_FAILURE`` for payments): a dossier is late with probability
``base x sector factor x (department factor | district factor)``, where ``base`` is solved so
that the province's mix (procedure weights x district populations) lands on its on-time
target; payments fail with ``base x gateway factor x method factor`` over the province's
payment mix. So land, construction and investment dossiers are where lateness concentrates
(as the provinces' reports say), one district and one department lag in each province, one
e-wallet gateway fails more than the others, and the province totals stay on target. Every
factor is an assumption.

Reference data is realistic but not exhaustive: each district lists a few real communes and
wards (not all 177 of Quang Ninh's), the procedures are a representative set of national
procedures (Quang Ninh's portal offers 1,605 public services: the simulated ones carry most of
the volume, the rest are rare) with codes in the national database's format (``x.xxxxxx``;
the numbers are illustrative, not looked up), and fees are the usual national or provincial
fees in whole VND.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from ioc.domain.geo import PROVINCES, Province
from ioc.domain.names import GATEWAYS
from ioc.domain.targets import TARGETS
from ioc.models import AgencyLevel, IncidentCategory, PaymentChannel, PaymentMethod, ReportChannel
from simulators.weather import Climate


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency that handles dossiers: a Sở, a district or a commune People's Committee."""

    code: str
    name: str
    level: AgencyLevel
    district: str | None = None
    """The district it serves (None for a provincial department)."""

    @property
    def department(self) -> str | None:
        """For a provincial department, its code without the province (``STNMT``)."""
        return self.code.rsplit(".", 1)[1] if self.level is AgencyLevel.PROVINCE else None


@dataclass(frozen=True, slots=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) as offered on the portal."""

    code: str
    name: str
    level: AgencyLevel
    processing_days: float
    """Legal processing time in working days, counted from receipt (at most
    ``MAX_PROCESSING_DAYS``: a warm-up of 4 weeks then holds every kind of dossier)."""
    weight: float
    """Relative share of the province's dossiers."""
    sector: str
    """Its sector (lĩnh vực), a code of ``ioc.domain.names.DOSSIER_SECTORS``."""
    fee_vnd: int = 0
    """Fee (phí/lệ phí) in VND; 0 when the procedure is free."""
    fee_max_vnd: int = 0
    """For per-page or per-item fees: the fee is a multiple of ``fee_vnd`` up to this."""
    department: str | None = None
    """For province-level procedures, the department (Sở) code suffix that handles it."""


@dataclass(frozen=True, slots=True)
class Gateway:
    """A payment gateway or counter terminal; ``slug`` is what an outage scenario targets."""

    slug: str
    channel: PaymentChannel
    methods: frozenset[PaymentMethod]
    weight: float
    """Relative share among the gateways offering a method, for bills and other payments."""
    public_service_weight: float
    """The same for public-service fees (the portal's own payment platform dominates)."""
    latency_ms: int
    """Median time to confirm a payment."""

    @property
    def name(self) -> str:
        return GATEWAYS[self.slug].vi if self.slug in GATEWAYS else self.slug


@dataclass(frozen=True)
class ProvinceProfile:
    """Everything that makes one province's feeds look like that province's."""

    province: Province
    abbr: str
    """Short code used in ids (dossier, report and transaction numbers)."""

    # --- dossiers (hồ sơ TTHC) ---
    dossiers_per_day: float
    """Mean dossiers per calendar day of an ordinary week (working days carry most)."""
    online_share: float
    """Share of dossiers submitted online, fully or partly."""
    fully_online_share_of_online: float
    """Of online dossiers, the share processed fully online (toàn trình)."""
    dossier_on_time_rate: float
    """Share of resolved (not rejected) dossiers resolved by their due_at."""
    dossier_rejection_rate: float
    supplement_rate: float
    """Share of dossiers (of procedures of 3 days or more) asked for additional documents."""
    fee_share: float
    """Share of dossiers that carry a fee (the rest are free procedures or exempt)."""
    online_payment_rate: float
    """Share of successful public_service payments made through channel=online."""
    digitised_share: float
    """Share of dossiers received and handled electronically: every online dossier, and the
    counter dossiers the one-stop desk scans on receipt."""
    data_reuse_share: float
    status_published_share: float
    result_digitised_share: float
    """Of the resolved dossiers, the share whose result is issued electronically."""
    dossier_satisfaction: float
    """Decision 766's dossier satisfaction: of the dossiers due, the share resolved on time and
    not rated 1-2 out of 5 (late ones count as not satisfied)."""
    rating_share: float
    """Share of finished dossiers whose applicant rates the handling."""

    # --- payments (bills and other sectors; public-service fees come with the dossiers) ---
    payments_per_day: float
    """Mean payments per day over a month, all sectors except public_service."""
    payment_success_rate: float
    """Of the settled payments, the share that succeeded (a pending one counts once settled)."""
    utility_online_share: float
    """Share of electricity, water and telecom payments made online."""

    # --- field reports (phản ánh hiện trường) ---
    incidents_per_day: float
    """Mean reports per day in dry weather; storms add flooding reports on top."""
    incident_on_time_rate: float
    """Share of the reports due (not rejected) resolved within their deadline."""
    incident_satisfaction: float
    """Decision 766's satisfaction with report handling: of the reports due, the share
    resolved on time and not rated 1-2 out of 5."""
    incident_rejection_rate: float
    report_channels: tuple[tuple[ReportChannel, float], ...]

    climate: Climate
    agencies: tuple[Agency, ...]
    procedures: tuple[Procedure, ...]
    gateways: tuple[Gateway, ...]
    handling_units: dict[str, str] = field(default_factory=dict, hash=False)
    """Per district code: the unit handling urban-order reports (Phòng QLĐT or KT-HT)."""
    saturday_desks: bool = False
    """The one-stop desks (the Public Administration Centre, the district and commune desks)
    receive dossiers on Saturday mornings."""
    district_late: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Late-odds factor per district (district and commune agencies, and field reports)."""
    department_late: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Late-odds factor per provincial department (``STNMT``, ...)."""
    gateway_failure: Mapping[str, float] = field(default_factory=dict, hash=False)
    """Failure-odds factor per gateway slug."""

    def __post_init__(self) -> None:
        for name in (
            "online_share", "fully_online_share_of_online", "dossier_on_time_rate",
            "dossier_rejection_rate", "supplement_rate", "fee_share", "online_payment_rate",
            "digitised_share", "data_reuse_share", "status_published_share",
            "result_digitised_share", "dossier_satisfaction", "rating_share",
            "payment_success_rate", "utility_online_share", "incident_on_time_rate",
            "incident_satisfaction", "incident_rejection_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{self.province.code}: {name} must be in [0, 1], not {value}")
        for name in ("dossiers_per_day", "payments_per_day", "incidents_per_day"):
            if getattr(self, name) < 0:
                raise ValueError(f"{self.province.code}: {name} must not be negative")
        # Fully online dossiers pay online, so the online payment rate cannot be below their
        # share; the other dossiers pay online with whatever probability closes the gap.
        if self.online_payment_rate < self.fully_online_share - 1e-9:
            raise ValueError(
                f"{self.province.code}: online_payment_rate {self.online_payment_rate} is below "
                f"the fully online share {self.fully_online_share:.3f} (those always pay online)"
            )
        if self.fee_share > self.feeable_share + 1e-9:
            raise ValueError(
                f"{self.province.code}: fee_share {self.fee_share} exceeds the share of "
                f"dossiers whose procedure has a fee ({self.feeable_share:.3f})"
            )
        if self.digitised_share < self.online_share - 1e-9:
            raise ValueError(
                f"{self.province.code}: digitised_share {self.digitised_share} is below the "
                f"online share {self.online_share} (online dossiers are electronic)"
            )
        if self.dossier_satisfaction > self.dossier_on_time_rate + 1e-9:
            raise ValueError(f"{self.province.code}: a late dossier is not a satisfied one")
        if self.incident_satisfaction > self.incident_on_time_rate + 1e-9:
            raise ValueError(f"{self.province.code}: a late report is not a satisfied one")
        if any(p.processing_days > MAX_PROCESSING_DAYS for p in self.procedures):
            raise ValueError(
                f"{self.province.code}: a procedure is longer than {MAX_PROCESSING_DAYS} days"
            )
        if not self.procedures or not self.gateways:
            raise ValueError(f"{self.province.code}: procedures and gateways must not be empty")
        known = {d.code for d in self.province.districts}
        if set(self.district_late) - known:
            raise ValueError(f"{self.province.code}: unknown districts in district_late")

    @property
    def code(self) -> str:
        return self.province.code

    @property
    def fully_online_share(self) -> float:
        """Share of all dossiers processed fully online."""
        return self.online_share * self.fully_online_share_of_online

    @property
    def feeable_share(self) -> float:
        """Share of dossiers whose procedure has a fee at all."""
        total = sum(p.weight for p in self.procedures)
        return sum(p.weight for p in self.procedures if p.fee_vnd > 0) / total

    @property
    def other_online_payment_probability(self) -> float:
        """How likely a dossier that is not fully online pays its fee online."""
        fully = self.fully_online_share
        if fully >= 1.0:
            return 1.0
        return min(1.0, max(0.0, (self.online_payment_rate - fully) / (1.0 - fully)))

    @property
    def counter_digitised_probability(self) -> float:
        """How likely the desk scans a counter dossier on receipt."""
        if self.online_share >= 1.0:
            return 1.0
        return (self.digitised_share - self.online_share) / (1.0 - self.online_share)

    def departments(self) -> tuple[Agency, ...]:
        return tuple(a for a in self.agencies if a.level is AgencyLevel.PROVINCE)

    def late_factor(self, procedure: Procedure, district: str) -> float:
        """The late odds of a dossier of ``procedure`` from ``district``, relative to base: its
        sector's, its department's for a province-level one, and its district's (district and
        commune agencies, and the departments' district branches, such as the land registration
        office's, which handle the district's province-level dossiers)."""
        factor = SECTOR_LATE.get(procedure.sector, 1.0) * self.district_late.get(district, 1.0)
        if procedure.level is AgencyLevel.PROVINCE:
            factor *= self.department_late.get(procedure.department or "", 1.0)
        return factor

    def dossier_late_base(self) -> float:
        """The base late probability that lands the province's mix on its on-time target."""
        procedures = sum(p.weight for p in self.procedures)
        people = sum(d.population for d in self.province.districts)
        expected = sum(
            p.weight / procedures * d.population / people * self.late_factor(p, d.code)
            for p in self.procedures
            for d in self.province.districts
        )
        return (1.0 - self.dossier_on_time_rate) / expected

    def incident_late_base(self, category_weights: Mapping[IncidentCategory, float]) -> float:
        """The same for field reports, over a category mix (weights summing to 1)."""
        people = sum(d.population for d in self.province.districts)
        expected = sum(
            w * CATEGORY_LATE.get(c, 1.0) * d.population / people
            * self.district_late.get(d.code, 1.0)
            for c, w in category_weights.items()
            for d in self.province.districts
        )
        return (1.0 - self.incident_on_time_rate) / expected


# --------------------------------------------------------------------------------------------
# Reference data shared by the provinces
# --------------------------------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    """``Thắng Tam`` -> ``thang-tam``."""
    text = text.replace("đ", "d").replace("Đ", "D")
    folded = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return "-".join("".join(c if c.isalnum() else " " for c in plain.lower()).split())


DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("STP", "Sở Tư pháp"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("SXD", "Sở Xây dựng"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SYT", "Sở Y tế"),
    ("SCT", "Sở Công Thương"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
)

EXTENDED_HOURS_DEPARTMENTS = frozenset({"STNMT"})
"""Departments whose back offices work until 18:30 and on Saturday mornings (assumption: the
land registration offices clearing their backlog)."""

P, D, C = AgencyLevel.PROVINCE, AgencyLevel.DISTRICT, AgencyLevel.COMMUNE
MAX_PROCESSING_DAYS = 20


def _proc(code: str, name: str, level: AgencyLevel, days: float, weight: float, sector: str,
          fee: int = 0, fee_max: int = 0, department: str | None = None) -> Procedure:
    return Procedure(code, name, level, days, weight, sector, fee, fee_max, department)


PROCEDURES: tuple[Procedure, ...] = (
    # commune level (UBND xã, phường, thị trấn): the bulk of the volume
    _proc("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm "
          "quyền của Việt Nam cấp hoặc chứng nhận", C, 0.5, 20, "authentication", 2_000, 30_000),
    _proc("2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", C, 0.5, 6,
          "authentication", 10_000),
    _proc("2.001019", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, quyền "
          "sử dụng đất và nhà ở", C, 2, 4, "authentication", 50_000),
    _proc("1.001193", "Đăng ký khai sinh", C, 1, 10, "civil_status"),
    _proc("1.000894", "Đăng ký kết hôn", C, 1, 3, "civil_status"),
    _proc("1.000656", "Đăng ký khai tử", C, 1, 3, "civil_status"),
    _proc("1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân", C, 3, 5, "civil_status"),
    _proc("2.000635", "Cấp bản sao Trích lục hộ tịch", C, 1, 3, "civil_status", 8_000),
    _proc("1.000489", "Liên thông đăng ký khai sinh, đăng ký thường trú, cấp thẻ bảo hiểm y tế "
          "cho trẻ em dưới 6 tuổi", C, 5, 1.5, "civil_status"),
    _proc("1.001227", "Xác nhận hồ sơ đề nghị trợ giúp xã hội", C, 3, 0.8, "social_protection"),
    _proc("1.003003", "Hòa giải tranh chấp đất đai", C, 20, 0.3, "land"),
    # district level (UBND huyện, thị xã, thành phố)
    _proc("2.000720", "Cấp Giấy chứng nhận đăng ký hộ kinh doanh", D, 3, 4, "business_household",
          100_000),
    _proc("2.000575", "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", D, 3, 2,
          "business_household", 50_000),
    _proc("1.009994", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", D, 15, 3,
          "construction", 75_000),
    _proc("1.009995", "Cấp giấy phép sửa chữa, cải tạo đối với nhà ở riêng lẻ", D, 15, 0.8,
          "construction", 75_000),
    _proc("1.004946", "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu cho hộ gia đình, "
          "cá nhân", D, 20, 1.5, "land", 100_000),
    _proc("1.004199", "Chuyển mục đích sử dụng đất phải được phép của cơ quan nhà nước có thẩm "
          "quyền đối với hộ gia đình, cá nhân", D, 15, 0.8, "land", 100_000),
    _proc("1.001022", "Đăng ký kết hôn có yếu tố nước ngoài", D, 15, 0.5, "civil_status",
          1_000_000),
    _proc("1.001776", "Giải quyết chế độ trợ cấp xã hội hàng tháng đối với đối tượng bảo trợ xã "
          "hội", D, 20, 1, "social_protection"),
    _proc("1.010733", "Xác nhận kế hoạch bảo vệ môi trường", D, 10, 0.3, "environment"),
    _proc("2.000633", "Cấp Giấy phép bán lẻ rượu", D, 10, 0.3, "trade", 1_200_000),
    _proc("2.000282", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm đối với cơ sở "
          "kinh doanh dịch vụ ăn uống", D, 15, 0.4, "food_safety", 700_000),
    # province level (Sở)
    _proc("1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với "
          "đất do chuyển nhượng, tặng cho, thừa kế", P, 10, 10, "land", 30_000,
          department="STNMT"),
    _proc("1.004203", "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản "
          "khác gắn liền với đất", P, 7, 3, "land", 50_000, department="STNMT"),
    _proc("1.004269", "Xóa đăng ký thế chấp bằng quyền sử dụng đất, tài sản gắn liền với đất",
          P, 1, 2, "land", 20_000, department="STNMT"),
    _proc("1.004217", "Cấp Giấy chứng nhận quyền sử dụng đất cho tổ chức nhận chuyển nhượng",
          P, 20, 0.5, "land", 100_000, department="STNMT"),
    _proc("1.010727", "Cấp giấy phép môi trường", P, 20, 0.2, "environment", 6_000_000,
          department="STNMT"),
    _proc("2.001610", "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", P, 3, 2,
          "investment", 50_000, department="SKHDT"),
    _proc("2.002038", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", P, 3, 3, "investment",
          50_000, department="SKHDT"),
    _proc("2.001987", "Cấp Giấy chứng nhận đăng ký đầu tư đối với dự án không thuộc diện chấp "
          "thuận chủ trương đầu tư", P, 15, 0.3, "investment", department="SKHDT"),
    _proc("1.009645", "Chấp thuận chủ trương đầu tư của Ủy ban nhân dân cấp tỉnh", P, 20, 0.1,
          "investment", department="SKHDT"),
    _proc("2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài đang cư "
          "trú tại Việt Nam", P, 10, 3, "judicial_records", 200_000, department="STP"),
    _proc("1.002804", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", P, 5, 4,
          "road_transport", 135_000, department="SGTVT"),
    _proc("1.002820", "Cấp giấy phép lái xe quốc tế", P, 5, 0.3, "road_transport", 135_000,
          department="SGTVT"),
    _proc("1.000105", "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt "
          "Nam", P, 5, 1, "labour", 600_000, department="SLDTBXH"),
    _proc("1.001978", "Giải quyết hưởng trợ cấp thất nghiệp", P, 20, 1, "labour",
          department="SLDTBXH"),
    _proc("1.004562", "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", P, 20, 0.5, "health",
          360_000, department="SYT"),
    _proc("1.009972", "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II",
          P, 20, 0.5, "construction", 150_000, department="SXD"),
    _proc("1.009793", "Thẩm định thiết kế xây dựng triển khai sau thiết kế cơ sở", P, 20, 0.3,
          "construction", department="SXD"),
    _proc("2.000591", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", P, 20, 0.5,
          "food_safety", 1_000_000, department="SCT"),
    _proc("2.000190", "Cấp Giấy chứng nhận cửa hàng đủ điều kiện bán lẻ xăng dầu", P, 15, 0.2,
          "trade", 1_200_000, department="SCT"),
    _proc("1.005092", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", P, 1, 1, "education",
          department="SGDDT"),
    _proc("1.005095", "Công nhận văn bằng tốt nghiệp các cấp học phổ thông do cơ sở nước ngoài "
          "cấp", P, 20, 0.2, "education", department="SGDDT"),
)

SECTOR_LATE: dict[str, float] = {
    "land": 4.0, "construction": 3.0, "investment": 2.5, "environment": 2.0, "food_safety": 1.6,
    "trade": 1.4, "health": 1.3, "business_household": 1.2, "social_protection": 1.2,
    "labour": 1.0, "judicial_records": 0.8, "road_transport": 0.5, "education": 0.5,
    "civil_status": 0.3, "authentication": 0.2,
}
"""Late odds by procedure sector (assumption: land, construction and investment dossiers are
where the provinces' reports find the late ones; civil status and authentication are done the
same day)."""

DEPARTMENT_LATE: dict[str, float] = {
    "STNMT": 1.3, "SXD": 1.2, "SKHDT": 0.9, "STP": 1.0, "SGTVT": 0.8, "SLDTBXH": 1.1,
    "SYT": 1.0, "SCT": 1.0, "SGDDT": 0.8,
}
"""Late odds by department, on top of their sectors' (assumption); each province overrides
one as its laggard."""

CATEGORY_LATE: dict[IncidentCategory, float] = {
    IncidentCategory.LAND: 4.0, IncidentCategory.URBAN_ORDER: 2.5,
    IncidentCategory.ENVIRONMENT: 1.8, IncidentCategory.ADMINISTRATIVE_PROCEDURE: 1.5,
    IncidentCategory.INFRASTRUCTURE: 1.3, IncidentCategory.HEALTH: 1.0,
    IncidentCategory.TREES: 0.8, IncidentCategory.WATER_SUPPLY: 0.8,
    IncidentCategory.PUBLIC_TRANSPORT: 0.8, IncidentCategory.FLOODING: 0.8,
    IncidentCategory.PUBLIC_LIGHTING: 0.7, IncidentCategory.TRAFFIC: 0.7,
    IncidentCategory.TELECOM: 0.5, IncidentCategory.SECURITY: 0.5,
    IncidentCategory.ELECTRICITY: 0.4,
}
"""Late odds of field reports by category (assumption: land and urban-order disputes take
longest; the utilities fix outages quickly)."""

GATEWAY_FAILURE: dict[str, float] = {
    "vnpay": 0.8, "napas": 1.0, "momo": 0.9, "zalopay": 1.1, "vnpt-money": 2.6,
    "viettel-money": 1.2, "counter-pos": 1.0, "counter-cash": 0.15,
}
"""Failure odds by gateway (assumption; the province's own platform is 1.0): one e-wallet
lags, cash at the counter almost never fails."""

SECTOR_FAILURE: dict[str, float] = {
    "healthcare": 2.4, "transport": 1.2, "education": 0.8, "public_service": 1.0,
    "electricity": 0.9, "water": 0.9, "telecom": 1.0,
}
"""Failure odds by payment sector (assumption: hospital fees, paid by card at busy counters
and by transfers of large amounts, fail most)."""

METHOD_FAILURE: dict[PaymentMethod, float] = {
    PaymentMethod.BANK_TRANSFER: 1.0, PaymentMethod.QR: 1.0, PaymentMethod.E_WALLET: 1.0,
    PaymentMethod.CARD: 1.4, PaymentMethod.CASH: 1.0,
}
"""Failure odds by method (assumption: cards are declined more often)."""

# A few real communes and wards per district; enough for realistic agency names and titles.
COMMUNES: dict[str, tuple[str, ...]] = {
    # Ba Ria-Vung Tau
    "vung-tau": (
        "Phường Thắng Tam", "Phường Thắng Nhì", "Phường Rạch Dừa", "Phường Nguyễn An Ninh",
    ),
    "ba-ria": ("Phường Phước Hiệp", "Phường Phước Trung", "Phường Long Toàn", "Xã Hòa Long"),
    "phu-my": ("Phường Phú Mỹ", "Phường Tân Phước", "Phường Mỹ Xuân", "Xã Châu Pha"),
    "chau-duc": ("Thị trấn Ngãi Giao", "Xã Kim Long", "Xã Bình Ba", "Xã Suối Nghệ"),
    "xuyen-moc": ("Thị trấn Phước Bửu", "Xã Bưng Riềng", "Xã Bình Châu", "Xã Hòa Hiệp"),
    "long-dien": ("Thị trấn Long Điền", "Thị trấn Long Hải", "Xã Phước Hưng", "Xã Tam Phước"),
    "dat-do": ("Thị trấn Đất Đỏ", "Thị trấn Phước Hải", "Xã Long Mỹ", "Xã Phước Hội"),
    "con-dao": (),  # Côn Đảo has no commune level: the district handles commune procedures
    # Binh Duong
    "thu-dau-mot": (
        "Phường Phú Cường", "Phường Hiệp Thành", "Phường Phú Hòa", "Phường Chánh Nghĩa",
    ),
    "di-an": ("Phường Dĩ An", "Phường Đông Hòa", "Phường Tân Đông Hiệp", "Phường An Bình"),
    "thuan-an": ("Phường Lái Thiêu", "Phường An Phú", "Phường Thuận Giao", "Phường Bình Hòa"),
    "tan-uyen": (
        "Phường Uyên Hưng", "Phường Tân Phước Khánh", "Phường Khánh Bình", "Phường Thái Hòa",
    ),
    "ben-cat": ("Phường Mỹ Phước", "Phường Thới Hòa", "Phường Chánh Phú Hòa", "Phường Tân Định"),
    "bau-bang": ("Thị trấn Lai Uyên", "Xã Lai Hưng", "Xã Trừ Văn Thố", "Xã Long Nguyên"),
    "bac-tan-uyen": ("Thị trấn Tân Thành", "Thị trấn Tân Bình", "Xã Thường Tân", "Xã Đất Cuốc"),
    "dau-tieng": ("Thị trấn Dầu Tiếng", "Xã Minh Hòa", "Xã Long Hòa", "Xã Thanh Tuyền"),
    "phu-giao": ("Thị trấn Phước Vĩnh", "Xã An Bình", "Xã Vĩnh Hòa", "Xã Tân Hiệp"),
    # Quang Ninh
    "ha-long": ("Phường Bãi Cháy", "Phường Hồng Gai", "Phường Cao Xanh", "Phường Hà Khánh"),
    "cam-pha": ("Phường Cẩm Phú", "Phường Cẩm Trung", "Phường Cửa Ông", "Phường Mông Dương"),
    "uong-bi": ("Phường Quang Trung", "Phường Thanh Sơn", "Phường Phương Đông", "Phường Vàng Danh"),
    "mong-cai": ("Phường Trần Phú", "Phường Ka Long", "Phường Hải Hòa", "Phường Trà Cổ"),
    "dong-trieu": ("Phường Đông Triều", "Phường Mạo Khê", "Phường Kim Sơn", "Xã Bình Khê"),
    "quang-yen": ("Phường Quảng Yên", "Phường Minh Thành", "Phường Đông Mai", "Xã Tiền Phong"),
    "van-don": ("Thị trấn Cái Rồng", "Xã Hạ Long", "Xã Đông Xá", "Xã Quan Lạn"),
    "tien-yen": ("Thị trấn Tiên Yên", "Xã Đông Ngũ", "Xã Hải Lạng", "Xã Đông Hải"),
    "hai-ha": ("Thị trấn Quảng Hà", "Xã Quảng Thành", "Xã Quảng Long", "Xã Đường Hoa"),
    "dam-ha": ("Thị trấn Đầm Hà", "Xã Quảng Tân", "Xã Tân Bình", "Xã Đại Bình"),
    "binh-lieu": ("Thị trấn Bình Liêu", "Xã Đồng Văn", "Xã Hoành Mô", "Xã Lục Hồn"),
    "ba-che": ("Thị trấn Ba Chẽ", "Xã Thanh Sơn", "Xã Đạp Thanh", "Xã Nam Sơn"),
    "co-to": ("Thị trấn Cô Tô", "Xã Đồng Tiến", "Xã Thanh Lân"),
}

# The kind of district-level unit (it names its People's Committee and its offices).
CITY, TOWN, RURAL = "thành phố", "thị xã", "huyện"
DISTRICT_KIND: dict[str, str] = {
    "vung-tau": CITY, "ba-ria": CITY, "phu-my": TOWN, "chau-duc": RURAL, "xuyen-moc": RURAL,
    "long-dien": RURAL, "dat-do": RURAL, "con-dao": RURAL,
    "thu-dau-mot": CITY, "di-an": CITY, "thuan-an": CITY, "tan-uyen": CITY, "ben-cat": CITY,
    "bau-bang": RURAL, "bac-tan-uyen": RURAL, "dau-tieng": RURAL, "phu-giao": RURAL,
    "ha-long": CITY, "cam-pha": CITY, "uong-bi": CITY, "mong-cai": CITY, "dong-trieu": TOWN,
    "quang-yen": TOWN, "van-don": RURAL, "tien-yen": RURAL, "hai-ha": RURAL, "dam-ha": RURAL,
    "binh-lieu": RURAL, "ba-che": RURAL, "co-to": RURAL,
}


def district_title(province: Province, district: str) -> str:
    """``thành phố Vũng Tàu``."""
    return f"{DISTRICT_KIND[district]} {province.district(district).name_vi}"


def commune_title(commune: str) -> str:
    """``Phường Thắng Tam`` -> ``phường Thắng Tam`` (inside a sentence)."""
    return commune[0].lower() + commune[1:]


def _agencies(province: Province, abbr: str) -> tuple[Agency, ...]:
    agencies = [Agency(f"{abbr}.{code}", name, P) for code, name in DEPARTMENTS]
    for district in province.districts:
        dcode = district.code.upper()
        agencies.append(
            Agency(f"{abbr}.UBND.{dcode}", f"UBND {district_title(province, district.code)}",
                   D, district.code)
        )
        for commune in COMMUNES[district.code]:
            agencies.append(
                Agency(
                    f"{abbr}.UBND.{dcode}.{ascii_slug(commune).upper()}",
                    f"UBND {commune_title(commune)}, {district_title(province, district.code)}",
                    C,
                    district.code,
                )
            )
    return tuple(agencies)


def _handling_units(province: Province) -> dict[str, str]:
    units = {}
    for district in province.districts:
        office = (
            "Phòng Kinh tế và Hạ tầng"
            if DISTRICT_KIND[district.code] == RURAL
            else "Phòng Quản lý đô thị"
        )
        units[district.code] = f"{office} {district_title(province, district.code)}"
    return units


ON, OFF = PaymentChannel.ONLINE, PaymentChannel.COUNTER
M = PaymentMethod


def _gateways(platform: str) -> tuple[Gateway, ...]:
    """The gateways of a province: its public-service payment platform and the national ones."""
    return (
        Gateway(platform, ON, frozenset({M.BANK_TRANSFER, M.QR, M.CARD}), 0.05, 6.0, 1400),
        Gateway("vnpay", ON, frozenset({M.QR, M.CARD, M.BANK_TRANSFER}), 3.0, 1.0, 900),
        Gateway("napas", ON, frozenset({M.BANK_TRANSFER, M.CARD, M.QR}), 2.5, 1.0, 1100),
        Gateway("momo", ON, frozenset({M.E_WALLET}), 3.0, 1.0, 800),
        Gateway("zalopay", ON, frozenset({M.E_WALLET}), 1.5, 0.5, 850),
        Gateway("vnpt-money", ON, frozenset({M.E_WALLET}), 0.8, 1.0, 950),
        Gateway("viettel-money", ON, frozenset({M.E_WALLET}), 1.2, 1.0, 950),
        Gateway("counter-pos", OFF, frozenset({M.CARD, M.QR}), 1.0, 1.0, 2500),
        Gateway("counter-cash", OFF, frozenset({M.CASH}), 1.0, 1.0, 200),
    )


_SOUTH = Climate(  # assumption: southern monsoon, May-November afternoon showers
    rainy_months=frozenset(range(5, 12)), shower_probability=0.55, storm_probability=0.10
)
_NORTH_EAST = Climate(  # assumption: May-October rains, storms mostly July-September
    rainy_months=frozenset(range(5, 11)), shower_probability=0.40, storm_probability=0.12,
    storm_months=frozenset({7, 8, 9}),
)

_FROM_TARGETS = (
    "online_share", "fully_online_share_of_online", "dossier_on_time_rate", "digitised_share",
    "data_reuse_share", "status_published_share", "result_digitised_share",
    "dossier_satisfaction", "online_payment_rate", "utility_online_share",
    "payment_success_rate", "incident_on_time_rate", "incident_satisfaction",
)
"""The profile fields that are the province's targets (``ioc.domain.targets``)."""


def _profile(code: str, abbr: str, platform: str, **kwargs: object) -> ProvinceProfile:
    province = PROVINCES[code]
    targets = {name: TARGETS[code][name].value for name in _FROM_TARGETS}
    departments = {**DEPARTMENT_LATE, **kwargs.pop("department_laggard", {})}  # type: ignore[dict-item]
    return ProvinceProfile(
        province=province,
        abbr=abbr,
        agencies=_agencies(province, abbr),
        procedures=PROCEDURES,
        handling_units=_handling_units(province),
        gateways=_gateways(platform),
        department_late=departments,
        gateway_failure=GATEWAY_FAILURE,
        **targets,  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


PROFILES: dict[str, ProvinceProfile] = {
    p.code: p
    for p in (
        _profile(
            "ba-ria-vung-tau",
            "BRVT",
            "brvt-paygov",
            dossiers_per_day=3_000,  # assumption: ~1.1 million dossiers a year for 1.2 M people
            dossier_rejection_rate=0.02,  # assumption
            supplement_rate=0.06,  # assumption
            fee_share=0.50,  # assumption (free civil-status procedures, online fee exemptions)
            rating_share=0.35,  # assumption: a third of the applicants rate the handling
            payments_per_day=30_000,  # assumption: tens of thousands a day for 1.2 M people
            incidents_per_day=80,  # assumption
            incident_rejection_rate=0.08,  # assumption: duplicates and out-of-scope reports
            # assumption: the province promotes its field-report app (DESIGN.md)
            report_channels=(
                (ReportChannel.APP, 0.55), (ReportChannel.HOTLINE_1022, 0.25),
                (ReportChannel.WEB, 0.20),
            ),
            climate=_SOUTH,
            saturday_desks=False,  # assumption
            # assumption: Xuyên Mộc (large, rural) lags; Côn Đảo is an island
            district_late={
                "vung-tau": 0.8, "ba-ria": 0.9, "phu-my": 1.1, "chau-duc": 1.2,
                "xuyen-moc": 3.5, "long-dien": 1.0, "dat-do": 1.1, "con-dao": 1.8,
            },
            department_laggard={"SXD": 1.9},  # assumption: the construction department lags
        ),
        _profile(
            "binh-duong",
            "BD",
            "bd-paygov",
            dossiers_per_day=6_500,  # assumption: scaled by population (2.7 M)
            dossier_rejection_rate=0.025,  # assumption
            supplement_rate=0.07,  # assumption
            fee_share=0.50,  # assumption
            rating_share=0.40,  # assumption
            payments_per_day=70_000,  # assumption: scaled by population
            incidents_per_day=200,  # assumption: a busy 24/7 1022 hotline (DESIGN.md)
            incident_rejection_rate=0.10,  # assumption
            report_channels=(  # assumption: 1022 is the main intake (DESIGN.md)
                (ReportChannel.HOTLINE_1022, 0.50), (ReportChannel.APP, 0.35),
                (ReportChannel.WEB, 0.15),
            ),
            climate=_SOUTH,
            saturday_desks=True,  # assumption: the desks receive on Saturday mornings
            district_late={  # assumption: Bàu Bàng and Phú Giáo (rural, growing fast) lag
                "thu-dau-mot": 0.8, "di-an": 0.9, "thuan-an": 1.3, "tan-uyen": 1.0,
                "ben-cat": 1.1, "bau-bang": 3.0, "bac-tan-uyen": 1.4, "dau-tieng": 1.2,
                "phu-giao": 1.6,
            },
            department_laggard={"STNMT": 1.9},  # assumption: land registration lags
        ),
        _profile(
            "quang-ninh",
            "QN",
            "qn-paygov",
            dossiers_per_day=3_500,  # assumption: scaled by population (1.4 M)
            dossier_rejection_rate=0.015,  # assumption
            supplement_rate=0.05,  # assumption
            fee_share=0.50,  # assumption
            rating_share=0.45,  # assumption
            payments_per_day=35_000,  # assumption: scaled by population
            incidents_per_day=70,  # assumption
            incident_rejection_rate=0.07,  # assumption
            report_channels=(  # assumption
                (ReportChannel.APP, 0.45), (ReportChannel.HOTLINE_1022, 0.35),
                (ReportChannel.WEB, 0.20),
            ),
            climate=_NORTH_EAST,
            saturday_desks=True,  # assumption: the Public Administration Centres open Saturdays
            district_late={  # assumption: Vân Đồn (islands, a new economic zone) lags
                "ha-long": 0.8, "cam-pha": 0.9, "uong-bi": 0.9, "mong-cai": 1.0,
                "dong-trieu": 1.1, "quang-yen": 1.0, "van-don": 4.0, "tien-yen": 1.2,
                "hai-ha": 1.1, "dam-ha": 1.2, "binh-lieu": 1.7, "ba-che": 1.5, "co-to": 1.3,
            },
            department_laggard={"SLDTBXH": 2.0},  # assumption: labour permits lag
        ),
    )
}
