"""The business key of a remittance: what stays the same when a payer re-sends a file under new control numbers.

Event ids derive from control numbers and positions, so a re-sent file carries new ids and passes the inbox; the
store compares this key instead and records the copy as a duplicate. The key is a digest (it is built from a claim
id, which is PHI, and may be stored and logged as-is).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from topics.remittance import RemittanceEvent

VERSION = "bk1"


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value.quantize(Decimal('0.01'))}"


def business_key(event: RemittanceEvent) -> str:
    """Payer, trace number (TRN02), claim id (CLP01), payer claim number (CLP07), status (CLP02) and the claim's
    amounts (charge, paid, patient responsibility)."""
    claim = event.claim
    parts = (
        event.payer.id, event.remit.trace_number or "", claim.claim_id, claim.payer_claim_number or "",
        claim.status_code, _money(claim.total_charge), _money(claim.total_paid),
        _money(claim.patient_responsibility),
    )
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{VERSION}:{digest}"
