"""Patients and their care pathways: one `Visit` per date of service, each billed as one claim.

The pathways follow the coverage rules the service checks (reference section 5): epidural series with at most four
sessions a year (some patients get a fifth), medial branch blocks twice before a radiofrequency ablation (staged
left/right ablations and a repeat within the year exceed the two-session limit), SI joint injections, trigger point
sessions (a fourth within the year exceeds three), spinal cord stimulator trial then implant, and monthly medication
management visits with urine drug tests. Each patient keeps one record number, so claim history builds up.

Procedure visits also carry what the procedure note documents (`SessionNote`: levels, diagnostic or therapeutic,
the relief that followed and how long it lasted), drawn from a second generator seeded per patient so the stream's
claims and denials stay what the seed always gave; about one note in six leaves the relief out, as platforms do, so
the coverage rules have undecidable cases to say so about. Workers' comp patients carry their injury facts.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from service.demo.clinic import (
    DIAGNOSES,
    DRUGS,
    EPOCH,
    FIRST_NAMES,
    LAST_NAMES,
    LAST_SERVICE_DATE,
    PAYER_BY_ID,
    PRIMARY_PAYERS,
    PROVIDERS,
    SERVICE_WEEKS,
    PayerProfile,
    Provider,
)

# Sessions per patient and region in the rolling 12 months that payers allow (reference 5.2-5.4).
SESSION_LIMITS = {"esi": 4, "rfa": 2, "tpi": 3}
# Drugs supplied in single-dose vials: JZ (nothing discarded) or a JW waste line. The others come from multi-dose
# vials in this clinic and take neither (the JW/JZ policy covers single-dose containers only).
SINGLE_DOSE = frozenset({"J1040", "J1030"})
LEVELS = {"lumbar": ("L3-L4", "L4-L5", "L5-S1"), "cervical": ("C4-C5", "C5-C6", "C6-C7")}
INJURY_STATES = ("TX", "TX", "TX", "OK", "NM")
# How long after a coverage ends the practice keeps billing the old payer (until its denials arrive).
COVERAGE_NEWS_DAYS = 40
LATERALITY = ("RT", "LT")


@dataclass(frozen=True, slots=True)
class Line:
    """One billed service line."""

    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    dx: tuple[int, ...] = (1,)
    wasted: bool = False  # part of the drug's vial was discarded (a multi-dose vial keeps it: nothing billed)

    def with_modifiers(self, *modifiers: str) -> Line:
        return replace(self, modifiers=modifiers)

    @property
    def is_drug(self) -> bool:
        return self.code.startswith("J")

    @property
    def is_visit(self) -> bool:
        return self.code.startswith("99")


@dataclass(frozen=True, slots=True)
class SessionNote:
    """What the procedure note documents about a visit's procedure lines (all optional on the wire)."""

    levels: tuple[str, ...] = ()
    intent: str | None = None  # diagnostic | therapeutic
    relief_percent: int | None = None
    relief_days: int | None = None


@dataclass(frozen=True, slots=True)
class InjuryFacts:
    """A workers' comp patient's injury, as the platform sends it (claim number and adjuster may be missing)."""

    date_of_injury: dt.date
    state: str
    claim_number: str | None
    adjuster_name: str | None
    employer: str


@dataclass(frozen=True, slots=True)
class Patient:
    number: int
    ref: str  # the practice's record number (the claim-history key), in the run's namespace
    last: str
    first: str
    birth_date: dt.date
    payer: PayerProfile
    member_id: str
    secondary: PayerProfile | None = None
    secondary_member_id: str | None = None
    qmb: bool = False  # dual eligible (Medicaid pays the Medicare cost share): never billed to the patient
    coverage_ends: dt.date | None = None  # the primary coverage ended mid-year (the practice did not know)
    next_payer: PayerProfile | None = None  # the coverage that followed (billed once the practice found out)
    next_member_id: str | None = None
    deductible: Decimal = Decimal("0")  # annual deductible of a commercial plan
    injury: InjuryFacts | None = None  # workers' comp: the work injury the claims are for

    def payer_on(self, day: dt.date) -> tuple[PayerProfile, str]:
        """The payer and member id the practice bills for a visit on `day`: the old coverage until the practice
        learns that it ended (from the first denials, some weeks later), the new one after."""
        if self.coverage_ends and self.next_payer and self.next_member_id and \
                day > self.coverage_ends + dt.timedelta(days=COVERAGE_NEWS_DAYS):
            return self.next_payer, self.next_member_id
        return self.payer, self.member_id

    @property
    def name(self) -> str:
        return f"{self.last}, {self.first}"


