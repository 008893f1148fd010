"""Builders for contract records (plain dicts, as a billing platform would publish them)."""

from __future__ import annotations

import copy
from typing import Any


def remittance(event_id: str, claim_id: str, *, payer: dict | None = None, status_code: str = "1",
               lines: list[dict] | None = None, claim_adjustments: list[dict] | None = None,
               remarks: list[str] | None = None, occurred_at: str = "2026-03-02T14:05:00Z",
               production_date: str = "2026-02-27", patient: dict | None = None,
               trace_number: str | None = None, payer_claim_number: str | None = None) -> dict[str, Any]:
    lines = lines if lines is not None else [line("1", "64483", ["RT"], charge=1200.00, paid=0.00,
                                                  adjustments=[{"group": "CO", "reason": "197", "amount": 1200.00}])]
    total_charge = round(sum(x["charge"] for x in lines), 2)
    total_paid = round(sum(x["paid"] for x in lines), 2)
    return {
        "event_id": event_id, "schema_version": 1, "occurred_at": occurred_at, "source": "test-clearinghouse",
        "payer": payer or {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"},
        "remit": {"trace_number": trace_number or f"EFT-{event_id}", "production_date": production_date,
                  "payment_date": production_date, "received_date": production_date},
        "claim": {
            "claim_id": claim_id, "payer_claim_number": payer_claim_number or f"ICN-{claim_id}",
            "status_code": status_code, "filing_indicator": "CI", "total_charge": total_charge,
            "total_paid": total_paid, "patient_responsibility": 0.0,
            "service_date_from": "2026-01-15", "service_date_to": "2026-01-15",
            "patient": patient or {"member_id": f"MEM-{claim_id}", "patient_ref": f"MRN-{claim_id}",
                                   "name": "DOE, JANE", "birth_date": "1961-04-02"},
            "adjustments": claim_adjustments or [], "remarks": remarks or [], "lines": lines,
        },
    }


def line(line_id: str, code: str, modifiers: list[str] | None = None, *, charge: float, paid: float,
         adjustments: list[dict] | None = None, remarks: list[str] | None = None,
         service_date: str = "2026-01-15", allowed: float | None = None) -> dict[str, Any]:
    return {"line_id": line_id, "procedure": {"code": code, "modifiers": modifiers or []}, "units": 1,
            "charge": charge, "allowed": allowed if allowed is not None else paid, "paid": paid,
            "service_date": service_date, "adjustments": adjustments or [], "remarks": remarks or []}


def submitted(event_id: str, claim_id: str, *, payer: dict | None = None, lines: list[dict] | None = None,
              frequency_code: str = "1", original_payer_claim_number: str | None = None,
              occurred_at: str = "2026-01-16T09:00:00Z", prior_authorization: str | None = None) -> dict[str, Any]:
    lines = lines or [{"line_id": "1", "procedure": {"code": "64483", "modifiers": ["RT"]}, "units": 1,
                       "charge": 1200.00, "service_date": "2026-01-15", "diagnosis_pointers": [1]}]
    return {
        "event_id": event_id, "schema_version": 1, "kind": "submitted", "occurred_at": occurred_at,
        "payer": payer or {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"},
        "claim": {"claim_id": claim_id, "frequency_code": frequency_code,
                  "original_payer_claim_number": original_payer_claim_number,
                  "total_charge": round(sum(x["charge"] for x in lines), 2),
                  "service_date_from": "2026-01-15", "service_date_to": "2026-01-15",
                  "patient": {"member_id": f"MEM-{claim_id}", "patient_ref": f"MRN-{claim_id}"},
                  "provider": {"billing_npi": "1234567893", "rendering_npi": "1922334455"},
                  "diagnoses": ["M54.16"], "prior_authorization": prior_authorization, "other_payers": [],
                  "lines": lines},
        "status": None,
    }


def with_changes(event: dict, **changes: Any) -> dict:
    out = copy.deepcopy(event)
    out.update(changes)
    return out
