"""Claim identity: which records of a file are one claim, so that two patients' money never merges into one claim.

A claim is keyed by the provider's claim id, CLP01 (the patient control number the 837 sent as CLM01), because that
is what the provider's system and its submissions know it by. CLP01 alone is not always enough: some files use one
CLP01 for several patients (the TR3's own "multiple claims, single check" example does, and billing systems that
number claims per patient account or reuse short counters produce the same). Within one file the identity of a claim
is therefore CLP01 *and* its patient (the member id of NM1*QC, else of NM1*IL, else the patient's name):

- the first patient (in file order) seen with a CLP01 keeps it as the claim id, so its claims still meet their
  submission and earlier history;
- every other patient's claims with that CLP01 become `CLP01~p<8 hex digits>`, a digest of the patient's identity:
  the same patient always gets the same id, and the raw CLP01 stays in `patient_control_number`;
- every claim of such a CLP01 carries the flag `claim_id_shared`, and the file gets one warning (no value in it).

The payer claim number (CLP07) does not split claims: a reversal and its re-adjudication, or a corrected claim,
legitimately carry other CLP07s under one CLP01. When one patient's CLP01 carries more distinct CLP07s than its
reversals explain, the claims are kept as one and flagged `claim_id_reused` (a billing system numbering claims per
patient account would do that). Records keep their topic key (the claim id), so per-claim order holds for each.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

from service.x12.issues import Issue
from topics.common import DataQualityFlag
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent

SEPARATOR = "~p"
MAX_ID = 64  # the contract's Identifier


def _patient_identity(event) -> str | None:
    patient = event.claim.patient
    if patient.member_id:
        return "id:" + patient.member_id.strip().upper()
    if patient.name:
        return "name:" + " ".join(patient.name.upper().split())
    return None


def derived_id(claim_id: str, identity: str) -> str:
    """The claim id of another patient's claim under a shared CLP01 (deterministic, PHI-free suffix)."""
    tag = hashlib.sha256(identity.encode()).hexdigest()[:8]
    base = claim_id if len(claim_id) + len(SEPARATOR) + 8 <= MAX_ID else claim_id[:MAX_ID - len(SEPARATOR) - 8]
    return f"{base}{SEPARATOR}{tag}"


def _claim_scoped(event) -> bool:
    return isinstance(event, RemittanceEvent) or (isinstance(event, StatusEvent) and event.claim is not None
                                                  and event.kind != "submitted")


def _with(event, flag: Issue, **claim_update):
    flags = [*event.data_quality, DataQualityFlag(**flag.as_flag())]
    claim = event.claim.model_copy(update=claim_update) if claim_update else event.claim
    return event.model_copy(update={"claim": claim, "data_quality": flags})


def _where(events) -> str:
    positions = [e.event_id.rsplit("-", 1)[-1].lstrip("cb") for e in events]
    return ", ".join(positions)


def distinguish(events: list) -> tuple[list, list[Issue]]:
    """The file's events with shared claim ids made distinct per patient (see the module docstring), and the file
    warnings that say so."""
    groups: dict[str, list[int]] = defaultdict(list)
    for index, event in enumerate(events):
        if _claim_scoped(event):
            groups[event.claim.claim_id].append(index)
    out = list(events)
    warnings: list[Issue] = []
    for claim_id, indexes in groups.items():
        if len(indexes) < 2:
            continue
        identities: dict[str, list[int]] = {}
        for index in indexes:
            identity = _patient_identity(out[index])
            identities.setdefault(identity or "", []).append(index)
        known = [i for i in identities if i]
        if len(known) > 1:
            flag = Issue("warning", "claim_id_shared", f"the claim id (CLP01) is shared by {len(known)} patients in "
                                                       "this file: each patient's claims are published as a distinct "
                                                       "claim (patient_control_number keeps CLP01)",
                         segment="CLP", element="CLP01")
            first = known[0]
            for identity, members in identities.items():
                for index in members:
                    new_id = derived_id(claim_id, identity) if identity and identity != first else claim_id
                    out[index] = _with(out[index], flag, claim_id=new_id, patient_control_number=claim_id)
            where = _where(events[i] for i in indexes)
            warnings.append(Issue("warning", "claim_id_shared", f"one CLP01 is shared by {len(known)} patients "
                                                                f"(records {where} of their sets): published as "
                                                                f"{len(known)} distinct claims"))
            continue
        remittances = [out[i] for i in indexes if isinstance(out[i], RemittanceEvent)]
        reversals = sum(1 for e in remittances if e.claim.status_code == "22")
        numbers = {e.claim.payer_claim_number for e in remittances
                   if e.claim.status_code != "22" and e.claim.payer_claim_number}
        if len(numbers) > reversals + 1:
            flag = Issue("warning", "claim_id_reused", f"the claim id (CLP01) carries {len(numbers)} payer claim "
                                                       "numbers (CLP07) for one patient, more than its reversals "
                                                       "explain: kept as one claim", segment="CLP", element="CLP07")
            for index in indexes:
                if isinstance(out[index], RemittanceEvent):
                    out[index] = _with(out[index], flag)
            warnings.append(Issue("warning", "claim_id_reused",
                                  f"one CLP01 carries {len(numbers)} payer claim numbers for one patient (records "
                                  f"{_where(events[i] for i in indexes)} of their sets): kept as one claim"))
    return out, warnings