@dataclass(slots=True)
class Visit:
    patient: Patient
    dos: dt.date
    kind: str  # esi | facet | rfa | si | tpi | scs_trial | scs_implant | visit | udt
    region: str | None  # lumbar | cervical | sacroiliac | None
    lines: list[Line]
    diagnoses: tuple[str, ...]
    rendering: Provider
    over_limit: bool = False  # the payer's rolling 12-month session limit is already used up
    without_blocks: bool = False  # an ablation with no diagnostic blocks on file here (done elsewhere)
    notes: list[str] = field(default_factory=list)
    note: SessionNote = SessionNote()  # what the procedure note documents (levels, intent, relief)

    @property
    def procedure_lines(self) -> list[Line]:
        return [ln for ln in self.lines if not ln.is_drug and not ln.is_visit]


def weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def after(rng: random.Random, day: dt.date, low: int, high: int) -> dt.date:
    return weekday(day + dt.timedelta(days=rng.randint(low, high)))


def _member_id(rng: random.Random, payer: PayerProfile) -> str:
    if payer.type == "medicare":
        # the Medicare Beneficiary Identifier's shape: no S, L, O, I, B, Z
        letters = "ACDEFGHJKMNPQRTUVWXY"
        alnum = letters + "0123456789"
        return (str(rng.randint(1, 9)) + rng.choice(letters) + rng.choice(alnum) + str(rng.randint(0, 9))
                + rng.choice(letters) + rng.choice(alnum) + str(rng.randint(0, 9)) + rng.choice(letters)
                + rng.choice(letters) + f"{rng.randint(0, 99):02d}")
    if payer.type == "medicaid" and not payer.member_prefix:
        return f"{rng.randint(500_000_000, 799_999_999)}"
    return f"{payer.member_prefix}{rng.randint(100_000_000, 999_999_999)}"


def make_patient(rng: random.Random, number: int, namespace: str) -> Patient:
    payer = rng.choices(PRIMARY_PAYERS, weights=[p.weight for p in PRIMARY_PAYERS])[0]
    senior = payer.type in ("medicare", "medicare_advantage")
    age = rng.randint(66, 88) if senior else rng.randint(24, 64)
    birth = EPOCH - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    secondary, secondary_id, qmb, coverage_ends, next_payer, next_id = None, None, False, None, None, None
    if payer.type == "medicare":
        roll = rng.random()
        if roll < 0.15:
            secondary = PAYER_BY_ID["MEDIGAP-HERITAGE"]
        elif roll < 0.23:
            secondary, qmb = PAYER_BY_ID["MCD-TX"], True
        if secondary is not None:
            secondary_id = _member_id(rng, secondary)
    if payer.type == "commercial" and rng.random() < 0.06:
        coverage_ends = EPOCH + dt.timedelta(days=rng.randint(60, 150))  # a job change
        next_payer = rng.choice([p for p in PRIMARY_PAYERS if p.type == "commercial" and p.id != payer.id])
        next_id = _member_id(rng, next_payer)
    deductible = {"BCBS-TX": Decimal("1500.00"), "SUMMIT-PPO": Decimal("2500.00"),
                  "LAKESIDE-HMO": Decimal("750.00")}.get(payer.id, Decimal("0"))
    injury = None
    if payer.type == "workers_comp":
        side = note_rng(number, "injury")
        injury = InjuryFacts(
            date_of_injury=EPOCH - dt.timedelta(days=side.randint(30, 400)), state=side.choice(INJURY_STATES),
            claim_number=f"WC{side.randint(10_000_000, 99_999_999)}" if side.random() < 0.8 else None,
            adjuster_name=f"{side.choice(FIRST_NAMES).title()} {side.choice(LAST_NAMES).title()}"
            if side.random() < 0.75 else None,
            employer=side.choice(("Lone Star Freight", "Brazos Builders", "Pecos Poultry", "Gulf Coast Roofing")))
    return Patient(
        number=number, ref=f"{namespace}-MRN{number:05d}", last=rng.choice(LAST_NAMES), first=rng.choice(FIRST_NAMES),
        birth_date=birth, payer=payer, member_id=_member_id(rng, payer), secondary=secondary,
        secondary_member_id=secondary_id, qmb=qmb, coverage_ends=coverage_ends, next_payer=next_payer,
        next_member_id=next_id, deductible=deductible, injury=injury)


