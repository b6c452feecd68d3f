"""Display names: what the wall screens and the alert texts show for the codes in the events.

One table, ``DISPLAY_NAMES``, of ``(kind, code) -> Vietnamese and English name`` in display
order; ``ioc db migrate`` loads it into ``display_names`` (like the provinces and districts),
the panels read it through the SQL function ``vi_name(kind, code)`` (a code that is not in
the table shows as itself) and the alert templates through ``name_of``.

Payment error codes also say which payment methods can fail that way (``ERROR_CODES``): a
cash payment is cancelled or mistyped at the counter, it cannot fail an OTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ioc.models import PaymentMethod


@dataclass(frozen=True, slots=True)
class Name:
    vi: str
    en: str


def _names(*rows: tuple[str, str, str]) -> dict[str, Name]:
    return {code: Name(vi, en) for code, vi, en in rows}


M = PaymentMethod
_ALL_METHODS = frozenset(M)
_CASHLESS = _ALL_METHODS - {M.CASH}


@dataclass(frozen=True, slots=True)
class ErrorCode:
    vi: str
    en: str
    methods: frozenset[PaymentMethod]
    """The methods that can fail this way."""


ERROR_CODES: dict[str, ErrorCode] = {
    "USER_CANCELLED": ErrorCode("Khách hàng hủy giao dịch", "Cancelled by the payer", _ALL_METHODS),
    "COUNTER_ERROR": ErrorCode(
        "Sai sót tại quầy (nhập sai số tiền, hủy biên lai)",
        "Counter mistake (wrong amount keyed, receipt voided)",
        frozenset({M.CASH}),
    ),
    "COUNTER_SYSTEM_DOWN": ErrorCode(
        "Hệ thống thu tiền tại quầy gián đoạn", "Counter cash system down", frozenset({M.CASH})
    ),
    "CARD_DECLINED": ErrorCode("Thẻ bị từ chối", "Card declined", frozenset({M.CARD})),
    "OTP_FAILED": ErrorCode(
        "Xác thực OTP không thành công", "OTP verification failed",
        frozenset({M.CARD, M.BANK_TRANSFER}),
    ),
    "INSUFFICIENT_FUNDS": ErrorCode(
        "Tài khoản không đủ số dư", "Insufficient funds", frozenset({M.CARD, M.BANK_TRANSFER, M.QR})
    ),
    "WALLET_INSUFFICIENT_BALANCE": ErrorCode(
        "Số dư ví không đủ", "Insufficient wallet balance", frozenset({M.E_WALLET})
    ),
    "WALLET_AUTH_FAILED": ErrorCode(
        "Xác thực ví điện tử không thành công", "Wallet authentication failed",
        frozenset({M.E_WALLET}),
    ),
    "QR_EXPIRED": ErrorCode("Mã QR hết hạn", "QR code expired", frozenset({M.QR})),
    "TIMEOUT": ErrorCode("Hết thời gian chờ phản hồi", "Timed out", _CASHLESS),
    "BANK_ERROR": ErrorCode(
        "Lỗi hệ thống ngân hàng", "Bank system error", frozenset({M.BANK_TRANSFER, M.QR, M.CARD})
    ),
    "PENDING_EXPIRED": ErrorCode(
        "Giao dịch chờ xử lý quá hạn, đã hủy", "Pending transaction expired",
        frozenset({M.BANK_TRANSFER, M.QR, M.E_WALLET}),
    ),
    "GATEWAY_UNAVAILABLE": ErrorCode(
        "Cổng thanh toán không phản hồi", "Payment gateway unavailable", _CASHLESS
    ),
}
"""Every error code the simulated gateways send, the methods each applies to."""

GATEWAYS = _names(
    ("brvt-paygov", "Nền tảng thanh toán Cổng DVC Bà Rịa - Vũng Tàu",
     "Ba Ria-Vung Tau public-service payment platform"),
    ("bd-paygov", "Nền tảng thanh toán Cổng DVC Bình Dương",
     "Binh Duong public-service payment platform"),
    ("qn-paygov", "Nền tảng thanh toán Cổng DVC Quảng Ninh",
     "Quang Ninh public-service payment platform"),
    ("vnpay", "VNPAY", "VNPAY"),
    ("napas", "NAPAS", "NAPAS"),
    ("momo", "Ví MoMo", "MoMo wallet"),
    ("zalopay", "ZaloPay", "ZaloPay"),
    ("vnpt-money", "VNPT Money", "VNPT Money"),
    ("viettel-money", "Viettel Money", "Viettel Money"),
    ("counter-pos", "Máy POS tại quầy", "Counter POS terminal"),
    ("counter-cash", "Thu tiền mặt tại quầy", "Cash at the counter"),
)

DOSSIER_SECTORS = _names(
    ("land", "Đất đai", "Land"),
    ("construction", "Xây dựng", "Construction"),
    ("investment", "Đầu tư, thành lập doanh nghiệp", "Investment and business registration"),
    ("business_household", "Hộ kinh doanh", "Household businesses"),
    ("civil_status", "Hộ tịch", "Civil status"),
    ("authentication", "Chứng thực", "Authentication"),
    ("judicial_records", "Lý lịch tư pháp", "Judicial records"),
    ("road_transport", "Đường bộ", "Road transport"),
    ("labour", "Lao động, việc làm", "Labour and employment"),
    ("social_protection", "Bảo trợ xã hội", "Social protection"),
    ("health", "Khám bệnh, chữa bệnh", "Medical practice"),
    ("food_safety", "An toàn thực phẩm", "Food safety"),
    ("education", "Văn bằng, chứng chỉ", "Diplomas and certificates"),
    ("environment", "Môi trường", "Environment"),
    ("trade", "Thương mại", "Trade"),
)
"""Procedure sectors (lĩnh vực TTHC) of the simulated procedures."""

DISPLAY_NAMES: dict[str, dict[str, Name]] = {
    "feed": _names(
        ("dossier", "hồ sơ TTHC", "dossier"),
        ("payment", "thanh toán", "payment"),
        ("incident", "phản ánh hiện trường", "field report"),
    ),
    "agency_level": _names(
        ("province", "Cấp tỉnh", "Province"),
        ("district", "Cấp huyện", "District"),
        ("commune", "Cấp xã", "Commune"),
    ),
    "dossier_channel": _names(
        ("fully_online", "Trực tuyến toàn trình", "Fully online"),
        ("partly_online", "Trực tuyến một phần", "Partly online"),
        ("in_person", "Trực tiếp", "In person"),
    ),
    "dossier_sector": DOSSIER_SECTORS,
    "payment_sector": _names(
        ("public_service", "Dịch vụ công", "Public services"),
        ("electricity", "Điện", "Electricity"),
        ("water", "Nước", "Water"),
        ("telecom", "Viễn thông", "Telecoms"),
        ("healthcare", "Y tế", "Healthcare"),
        ("education", "Giáo dục", "Education"),
        ("transport", "Giao thông", "Transport"),
    ),
    "method": _names(
        ("bank_transfer", "Chuyển khoản", "Bank transfer"),
        ("qr", "Mã QR", "QR code"),
        ("e_wallet", "Ví điện tử", "E-wallet"),
        ("card", "Thẻ", "Card"),
        ("cash", "Tiền mặt", "Cash"),
    ),
    "payment_channel": _names(
        ("online", "Trực tuyến", "Online"), ("counter", "Tại quầy", "Counter")
    ),
    "gateway": GATEWAYS,
    "error_code": {code: Name(e.vi, e.en) for code, e in ERROR_CODES.items()},
    "category": _names(
        ("traffic", "Giao thông", "Traffic"),
        ("public_transport", "Giao thông công cộng", "Public transport"),
        ("urban_order", "Trật tự đô thị", "Urban order"),
        ("environment", "Tài nguyên, môi trường", "Natural resources and environment"),
        ("water_supply", "Cấp, thoát nước", "Water supply and drainage"),
        ("flooding", "Ngập úng", "Flooding"),
        ("infrastructure", "Hạ tầng giao thông", "Roads and infrastructure"),
        ("public_lighting", "Chiếu sáng công cộng", "Public lighting"),
        ("trees", "Cây xanh", "Trees"),
        ("electricity", "Điện", "Electricity"),
        ("telecom", "Viễn thông", "Telecoms"),
        ("land", "Đất đai", "Land"),
        ("health", "Y tế", "Health"),
        ("administrative_procedure", "Thủ tục hành chính", "Administrative procedures"),
        ("security", "An ninh trật tự", "Public security"),
    ),
    "report_channel": _names(
        ("app", "Ứng dụng di động", "Mobile app"),
        ("web", "Cổng thông tin", "Web portal"),
        ("hotline_1022", "Tổng đài 1022", "1022 hotline"),
    ),
    "incident_status": _names(
        ("received", "Mới tiếp nhận", "Received"),
        ("verified", "Đã xác minh", "Verified"),
        ("assigned", "Đã chuyển đơn vị xử lý", "Assigned"),
        ("in_progress", "Đang xử lý", "In progress"),
        ("resolved", "Đã xử lý", "Resolved"),
        ("rejected", "Từ chối", "Rejected"),
    ),
    "index_criterion": _names(
        ("publicity", "Công khai, minh bạch", "Publicity and transparency"),
        ("progress", "Tiến độ, kết quả giải quyết", "Progress and results"),
        ("digitisation", "Số hóa hồ sơ", "Digitisation of dossiers"),
        ("online", "Cung cấp dịch vụ trực tuyến", "Online service provision"),
        ("satisfaction", "Mức độ hài lòng", "Satisfaction"),
    ),
    "severity": _names(
        ("critical", "Nghiêm trọng", "Critical"),
        ("warning", "Cảnh báo", "Warning"),
        ("info", "Thông tin", "Information"),
    ),
}
"""Kind -> code -> names, each kind in display order."""

LABEL_KINDS: dict[str, str] = {
    "feed": "feed",
    "gateway": "gateway",
    "method": "method",
    "sector": "payment_sector",
    "category": "category",
    "agency_level": "agency_level",
    "error_code": "error_code",
}
"""Alert labels whose values have display names: ``{gateway}`` -> ``{gateway_name}``."""


def name_of(kind: str, code: str, language: str = "vi") -> str:
    """The display name of ``code`` (the code itself when it has none)."""
    name = DISPLAY_NAMES.get(kind, {}).get(code)
    if name is None:
        return code
    return name.vi if language == "vi" else name.en


def display_name_rows() -> list[tuple[str, str, str, str, int]]:
    """``(kind, code, name_vi, name_en, position)`` for the ``display_names`` table."""
    return [
        (kind, code, name.vi, name.en, position)
        for kind, names in DISPLAY_NAMES.items()
        for position, (code, name) in enumerate(names.items())
    ]
