"""Each province's targets: its published figure where there is one, a stated assumption else.

``TARGETS[province][kpi]`` is a ``Figure``: the value and where it comes from. A figure whose
source starts with ``published`` is the province's own report (DESIGN.md); every other one
is an assumption and says why. The same figures serve three purposes, so the simulated
province, the wall screen and the alerts agree by construction:

- ``ioc db migrate`` loads them into the ``province_targets`` table, which the dashboards'
  stat colours and the Decision 766 index read (each province judged against its own
  targets, not against Ba Ria-Vung Tau's);
- the simulator's province profiles (``simulators/profiles.py``) take their calibrated rates
  from them;
- the calibration tests measure the simulated data against them.

``KPIS`` names each KPI in Vietnamese and says which way is better.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    value: float
    source: str

    @property
    def published(self) -> bool:
        return self.source.startswith("published")


@dataclass(frozen=True, slots=True)
class Kpi:
    name_vi: str
    higher_is_better: bool = True


KPIS: dict[str, Kpi] = {
    "online_share": Kpi("Tỷ lệ hồ sơ nộp trực tuyến"),
    "fully_online_share_of_online": Kpi("Tỷ lệ hồ sơ trực tuyến toàn trình trên hồ sơ trực tuyến"),
    "dossier_on_time_rate": Kpi("Tỷ lệ hồ sơ giải quyết đúng hạn"),
    "digitised_share": Kpi("Tỷ lệ hồ sơ tiếp nhận, xử lý điện tử"),
    "result_digitised_share": Kpi("Tỷ lệ cấp kết quả điện tử"),
    "data_reuse_share": Kpi("Tỷ lệ hồ sơ khai thác, sử dụng lại dữ liệu số hóa"),
    "status_published_share": Kpi("Tỷ lệ hồ sơ đồng bộ trạng thái lên Cổng DVC quốc gia"),
    "dossier_satisfaction": Kpi("Tỷ lệ hài lòng trong tiếp nhận, giải quyết TTHC"),
    "online_payment_rate": Kpi("Tỷ lệ thanh toán trực tuyến phí, lệ phí TTHC"),
    "utility_online_share": Kpi("Tỷ lệ thanh toán điện, nước, viễn thông trực tuyến"),
    "payment_success_rate": Kpi("Tỷ lệ giao dịch thanh toán thành công"),
    "incident_on_time_rate": Kpi("Tỷ lệ phản ánh hiện trường xử lý đúng hạn"),
    "incident_satisfaction": Kpi("Tỷ lệ hài lòng trong xử lý phản ánh"),
    "procedures_online_share": Kpi("Tỷ lệ TTHC cung cấp dịch vụ công trực tuyến"),
    "procedures_published_on_time": Kpi("Tỷ lệ TTHC công bố đúng hạn"),
    "procedures_updated_on_time": Kpi("Tỷ lệ TTHC được cập nhật, công khai đúng hạn"),
    "procedures_full_content": Kpi("Tỷ lệ TTHC công khai đầy đủ nội dung"),
    "dossier_overdue_share": Kpi("Tỷ lệ hồ sơ quá hạn trên hồ sơ đang giải quyết", False),
    "incident_overdue_share": Kpi("Tỷ lệ phản ánh quá hạn trên phản ánh đang mở", False),
}

_PROCEDURES_PUBLISHED = (
    "assumption: procedures are announced and published through the national procedure "
    "database, whose records no feed here carries; taken as complete"
)


def _common(**overrides: Figure) -> dict[str, Figure]:
    base = {
        "procedures_published_on_time": Figure(1.0, _PROCEDURES_PUBLISHED),
        "procedures_updated_on_time": Figure(1.0, _PROCEDURES_PUBLISHED),
        "procedures_full_content": Figure(1.0, _PROCEDURES_PUBLISHED),
    }
    base.update(overrides)
    return base


TARGETS: dict[str, dict[str, Figure]] = {
    "ba-ria-vung-tau": _common(
        online_share=Figure(0.536, "published: 53.6% of dossiers processed online, end of 2022"),
        fully_online_share_of_online=Figure(
            0.97, "published: 97% of dossiers submitted online processed fully online"
        ),
        dossier_on_time_rate=Figure(0.98, "assumption: provinces report 97-99% on time"),
        digitised_share=Figure(
            0.85,
            "assumption: online dossiers plus most counter dossiers scanned at the desk",
        ),
        result_digitised_share=Figure(0.75, "assumption"),
        data_reuse_share=Figure(0.45, "assumption"),
        status_published_share=Figure(0.96, "assumption"),
        dossier_satisfaction=Figure(0.95, "assumption: Resolution 76/NQ-CP asks for 90%+"),
        online_payment_rate=Figure(
            0.80, "published: target of 80% online payment on the public-service portal"
        ),
        utility_online_share=Figure(
            0.50, "published: 50% of residents pay electricity, water and telecom online"
        ),
        payment_success_rate=Figure(0.97, "assumption"),
        incident_on_time_rate=Figure(0.95, "assumption"),
        incident_satisfaction=Figure(0.88, "assumption"),
        procedures_online_share=Figure(
            1.0, "published: 100% of eligible procedures offered fully online"
        ),
    ),
    "binh-duong": _common(
        online_share=Figure(
            0.60,
            "assumption: the 99% below is electronic handling, not online submission",
        ),
        fully_online_share_of_online=Figure(0.85, "assumption"),
        dossier_on_time_rate=Figure(0.97, "assumption"),
        digitised_share=Figure(
            0.99, "published: 99% of dossiers received and handled electronically"
        ),
        result_digitised_share=Figure(0.85, "assumption: a province that digitises at the desk"),
        data_reuse_share=Figure(0.55, "assumption"),
        status_published_share=Figure(0.98, "assumption"),
        dossier_satisfaction=Figure(0.94, "assumption"),
        online_payment_rate=Figure(0.75, "assumption (no published target)"),
        utility_online_share=Figure(0.60, "assumption: young industrial workforce"),
        payment_success_rate=Figure(0.975, "assumption"),
        incident_on_time_rate=Figure(0.93, "assumption: a busy 24/7 1022 hotline"),
        incident_satisfaction=Figure(0.86, "assumption"),
        procedures_online_share=Figure(0.98, "assumption"),
    ),
    "quang-ninh": _common(
        online_share=Figure(0.966, "published: 96.6% of dossiers received and resolved online"),
        fully_online_share_of_online=Figure(0.90, "assumption"),
        dossier_on_time_rate=Figure(0.99, "assumption: a province that leads the PAR index"),
        digitised_share=Figure(0.98, "assumption: at least the online share"),
        result_digitised_share=Figure(0.80, "assumption"),
        data_reuse_share=Figure(0.50, "assumption"),
        status_published_share=Figure(0.97, "assumption"),
        dossier_satisfaction=Figure(0.96, "assumption"),
        online_payment_rate=Figure(0.92, "assumption: at least the fully online share (0.87)"),
        utility_online_share=Figure(0.55, "assumption"),
        payment_success_rate=Figure(0.97, "assumption"),
        incident_on_time_rate=Figure(0.96, "assumption"),
        incident_satisfaction=Figure(0.90, "assumption"),
        procedures_online_share=Figure(
            0.99, "assumption: 1,605 public services on the portal (published), nearly all online"
        ),
    ),
}


def _derive(figures: dict[str, Figure]) -> None:
    """The overdue shares the on-time targets allow (what an overdue count is judged by)."""
    figures["dossier_overdue_share"] = Figure(
        round(1.0 - figures["dossier_on_time_rate"].value, 4),
        "derived: 100% - the on-time target (the late share it allows)",
    )
    figures["incident_overdue_share"] = Figure(
        round(1.0 - figures["incident_on_time_rate"].value, 4),
        "derived: 100% - the on-time target (the late share it allows)",
    )


for _figures in TARGETS.values():
    _derive(_figures)


def target(province: str, kpi: str) -> float:
    return TARGETS[province][kpi].value


def target_rows() -> list[tuple[str, str, float, bool, str]]:
    """``(province, kpi, target, published, source)`` for the ``province_targets`` table."""
    return [
        (province, kpi, figure.value, figure.published, figure.source)
        for province, figures in TARGETS.items()
        for kpi, figure in figures.items()
    ]


def _check() -> None:
    for province, figures in TARGETS.items():
        unknown = set(figures) - set(KPIS)
        missing = set(KPIS) - set(figures)
        if unknown or missing:
            raise ValueError(f"{province}: unknown KPIs {unknown}, missing {missing}")
        for kpi, figure in figures.items():
            if not 0.0 <= figure.value <= 1.0:
                raise ValueError(f"{province} {kpi}: {figure.value} is not a share")


_check()
