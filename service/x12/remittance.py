"""835 -> `claims.remittance.v1` (one event per CLP loop) and `remittance.provider-adjustments.v1` (one event per
PLB reason/amount pair).

Reading of the 835 (005010X221A1, and 004010X091A1 for legacy files):

- header: BPR16 payment date, TRN02 trace number (TRN03 payer identifier), DTM*405 production date, N1*PR payer
  (N104, else REF*2U, else TRN03, else the name), N1*PE payee;
- claim (2100): CLP01 claim id, CLP02 status, CLP03 charge, CLP04 paid, CLP05 patient responsibility, CLP06 filing
  indicator (-> payer type), CLP07 payer claim number; CAS at claim level; NM1*QC patient (NM1*IL when the patient
  has no id); REF*EA record number; MOA03-07 / MIA05, MIA20-23 remarks; DTM 232/233 service period, DTM*050
  received date;
- line (2110): SVC; DTM 472 (or 150/151); CAS (up to six reason/amount/quantity triplets per segment); REF*6R line
  control number (-> line_id, else the SVC position); AMT*B6 allowed; LQ*HE remarks.

SVC per the TR3: SVC01 is the *adjudicated* code and SVC06, when present, the code as *submitted* (sent only when
the payer changed it); SVC05 is the units *paid* and SVC07, when present, the units *submitted*. So `procedure` and
`units` carry what was billed (SVC06/SVC07 when present, else SVC01/SVC05), `adjudicated_procedure` is SVC01 when
it differs from the billed code, and `units_paid` is SVC05.

Balancing (TR3 1.10.2): claim charge - paid = claim and line adjustments; per line, charge - paid = its
adjustments. The result is on every event (`claim.balance`); an unbalanced claim is published flagged and counted.

Tolerance (read what can be read): a claim is refused only when its key (CLP01), its status (CLP02, which says
whether the amounts are a payment or a reversal) or its money (CLP03/CLP04, SVC02/SVC03, CAS amounts) cannot be read.
Everything else that is odd is kept as sent where it can be and flagged: an empty SVC02/SVC03 is read as 0.00, an
SVC01 split by the element separator (`HC*24599*...`) is read shifted when the line's adjustments balance only that
way, an unknown qualifier or CLP02 is kept, an unknown CAS group is read as OA (liability from the reason), a
repeated line control number is made unique, a header segment repeated after the claims began is ignored, an
unreadable date or quantity is left empty with the value in the flag.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from service.x12 import payer_types
from service.x12.context import Builder, Record, SetContext
from service.x12.elements import (
    FieldError,
    amount,
    components,
    date,
    el,
    is_amount,
    optional_amount,
    person_name,
    quantity,
)
from service.x12.issues import Issue, safe_value
from topics.catalogue import CLAIMS_REMITTANCE, PROVIDER_ADJUSTMENTS
from topics.common import Payer
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import CLAIM_STATUS_CODES, RemitInfo, RemittanceEvent, RemittancePayee

ZERO = Decimal("0.00")
UNKNOWN_CODE = "UNKNOWN"  # the procedure code of a line whose SVC01 names none (flagged)
_GROUPS = {"CO", "PR", "OA", "PI", "CR"}
# SVC01-1 product/service id qualifiers of the 835 (5010 and 4010).
_QUALIFIERS = {"AD", "ER", "HC", "HP", "IV", "N4", "N6", "NU", "UI", "WK", "ZZ", "ID", "NH", "RB"}
_CAS_TRIPLETS = (2, 5, 8, 11, 14, 17)
_MOA_REMARKS = (3, 4, 5, 6, 7)
_MIA_REMARKS = (5, 20, 21, 22, 23)
_PLB_PAIRS = (3, 5, 7, 9, 11, 13)


@dataclass(slots=True)
class _Line:
    position: int
    svc: list[str]  # SVC01 components
    charge: Decimal
    paid: Decimal
    revenue_code: str
    units_paid: Decimal | None
    submitted: list[str]  # SVC06 components
    units_submitted: Decimal | None
    at: tuple[int | None, int | None] = (None, None)  # the SVC's line in the file and position in the set
    shifted: _Line | None = None  # the reading of an SVC01 split by the element separator, when there is one
    control_at: tuple[int | None, int | None] = (None, None)  # where its REF*6R is
    service_date: dt.date | None = None
    control_number: str | None = None
    allowed: Decimal | None = None
    adjustments: list[dict] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Claim:
    record: Record
    clp_at: tuple[int | None, int | None] = (None, None)
    claim_id: str = ""
    status: str = ""
    charge: Decimal = ZERO
    paid: Decimal = ZERO
    patient_responsibility: Decimal | None = None
    filing_indicator: str = ""
    payer_claim_number: str = ""
    adjustments: list[dict] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    patient: dict = field(default_factory=dict)
    insured_member_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    received: dt.date | None = None
    lines: list[_Line] = field(default_factory=list)


@dataclass(slots=True)
class _Plb:
    record: Record
    provider: str
    fiscal_date: dt.date | None = None
    pairs: list[tuple[list[str], Decimal]] = field(default_factory=list)


def _procedure(parts: list[str]) -> dict:
    return {"qualifier": parts[0] or None, "code": parts[1] if len(parts) > 1 else "",
            "modifiers": [m for m in parts[2:6] if m]}


def _total(adjustments: list[dict]) -> Decimal:
    return sum((a["amount"] for a in adjustments), ZERO)


class RemittanceBuilder(Builder):
    """Consumes the segments of one 835 transaction set, in order; publishes through `out`."""

    def __init__(self, ctx: SetContext, out) -> None:
        super().__init__(ctx, out)
        self._claim: _Claim | None = None
        self._claims = 0
        self._plb = 0
        self._party = ""  # the N1 loop we are in: "PR" payer, "PE" payee
        self._payer_name = self._payer_n104 = self._payer_2u = ""
        self._payee_name = self._payee_qualifier = self._payee_id = self._payee_tin = ""
        self._trace = self._trn03 = ""
        self._production: dt.date | None = None
        self._payment: dt.date | None = None
        self._payer: dict | None = None
        self._claim_refs: dict[str, str] = {}  # CLP01 and CLP07 -> CLP01, to link PLB adjustments
        self._pending_plb: _Plb | None = None
        self._claim_types: set[str] = set()

    def finish(self) -> None:
        self._close()

    # --- header -----------------------------------------------------------------------------------------------

    def _bpr(self, seg, line, position) -> None:
        value = el(seg, 16)
        if value:
            self._payment = self.lenient(date, value, "BPR16")

    def _trn(self, seg, line, position) -> None:
        if self._trace:
            self.flag("repeated", "a second TRN in the header: the first trace number is kept")
            return
        self._trace, self._trn03 = el(seg, 2), el(seg, 3)

    def _n1(self, seg, line, position) -> None:
        party = el(seg, 1)
        if self._claims:
            self.flag("repeated", f"N1*{party[:3]} after the first claim: ignored (the header's payer and payee "
                                  "stand)", element="N101", value=party)
            self._party = ""
            return
        if (party == "PR" and (self._payer_name or self._payer_n104)) or (
                party == "PE" and (self._payee_name or self._payee_id)):
            self.flag("repeated", f"a second N1*{party} in the header: the first is kept", element="N101",
                      value=party)
            self._party = ""
            return
        self._party = party
        if party == "PR":
            self._payer_name, self._payer_n104 = el(seg, 2), el(seg, 4)
        elif party == "PE":
            self._payee_name, self._payee_qualifier, self._payee_id = el(seg, 2), el(seg, 3), el(seg, 4)

    def _lx(self, seg, line, position) -> None:
        self._close()

    # --- claims and lines -------------------------------------------------------------------------------------

    def _clp(self, seg, line, position) -> None:
        self._close()
        self._claims += 1
        record = self.open(Record("remittance", CLAIMS_REMITTANCE, self._claims, line, [seg]))
        claim = self._claim = _Claim(record, clp_at=(line, position))
        claim.claim_id, claim.status = el(seg, 1), el(seg, 2)
        claim.filing_indicator, claim.payer_claim_number = el(seg, 6), el(seg, 7)
        if not claim.claim_id:
            record.problem("CLP01 (the claim id) is missing: the claim cannot be keyed", segment="CLP", line=line,
                           position=position, element="CLP01")
        if not claim.status:
            record.problem("CLP02 (the claim status) is missing: whether the amounts are a payment or a reversal "
                           "cannot be read", segment="CLP", line=line, position=position, element="CLP02")
        elif claim.status not in CLAIM_STATUS_CODES:
            self.flag("code", "CLP02 is not a claim status code of the 5010 list: kept as sent, read as processed",
                      element="CLP02", value=claim.status)
        claim.charge = amount(el(seg, 3), "CLP03")
        claim.paid = amount(el(seg, 4), "CLP04")
        claim.patient_responsibility = self.lenient(optional_amount, el(seg, 5), "CLP05")

    def _cas(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None:
            return
        target = claim.lines[-1].adjustments if claim.lines else claim.adjustments
        group = el(seg, 1)
        if group not in _GROUPS:
            self.flag("code", "CAS01 is not a claim adjustment group code: read as OA (liability from the reason)",
                      element="CAS01", value=group)
            group = "OA"
        for n in _CAS_TRIPLETS[:(len(seg.elements) + 1) // 3]:  # only the triplets the segment has
            reason, value = el(seg, n), el(seg, n + 1)
            if not reason:
                if value:
                    self.flag("element", f"CAS{n + 1:02d} has an amount without a reason code (CAS{n:02d}): not "
                                         "read", element=f"CAS{n + 1:02d}", value=value)
                continue
            target.append({"group": group, "reason": reason, "amount": amount(value, f"CAS{n + 1:02d}"),
                           "quantity": self.lenient(quantity, el(seg, n + 2), f"CAS{n + 2:02d}")})

    def _nm1(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None or claim.lines:
            return
        entity = el(seg, 1)
        if entity == "QC":
            claim.patient = {"name": person_name(seg), "member_id": el(seg, 9) or None}
        elif entity == "IL":
            claim.insured_member_id = el(seg, 9)

    def _moa(self, seg, line, position) -> None:
        if self._claim is not None:
            self._claim.remarks.extend(r for r in (el(seg, n) for n in _MOA_REMARKS) if r)

    def _mia(self, seg, line, position) -> None:
        if self._claim is not None:
            self._claim.remarks.extend(r for r in (el(seg, n) for n in _MIA_REMARKS) if r)

    def _ref(self, seg, line, position) -> None:
        qualifier, value = el(seg, 1), el(seg, 2)
        claim = self._claim
        if claim is None:
            if self._party == "PR" and qualifier == "2U":
                self._payer_2u = value
            elif self._party == "PE" and qualifier == "TJ":
                self._payee_tin = value
            return
        if claim.lines:
            if qualifier == "6R":
                claim.lines[-1].control_number = value
                claim.lines[-1].control_at = (line, position)
        elif qualifier == "EA":
            claim.patient["patient_ref"] = value

    def _dtm(self, seg, line, position) -> None:
        qualifier, value = el(seg, 1), el(seg, 2)
        claim = self._claim
        if claim is None:
            if qualifier == "405":
                self._production = self.lenient(date, value, "DTM02")
            return
        if claim.lines:
            if qualifier in ("472", "150"):
                claim.lines[-1].service_date = self.lenient(date, value, "DTM02")
            return
        if qualifier == "232":
            claim.date_from = self.lenient(date, value, "DTM02")
        elif qualifier == "233":
            claim.date_to = self.lenient(date, value, "DTM02")
        elif qualifier == "050":
            claim.received = self.lenient(date, value, "DTM02")

    def _svc(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None:
            return
        number = len(claim.lines) + 1
        parts = components(seg, 1)
        shifted = self._shifted_svc(seg, number, (line, position)) if len(parts) < 2 else None
        if shifted is not None and not is_amount(el(seg, 2)):
            claim.lines.append(shifted)  # only the shifted reading has money in it
            return
        qualifier = parts[0] if parts else ""
        if qualifier not in _QUALIFIERS:
            self.flag("code", "SVC01-01 is not a product/service id qualifier: kept as sent", element="SVC01-01",
                      value=qualifier)
        claim.lines.append(_Line(
            position=number,
            svc=parts,
            charge=self._line_amount(el(seg, 2), "SVC02"),
            paid=self._line_amount(el(seg, 3), "SVC03"),
            revenue_code=el(seg, 4),
            units_paid=self.lenient(quantity, el(seg, 5), "SVC05"),
            submitted=components(seg, 6),
            units_submitted=self.lenient(quantity, el(seg, 7), "SVC07"),
            at=(line, position),
            shifted=shifted,
        ))

    def _line_amount(self, value: str, element: str) -> Decimal:
        """A line's charge or payment: unreadable money refuses the claim, but an empty one is read as 0.00 (flagged):
        the claim's balance then shows whether that reading holds."""
        if value == "":
            self.flag("element", f"{element} is empty: read as 0.00", element=element)
            return ZERO
        return amount(value, element)

    def _shifted_svc(self, seg, number: int, at) -> _Line | None:
        """SVC01 written with the element separator (`SVC*HC*24599*1766.5*187.5**1`): the reading one element to
        the right, when it has money where money belongs. Chosen at the line's close, by its adjustments."""
        parts = components(seg, 1)
        code = el(seg, 2)
        if len(parts) != 1 or parts[0] not in _QUALIFIERS or not code or not is_amount(el(seg, 3)):
            return None
        paid = el(seg, 4)
        if paid and not is_amount(paid):
            return None
        try:
            units = quantity(el(seg, 6), "SVC06")
        except FieldError:
            units = None
        return _Line(position=number, svc=[parts[0], code], charge=amount(el(seg, 3), "SVC03"),
                     paid=amount(paid, "SVC04") if paid else ZERO, revenue_code=el(seg, 5), units_paid=units,
                     submitted=[], units_submitted=None, at=at)

    def _amt(self, seg, line, position) -> None:
        claim = self._claim
        if claim is not None and claim.lines and el(seg, 1) == "B6":
            claim.lines[-1].allowed = self.lenient(amount, el(seg, 2), "AMT02")

    def _lq(self, seg, line, position) -> None:
        claim = self._claim
        if claim is not None and claim.lines and el(seg, 1) == "HE" and el(seg, 2):
            claim.lines[-1].remarks.append(el(seg, 2))

    # --- provider adjustments ---------------------------------------------------------------------------------

    def _plb(self, seg, line, position) -> None:
        self._close()
        record = self.open(Record("provider_adjustment", PROVIDER_ADJUSTMENTS, self._plb + 1, line, [seg]))
        plb = self._pending_plb = _Plb(record, provider=el(seg, 1))
        # Kept open until the next segment, so pyx12's findings on this PLB reach its record first.
        fiscal = el(seg, 2)
        plb.fiscal_date = self.lenient(date, fiscal, "PLB02") if fiscal else None
        if not plb.provider:
            record.problem("PLB01 (the provider) is missing: the adjustment cannot be keyed", segment="PLB",
                           line=line, position=position, element="PLB01")
        for n in _PLB_PAIRS:
            parts = components(seg, n)
            if any(parts):
                plb.pairs.append((parts, amount(el(seg, n + 1), f"PLB{n + 1:02d}")))
        if not plb.pairs:
            record.problem("PLB carries no adjustment reason and amount", segment="PLB", line=line,
                           position=position)

    def _close_plb(self, plb: _Plb) -> None:
        record = plb.record
        key = plb.provider or None
        if record.failed:
            self._plb += 1
            self.out.reject(record.rejection(self.ctx, self.ctx.event_id("p", self._plb), key))
            return
        payer = self._payer_record()
        # No filing indicator on a PLB: the override table, else the type this remittance's claims agree on.
        payer_type = payer_types.table().payer_type(payer["id"], None, self._production)
        if payer_type == "other" and len(self._claim_types) == 1:
            payer_type = next(iter(self._claim_types))
        for parts, value in plb.pairs:
            self._plb += 1
            reason, reference = parts[0], (parts[1] if len(parts) > 1 else "") or None
            event_id = self.ctx.event_id("p", self._plb)
            try:
                event = ProviderAdjustmentEvent.model_validate({
                    "event_id": event_id, "occurred_at": self._occurred_at(), "source": self.ctx.source,
                    "payer": self.shared(("payer", payer_type), Payer, {**payer, "type": payer_type}),
                    "payee": {"npi": plb.provider,
                              "name": (self._payee_name or None) if plb.provider == self._payee_id else None},
                    "remit": self.shared(("remit", None), RemitInfo, self._remit(None)),
                    "adjustment": {"reason": reason, "reference": reference, "claim_id": self._claim_for(reference),
                                   "amount": value, "fiscal_period_date": plb.fiscal_date},
                    "data_quality": record.flags(self.header_flags),
                })
            except ValidationError as exc:
                pair = Record("provider_adjustment", PROVIDER_ADJUSTMENTS, self._plb, record.first_line,
                              list(record.segments))
                pair.contract_error(exc)
                self.out.reject(pair.rejection(self.ctx, event_id, key))
                continue
            self.out.emit(event)

    def _claim_for(self, reference: str | None) -> str | None:
        """The claim PLB03-2 names, when it names one of this remittance's claims (by CLP01 or by the payer's claim
        number CLP07; payers often append the patient's id after a space)."""
        if not reference:
            return None
        return self._claim_refs.get(reference) or self._claim_refs.get(reference.split()[0])

    # --- building records -------------------------------------------------------------------------------------

    def _payer_record(self) -> dict:
        if self._payer is None:
            payer_id = self._payer_n104 or self._payer_2u or self._trn03 or self._payer_name
            if not payer_id:
                self._header_finding("content", "no payer identifier (N1*PR N104, REF*2U, TRN03) or name: the payer "
                                                "is published as UNKNOWN", segment="N1")
                payer_id = "UNKNOWN"
            self._payer = {"id": payer_id[:64], "name": self._payer_name[:200] or None}
        return self._payer

    def _header_finding(self, code: str, reason: str, segment: str | None = None) -> None:
        """A finding about the set's header made while a record is being built: a flag on every record of the set."""
        issue = Issue("warning", code, reason, segment=segment)
        self.header_flags.append(issue)
        self.out.warn(issue)

    def _production_date(self) -> dt.date | None:
        """DTM*405, else BPR16 (the TR3 sends DTM*405 only when it differs), else the group's date GS04 (flagged)."""
        if self._production is None and self._payment is None and self.ctx.group_time is not None \
                and not self.ctx.synthetic_envelope:
            self._production = self.ctx.group_time.date()
            self._header_finding("content", "no readable production date (DTM*405) or payment date (BPR16): the "
                                            "functional group's date (GS04) is used", segment="DTM")
        return self._production or self._payment

    def _payee(self) -> dict | None:
        npi = self._payee_id if self._payee_qualifier == "XX" else ""
        tin = self._payee_id if self._payee_qualifier == "FI" else self._payee_tin
        if not (self._payee_name or npi or tin):
            return None
        return {"name": self._payee_name or None, "npi": npi or None, "tax_id": tin or None}

    def _occurred_at(self) -> dt.datetime | None:
        if self.ctx.group_time is not None and not self.ctx.synthetic_envelope:
            return self.ctx.group_time
        day = self._production or self._payment
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else None

    def _remit(self, claim: _Claim | None) -> dict:
        return {"trace_number": self._trace[:64] or None, "production_date": self._production_date(),
                "payment_date": self._payment, "received_date": claim.received if claim else None}

    def _close(self) -> None:
        claim, self._claim = self._claim, None
        plb, self._pending_plb = self._pending_plb, None
        self.record = None
        if plb is not None:
            self._close_plb(plb)
        if claim is None:
            return
        record = claim.record
        event_id = self.ctx.event_id("c", record.position)
        if claim.claim_id:
            self._claim_refs.setdefault(claim.claim_id, claim.claim_id)
            if claim.payer_claim_number:
                self._claim_refs.setdefault(claim.payer_claim_number, claim.claim_id)
        if record.failed:
            self.out.reject(record.rejection(self.ctx, event_id, claim.claim_id or None))
            return
        try:
            body = self._event(claim, event_id)
            event = RemittanceEvent.model_validate(body)
        except ValidationError as exc:
            record.contract_error(exc)
            self.out.reject(record.rejection(self.ctx, event_id, claim.claim_id or None))
            return
        self.out.emit(event)

    def _event(self, claim: _Claim, event_id: str) -> dict:
        payer_type = payer_types.table().payer_type(self._payer_record()["id"], claim.filing_indicator,
                                                    self._production)
        self._claim_types.add(payer_type)
        payer = self.shared(("payer", payer_type), Payer, {**self._payer_record(), "type": payer_type})
        payee = self._payee()
        if payee is not None:
            payee = self.shared("payee", RemittancePayee, payee)
        claim.lines = [self._resolve(claim.record, line) for line in claim.lines]
        lines = [self._line(line) for line in claim.lines]
        self._unique_line_ids(claim, lines)
        line_dates = [ln.service_date for ln in claim.lines if ln.service_date is not None]
        patient = dict(claim.patient)
        if not patient.get("member_id") and claim.insured_member_id:
            patient["member_id"] = claim.insured_member_id
        return {
            "event_id": event_id, "occurred_at": self._occurred_at(), "source": self.ctx.source,
            "payer": payer, "payee": payee,
            "remit": self.shared(("remit", claim.received), RemitInfo, self._remit(claim)),
            "claim": {
                "claim_id": claim.claim_id, "payer_claim_number": claim.payer_claim_number or None,
                "status_code": claim.status, "filing_indicator": claim.filing_indicator or None,
                "total_charge": claim.charge, "total_paid": claim.paid,
                "patient_responsibility": claim.patient_responsibility,
                # The claim's period when the payer sent one, else the span of its lines' dates.
                "service_date_from": claim.date_from or (min(line_dates) if line_dates else None),
                "service_date_to": claim.date_to or claim.date_from or (max(line_dates) if line_dates else None),
                "patient": patient, "adjustments": claim.adjustments, "remarks": claim.remarks,
                "lines": lines, "balance": self._balance(claim, lines),
            },
            "data_quality": claim.record.flags(self.header_flags),
        }

    def _resolve(self, record: Record, line: _Line) -> _Line:
        """Choose between a line's reading as sent and its shifted reading (an SVC01 split by the element separator):
        the one whose charge - payment equals its adjustments, when only one does."""
        missing = f"SVC01-02 (the procedure code) is missing: published as {UNKNOWN_CODE}"
        shifted = line.shifted
        if shifted is None:
            if len(line.svc) < 2 or not line.svc[1]:
                self._line_flag(record, line, "element", missing, "SVC01-02")
            return line
        shifted.service_date, shifted.control_number = line.service_date, line.control_number
        shifted.control_at = line.control_at
        shifted.allowed, shifted.adjustments, shifted.remarks = line.allowed, line.adjustments, line.remarks
        adjusted = _total(line.adjustments)
        if shifted.charge - shifted.paid == adjusted and line.charge - line.paid != adjusted:
            self._line_flag(record, shifted, "repair", "SVC01 was split by the element separator: read one element "
                            "to the right (the line's adjustments balance only that way)", "SVC01",
                            value="|".join(x for x in (shifted.svc[0], shifted.svc[1]) if x))
            return shifted
        self._line_flag(record, line, "element", missing, "SVC01-02")
        return line

    @staticmethod
    def _line_flag(record: Record, line: _Line, code: str, reason: str, element: str,
                   value: str | None = None) -> None:
        record.issues.append(Issue("warning", code, reason, segment="SVC", line=line.at[0], position=line.at[1],
                                   element=element, value=safe_value(element, value)))

    def _unique_line_ids(self, claim: _Claim, lines: list[dict]) -> None:
        """A line control number (REF*6R) repeated within a claim: the later line gets `<id>#<position>` (flagged),
        so no line overwrites another."""
        seen: set[str] = set()
        for line, built in zip(claim.lines, lines, strict=True):
            if built["line_id"] in seen:
                built["line_id"] = f"{built['line_id']}#{line.position}"[:64]
                claim.record.issues.append(Issue(
                    "warning", "repeated", f"the line control number (REF*6R) of line {line.position} repeats an "
                    "earlier line's: made unique with the line's position", segment="REF",
                    line=line.control_at[0], position=line.control_at[1], element="REF02"))
            seen.add(built["line_id"])

    @staticmethod
    def _line(line: _Line) -> dict:
        billed = line.submitted if line.submitted and any(line.submitted) else line.svc
        if len(billed) < 2 or not billed[1]:
            billed = [billed[0] if billed else "", UNKNOWN_CODE, *billed[2:]]
        adjudicated = line.svc if billed is not line.svc and len(line.svc) > 1 and line.svc[1] else None
        return {
            "line_id": line.control_number or str(line.position),
            "procedure": _procedure(billed),
            "units": line.units_submitted if line.units_submitted is not None else (
                line.units_paid if line.units_paid is not None else 1),
            "charge": line.charge, "allowed": line.allowed, "paid": line.paid,
            "service_date": line.service_date, "adjustments": line.adjustments, "remarks": line.remarks,
            "line_control_number": line.control_number,
            "adjudicated_procedure": _procedure(adjudicated) if adjudicated else None,
            "units_paid": line.units_paid,
        }

    @staticmethod
    def _balance(claim: _Claim, lines: list[dict]) -> dict:
        """The TR3's balancing, published on the claim and flagged: amounts are never PHI, so the flag says them."""
        line_adjustments = ZERO
        unbalanced = []
        for line, built in zip(claim.lines, lines, strict=True):
            adjusted = _total(line.adjustments)
            line_adjustments += adjusted
            if line.charge - line.paid != adjusted:
                unbalanced.append(built["line_id"])
                claim.record.issues.append(Issue(
                    "warning", "unbalanced", f"line {line.position}: charge - payment ({line.charge - line.paid}) "
                    f"differs from its adjustments ({adjusted})", segment="SVC", line=line.at[0],
                    position=line.at[1]))
        difference = claim.charge - claim.paid - _total(claim.adjustments) - line_adjustments
        if difference:
            line_at, position = claim.clp_at
            claim.record.issues.append(Issue(
                "warning", "unbalanced", f"the claim's charge - payment differs from its claim and line adjustments "
                f"by {difference}", segment="CLP", line=line_at, position=position))
        return {"balanced": difference == 0 and not unbalanced, "claim_difference": difference,
                "unbalanced_lines": unbalanced}

    _HANDLERS = {
        "BPR": _bpr, "TRN": _trn, "N1": _n1, "LX": _lx, "CLP": _clp, "CAS": _cas, "NM1": _nm1, "MOA": _moa,
        "MIA": _mia, "REF": _ref, "DTM": _dtm, "SVC": _svc, "AMT": _amt, "LQ": _lq, "PLB": _plb,
    }
