"""Business identity of inputs: how a re-sent remittance is recognised under a new control number."""

from __future__ import annotations

import hashlib

from service.domain.model import Remittance


def remittance_business_key(remit: Remittance) -> str:
    """Payer, trace number (TRN02), claim id (CLP01), payer claim number (CLP07), status (CLP02) and amounts.

    Two events with the same key are the same adjudication sent twice; one of them is recorded as a duplicate."""
    parts = [
        remit.payer.id, remit.trace_number or "", remit.claim_id, remit.payer_claim_number or "", remit.status_code,
        f"{remit.total_charge:.2f}", f"{remit.total_paid:.2f}",
        f"{remit.patient_responsibility:.2f}" if remit.patient_responsibility is not None else "",
        ";".join(f"{line.line_id}:{line.procedure.code}:{line.charge:.2f}:{line.paid:.2f}" for line in remit.lines),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def fast_uuid5(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(UUID(bytes=namespace), name))` without building UUID objects (it is on the hot path)."""
    h = bytearray(hashlib.sha1(namespace + name.encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"
