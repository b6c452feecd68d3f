"""Province profiles: the loads, shares and targets the simulator reproduces, with their sources.

A ``ProvinceProfile`` says how much of each feed a province produces at ``scale = 1`` and what
its published figures are (online share, on-time rates, online payment rate, ...). The engine
draws every event so that, over whole weeks, the generated data lands on these figures; the
tests check it. Figures from DESIGN.md are marked "DESIGN.md"; every other figure is an
assumption and says so.

Reference data is realistic but not exhaustive: each district lists a few real communes and
wards (not all 177 of Quang Ninh's), procedure names are the national procedure names with
codes in the national database's format (``x.xxxxxx``; the numbers are illustrative, not
looked up), and fees are the usual national or provincial fees in whole VND.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from ioc.geo import PROVINCES, Province
from ioc.models import AgencyLevel, PaymentChannel, PaymentMethod, ReportChannel
from simulators.weather import Climate


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency that handles dossiers: a Sở, a district or a commune People's Committee."""

    code: str
    name: str
    level: AgencyLevel
    district: str | None = None
    """The district it serves (None for a provincial department)."""


@dataclass(frozen=True, slots=True)
class Procedure:
    """An administrative procedure (thủ tục hành chính) as offered on the portal."""

    code: str
    name: str
    level: AgencyLevel
    processing_days: float
    """Legal processing time in working days, counted from receipt."""
    weight: float
    """Relative share of the province's dossiers."""
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
    name: str
    channel: PaymentChannel
    methods: frozenset[PaymentMethod]
    weight: float
    """Relative share among the gateways offering a method, for bills and other payments."""
    public_service_weight: float
    """The same for public-service fees (the portal's own payment platform dominates)."""
    latency_ms: int
    """Median time to confirm a payment."""


