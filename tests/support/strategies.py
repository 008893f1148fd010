"""Hypothesis strategies for every JSON input contract (`claims.remittance.v1`, `claims.status.v1`,
`remittance.provider-adjustments.v1`) as plain dicts a publisher would send, and for the ways records go bad:
wrong types, impossible dates, bad amounts, truncation, deep nesting, non-UTF-8 bytes, X12 garbage.

Valid records respect the contract exactly (pydantic models in `topics/`), so every one of them must be applied;
every invalid one must be rejected with a value-free reason. Invalid values carry SENTINEL so a test can prove the
reason never echoes them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SENTINEL = "PHI-SENTINEL-7731"

ident = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,23}", fullmatch=True)
code = st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True)
carc = st.one_of(st.sampled_from(["1", "2", "3", "45", "197", "50", "16", "97", "4", "29", "18", "119", "27", "22",
                                  "B7", "253", "23", "96", "151", "11", "109", "167", "204"]), code)
rarc = st.one_of(st.sampled_from(["N115", "M51", "N386", "MA130", "N211", "M15", "N20", "M80"]), code)
payer_type = st.sampled_from(["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"])
# Money: at most 14 digits, 2 decimals; a JSON number on the wire.
money = st.decimals(min_value=Decimal("-999999999999.99"), max_value=Decimal("999999999999.99"), places=2,
                    allow_nan=False, allow_infinity=False).map(float)
small_money = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2).map(float)
units = st.decimals(min_value=Decimal("0"), max_value=Decimal("999.999"), places=3).map(float)
dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)).map(dt.date.isoformat)
instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1),
                        timezones=st.just(dt.UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z"))
# Free text: any character but U+0000, which the decoder rejects (PostgreSQL stores it in no text or jsonb column).
_chars = st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00")


def text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(_chars, max_size=max_size)


procedure = st.fixed_dictionaries(
    {"code": st.one_of(st.sampled_from(["64483", "64484", "64490", "64493", "64635", "62321", "62323", "20552",
                                        "20610", "77003", "J1030", "99213"]),
                       st.from_regex(r"[A-Za-z0-9]{1,12}", fullmatch=True)),
     "modifiers": st.lists(st.from_regex(r"[A-Za-z0-9]{2}", fullmatch=True), max_size=4)})
payer = st.fixed_dictionaries({"id": ident, "type": payer_type}, optional={"name": text(max_size=60)})
patient = st.fixed_dictionaries({}, optional={"member_id": ident, "patient_ref": ident, "name": text(max_size=60),
                                              "birth_date": dates})
adjustment = st.fixed_dictionaries({"group": st.sampled_from(["CO", "PR", "OA", "PI", "CR"]), "reason": carc,
                                    "amount": small_money}, optional={"quantity": units})


def _line(line_id: str) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"line_id": st.just(line_id), "procedure": procedure, "charge": small_money, "paid": small_money},
        optional={"units": units, "allowed": small_money, "service_date": dates,
                  "adjustments": st.lists(adjustment, max_size=3), "remarks": st.lists(rarc, max_size=3)})


@st.composite
def remittances(draw, event_id: str = "rm-x", claim_id: str = "PC-x") -> dict[str, Any]:
    n = draw(st.integers(0, 4))
    lines = [draw(_line(str(i + 1))) for i in range(n)]
    claim = draw(st.fixed_dictionaries(
        {"status_code": st.sampled_from(["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]),
         "total_charge": money, "total_paid": money},
        optional={"payer_claim_number": ident, "filing_indicator": code, "patient_responsibility": money,
                  "service_date_from": dates, "service_date_to": dates, "patient": patient,
                  "adjustments": st.lists(adjustment, max_size=3), "remarks": st.lists(rarc, max_size=3)}))
    claim.update(claim_id=claim_id, lines=lines)
    return {"event_id": event_id, "schema_version": 1, "occurred_at": draw(instants), "payer": draw(payer),
            "remit": draw(st.fixed_dictionaries({"production_date": dates},
                                                optional={"trace_number": ident, "payment_date": dates})),
            "claim": claim, **draw(st.fixed_dictionaries({}, optional={"source": text(max_size=50)}))}


status_code_dict = st.fixed_dictionaries(
    {"category": st.sampled_from(["A1", "A2", "A3", "A4", "A6", "A7", "F0", "F1", "F2", "P1", "R3"])},
    optional={"code": code, "entity": code, "action_code": code, "effective_date": dates, "amount": money})


@st.composite
def status_events(draw, event_id: str = "st-x", claim_id: str = "PC-x") -> dict[str, Any]:
    kind = draw(st.sampled_from(["submitted", "acknowledgement", "status"]))
    n = draw(st.integers(0 if kind != "submitted" else 1, 3))
    lines = [draw(st.fixed_dictionaries(
        {"line_id": st.just(str(i + 1)), "procedure": procedure, "charge": small_money},
        optional={"units": units, "service_date": dates,
                  "diagnosis_pointers": st.lists(st.integers(1, 12), max_size=4)})) for i in range(n)]
    claim = draw(st.fixed_dictionaries(
        {}, optional={"frequency_code": st.sampled_from(["1", "7", "8"]), "payer_claim_number": ident,
                      "total_charge": money, "service_date_from": dates, "patient": patient,
                      "diagnoses": st.lists(st.from_regex(r"[A-Z][0-9]{2}\.?[0-9A-Z]{0,4}", fullmatch=True),
                                            max_size=4),
                      "prior_authorization": ident}))
    claim.update(claim_id=claim_id, lines=lines)
    record: dict[str, Any] = {"event_id": event_id, "schema_version": 1, "kind": kind, "occurred_at": draw(instants),
                              "payer": draw(payer)}
    if kind == "submitted":
        record["claim"] = claim
    else:
        record["status"] = draw(status_code_dict)
        if draw(st.booleans()):
            record["claim"] = claim
        else:
            record["scope"] = {"level": draw(st.sampled_from(["information_receiver", "provider", "billing_provider"])),
                               "reference": draw(ident)}
    return record


@st.composite
def provider_adjustments(draw, event_id: str = "pa-x", claim_id: str | None = None) -> dict[str, Any]:
    detail = draw(st.fixed_dictionaries({"reason": st.sampled_from(["WO", "L6", "FB", "CS", "72", "J1"]),
                                         "amount": money}, optional={"reference": ident}))
    if claim_id:
        detail["claim_id"] = claim_id
    return {"event_id": event_id, "schema_version": 1, "occurred_at": draw(instants), "payer": draw(payer),
            "payee": {"npi": draw(st.from_regex(r"[0-9]{10}", fullmatch=True))},
            "remit": {"production_date": draw(dates)}, "adjustment": detail}


# -- going bad ----------------------------------------------------------------------------------------------------

BAD_VALUES = st.sampled_from([
    SENTINEL, f"{SENTINEL}-2026-02-30", ["list", SENTINEL], {"nested": SENTINEL}, True, None, 12345678901234567890,
    -1.5e308, "1e400", "NaN", "12.345", f"12,50 {SENTINEL}", "2026-13-01", "2026-02-30T25:61:00Z", 0.001,
])


def paths(record: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value in a JSON document."""
    out = [prefix] if prefix else []
    if isinstance(record, dict):
        for k, v in record.items():
            out += paths(v, (*prefix, k))
    elif isinstance(record, list):
        for i, v in enumerate(record):
            out += paths(v, (*prefix, i))
    return out


