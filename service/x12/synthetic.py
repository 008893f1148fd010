"""Synthetic pain-management 835s: a writer for well-formed 005010X221A1 remittances and one realistic scenario.

No real patient, payer or provider is in here. The public sample files carry no pain-management codes, so tests
(and the demo) use these: epidural steroid injections (64483/64484), facet injections (64493/64494),
radiofrequency ablation (64635/64636), spinal cord stimulator placement (63650) and urine drug testing
(80305/G0480), with the denials a pain practice sees: CO-197 (no precertification), CO-50 + N115 (LCD medical
necessity), CO-97 + N20 on fluoroscopy 77003 (bundled), CO-4 (modifier), OA-18 (duplicate); a reversal (CLP02 22
with negative amounts) and its re-adjudication; a PLB WO recoupment naming the reversed claim; L6 interest.

`render` writes any separators, with or without line breaks; control numbers and SE/GE/IEA counts are computed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0")


@dataclass(frozen=True)
class Adj:
    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class Line:
    code: str
    charge: Decimal
    adjustments: tuple[Adj, ...] = ()
    modifiers: tuple[str, ...] = ()
    units: Decimal = Decimal(1)
    remarks: tuple[str, ...] = ()
    control_number: str | None = None
    service_date: dt.date | None = None
    allowed: Decimal | None = None
    submitted_code: str | None = None  # SVC06: the billed code, when the payer adjudicated another one (SVC01)

    @property
    def paid(self) -> Decimal:
        """Balanced by construction: charge - adjustments."""
        return self.charge - sum((a.amount for a in self.adjustments), ZERO)


@dataclass(frozen=True)
class Claim:
    claim_id: str
    status: str
    lines: tuple[Line, ...]
    payer_claim_number: str
    patient: tuple[str, str, str]  # last, first, member id
    filing_indicator: str = "MB"
    adjustments: tuple[Adj, ...] = ()  # claim level
    remarks: tuple[str, ...] = ()  # MOA
    patient_ref: str | None = None  # REF*EA
    paid_override: Decimal | None = None  # to write a deliberately unbalanced claim

    @property
    def charge(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), ZERO)

    @property
    def paid(self) -> Decimal:
        if self.paid_override is not None:
            return self.paid_override
        return sum((ln.paid for ln in self.lines), ZERO) - sum((a.amount for a in self.adjustments), ZERO)

    @property
    def patient_responsibility(self) -> Decimal:
        every = list(self.adjustments) + [a for ln in self.lines for a in ln.adjustments]
        return sum((a.amount for a in every if a.group == "PR"), ZERO)


@dataclass(frozen=True)
class PLBAdj:
    reason: str
    amount: Decimal  # positive reduces the payment
    reference: str | None = None


@dataclass(frozen=True)
class Remittance:
    claims: tuple[Claim, ...]
    provider_adjustments: tuple[PLBAdj, ...] = ()
    payer_name: str = "SYNTHETIC MEDICARE CONTRACTOR"
    payer_id: str = "SYN01"
    payee_name: str = "SYNTHETIC PAIN CLINIC"
    payee_npi: str = "1234567893"
    trace_number: str = "EFT0001"
    production_date: dt.date = dt.date(2026, 2, 27)
    payment_date: dt.date = dt.date(2026, 3, 2)
    service_date: dt.date = dt.date(2026, 1, 15)
    set_control_number: str = "0001"

    @property
    def total_payment(self) -> Decimal:
        return sum((c.paid for c in self.claims), ZERO) - sum((p.amount for p in self.provider_adjustments), ZERO)


@dataclass(frozen=True)
class Separators:
    element: str = "*"
    segment: str = "~"
    component: str = ":"
    repetition: str = "^"


def money(value: Decimal) -> str:
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _segments(remit: Remittance, sep: Separators, version: str) -> list[list[str]]:
    c = sep.component
    contact = "BL" if version.startswith("005") else "CX"  # 4010 has only the payer contact (CX)
    segs: list[list[str]] = [
        ["ST", "835", remit.set_control_number],
        ["BPR", "I", money(remit.total_payment), "C", "ACH", "CCP", "01", "999999992", "DA", "123456", "1512345678",
         "", "01", "999988880", "DA", "98765", remit.payment_date.strftime("%Y%m%d")],
        ["TRN", "1", remit.trace_number, "1512345678"],
        ["DTM", "405", remit.production_date.strftime("%Y%m%d")],
        ["N1", "PR", remit.payer_name, "XV", remit.payer_id],
        ["N3", "100 MAIN STREET"],
        ["N4", "ANYTOWN", "TX", "75001"],
        ["PER", contact, "PROVIDER SERVICES", "TE", "8005550100"],
        ["N1", "PE", remit.payee_name, "XX", remit.payee_npi],
        ["N3", "200 CLINIC WAY"],
        ["N4", "ANYTOWN", "TX", "75002"],
        ["REF", "TJ", "752345678"],
        ["LX", "1"],
    ]
    for claim in remit.claims:
        segs.append(["CLP", claim.claim_id, claim.status, money(claim.charge), money(claim.paid),
                     money(claim.patient_responsibility) if claim.patient_responsibility else "",
                     claim.filing_indicator, claim.payer_claim_number, "11", "1"])
        segs += _cas(claim.adjustments)
        last, first, member = claim.patient
        segs.append(["NM1", "QC", "1", last, first, "", "", "", "MI", member])
        if claim.remarks:
            segs.append(["MOA", "", "", *claim.remarks[:5]])
        if claim.patient_ref:
            segs.append(["REF", "EA", claim.patient_ref])
        for line in claim.lines:
            procedure = c.join(["HC", line.code, *line.modifiers])
            svc = ["SVC", procedure, money(line.charge), money(line.paid), "", money(line.units)]
            if line.submitted_code:
                svc.append(c.join(["HC", line.submitted_code]))
            segs.append(svc)
            segs.append(["DTM", "472", (line.service_date or remit.service_date).strftime("%Y%m%d")])
            segs += _cas(line.adjustments)
            if line.control_number:
                segs.append(["REF", "6R", line.control_number])
            if line.allowed is not None:
                segs.append(["AMT", "B6", money(line.allowed)])
            segs += [["LQ", "HE", remark] for remark in line.remarks]
    if remit.provider_adjustments:
        for start in range(0, len(remit.provider_adjustments), 6):
            plb = ["PLB", remit.payee_npi, f"{remit.production_date.year}1231"]
            for adj in remit.provider_adjustments[start:start + 6]:
                plb += [c.join([adj.reason, adj.reference]) if adj.reference else adj.reason, money(adj.amount)]
            segs.append(plb)
    segs.append(["SE", str(len(segs) + 1), remit.set_control_number])
    return segs


def _cas(adjustments: tuple[Adj, ...]) -> list[list[str]]:
    """CAS segments: one per group, up to six reason/amount/quantity triplets each."""
    out: list[list[str]] = []
    groups: dict[str, list[Adj]] = {}
    for adj in adjustments:
        groups.setdefault(adj.group, []).append(adj)
    for group, items in groups.items():
        for start in range(0, len(items), 6):
            seg = ["CAS", group]
            for adj in items[start:start + 6]:
                seg += [adj.reason, money(adj.amount), money(adj.quantity) if adj.quantity is not None else ""]
            while seg and seg[-1] == "":
                seg.pop()
            out.append(seg)
    return out


def render(remittances: list[Remittance] | Remittance, *, separators: Separators = Separators(),
           line_breaks: bool = True, control_number: int = 1, sender: str = "SYNTHPAYER",
           receiver: str = "SYNTHCLINIC", version: str = "005010X221A1") -> bytes:
    """One interchange with one functional group holding one 835 set per remittance."""
    if isinstance(remittances, Remittance):
        remittances = [remittances]
    s = separators
    end = s.segment + ("\n" if line_breaks and s.segment != "\n" else "")
    is_5010 = version.startswith("005")
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15), "260302",
           "1200", s.repetition if is_5010 else "U", "00501" if is_5010 else "00401", f"{control_number:09d}", "0",
           "P", s.component]
    lines = [s.element.join(isa)]
    lines.append(s.element.join(["GS", "HP", sender, receiver, "20260302", "1200", str(control_number), "X",
                                 version]))
    for remit in remittances:
        lines += [s.element.join(seg) for seg in _segments(remit, s, version)]
    lines.append(s.element.join(["GE", str(len(remittances)), str(control_number)]))
    lines.append(s.element.join(["IEA", "1", f"{control_number:09d}"]))
    return (end.join(lines) + end).encode()


def _line(code: str, charge: str, *adjustments: Adj, modifiers: tuple[str, ...] = (), remarks: tuple[str, ...] = (),
          control: str | None = None, allowed: str | None = None) -> Line:
    return Line(code=code, charge=Decimal(charge), adjustments=adjustments, modifiers=modifiers, remarks=remarks,
                control_number=control, allowed=Decimal(allowed) if allowed else None)


def _a(group: str, reason: str, amount: str) -> Adj:
    return Adj(group, reason, Decimal(amount))


def pain_management_remittance() -> Remittance:
    """One Medicare Part B remittance with the pain-management denials the classifier must handle."""
    return Remittance(
        claims=(
            Claim("PM-1001", "1", payer_claim_number="ICN-1001", patient=("DOE", "JANE", "1EG4TE5MK72"),
                  patient_ref="MRN-311", lines=(
                      _line("64483", "1200", _a("CO", "45", "184.5"), _a("PR", "2", "203.1"), modifiers=("RT",),
                            control="1001-1", allowed="1015.5"),
                      _line("64484", "600", _a("CO", "197", "600"), modifiers=("RT",), control="1001-2"),
                      _line("77003", "250", _a("CO", "97", "250"), remarks=("N20",), control="1001-3"),
                  )),
            Claim("PM-1002", "4", payer_claim_number="ICN-1002", patient=("ROE", "RICHARD", "2FH5UF6NL83"),
                  remarks=("MA01",), lines=(
                      _line("64493", "900", _a("CO", "50", "900"), modifiers=("LT",), remarks=("N115",),
                            control="1002-1"),
                      _line("64494", "450", _a("CO", "50", "450"), modifiers=("LT",), remarks=("N115",),
                            control="1002-2"),
                  )),
            Claim("PM-1003", "1", payer_claim_number="ICN-1003", patient=("POE", "ANNA", "3GJ6VG7PM94"), lines=(
                _line("64635", "1500", _a("CO", "4", "1500"), control="1003-1"),
                _line("64636", "700", _a("CO", "45", "150"), _a("PR", "2", "110"), control="1003-2", allowed="550"),
            )),
            Claim("PM-1004", "22", payer_claim_number="ICN-0904", patient=("LOE", "MARK", "4HK7WH8QN05"), lines=(
                _line("63650", "-3000", _a("CO", "45", "-600"), _a("PR", "1", "-150"), control="1004-1",
                      allowed="-2400"),
            )),
            Claim("PM-1004", "1", payer_claim_number="ICN-1004", patient=("LOE", "MARK", "4HK7WH8QN05"), lines=(
                _line("63650", "3000", _a("CO", "45", "800"), _a("PR", "1", "200"), control="1004-1",
                      allowed="2200"),
            )),
            Claim("PM-1005", "1", payer_claim_number="ICN-1005", patient=("MOE", "LUCY", "5JL8XJ9RP16"), lines=(
                _line("80305", "120", _a("CO", "45", "107.2"), control="1005-1", allowed="12.8"),
                _line("G0480", "250", _a("OA", "18", "250"), control="1005-2"),
            )),
        ),
        provider_adjustments=(PLBAdj("WO", Decimal("250"), "ICN-0904"), PLBAdj("L6", Decimal("-3.12"))),
    )
