"""The dossier stream: each administrative procedure's lifecycle from submission to result,
by agency and level, on the working calendar; the portal and agency scenarios."""

from __future__ import annotations

from typing import Any

from ioc.models import (
    AgencyLevel,
    DossierChannel,
    DossierEvent,
    DossierStatus,
    Event,
    Feed,
)
from simulators import patterns
from simulators.payments import PaymentStream
from simulators.profiles import (
    EXTENDED_HOURS_DEPARTMENTS,
    Agency,
    ProvinceProfile,
)
from simulators.streams import (
    RATINGS_LATE,
    RATINGS_REJECTED,
    SOURCES,
    Dossier,
    SimulationState,
    Stream,
    cumulative,
    degradation_ramp,
    lateness,
    local_datetime,
    pick,
    ratings,
    uuid_from,
)
from simulators.worktime import (
    DAY_MS,
    EXTENDED,
    HOUR_MS,
    MINUTE_MS,
    OFFICE,
    SATURDAY_DESK,
    WORKDAY_MS,
    WorkCalendar,
    add_work,
)

# ------------------------------------------------------------------------------------------
# Dossiers
# ------------------------------------------------------------------------------------------


_AGENCY_ACTIONS = frozenset({
    DossierStatus.PROCESSING, DossierStatus.SUPPLEMENT_REQUESTED, DossierStatus.RESOLVED,
    DossierStatus.REJECTED,
})

