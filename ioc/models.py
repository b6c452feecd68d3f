"""Event models: the one definition of every feed's payload.

The simulators build these models, the ingester parses them (see ``ioc.ingest.boundary``) and the
store maps them to rows with ``Event.row()``; the SQL column lists are checked against
``Event.columns()`` by the tests, so there is no second copy of the fields anywhere.

Every event shares an envelope (``event_id``, ``schema_name``, ``schema_version``,
``occurred_at``, ``province``, ``district``, ``source``). Parsing is strict: a string where a
number belongs, an unknown key or an unknown enum value is an error that names the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from operator import itemgetter
from typing import Annotated, Any, ClassVar, Literal, get_args
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ioc.topics import Feed, feed_topic

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""Provinces run on Indochina Time (UTC+7, no daylight saving)."""

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,47}$")]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
VND = Annotated[int, Field(ge=0, le=1_000_000_000_000)]
Token = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
"""A lower-case code word such as the enums' values (``civil_status``)."""

_FIRST_STORABLE = datetime.min.replace(tzinfo=UTC)
_LAST_STORABLE = datetime.max.replace(tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    """Refuse an instant PostgreSQL (through asyncpg) cannot hold as it is.

    ``AwareDatetime`` accepts any year 1-9999 with any offset, but the database gets the UTC
    value: 9999-12-31T23:00:00-05:00 is past year 9999 in UTC (asyncpg raises OverflowError),
    0001-01-01T00:00:00+05:00 is before year 1, and asyncpg writes the first and the last
    representable instants as -infinity and infinity.
    """
    if 1 < value.year < 9999:
        return value  # an offset is under 24 h: its UTC instant is within the years 1-9999
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside the years 1-9999 once converted to UTC"
        ) from None
    if utc <= _FIRST_STORABLE or utc >= _LAST_STORABLE:
        raise ValueError(f"{value.isoformat()} is at the edge of the representable range")
    return value


class Deadline:
    """Marks a datetime field that lies ahead of the event by nature (a due date): the
    boundary bounds it by ``IOC_INGEST_MAX_DEADLINE_DAYS``, not by the future limit of the
    instants that have happened (see ``TimeLimits``)."""


Moment = Annotated[AwareDatetime, AfterValidator(_storable)]
"""An instant with its UTC offset that the database can store: when something happened."""
DueDate = Annotated[AwareDatetime, AfterValidator(_storable), Deadline()]
"""An instant the database can store, which may lie far ahead: a deadline."""


class AgencyLevel(StrEnum):
    PROVINCE = "province"  # Sở, UBND tỉnh
    DISTRICT = "district"  # UBND huyện / thành phố / thị xã
    COMMUNE = "commune"  # UBND xã / phường / thị trấn


class DossierChannel(StrEnum):
    FULLY_ONLINE = "fully_online"  # toàn trình
    PARTLY_ONLINE = "partly_online"  # một phần
    IN_PERSON = "in_person"  # trực tiếp tại bộ phận một cửa


class DossierStatus(StrEnum):
    SUBMITTED = "submitted"
    RECEIVED = "received"
    PROCESSING = "processing"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class PaymentSector(StrEnum):
    PUBLIC_SERVICE = "public_service"
    ELECTRICITY = "electricity"
    WATER = "water"
    TELECOM = "telecom"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    TRANSPORT = "transport"


class PaymentMethod(StrEnum):
    BANK_TRANSFER = "bank_transfer"
    QR = "qr"
    E_WALLET = "e_wallet"
    CARD = "card"
    CASH = "cash"


class PaymentChannel(StrEnum):
    ONLINE = "online"
    COUNTER = "counter"


