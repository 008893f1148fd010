"""The demo stream: every claim's dated contract records, validated, and scheduled in waves.

`build_stream(claims, seed, run_id)` is pure: a seeded `random.Random`, dates from the clinic's fixed epoch, and ids
in the run's namespace (`<run_id>-C00017` for claims, `<run_id>-C00017-03r` for events, `<run_id>-MRN00042` for
patients), so two runs never collide in one database and the same seed yields the same content under any run id.

Why waves: the worker consumes each input topic on its own and a patient's claims sit on different partitions, but
how a remittance is classified depends on the patient's other claims (frequency limits, prerequisites, duplicates)
and on the claim's own status events. Each patient's timeline is cut into steps that cannot race: a run of status
events, or a run of one claim's remittances. Wave k holds every patient's k-th step; publishing a wave only after
the previous one is processed gives every run the same result, whatever the partition assignment or batch timing.
Provider adjustments (keyed by payee NPI) go in the last wave, once every claim they name exists.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from service.demo.adjudication import ClaimPlan, Pricer, Remit, adjudicate_plan, money, plan_claim, plan_duplicate
from service.demo.clinic import BILLING_NPI, PRACTICE_NAME, PayerProfile, filing_limit
from service.demo.encounters import InjuryFacts, Line, Visit, make_patient, patient_visits, weekday
from topics.catalogue import CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS
from topics.codec import encode
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

# The default stream (500 claims, this seed) shows every scenario the generator knows; a unit test keeps it so.
DEFAULT_CLAIMS = 500
DEFAULT_SEED = 21
SOURCE = "denials-demo"
UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to publish."""

    topic: str
    key: bytes
    value: bytes
    event_id: str
    occurred_at: dt.datetime
    claim_id: str | None
    patient: int  # the patient's number, for scheduling
    order: int  # position in the claim's timeline (ties in time)


@dataclass(frozen=True, slots=True)
class ObtainedAuthorization:
    """A prior authorization the practice obtained for a visit (whether or not its number reached the claim)."""

    payer_id: str
    member_id: str = field(repr=False)  # a (synthetic) patient's member id: only its digest is stored
    auth_number: str
    kind: str  # the visit kind: esi, facet, rfa, si, scs_trial, scs_implant
    service_date: dt.date
    codes: tuple[str, ...] = ()  # the procedure codes of the visit it was obtained for (primary first)


@dataclass(frozen=True, slots=True)
class DemoStream:
    run_id: str
    seed: int
    claims: int
    patients: int
    waves: tuple[tuple[Outgoing, ...], ...]
    scenarios: dict[str, int]  # claims per adjudication scenario (paid, auth_missing, ...)
    followups: dict[str, int]  # claims per practice/payer follow-up (corrected, reopen, appeal_won, ...)
    authorizations: tuple[ObtainedAuthorization, ...] = ()  # what the practice obtained (its register)

    @property
    def events(self) -> int:
        return sum(len(w) for w in self.waves)

    def records(self) -> Iterator[Outgoing]:
        """Every record in publishing order."""
        for wave in self.waves:
            yield from wave

    def by_topic(self) -> dict[str, int]:
        return dict(sorted(Counter(r.topic for r in self.records()).items()))

    @property
    def prefix(self) -> str:
        """Every claim, event and patient id of the run starts with this."""
        return f"{self.run_id}-"


def _at(day: dt.date, rng: random.Random, first_hour: int, last_hour: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, rng.randint(first_hour, last_hour), rng.randint(0, 59),
                       tzinfo=UTC)


_SIDES = {"RT": "right", "LT": "left", "50": "bilateral"}


def _documented(visit: Visit, line: Line) -> dict[str, Any]:
    """What the procedure note says about a procedure line (optional contract fields): side, levels, intent and the
    relief that followed."""
    if line.is_drug or line.is_visit:
        return {}
    note = visit.note
    side = next((_SIDES[m] for m in line.modifiers if m in _SIDES), None)
    out: dict[str, Any] = {"side": side, "levels": list(note.levels), "intent": note.intent,
                           "relief_percent": note.relief_percent, "relief_days": note.relief_days}
    return {k: v for k, v in out.items() if v not in (None, [])}


