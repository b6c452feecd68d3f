"""The payment stream: transactions by gateway, method and sector, pending ones that settle
later, refunds, and the gateway scenarios (outage, degradation)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ioc.domain.names import ERROR_CODES
from ioc.models import (
    Event,
    Feed,
    PaymentChannel,
    PaymentEvent,
    PaymentMethod,
    PaymentSector,
    PaymentStatus,
)
from simulators import patterns
from simulators.profiles import (
    METHOD_FAILURE,
    SECTOR_FAILURE,
    Gateway,
    ProvinceProfile,
)
from simulators.streams import (
    SOURCES,
    Choice,
    Dossier,
    SimulationState,
    Stream,
    cumulative,
    degradation_ramp,
    local_datetime,
    lognormal,
    normal_quantile,
    unit_from,
    uuid_from,
)
from simulators.worktime import (
    DAY_MS,
    HOUR_MS,
    LOCAL_OFFSET_MS,
    MINUTE_MS,
    local_date,
)

DEGRADED_MAX_FAILURE = 0.6
"""At the end of a ``gateway-degraded`` window this extra share of its payments fails (the
share grows linearly from 0 at the start)."""


# ------------------------------------------------------------------------------------------
# Payments
# ------------------------------------------------------------------------------------------

M = PaymentMethod
ON, OFF = PaymentChannel.ONLINE, PaymentChannel.COUNTER

_ONLINE_METHODS = (
    (M.BANK_TRANSFER, 0.35),
    (M.QR, 0.30),
    (M.E_WALLET, 0.25),
    (M.CARD, 0.10),
)
_COUNTER_METHODS = (
    (M.CASH, 0.60),
    (M.CARD, 0.25),
    (M.QR, 0.15),
)

# sector, share of the sector payments, median amount (VND), spread (sigma of the log),
# share paid online (None: the province's utility_online_share); assumptions.
_UTILITY_SECTORS = (
    (PaymentSector.ELECTRICITY, 0.40, 550_000, 0.7, None),
    (PaymentSector.WATER, 0.25, 140_000, 0.6, None),
    (PaymentSector.TELECOM, 0.35, 110_000, 0.6, None),
)
_OTHER_SECTORS = (
    (PaymentSector.HEALTHCARE, 0.40, 250_000, 1.0, 0.35),
    (PaymentSector.EDUCATION, 0.25, 1_200_000, 0.8, 0.70),
    (PaymentSector.TRANSPORT, 0.35, 80_000, 0.9, 0.90),
)
_UTILITY_SHARE = 0.75
"""Share of the (non-public-service) payments that are utility bills, over a month."""

_METHOD_ERRORS: dict[PaymentMethod, tuple[tuple[str, float], ...]] = {
    M.CASH: (("USER_CANCELLED", 0.6), ("COUNTER_ERROR", 0.4)),
    M.CARD: (("CARD_DECLINED", 0.35), ("OTP_FAILED", 0.25), ("INSUFFICIENT_FUNDS", 0.2),
             ("USER_CANCELLED", 0.1), ("TIMEOUT", 0.05), ("BANK_ERROR", 0.05)),
    M.BANK_TRANSFER: (("INSUFFICIENT_FUNDS", 0.25), ("OTP_FAILED", 0.2), ("TIMEOUT", 0.25),
                      ("BANK_ERROR", 0.2), ("USER_CANCELLED", 0.1)),
    M.QR: (("TIMEOUT", 0.3), ("BANK_ERROR", 0.25), ("QR_EXPIRED", 0.2),
           ("INSUFFICIENT_FUNDS", 0.15), ("USER_CANCELLED", 0.1)),
    M.E_WALLET: (("WALLET_INSUFFICIENT_BALANCE", 0.35), ("WALLET_AUTH_FAILED", 0.2),
                 ("TIMEOUT", 0.25), ("USER_CANCELLED", 0.2)),
}
"""How each method fails (assumption; every code is one ``ioc.domain.names.ERROR_CODES`` allows for
the method, which the tests check)."""

_PENDING_FAILURES = (("PENDING_EXPIRED", 0.6), ("TIMEOUT", 0.25), ("BANK_ERROR", 0.15))
"""How a pending transaction that does not settle ends (the codes the method allows)."""

PENDING_METHODS = frozenset({M.BANK_TRANSFER, M.QR, M.E_WALLET})
PENDING_SHARE = 0.03
"""Share of the transfers, QR and wallet payments that the bank or wallet first answers
"pending" (assumption)."""
PENDING_SETTLES = 0.8
"""Share of the pending ones that settle as paid; the others fail (expire)."""
PENDING_MEDIAN_MS = 8 * MINUTE_MS
PENDING_MAX_MS = 6 * HOUR_MS
"""A pending transaction settles or fails within minutes to hours (lognormal, capped)."""

REFUND_SHARE = 0.002
"""Share of the successful bill payments refunded later (a duplicate payment: assumption)."""
FEE_REFUND_SHARE = 0.5
"""Share of the fees of rejected dossiers that are refunded (assumption)."""

OUTAGE_LATENCY_MS = 30_000


def outage_error(method: PaymentMethod) -> str:
    """What a payment fails with when its gateway or counter system is down."""
    return "COUNTER_SYSTEM_DOWN" if method is M.CASH else "GATEWAY_UNAVAILABLE"


def degraded_error(method: PaymentMethod) -> str:
    """What a payment through a degrading gateway fails with (it answers too late)."""
    return "COUNTER_SYSTEM_DOWN" if method is M.CASH else "TIMEOUT"


OUTAGE_ERROR = outage_error(M.CARD)


class _MethodTable:
    """Method and gateway choice for one channel: method by weight, then gateway by weight."""

    def __init__(
        self, methods: Sequence[tuple[PaymentMethod, float]], gateways: Sequence[Gateway],
        weight: Callable[[Gateway], float],
    ) -> None:
        usable = [(m, w) for m, w in methods if any(m in g.methods for g in gateways)]
        self.methods = [m for m, _ in usable]
        self.method_weights = {m: w for m, w in usable}
        self.method_cum, self.method_total = cumulative([w for _, w in usable])
        self.gateways: dict[PaymentMethod, tuple[list[Gateway], list[float], float]] = {}
        self.gateway_weights: dict[PaymentMethod, list[tuple[Gateway, float]]] = {}
        for method in self.methods:
            options = [g for g in gateways if method in g.methods]
            cum, total = cumulative([weight(g) for g in options])
            self.gateways[method] = (options, cum, total)
            self.gateway_weights[method] = [(g, weight(g) / total) for g in options]

    def choose(self, u_method: float, u_gateway: float) -> tuple[PaymentMethod, Gateway]:
        method = self.methods[bisect_right(self.method_cum, u_method * self.method_total)]
        options, cum, total = self.gateways[method]
        return method, options[bisect_right(cum, u_gateway * total)]

    def mix(self) -> list[tuple[PaymentMethod, Gateway, float]]:
        """Every (method, gateway) this table chooses, with its probability."""
        total = sum(self.method_weights.values())
        return [
            (m, g, self.method_weights[m] / total * share)
            for m in self.methods
            for g, share in self.gateway_weights[m]
        ]


class _Transaction:
    """A payment transaction's fixed attributes, and what its later events need."""

    __slots__ = (
        "amount",
        "cancelled",
        "channel",
        "district",
        "dossier_id",
        "error",
        "gateway",
        "method",
        "refund_id",
        "sector",
        "settle_id",
        "started",
        "status",
        "transaction_id",
    )

    def __init__(self) -> None:
        self.cancelled = False
        self.dossier_id: str | None = None