class PaymentStatus(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    PENDING = "pending"
    REFUNDED = "refunded"


class IncidentCategory(StrEnum):
    """What a field report is about: the categories of the provinces' apps and 1022 hotlines."""

    TRAFFIC = "traffic"
    PUBLIC_TRANSPORT = "public_transport"
    URBAN_ORDER = "urban_order"
    ENVIRONMENT = "environment"  # tài nguyên và môi trường
    WATER_SUPPLY = "water_supply"  # cấp, thoát nước
    FLOODING = "flooding"
    INFRASTRUCTURE = "infrastructure"  # roads, bridges, sidewalks
    PUBLIC_LIGHTING = "public_lighting"
    TREES = "trees"
    ELECTRICITY = "electricity"
    TELECOM = "telecom"
    LAND = "land"
    HEALTH = "health"
    ADMINISTRATIVE_PROCEDURE = "administrative_procedure"
    SECURITY = "security"


class ReportChannel(StrEnum):
    APP = "app"
    WEB = "web"
    HOTLINE_1022 = "hotline_1022"


class IncidentStatus(StrEnum):
    RECEIVED = "received"
    VERIFIED = "verified"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"


FINAL_DOSSIER_STATUSES = frozenset({DossierStatus.RESOLVED, DossierStatus.REJECTED})
FINAL_INCIDENT_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.REJECTED})
FINAL_PAYMENT_STATUSES = frozenset(
    {PaymentStatus.SUCCESS, PaymentStatus.FAILED, PaymentStatus.REFUNDED}
)


class Event(BaseModel):
    """The envelope every feed shares."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    feed: ClassVar[Feed]
    table: ClassVar[str]

    event_id: UUID
    schema_name: str
    schema_version: Literal[1] = 1
    occurred_at: Moment
    province: Slug
    district: Slug
    source: Annotated[str, Field(min_length=1, max_length=64)]

    @classmethod
    def columns(cls) -> tuple[str, ...]:
        """Column names of the feed's event table, in row order (``schema_name`` is the table)."""
        return _row_layout(cls)[0]

    def row(self) -> tuple[Any, ...]:
        """The values for ``columns()``, as asyncpg expects them (enums as their values)."""
        values_of, enum_positions = _row_getter(type(self))
        values = values_of(self.__dict__)  # pydantic keeps validated field values here
        if not enum_positions:
            return values
        row = list(values)
        for position in enum_positions:
            value = row[position]
            if value is not None:
                row[position] = value._value_  # ``.value``, without the enum property's call
        return tuple(row)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @property
    def topic(self) -> str:
        """The MQTT topic this event is published on (``ioc.topics``)."""
        return feed_topic(self.province, self.feed, self.district)

    @classmethod
    def time_fields(cls) -> tuple[tuple[str, bool], ...]:
        """``(name, is_deadline)`` of every datetime field, envelope first."""
        return _time_fields(cls)


@cache
def _row_layout(model: type[Event]) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """A model's table columns and the positions of its enum-typed ones (computed once:
    ``row`` runs for every stored event)."""
    columns = tuple(name for name in model.model_fields if name != "schema_name")

    def is_enum(annotation: object) -> bool:
        types = (annotation, *get_args(annotation))
        return any(isinstance(t, type) and issubclass(t, StrEnum) for t in types)

    fields = model.model_fields
    enums = tuple(i for i, name in enumerate(columns) if is_enum(fields[name].annotation))
    return columns, enums


_Getter = Callable[[dict[str, Any]], tuple[Any, ...]]
"""Some fields' values, in a fixed order, from a model's ``__dict__``."""


def _tuple_getter(names: tuple[str, ...]) -> _Getter:
    """``lambda d: tuple(d[name] for name in names)``, in C (``itemgetter``) when it can."""
    if len(names) > 1:
        return itemgetter(*names)
    if names:
        (name,) = names
        return lambda fields: (fields[name],)
    return lambda fields: ()


@cache
def _row_getter(model: type[Event]) -> tuple[_Getter, tuple[int, ...]]:
    """``_row_layout`` as a getter of the column values from a model's ``__dict__``."""
    columns, enums = _row_layout(model)
    return _tuple_getter(columns), enums


@cache
def _time_getters(model: type[Event]) -> tuple[_Getter, _Getter]:
    """Getters of a model's instants and of its deadlines from its ``__dict__``."""
    fields = _time_fields(model)
    return (
        _tuple_getter(tuple(name for name, deadline in fields if not deadline)),
        _tuple_getter(tuple(name for name, deadline in fields if deadline)),
    )


@cache
def _time_fields(model: type[Event]) -> tuple[tuple[str, bool], ...]:
    fields = []
    for name, info in model.model_fields.items():
        if info.annotation is AwareDatetime:
            fields.append((name, any(isinstance(m, Deadline) for m in info.metadata)))
    return tuple(fields)


