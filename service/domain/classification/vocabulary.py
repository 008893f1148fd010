"""The decision vocabulary of DESIGN.md (the same lists as `topics.outputs`; a unit test keeps them equal)."""

from __future__ import annotations

CATEGORIES = (
    "patient_responsibility", "contractual", "informational",
    "authorization", "medical_necessity", "coding", "bundling", "eligibility", "coordination_of_benefits",
    "timely_filing", "duplicate", "missing_information", "documentation", "frequency_limit", "non_covered",
    "provider_enrollment", "pricing", "unclassified",
)
NON_DENIAL_CATEGORIES = ("patient_responsibility", "contractual", "informational")
ACTIONS = (
    "appeal", "reopening", "corrected_claim", "new_claim", "submit_records", "obtain_authorization",
    "verify_eligibility", "rebill_other_payer", "bill_patient", "contract_review", "review", "wait", "write_off",
    "none",
)
QUEUES = ("appeals", "coding", "authorization", "eligibility", "billing", "credentialing", "patient_accounts",
          "contracts")

# How an action reads at the end of an explanation.
ACTION_PHRASES = {
    "appeal": "appeal",
    "reopening": "request a reopening",
    "corrected_claim": "send a corrected claim",
    "new_claim": "submit a new claim",
    "submit_records": "send the requested records",
    "obtain_authorization": "obtain the authorization (retro-authorization where the plan allows it)",
    "verify_eligibility": "verify eligibility and benefits (270/271)",
    "rebill_other_payer": "bill the other payer",
    "bill_patient": "bill the patient",
    "contract_review": "review against the contract",
    "review": "review manually",
    "wait": "wait",
    "write_off": "write off",
    "none": "no action",
}

# Actions after which a claim is (re)submitted: these carry the timely-filing clock.
FILING_ACTIONS = ("corrected_claim", "new_claim", "obtain_authorization", "verify_eligibility", "rebill_other_payer")
# Actions that run against the appeal window of the notice.
APPEAL_WINDOW_ACTIONS = ("appeal", "submit_records", "obtain_authorization", "contract_review")