@dataclass(slots=True)
class _Outcome:
    status: PaymentStatus
    """The final status (success or failed)."""
    pending: bool
    """Answered "pending" first, settled later."""
    error: str | None


class PaymentStream(Stream):
    """Bills and other payments (every sector but public_service).

    Public-service fees are paid by the dossiers' lifecycles and emitted through this stream
    (they belong to this feed, but are drawn by the dossier stream). A transaction through a
    bank transfer, QR or wallet may be "pending" first and settle (or expire) minutes to hours
    later; a few successful ones are refunded later, as transactions of their own.
    """

    feed = Feed.PAYMENT

    N_UNIFORMS = 14
    N_IDS = 3

    def __init__(self, sim: SimulationState, profile: ProvinceProfile) -> None:
        super().__init__(sim, profile, "payment")
        per_ms = profile.payments_per_day * sim.scale / DAY_MS
        self._utility_rate = per_ms * _UTILITY_SHARE
        self._other_rate = per_ms * (1.0 - _UTILITY_SHARE)
        self._table = patterns.day_table(patterns.payments)
        self._source = SOURCES[Feed.PAYMENT]
        online = [g for g in profile.gateways if g.channel is PaymentChannel.ONLINE]
        counter = [g for g in profile.gateways if g.channel is PaymentChannel.COUNTER]
        self.online = _MethodTable(_ONLINE_METHODS, online, lambda g: g.weight)
        self.counter = _MethodTable(_COUNTER_METHODS, counter, lambda g: g.weight)
        self.fee_online = _MethodTable(_ONLINE_METHODS, online, lambda g: g.public_service_weight)
        self.fee_counter = counter and _MethodTable(
            _COUNTER_METHODS, counter, lambda g: g.public_service_weight
        )

        def specs(rows: Sequence[tuple]) -> tuple[list[tuple], list[float], float]:
            items = [
                (
                    sector,
                    profile.utility_online_share if online_share is None else online_share,
                    math.log(median),
                    sigma,
                )
                for sector, _, median, sigma, online_share in rows
            ]
            cum, total = cumulative([row[1] for row in rows])
            return items, cum, total

        self._utility = specs(_UTILITY_SECTORS)
        self._other = specs(_OTHER_SECTORS)
        self._errors = {m: Choice(rows) for m, rows in _METHOD_ERRORS.items()}
        self._pending_errors = {
            m: Choice([(c, w) for c, w in _PENDING_FAILURES if m in ERROR_CODES[c].methods])
            for m in PENDING_METHODS
        }
        self._failure_base = (1.0 - profile.payment_success_rate) / self._expected_failure()
        self._count = 0
        self._prefix = f"TX{profile.abbr}"

    def _expected_failure(self) -> float:
        """The mean failure factor over the province's bill payments (sector x method x
        gateway)."""
        expected = 0.0
        groups = ((_UTILITY_SECTORS, _UTILITY_SHARE), (_OTHER_SECTORS, 1 - _UTILITY_SHARE))
        for group, share in groups:
            weights = sum(row[1] for row in group)
            for sector, weight, _, _, online in group:
                online_share = self.profile.utility_online_share if online is None else online
                for table, channel_share in ((self.online, online_share),
                                             (self.counter, 1 - online_share)):
                    for method, gateway, p in table.mix():
                        expected += share * weight / weights * channel_share * p * (
                            self.failure_factor(gateway, method, sector))
        return expected

    def failure_factor(
        self, gateway: Gateway, method: PaymentMethod, sector: PaymentSector
    ) -> float:
        return (self.profile.gateway_failure.get(gateway.slug, 1.0) * METHOD_FAILURE[method]
                * SECTOR_FAILURE.get(sector.value, 1.0))

    def success_probability(
        self, gateway: Gateway, method: PaymentMethod, sector: PaymentSector
    ) -> float:
        """How likely a payment of ``sector`` through ``gateway`` by ``method`` ends paid."""
        return 1.0 - min(0.9, self._failure_base * self.failure_factor(gateway, method, sector))

    def outcome(
        self, u: float, u_error: float, gateway: Gateway, method: PaymentMethod,
        sector: PaymentSector,
    ) -> _Outcome:
        """The final outcome of a transaction, and whether it was pending first."""
        success = self.success_probability(gateway, method, sector)
        pending = PENDING_SHARE if method in PENDING_METHODS else 0.0
        if u < success:
            return _Outcome(PaymentStatus.SUCCESS, u >= success - pending * PENDING_SETTLES, None)
        if u < success + pending * (1.0 - PENDING_SETTLES):
            return _Outcome(PaymentStatus.FAILED, True, self._pending_errors[method](u_error))
        return _Outcome(PaymentStatus.FAILED, False, self._errors[method](u_error))

    def active(self) -> bool:
        return self._utility_rate + self._other_rate > 0

    def rates(self, bucket_start: int) -> tuple[float, ...]:
        shape = patterns.weight(self._table, bucket_start)
        bill = patterns.BILL_DAY_FACTOR[local_date((bucket_start + LOCAL_OFFSET_MS) // DAY_MS).day]
        return (self._utility_rate * shape * bill, self._other_rate * shape)

    @staticmethod
    def latency(gateway: Gateway, method: PaymentMethod, u: float) -> int | None:
        """The gateway's answer time; none for cash (nothing is waited for)."""
        if method is M.CASH:
            return None
        return min(600_000, int(lognormal(u, gateway.latency_ms, 0.5)))

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        rng = self.rng
        u = [rng.random() for _ in range(self.N_UNIFORMS)]
        ids = [rng.getrandbits(128) for _ in range(self.N_IDS)]
        utility, _ = self.components(t)
        sectors, cum, total = self._utility if u[0] * self._total < utility else self._other
        sector, online_share, mu, sigma = sectors[bisect_right(cum, u[1] * total)]
        district = self.districts[bisect_right(self._district_cum, u[2] * self._district_total)]
        online = u[3] < online_share
        table = self.online if online else self.counter
        method, gateway = table.choose(u[4], u[5])
        amount = max(1_000, int(math.exp(mu + sigma * normal_quantile(u[6])) / 1_000 + 0.5) * 1_000)
        outcome = self.outcome(u[7], u[8], gateway, method, sector)
        self._count += 1
        self.schedule_next(t)
        tx = _Transaction()
        tx.transaction_id = f"{self._prefix}{self.yymmdd(t)}{self._count:08d}"
        tx.sector, tx.method, tx.gateway = sector, method, gateway
        tx.channel = PaymentChannel.ONLINE if online else PaymentChannel.COUNTER
        tx.district, tx.amount = district.code, min(amount, 10_000_000_000)
        tx.status, tx.error, tx.started = outcome.status, outcome.error, t
        tx.settle_id, tx.refund_id = ids[1], ids[2]
        first = self._first_event(
            t, tx, outcome, ids[0], self.latency(gateway, method, u[9]), build
        )
        if tx.cancelled:
            return first
        settled = t
        if outcome.pending:
            settled = t + min(PENDING_MAX_MS, max(MINUTE_MS, int(
                lognormal(u[10], PENDING_MEDIAN_MS, 1.2))))
            self.sim.push(settled, self.settle, tx, self.key)
        if outcome.status is PaymentStatus.SUCCESS and u[11] < REFUND_SHARE:
            refund_at = settled + max(HOUR_MS, int(lognormal(u[12], 6 * HOUR_MS, 1.0)))
            self.sim.push(refund_at, self.refund, tx, self.key)
        return first

    def _first_event(
        self, t: int, tx: _Transaction, outcome: _Outcome, event_id: int,
        latency: int | None, build: bool,
    ) -> PaymentEvent | None:
        """The transaction's first event, as the scenarios let it happen (a payment an outage
        or a degrading gateway fails has no later events: ``tx.cancelled``)."""
        status = PaymentStatus.PENDING if outcome.pending else outcome.status
        error = None if outcome.pending else outcome.error
        if self.sim.outages and self.sim.gateway_down(self.province, tx.gateway.slug, t):
            status, error = PaymentStatus.FAILED, outage_error(tx.method)
            latency = None if tx.method is M.CASH else OUTAGE_LATENCY_MS
            tx.cancelled = True
        elif self.sim.degraded_gateways and unit_from(
            event_id
        ) < DEGRADED_MAX_FAILURE * degradation_ramp(
            self.sim.degraded_gateways.get(self.province), tx.gateway.slug, t
        ):
            status, error = PaymentStatus.FAILED, degraded_error(tx.method)
            latency = None if tx.method is M.CASH else OUTAGE_LATENCY_MS
            tx.cancelled = True
        if status is PaymentStatus.FAILED and error == "TIMEOUT" and latency is not None:
            latency = max(latency, OUTAGE_LATENCY_MS)
        if not build:
            return None
        return self._event(t, tx, status, error, latency, event_id)

    def _event(
        self, t: int, tx: _Transaction, status: PaymentStatus, error: str | None,
        latency: int | None, event_id: int, *, initiated: int | None = None,
        transaction_id: str | None = None, refund_of: str | None = None,
    ) -> PaymentEvent:
        return PaymentEvent(
            event_id=uuid_from(event_id),
            occurred_at=local_datetime(t),
            province=self.province,
            district=tx.district,
            source=self._source,
            transaction_id=transaction_id or tx.transaction_id,
            sector=tx.sector,
            method=tx.method,
            channel=tx.channel,
            gateway=tx.gateway.slug,
            amount_vnd=tx.amount,
            status=status,
            latency_ms=latency,
            error_code=error,
            dossier_id=tx.dossier_id,
            refund_of=refund_of,
            initiated_at=None if initiated is None else local_datetime(initiated),
        )

    def settle(self, t: int, tx: _Transaction, build: bool) -> Event | None:
        """A pending transaction settles (or expires): notified later, nothing waited for."""
        if not build or tx.cancelled:
            return None
        return self._event(t, tx, tx.status, tx.error, None, tx.settle_id, initiated=tx.started)

    def refund(self, t: int, tx: _Transaction, build: bool) -> Event | None:
        """A refund of a successful payment: a transaction of its own that names it."""
        if not build or tx.cancelled:
            return None
        latency = self.latency(tx.gateway, tx.method, unit_from(tx.refund_id))
        return self._event(
            t, tx, PaymentStatus.REFUNDED, None, latency, tx.refund_id,
            transaction_id=f"{tx.transaction_id}-HT", refund_of=tx.transaction_id,
        )

    def fee(self, dossier: Dossier, u: Sequence[float], ids: Sequence[int], paid: int,
            final: int, number: str) -> None:
        """Schedule the fee payment of a dossier: an attempt, a retry if it fails (a fee
        always ends paid, once), and a refund of some fees of rejected dossiers."""
        if dossier.fee_paid_online:
            method, gateway = self.fee_online.choose(u[0], u[1])
        elif self.fee_counter:
            method, gateway = self.fee_counter.choose(u[0], u[1])
        else:
            method, gateway = self.fee_online.choose(u[0], u[1])
        outcome = self.outcome(u[2], u[3], gateway, method, PaymentSector.PUBLIC_SERVICE)
        attempts = [(paid, outcome, ids[0], ids[1], f"PS{number}")]
        if outcome.status is PaymentStatus.FAILED:
            retry = paid + 2 * MINUTE_MS + int(u[4] * 15 * MINUTE_MS)
            if outcome.pending:
                retry += int(lognormal(u[5], PENDING_MEDIAN_MS, 1.0))
            paid_now = _Outcome(PaymentStatus.SUCCESS, False, None)
            attempts.append((retry, paid_now, ids[2], ids[2], f"PS{number}B"))
        for at, result, event_id, settle_id, transaction_id in attempts:
            tx = _Transaction()
            tx.transaction_id, tx.sector = transaction_id, PaymentSector.PUBLIC_SERVICE
            tx.method, tx.gateway = method, gateway
            tx.channel = ON if dossier.fee_paid_online else OFF
            tx.district, tx.amount = dossier.district, dossier.fee_vnd
            tx.dossier_id = dossier.dossier_id
            tx.status, tx.error = result.status, result.error
            tx.started, tx.settle_id = at, settle_id
            tx.refund_id = ids[3]
            latency = self.latency(gateway, method, u[6])
            self.sim.push(at, self.emit_fee, (tx, result, event_id, latency), self.key)
            if result.pending:
                settle = at + min(PENDING_MAX_MS, max(MINUTE_MS, int(
                    lognormal(u[7], PENDING_MEDIAN_MS, 1.2))))
                self.sim.push(settle, self.settle, tx, self.key)
            refunded = dossier.rejected and u[8] < FEE_REFUND_SHARE
            if result.status is PaymentStatus.SUCCESS and refunded:
                refund_at = max(final, at) + HOUR_MS + int(u[9] * 2 * DAY_MS)
                self.sim.push(refund_at, self.refund, tx, self.key)

    def emit_fee(self, t: int, payload: tuple, build: bool) -> Event | None:
        tx, outcome, event_id, latency = payload
        return self._first_event(t, tx, outcome, event_id, latency, build)


