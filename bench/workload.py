"""The benchmark's input: remittance events with three service lines and a realistic pain-clinic denial mix,
deterministic for a seed. Patients repeat, so the classifier's claim history is exercised."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

PAYERS = [
    {"id": "MCR-JL", "name": "Medicare Part B JL", "type": "medicare"},
    {"id": "MA-HUM", "name": "Medicare Advantage plan", "type": "medicare_advantage"},
    {"id": "MCD-TX", "name": "Texas Medicaid", "type": "medicaid"},
    {"id": "BCBS-TX", "name": "Blue Cross TX", "type": "commercial"},
    {"id": "WC-TX", "name": "Workers comp carrier", "type": "workers_comp"},
]
# (primary, add-on, imaging) triples billed together, with their charges
PROCEDURES = [
    (("64483", ("RT",), 1200.00), ("64484", ("RT",), 600.00), ("77003", (), 250.00)),
    (("64493", ("LT", "KX"), 900.00), ("64494", ("LT", "KX"), 450.00), ("J1040", ("JZ",), 40.00)),
    (("64635", ("RT",), 1500.00), ("64636", ("RT",), 700.00), ("77003", (), 250.00)),
    (("62323", (), 1100.00), ("J3301", ("JZ",), 30.00), ("99213", ("25",), 150.00)),
    (("20553", (), 300.00), ("J1040", ("JZ",), 40.00), ("99214", ("25",), 220.00)),
]
# (weight, adjustments for a line given its charge): most lines paid with CO-45 + PR cost share
OUTCOMES = [
    (60, lambda c: [("CO", "45", round(c * 0.2, 2)), ("PR", "2", round(c * 0.16, 2))], []),
    (10, lambda c: [("CO", "45", round(c * 0.25, 2)), ("PR", "1", round(c * 0.75, 2))], []),
    (6, lambda c: [("CO", "197", c)], []),
    (5, lambda c: [("CO", "50", c)], ["N115"]),
    (4, lambda c: [("CO", "97", c)], ["N20"]),
    (3, lambda c: [("CO", "4", c)], []),
    (3, lambda c: [("CO", "119", c)], []),
    (2, lambda c: [("CO", "27", c)], []),
    (2, lambda c: [("CO", "22", c)], []),
    (2, lambda c: [("OA", "18", c)], []),
    (2, lambda c: [("CO", "16", c)], ["M51"]),
    (1, lambda c: [("CO", "29", c)], []),
]
_WEIGHTS = [w for w, _, _ in OUTCOMES]


def remittances(n: int, *, seed: int = 7, prefix: str = "B",
                patients: int | None = None) -> Iterator[tuple[bytes, bytes]]:
    """(key, value) pairs of `claims.remittance.v1` JSON records."""
    rng = random.Random(seed)
    patients = patients or max(1, n // 4)
    for i in range(n):
        payer = PAYERS[rng.randrange(len(PAYERS))]
        trio = PROCEDURES[rng.randrange(len(PROCEDURES))]
        day = 1 + rng.randrange(27)
        month = 1 + rng.randrange(9)
        dos = f"2026-{month:02d}-{day:02d}"
        lines = []
        for k, (code, mods, charge) in enumerate(trio, start=1):
            _, adjust, remarks = OUTCOMES[rng.choices(range(len(OUTCOMES)), weights=_WEIGHTS)[0]]
            adjustments = [{"group": g, "reason": r, "amount": a} for g, r, a in adjust(charge)]
            paid = round(charge - sum(a["amount"] for a in adjustments), 2)
            lines.append({"line_id": str(k), "procedure": {"code": code, "modifiers": list(mods)}, "units": 1,
                          "charge": charge, "allowed": round(charge - adjustments[0]["amount"], 2)
                          if adjustments[0]["reason"] == "45" else 0.0,
                          "paid": paid, "service_date": dos, "adjustments": adjustments, "remarks": remarks})
        claim_id = f"{prefix}-C{i:08d}"
        patient = rng.randrange(patients)
        record = {
            "event_id": f"{prefix}-E{i:08d}", "schema_version": 1, "occurred_at": f"{dos}T12:00:00Z",
            "source": "bench", "payer": payer,
            "remit": {"trace_number": f"{prefix}-T{i:08d}", "production_date": dos, "payment_date": dos},
            "claim": {"claim_id": claim_id, "payer_claim_number": f"{prefix}-ICN{i:08d}", "status_code": "1",
                      "filing_indicator": "MB" if payer["type"] == "medicare" else "CI",
                      "total_charge": round(sum(x["charge"] for x in lines), 2),
                      "total_paid": round(sum(x["paid"] for x in lines), 2),
                      "service_date_from": dos, "service_date_to": dos,
                      "patient": {"member_id": f"{prefix}-M{patient:07d}", "patient_ref": f"{prefix}-P{patient:07d}"},
                      "adjustments": [], "remarks": [], "lines": lines},
        }
        yield claim_id.encode(), json.dumps(record, separators=(",", ":")).encode()