def note_rng(patient_number: int, what: str) -> random.Random:
    """A generator for documentation details only, seeded per patient: drawing from it never shifts the stream's
    own generator, so adding documented details leaves every claim and denial of a seed as it was."""
    return random.Random(f"note-{patient_number}-{what}")


def _relief(rng: random.Random, low: int, high: int, days: tuple[int, int] | None,
            missing: float = 1 / 6) -> tuple[int | None, int | None]:
    if rng.random() < missing:
        return None, None
    return rng.randint(low, high), (rng.randint(*days) if days else None)


# -- lines -------------------------------------------------------------------------------------------------------


def _side(rng: random.Random, bilateral_share: float) -> str:
    return "50" if rng.random() < bilateral_share else rng.choice(LATERALITY)


def _drug_lines(rng: random.Random, notes: random.Random | None = None) -> list[Line]:
    code, units = rng.choice(DRUGS)
    if code == "J1040" and notes is not None and notes.random() < 0.3:
        # 40 mg given from an 80 mg single-dose vial: the 40 mg code, and a JW line for the 40 mg discarded
        return [Line("J1030", (), 1), Line("J1030", ("JW",), 1)]
    if units > 1 and rng.random() < 0.25:
        wasted = rng.randint(1, max(1, units // 4))
        if code in SINGLE_DOSE:
            # part of a single-dose vial discarded: administered units plus a JW line for the waste
            return [Line(code, (), units - wasted), Line(code, ("JW",), wasted)]
        return [Line(code, (), units, wasted=True)]  # a multi-dose vial keeps the rest: neither JW nor JZ
    return [Line(code, ("JZ",) if code in SINGLE_DOSE else (), units)]


def esi_lines(rng: random.Random, region: str, notes: random.Random | None = None) -> list[Line]:
    lumbar = region == "lumbar"
    if rng.random() < 0.6:  # transforaminal, one or two levels, one side or both
        primary, addon = ("64483", "64484") if lumbar else ("64479", "64480")
        side = _side(rng, 0.3)
        lines = [Line(primary, (side,))]
        if rng.random() < 0.35:
            lines.append(Line(addon, (side,)))
    else:  # interlaminar: one level, no side
        lines = [Line("62323" if lumbar else "62321")]
    return lines + _drug_lines(rng, notes)


def facet_lines(rng: random.Random, region: str, medicare: bool) -> list[Line]:
    primary, addon = ("64493", "64494") if region == "lumbar" else ("64490", "64491")
    side = _side(rng, 0.6)
    extra = ("KX",) if medicare else ()  # Medicare: KX on every diagnostic facet injection
    lines = [Line(primary, (side, *extra))]
    if rng.random() < 0.7:
        lines.append(Line(addon, (side, *extra)))
    return lines


def rfa_lines(rng: random.Random, region: str, side: str) -> list[Line]:
    primary, addon = ("64635", "64636") if region == "lumbar" else ("64633", "64634")
    lines = [Line(primary, (side,))]
    if rng.random() < 0.75:
        lines.append(Line(addon, (side,)))
    return lines


def _provider(rng: random.Random, day: dt.date, role: str) -> Provider:
    if role == "visits" and rng.random() < 0.7:
        return next(p for p in PROVIDERS if p.key == "np-c")
    pool = [p for p in PROVIDERS if p.role == "interventional" and p.starts <= day]
    weights = {"dr-a": 45, "dr-b": 35, "dr-d": 25}
    return rng.choices(pool, weights=[weights[p.key] for p in pool])[0]


def _dx(rng: random.Random, key: str, count: int = 2) -> tuple[str, ...]:
    codes = DIAGNOSES[key]
    return tuple(rng.sample(codes, min(count, len(codes))))


class _Pathway:
    """Builds one patient's visits in date order."""

    def __init__(self, rng: random.Random, patient: Patient) -> None:
        self.rng = rng
        self.patient = patient
        self.visits: list[Visit] = []
        self.notes = note_rng(patient.number, "notes")

    def levels(self, region: str, lines: list[Line]) -> tuple[str, ...]:
        """The levels a session treated: one per primary or add-on line of the procedure (consecutive levels)."""
        count = sum(1 for ln in lines if not ln.is_drug and not ln.is_visit)
        names = LEVELS.get(region, ())
        if not names or count == 0:
            return ()
        start = self.notes.randint(0, max(0, len(names) - count))
        return names[start:start + count]

    @property
    def medicare(self) -> bool:
        return self.patient.payer.type == "medicare"  # Medicare patients keep Medicare all year

    def add(self, day: dt.date, kind: str, region: str | None, lines: list[Line], dx: tuple[str, ...],
            *, same_day_visit: float = 0.0, note: SessionNote = SessionNote(), **flags: bool) -> Visit | None:
        if day > LAST_SERVICE_DATE:
            return None
        lines = list(lines)
        if same_day_visit and self.rng.random() < same_day_visit:
            # a separately identifiable evaluation on the injection day: modifier 25
            lines.append(Line(self.rng.choice(("99213", "99214")), ("25",)))
        role = "visits" if kind in ("visit", "udt") else "interventional"
        visit = Visit(self.patient, day, kind, region, lines, dx, _provider(self.rng, day, role), note=note, **flags)
        self.visits.append(visit)
        return visit

    def consult(self, day: dt.date, dx: tuple[str, ...], chance: float) -> dt.date:
        if self.rng.random() < chance:
            self.add(day, "visit", None, [Line("99204")], dx)
            return after(self.rng, day, 7, 21)
        return day

    def follow_up(self, day: dt.date, dx: tuple[str, ...], chance: float) -> None:
        if self.rng.random() < chance:
            self.add(after(self.rng, day, 14, 20), "visit", None, [Line(self.rng.choice(("99213", "99214")))], dx)


def _esi_series(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    region = "lumbar" if rng.random() < 0.8 else "cervical"
    dx = _dx(rng, f"{region}_radicular")
    day = p.consult(start, dx, 0.5)
    long_series = start <= EPOCH + dt.timedelta(weeks=12) and rng.random() < 0.2
    sessions = 5 if long_series else rng.choices((1, 2, 3), weights=(25, 45, 30))[0]
    for _ in range(sessions):
        lines = esi_lines(rng, region, p.notes)
        relief, lasted = _relief(p.notes, 30, 90, (14, 150))
        p.add(day, "esi", region, lines, dx, same_day_visit=0.1,
              note=SessionNote(p.levels(region, lines), "therapeutic", relief, lasted))
        gap = rng.randint(35, 45) if long_series else rng.randint(21, 56)
        if gap > 30:
            p.follow_up(day, dx, 0.3)
        day = weekday(day + dt.timedelta(days=gap))


def _facet_pathway(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    region = "lumbar" if rng.random() < 0.75 else "cervical"
    dx = _dx(rng, f"{region}_facet")
    day = p.consult(start, dx, 0.6)
    without_blocks = rng.random() < 0.12  # blocks done at another practice: none on file here
    levels = LEVELS[region][1:] if p.notes.random() < 0.6 else LEVELS[region][:2]
    if not without_blocks:
        first_block = facet_lines(rng, region, p.medicare)
        relief, _ = _relief(p.notes, 80, 95, None)
        p.add(day, "facet", region, first_block, dx, same_day_visit=0.08,
              note=SessionNote(levels[:len(first_block)], "diagnostic", relief))
        day = after(rng, day, 14, 28)
        second_block = facet_lines(rng, region, p.medicare)
        visit = p.add(day, "facet", region, second_block, dx)
        stop = rng.random() < 0.15  # less than 80% relief: no ablation
        # an occasional ablation follows a confirmatory block that fell short of 80 % (the LCD is not met)
        relief, _ = _relief(p.notes, 40, 70, None, missing=0.0) if stop or p.notes.random() < 0.08 \
            else _relief(p.notes, 80, 95, None)
        if visit is not None:
            visit.note = SessionNote(levels[:len(second_block)], "diagnostic", relief)
        if stop:
            return
        day = after(rng, day, 21, 42)
    plan = rng.choices(("bilateral", "staged", "one_side"), weights=(40, 35, 25))[0]
    first_side = "50" if plan == "bilateral" else rng.choice(LATERALITY)

    def ablation_note(lines: list[Line]) -> SessionNote:
        # the relief an ablation gave and how long it lasted (what a repeat at the same site rests on)
        relief, lasted = _relief(p.notes, 40, 90, (90, 300))
        return SessionNote(levels[:len(lines)], "therapeutic", relief, lasted)

    lines = rfa_lines(rng, region, first_side)
    p.add(day, "rfa", region, lines, dx, without_blocks=without_blocks, note=ablation_note(lines))
    first_rfa = day
    if plan == "staged":
        day = after(rng, day, 14, 21)
        other = "LT" if first_side == "RT" else "RT"
        lines = rfa_lines(rng, region, other)
        p.add(day, "rfa", region, lines, dx, without_blocks=without_blocks, note=ablation_note(lines))
    p.follow_up(day, dx, 0.4)
    if rng.random() < 0.3:  # pain back after some months: a repeat ablation
        day = after(rng, first_rfa, 150, 200)
        lines = rfa_lines(rng, region, first_side)
        p.add(day, "rfa", region, lines, dx, without_blocks=without_blocks, note=ablation_note(lines))


def _si_joint(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    dx = _dx(rng, "sacroiliac")
    day = p.consult(start, dx, 0.5)
    if rng.random() < 0.2:
        p.add(day, "si", "sacroiliac", [Line("64451")], dx)
        day = after(rng, day, 14, 28)
    asc = rng.random() < 0.3  # in the surgery center the facility code G0260 replaces 27096
    for _ in range(rng.choices((1, 2, 3), weights=(40, 40, 20))[0]):
        code = "G0260" if asc else "27096"
        p.add(day, "si", "sacroiliac", [Line(code, (_side(rng, 0.35),)), *_drug_lines(rng, p.notes)], dx,
              same_day_visit=0.08)
        day = after(rng, day, 28, 70)


def _trigger_points(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    dx = _dx(rng, "myofascial")
    day = p.consult(start, dx, 0.4)
    sessions = rng.choices((2, 3, 4), weights=(40, 35, 25))[0]
    for _ in range(sessions):
        lines = [Line("20553" if rng.random() < 0.4 else "20552")]
        if rng.random() < 0.35:
            lines.append(Line("J3301", ("JZ",), 2))
        p.add(day, "tpi", None, lines, dx)
        day = after(rng, day, 28, 56)


def _spinal_cord_stimulator(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    dx = _dx(rng, "scs")
    day = p.consult(start, dx, 1.0)
    relief, _ = _relief(p.notes, 50, 85, None)
    p.add(day, "scs_trial", None, [Line("63650", (), 2)], dx, note=SessionNote(intent="diagnostic",
                                                                               relief_percent=relief))
    p.add(after(rng, day, 6, 8), "visit", None, [Line("99213")], dx)
    if rng.random() < 0.85:  # at least half the pain gone on the trial: permanent implant
        p.add(after(rng, day, 28, 56), "scs_implant", None, [Line("63650", (), 2), Line("63685")], dx)


def _medication_management(p: _Pathway, start: dt.date) -> None:
    rng = p.rng
    dx = (*_dx(rng, "chronic_pain", 1), *DIAGNOSES["opioid_therapy"])
    day = start
    for i in range(rng.randint(3, 6)):
        lines = [Line(rng.choice(("99213", "99214")), (), 1, (1, 2))]
        if rng.random() < 0.85:
            presumptive = rng.choices(("80305", "80306", "80307"), weights=(60, 15, 25))[0]
            lines.append(Line(presumptive, (), 1, (2,)))
            if i % 3 == 0 and rng.random() < 0.6:
                definitive = rng.choices(("G0480", "G0481", "G0482", "G0483"), weights=(66, 22, 8, 4))[0]
                lines.append(Line(definitive, (), 1, (2,)))
        p.add(day, "udt" if len(lines) > 1 else "visit", None, lines, dx)
        day = after(rng, day, 26, 35)


PATHWAYS = (
    (_esi_series, 30), (_facet_pathway, 22), (_si_joint, 10), (_trigger_points, 10),
    (_spinal_cord_stimulator, 5), (_medication_management, 23),
)


def _mark_session_limits(visits: list[Visit]) -> None:
    """Flag sessions past the rolling 12-month limit (earlier sessions of the same kind and region)."""
    for i, visit in enumerate(visits):
        limit = SESSION_LIMITS.get(visit.kind)
        if limit is None:
            continue
        window_start = visit.dos.replace(year=visit.dos.year - 1)
        earlier = {v.dos for v in visits[:i] if v.kind == visit.kind and v.region == visit.region
                   and window_start < v.dos < visit.dos}
        visit.over_limit = len(earlier) >= limit


def patient_visits(rng: random.Random, patient: Patient) -> list[Visit]:
    """One patient's visits, in date order."""
    start = weekday(EPOCH + dt.timedelta(days=rng.randint(0, SERVICE_WEEKS * 7 - 28)))
    pathway = _Pathway(rng, patient)
    build = rng.choices([b for b, _ in PATHWAYS], weights=[w for _, w in PATHWAYS])[0]
    build(pathway, start)
    visits = sorted(pathway.visits, key=lambda v: v.dos)
    _mark_session_limits(visits)
    return visits
