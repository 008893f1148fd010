"""837P (005010X222A1) -> `claims.status.v1` `submitted` events: what the practice billed, one event per CLM.

The hierarchy (HL03): 20 billing provider (2010AA NM1*85: the billing NPI), 22 subscriber (SBR: payer
responsibility SBR01 and claim filing indicator SBR09; 2010BA NM1*IL the member id, DMG the birth date; 2010BB NM1*PR
the payer), 23 patient when not the subscriber (2010CA NM1*QC, DMG).

- Claim (2300): CLM01 claim id, CLM02 total charge, CLM05-3 frequency (1 original, 7 replacement, 8 void), CLM11
  related causes (EM employment, AA auto accident: the injury, with DTP*439 its date and the carrier's claim number
  REF*Y4 of 2010BA/CA); REF*F8 the payer's claim number the replacement corrects, REF*G1 prior authorization, REF*EA
  the medical record number (`patient_ref`); HI the ICD-10-CM diagnoses in order (ABK principal, ABF others; BK/BF
  ICD-9 are kept as sent); 2310B NM1*82 the rendering NPI; 2320/2330B (SBR, NM1*PR) the other payers on the claim
  with their responsibility.
- Line (2400): LX, SV1 (procedure and modifiers, charge, units, diagnosis pointers), DTP*472 (a date or the first day
  of a range), REF*6R the line control number (-> line_id, else LX01), REF*G1 a line's own authorization.

The submission date is the BHT's (BHT04/05): the day the billing system produced the claim file, which the
timely-filing clock counts to.

Tolerance as in the 835: a claim is refused only when its id (CLM01) or its money (CLM02, each SV102) cannot be
read; everything else that is odd is flagged and kept where the contract can hold it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from service.x12 import payer_types
from service.x12.context import Builder, Record, SetContext, add_finding
from service.x12.elements import amount, components, date, date_range, el, person_name, quantity, timestamp
from service.x12.issues import Issue
from topics.catalogue import CLAIMS_STATUS
from topics.status import StatusEvent

FREQUENCIES = {"1", "7", "8"}
RESPONSIBILITY = {"P": "primary", "S": "secondary", "T": "tertiary"}
DIAGNOSIS_QUALIFIERS = {"ABK", "ABF", "BK", "BF"}
PRODUCT_QUALIFIERS = {"HC", "ER", "IV", "WK"}  # SV101-01 of the 837P
INJURY_KINDS = {"EM": "workers_comp", "AA": "auto", "OA": "other"}  # CLM11 related causes


@dataclass(slots=True)
class _Line:
    number: str
    at: tuple[int | None, int | None]
    procedure: list[str] = field(default_factory=list)
    charge: Decimal = Decimal("0.00")
    units: Decimal | None = None
    pointers: list[int] = field(default_factory=list)
    service_date: dt.date | None = None
    control_number: str = ""
    authorization: str = ""


@dataclass(slots=True)
class _Claim:
    record: Record
    claim_id: str = ""
    charge: Decimal = Decimal("0.00")
    frequency: str = ""
    original: str = ""
    authorization: str = ""
    patient_ref: str = ""
    rendering_npi: str = ""
    diagnoses: list[str] = field(default_factory=list)
    other_payers: list[dict] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)
    in_other_subscriber: bool = False
    related_causes: list[str] = field(default_factory=list)  # CLM11: AA auto accident, EM employment, OA other
    accident_state: str = ""
    injury_date: dt.date | None = None
    injury_claim_number: str = ""


class SubmissionBuilder(Builder):
    """Consumes the segments of one 837P transaction set, in order; publishes through `out`."""

    def __init__(self, ctx: SetContext, out) -> None:
        super().__init__(ctx, out)
        self._level = ""
        self._claim: _Claim | None = None
        self._claims = 0
        self._submitted: dt.datetime | None = None
        self._billing_npi = ""
        self._subscriber: dict = {}
        self._patient: dict = {}
        self._payer: dict = {}
        self._responsibility = ""
        self._filing_indicator = ""
        self._casualty_claim_number = ""
        # Findings outside a claim, by the level they were found at: each applies to that level's claims only.
        self._level_flags: dict[str, list[Issue]] = {"20": [], "22": [], "23": []}

    def finish(self) -> None:
        self._close()

    def finding(self, issue: Issue) -> None:
        """Outside a claim but inside a billing provider's or subscriber's loops, a finding concerns that
        subscriber's claims only (not the whole set, as an 835 header finding does)."""
        if self.record is None and self._level in self._level_flags:
            self.out.warn(issue)
            add_finding(self._level_flags[self._level], issue)
            return
        super().finding(issue)

    # --- header and hierarchy -----------------------------------------------------------------------------------

    def _bht(self, seg, line, position) -> None:
        self._submitted = timestamp(el(seg, 4), el(seg, 5))

    def _hl(self, seg, line, position) -> None:
        self._close()
        self._level = el(seg, 3)
        # A new billing provider clears its subscribers' findings too; a new subscriber its patients'.
        for level in {"20": ("20", "22", "23"), "22": ("22", "23"), "23": ("23",)}.get(self._level, ()):
            self._level_flags[level] = []
        if self._level == "20":
            self._billing_npi = ""
        elif self._level == "22":
            self._subscriber, self._patient, self._payer = {}, {}, {}
            self._casualty_claim_number = ""
            self._responsibility = self._filing_indicator = ""
        elif self._level == "23":
            self._patient = {}

    def _sbr(self, seg, line, position) -> None:
        claim = self._claim
        if claim is not None:
            # 2320: another payer on the claim (its NM1*PR follows in 2330B)
            claim.in_other_subscriber = True
            claim.other_payers.append({"responsibility": RESPONSIBILITY.get(el(seg, 1), "unknown"),
                                       "filing_indicator": el(seg, 9)})
            return
        self._responsibility, self._filing_indicator = el(seg, 1), el(seg, 9)

    def _nm1(self, seg, line, position) -> None:
        entity, identifier = el(seg, 1), el(seg, 9)
        claim = self._claim
        if claim is not None:
            if entity == "PR" and claim.in_other_subscriber and claim.other_payers:
                claim.other_payers[-1].update(id=identifier or el(seg, 3), name=el(seg, 3) or None)
            elif entity == "82" and not claim.lines and el(seg, 8) == "XX":
                claim.rendering_npi = identifier
            return
        if entity == "85" and el(seg, 8) == "XX":
            self._billing_npi = identifier
        elif entity == "IL":
            self._subscriber = {"name": person_name(seg), "member_id": identifier or None}
        elif entity == "QC":
            self._patient = {"name": person_name(seg), "member_id": identifier or None}
        elif entity == "PR" and self._level == "22":
            self._payer = {"id": identifier or el(seg, 3), "name": el(seg, 3) or None}

    def _dmg(self, seg, line, position) -> None:
        if self._claim is not None or el(seg, 1) != "D8" or not el(seg, 2):
            return
        born = self.lenient(date, el(seg, 2), "DMG02")
        target = self._patient if self._level == "23" else self._subscriber
        target["birth_date"] = born

    # --- claims and lines ----------------------------------------------------------------------------------------

    def _clm(self, seg, line, position) -> None:
        self._close()
        self._claims += 1
        record = self.open(Record("status", CLAIMS_STATUS, self._claims, line, [seg]))
        claim = self._claim = _Claim(record)
        claim.claim_id = el(seg, 1)
        if not claim.claim_id:
            record.problem("CLM01 (the claim id) is missing: the claim cannot be keyed", segment="CLM", line=line,
                           position=position, element="CLM01")
        facility = components(seg, 5)
        frequency = facility[2] if len(facility) > 2 else ""
        if frequency and frequency not in FREQUENCIES:
            self.flag("code", "CLM05-3 is not a claim frequency code we read (1, 7, 8): left empty", element="CLM05-03",
                      value=frequency)
        claim.frequency = frequency if frequency in FREQUENCIES else ""
        causes = components(seg, 11)
        claim.related_causes = [c for c in causes[:3] if c in INJURY_KINDS]
        claim.accident_state = causes[3] if len(causes) > 3 and len(causes[3]) == 2 else ""
        claim.charge = amount(el(seg, 2), "CLM02")

    def _ref(self, seg, line, position) -> None:
        claim = self._claim
        qualifier, value = el(seg, 1), el(seg, 2)
        if claim is None:
            if qualifier == "Y4" and self._level in ("22", "23"):
                self._casualty_claim_number = value  # 2010BA/2010CA: the property-and-casualty claim number
            return
        if claim.lines:
            if qualifier == "6R":
                claim.lines[-1].control_number = value
            elif qualifier == "G1":
                claim.lines[-1].authorization = value
        elif qualifier == "F8":
            claim.original = value
        elif qualifier == "Y4":
            claim.injury_claim_number = value
        elif qualifier == "G1":
            claim.authorization = value
        elif qualifier == "EA":
            claim.patient_ref = value

    def _hi(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None:
            return
        for n in range(1, 13):
            parts = components(seg, n)
            if len(parts) < 2 or not parts[1]:
                continue
            if parts[0] not in DIAGNOSIS_QUALIFIERS:
                continue  # HI also carries other code lists (condition codes, ...) the contract has no place for
            claim.diagnoses.append(parts[1])

    def _lx(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None:
            return
        claim.in_other_subscriber = False
        claim.lines.append(_Line(number=el(seg, 1) or str(len(claim.lines) + 1), at=(line, position)))

    def _sv1(self, seg, line, position) -> None:
        claim = self._claim
        if claim is None:
            return
        if not claim.lines:
            claim.lines.append(_Line(number="1", at=(line, position)))
        target = claim.lines[-1]
        target.at = (line, position)
        target.procedure = components(seg, 1)
        qualifier = target.procedure[0] if target.procedure else ""
        if qualifier not in PRODUCT_QUALIFIERS:
            self.flag("code", "SV101-01 is not a product/service id qualifier: kept as sent", element="SV101-01",
                      value=qualifier)
        target.charge = amount(el(seg, 2), "SV102")
        target.units = self.lenient(quantity, el(seg, 4), "SV104")
        pointers = []
        for part in components(seg, 7):
            if part.isdigit() and 1 <= int(part) <= 12:
                pointers.append(int(part))
            elif part:
                self.flag("element", "SV107 has a diagnosis pointer outside 1-12: not read", element="SV107",
                          value=part)
        target.pointers = pointers[:4]

    def _dtp(self, seg, line, position) -> None:
        claim = self._claim
        if claim is not None and not claim.lines and el(seg, 1) == "439":
            claim.injury_date = self.lenient(date, el(seg, 3), "DTP03")  # accident date
            return
        if claim is None or not claim.lines or el(seg, 1) != "472":
            return
        dates = self.lenient(lambda value, element: date_range(el(seg, 2), value, element), el(seg, 3), "DTP03")
        if dates is not None:
            claim.lines[-1].service_date = dates[0]

    # --- building events -------------------------------------------------------------------------------------------

    def _close(self) -> None:
        claim, self._claim = self._claim, None
        self.record = None
        if claim is None:
            return
        record = claim.record
        event_id = self.ctx.event_id("c", record.position)
        if record.failed:
            self.out.reject(record.rejection(self.ctx, event_id, claim.claim_id or None))
            return
        try:
            event = StatusEvent.model_validate(self._event(claim, event_id))
        except ValidationError as exc:
            record.contract_error(exc)
            self.out.reject(record.rejection(self.ctx, event_id, claim.claim_id or None))
            return
        self.out.emit(event)

    def _event(self, claim: _Claim, event_id: str) -> dict:
        submitted = self._submitted or self.ctx.group_time
        on = submitted.date() if submitted else None
        payer_id = self._payer.get("id") or ""
        if not payer_id:
            claim.record.issues.append(self._note("content", "no payer (2010BB NM1*PR): the payer is published as "
                                                             "UNKNOWN", "NM1"))
            payer_id = "UNKNOWN"
        payer_type = payer_types.table().payer_type(payer_id, self._filing_indicator or None, on)
        person = self._patient or self._subscriber
        patient = {"name": person.get("name"), "birth_date": person.get("birth_date"),
                   "member_id": self._subscriber.get("member_id") or person.get("member_id"),
                   "patient_ref": claim.patient_ref or None}
        dates = [ln.service_date for ln in claim.lines if ln.service_date is not None]
        lines = []
        for index, line in enumerate(claim.lines, start=1):
            parts = line.procedure
            if len(parts) < 2 or not parts[1]:
                claim.record.issues.append(self._note("element", "SV101-02 (the procedure code) is missing: "
                                                                 "published as UNKNOWN", "SV1", line.at,
                                                      "SV101-02"))
            lines.append({
                "line_id": line.control_number or line.number or str(index),
                "procedure": {"qualifier": (parts[0] if parts else "") or None,
                              "code": (parts[1] if len(parts) > 1 else "") or "UNKNOWN",
                              "modifiers": [m for m in parts[2:6] if m]},
                "units": line.units if line.units is not None else 1, "charge": line.charge,
                "service_date": line.service_date, "diagnosis_pointers": line.pointers,
                "prior_authorization": line.authorization or None,
            })
        other_payers = []
        for other in claim.other_payers:
            if not other.get("id"):
                continue
            other_payers.append({
                "id": other["id"][:64], "name": other.get("name"), "responsibility": other["responsibility"],
                "type": payer_types.table().payer_type(other["id"], other.get("filing_indicator") or None, on)})
        return {
            "event_id": event_id, "kind": "submitted", "occurred_at": submitted, "source": self.ctx.source,
            "payer": {"id": payer_id[:64], "name": (self._payer.get("name") or "")[:200] or None, "type": payer_type},
            "claim": {
                "claim_id": claim.claim_id, "frequency_code": claim.frequency or None,
                "original_payer_claim_number": claim.original or None, "total_charge": claim.charge,
                "service_date_from": min(dates) if dates else None, "service_date_to": max(dates) if dates else None,
                "patient": patient,
                "provider": {"billing_npi": _npi(self._billing_npi), "rendering_npi": _npi(claim.rendering_npi)},
                "diagnoses": claim.diagnoses[:12], "prior_authorization": claim.authorization or None,
                "other_payers": other_payers[:5], "lines": lines, "injury": self._injury(claim),
            },
            "data_quality": claim.record.flags([*self.header_flags, *(f for level in ("20", "22", "23")
                                                                       for f in self._level_flags[level])]),
        }

    def _injury(self, claim: _Claim) -> dict | None:
        """CLM11 related causes (employment, auto or other accident), DTP*439 and REF*Y4 (the subscriber's or
        patient's property-and-casualty claim number): the injury a workers' comp or P&C claim is for."""
        number = claim.injury_claim_number or self._casualty_claim_number
        if not (claim.related_causes or number or claim.injury_date):
            return None
        kind = INJURY_KINDS[claim.related_causes[0]] if claim.related_causes else (
            "workers_comp" if self._filing_indicator == "WC" else "other")
        return {"kind": kind, "date_of_injury": claim.injury_date, "claim_number": number or None,
                "state": claim.accident_state or None}

    @staticmethod
    def _note(code: str, reason: str, segment: str, at=(None, None), element: str | None = None):
        from service.x12.issues import Issue

        return Issue("warning", code, reason, segment=segment, line=at[0], position=at[1], element=element)

    _HANDLERS = {
        "BHT": _bht, "HL": _hl, "SBR": _sbr, "NM1": _nm1, "DMG": _dmg, "CLM": _clm, "REF": _ref, "HI": _hi,
        "LX": _lx, "SV1": _sv1, "DTP": _dtp,
    }


def _npi(value: str) -> str | None:
    return value if len(value) == 10 and value.isdigit() else None
