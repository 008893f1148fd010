"""Every public sample file parses, and what the parser found matches an independent count of the file's segments."""

from __future__ import annotations

import pytest

from service.x12 import parse_file
from tests.unit.x12.conftest import all_samples, tally
from topics.provider_adjustment import ProviderAdjustmentEvent
from topics.remittance import RemittanceEvent
from topics.status import StatusEvent


@pytest.mark.parametrize("path", all_samples(), ids=lambda p: p.name)
def test_every_sample_parses_and_matches_an_independent_count(path):
    result = parse_file(path, source="samples")
    expected = tally(path.read_bytes())

    assert not result.rejected, [str(i) for i in result.fatal]
    remittances = [e for e in result.events if isinstance(e, RemittanceEvent)]
    statuses = [e for e in result.events if isinstance(e, StatusEvent)]
    adjustments = [e for e in result.events if isinstance(e, ProviderAdjustmentEvent)]
    rejected_claims = [e for e in result.record_errors if e.kind == "remittance"]

    assert len(remittances) + len(rejected_claims) == expected.claims
    assert result.counts.claims == len(remittances)
    assert result.exit_code == 0, [e.reason for e in result.record_errors]
    assert sum(len(e.claim.lines) for e in remittances) == expected.lines == result.counts.service_lines
    assert (sum(len(e.claim.adjustments) + sum(len(ln.adjustments) for ln in e.claim.lines) for e in remittances)
            == expected.adjustments == result.counts.adjustments)
    assert len(adjustments) == expected.plb_pairs == result.counts.provider_adjustments
    assert (sum(1 + len(e.additional_statuses) + len(e.line_statuses) for e in statuses) == expected.statuses)
    assert sum(1 for e in statuses if e.claim is not None) == expected.status_claims


@pytest.mark.parametrize("path", all_samples(), ids=lambda p: p.name)
def test_every_record_keeps_its_topic_key_and_a_unique_deterministic_id(path):
    first = parse_file(path).records()
    again = parse_file(path).records()

    assert [r.record.event_id for r in first] == [r.record.event_id for r in again]
    assert len({r.record.event_id for r in first}) == len(first)
    for r in first:
        if isinstance(r.record, RemittanceEvent):
            assert (r.topic, r.key) == ("claims.remittance.v1", r.record.claim.claim_id)
        elif isinstance(r.record, ProviderAdjustmentEvent):
            assert (r.topic, r.key) == ("remittance.provider-adjustments.v1", r.record.payee.npi)
        else:
            assert r.topic == "claims.status.v1"
            assert r.key == (r.record.claim.claim_id if r.record.claim else
                             f"batch:{r.record.scope.level}:{r.record.scope.reference}")


@pytest.mark.parametrize("path", [p for p in all_samples() if p.suffix == ".835"], ids=lambda p: p.name)
def test_every_parsed_sample_claim_balances(path):
    """The real files' claims all balance (charge - paid = adjustments), so an unbalanced flag means a real gap."""
    result = parse_file(path)
    for event in result.events:
        if isinstance(event, RemittanceEvent):
            assert event.claim.balance is not None and event.claim.balance.balanced, event.event_id
    assert result.counts.unbalanced == 0
