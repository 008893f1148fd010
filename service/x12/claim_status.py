"""277 (005010X212) and 277CA (005010X214) -> `claims.status.v1` (`status` and `acknowledgement`).

The hierarchy (HL03): 20 information source (the payer, NM1*PR), 21 information receiver, 19 provider (X212
service provider, X214 billing provider), 22 subscriber, 23 dependent (X212), PT patient (X214). A TRN at the
subscriber, dependent or patient level opens a claim (2200D/E); a TRN at the receiver or provider level opens a
batch-level record.

- Claim: one event per claim status loop. `status` is the first STC composite (STC01: category, status code,
  entity, code-list qualifier; STC02 date; STC03 action code; STC04 amount); further composites (STC10, STC11 and
  later STC segments) go to `additional_statuses`. Line statuses come from the STC after each SVC (2220), with
  `line_id` = REF*FJ, else the SVC position. The claim id is the patient-level TRN02, which the 277CA defines as
  the patient control number (CLM01); a 277 (X212) echoes the 276's trace there and carries the patient control
  number in REF*EJ, which wins when present (TRN02 then stays on the record as `trace_number`).
- Above claim level: an STC at the receiver or provider level becomes a batch-level status (`scope`, no claim).
- 277 RFAI (005010X213): the patient level is HL*PT; its TRN02 is the payer's control number for the request (the
  275 that answers echoes it), so the claim id is REF*EJ (the patient control number), else the TRN02 (flagged).
  Every STC composite whose code-list qualifier is LOI (a LOINC attachment code) or whose category is R0-R17 is a
  requested item (`information_request.requested`, with the line for a 2220D request); DTP*106 is the response due
  date. A 277 of another guide carrying such composites gets the same `information_request`.

Tolerance: a record is refused only when it cannot be keyed (no TRN/REF claim id) or carries no status at all. An
unreadable date, amount or quantity is left empty and flagged with its value as sent (an impossible DTP date such
as 20230229 included); an unreadable line charge of a status record is read as 0.00 (flagged).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from pydantic import ValidationError

from service.x12 import payer_types
from service.x12.context import Builder, Record, SetContext
from service.x12.elements import (
    amount,
    components,
    date,
    date_range,
    el,
    optional_amount,
    person_name,
    quantity,
    timestamp,
)
from service.x12.issues import Issue
from topics.catalogue import CLAIMS_STATUS
from topics.common import Payer
from topics.status import StatusEvent

PATIENT_LEVELS = {"22", "23", "PT"}
BATCH_LEVELS = {"21", "19"}
LOINC = "LOI"
ZERO = Decimal("0.00")


@dataclass(slots=True)
class _Line:
    position: int
    svc: list[str]
    charge: Decimal
    units: Decimal | None
    control_number: str | None = None
    service_date: dt.date | None = None
    statuses: list[dict] = field(default_factory=list)


@dataclass(slots=True)
class _Open:
    record: Record
    level: str  # HL03 of the level that owns the record
    trace: str = ""
    statuses: list[dict] = field(default_factory=list)
    payer_claim_number: str = ""
    patient_control_number: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    response_due: dt.date | None = None
    lines: list[_Line] = field(default_factory=list)


def _requested(statuses: list[dict], line_id: str | None) -> list[dict]:
    """The composites that ask for information: LOINC-coded ones and the R (request) categories."""
    items = []
    for status in statuses:
        category = status["category"]
        if status.get("code_list_qualifier") == LOINC or (category.startswith("R") and category[1:].isdigit()):
            items.append({"category": category, "code": status.get("code"),
                          "code_list_qualifier": status.get("code_list_qualifier"), "line_id": line_id})
    return items


class StatusBuilder(Builder):
    """Consumes the segments of one 277 transaction set, in order; publishes through `out`."""

    def __init__(self, ctx: SetContext, out, *, kind: str) -> None:
        super().__init__(ctx, out)
        self.kind = kind
        self._open: _Open | None = None
        self._level = ""
        self._occurred: dt.datetime | None = None
        self._payer: dict = {}
        self._receiver_id = ""
        self._provider_id = self._provider_npi = ""
        self._subscriber: dict = {}
        self._patient: dict = {}
        self._claims = 0
        self._batches = 0

    def finish(self) -> None:
        self._close()

    # --- hierarchy --------------------------------------------------------------------------------------------

    def _bht(self, seg, line, position) -> None:
        self._occurred = timestamp(el(seg, 4), el(seg, 5))
        structure = el(seg, 1)
        if structure not in ("0010", "0085"):
            self.flag("code", "BHT01 is not a hierarchical structure code (0010, 0085): the levels are read by their "
                              "HL03 codes", element="BHT01", value=structure)

    def _hl(self, seg, line, position) -> None:
        self._close()
        self._level = el(seg, 3)
        if self._level == "20":
            self._payer = {}
        elif self._level == "21":
            self._receiver_id = ""
        elif self._level == "19":
            self._provider_id = self._provider_npi = ""
        elif self._level == "22":
            self._subscriber, self._patient = {}, {}
        elif self._level in ("23", "PT"):
            self._patient = {}

    def _nm1(self, seg, line, position) -> None:
        entity, identifier = el(seg, 1), el(seg, 9)
        level = self._level
        if level == "20":
            self._payer = {"id": identifier or el(seg, 3), "name": el(seg, 3) or None}
        elif level == "21":
            self._receiver_id = identifier
        elif level == "19":
            self._provider_id = identifier
            self._provider_npi = identifier if el(seg, 8) == "XX" else ""
        elif level in PATIENT_LEVELS:
            person = {"name": person_name(seg), "member_id": identifier or None}
            if level == "22" and entity == "IL":
                self._subscriber = person
                self._patient = dict(person)
            else:
                self._patient = person

    # --- records ----------------------------------------------------------------------------------------------

    def _start(self, line: int | None, seg) -> _Open:
        self._close()
        if self._level in PATIENT_LEVELS:
            self._claims += 1
            record = Record("status", CLAIMS_STATUS, self._claims, line, [seg])
        else:
            self._batches += 1
            record = Record("status", CLAIMS_STATUS, self._batches, line, [seg])
        self._open = _Open(self.open(record), self._level)
        return self._open

    def _composites(self, seg) -> list[dict]:
        """The STC composites of one segment (STC01, STC10, STC11) with the segment's date, action code and
        amount."""
        effective = self.lenient(date, el(seg, 2), "STC02") if el(seg, 2) else None
        action = el(seg, 3) or None
        out = []
        for n in (1, 10, 11):
            parts = components(seg, n)
            if not parts or not parts[0]:
                continue
            out.append({
                "category": parts[0], "code": (parts[1] if len(parts) > 1 else "") or None,
                "entity": (parts[2] if len(parts) > 2 else "") or None,
                "code_list_qualifier": (parts[3] if len(parts) > 3 else "") or None,
                "action_code": action, "effective_date": effective,
                "amount": self.lenient(optional_amount, el(seg, 4), "STC04") if n == 1 else None,
            })
        return out

    def _trn(self, seg, line, position) -> None:
        if self._level in PATIENT_LEVELS or self._level in BATCH_LEVELS:
            self._start(line, seg).trace = el(seg, 2)

    def _stc(self, seg, line, position) -> None:
        current = self._open
        if current is None:
            if not (self._level in PATIENT_LEVELS or self._level in BATCH_LEVELS):
                return
            current = self._start(line, seg)
        composites = self._composites(seg)
        if current.lines:
            current.lines[-1].statuses.extend(composites)
        else:
            current.statuses.extend(composites)

    def _ref(self, seg, line, position) -> None:
        current = self._open
        if current is None or current.level not in PATIENT_LEVELS:
            return
        qualifier, value = el(seg, 1), el(seg, 2)
        if current.lines:
            if qualifier == "FJ":
                current.lines[-1].control_number = value
        elif qualifier == "1K":
            current.payer_claim_number = value
        elif qualifier == "EJ":
            current.patient_control_number = value

    def _dtp(self, seg, line, position) -> None:
        current = self._open
        if current is None or current.level not in PATIENT_LEVELS:
            return
        qualifier = el(seg, 1)
        if qualifier == "106" and not current.lines:
            current.response_due = self.lenient(date, el(seg, 3), "DTP03")
            return
        if qualifier != "472":
            return
        dates = self.lenient(lambda value, element: date_range(el(seg, 2), value, element), el(seg, 3), "DTP03")
        if dates is None:
            return
        start, end = dates
        if current.lines:
            current.lines[-1].service_date = start
        else:
            current.date_from, current.date_to = start, end

    def _svc(self, seg, line, position) -> None:
        current = self._open
        if current is None or current.level not in PATIENT_LEVELS:
            return
        charge = self.lenient(amount, el(seg, 2), "SVC02")
        if charge is None:
            self.flag("element", "the line's charge (SVC02) is read as 0.00", element="SVC02")
        current.lines.append(_Line(position=len(current.lines) + 1, svc=components(seg, 1),
                                   charge=ZERO if charge is None else charge,
                                   units=self.lenient(quantity, el(seg, 7), "SVC07")))

    # --- building events --------------------------------------------------------------------------------------

    def _payer_record(self) -> dict:
        payer_id = self._payer.get("id") or ""
        on = self._occurred.date() if self._occurred else None
        return {"id": payer_id, "name": self._payer.get("name"),
                "type": payer_types.table().payer_type(payer_id, None, on)}

    def _close(self) -> None:
        current, self._open = self._open, None
        self.record = None
        if current is None:
            return
        record = current.record
        is_claim = current.level in PATIENT_LEVELS
        event_id = self.ctx.event_id("c" if is_claim else "b", record.position)
        claim_id = self._claim_id(current) if is_claim else None
        key = claim_id if is_claim else None
        if not current.statuses and not record.failed:
            if not is_claim:
                return  # a receiver/provider trace without a status has nothing to carry (pyx12 warns of the gap)
            record.problem("no claim-level STC status", segment="TRN", line=record.first_line)
        if is_claim and not claim_id:
            record.problem("the claim has no id (patient-level TRN02, REF*EJ): it cannot be keyed", segment="TRN",
                           line=record.first_line, element="TRN02")
        if record.failed:
            self.out.reject(record.rejection(self.ctx, event_id, key))
            return
        payer = self._payer_record()
        body = {
            "event_id": event_id, "kind": self.kind, "occurred_at": self._occurred or self.ctx.group_time,
            "source": self.ctx.source, "payer": self.shared(("payer", payer["id"], payer["name"]), Payer, payer),
            "status": current.statuses[0], "additional_statuses": current.statuses[1:],
            "data_quality": record.flags(self.header_flags),
        }
        if is_claim:
            body["claim"] = self._claim(current, claim_id)
            body["line_statuses"] = [
                {**status, "line_id": line.control_number or str(line.position)}
                for line in current.lines for status in line.statuses
            ]
            body["information_request"] = self._information_request(current)
        else:
            entity_id = self._receiver_id if current.level == "21" else self._provider_id
            level = "information_receiver" if current.level == "21" else (
                "billing_provider" if self.kind == "acknowledgement" else "provider")
            body["scope"] = {"level": level, "reference": current.trace or entity_id or None,
                             "entity_id": entity_id or None}
        try:
            event = StatusEvent.model_validate(body)
        except ValidationError as exc:
            record.contract_error(exc)
            self.out.reject(record.rejection(self.ctx, event_id, key))
            return
        self.out.emit(event)

    def _information_request(self, current: _Open) -> dict | None:
        requested = _requested(current.statuses, None)
        for line in current.lines:
            requested += _requested(line.statuses, line.control_number or str(line.position))
        if not requested and current.response_due is None:
            return None
        return {"payer_control_number": current.trace or None, "response_due_date": current.response_due,
                "requested": requested}

    def _claim_id(self, current: _Open) -> str:
        if self.ctx.version == "005010X213" and not current.patient_control_number and current.trace:
            # The RFAI's TRN02 is the payer's number for the request, not the provider's claim id.
            current.record.issues.append(Issue(
                "warning", "content", "no patient control number (REF*EJ): the claim is keyed by the payer's "
                "control number (TRN02)", segment="REF", line=current.record.first_line, element="REF02"))
        if self.kind == "status":
            return current.patient_control_number or current.trace
        return current.trace or current.patient_control_number

    def _claim(self, current: _Open, claim_id: str) -> dict:
        npi = self._provider_npi if len(self._provider_npi) == 10 and self._provider_npi.isdigit() else None
        patient = dict(self._patient)
        if not patient.get("member_id") and self._subscriber.get("member_id"):
            patient["member_id"] = self._subscriber["member_id"]
        return {
            "claim_id": claim_id, "trace_number": current.trace or None,
            "payer_claim_number": current.payer_claim_number or None,
            "total_charge": current.statuses[0].get("amount") if current.statuses else None,
            "service_date_from": current.date_from, "service_date_to": current.date_to,
            "patient": patient, "provider": {"billing_npi": npi} if npi else None,
            "lines": [
                {"line_id": line.control_number or str(line.position),
                 "procedure": {"qualifier": line.svc[0] if line.svc else None,
                               "code": line.svc[1] if len(line.svc) > 1 else "",
                               "modifiers": [m for m in line.svc[2:6] if m]},
                 "units": line.units if line.units is not None else 1, "charge": line.charge,
                 "service_date": line.service_date}
                for line in current.lines
            ],
        }

    _HANDLERS = {
        "BHT": _bht, "HL": _hl, "NM1": _nm1, "TRN": _trn, "STC": _stc, "REF": _ref, "DTP": _dtp, "SVC": _svc,
    }