class DossierStream(Stream):
    feed = Feed.DOSSIER

    N_UNIFORMS = 42
    N_IDS = 6

    def __init__(
        self, sim: SimulationState, profile: ProvinceProfile, payments: PaymentStream
    ) -> None:
        super().__init__(sim, profile, "dossier")
        self.payments = payments
        per_ms = profile.dossiers_per_day * sim.scale / DAY_MS
        self._online_rate = per_ms * profile.online_share
        self._counter_rate = per_ms * (1.0 - profile.online_share)
        self._online_table = patterns.day_table(patterns.online_dossiers)
        self._counter_table = patterns.day_table(patterns.counter_dossiers(profile.saturday_desks))
        self._procedures = list(profile.procedures)
        self._procedure_cum, self._procedure_total = cumulative(
            [p.weight for p in profile.procedures]
        )
        feeable = profile.feeable_share
        self._fee_probability = profile.fee_share / feeable if feeable > 0 else 0.0
        self._other_online_payment = profile.other_online_payment_probability
        self._counter_digitised = profile.counter_digitised_probability
        self._late_base = profile.dossier_late_base()
        self._desk: WorkCalendar = SATURDAY_DESK if profile.saturday_desks else OFFICE
        rated_unhappy = 1.0 - profile.dossier_satisfaction / profile.dossier_on_time_rate
        share = profile.rating_share
        self._ratings_on_time = ratings(min(0.9, rated_unhappy / share) if share else 0.0,
                                         (0.12, 0.38, 0.50))
        self._departments = {a.code.rsplit(".", 1)[1]: a for a in profile.departments()}
        self._district_agency: dict[str, Agency] = {}
        self._communes: dict[str, list[Agency]] = {}
        for agency in profile.agencies:
            if agency.level is AgencyLevel.DISTRICT and agency.district:
                self._district_agency[agency.district] = agency
            elif agency.level is AgencyLevel.COMMUNE and agency.district:
                self._communes.setdefault(agency.district, []).append(agency)
        for procedure in profile.procedures:
            if procedure.level is AgencyLevel.PROVINCE and (
                procedure.department not in self._departments
            ):
                raise ValueError(
                    f"{profile.code}: procedure {procedure.code} needs department "
                    f"{procedure.department!r}, which the profile does not have"
                )
        self._source = SOURCES[Feed.DOSSIER]
        self._numbers: dict[tuple[str, int], int] = {}
        self._fee_count = 0

    def active(self) -> bool:
        return self._online_rate + self._counter_rate > 0

    def rates(self, bucket_start: int) -> tuple[float, ...]:
        return (self._online_rate * patterns.weight(self._online_table, bucket_start),
                self._counter_rate * patterns.weight(self._counter_table, bucket_start))

    def _agency(self, procedure_level: AgencyLevel, department: str | None,
                district: str, u: float) -> Agency:
        if procedure_level is AgencyLevel.PROVINCE:
            return self._departments[department or ""]
        if procedure_level is AgencyLevel.COMMUNE:
            communes = self._communes.get(district)
            if communes:
                return communes[min(int(u * len(communes)), len(communes) - 1)]
        return self._district_agency[district]

    @staticmethod
    def _calendar(agency: Agency) -> WorkCalendar:
        """When the agency's back office works on its dossiers."""
        return EXTENDED if agency.department in EXTENDED_HOURS_DEPARTMENTS else OFFICE

    def arrive(self, t: int, payload: Any, build: bool) -> Event | None:
        rng = self.rng
        r = rng.random
        online_rate, _ = self.components(t)
        total = self._total
        u = [r() for _ in range(self.N_UNIFORMS)]
        ids = [rng.getrandbits(128) for _ in range(self.N_IDS + 4)]
        self.schedule_next(t)  # the next arrival's draws come after this dossier's
        profile = self.profile

        online = u[0] * total < online_rate
        if online:
            fully = u[1] < profile.fully_online_share_of_online
            channel = DossierChannel.FULLY_ONLINE if fully else DossierChannel.PARTLY_ONLINE
        else:
            fully = False
            channel = DossierChannel.IN_PERSON
        district = self.district(u[2]).code
        procedure = pick(self._procedures, self._procedure_cum, self._procedure_total, u[3])
        agency = self._agency(procedure.level, procedure.department, district, u[4])
        work_calendar = self._calendar(agency)
        fee = 0
        if procedure.fee_vnd > 0 and u[5] < self._fee_probability:
            fee = procedure.fee_vnd
            if procedure.fee_max_vnd > fee:
                fee *= 1 + int(u[6] * (procedure.fee_max_vnd // procedure.fee_vnd))
                fee = min(fee, procedure.fee_max_vnd)
        pays_online = fully or u[7] < self._other_online_payment

        # A portal outage postpones the submission: people come back when it is over.
        submitted = t
        resume = self.sim.portal_down_until(self.province, t) if self.sim.portal_down else None
        if resume is not None:
            submitted = resume + MINUTE_MS + int(u[8] * 45 * MINUTE_MS)

        # Receipt: at once at the counter, within the desk's hours for online dossiers.
        if online:
            received = add_work(submitted, 10 * MINUTE_MS + int(u[9] * 3 * HOUR_MS), self._desk)
        else:
            received = add_work(submitted, 2 * MINUTE_MS + int(u[9] * 10 * MINUTE_MS), self._desk)
        work = max(HOUR_MS, int(procedure.processing_days * WORKDAY_MS))
        due = add_work(received, work)  # deadlines count the legal working days

        # Agency actions as working-time offsets from receipt (all before ``work`` = due),
        # placed on the agency's own calendar (which may be open longer than the legal one).
        processing_off = 5 * MINUTE_MS + int(u[10] * min(2 * HOUR_MS, work // 10))
        S = DossierStatus
        offsets: list[tuple[int, DossierStatus]] = [(processing_off, S.PROCESSING)]
        supplement = procedure.processing_days >= 3 and u[11] < profile.supplement_rate
        rejected = u[12] < profile.dossier_rejection_rate
        last_off = processing_off
        if supplement:
            last_off += int(work * (0.05 + 0.2 * u[13]))
            offsets.append((last_off, S.SUPPLEMENT_REQUESTED))
            if not rejected:
                last_off += int(work * (0.1 + 0.2 * u[16]))
                offsets.append((last_off, S.PROCESSING))
        final_at: int | None = None
        late = u[15] < min(0.9, self._late_base * profile.late_factor(procedure, district))
        if rejected:
            final_off = last_off + int((work - last_off) * (0.1 + 0.6 * u[14]))
            offsets.append((final_off, S.REJECTED))
        elif not late:
            low = last_off + MINUTE_MS
            offsets.append((low + int((work - low) * u[14]), S.RESOLVED))
        else:  # late: some working time after the due date
            final_at = add_work(due, lateness(u[14], 1.5 * WORKDAY_MS), work_calendar)

        steps: list[list] = [[submitted, S.SUBMITTED, ids[0]], [received, S.RECEIVED, ids[1]]]
        previous = received
        for i, (offset, status) in enumerate(offsets):
            at = max(add_work(received, offset, work_calendar), previous + 1_000)
            if status in (S.RESOLVED, S.REJECTED):
                at = min(at, max(due, previous + 1_000))  # an on-time one stays on time
            steps.append([at, status, ids[2 + i]])
            previous = at
        if final_at is not None:
            steps.append([max(final_at, previous + 1_000), S.RESOLVED, ids[2 + len(offsets)]])

        dossier = Dossier()
        dossier.steps = steps
        dossier.channel = channel
        dossier.district = district
        dossier.procedure = procedure
        dossier.agency = agency
        dossier.fee_vnd = fee
        dossier.fee_paid_online = (pays_online if fee else None)
        dossier.submitted_at = local_datetime(submitted)
        dossier.due_at = local_datetime(due)
        dossier.due_ms = due
        dossier.rejected = rejected
        dossier.files_digitised = online or u[24] < self._counter_digitised
        dossier.data_reused = u[25] < profile.data_reuse_share
        dossier.status_published = u[26] < profile.status_published_share
        dossier.result_digitised = u[27] < profile.result_digitised_share
        dossier.hold = u[30]
        dossier.satisfaction = None
        if u[28] < profile.rating_share:
            if rejected:
                dossier.satisfaction = RATINGS_REJECTED(u[29])
            elif late:
                dossier.satisfaction = RATINGS_LATE(u[29])
            else:
                dossier.satisfaction = self._ratings_on_time(u[29])
        number = self.number(self._numbers, agency.code, submitted, t)
        dossier.dossier_id = f"{agency.code}-{self.yymmdd(submitted)}-{number:04d}"
        self.sim.push(submitted, self.step, dossier, self.key)

        if fee:
            self._schedule_fee(dossier, u, ids, fully, submitted, received, steps[-1][0])
        return None

    def _schedule_fee(
        self, dossier: Dossier, u: list[float], ids: list[int], fully: bool,
        submitted: int, received: int, final: int,
    ) -> None:
        """The fee payment of a dossier (a failed or pending first attempt, sometimes)."""
        if fully:  # toàn trình: paid on the portal right after submitting
            paid = submitted + MINUTE_MS + int(u[17] * 15 * MINUTE_MS)
        elif dossier.fee_paid_online:  # paid online once the one-stop desk asks for it
            paid = received + 2 * MINUTE_MS + int(u[17] * 30 * MINUTE_MS)
        else:  # at the cashier, right after receipt
            paid = received + MINUTE_MS + int(u[17] * 5 * MINUTE_MS)
        paid = max(submitted, min(paid, final - MINUTE_MS))
        self._fee_count += 1
        number = f"{self.profile.abbr}{self.yymmdd(submitted)}{self._fee_count:07d}"
        self.payments.fee(dossier, u[31:41], ids[self.N_IDS:], paid, final, number)

    def step(self, t: int, dossier: Dossier, build: bool) -> Event | None:
        index = dossier.index
        steps = dossier.steps
        _, status, event_id = steps[index]
        if status in _AGENCY_ACTIONS and self.sim.degraded_agencies:
            held = self._hold(t, dossier)
            if held:
                return None
        dossier.index = index + 1
        if index + 1 < len(steps):
            self.sim.push(steps[index + 1][0], self.step, dossier, self.key)
        if not build:
            return None
        agency = dossier.agency
        procedure = dossier.procedure
        final = status in (DossierStatus.RESOLVED, DossierStatus.REJECTED)
        return DossierEvent(
            event_id=uuid_from(event_id),
            occurred_at=local_datetime(t),
            province=self.province,
            district=dossier.district,
            source=self._source,
            dossier_id=dossier.dossier_id,
            procedure_code=procedure.code,
            procedure_name=procedure.name,
            agency_code=agency.code,
            agency_name=agency.name,
            agency_level=agency.level,
            channel=dossier.channel,
            status=status,
            submitted_at=dossier.submitted_at,
            due_at=dossier.due_at,
            fee_vnd=dossier.fee_vnd,
            fee_paid_online=dossier.fee_paid_online,
            sector=procedure.sector,
            files_digitised=dossier.files_digitised,
            data_reused=dossier.data_reused,
            status_published=dossier.status_published,
            result_digitised=(
                dossier.result_digitised if status is DossierStatus.RESOLVED else None
            ),
            satisfaction=dossier.satisfaction if final else None,
        )

    def _hold(self, t: int, dossier: Dossier) -> bool:
        """A degrading agency leaves this step for after the window (with a probability that
        grows over it): the step and all later ones move; True when it did."""
        windows = self.sim.degraded_agencies.get(self.province)
        ramp = degradation_ramp(windows, dossier.agency.code, t)
        if ramp <= 0.0 or dossier.hold >= ramp:
            return False
        end = self.sim.agency_hold(self.province, dossier.agency.code, t) or t
        calendar = self._calendar(dossier.agency)
        # the backlog is cleared in the working hours after the window, oldest first
        resume = add_work(end, int(dossier.hold * 4 * HOUR_MS), calendar)
        delta = resume - t
        for step in dossier.steps[dossier.index:]:
            step[0] += delta
        self.sim.push(dossier.steps[dossier.index][0], self.step, dossier, self.key)
        return True


