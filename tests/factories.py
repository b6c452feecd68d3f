"""Valid events for tests, built from the models (never hand-written JSON)."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from ioc.models import (
    VN_TZ,
    AgencyLevel,
    DossierChannel,
    DossierEvent,
    DossierStatus,
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

BASE_TIME = datetime(2026, 11, 20, 9, 0, tzinfo=VN_TZ)
_serial = itertools.count(1)


def dossier(
    status: DossierStatus = DossierStatus.SUBMITTED, *, minutes: int = 0, **fields
) -> DossierEvent:
    values = dict(
        event_id=uuid.uuid4(),
        occurred_at=BASE_TIME + timedelta(minutes=minutes),
        province="ba-ria-vung-tau",
        district="vung-tau",
        source="test/dvc",
        dossier_id=f"HS-{next(_serial):06d}",
        procedure_code="1.009972",
        procedure_name="Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt, cấp I, cấp II",
        agency_code="SXD",
        agency_name="Sở Xây dựng",
        agency_level=AgencyLevel.PROVINCE,
        channel=DossierChannel.FULLY_ONLINE,
        status=status,
        submitted_at=BASE_TIME,
        due_at=BASE_TIME + timedelta(days=15),
        fee_vnd=75_000,
        fee_paid_online=True,
    )
    values.update(fields)
    return DossierEvent(**values)


def payment(**fields) -> PaymentEvent:
    values = dict(
        event_id=uuid.uuid4(),
        occurred_at=BASE_TIME,
        province="binh-duong",
        district="di-an",
        source="test/pay",
        transaction_id=f"TX-{next(_serial):08d}",
        sector=PaymentSector.ELECTRICITY,
        method=PaymentMethod.QR,
        channel=PaymentChannel.ONLINE,
        gateway="vnpay",
        amount_vnd=1_250_000,
        status=PaymentStatus.SUCCESS,
        latency_ms=420,
    )
    values.update(fields)
    return PaymentEvent(**values)


def incident(
    status: IncidentStatus = IncidentStatus.RECEIVED, *, minutes: int = 0, **fields
) -> IncidentEvent:
    values = dict(
        event_id=uuid.uuid4(),
        occurred_at=BASE_TIME + timedelta(minutes=minutes),
        province="quang-ninh",
        district="ha-long",
        source="test/1022",
        report_id=f"PA-{next(_serial):06d}",
        category=IncidentCategory.FLOODING,
        channel=ReportChannel.HOTLINE_1022,
        status=status,
        title="Ngập nước sâu trên đường Trần Hưng Đạo",
        latitude=20.95,
        longitude=107.08,
        handling_unit="UBND phường Hồng Gai",
        reported_at=BASE_TIME,
        due_at=BASE_TIME + timedelta(days=5),
    )
    values.update(fields)
    return IncidentEvent(**values)