class DossierEvent(Event):
    """A state change of an administrative-procedure dossier (hồ sơ TTHC)."""

    feed: ClassVar[Feed] = Feed.DOSSIER
    table: ClassVar[str] = "dossier_events"

    schema_name: Literal["ioc.dossier"] = "ioc.dossier"
    dossier_id: Code
    procedure_code: Code
    procedure_name: Text
    agency_code: Code
    agency_name: Text
    agency_level: AgencyLevel
    channel: DossierChannel
    status: DossierStatus
    submitted_at: Moment
    due_at: DueDate
    fee_vnd: VND = 0
    fee_paid_online: bool | None = None
    # The fields below came with schema 1's second revision: optional, null when the
    # emitting system does not know (older payloads stay valid).
    sector: Token | None = None
    """The procedure's sector (lĩnh vực), e.g. ``land``, ``construction``, ``civil_status``."""
    files_digitised: bool | None = None
    """The dossier's documents are held electronically: submitted online, or scanned at the
    one-stop desk when received (received and handled electronically)."""
    data_reused: bool | None = None
    """Filled in from data already digitised (earlier results, the national databases)."""
    status_published: bool | None = None
    """Its status is published to the national public-service portal, where the applicant
    can look it up."""
    result_digitised: bool | None = None
    """On a ``resolved`` event: the result was issued electronically (kết quả điện tử)."""
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None
    """On a ``resolved`` or ``rejected`` event: the applicant's rating of the handling, 1-5."""

    @model_validator(mode="after")
    def _check_times(self) -> DossierEvent:
        if self.due_at <= self.submitted_at:
            raise ValueError("due_at must be after submitted_at")
        if self.occurred_at < self.submitted_at:
            raise ValueError("occurred_at must not be before submitted_at")
        if self.fee_vnd == 0 and self.fee_paid_online is not None:
            raise ValueError("fee_paid_online must be null when fee_vnd is 0")
        if self.satisfaction is not None and self.status not in FINAL_DOSSIER_STATUSES:
            raise ValueError("satisfaction is given only on a resolved or rejected event")
        if self.result_digitised is not None and self.status is not DossierStatus.RESOLVED:
            raise ValueError("result_digitised is given only on a resolved event")
        return self


class PaymentEvent(Event):
    """A payment transaction (a fee, a bill) and its outcome.

    A transaction has one event, or two when it is first ``pending`` (a transfer the bank has
    not confirmed yet): the second, with the same ``transaction_id``, settles it as
    ``success`` or ``failed``. A refund is a transaction of its own, ``refunded``, whose
    ``refund_of`` is the refunded transaction's id.
    """

    feed: ClassVar[Feed] = Feed.PAYMENT
    table: ClassVar[str] = "payment_events"

    schema_name: Literal["ioc.payment"] = "ioc.payment"
    transaction_id: Code
    sector: PaymentSector
    method: PaymentMethod
    channel: PaymentChannel
    gateway: Slug
    amount_vnd: Annotated[int, Field(gt=0, le=1_000_000_000_000)]
    status: PaymentStatus
    latency_ms: Annotated[int, Field(ge=0, le=600_000)] | None = None
    """How long the gateway took to answer; null when nothing was waited for (cash, or a
    settlement notified later)."""
    error_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    dossier_id: Code | None = None
    refund_of: Code | None = None
    """For a ``refunded`` transaction: the ``transaction_id`` of the payment it refunds."""
    initiated_at: Moment | None = None
    """When the transaction began, if before ``occurred_at`` (a settled pending one)."""

    @model_validator(mode="after")
    def _check_outcome(self) -> PaymentEvent:
        if self.status is PaymentStatus.FAILED and self.error_code is None:
            raise ValueError("error_code is required when status is failed")
        if self.method is PaymentMethod.CASH and self.channel is PaymentChannel.ONLINE:
            raise ValueError("method cash is only possible at the counter")
        if self.refund_of is not None and self.status is not PaymentStatus.REFUNDED:
            raise ValueError("refund_of is given only on a refunded transaction")
        if self.refund_of is not None and self.refund_of == self.transaction_id:
            raise ValueError("refund_of must name another transaction")
        if self.initiated_at is not None and self.initiated_at > self.occurred_at:
            raise ValueError("initiated_at must not be after occurred_at")
        return self