def _injury(injury: InjuryFacts) -> dict[str, Any]:
    return {"kind": "workers_comp", "date_of_injury": injury.date_of_injury, "claim_number": injury.claim_number,
            "adjuster_name": injury.adjuster_name, "employer": injury.employer, "state": injury.state}


def _payer(p: PayerProfile) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "type": p.type}


class _ClaimTimeline:
    """Dated records of one claim, in order; ids `<claim_id>-<nn><tag>`."""

    def __init__(self, builder: _StreamBuilder, plan: ClaimPlan) -> None:
        self.b = builder
        self.rng = builder.rng
        self.plan = plan
        self.claim_id = builder.claim_id(plan.number)
        self.out: list[Outgoing] = []
        self.last = dt.datetime.min.replace(tzinfo=UTC)

    def _emit(self, topic: str, model: type[BaseModel], record: dict[str, Any], tag: str, *,
              key: str | None = None) -> None:
        at = record["occurred_at"]
        if at <= self.last:  # keep the claim's own events strictly in time order
            at = self.last + dt.timedelta(minutes=1)
            record["occurred_at"] = at
        self.last = at
        event_id = f"{self.claim_id}-{len(self.out) + 1:02d}{tag}"
        record["event_id"] = event_id
        value = encode(model.model_validate(record))
        self.out.append(Outgoing(topic, (key or self.claim_id).encode(), value, event_id, at, self.claim_id,
                                 self.plan.patient.number, len(self.out)))

    # -- claim-status records ------------------------------------------------------------------------------------

    def _patient(self, member_id: str | None) -> dict[str, Any]:
        p = self.plan.patient
        return {"member_id": member_id, "patient_ref": p.ref, "name": p.name, "birth_date": p.birth_date}

    def submitted(self, at: dt.datetime, lines: list[Line], *, member_id: str | None, prior_auth: str | None,
                  frequency: str = "1", original_icn: str | None = None, billing_npi: str = BILLING_NPI) -> None:
        plan, visit = self.plan, self.plan.visit
        secondary = plan.patient.secondary
        record = {
            "kind": "submitted", "occurred_at": at, "source": SOURCE, "payer": _payer(plan.payer),
            "claim": {
                "claim_id": self.claim_id, "frequency_code": frequency, "original_payer_claim_number": original_icn,
                "total_charge": sum((self.b.pricer.charge(ln) for ln in lines), Decimal("0.00")),
                "service_date_from": visit.dos, "service_date_to": visit.dos, "patient": self._patient(member_id),
                "provider": {"billing_npi": billing_npi, "rendering_npi": visit.rendering.npi},
                "diagnoses": list(plan.diagnoses), "prior_authorization": prior_auth,
                "other_payers": [{**_payer(secondary), "responsibility": "secondary"}] if secondary else [],
                "lines": [{"line_id": str(i), "procedure": {"code": ln.code, "modifiers": list(ln.modifiers)},
                           "units": ln.units, "charge": self.b.pricer.charge(ln), "service_date": visit.dos,
                           "diagnosis_pointers": [d for d in ln.dx if d <= len(plan.diagnoses)] or [1],
                           **_documented(visit, ln)}
                          for i, ln in enumerate(lines, start=1)],
                **({"injury": _injury(plan.patient.injury)} if plan.patient.injury and plan.payer.type ==
                   "workers_comp" else {}),
            },
            "status": None,
        }
        self._emit(CLAIMS_STATUS, StatusEvent, record, "s")

    def status(self, at: dt.datetime, kind: str, category: str, code: str | None, entity: str | None,
               action_code: str | None = None, *, member_id: str | None = None) -> None:
        plan, visit = self.plan, self.plan.visit
        record = {
            "kind": kind, "occurred_at": at, "source": SOURCE, "payer": _payer(plan.payer),
            "claim": {"claim_id": self.claim_id, "trace_number": self.claim_id,
                      "total_charge": sum((self.b.pricer.charge(ln) for ln in plan.lines), Decimal("0.00")),
                      "service_date_from": visit.dos, "service_date_to": visit.dos,
                      "patient": self._patient(member_id or plan.member_id)},
            "status": {"category": category, "code": code, "entity": entity, "action_code": action_code,
                       "effective_date": at.date()},
        }
        self._emit(CLAIMS_STATUS, StatusEvent, record, "a" if kind == "acknowledgement" else "t")

    # -- remittances ---------------------------------------------------------------------------------------------

    def remittance(self, remit: Remit, production: dt.date, icn: str, *, member_id: str, lines_dos: dt.date) -> None:
        received = production + dt.timedelta(days=self.rng.randint(1, 2))
        record = {
            "occurred_at": _at(received, self.rng, 6, 9), "source": SOURCE, "payer": _payer(remit.payer),
            "remit": {"trace_number": self.b.trace(remit.payer, production), "production_date": production,
                      "payment_date": production + dt.timedelta(days=self.rng.randint(0, 2)),
                      "received_date": received},
            "claim": {
                "claim_id": self.claim_id, "payer_claim_number": icn, "status_code": remit.status_code,
                "filing_indicator": remit.payer.filing_indicator, "total_charge": remit.total_charge,
                "total_paid": remit.total_paid, "patient_responsibility": remit.patient_responsibility,
                "service_date_from": lines_dos, "service_date_to": lines_dos,
                "patient": {**self._patient(member_id), "birth_date": None},
                "adjustments": [], "remarks": list(remit.remarks),
                "lines": [{"line_id": ln.line_id,
                           "procedure": {"code": ln.line.code, "modifiers": list(ln.line.modifiers)},
                           "units": ln.line.units, "charge": ln.charge, "allowed": ln.allowed, "paid": ln.paid,
                           "service_date": lines_dos, "line_control_number": f"{self.claim_id}.{ln.line_id}",
                           "adjustments": [{"group": a.group, "reason": a.reason, "amount": a.amount}
                                           for a in ln.adjustments],
                           "remarks": list(ln.remarks)} for ln in remit.lines],
            },
        }
        self._emit(CLAIMS_REMITTANCE, RemittanceEvent, record, "x" if remit.status_code == "22" else "r")

    def interest(self, remit: Remit, production: dt.date, days_late: int) -> None:
        amount = max(Decimal("0.50"), money(remit.total_paid * Decimal("0.10") * days_late / 365))
        received = production + dt.timedelta(days=1)
        record = {
            "occurred_at": _at(received, self.rng, 10, 11), "source": SOURCE, "payer": _payer(remit.payer),
            "payee": {"npi": BILLING_NPI, "name": PRACTICE_NAME},
            "remit": {"trace_number": self.b.trace(remit.payer, production), "production_date": production,
                      "payment_date": production, "received_date": received},
            # L6: interest owed for paying late; negative, because a positive PLB amount reduces the payment
            "adjustment": {"reason": "L6", "reference": self.claim_id, "claim_id": self.claim_id,
                           "amount": -amount, "fiscal_period_date": production},
        }
        self._emit(PROVIDER_ADJUSTMENTS, ProviderAdjustmentEvent, record, "p", key=BILLING_NPI)