@dataclass(frozen=True)
class ProvinceProfile:
    """Everything that makes one province's feeds look like that province's."""

    province: Province
    abbr: str
    """Short code used in ids (dossier, report and transaction numbers)."""

    # --- dossiers (hồ sơ TTHC) ---
    dossiers_per_day: float
    """Mean dossiers per calendar day (weekdays carry most of them)."""
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

    # --- payments (bills and other sectors; public-service fees come with the dossiers) ---
    payments_per_day: float
    """Mean payments per day over a month, all sectors except public_service."""
    payment_success_rate: float
    utility_online_share: float
    """Share of electricity, water and telecom payments made online."""

    # --- field reports (phản ánh hiện trường) ---
    incidents_per_day: float
    """Mean reports per day in dry weather; storms add flooding reports on top."""
    incident_on_time_rate: float
    """Share of resolved reports resolved within the 5-working-day deadline."""
    incident_rejection_rate: float
    report_channels: tuple[tuple[ReportChannel, float], ...]

    climate: Climate
    agencies: tuple[Agency, ...]
    procedures: tuple[Procedure, ...]
    gateways: tuple[Gateway, ...]
    handling_units: dict[str, str] = field(default_factory=dict, hash=False)
    """Per district code: the unit handling urban-order reports (Phòng QLĐT or KT-HT)."""

    def __post_init__(self) -> None:
        for name in (
            "online_share", "fully_online_share_of_online", "dossier_on_time_rate",
            "dossier_rejection_rate", "supplement_rate", "fee_share", "online_payment_rate",
            "payment_success_rate", "utility_online_share", "incident_on_time_rate",
            "incident_rejection_rate",
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
        if not self.procedures or not self.gateways:
            raise ValueError(f"{self.province.code}: procedures and gateways must not be empty")

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

    def departments(self) -> tuple[Agency, ...]:
        return tuple(a for a in self.agencies if a.level is AgencyLevel.PROVINCE)


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

P, D, C = AgencyLevel.PROVINCE, AgencyLevel.DISTRICT, AgencyLevel.COMMUNE

PROCEDURES: tuple[Procedure, ...] = (
    # commune level (UBND xã, phường, thị trấn): the bulk of the volume
    Procedure("2.000815", "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm "
              "quyền của Việt Nam cấp hoặc chứng nhận", C, 0.5, 20, 2_000, 30_000),
    Procedure("2.000884", "Chứng thực chữ ký trong các giấy tờ, văn bản", C, 0.5, 6, 10_000),
    Procedure("1.001193", "Đăng ký khai sinh", C, 1, 10),
    Procedure("1.000894", "Đăng ký kết hôn", C, 1, 3),
    Procedure("1.000656", "Đăng ký khai tử", C, 1, 3),
    Procedure("1.004873", "Cấp Giấy xác nhận tình trạng hôn nhân", C, 3, 5),
    Procedure("2.001019", "Chứng thực hợp đồng, giao dịch liên quan đến tài sản là động sản, "
              "quyền sử dụng đất và nhà ở", C, 2, 4, 50_000),
    Procedure("2.000635", "Cấp bản sao Trích lục hộ tịch", C, 1, 3, 8_000),
    # district level (UBND huyện, thị xã, thành phố)
    Procedure("2.000720", "Cấp Giấy chứng nhận đăng ký hộ kinh doanh", D, 3, 4, 100_000),
    Procedure("1.009994", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", D, 15, 3, 75_000),
    Procedure("1.001022", "Đăng ký kết hôn có yếu tố nước ngoài", D, 15, 0.5, 1_000_000),
    Procedure("1.001776", "Giải quyết chế độ trợ cấp xã hội hàng tháng đối với đối tượng bảo "
              "trợ xã hội", D, 20, 1),
    # province level (Sở)
    Procedure("1.004227", "Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền "
              "với đất do chuyển nhượng, tặng cho, thừa kế", P, 10, 10, 30_000,
              department="STNMT"),
    Procedure("1.004203", "Cấp đổi Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài "
              "sản khác gắn liền với đất", P, 7, 3, 50_000, department="STNMT"),
    Procedure("2.001610", "Đăng ký thành lập công ty trách nhiệm hữu hạn một thành viên", P, 3,
              2, 50_000, department="SKHDT"),
    Procedure("2.002038", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", P, 3, 3, 50_000,
              department="SKHDT"),
    Procedure("2.000488", "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam, người nước ngoài "
              "đang cư trú tại Việt Nam", P, 10, 3, 200_000, department="STP"),
    Procedure("1.002804", "Đổi giấy phép lái xe do ngành Giao thông vận tải cấp", P, 5, 4,
              135_000, department="SGTVT"),
    Procedure("1.000105", "Cấp giấy phép lao động cho người lao động nước ngoài làm việc tại Việt "
              "Nam", P, 5, 1, 600_000, department="SLDTBXH"),
    Procedure("1.004562", "Cấp chứng chỉ hành nghề khám bệnh, chữa bệnh", P, 20, 0.5, 360_000,
              department="SYT"),
    Procedure("1.009972", "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, "
              "cấp II", P, 20, 0.5, 150_000, department="SXD"),
    Procedure("2.000591", "Cấp Giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", P, 20, 0.5,
              1_000_000, department="SCT"),
    Procedure("1.005092", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", P, 1, 1,
              department="SGDDT"),
)

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


def _gateways(platform: str, platform_name: str) -> tuple[Gateway, ...]:
    """The gateways of a province: its public-service payment platform and the national ones."""
    return (
        Gateway(platform, platform_name, ON, frozenset({M.BANK_TRANSFER, M.QR, M.CARD}),
                0.05, 6.0, 1400),
        Gateway("vnpay", "VNPAY", ON, frozenset({M.QR, M.CARD, M.BANK_TRANSFER}), 3.0, 1.0, 900),
        Gateway("napas", "NAPAS", ON, frozenset({M.BANK_TRANSFER, M.CARD, M.QR}), 2.5, 1.0, 1100),
        Gateway("momo", "Ví MoMo", ON, frozenset({M.E_WALLET}), 3.0, 1.0, 800),
        Gateway("zalopay", "ZaloPay", ON, frozenset({M.E_WALLET}), 1.5, 0.5, 850),
        Gateway("vnpt-money", "VNPT Money", ON, frozenset({M.E_WALLET}), 0.8, 1.0, 950),
        Gateway("viettel-money", "Viettel Money", ON, frozenset({M.E_WALLET}), 1.2, 1.0, 950),
        Gateway("counter-pos", "POS tại quầy", OFF, frozenset({M.CARD, M.QR}), 1.0, 1.0, 2500),
        Gateway("counter-cash", "Thu tiền mặt tại quầy", OFF, frozenset({M.CASH}), 1.0, 1.0, 200),
    )


_SOUTH = Climate(  # assumption: southern monsoon, May-November afternoon showers
    rainy_months=frozenset(range(5, 12)), shower_probability=0.55, storm_probability=0.10
)
_NORTH_EAST = Climate(  # assumption: May-October rains, storms mostly July-September
    rainy_months=frozenset(range(5, 11)), shower_probability=0.40, storm_probability=0.12,
    storm_months=frozenset({7, 8, 9}),
)


def _profile(code: str, abbr: str, **kwargs: object) -> ProvinceProfile:
    province = PROVINCES[code]
    return ProvinceProfile(
        province=province,
        abbr=abbr,
        agencies=_agencies(province, abbr),
        procedures=PROCEDURES,
        handling_units=_handling_units(province),
        **kwargs,  # type: ignore[arg-type]
    )


PROFILES: dict[str, ProvinceProfile] = {
    p.code: p
    for p in (
        _profile(
            "ba-ria-vung-tau",
            "BRVT",
            dossiers_per_day=3_000,  # assumption: ~1.1 million dossiers a year for 1.2 M people
            online_share=0.536,  # DESIGN.md: 53.6% of dossiers processed online (end of 2022)
            fully_online_share_of_online=0.97,  # DESIGN.md: 97% of online dossiers toàn trình
            dossier_on_time_rate=0.98,  # assumption: provinces report 97-99% on time
            dossier_rejection_rate=0.02,  # assumption
            supplement_rate=0.06,  # assumption
            fee_share=0.50,  # assumption (free civil-status procedures, online fee exemptions)
            online_payment_rate=0.80,  # DESIGN.md: the portal's 80% online payment target
            payments_per_day=30_000,  # assumption: tens of thousands a day for 1.2 M people
            payment_success_rate=0.97,  # assumption
            utility_online_share=0.50,  # DESIGN.md: 50% pay electricity/water/telecom online
            incidents_per_day=80,  # assumption
            incident_on_time_rate=0.95,  # assumption
            incident_rejection_rate=0.08,  # assumption: duplicates and out-of-scope reports
            # assumption: the province promotes its field-report app (DESIGN.md)
            report_channels=(
                (ReportChannel.APP, 0.55), (ReportChannel.HOTLINE_1022, 0.25),
                (ReportChannel.WEB, 0.20),
            ),
            climate=_SOUTH,
            gateways=_gateways("brvt-paygov", "Nền tảng thanh toán Cổng DVC Bà Rịa - Vũng Tàu"),
        ),
        _profile(
            "binh-duong",
            "BD",
            dossiers_per_day=6_500,  # assumption: scaled by population (2.7 M)
            # DESIGN.md: 99% of dossiers are received and handled electronically, which is
            # digitised handling, not online submission; the online share is an assumption.
            online_share=0.60,
            fully_online_share_of_online=0.85,  # assumption
            dossier_on_time_rate=0.97,  # assumption
            dossier_rejection_rate=0.025,  # assumption
            supplement_rate=0.07,  # assumption
            fee_share=0.50,  # assumption
            online_payment_rate=0.75,  # assumption (no published target in DESIGN.md)
            payments_per_day=70_000,  # assumption: scaled by population
            payment_success_rate=0.975,  # assumption
            utility_online_share=0.60,  # assumption: young industrial workforce
            incidents_per_day=200,  # assumption: a busy 24/7 1022 hotline (DESIGN.md)
            incident_on_time_rate=0.93,  # assumption
            incident_rejection_rate=0.10,  # assumption
            report_channels=(  # assumption: 1022 is the main intake (DESIGN.md)
                (ReportChannel.HOTLINE_1022, 0.50), (ReportChannel.APP, 0.35),
                (ReportChannel.WEB, 0.15),
            ),
            climate=_SOUTH,
            gateways=_gateways("bd-paygov", "Nền tảng thanh toán Cổng DVC Bình Dương"),
        ),
        _profile(
            "quang-ninh",
            "QN",
            dossiers_per_day=3_500,  # assumption: scaled by population (1.4 M)
            online_share=0.966,  # DESIGN.md: 96.6% received and resolved online
            fully_online_share_of_online=0.90,  # assumption
            dossier_on_time_rate=0.99,  # assumption: a province that leads the PAR index
            dossier_rejection_rate=0.015,  # assumption
            supplement_rate=0.05,  # assumption
            fee_share=0.50,  # assumption
            online_payment_rate=0.92,  # assumption: at least the fully online share (0.87)
            payments_per_day=35_000,  # assumption: scaled by population
            payment_success_rate=0.97,  # assumption
            utility_online_share=0.55,  # assumption
            incidents_per_day=70,  # assumption
            incident_on_time_rate=0.96,  # assumption
            incident_rejection_rate=0.07,  # assumption
            report_channels=(  # assumption
                (ReportChannel.APP, 0.45), (ReportChannel.HOTLINE_1022, 0.35),
                (ReportChannel.WEB, 0.20),
            ),
            climate=_NORTH_EAST,
            gateways=_gateways("qn-paygov", "Nền tảng thanh toán Cổng DVC Quảng Ninh"),
        ),
    )
}
