"""Wire contracts (topics) to domain values, and domain values back to output records."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from functools import lru_cache

from service.domain import model as d
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent


def _constructor(cls):
    """A keyword-only constructor for a frozen, slotted domain dataclass that sets its slots directly: the
    dataclass's own `__init__` goes through `object.__setattr__` for every field (frozen), which cost more than
    everything else in mapping a remittance (~40 fields over a claim, its lines and adjustments). The value built is
    the one `cls(**fields)` builds: same fields, same defaults; a class with a `__post_init__` or a default factory is
    refused, so a change of the model cannot make the two differ silently."""
    if not (dataclasses.is_dataclass(cls) and "__slots__" in cls.__dict__ and cls.__dataclass_params__.frozen):
        raise TypeError(f"{cls.__name__}: not a frozen, slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: has a __post_init__")
    ns: dict = {"_new": object.__new__, "_cls": cls}
    params, body = [], []
    for f in dataclasses.fields(cls):
        if not f.init or f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: not a plain init field")
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            ns[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        ns[f"_s_{f.name}"] = cls.__dict__[f.name].__set__
        body.append(f"    _s_{f.name}(o, {f.name})")
    exec(f"def {cls.__name__}(*, {', '.join(params)}):\n    o = _new(_cls)\n" + "\n".join(body) + "\n    return o\n",
         ns)
    return ns[cls.__name__]


_Adjustment = _constructor(d.Adjustment)
_RemitLine = _constructor(d.RemitLine)
_Remittance = _constructor(d.Remittance)
_Payer = _constructor(d.Payer)
_PatientIdentifiers = _constructor(d.PatientIdentifiers)


def _payer(p) -> d.Payer:
    return _Payer(id=p.id, type=p.type, name=p.name)


def _procedure(p) -> d.Procedure | None:
    if p is None:
        return None
    return _procedure_of(p.code, tuple(p.modifiers))


@lru_cache(maxsize=4096)
def _procedure_of(code: str, modifiers: tuple[str, ...]) -> d.Procedure:
    """Procedures repeat across events (a clinic bills a few hundred codes): share the immutable values."""
    return d.Procedure(code=code.upper(), modifiers=tuple(m.upper() for m in modifiers))


def _adjustments(items) -> tuple[d.Adjustment, ...]:
    return tuple([_Adjustment(group=a.group, reason=a.reason.upper(), amount=a.amount, quantity=a.quantity)
                  for a in items]) if items else ()


def patient_key(patient) -> str | None:
    """The key claim history is kept under: the practice's record number, else the member id."""
    return patient.patient_ref or patient.member_id


def patient_identifiers(patient) -> d.PatientIdentifiers | None:
    """The identifiers a letter needs, when the record carries any (the store encrypts them)."""
    if patient.name is None and patient.member_id is None and patient.birth_date is None:
        return None
    return _PatientIdentifiers(name=patient.name, member_id=patient.member_id, birth_date=patient.birth_date)


def remittance(ev: RemittanceEvent) -> d.Remittance:
    c = ev.claim
    return _Remittance(
        event_id=ev.event_id,
        occurred_at=ev.occurred_at,
        payer=_payer(ev.payer),
        claim_id=c.claim_id,
        status_code=c.status_code,
        total_charge=c.total_charge,
        total_paid=c.total_paid,
        production_date=ev.remit.production_date,
        payer_claim_number=c.payer_claim_number,
        filing_indicator=c.filing_indicator,
        patient_responsibility=c.patient_responsibility,
        service_date_from=c.service_date_from,
        service_date_to=c.service_date_to,
        patient_key=patient_key(c.patient),
        trace_number=ev.remit.trace_number,
        payment_date=ev.remit.payment_date,
        received_date=ev.remit.received_date,
        adjustments=_adjustments(c.adjustments),
        remarks=tuple([r.upper() for r in c.remarks]) if c.remarks else (),
        lines=tuple([
            _RemitLine(
                line_id=line.line_id,
                procedure=_procedure(line.procedure),
                charge=line.charge,
                paid=line.paid,
                units=line.units,
                allowed=line.allowed,
                service_date=line.service_date or c.service_date_from,
                adjustments=_adjustments(line.adjustments),
                remarks=tuple([r.upper() for r in line.remarks]) if line.remarks else (),
                line_control_number=line.line_control_number,
                adjudicated_procedure=_procedure(line.adjudicated_procedure),
                units_paid=line.units_paid,
            )
            for line in c.lines
        ]),
        balanced=c.balance.balanced if c.balance else True,
        data_quality=data_quality(ev.data_quality) if ev.data_quality else (),
        patient=patient_identifiers(c.patient),
    )