class _StreamBuilder:
    def __init__(self, seed: int, run_id: str) -> None:
        self.rng = random.Random(seed)
        self.run_id = run_id
        self.pricer = Pricer()
        self._traces: dict[tuple[str, dt.date], str] = {}
        self._icn_serial = 0

    def claim_id(self, number: int) -> str:
        return f"{self.run_id}-C{number:05d}"

    def trace(self, payer: PayerProfile, production: dt.date) -> str:
        """One 835 (one EFT trace number) per payer and production date."""
        key = (payer.id, production)
        if key not in self._traces:
            self._traces[key] = f"{len(self._traces) + 1:04d}{production:%y%m%d}{self.rng.randint(100, 999)}"
        return self._traces[key]

    def icn(self, payer: PayerProfile, production: dt.date) -> str:
        """A payer claim control number (CLP07)."""
        self._icn_serial += 1
        if payer.type == "medicare":
            julian = production.timetuple().tm_yday
            return f"{production:%y}{julian:03d}{self._icn_serial:04d}{self.rng.randint(0, 9999):04d}"
        return f"{payer.id.split('-')[0][:3]}{production:%y%m}{self._icn_serial:05d}{self.rng.randint(10, 99)}"

    # -- one claim's life ----------------------------------------------------------------------------------------

    def timeline(self, plan: ClaimPlan, submitted_on: dt.date) -> list[Outgoing]:
        rng, visit, payer = self.rng, plan.visit, plan.payer
        t = _ClaimTimeline(self, plan)
        at = _at(submitted_on, rng, 17, 20)  # the day's claims go out after clinic hours
        if plan.rejection is not None:
            category, code, entity = plan.rejection
            npi = BILLING_NPI[:-2] + BILLING_NPI[-1] + BILLING_NPI[-2] if code == "562" else BILLING_NPI
            member = None if category == "A6" else plan.member_id
            t.submitted(at, plan.lines, member_id=member, prior_auth=plan.prior_auth, billing_npi=npi)
            at = _at(submitted_on + dt.timedelta(days=1), rng, 5, 9)
            t.status(at, "acknowledgement", category, code, entity, "U")
            at = _at(weekday(at.date() + dt.timedelta(days=rng.randint(2, 6))), rng, 17, 20)
        t.submitted(at, plan.lines, member_id=plan.member_id, prior_auth=plan.prior_auth)
        accepted = _at(at.date() + dt.timedelta(days=1), rng, 5, 9)
        t.status(accepted, "acknowledgement", "A2", "20", "PR", "WQ")
        earliest = accepted.date() + dt.timedelta(days=payer.remit_lag[0])
        if plan.status_277 is not None:
            category, code, entity = plan.status_277
            status_day = accepted.date() + dt.timedelta(days=rng.randint(8, 14))
            t.status(_at(status_day, rng, 6, 10), "status", category, code, entity)
            earliest = max(earliest, status_day + dt.timedelta(days=7))
        production = weekday(earliest + dt.timedelta(days=rng.randint(0, payer.remit_lag[1] - payer.remit_lag[0])))
        first = plan.first
        assert first is not None
        icn = self.icn(payer, production)
        t.remittance(first, production, icn, member_id=plan.member_id, lines_dos=visit.dos)
        days_to_pay = (production - accepted.date()).days
        if plan.interest and days_to_pay > 30:
            t.interest(first, production, days_to_pay - 30)
        if plan.secondary is not None:
            second_on = weekday(production + dt.timedelta(days=rng.randint(*plan.secondary.payer.remit_lag)))
            t.remittance(plan.secondary, second_on, self.icn(plan.secondary.payer, second_on),
                         member_id=plan.patient.secondary_member_id or plan.member_id, lines_dos=visit.dos)
        self._follow_up(t, plan, production, icn)
        return t.out

    def _follow_up(self, t: _ClaimTimeline, plan: ClaimPlan, production: dt.date, icn: str) -> None:
        rng, payer = self.rng, plan.payer
        if plan.followup == "corrected":
            # frequency 7: replaces the adjudicated claim named by the payer's claim number
            sent = weekday(production + dt.timedelta(days=rng.randint(7, 25)))
            t.submitted(_at(sent, rng, 17, 20), plan.fixed_lines, member_id=plan.fixed_member_id,
                        prior_auth=plan.fixed_prior_auth, frequency="7", original_icn=icn)
            t.status(_at(sent + dt.timedelta(days=1), rng, 5, 9), "acknowledgement", "A2", "20", "PR", "WQ",
                     member_id=plan.fixed_member_id)
            paid_on = weekday(sent + dt.timedelta(days=rng.randint(*payer.remit_lag)))
            t.remittance(plan.after[0], paid_on, self.icn(payer, paid_on), member_id=plan.fixed_member_id,
                         lines_dos=plan.visit.dos)
        elif plan.followup in ("reopen", "appeal_won", "repriced", "recouped"):
            low, high = {"reopen": (30, 50), "appeal_won": (45, 90), "repriced": (40, 80),
                         "recouped": (60, 100)}[plan.followup]
            redone = weekday(production + dt.timedelta(days=rng.randint(low, high)))
            reversal, again = plan.after
            # one 835 carries both: the reversal of the original (its claim number) and the new adjudication
            t.remittance(reversal, redone, icn, member_id=plan.member_id, lines_dos=plan.visit.dos)
            t.remittance(again, redone, self.icn(payer, redone), member_id=plan.fixed_member_id,
                         lines_dos=plan.visit.dos)


