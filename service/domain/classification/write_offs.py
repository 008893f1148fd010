"""Denials no work can recover, routed as write-offs with the reason: a timely-filing denial (CARC 29) of a claim
first sent after the payer's filing window, with no earlier submission on file to prove timely filing (reference
2.8: "usually not recoverable; appeal only with proof of timely original submission"). The window is the one the
service reads everywhere (payer_policies.toml via `clocks.filing_deadline`). Medicare's CO-29 is not appealable at
all and is routed by payer_routes.csv before this rule looks."""

from __future__ import annotations

import datetime as dt

from service.domain.clocks import HolidayCalendar, PayerPolicy, filing_deadline
from service.domain.model import ClaimFacts


def first_filed(facts: ClaimFacts | None) -> dt.date | None:
    """The day the claim was first sent, as far as the facts say (None: not known)."""
    if facts is None:
        return None
    if facts.first_submitted is not None:
        return facts.first_submitted
    sub = facts.submission
    # only an original tells when the claim was first sent; a replacement's original may have been on time
    return sub.occurred_at.astimezone(dt.UTC).date() if sub is not None and sub.frequency_code == "1" else None


def late_filing(carc: str, timely_filing_codes: frozenset[str], action: str, facts: ClaimFacts | None,
                policy: PayerPolicy, holidays: HolidayCalendar, service_date: dt.date | None) -> str | None:
    """Why an appealed CARC 29 denial cannot be won (the clause to say), or None when the rule does not apply: the
    claim's first submission on file came after the filing window closed, so nothing on file proves timely filing.
    `timely_filing_codes`: the CARCs that say the filing limit expired (outcomes.csv, timely_filing.past_window)."""
    if carc not in timely_filing_codes or action != "appeal" or service_date is None:
        return None
    first = first_filed(facts)
    if first is None:
        return None
    window = filing_deadline(policy, service_date, holidays)
    if first <= window.date:
        return None
    return (f"the claim was first sent on {first.isoformat()}, after the filing window closed on "
            f"{window.date.isoformat()} ({window.basis}), and no earlier submission is on file to prove timely "
            "filing, so an appeal cannot be won")
