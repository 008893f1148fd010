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


# The RFC 4122 variant bits (10xx) set on the first hex digit of the clock sequence: 0-3 -> 8-b, 4-7 -> 8-b, ...
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


def fast_uuid5(namespace: bytes, name: str) -> str:
    """`str(uuid.uuid5(UUID(bytes=namespace), name))` without building UUID objects (it is on the hot path): the
    SHA-1's first 32 hex digits with the version digit set to 5 and the variant bits set, in the 8-4-4-4-12 form."""
    x = hashlib.sha1(namespace + name.encode()).hexdigest()
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"