def _submission_day(rng: random.Random, plan: ClaimPlan, original_sent: dict[int, dt.date]) -> dt.date:
    if plan.duplicate_of is not None:
        return weekday(original_sent[plan.duplicate_of] + dt.timedelta(days=rng.randint(30, 40)))
    if plan.late:
        return weekday(filing_limit(plan.payer, plan.visit.dos) + dt.timedelta(days=rng.randint(10, 45)))
    return weekday(plan.visit.dos + dt.timedelta(days=rng.randint(1, 4)))


def _steps(records: list[Outgoing]) -> list[list[Outgoing]]:
    """Cut one patient's records (time order) into steps: a run of status records (any of the patient's claims), or
    a run of one claim's remittances."""
    steps: list[list[Outgoing]] = []
    for rec in records:
        current = steps[-1] if steps else None
        same = current is not None and current[-1].topic == rec.topic and (
            rec.topic == CLAIMS_STATUS or current[-1].claim_id == rec.claim_id)
        if same:
            current.append(rec)
        else:
            steps.append([rec])
    return steps


def schedule(records: list[Outgoing]) -> tuple[tuple[Outgoing, ...], ...]:
    """Waves: wave k = every patient's k-th step. Provider adjustments join the last wave: each follows a remittance
    of its claim, so that claim's submission was processed in an earlier wave and the claim exists to link to."""
    by_patient: dict[int, list[Outgoing]] = {}
    adjustments: list[Outgoing] = []
    for rec in records:
        if rec.topic == PROVIDER_ADJUSTMENTS:
            adjustments.append(rec)
        else:
            by_patient.setdefault(rec.patient, []).append(rec)
    waves: list[list[Outgoing]] = []
    for patient in sorted(by_patient):
        timeline = sorted(by_patient[patient], key=lambda r: (r.occurred_at, r.claim_id or "", r.order))
        for k, step in enumerate(_steps(timeline)):
            if k == len(waves):
                waves.append([])
            waves[k].extend(step)
    if adjustments:
        waves[-1].extend(adjustments)
    return tuple(tuple(sorted(w, key=lambda r: (r.occurred_at, r.claim_id or "", r.order))) for w in waves)


