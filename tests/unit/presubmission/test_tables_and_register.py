"""Reading CMS's NCCI layouts and the authorization register's CSV: rows in, problems named by line and column,
never by a value (a member id is PHI)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.domain.authorizations import (
    AuthorizationFileError,
    BilledService,
    covering,
    parse_authorizations_csv,
    why_not,
)
from service.domain.presubmission import load_checker
from service.domain.presubmission.ncci import detect_kind, parse_table
from service.privacy import Pseudonymizer
from tests.unit.presubmission.builders import auth

PTP = ("CPT codes, descriptions and other data only are copyright 2025 American Medical Association.\n"
       "\n"
       "Column 1\tColumn 2\t*=in existence prior to 1996\tEffective Date\tDeletion Date *=no data\t"
       "Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale\n"
       "64483\t64450\t\t20200101\t*\t1\tStandards of care\n"
       "64493\t20552\t*\t19960101\t20231231\t0\tMutually exclusive\n")
MUE = ('"CPT codes, descriptions and other data only are copyright 2025 American Medical Association.\n'
       'All rights reserved.",,,\n'
       '"HCPCS/\nCPT Code","Practitioner Services MUE Values","MUE Adjudication Indicator","MUE Rationale"\n'
       '64405,1,"2 Date of Service Edit: Policy",Policy\n'
       '20552,1,"3 Date of Service Edit: Clinical",Clinical\n')
HEADER = "payer,member,auth_number,cpt_or_family,side,levels,units,valid_from,valid_to\n"


def test_a_ptp_file_is_read_below_its_preamble_with_star_as_no_deletion_date():
    assert detect_kind(PTP) == "ptp"
    table = parse_table(PTP.splitlines(), "ptp")
    assert table.problem_count == 0
    first, second = table.ptp
    assert (first.column1, first.column2, first.deletion, first.modifier_indicator) == ("64483", "64450", None, "1")
    assert second.deletion == dt.date(2023, 12, 31) and not second.in_force(dt.date(2024, 1, 1))
    assert second.in_force(dt.date(2023, 12, 31))


def test_an_mue_file_is_read_with_its_wrapped_header_and_the_indicator_digit():
    assert detect_kind(MUE) == "mue"
    table = parse_table(MUE.splitlines(), "mue")
    assert [(m.code, m.max_units, m.adjudication) for m in table.mue] == [("64405", 1, "2"), ("20552", 1, "3")]
    assert table.mue[0].per_date


def test_a_line_that_does_not_read_after_the_first_row_is_a_problem_named_by_its_number_only():
    table = parse_table((PTP + "64483\tSECRET-VALUE\tx\n").splitlines(), "ptp")
    assert table.problem_count == 1 and table.problems[0].startswith("line 6:")
    assert "SECRET" not in table.problems[0]


def test_a_file_that_is_neither_table_is_not_detected():
    assert detect_kind("payer,member\nACME,123\n") is None


def _parse(text: str):
    return parse_authorizations_csv(text, source="auths.csv", known_scopes=load_checker().rules.scope_known)


def test_an_authorization_file_reads_codes_families_and_groups():
    rows = _parse(HEADER + "ACME,W123,PA-1,64483,right,2,,2026-01-01,2026-06-30\n"
                           "ACME,W123,PA-2,Facet_RFA,,,,2026-01-01,2026-06-30\nACME,W9,PA-3,esi,,,1,2026-01-01,"
                           "2026-01-31\n")
    assert [(r.scope, r.side, r.levels, r.units) for r in rows] == [("64483", "right", 2, None),
                                                                    ("facet_rfa", None, None, None),
                                                                    ("esi", None, None, 1)]


def test_every_bad_row_is_named_by_line_and_column_and_no_member_id_is_echoed():
    text = HEADER + ("ACME,SECRET-MEMBER-1,PA-1,99999X,,,,2026-01-01,2026-06-30\n"
                     "ACME,SECRET-MEMBER-2,PA-2,esi,up,,,2026-01-01,2026-06-30\n"
                     "ACME,SECRET-MEMBER-3,PA-3,esi,,,,2026-02-30,2026-06-30\n"
                     "ACME,SECRET-MEMBER-4,PA-4,esi,,,,2026-06-30,2026-01-01\n")
    with pytest.raises(AuthorizationFileError) as caught:
        _parse(text)
    problems = caught.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4", "line 5"]
    assert "cpt_or_family" in problems[0] and "side" in problems[1] and "valid_from" in problems[2]
    assert not any("SECRET" in p for p in problems) and "SECRET" not in str(caught.value)


def test_a_file_without_the_required_columns_says_which_are_missing():
    with pytest.raises(AuthorizationFileError) as caught:
        _parse("payer,member\nACME,1\n")
    assert "auth_number" in caught.value.problems[0]


def test_the_member_digest_ignores_case_blanks_and_dashes_and_depends_on_the_key():
    one, other = Pseudonymizer("key-1"), Pseudonymizer("key-2")
    assert one.member("w12-3 45") == one.member("W12345") != other.member("W12345")
    assert "W12345" not in one.member("W12345")


def test_an_authorization_covers_a_service_within_its_scope_side_levels_units_and_dates():
    service = BilledService(payer_id="ACME", code="64483", scopes=frozenset({"64483", "esi_transforaminal", "esi"}),
                            service_date=dt.date(2026, 2, 16), sides=frozenset({"right"}), levels=2, units=1)
    assert why_not(auth("PA-1", "esi", side="right", levels=2), service) is None
    assert "level" in why_not(auth("PA-1", "esi", levels=1), service)
    assert "left side" in why_not(auth("PA-1", "esi", side="left"), service)
    assert covering([auth("PA-1", "rfa"), auth("PA-2", "64483", side="bilateral")], service).auth_number == "PA-2"