def _detail(line) -> d.SessionDetail:
    if (line.side is None and not line.levels and line.intent is None and line.relief_percent is None
            and line.relief_days is None):
        return d.NO_DETAIL
    return d.SessionDetail(side=line.side, levels=tuple(line.levels), intent=line.intent,
                           relief_percent=line.relief_percent, relief_days=line.relief_days)


def _injury(injury) -> d.Injury | None:
    """Only what the rules need: whether the claim number and adjuster were sent, never the values."""
    if injury is None:
        return None
    return d.Injury(kind=injury.kind, date_of_injury=injury.date_of_injury, state=injury.state,
                    claim_number_sent=injury.claim_number is not None,
                    adjuster_sent=injury.adjuster_name is not None or injury.adjuster_phone is not None)


def submission(ev: StatusEvent) -> d.Submission:
    c = ev.claim
    assert c is not None and ev.kind == "submitted"
    return d.Submission(
        event_id=ev.event_id,
        occurred_at=ev.occurred_at,
        payer=_payer(ev.payer),
        claim_id=c.claim_id,
        frequency_code=c.frequency_code or "1",
        original_payer_claim_number=c.original_payer_claim_number,
        total_charge=c.total_charge,
        service_date_from=c.service_date_from,
        service_date_to=c.service_date_to,
        patient_key=patient_key(c.patient),
        billing_npi=c.provider.billing_npi if c.provider else None,
        rendering_npi=c.provider.rendering_npi if c.provider else None,
        diagnoses=tuple(c.diagnoses),
        prior_authorization=c.prior_authorization,
        other_payers=tuple(
            d.OtherPayer(id=o.id, type=o.type, responsibility=o.responsibility, name=o.name) for o in c.other_payers
        ),
        lines=tuple(
            d.SubmittedLine(
                line_id=line.line_id,
                procedure=_procedure(line.procedure),
                charge=line.charge,
                units=line.units,
                service_date=line.service_date or c.service_date_from,
                diagnosis_pointers=tuple(line.diagnosis_pointers),
                prior_authorization=line.prior_authorization,
                detail=_detail(line),
            )
            for line in c.lines
        ),
        patient=patient_identifiers(c.patient),
        injury=_injury(c.injury),
    )


def _status_code(s, line_id: str | None = None) -> d.StatusCode:
    return d.StatusCode(category=s.category.upper(), code=s.code, entity=s.entity, action_code=s.action_code,
                        effective_date=s.effective_date, line_id=line_id, code_list_qualifier=s.code_list_qualifier)


def _information_request(ev: StatusEvent) -> d.InformationRequest | None:
    request = ev.information_request
    if request is None:
        return None
    return d.InformationRequest(
        payer_control_number=request.payer_control_number, response_due_date=request.response_due_date,
        requested=tuple(d.RequestedItem(category=i.category.upper(), code=i.code,
                                        code_list_qualifier=i.code_list_qualifier, line_id=i.line_id)
                        for i in request.requested))


def data_quality(flags) -> tuple[str, ...]:
    """The gateway's flags as short PHI-free sentences for the claim timeline (`SVC02: SVC02 is empty ...`)."""
    return tuple(f"{f.element or f.segment or 'record'}: {f.reason}"
                 + (f" (sent: {f.value})" if f.value is not None else "") for f in flags)


def status_report(ev: StatusEvent) -> d.StatusReport:
    assert ev.kind != "submitted" and ev.status is not None
    c = ev.claim
    return d.StatusReport(
        event_id=ev.event_id,
        occurred_at=ev.occurred_at,
        kind=ev.kind,
        payer=_payer(ev.payer),
        status=_status_code(ev.status),
        claim_id=c.claim_id if c else None,
        payer_claim_number=(c.payer_claim_number if c else None),
        total_charge=c.total_charge if c else None,
        service_date_from=c.service_date_from if c else None,
        line_statuses=tuple(_status_code(s, s.line_id) for s in ev.line_statuses),
        scope_level=ev.scope.level if ev.scope else None,
        information_request=_information_request(ev),
        data_quality=data_quality(ev.data_quality) if ev.data_quality else (),
    )


def status_event(ev: StatusEvent) -> d.Submission | d.StatusReport:
    return submission(ev) if ev.kind == "submitted" else status_report(ev)


def provider_adjustment(ev: ProviderAdjustmentEvent) -> d.ProviderAdjustment:
    a = ev.adjustment
    return d.ProviderAdjustment(
        event_id=ev.event_id,
        occurred_at=ev.occurred_at,
        payer=_payer(ev.payer),
        payee_npi=ev.payee.npi,
        reason=a.reason.upper(),
        amount=Decimal(a.amount),
        production_date=ev.remit.production_date,
        reference=a.reference,
        claim_id=a.claim_id,
        trace_number=ev.remit.trace_number,
    )
