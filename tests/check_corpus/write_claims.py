"""Writes `claims.837` and `expected.toml` of the pre-submission check corpus from the claims listed below.

Each rule of check_rules.toml has a claim that breaks it and a clean control (the same service billed right), and a
patient's earlier sessions are claims of the same file (in date order), so the file checks the same with its history
read from the input or from a database the file was ingested into. Run `python -m tests.check_corpus.write_claims`
after changing a claim; a unit test fails while the committed files differ from what this writes.

Member ids, names and NPIs are invented.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUBMITTED = dt.date(2026, 3, 2)  # the BHT date: the day the file is sent
PAYERS = {  # key -> (SBR09 filing indicator, payer id, name)
    "medicare": ("MB", "MCR-JF", "NORIDIAN JF PART B"),
    "advantage": ("16", "MA-SUN", "SUNRISE MEDICARE ADVANTAGE"),
    "commercial": ("CI", "ACME-PPO", "ACME HEALTH PPO"),
}
FEES = {"62323": 1380, "64483": 1560, "64484": 680, "64493": 1180, "64494": 590, "64635": 2380, "27096": 920,
        "20552": 260, "77003": 430, "99213": 215, "J1040": 48, "64450": 610, "64405": 540, "62321": 1450,
        "20553": 310, "99152": 180, "G0480": 360, "G0481": 470, "G0483": 650, "80307": 285, "63650": 2250,
        "63685": 2640, "64451": 880}


@dataclass(frozen=True)
class Line:
    code: str
    mods: tuple[str, ...] = ()
    units: int = 1
    pointers: tuple[int, ...] = (1,)


@dataclass(frozen=True)
class Claim:
    id: str
    payer: str
    member: str
    dos: dt.date
    dx: tuple[str, ...]
    lines: tuple[Line, ...]
    expect: tuple[str, ...] = ()  # the rule ids the check must find (and nothing else); () for a clean claim
    why: str = ""
    auth: str | None = None  # REF*G1 on the claim
    frequency: str = "1"
    original: str | None = None  # REF*F8
    warn: tuple[str, ...] = field(default=())  # of `expect`, the ones found as warnings (history read from the input)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


RADICULAR, FACET, SI, MYOFASCIAL = ("M54.16",), ("M47.816",), ("M46.1",), ("M79.18",)
SCS, OPIOIDS = ("M96.1",), ("Z79.891",)
L = Line
CLAIMS: tuple[Claim, ...] = (
    # diagnosis coverage
    Claim("CHK-01", "medicare", "CHKM01", d("2026-02-16"), ("M54.50",), (L("62323"),), ("diagnosis.axial_only",),
          "an interlaminar ESI billed with axial low back pain only"),
    Claim("CHK-02", "medicare", "CHKM02", d("2026-02-16"), RADICULAR, (L("62323"),), (),
          "control: the same ESI pointed to lumbar radiculopathy"),
    Claim("CHK-03", "medicare", "CHKM03", d("2026-02-16"), RADICULAR, (L("64493", ("RT", "KX")),),
          ("diagnosis.not_covered",), "a diagnostic facet block billed with radiculopathy, not facet pain"),
    Claim("CHK-04", "medicare", "CHKM04", d("2026-02-16"), FACET, (L("64493", ("RT", "KX")),), (),
          "control: the facet block pointed to lumbar spondylosis"),
    # frequency: five lumbar ESI sessions in 12 months under the Medicare LCD (the fourth is the control)
    Claim("CHK-05", "medicare", "CHKM05", d("2025-06-02"), RADICULAR, (L("62323"),), (), "ESI session 1 of the year"),
    Claim("CHK-06", "medicare", "CHKM05", d("2025-08-04"), RADICULAR, (L("62323"),), (), "ESI session 2"),
    Claim("CHK-07", "medicare", "CHKM05", d("2025-10-06"), RADICULAR, (L("62323"),), (), "ESI session 3"),
    Claim("CHK-08", "medicare", "CHKM05", d("2025-12-01"), RADICULAR, (L("62323"),), (),
          "control: ESI session 4, at the limit"),
    Claim("CHK-09", "medicare", "CHKM05", d("2026-02-16"), RADICULAR, (L("62323"),), ("frequency.limit",),
          "the fifth ESI session in the rolling 12 months: past the LCD's four"),
    # interval between commercial ESIs
    Claim("CHK-10", "commercial", "CHKM10", d("2026-01-26"), RADICULAR, (L("64483", ("RT",)),), (),
          "a transforaminal ESI", auth="PA-1001"),
    Claim("CHK-11", "commercial", "CHKM10", d("2026-02-02"), RADICULAR, (L("64483", ("RT",)),),
          ("frequency.interval",), "the next ESI seven days later", auth="PA-1001", warn=("frequency.interval",)),
    Claim("CHK-12", "commercial", "CHKM12", d("2026-01-12"), RADICULAR, (L("64483", ("RT",)),), (),
          "a transforaminal ESI", auth="PA-1201"),
    Claim("CHK-13", "commercial", "CHKM12", d("2026-02-02"), RADICULAR, (L("64483", ("RT",)),), (),
          "control: the next ESI three weeks later", auth="PA-1201"),
    # prerequisite: an ablation needs two diagnostic blocks first
    Claim("CHK-14", "medicare", "CHKM14", d("2026-02-09"), FACET, (L("64635", ("RT",)),), ("history.prerequisite",),
          "a lumbar RFA with no diagnostic blocks on file", warn=("history.prerequisite",)),
    Claim("CHK-15", "medicare", "CHKM15", d("2026-01-05"), FACET, (L("64493", ("RT", "KX")),), (),
          "diagnostic block 1"),
    Claim("CHK-16", "medicare", "CHKM15", d("2026-01-19"), FACET, (L("64493", ("RT", "KX")),), (),
          "diagnostic block 2"),
    Claim("CHK-17", "medicare", "CHKM15", d("2026-02-09"), FACET, (L("64635", ("RT",)),), (),
          "control: the RFA after two diagnostic blocks"),
    # repeat criterion: a repeat RFA at the same site sooner than the relief had to last (6 months)
    Claim("CHK-18", "medicare", "CHKM18", d("2025-10-06"), FACET, (L("64493", ("RT", "KX")),), (), "block 1"),
    Claim("CHK-19", "medicare", "CHKM18", d("2025-10-20"), FACET, (L("64493", ("RT", "KX")),), (), "block 2"),
    Claim("CHK-20", "medicare", "CHKM18", d("2025-11-10"), FACET, (L("64635", ("RT",)),), (), "the first RFA"),
    Claim("CHK-21", "medicare", "CHKM18", d("2026-02-16"), FACET, (L("64635", ("RT",)),), ("history.repeat",),
          "a repeat RFA 98 days after the first"),
    Claim("CHK-22", "medicare", "CHKM22", d("2025-05-05"), FACET, (L("64493", ("RT", "KX")),), (), "block 1"),
    Claim("CHK-23", "medicare", "CHKM22", d("2025-05-19"), FACET, (L("64493", ("RT", "KX")),), (), "block 2"),
    Claim("CHK-24", "medicare", "CHKM22", d("2025-06-02"), FACET, (L("64635", ("RT",)),), (), "the first RFA"),
    Claim("CHK-25", "medicare", "CHKM22", d("2026-01-05"), FACET, (L("64635", ("RT",)),), (),
          "control: a repeat RFA seven months later"),
    # prior authorization
    Claim("CHK-26", "advantage", "CHKM26", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)),),
          ("authorization.missing",), "an MA plan's ESI with no authorization on the claim or in the register (the "
          "generic list of the payer type: a warning)", warn=("authorization.missing",)),
    Claim("CHK-27", "advantage", "CHKM27", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)),), (),
          "control: the same with its authorization number", auth="PA-2701"),
    Claim("CHK-28", "commercial", "CHKM28", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)),),
          ("authorization.not_on_claim",), "authorization PA-8801 is in the register, not on the claim"),
    Claim("CHK-29", "commercial", "CHKM29", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)),), (),
          "control: the register's authorization on the claim", auth="PA-8802"),
    Claim("CHK-30", "commercial", "CHKM30", d("2026-02-16"), RADICULAR, (L("64483", ("LT",)),),
          ("authorization.not_covering",), "the authorization on the claim covers the right side only",
          auth="PA-9901", warn=("authorization.not_covering",)),
    # modifiers
    Claim("CHK-31", "medicare", "CHKM31", d("2026-02-16"), FACET, (L("64493", ("RT", "KX")), L("64493", ("LT", "KX"))),
          ("modifier.bilateral_two_lines",), "a bilateral facet block on RT and LT lines for Medicare"),
    Claim("CHK-32", "medicare", "CHKM32", d("2026-02-16"), FACET, (L("64493", ("50", "KX")),), (),
          "control: one line with 50"),
    Claim("CHK-33", "commercial", "CHKM33", d("2026-02-16"), MYOFASCIAL, (L("20552", ("50",)),),
          ("modifier.bilateral_not_allowed",), "trigger points with 50 (bilateral indicator 0)"),
    Claim("CHK-34", "commercial", "CHKM34", d("2026-02-16"), MYOFASCIAL, (L("20552"),), (),
          "control: trigger points without 50"),
    Claim("CHK-35", "commercial", "CHKM35", d("2026-02-16"), SI, (L("27096"),), ("modifier.side_missing",),
          "an SI joint injection without RT/LT"),
    Claim("CHK-36", "commercial", "CHKM36", d("2026-02-16"), SI, (L("27096", ("RT",)),), (),
          "control: the SI joint injection with RT"),
    Claim("CHK-37", "medicare", "CHKM37", d("2026-02-16"), RADICULAR, (L("62323"), L("J1040")),
          ("modifier.drug_waste",), "a single-dose steroid without JW/JZ on a Medicare Part B claim"),
    Claim("CHK-38", "medicare", "CHKM38", d("2026-02-16"), RADICULAR, (L("62323"), L("J1040", ("JZ",))), (),
          "control: the steroid with JZ"),
    Claim("CHK-39", "commercial", "CHKM39", d("2026-02-16"), MYOFASCIAL, (L("20552"), L("99213")),
          ("modifier.em_without_25",), "an office visit on the trigger-point day without 25"),
    Claim("CHK-40", "commercial", "CHKM40", d("2026-02-16"), MYOFASCIAL, (L("20552"), L("99213", ("25",))), (),
          "control: the visit with 25"),
    Claim("CHK-41", "medicare", "CHKM41", d("2026-02-16"), FACET, (L("64493", ("RT",)),), ("modifier.kx_missing",),
          "a diagnostic facet block for Medicare without KX"),
    Claim("CHK-42", "medicare", "CHKM42", d("2026-02-16"), FACET, (L("64493", ("50", "LT", "KX")),),
          ("modifier.combination",), "50 and LT on one line"),
    # bundling
    Claim("CHK-43", "commercial", "CHKM43", d("2026-02-16"), SI, (L("27096", ("RT",)), L("77003")),
          ("bundling.imaging_included",), "fluoroscopy billed with an SI joint injection that includes it"),
    Claim("CHK-44", "medicare", "CHKM44", d("2026-02-16"), FACET, (L("64494", ("RT", "KX")),),
          ("bundling.addon_without_primary",), "add-on 64494 without 64493"),
    Claim("CHK-45", "medicare", "CHKM45", d("2026-02-16"), FACET, (L("64493", ("RT", "KX")), L("64494", ("RT", "KX"))),
          (), "control: the add-on with its primary"),
    Claim("CHK-46", "medicare", "CHKM46", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("62323")),
          ("session.regions",), "transforaminal and interlaminar ESI in one region the same day (an LCD limit)"),
    Claim("CHK-47", "medicare", "CHKM47", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("62323", ("XS",))),
          ("session.regions",), "the same with XS on the interlaminar line: an LCD limit is no NCCI edit, XS does "
          "not cure it"),
    Claim("CHK-48", "medicare", "CHKM48", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("64450")),
          ("bundling.ncci_pair",), "a nerve block billed with the ESI (the imported CMS PTP edit 64483/64450)"),
    Claim("CHK-49", "medicare", "CHKM49", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("64450", ("XS",))), (),
          "control: the nerve block with XS"),
    Claim("CHK-50", "medicare", "CHKM50", d("2026-02-16"), ("G44.86",), (L("64405", (), 2),), ("bundling.mue_units",),
          "two units of 64405 where the imported MUE allows one per date"),
    Claim("CHK-51", "medicare", "CHKM51", d("2026-02-16"), ("G44.86",), (L("64405"),), (),
          "control: one unit"),
    # timely filing (commercial: 90 days from the date of service) and duplicates
    Claim("CHK-52", "commercial", "CHKM52", d("2025-10-01"), MYOFASCIAL, (L("20552"),), ("timely_filing.expired",),
          "sent 152 days after the service"),
    Claim("CHK-53", "commercial", "CHKM53", d("2025-12-05"), MYOFASCIAL, (L("20552"),), ("timely_filing.closing",),
          "sent three days before the window closes", warn=("timely_filing.closing",)),
    Claim("CHK-54", "commercial", "CHKM54", d("2026-02-09"), MYOFASCIAL, (L("20552"),), (),
          "control: sent within the window (and the original of the next claim)"),
    Claim("CHK-55", "commercial", "CHKM54", d("2026-02-09"), MYOFASCIAL, (L("20552"),),
          ("duplicate.earlier_submission",), "the same service again under a new claim id"),
    Claim("CHK-56", "commercial", "CHKM56", d("2026-02-09"), MYOFASCIAL, (L("20552"),),
          ("claim.replacement_without_original",), "a replacement claim without the payer's claim number",
          frequency="7"),
    Claim("CHK-57", "commercial", "CHKM57", d("2026-02-09"), MYOFASCIAL, (L("20552"),), (),
          "control: the replacement with REF*F8", frequency="7", original="ACME260210001"),
    # the register: a trial authorization never covers the implant; an authorization's sessions get used up
    Claim("CHK-69", "commercial", "CHKM70", d("2026-01-19"), SCS, (L("63650", (), 2),), (),
          "control: an SCS trial with its authorization (PA-7001, for 63650)", auth="PA-7001"),
    Claim("CHK-70", "commercial", "CHKM70", d("2026-02-16"), SCS, (L("63650", (), 2), L("63685")),
          ("authorization.missing",), "the permanent implant with no number: the trial's authorization does not "
          "cover it", warn=("authorization.missing",)),
    Claim("CHK-71", "commercial", "CHKM72", d("2026-01-19"), SCS, (L("63650", (), 2),), (),
          "control: an SCS trial with its authorization", auth="PA-7201"),
    Claim("CHK-72", "commercial", "CHKM72", d("2026-02-16"), SCS, (L("63650", (), 2), L("63685")), (),
          "control: the implant with its own authorization (PA-7202, scs_implant)", auth="PA-7202"),
    Claim("CHK-74", "commercial", "CHKM74", d("2026-01-19"), RADICULAR, (L("64483", ("RT",)),), (),
          "control: a transforaminal ESI with its one-session authorization", auth="PA-7401"),
    Claim("CHK-75", "commercial", "CHKM74", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)),),
          ("authorization.missing",), "the next ESI with no number: the authorization's one session was used",
          warn=("authorization.missing",)),
    # levels, regions and codes per session (LCD and billing article limits), sedation with an injection
    Claim("CHK-76", "medicare", "CHKM76", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("64484", ("RT",), 2)),
          ("session.levels",), "three transforaminal levels on one side (the LCD covers two)"),
    Claim("CHK-77", "medicare", "CHKM77", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("64484", ("RT",))), (),
          "control: two transforaminal levels"),
    Claim("CHK-78", "medicare", "CHKM78", d("2026-02-16"), ("M54.12", "M54.16"),
          (L("62321"), L("62323", pointers=(2,))), ("session.regions",),
          "cervical and lumbar interlaminar ESI the same day (one region per session)"),
    Claim("CHK-79", "medicare", "CHKM79", d("2026-02-16"), ("M54.12",), (L("62321"),), (),
          "control: one region"),
    Claim("CHK-81", "medicare", "CHKM81", d("2026-02-16"), MYOFASCIAL, (L("20552"), L("20553")), ("session.codes",),
          "both trigger point codes in one session"),
    Claim("CHK-82", "medicare", "CHKM82", d("2026-02-16"), MYOFASCIAL, (L("20553"),), (),
          "control: one trigger point code"),
    Claim("CHK-83", "medicare", "CHKM83", d("2026-02-16"), RADICULAR, (L("64483", ("RT",)), L("99152")),
          ("session.sedation",), "moderate sedation with a transforaminal ESI", warn=("session.sedation",)),
    # urine drug testing
    Claim("CHK-84", "medicare", "CHKM84", d("2026-02-16"), OPIOIDS, (L("G0481"),), ("udt.presumptive_first",),
          "a definitive test with no presumptive test that date", warn=("udt.presumptive_first",)),
    Claim("CHK-85", "medicare", "CHKM85", d("2026-02-16"), OPIOIDS, (L("80307"), L("G0483")), ("udt.broad_panel",),
          "a definitive panel of 22 or more classes", warn=("udt.broad_panel",)),
    Claim("CHK-86", "medicare", "CHKM86", d("2026-02-02"), OPIOIDS, (L("80307"), L("G0480")), (),
          "control: a presumptive then a definitive test"),
    Claim("CHK-87", "medicare", "CHKM86", d("2026-02-16"), OPIOIDS, (L("80307"), L("G0480")), ("udt.frequency",),
          "a second definitive test 14 days after the first", warn=("udt.frequency",)),
    # JW/JZ: the administered amount on its own line next to a JW waste line is right; JZ next to JW is not
    Claim("CHK-89", "medicare", "CHKM89", d("2026-02-16"), RADICULAR,
          (L("62323"), L("J1040", ("JZ",)), L("J1040", ("JW",))), ("modifier.drug_waste",),
          "JZ (nothing discarded) and a JW waste line of the same drug"),
    Claim("CHK-90", "medicare", "CHKM90", d("2026-02-16"), RADICULAR, (L("62323"), L("J1040"), L("J1040", ("JW",))),
          (), "control: the administered amount without a modifier and the discarded amount with JW"),
    # diagnosis codes: one that needs more characters; the FY2025 disc codes with leg pain
    Claim("CHK-91", "medicare", "CHKM91", d("2026-02-16"), ("M54.5",), (L("64493", ("RT", "KX")),),
          ("diagnosis.invalid",), "M54.5 needs a fifth character since FY2022"),
    Claim("CHK-92", "medicare", "CHKM92", d("2026-02-16"), ("M54.50",), (L("64493", ("RT", "KX")),), (),
          "control: M54.50"),
    Claim("CHK-93", "medicare", "CHKM93", d("2026-02-16"), ("M51.362",), (L("64483", ("RT",)),),
          ("diagnosis.not_covered",), "disc degeneration with leg pain (FY2025): confirm the radicular findings",
          warn=("diagnosis.not_covered",)),
    Claim("CHK-94", "medicare", "CHKM94", d("2026-02-16"), ("M51.16",), (L("64483", ("RT",)),), (),
          "control: disc disorder with radiculopathy"),
    # an SI joint injection whose intent is not documented counts as therapeutic
    Claim("CHK-95", "medicare", "CHKM95", d("2026-01-05"), SI, (L("64451", ("RT",)),), (), "SI nerve block 1"),
    Claim("CHK-96", "medicare", "CHKM95", d("2026-01-19"), SI, (L("64451", ("RT",)),), (), "SI nerve block 2"),
    Claim("CHK-97", "medicare", "CHKM95", d("2026-02-16"), SI, (L("27096", ("RT",)),), ("frequency.limit",),
          "an SI injection of unknown intent after two diagnostic blocks: within the therapeutic limit, a warning",
          warn=("frequency.limit",)),
)


def _segments(claim: Claim, hl: int) -> list[str]:
    indicator, payer_id, payer_name = PAYERS[claim.payer]
    total = sum(FEES[x.code] * x.units * (2 if "50" in x.mods else 1) for x in claim.lines)
    out = [f"HL*{hl}*1*22*0", f"SBR*P*18*******{indicator}",
           f"NM1*IL*1*PATIENT*{claim.member[-2:]}****MI*{claim.member}", "DMG*D8*19500101*F",
           f"NM1*PR*2*{payer_name}*****PI*{payer_id}",
           f"CLM*{claim.id}*{total}***11:B:{claim.frequency}*Y*A*Y*Y"]
    if claim.original:
        out.append(f"REF*F8*{claim.original}")
    if claim.auth:
        out.append(f"REF*G1*{claim.auth}")
    out.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{code.replace('.', '')}"
                                for i, code in enumerate(claim.dx)))
    out.append("NM1*82*1*DOCTOR*DANA****XX*1922334455")
    for n, line in enumerate(claim.lines, start=1):
        code = ":".join(("HC", line.code, *line.mods))
        charge = FEES[line.code] * line.units * (2 if "50" in line.mods else 1)
        pointers = ":".join(str(p) for p in line.pointers)
        out += [f"LX*{n}", f"SV1*{code}*{charge}*UN*{line.units}***{pointers}", f"DTP*472*D8*{claim.dos:%Y%m%d}"]
    return out


def render() -> str:
    body = ["BHT*0019*00*CHK0001*20260302*1700*CH", "NM1*41*2*HILL COUNTRY PAIN CENTER*****46*PAINCLINIC01",
            "PER*IC*BILLING OFFICE*TE*5125550100", "NM1*40*2*CLEARHOUSE ONE*****46*CLEARHOUSE01",
            "HL*1**20*1", "PRV*BI*PXC*208VP0014X", "NM1*85*2*HILL COUNTRY PAIN CENTER*****XX*1234567893",
            "N3*500 SPINE WAY", "N4*AUSTIN*TX*787021234", "REF*EI*741234567"]
    for hl, claim in enumerate(CLAIMS, start=2):
        body += _segments(claim, hl)
    transaction = ["ST*837*0001*005010X222A1", *body]
    transaction.append(f"SE*{len(transaction) + 1}*0001")
    segments = ["ISA*00*          *00*          *ZZ*PAINCLINIC01   *ZZ*CLEARHOUSE01   *260302*1700*^*00501*"
                "000008001*0*P*:", "GS*HC*PAINCLINIC01*CLEARHOUSE01*20260302*1700*8001*X*005010X222A1",
                *transaction, "GE*1*8001", "IEA*1*000008001"]
    return "~\n".join(segments) + "~\n"


def expected() -> str:
    out = ["# What `denials check` must find in claims.837 (written by write_claims.py): per claim the rule ids, and",
           "# which of them are warnings when the history is read from the input. An empty list: a clean control.", ""]
    for claim in CLAIMS:
        out += ["[[claim]]", f'id = "{claim.id}"', f'why = "{claim.why}"',
                "rules = [" + ", ".join(f'"{r}"' for r in claim.expect) + "]",
                "warn = [" + ", ".join(f'"{r}"' for r in claim.warn) + "]", ""]
    return "\n".join(out)


def main() -> None:
    (HERE / "claims.837").write_text(render())
    (HERE / "expected.toml").write_text(expected())


if __name__ == "__main__":
    main()
