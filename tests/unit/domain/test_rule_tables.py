"""The rule tables: every code of the reference is there, the vocabulary is DESIGN's, rows are effective-dated,
and adding a CARC is a one-line data change that the rules version tracks."""

import datetime as dt
import re
import typing

import pytest

from service.domain.classification import Classifier, load_classifier
from service.domain.classification.codes import CarcRow, CodeTable
from service.domain.classification.vocabulary import ACTIONS, CATEGORIES, QUEUES
from service.domain.ruledata import PACKAGE_DATA, RuleDataError, RuleFiles
from tests.unit.domain.builders import line, remit
from topics import outputs

# Every CARC in sections 2.1-2.15 and every RARC in section 3 of denials-domain.md.
REFERENCE_CARCS = """
1 2 3 66 85 142 187 241 247 248 45 24 131 104 253 44 59 94 237 172 B10 23 209 133 100 101 143 161 144 192
197 198 284 296 302 210 39 61 95 243 287 288 136
50 150 151 152 153 167 11 55 56 114 188 B8 216 261 272 273 40 58 60
4 5 6 7 8 9 10 12 146 181 182 189 199 282 B16 54 229
97 236 231 234 B15 107 B14 B20
26 27 200 31 32 33 34 140 13 14 177 178 179 180 109 B11 166 239 238 B9 51 242 279 258
22 19 20 21 228 275 276 303 129
29 B4 164 285 286 193
18 B13
16 252 251 250 163 226 227 148 112 B12 110 206 207 267 268
119 35 149 222 B1
96 204 49 53 160 256 269 202 155 A1
185 183 184 208 B7 170 171 111 213 147 299 278 283
P2 P4 P12 P13 P15 P16 219
A2 42 A7 15
""".split()
REFERENCE_RARCS = """
MA130 MA01 MA02 N1 N210 N211 N704 MA44 N83 N111 N185 N187 N220 N368 N380 N142 N798 N779 N517 N179 N366 MA91 N690
N691 N694 N770 N377 MA67
N115 N386 N130 N381 N425 N569 N428 N431 N623 N661 N10 N35 N432 N54 M62 N758 N216 N30 N129 N52
M80 M86 M15 M144 N19 N20 N390 N122 N525 N674 N357 N362 N640 N435 N411 N412 N413 N414 N415 N416 N417 N117 M90
N702 N703 N644 N670
M51 N657 N56 M20 N822 N823 N519 M76 MA63 M81 M77 M53 N430 N350 M119 N152 N382 MA04 N4 N479 N245 N197 N155 N522
N290 N257 N259 N255 N286 N285 N265 N264 N574 N575 N521 N95 N808 N570 N767 N831 N550
M127 N29 N706 N705 N708 N707 N710 N709 N714 N713 N729 N730 M29 N233 M31 N240 N40 N242 N393 N394 N455 N456 N457
N463 N26 N206 N205 M60 N163 N782
""".split()
REFERENCE_STATUS_CATEGORIES = ("A0 A1 A2 A3 A4 A5 A6 A7 A8 D0 E0 E1 E2 E3 E4 F0 F1 F2 F3 F3F F3N F4 F5 P0 P1 P2 P3 P4 "
                               "P5 R0 R1 R3 R4 R5 R6 R7 R8 R9 R10 R11 R12 R13 R14 R15 R16 R17 RQ X0").split()


def test_every_reference_carc_and_rarc_is_in_the_tables():
    codes = load_classifier().codes
    assert [c for c in REFERENCE_CARCS if c not in codes.carc] == []
    assert [c for c in REFERENCE_RARCS if c not in codes.rarc] == []
    assert len(codes.carc) >= 140 and len(codes.rarc) >= 115
    assert set(REFERENCE_STATUS_CATEGORIES) <= set(codes.status_categories)
    assert set(codes.groups) == {"CO", "PR", "OA", "PI", "CR"}
    assert set(codes.claim_statuses) == {"1", "2", "3", "4", "19", "20", "21", "22", "23", "25"}