def replaced(record: Any, path: tuple, value: Any) -> Any:
    doc = json.loads(json.dumps(record))
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return doc


@st.composite
def mutated(draw, valid: st.SearchStrategy[dict]) -> dict:
    """A valid record with one value replaced by something of the wrong type or an impossible date or amount."""
    record = draw(valid)
    path = draw(st.sampled_from(paths(record)))
    return replaced(record, path, draw(BAD_VALUES))


def deeply_nested(depth: int) -> bytes:
    return b'{"event_id": "deep", "claim": ' + b"[" * depth + b"]" * depth + b"}"


def truncated(raw: bytes, cut: int) -> bytes:
    return raw[: max(0, min(len(raw) - 1, cut))]


non_utf8 = st.binary(min_size=1, max_size=200).map(lambda b: b'{"event_id": "\xff' + b + b'"}')

x12_garbage = st.one_of(
    st.binary(max_size=2000),
    st.text(alphabet="ISAGSTNCLPSVBRE*~:^0123456789 \n", max_size=2000).map(str.encode),
    st.just(b"ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *260101*1200*^*00501*"
            b"000000001*0*P*:~GS*HP*S*R*20260101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*"),  # truncated 835
)


def examples(strategy: st.SearchStrategy, n: int) -> list:
    """`n` examples drawn deterministically (derandomized): for stream tests that publish a generated batch."""
    out: list = []

    @settings(max_examples=n, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value) -> None:
        out.append(value)

    collect()
    return out[:n]
