"""The check's own rule data (`check_rules.toml`) as typed values: which rules run and how severe they are, the
ICD-10 codes each pain family's coverage policy accepts (and the codes that need more characters), what one session
may hold, the urine drug testing limits, prior-authorization lists per payer and what an authorization may name, how
a payer wants a bilateral procedure billed, and what an enabled prevention rule tests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from service.domain.authorizations import AuthorizationScopes
from service.domain.classification.vocabulary import CATEGORIES
from service.domain.ruledata import RuleDataError

SEVERITIES = ("deny", "warn")
PAYER_TYPES = ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other")
PREVENTION_TESTS = ("no_authorization", "no_kx", "units", "reminder")
CODE = re.compile(r"^(?:[0-9]{4}[0-9FTU]|[A-V][0-9]{4})$")  # CPT (incl. cat II/III) or HCPCS level II


def diagnosis_key(code: str) -> str:
    """ICD-10-CM as the lists hold it: upper case, no dot (M54.16 and M5416 are one code)."""
    return re.sub(r"[^0-9A-Z]", "", code.upper())


@dataclass(frozen=True, slots=True)
class CheckRule:
    id: str
    category: str
    severity: str
    title: str
    unknown_policy: str | None = None  # severity when the payer's own policy is not on file
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class DiagnosisList:
    """The ICD-10 codes a family group's coverage policy accepts (prefixes), those that name axial pain, and those it
    may or may not accept (`uncertain`: a warning saying what to confirm)."""

    group: str
    families: frozenset[str]
    covered: tuple[str, ...]
    axial: tuple[str, ...]
    section: str
    verify: bool
    uncertain: tuple[str, ...] = ()
    uncertain_note: str = ""

    def covers(self, code: str) -> bool:
        return diagnosis_key(code).startswith(self.covered)

    def is_axial(self, code: str) -> bool:
        return bool(self.axial) and diagnosis_key(code).startswith(self.axial)

    def is_uncertain(self, code: str) -> bool:
        return bool(self.uncertain) and diagnosis_key(code).startswith(self.uncertain)


@dataclass(frozen=True, slots=True)
class InvalidDiagnoses:
    """ICD-10-CM codes that have subdivisions (not valid on a claim): each from `as_of`, or its own `since`."""

    codes: frozenset[str] = frozenset()
    as_of: dt.date = dt.date.max
    since: dict[str, dt.date] = field(default_factory=dict)
    source: str = ""

    def invalid_on(self, code: str, day: dt.date) -> bool:
        key = diagnosis_key(code)
        return key in self.codes and day >= self.since.get(key, self.as_of)


@dataclass(frozen=True, slots=True)
class SessionRule:
    """At most `most` distinct values of `per` (region, family_in_region, code) among the lines of `families` on one
    date, reported by check rule `rule`."""

    id: str
    rule: str
    families: frozenset[str]
    per: str
    most: int
    what: str
    section: str
    verify: bool
    fix: str = ""


@dataclass(frozen=True, slots=True)
class SedationRule:
    families: frozenset[str]  # sedation and anesthesia
    with_families: frozenset[str]  # the injections it is rarely needed for
    section: str
    verify: bool


@dataclass(frozen=True, slots=True)
class UdtFrequency:
    days: int
    most: int
    why: str


@dataclass(frozen=True, slots=True)
class UdtRules:
    presumptive: frozenset[str] = frozenset()
    definitive: frozenset[str] = frozenset()
    broad: frozenset[str] = frozenset()
    cite: str = ""
    verify: bool = False
    frequency: tuple[UdtFrequency, ...] = ()


@dataclass(frozen=True, slots=True)
class IntervalRule:
    families: frozenset[str]
    payer_types: frozenset[str]
    min_days: int
    label: str
    cite: str
    verify: bool


@dataclass(frozen=True, slots=True)
class PreventionCheck:
    """A recurring avoidable cause of prevention feedback a user enabled as a check rule."""

    key: str  # payer:code:condition
    payer_id: str
    procedure_code: str
    condition: str
    category: str
    text: str  # "payer X denies 64483 without prior authorization: 14 denials, $20,300.00 in 90 days"
    check: str  # what to check before submitting


@dataclass(frozen=True, slots=True)
class CheckRules:
    version: str
    rules: dict[str, CheckRule]
    diagnoses: tuple[DiagnosisList, ...]
    intervals: tuple[IntervalRule, ...]
    auth_scopes: AuthorizationScopes
    auth_types: dict[str, tuple[str, ...]]
    auth_payers: dict[str, tuple[str, ...]]
    auth_cite: str
    auth_verify: bool
    bilateral_one_line: frozenset[str]
    bilateral_payers: dict[str, bool]
    bilateral_cite: str
    side_deny_for: frozenset[str]
    filing_warn_days: int
    ncci_bypass: frozenset[str]
    ncci_skip_pairs: frozenset[str]
    prevention_tests: dict[str, str]
    families: frozenset[str] = frozenset()
    invalid_diagnoses: InvalidDiagnoses = field(default_factory=InvalidDiagnoses)
    sessions: tuple[SessionRule, ...] = ()
    sedation: SedationRule | None = None
    udt: UdtRules = field(default_factory=UdtRules)

    @property
    def groups(self) -> dict[str, frozenset[str]]:
        return self.auth_scopes.groups

    @classmethod
    def from_table(cls, data: Mapping[str, Any], families: Iterable[str]) -> CheckRules:
        known = set(families)
        try:
            rules = {}
            for raw in data.get("rule", []):
                rule = CheckRule(id=str(raw["id"]), category=str(raw["category"]), severity=str(raw["severity"]),
                                 title=str(raw.get("title", "")), unknown_policy=raw.get("unknown_policy"),
                                 enabled=bool(raw.get("enabled", True)))
                if rule.category not in CATEGORIES:
                    raise RuleDataError(f"check_rules.toml rule {rule.id}: unknown category {rule.category!r}")
                if rule.severity not in SEVERITIES or rule.unknown_policy not in (None, *SEVERITIES):
                    raise RuleDataError(f"check_rules.toml rule {rule.id}: severity is deny or warn")
                if rule.id in rules:
                    raise RuleDataError(f"check_rules.toml: rule {rule.id} is listed twice")
                rules[rule.id] = rule
            scopes = AuthorizationScopes.from_table(data, known)
            diagnoses = tuple(
                DiagnosisList(group=name, families=_families(body["families"], known, f"diagnoses.{name}"),
                              covered=tuple(diagnosis_key(c) for c in body["covered"]),
                              axial=tuple(diagnosis_key(c) for c in body.get("axial", ())),
                              section=str(body["section"]), verify=bool(body.get("verify", False)),
                              uncertain=tuple(diagnosis_key(c) for c in body.get("uncertain", ())),
                              uncertain_note=str(body.get("uncertain_note", "")))
                for name, body in data.get("diagnoses", {}).items())
            intervals = tuple(
                IntervalRule(families=_families(r["families"], known, "interval"),
                             payer_types=_payer_types(r["payer_types"], "interval"), min_days=int(r["min_days"]),
                             label=str(r["label"]), cite=str(r["cite"]), verify=bool(r.get("verify", False)))
                for r in data.get("interval", []))
            auth = data.get("authorization", {})
            types = auth.get("types", {})
            auth_types = {t: tuple(str(x) for x in types.get(t, ())) for t in PAYER_TYPES}
            auth_payers = {pid: tuple(str(x) for x in body.get("required", ()))
                           for pid, body in auth.get("payers", {}).items()}
            bilateral = data.get("bilateral", {})
            prevention = {str(k): str(v) for k, v in data.get("prevention", {}).items()}
            for condition, test in prevention.items():
                if test not in PREVENTION_TESTS:
                    raise RuleDataError(f"check_rules.toml [prevention] {condition}: unknown test {test!r}")
            out = cls(
                version=str(data["VERSION"]), rules=rules, diagnoses=diagnoses, intervals=intervals,
                auth_scopes=scopes, invalid_diagnoses=_invalid_diagnoses(data.get("invalid_diagnoses", {})),
                sessions=tuple(_session_rule(r, known, set(rules)) for r in data.get("session", [])),
                sedation=_sedation(data.get("sedation"), known), udt=_udt(data.get("udt", {})),
                auth_types=auth_types, auth_payers=auth_payers, auth_cite=str(types.get("cite", "")),
                auth_verify=bool(types.get("verify", False)),
                bilateral_one_line=_payer_types(bilateral.get("one_line_with_50", ()), "bilateral"),
                bilateral_payers={pid: bool(body.get("one_line", True))
                                  for pid, body in bilateral.get("payers", {}).items()},
                bilateral_cite=str(bilateral.get("cite", "")),
                side_deny_for=_payer_types(data.get("side", {}).get("deny_for", ()), "side"),
                filing_warn_days=int(data.get("timely_filing", {}).get("warn_days", 0)),
                ncci_bypass=frozenset(str(m) for m in data.get("ncci", {}).get("bypass", ())),
                ncci_skip_pairs=frozenset(str(p) for p in data.get("ncci", {}).get("skip_pairs", ())),
                prevention_tests=prevention, families=frozenset(known))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, RuleDataError):
                raise
            raise RuleDataError(f"check_rules.toml: missing or invalid {exc}") from None
        for payer_type, items in (*out.auth_types.items(), *out.auth_payers.items()):
            for item in items:
                if not out.scope_known(item):
                    raise RuleDataError(f"check_rules.toml [authorization] {payer_type}: unknown family or group "
                                        f"{item!r}")
        return out

    # -- lookups -----------------------------------------------------------------------------------------------------

    def rule(self, rule_id: str) -> CheckRule | None:
        """The rule, or None when it is off (a disabled rule never finds anything)."""
        rule = self.rules.get(rule_id)
        return rule if rule is not None and rule.enabled else None

    def groups_of(self, family: str | None) -> frozenset[str]:
        return self.auth_scopes.groups_of(family)

    def scope_known(self, scope: str) -> bool:
        """What an authorization may name: a family group, a family of the pain rules, a separately authorized
        service kind (scs_trial), or a procedure code."""
        return (scope in self.groups or scope in self.families or self.auth_scopes.kind(scope) is not None
                or bool(CODE.match(scope.upper())))

    def diagnoses_for(self, family: str | None) -> DiagnosisList | None:
        return next((d for d in self.diagnoses if family in d.families), None) if family else None

    def authorization_list(self, payer_type: str, payer_id: str | None) -> tuple[str, ...]:
        if payer_id and payer_id in self.auth_payers:
            return self.auth_payers[payer_id]
        return self.auth_types.get(payer_type, ())

    def needs_authorization(self, payer_type: str, payer_id: str | None, code: str, family: str | None) -> bool:
        wanted = set(self.authorization_list(payer_type, payer_id))
        return bool(wanted & ({code.upper(), family or ""} | set(self.groups_of(family))))

    def payer_specific_authorization(self, payer_id: str | None) -> bool:
        return bool(payer_id) and payer_id in self.auth_payers

    def wants_one_bilateral_line(self, payer_type: str, payer_id: str | None) -> bool:
        if payer_id and payer_id in self.bilateral_payers:
            return self.bilateral_payers[payer_id]
        return payer_type in self.bilateral_one_line

    def with_payers(self, payers: Mapping[str, Mapping[str, Any]]) -> CheckRules:
        """The same rules with a clinic's knowledge of its payers, per payer id: `authorization` (what needs prior
        authorization: codes, families, groups) and `bilateral_one_line` (true/false). A payer's filing window is
        not among them: payer_policies.toml ([payers."<id>"]) is its one source, read by the check, the classifier,
        the letters and the timers alike, so a window given here is refused rather than left to disagree."""
        auth = dict(self.auth_payers)
        bilateral = dict(self.bilateral_payers)
        for payer_id, body in payers.items():
            window = sorted(k for k in body if k.startswith("filing_"))
            if window:
                raise RuleDataError(f"payer {payer_id}: {window[0]} belongs in payer_policies.toml "
                                    f'[payers."{payer_id}"], the one source of filing windows')
            if "authorization" in body:
                items = tuple(str(x) for x in body["authorization"])
                unknown = [x for x in items if not self.scope_known(x)]
                if unknown:
                    raise RuleDataError(f"payer {payer_id}: unknown family or group {unknown[0]!r}")
                auth[payer_id] = items
            if "bilateral_one_line" in body:
                bilateral[payer_id] = bool(body["bilateral_one_line"])
        return replace(self, auth_payers=auth, bilateral_payers=bilateral)


def _invalid_diagnoses(body: Mapping[str, Any]) -> InvalidDiagnoses:
    if not body:
        return InvalidDiagnoses()
    return InvalidDiagnoses(codes=frozenset(diagnosis_key(str(c)) for c in body["codes"]),
                            as_of=_day(body["as_of"]), source=str(body.get("source", "")),
                            since={diagnosis_key(str(k)): _day(v) for k, v in body.get("since", {}).items()})


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


_SESSION_PER = ("region", "family_in_region", "code")


def _session_rule(raw: Mapping[str, Any], known: set[str], rule_ids: set[str]) -> SessionRule:
    out = SessionRule(id=str(raw["id"]), rule=str(raw["rule"]),
                      families=_families(raw["families"], known, f"session {raw['id']}"), per=str(raw["per"]),
                      most=int(raw["most"]), what=str(raw["what"]), section=str(raw["section"]),
                      verify=bool(raw.get("verify", False)), fix=str(raw.get("fix", "")))
    if out.per not in _SESSION_PER:
        raise RuleDataError(f"check_rules.toml session {out.id}: per is one of {', '.join(_SESSION_PER)}")
    if out.rule not in rule_ids:
        raise RuleDataError(f"check_rules.toml session {out.id}: unknown rule {out.rule!r}")
    return out


def _sedation(raw: Mapping[str, Any] | None, known: set[str]) -> SedationRule | None:
    if not raw:
        return None
    return SedationRule(families=_families(raw["families"], known, "sedation"),
                        with_families=_families(raw["with_families"], known, "sedation"),
                        section=str(raw["section"]), verify=bool(raw.get("verify", False)))


def _udt(raw: Mapping[str, Any]) -> UdtRules:
    if not raw:
        return UdtRules()
    codes = {k: frozenset(str(c).upper() for c in raw.get(k, ())) for k in ("presumptive", "definitive", "broad")}
    if not codes["broad"] <= codes["definitive"]:
        raise RuleDataError("check_rules.toml [udt]: broad codes must be definitive codes")
    return UdtRules(presumptive=codes["presumptive"], definitive=codes["definitive"], broad=codes["broad"],
                    cite=str(raw.get("cite", "")), verify=bool(raw.get("verify", False)),
                    frequency=tuple(UdtFrequency(days=int(f["days"]), most=int(f["most"]), why=str(f["why"]))
                                    for f in raw.get("frequency", ())))


def _families(raw: Any, known: set[str], where: str) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise RuleDataError(f"check_rules.toml {where}: expected a list of family names")
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RuleDataError(f"check_rules.toml {where}: unknown family {unknown[0]!r}")
    return frozenset(raw)


def _payer_types(raw: Any, where: str) -> frozenset[str]:
    items = frozenset(str(x) for x in raw)
    unknown = sorted(items - set(PAYER_TYPES))
    if unknown:
        raise RuleDataError(f"check_rules.toml {where}: unknown payer type {unknown[0]!r}")
    return items