def test_the_vocabulary_is_the_output_contracts():
    assert set(CATEGORIES) == set(typing.get_args(outputs.Category))
    assert set(ACTIONS) == set(typing.get_args(outputs.Action))
    assert set(QUEUES) == set(typing.get_args(outputs.Queue))


def test_meanings_are_short_paraphrases():
    codes = load_classifier().codes
    for code in codes.carc.codes():
        assert len(codes.carc.lookup(code, dt.date(2026, 1, 1)).row.meaning) <= 120, code


def _row(code, start=None, stop=None, category="coding"):
    return CarcRow(code=code, start=start, stop=stop, kind="denial", category=category, action="corrected_claim",
                   appealable=True, recoverability=0.5, rarc_cause="", history_generic=False, ref="x", meaning="m")


def test_lookup_is_effective_dated_and_keeps_retired_codes_readable():
    table = CodeTable([_row("900", stop=dt.date(2020, 12, 31), category="coding"),
                       _row("900", start=dt.date(2021, 1, 1), category="bundling"),
                       _row("901", start=dt.date(2030, 1, 1))], "t")
    assert table.lookup("900", dt.date(2020, 6, 1)).row.category == "coding"
    assert table.lookup("900", dt.date(2026, 6, 1)).row.category == "bundling"
    assert table.lookup("901", dt.date(2026, 1, 1)).standing == "not_yet_effective"
    assert table.lookup("999", dt.date(2026, 1, 1)).standing == "unknown"


def test_overlapping_rows_are_refused():
    with pytest.raises(RuleDataError, match="overlap"):
        CodeTable([_row("900"), _row("900", start=dt.date(2021, 1, 1))], "t")


def test_a_retired_code_after_its_stop_date_uses_its_legacy_row():
    table = CodeTable([_row("900", stop=dt.date(2020, 12, 31))], "t")
    found = table.lookup("900", dt.date(2026, 1, 1))
    assert (found.standing, found.row.category) == ("retired", "coding")


PACKAGE = RuleFiles()


def changed(name, edit):
    """The packaged tables with one file edited in memory."""
    return PACKAGE.with_texts({name: edit(PACKAGE.text(name))})


def test_adding_a_carc_is_a_one_line_data_change():
    before = Classifier(PACKAGE)
    r = remit(line("64483", "CO-998", mods=("RT",)))
    assert before.classify(r, facts=None, history=[])[0].category == "unclassified"

    one_line = "998,2026-01-01,,denial,authorization,obtain_authorization,true,0.4,,,2.2,hypothetical new code\n"
    after = Classifier(changed("carc.csv", lambda text: text + one_line))
    d = after.classify(r, facts=None, history=[])[0]
    assert (d.category, d.action, d.queue, d.rule_id) == (
        "authorization", "obtain_authorization", "authorization", "carc.998")
    assert after.rules_version != before.rules_version
    assert after.rules_version.split("+")[0] == before.rules_version.split("+")[0]


def test_retired_carc_without_a_verified_meaning_is_unclassified():
    # Every retired code of the packaged table has a legacy reading; a row added without one stays for a person.
    row = "997,1995-01-01,2000-12-31,legacy,,,,,,,2.15,retired code whose meaning is not known [verify]\n"
    clf = Classifier(changed("carc.csv", lambda text: text + row))
    d = clf.classify(remit(line("64483", "CO-997")), facts=None, history=[])[0]
    assert (d.category, d.action, d.rule_id) == ("unclassified", "review", "carc.unmapped")


def test_a_bad_row_is_reported_with_its_file_and_line():
    bad = changed("carc.csv", lambda text: text + "311,,,denial,not_a_category,appeal,true,0.4,,,2.2,bad\n")
    with pytest.raises(RuleDataError, match=r"carc.csv line \d+"):
        Classifier(bad)


def test_the_manifest_names_a_version():
    with pytest.raises(RuleDataError, match="VERSION"):
        changed("manifest.toml", lambda text: re.sub(r'(?m)^VERSION = ".*"$', "", text)).version()


def test_load_classifier_is_cached_per_directory():
    assert load_classifier(str(PACKAGE_DATA)) is load_classifier()
