"""The demo stream: valid contract records, deterministic per seed, namespaced per run, realistic, race-free waves."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest

from service.demo.clinic import EPOCH, LAST_SERVICE_DATE
from service.demo.stream import DEFAULT_CLAIMS, DEFAULT_SEED, build_stream
from service.domain.classification import load_classifier
from service.entrypoints.commands.classify import classify_events, events_from_json_lines
from topics.catalogue import CATALOGUE, CLAIMS_REMITTANCE, CLAIMS_STATUS, PROVIDER_ADJUSTMENTS
from topics.codec import decode

RUN = "demo-0badc0de"


@pytest.fixture(scope="module")
def default_stream():
    return build_stream(DEFAULT_CLAIMS, DEFAULT_SEED, RUN)


@pytest.fixture(scope="module")
def default_records(default_stream):
    return [(r, json.loads(r.value)) for r in default_stream.records()]


def _without_run(stream, run_id: str) -> list[tuple[str, bytes, bytes]]:
    marker = run_id.encode()
    return [(r.topic, r.key.replace(marker, b"RUN"), r.value.replace(marker, b"RUN")) for r in stream.records()]


def test_the_same_seed_gives_the_same_content_under_any_run_id():
    first = build_stream(120, 7, "demo-aaaaaaaa")
    second = build_stream(120, 7, "demo-bbbbbbbb")
    assert _without_run(first, "demo-aaaaaaaa") == _without_run(second, "demo-bbbbbbbb")
    assert [len(w) for w in first.waves] == [len(w) for w in second.waves]


def test_another_seed_gives_another_stream():
    assert _without_run(build_stream(120, 7, RUN), RUN) != _without_run(build_stream(120, 8, RUN), RUN)


@pytest.mark.parametrize("claims", [1, 2, 60, 137])
def test_the_stream_holds_exactly_the_claims_asked_for(claims):
    stream = build_stream(claims, 3, RUN)
    claim_ids = {r.claim_id for r in stream.records()}
    assert stream.claims == claims
    assert len(claim_ids) == claims


def test_every_id_of_the_run_is_in_its_namespace(default_records, default_stream):
    prefix = default_stream.prefix
    event_ids = [r.event_id for r, _ in default_records]
    assert len(event_ids) == len(set(event_ids)), "event ids are unique"
    for record, body in default_records:
        assert record.event_id.startswith(prefix)
        assert record.claim_id is not None and record.claim_id.startswith(prefix)
        if record.topic == PROVIDER_ADJUSTMENTS:
            assert body["adjustment"]["claim_id"].startswith(prefix)
            assert record.key == body["payee"]["npi"].encode()  # keyed by payee NPI
        else:
            assert record.key == body["claim"]["claim_id"].encode()  # keyed by claim id
            assert body["claim"]["patient"]["patient_ref"].startswith(prefix)


def test_every_record_is_a_valid_contract_record(default_stream):
    for record in default_stream.records():
        model = CATALOGUE[record.topic].model
        assert model is not None
        decoded = decode(model, record.value)
        assert decoded.event_id == record.event_id


def test_dates_come_from_the_fixed_epoch_not_from_today(default_records):
    latest = EPOCH + dt.timedelta(days=365)
    for _, body in default_records:
        occurred = dt.datetime.fromisoformat(body["occurred_at"]).date()
        assert EPOCH <= occurred < latest
        claim = body.get("claim")
        if claim and claim.get("service_date_from"):
            assert EPOCH <= dt.date.fromisoformat(claim["service_date_from"]) <= LAST_SERVICE_DATE


def test_each_claims_events_are_in_time_order(default_stream):
    by_claim: dict[str, list] = {}
    for record in default_stream.records():
        if record.topic != PROVIDER_ADJUSTMENTS:
            by_claim.setdefault(record.claim_id, []).append(record)
    for records in by_claim.values():
        ordered = sorted(records, key=lambda r: r.order)
        times = [r.occurred_at for r in ordered]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_remittances_balance_to_the_cent(default_records):
    for record, body in default_records:
        if record.topic != CLAIMS_REMITTANCE:
            continue
        claim = body["claim"]
        lines = claim["lines"]
        for line in lines:
            adjusted = sum(Decimal(str(a["amount"])) for a in line["adjustments"])
            assert Decimal(str(line["charge"])) == Decimal(str(line["paid"])) + adjusted, record.event_id
        assert Decimal(str(claim["total_charge"])) == sum(Decimal(str(ln["charge"])) for ln in lines)
        assert Decimal(str(claim["total_paid"])) == sum(Decimal(str(ln["paid"])) for ln in lines)
        patient_share = sum(Decimal(str(a["amount"])) for ln in lines for a in ln["adjustments"] if a["group"] == "PR")
        assert Decimal(str(claim["patient_responsibility"])) == patient_share


def test_reversals_negate_the_original_and_a_readjudication_follows(default_records):
    remits: dict[str, list[dict]] = {}
    for record, body in default_records:
        if record.topic == CLAIMS_REMITTANCE:
            remits.setdefault(body["claim"]["claim_id"], []).append(body)
    reversed_claims = 0
    for history in remits.values():
        for i, remit in enumerate(history):
            if remit["claim"]["status_code"] != "22":
                continue
            reversed_claims += 1
            original = next(r for r in history[:i] if r["claim"]["payer_claim_number"] ==
                            remit["claim"]["payer_claim_number"] and r["claim"]["status_code"] != "22")
            assert remit["claim"]["total_charge"] == -original["claim"]["total_charge"]
            assert remit["claim"]["total_paid"] == -original["claim"]["total_paid"]
            following = history[i + 1]
            assert following["claim"]["status_code"] != "22"
            assert following["claim"]["payer_claim_number"] != remit["claim"]["payer_claim_number"]
    assert reversed_claims >= 10


def test_corrected_claims_name_the_payer_claim_number_they_replace(default_records):
    icns_by_claim: dict[str, set[str]] = {}
    corrected = 0
    for record, body in default_records:
        claim = body.get("claim") or {}
        if record.topic == CLAIMS_REMITTANCE:
            icns_by_claim.setdefault(claim["claim_id"], set()).add(claim["payer_claim_number"])
        elif record.topic == CLAIMS_STATUS and body["kind"] == "submitted" and claim["frequency_code"] == "7":
            corrected += 1
            assert claim["original_payer_claim_number"] in icns_by_claim[claim["claim_id"]]
    assert corrected >= 5


def test_the_default_stream_shows_a_pain_practice(default_stream, default_records):
    codes, modifiers, statuses, payer_types, adjustments = set(), set(), set(), set(), Counter()
    for record, body in default_records:
        if record.topic == CLAIMS_STATUS and body["kind"] == "submitted":
            for line in body["claim"]["lines"]:
                codes.add(line["procedure"]["code"])
                modifiers.update(line["procedure"]["modifiers"])
        elif record.topic == CLAIMS_STATUS:
            s = body["status"]
            statuses.add(f"{s['category']}:{s['code']}:{s['entity']}")
        elif record.topic == CLAIMS_REMITTANCE:
            payer_types.add(body["payer"]["type"])
            for line in body["claim"]["lines"]:
                for a in line["adjustments"]:
                    adjustments[f"{a['group']}-{a['reason']}" + "".join(f"+{r}" for r in line["remarks"])] += 1
    assert {"62321", "62323", "64479", "64480", "64483", "64484", "64490", "64491", "64493", "64494", "64633",
            "64634", "64635", "64636", "27096", "G0260", "64451", "20552", "20553", "63650", "63685", "80305",
            "80306", "80307", "G0480", "G0481", "G0482", "G0483", "99213", "99214", "77003", "J1040"} <= codes
    assert {"25", "JW", "JZ", "KX", "50", "RT", "LT", "GA"} <= modifiers
    assert {"A2:20:PR", "A7:562:85", "A6:21:IL", "P3:21:1P", "F2:84:1P", "F2:88:IL"} <= statuses
    assert payer_types == {"medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp"}
    for code in ("CO-45", "PR-1", "PR-2", "PR-3", "CO-253", "CO-197", "CO-50+N115", "PR-50+N115", "CO-4+N822",
                 "CO-97+N20", "CO-119", "CO-151", "CO-27", "CO-31", "CO-22", "CO-29", "OA-18", "CO-252+M127",
                 "CO-185", "OA-23", "CO-P12"):
        assert adjustments[code] > 0, code
    # most claims are paid
    assert default_stream.scenarios["paid"] / default_stream.claims > 0.75
    assert set(default_stream.followups) == {"appeal_won", "corrected", "recouped", "reopen", "repriced"}


def test_the_classifier_finds_every_cause_in_the_default_stream(default_stream):
    """Replayed through the pure classifier in publishing order (history kept in memory, as `denials classify`)."""
    data = b"\n".join(r.value for r in default_stream.records() if r.topic != PROVIDER_ADJUSTMENTS)
    classifier = load_classifier()
    known_before = Counter(classifier.unknown_codes)  # the classifier is cached across tests: count this stream's
    categories, rules, denied_claims = Counter(), Counter(), set()
    for out in classify_events(events_from_json_lines(data), classifier, None):
        assert isinstance(out, dict), out
        if out.get("is_denial"):
            categories[out["category"]] += 1
            rules[out["rule_id"]] += 1
            denied_claims.add(out["claim_id"])
    assert set(categories) >= {"authorization", "medical_necessity", "coding", "bundling", "frequency_limit",
                               "eligibility", "coordination_of_benefits", "timely_filing", "duplicate",
                               "documentation", "provider_enrollment"}
    assert "unclassified" not in categories
    assert not classifier.unknown_codes - known_before
    # claim history at work: a session past the rolling 12-month limit, an ablation without blocks on file
    assert any(rule.startswith("history.") and not rule.endswith("under_limit") for rule in rules)
    assert rules["history.rfa_needs_two_blocks"] > 0
    assert 0.08 < len(denied_claims) / default_stream.claims < 0.3


def test_waves_never_let_a_patients_events_race(default_stream):
    """In one wave a patient has either status records (any of their claims) or one claim's remittances; a claim's
    later records never sit in an earlier wave."""
    wave_of: dict[str, int] = {}
    for index, wave in enumerate(default_stream.waves):
        by_patient: dict[int, set[tuple[str, str | None]]] = {}
        for record in wave:
            if record.topic == PROVIDER_ADJUSTMENTS:
                continue
            by_patient.setdefault(record.patient, set()).add(
                (record.topic, record.claim_id if record.topic == CLAIMS_REMITTANCE else None))
            wave_of[record.event_id] = index
        for kinds in by_patient.values():
            assert len(kinds) == 1, kinds
    by_claim: dict[str, list] = {}
    for record in default_stream.records():
        if record.topic != PROVIDER_ADJUSTMENTS:
            by_claim.setdefault(record.claim_id, []).append(record)
    for records in by_claim.values():
        ordered = sorted(records, key=lambda r: r.order)
        waves = [wave_of[r.event_id] for r in ordered]
        assert waves == sorted(waves)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.topic != after.topic:
                assert wave_of[after.event_id] > wave_of[before.event_id]


def test_provider_adjustments_come_after_the_claims_they_name(default_stream):
    last = default_stream.waves[-1]
    plb = [r for r in default_stream.records() if r.topic == PROVIDER_ADJUSTMENTS]
    assert plb and all(r in last for r in plb)
    assert len(default_stream.waves) >= 2
    submitted_in = {r.claim_id for w in default_stream.waves[:-1] for r in w if r.topic == CLAIMS_STATUS}
    assert {r.claim_id for r in plb} <= submitted_in


def test_a_claim_count_below_one_is_refused():
    with pytest.raises(ValueError):
        build_stream(0, 1, RUN)