class IncidentEvent(Event):
    """A state change of a citizen's field report (phản ánh hiện trường)."""

    feed: ClassVar[Feed] = Feed.INCIDENT
    table: ClassVar[str] = "incident_events"

    schema_name: Literal["ioc.incident"] = "ioc.incident"
    report_id: Code
    category: IncidentCategory
    channel: ReportChannel
    status: IncidentStatus
    title: Text
    latitude: Annotated[float, Field(ge=8.0, le=23.5)]  # Vietnam's bounding box
    longitude: Annotated[float, Field(ge=102.0, le=110.0)]
    handling_unit: Text
    reported_at: Moment
    due_at: DueDate
    satisfaction: Annotated[int, Field(ge=1, le=5)] | None = None

    @model_validator(mode="after")
    def _check_times(self) -> IncidentEvent:
        if self.due_at <= self.reported_at:
            raise ValueError("due_at must be after reported_at")
        if self.occurred_at < self.reported_at:
            raise ValueError("occurred_at must not be before reported_at")
        return self


EVENT_TYPES: dict[Feed, type[Event]] = {
    Feed.DOSSIER: DossierEvent,
    Feed.PAYMENT: PaymentEvent,
    Feed.INCIDENT: IncidentEvent,
}


def local_time(moment: datetime) -> datetime:
    """``moment`` in the provinces' time zone."""
    return moment.astimezone(VN_TZ)


@dataclass(frozen=True, slots=True)
class TimeLimits:
    """What an event's instants may plausibly be, relative to when the message arrived.

    The model already refuses what the database cannot store; these bounds refuse what cannot
    be true: an event dated before the service existed (``earliest``), something that has
    happened more than ``max_future`` after it was received (clock skew allowed for), or a
    deadline more than ``max_deadline`` ahead. One wrong date would otherwise become a
    dossier's latest state forever, or widen every dashboard's time axis.
    """

    earliest: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    max_future: timedelta = timedelta(hours=24)
    max_deadline: timedelta = timedelta(days=3650)

    def check(self, event: Event, received_at: datetime) -> str | None:
        """``None`` if every datetime field of ``event`` is plausible, else why not."""
        for name, is_deadline in event.time_fields():
            value: datetime = getattr(event, name)
            if value < self.earliest:
                return (
                    f"field '{name}': {value.isoformat()} is before the earliest accepted "
                    f"date {self.earliest.isoformat()} (IOC_INGEST_EARLIEST)"
                )
            if is_deadline:
                if value - received_at > self.max_deadline:
                    return (
                        f"field '{name}': {value.isoformat()} is more than "
                        f"{self.max_deadline.days} days after the message was received "
                        f"(IOC_INGEST_MAX_DEADLINE_DAYS)"
                    )
            elif value - received_at > self.max_future:
                hours = self.max_future.total_seconds() / 3600
                return (
                    f"field '{name}': {value.isoformat()} is more than {hours:g} hours after "
                    f"the message was received at {received_at.isoformat(timespec='seconds')} "
                    f"(IOC_INGEST_MAX_FUTURE_HOURS)"
                )
        return None

    def plausible_at(self, received_at: datetime) -> Callable[[Event], bool]:
        """A test equal to ``check(event, received_at) is None``, for many events received
        at one instant, at less CPU: the bounds are computed once, and an event whose
        instants are all more than a millisecond inside them passes on its POSIX timestamps
        (comparing two datetimes of different offsets costs about 1 µs; a float's error at
        year 9999 is under 0.1 ms); any other goes to ``check`` itself, exactly."""

        def checked(event: Event) -> bool:
            return self.check(event, received_at) is None

        if received_at.utcoffset() is None:
            return checked  # naive: ``check`` says what that does
        try:
            now = received_at.astimezone(UTC)
            earliest = self.earliest.timestamp() + _MARGIN
            latest = (now + self.max_future).timestamp() - _MARGIN
            latest_deadline = (now + self.max_deadline).timestamp() - _MARGIN
        except (OverflowError, ValueError):
            return checked

        def plausible(event: Event) -> bool:
            instants_of, deadlines_of = _time_getters(type(event))
            fields = event.__dict__
            for value in instants_of(fields):
                if not earliest < value.timestamp() < latest:
                    return checked(event)
            for value in deadlines_of(fields):
                if not earliest < value.timestamp() < latest_deadline:
                    return checked(event)
            return True

        return plausible


_MARGIN = 0.001
"""Seconds: how far inside a time limit ``plausible_at`` trusts a float timestamp."""


DEFAULT_TIME_LIMITS = TimeLimits()
