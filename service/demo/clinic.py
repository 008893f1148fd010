"""The synthetic pain practice the demo stream describes: payers, providers, chargemaster and fee schedule, diagnoses.

Nothing here is a real patient, payer contract or provider. Names are invented; NPIs are made-up numbers with a
valid check digit; allowed amounts are round figures of the size a 2026 Medicare physician fee schedule pays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Literal

from service.domain.clocks import Clocks, filing_deadline
from service.domain.model import Payer
from service.domain.ruledata import RuleFiles

PayerType = Literal["medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp"]
CostShare = Literal["medicare", "advantage", "commercial", "none"]

# Every date in the stream counts from this Monday (never from today), so a seed always yields the same stream.
EPOCH = dt.date(2026, 1, 5)
# Dates of service fall in the first 34 weeks after the epoch; remittances and follow-ups trail them by weeks.
SERVICE_WEEKS = 34
LAST_SERVICE_DATE = EPOCH + dt.timedelta(weeks=SERVICE_WEEKS)

MEDICARE_DEDUCTIBLE = Decimal("283.00")  # Part B annual deductible used for the demo year
SEQUESTRATION_RATE = Decimal("0.02")


@dataclass(frozen=True, slots=True)
class PayerProfile:
    id: str
    name: str
    type: PayerType
    filing_indicator: str  # CLP06 / SBR09
    fee_factor: Decimal  # allowed = Medicare allowed x factor
    cost_share: CostShare
    coinsurance: Decimal  # share of the allowed amount the patient pays (after any deductible)
    visit_copay: Decimal  # flat copay on an office visit line
    auth_kinds: frozenset[str]  # visit kinds that need a prior authorization
    remit_lag: tuple[int, int]  # days from acceptance to the 835's production date
    member_prefix: str
    weight: int  # share of the practice's patients with this primary payer
    contractual_reason: str = "45"  # CO-45; workers' comp fee schedules use CO-P12
    secondary_only: bool = False


INTERVENTIONAL = frozenset({"esi", "facet", "rfa", "si", "scs_trial", "scs_implant"})

PAYERS: tuple[PayerProfile, ...] = (
    PayerProfile("MCR-JH", "Medicare Part B (Jurisdiction H)", "medicare", "MB", Decimal("1.00"), "medicare",
                 Decimal("0.20"), Decimal("0"), frozenset(), (12, 20), "", 34),
    PayerProfile("MA-SUNRISE", "Sunrise Medicare Advantage HMO", "medicare_advantage", "16", Decimal("1.00"),
                 "advantage", Decimal("0.20"), Decimal("45.00"), INTERVENTIONAL, (16, 30), "SRM", 12),
    PayerProfile("MA-KEYSTONE", "Keystone Senior Choice PPO", "medicare_advantage", "16", Decimal("1.03"),
                 "advantage", Decimal("0.20"), Decimal("40.00"), frozenset({"rfa", "scs_trial", "scs_implant"}),
                 (16, 30), "KSC", 8),
    PayerProfile("MCD-TX", "State Medicaid (fee-for-service)", "medicaid", "MC", Decimal("0.72"), "none",
                 Decimal("0"), Decimal("0"), frozenset({"rfa", "scs_trial", "scs_implant"}), (14, 28), "", 5),
    PayerProfile("MCD-BLUEBONNET", "Bluebonnet Community Health (Medicaid managed care)", "medicaid", "MC",
                 Decimal("0.76"), "none", Decimal("0"), Decimal("0"), INTERVENTIONAL, (18, 32), "BCH", 6),
    PayerProfile("BCBS-TX", "Blue Cross TX PPO", "commercial", "BL", Decimal("1.45"), "commercial",
                 Decimal("0.20"), Decimal("40.00"), frozenset({"esi", "facet", "rfa", "scs_trial", "scs_implant"}),
                 (18, 38), "XYZ", 15),
    PayerProfile("SUMMIT-PPO", "Summit Health Plan PPO", "commercial", "CI", Decimal("1.32"), "commercial",
                 Decimal("0.20"), Decimal("50.00"), frozenset({"facet", "rfa", "scs_trial", "scs_implant"}),
                 (20, 40), "SHP", 9),
    PayerProfile("LAKESIDE-HMO", "Lakeside Choice HMO", "commercial", "HM", Decimal("1.22"), "commercial",
                 Decimal("0.10"), Decimal("50.00"), INTERVENTIONAL, (20, 36), "LCH", 5),
    PayerProfile("GRANITE-WC", "Granite Mutual Workers' Comp", "workers_comp", "WC", Decimal("1.55"), "none",
                 Decimal("0"), Decimal("0"), frozenset({"esi", "facet", "rfa", "scs_trial", "scs_implant"}),
                 (20, 45), "GM26-", 6, contractual_reason="P12"),
    PayerProfile("MEDIGAP-HERITAGE", "Heritage Medigap Plan G", "commercial", "CI", Decimal("1.00"), "none",
                 Decimal("0"), Decimal("0"), frozenset(), (8, 16), "HMG", 0, secondary_only=True),
)
PAYER_BY_ID = {p.id: p for p in PAYERS}


def filing_limit(payer: PayerProfile, service_date: dt.date) -> dt.date:
    """The last day to file a claim for a service with this payer: the window the service reads for every claim
    (payer_policies.toml, the one source), so the practice's late claims are late by the worker's clock too."""
    clocks = _clocks()
    policy = clocks.policies.for_payer(Payer(id=payer.id, type=payer.type, name=payer.name))
    return filing_deadline(policy, service_date, clocks.holidays).date


@lru_cache(maxsize=1)
def _clocks() -> Clocks:
    return Clocks.load(RuleFiles())
PRIMARY_PAYERS = tuple(p for p in PAYERS if not p.secondary_only)


def _npi(base9: str) -> str:
    """A 10-digit NPI with its Luhn check digit (computed over the 80840 prefix, as NPIs are)."""
    digits = [int(c) for c in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class Provider:
    key: str
    npi: str
    role: Literal["interventional", "visits"]
    starts: dt.date = EPOCH
    # payer id -> the date its enrollment of this provider takes effect (claims before it are denied CO-185)
    enrollment_pending: tuple[tuple[str, dt.date], ...] = ()

    def enrolled_with(self, payer_id: str, day: dt.date) -> bool:
        return all(not (pid == payer_id and day < effective) for pid, effective in self.enrollment_pending)


PRACTICE_NAME = "Lone Star Spine & Pain Associates"
BILLING_NPI = _npi("124578903")
PROVIDERS: tuple[Provider, ...] = (
    Provider("dr-a", _npi("192233445"), "interventional"),
    Provider("dr-b", _npi("176543210"), "interventional"),
    Provider("np-c", _npi("165432109"), "visits"),
    # joined in March; two payers had not finished enrolling the new physician yet
    Provider("dr-d", _npi("158887776"), "interventional", starts=EPOCH + dt.timedelta(weeks=8),
             enrollment_pending=(("SUMMIT-PPO", EPOCH + dt.timedelta(weeks=18)),
                                 ("MCD-BLUEBONNET", EPOCH + dt.timedelta(weeks=21)))),
)


@dataclass(frozen=True, slots=True)
class Fee:
    charge: Decimal  # the practice's chargemaster, per unit
    medicare: Decimal  # Medicare allowed per unit; other payers' contracts scale from it


def _fee(charge: str, medicare: str) -> Fee:
    return Fee(Decimal(charge), Decimal(medicare))


FEES: dict[str, Fee] = {
    # epidural steroid injections (interlaminar, transforaminal + add-on levels)
    "62321": _fee("1450.00", "248.12"), "62323": _fee("1380.00", "231.45"),
    "64479": _fee("1650.00", "295.30"), "64480": _fee("720.00", "139.87"),
    "64483": _fee("1560.00", "262.18"), "64484": _fee("680.00", "113.40"),
    # facet joint injections / medial branch blocks, and radiofrequency ablation
    "64490": _fee("1240.00", "226.55"), "64491": _fee("620.00", "114.91"),
    "64493": _fee("1180.00", "204.02"), "64494": _fee("590.00", "108.67"),
    "64633": _fee("2450.00", "519.47"), "64634": _fee("920.00", "171.25"),
    "64635": _fee("2380.00", "507.63"), "64636": _fee("880.00", "158.02"),
    # SI joint
    "27096": _fee("920.00", "171.38"), "G0260": _fee("960.00", "182.10"), "64451": _fee("1120.00", "309.66"),
    # trigger points
    "20552": _fee("260.00", "58.76"), "20553": _fee("310.00", "67.91"),
    # spinal cord stimulator: percutaneous array (per array), pulse generator
    "63650": _fee("2250.00", "1341.77"), "63685": _fee("2640.00", "331.96"),
    # urine drug testing: presumptive, definitive by drug-class count
    "80305": _fee("68.00", "12.60"), "80306": _fee("95.00", "17.14"), "80307": _fee("285.00", "62.14"),
    "G0480": _fee("360.00", "114.43"), "G0481": _fee("470.00", "156.59"), "G0482": _fee("560.00", "198.74"),
    "G0483": _fee("650.00", "246.92"),
    # office visits
    "99204": _fee("420.00", "172.50"), "99213": _fee("215.00", "91.65"), "99214": _fee("315.00", "129.45"),
    # fluoroscopic guidance (bundled into every injection code above that includes imaging)
    "77003": _fee("430.00", "61.22"),
    # injected drugs, per HCPCS unit
    "J1040": _fee("48.00", "6.53"), "J1030": _fee("30.00", "3.62"), "J3301": _fee("14.00", "1.67"),
    "J1100": _fee("5.00", "0.12"),
}

# (code, units) of the steroid given with an injection; JZ (nothing discarded) or JW (a separate waste line)
DRUGS: tuple[tuple[str, int], ...] = (("J1040", 1), ("J3301", 4), ("J1100", 10))

DIAGNOSES: dict[str, tuple[str, ...]] = {
    "lumbar_radicular": ("M54.16", "M51.16", "M48.062", "M54.17"),
    "cervical_radicular": ("M54.12", "M50.121", "M50.122"),
    "lumbar_facet": ("M47.816", "M47.817", "M54.59"),
    "cervical_facet": ("M47.812", "M54.2"),
    "sacroiliac": ("M46.1", "M53.3", "M53.2X8"),
    "myofascial": ("M79.18", "M62.838", "M79.10"),
    "scs": ("M96.1", "G89.4", "G89.29"),
    "chronic_pain": ("G89.29", "G89.4", "M54.50"),
    "opioid_therapy": ("Z79.891",),
    "axial_only": ("M54.50",),  # axial low back pain alone does not meet the epidural LCD
}

LAST_NAMES = (
    "ALVAREZ", "BENNETT", "CALDWELL", "DELGADO", "ELLISON", "FLORES", "GARRETT", "HOLLOWAY", "IBARRA", "JENKINS",
    "KESSLER", "LOMBARDI", "MALONE", "NAVARRO", "OKAFOR", "PRESTON", "QUINTERO", "RAMSEY", "SALAZAR", "THORNTON",
    "UNDERWOOD", "VALDEZ", "WHITAKER", "YOUNG", "ZAMORA", "ABERNATHY", "BRISCOE", "CORTEZ", "DUNLAP", "ESPINOZA",
    "FAIRCHILD", "GUERRERO", "HADLEY", "INGRAM", "JARAMILLO", "KINCAID", "LANDRY", "MERCADO", "NOLAN", "ORTEGA",
)
FIRST_NAMES = (
    "ADA", "BEATRICE", "CARLOS", "DIANE", "EARL", "FRANCES", "GLORIA", "HECTOR", "IRENE", "JOSEPH", "KAREN",
    "LEONARD", "MARISOL", "NORMAN", "OLIVIA", "PATRICIA", "RAYMOND", "SANDRA", "THOMAS", "VERONICA", "WALTER",
    "YOLANDA", "ARTHUR", "BRENDA", "CLIFFORD", "DOLORES", "EUGENE", "FELIPE", "GWEN", "HAROLD",
)
