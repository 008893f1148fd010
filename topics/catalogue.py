"""The topic catalogue: every topic's name, key, direction, default partitions and record model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from topics.outputs import ClassifiedEvent, DeadLetterEvent, FollowupEvent, TaskEvent
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent
from topics.x12 import X12InboundEnvelope


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    direction: Literal["in", "out"]
    key: str
    partitions: int
    model: type[BaseModel] | None
    description: str
    max_message_bytes: int | None = None
    retention_ms: int | None = None  # None: the broker's default (what compose's `topics` one-shot leaves it at)


CLAIMS_STATUS = "claims.status.v1"
CLAIMS_REMITTANCE = "claims.remittance.v1"
PROVIDER_ADJUSTMENTS = "remittance.provider-adjustments.v1"
X12_INBOUND = "x12.inbound.v1"
DENIALS_CLASSIFIED = "denials.classified.v1"
APPEALS_TASKS = "appeals.tasks.v1"
DEADLETTER = "deadletter.v1"

FOLLOWUP_KINDS = (
    "corrected-claim", "records-request", "eligibility-check", "authorization", "rebill", "patient-billing",
    "status-inquiry", "underpayment",
)


def followup_topic(kind: str) -> str:
    if kind not in FOLLOWUP_KINDS:
        raise KeyError(kind)
    return f"followups.{kind}.v1"


# Claim-keyed topics get enough partitions to scale out (partitions >= workers).
CLAIM_PARTITIONS = 12

_FOLLOWUP_TEXT = {
    "corrected-claim": "fix and resubmit (coding, modifiers, missing data, auth number)",
    "records-request": "gather and send documentation",
    "eligibility-check": "re-verify coverage (270/271)",
    "authorization": "obtain or correct an authorization (incl. retro-auth)",
    "rebill": "bill another payer (COB, wrong payer, workers' comp)",
    "patient-billing": "bill the patient (PR amounts), once every payer on the claim has adjudicated",
    "status-inquiry": "ask the payer (276) about a silent or pending claim",
    "underpayment": "paid below contract",
}

CATALOGUE: dict[str, TopicSpec] = {
    spec.name: spec
    for spec in [
        TopicSpec(CLAIMS_STATUS, "in", "claim_id", CLAIM_PARTITIONS, StatusEvent,
                  "a claim lifecycle event: submitted, acknowledgement (277CA), status (277)"),
        TopicSpec(CLAIMS_REMITTANCE, "in", "claim_id", CLAIM_PARTITIONS, RemittanceEvent,
                  "one claim payment from an 835 (one CLP loop with its service lines)"),
        TopicSpec(PROVIDER_ADJUSTMENTS, "in", "payee NPI", 4, ProviderAdjustmentEvent,
                  "one 835 PLB adjustment (recoupment, interest, forward balance)"),
        TopicSpec(X12_INBOUND, "in", "interchange id", 4, X12InboundEnvelope,
                  "a raw X12 5010 interchange (835, 277, 277CA)", max_message_bytes=20 * 1024 * 1024),
        TopicSpec(DENIALS_CLASSIFIED, "out", "claim_id", CLAIM_PARTITIONS, ClassifiedEvent,
                  "the decisions for every adjustment of one remittance"),
        TopicSpec(APPEALS_TASKS, "out", "claim_id", CLAIM_PARTITIONS, TaskEvent, "a task opened, updated or closed"),
        *[
            TopicSpec(followup_topic(kind), "out", "claim_id", CLAIM_PARTITIONS, FollowupEvent, text)
            for kind, text in _FOLLOWUP_TEXT.items()
        ],
        TopicSpec(DEADLETTER, "out", "original key", 3, DeadLetterEvent,
                  "an input that could not be processed, with the reason"),
    ]
}

INPUT_TOPICS = tuple(name for name, spec in CATALOGUE.items() if spec.direction == "in")
OUTPUT_TOPICS = tuple(name for name, spec in CATALOGUE.items() if spec.direction == "out")