def build_stream(claims: int, seed: int, run_id: str) -> DemoStream:
    """Exactly `claims` claims (a resent duplicate counts as a claim) from as many patients as that takes."""
    if claims < 1:
        raise ValueError("claims must be at least 1")
    b = _StreamBuilder(seed, run_id)
    rng = b.rng
    plans: list[ClaimPlan] = []
    patients = 0
    while len(plans) < claims:
        patients += 1
        patient = make_patient(rng, patients, run_id)
        for visit in patient_visits(rng, patient):
            if len(plans) == claims:
                break
            plan = plan_claim(rng, len(plans) + 1, visit)
            adjudicate_plan(b.pricer, rng, plan)
            plans.append(plan)
            if plan.resend and len(plans) < claims:
                duplicate = plan_duplicate(len(plans) + 1, plan)
                adjudicate_plan(b.pricer, rng, duplicate)
                plans.append(duplicate)
    records: list[Outgoing] = []
    sent: dict[int, dt.date] = {}
    for plan in plans:
        sent[plan.number] = day = _submission_day(rng, plan, sent)
        records.extend(b.timeline(plan, day))
    return DemoStream(
        run_id=run_id, seed=seed, claims=len(plans), patients=patients, waves=schedule(records),
        scenarios=dict(sorted(Counter(p.scenario for p in plans).items())),
        followups=dict(sorted(Counter(p.followup for p in plans if p.followup).items())),
        authorizations=tuple(dict.fromkeys(
            ObtainedAuthorization(p.payer.id, p.fixed_member_id, p.fixed_prior_auth, p.visit.kind, p.visit.dos,
                                  tuple(ln.code for ln in p.visit.procedure_lines))
            for p in plans if p.fixed_prior_auth)),
    )
