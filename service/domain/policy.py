"""Coverage policy per payer (`data/coverage.toml`): the rules a payer's own policy sets for a procedure family.

`policy_for(payer_type, payer_id, family, on)` is the one lookup the classifier and the letters use: the session
limit, repeat criterion, prerequisite and levels-per-session rule that apply, the prior-authorization and drug-waste
(JW/JZ) requirements, how a correctable error is filed, the appeal ladder and, for Medicare, the LCD and billing
article to cite (from `data/lcd_citations.toml` through `service.domain.citations`, the one source of those numbers,
which the letters read too, with the same jurisdiction resolution). Medicare rows apply to Medicare and to Medicare
Advantage (unless a payer-id row names the plan's own policy); other payer types have no policy on file by default,
and the answer says so (`known` False, `unknown_text`) instead of borrowing a Medicare rule.

Pure: plain values in and out; the data is read once per directory.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.domain.appeals import Ladder, load_appeal_rules
from service.domain.citations import Citations, LcdCitation
from service.domain.memo import Memo
from service.domain.ruledata import RuleDataError, RuleFiles, rules_root


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a rule comes from: the document (an LCD id or a named policy), the section, the billing article.
    `not_on_file`: the MAC (in words) whose number for the LCD is not known: the text names the LCD by title."""

    document: str
    section: str
    article: str | None = None
    title: str | None = None
    verify: bool = False
    not_on_file: str | None = None

    def text(self) -> str:
        if self.not_on_file is not None:
            out = f"the Medicare LCD {self.title} of {self.not_on_file} (its number is not on file), {self.section}"
        else:
            out = f"{self.document}" + (f" {self.title}" if self.title else "") + f", {self.section}"
        if self.article:
            out += f"; billing article {self.article}"
        return out + (" [verify]" if self.verify else "")


@dataclass(frozen=True, slots=True)
class FrequencyLimit:
    """Sessions (dates) per patient in the rolling window before the date of service."""

    id: str
    families: frozenset[str]
    limit: int
    window_months: int
    per_region: bool
    label: str
    cite: Citation
    hard: bool = True  # past the limit the session is not covered: write off (prevention: ABN, GA)
    subtype: str | None = None
    note: str | None = None

    @property
    def ref(self) -> str:
        """The citation as text (kept under the name the letters and explanations read)."""
        return self.cite.text()


@dataclass(frozen=True, slots=True)
class RepeatCriterion:
    """What the earlier session of the same family must have achieved before it is repeated."""

    id: str
    families: frozenset[str]
    min_relief_percent: int
    min_relief_days: int
    relief_words: str
    same_site: bool  # True: same side and levels; False: anywhere in the region
    cite: Citation
    window_months: int | None = None  # only earlier sessions inside this window make it a repeat (None: any)
    duration_verify: bool = False  # the duration is not confirmed from the document: short of it only flags
    function_counts: bool = False  # improvement in function meets it too (pain OR function), which relief data omits


@dataclass(frozen=True, slots=True)
class PrerequisiteCriteria:
    """What must be on file before a procedure, and how good it must have been."""

    id: str
    families: frozenset[str]
    needs_families: frozenset[str]
    needs_count: int
    cite: Citation
    min_relief_percent: int | None = None
    diagnostic_only: bool = False
    same_site: bool = False


@dataclass(frozen=True, slots=True)
class LevelLimit:
    id: str
    families: frozenset[str]
    limit: int
    cite: Citation


@dataclass(frozen=True, slots=True)
class PayerTerms:
    """What holds for every family of one payer: how errors are corrected, JW/JZ, late remedies, the ladder."""

    payer_type: str
    payer_id: str | None
    label: str
    policy_id: str | None  # None: no coverage policy on file for this payer
    policy_label: str | None
    policy_note: str | None
    resubmission: str  # "reopening" | "corrected_claim"
    drug_waste_required: bool
    authorization: frozenset[str] | None  # families always requiring prior authorization; None: not known
    late_appeal: str  # "good_cause" | "none"
    late_appeal_basis: str
    jurisdiction: str | None
    ladder: Ladder | None
    follows_lcds: bool = False  # the policy is the Medicare LCDs (its citations are the MAC's LCD and article)

    @property
    def known(self) -> bool:
        return self.policy_id is not None


@dataclass(frozen=True, slots=True)
class FamilyPolicy:
    """The answer for one payer and procedure family on a date of service."""

    terms: PayerTerms
    family: str
    frequency: FrequencyLimit | None = None
    repeat: RepeatCriterion | None = None
    prerequisite: PrerequisiteCriteria | None = None
    levels: LevelLimit | None = None
    # The Medicare LCD policy (lcd_citations.toml) the payer's policy follows for the family, and its row for the
    # payer's jurisdiction (None: no number on file there); both None when the payer's policy is not the LCDs.
    lcd_policy: str | None = None
    lcd_citation: LcdCitation | None = None
    authorization_required: bool | None = None  # None: not known for this payer
    frequency_limits: tuple[FrequencyLimit, ...] = ()  # every limit of the family (diagnostic, therapeutic rows)

    @property
    def known(self) -> bool:
        return self.terms.known

    @property
    def lcd(self) -> str | None:
        return self.lcd_citation.lcd if self.lcd_citation else None

    @property
    def article(self) -> str | None:
        return self.lcd_citation.article if self.lcd_citation else None

    @property
    def documents_verify(self) -> bool:
        """The LCD numbers are to verify (or, for an LCD policy, not on file for the payer's jurisdiction)."""
        return self.lcd_citation.verify if self.lcd_citation else self.lcd_policy is not None

    @property
    def source(self) -> str:
        if not self.terms.known:
            return "unknown"
        label = self.terms.policy_label or "payer policy"
        if self.lcd:
            return f"{label} {self.lcd}" + (f" (billing article {self.article})" if self.article else "")
        return label

    @property
    def drug_waste_required(self) -> bool:
        return self.terms.drug_waste_required

    def unknown_text(self, what: str = "coverage policy") -> str:
        """The honest sentence when nothing is on file (never a Medicare rule for another payer type)."""
        who = self.terms.label + (f" ({self.terms.payer_id})" if self.terms.payer_id else "")
        return f"the {what} of this {who} is not on file (no Medicare LCD applies to it): check the plan's own policy"


def _cite(raw: Mapping[str, Any], citations: Citations | None, jurisdiction: str | None, where: str) -> Citation:
    """A rule's citation. `document` names a policy of lcd_citations.toml (its LCD and article for the payer's
    jurisdiction, the same row a letter cites) or is a literal document name (a plan's policy, an NCD)."""
    ref = str(raw.get("document", ""))
    section = str(raw.get("section", ""))
    if not ref or not section:
        raise RuleDataError(f"coverage.toml {where}: a rule needs document and section")
    verify = bool(raw.get("verify", False))
    if citations is None or ref not in citations.titles:
        return Citation(document=ref, section=section, verify=verify)
    row = citations.citation(ref, jurisdiction)
    if row is None:
        return Citation(document="LCD", section=section, title=citations.titles[ref], verify=True,
                        not_on_file=citations.where(jurisdiction))
    return Citation(document=f"LCD {row.lcd}", section=section, article=row.article, title=row.title,
                    verify=verify or row.verify)


def _set(raw: Any, where: str) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise RuleDataError(f"coverage.toml {where}: expected a list of strings")
    return frozenset(raw)


def _in_force(raw: Mapping[str, Any], on: dt.date | None) -> bool:
    start, stop = raw.get("start"), raw.get("stop")
    if on is None:
        return True
    return (start is None or start <= on) and (stop is None or on <= stop)


@dataclass(frozen=True, slots=True)
class CoveragePolicies:
    version: str
    types: dict[str, dict[str, Any]]
    payers: dict[str, dict[str, Any]]
    policies: dict[str, dict[str, Any]]
    citations: Citations | None = None  # the LCD and article numbers per jurisdiction (lcd_citations.toml)
    ladders: Any = None  # AppealRules (ladders per payer type and id), or None
    usually_multi_dose: frozenset[str] = frozenset()
    jz_required_from: dt.date | None = None
    drug_waste_basis: str = ""
    frequency_worded_carcs: frozenset[str] = frozenset()
    _cache: Memo = field(default_factory=lambda: Memo(8192), compare=False, repr=False)  # -> FamilyPolicy
    _terms_cache: Memo = field(default_factory=lambda: Memo(8192), compare=False, repr=False)  # -> PayerTerms
    # The dates where some policy row comes into force or stops (`start`, the day after `stop`), sorted: two dates
    # between the same boundaries read every row the same way, so `policy_for` caches by that stretch, not by day.
    # None: a row holds a start or stop that is not a plain date, and the cache keys by the day itself.
    _boundaries: tuple[dt.date, ...] | None = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        days: set[dt.date] = set()
        for body in self.policies.values():
            for kind in ("frequency", "repeat", "prerequisite", "levels"):
                for row in body.get(kind, []):
                    for value, after in ((row.get("start"), 0), (row.get("stop"), 1)):
                        if value is None:
                            continue
                        if type(value) is not dt.date:
                            object.__setattr__(self, "_boundaries", None)
                            return
                        if value < dt.date.max:
                            days.add(value + dt.timedelta(days=after))
        object.__setattr__(self, "_boundaries", tuple(sorted(days)))

    @classmethod
    def from_table(cls, data: Mapping[str, Any], *, families: Iterable[str] | None = None,
                   ladders: Any = None, citations: Citations | None = None) -> CoveragePolicies:
        known = set(families) if families is not None else None
        types = {name: dict(body) for name, body in data.get("types", {}).items()}
        for required in ("medicare", "medicare_advantage", "medicaid", "commercial", "workers_comp", "other"):
            if required not in types:
                raise RuleDataError(f"coverage.toml: no [types.{required}]")
        policies = {name: dict(body) for name, body in data.get("policies", {}).items()}
        _check_payers({**types, **data.get("payers", {})}, policies, citations, "coverage.toml")
        if known is not None:
            for name, body in policies.items():
                for kind in ("frequency", "repeat", "prerequisite", "levels"):
                    for row in body.get(kind, []):
                        unknown = (_set(row.get("families"), row.get("id", kind))
                                   | _set(row.get("needs_families"), row.get("id", kind))) - known
                        if unknown:
                            raise RuleDataError(f"coverage.toml policies.{name}.{kind} {row.get('id')}: unknown "
                                                f"family {sorted(unknown)[0]!r}")
        drug = data.get("drug_waste", {})
        return cls(version=str(data.get("VERSION", "")), types=types, payers=dict(data.get("payers", {})),
                   policies=policies, citations=citations, ladders=ladders,
                   usually_multi_dose=_set(drug.get("usually_multi_dose"), "drug_waste"),
                   jz_required_from=drug.get("jz_required_from"), drug_waste_basis=str(drug.get("basis", "")),
                   frequency_worded_carcs=_set(data.get("history", {}).get("frequency_worded_carcs"), "history"))

    @classmethod
    def load(cls, files: RuleFiles, families: Iterable[str] | None = None, *, ladders: Any = None) -> CoveragePolicies:
        known = set(families) if families is not None else _families(files)
        return cls.from_table(files.toml("coverage"), families=known, ladders=ladders,
                              citations=Citations.load(files, known))

    # -- lookups ---------------------------------------------------------------------------------------------------

    def terms(self, payer_type: str, payer_id: str | None = None, payer_name: str | None = None) -> PayerTerms:
        """What holds for every family of the payer. The MAC jurisdiction: the payer-id row's `jurisdiction`, else
        (Medicare) what lcd_citations.toml reads from the payer's id or name, as the letters do. Read once per
        payer (the rows are fixed once loaded; a priority score and every denial ask for them)."""
        key = (payer_type, payer_id, payer_name)
        cached = self._terms_cache.get(key)
        if cached is None:
            cached = self._terms_cache.keep(key, self._terms(payer_type, payer_id, payer_name))
        return cached

    def _terms(self, payer_type: str, payer_id: str | None, payer_name: str | None) -> PayerTerms:
        base = self.types.get(payer_type) or self.types["other"]
        row = {**base, **(self.payers.get(payer_id or "", {}) if payer_id else {})}
        policy_id = row.get("policy") or None
        policy = self.policies.get(policy_id) if policy_id else None
        jurisdiction = row.get("jurisdiction")
        if jurisdiction is None and payer_type == "medicare" and self.citations is not None:
            jurisdiction = self.citations.jurisdiction(payer_id, payer_name)
        authorization = row.get("authorization")
        ladder = self.ladders.ladder(payer_type, payer_id or "") if self.ladders is not None else None
        return PayerTerms(
            payer_type=payer_type, payer_id=payer_id, label=str(row.get("label", payer_type)),
            policy_id=policy_id, policy_label=str(policy.get("label")) if policy else None,
            policy_note=row.get("policy_note"), resubmission=str(row.get("resubmission", "corrected_claim")),
            drug_waste_required=row.get("drug_waste") == "required",
            authorization=frozenset(authorization) if isinstance(authorization, list) else None,
            late_appeal=str(row.get("late_appeal", "none")), late_appeal_basis=str(row.get("late_appeal_basis", "")),
            jurisdiction=jurisdiction, ladder=ladder, follows_lcds=bool(policy and policy.get("lcd")))

    def policy_for(self, payer_type: str, payer_id: str | None, family: str | None,
                   on: dt.date | None = None, *, payer_name: str | None = None) -> FamilyPolicy:
        # `on` counts only through the rows in force on it (`_in_force`): the stretch between boundaries is the key
        bounds = self._boundaries
        key = (payer_type, payer_id, payer_name, family,
               on if on is None or bounds is None else bisect.bisect_right(bounds, on))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        terms = self.terms(payer_type, payer_id, payer_name)
        group = self.citations.policy_for(family) if self.citations is not None else None
        authorization = None
        if terms.authorization is not None:
            authorization = bool(family) and (family in terms.authorization or group in terms.authorization)
        policy = self.policies.get(terms.policy_id) if terms.policy_id else None
        if policy is None or not family:
            answer = FamilyPolicy(terms=terms, family=family or "", authorization_required=authorization)
        else:
            # A policy that is the Medicare LCDs (`lcd = true`) cites the MAC's LCD of the family's group.
            lcd_policy = group if terms.follows_lcds else None
            rows = {kind: [r for r in policy.get(kind, []) if family in _set(r.get("families"), kind)
                           and _in_force(r, on)] for kind in ("repeat", "prerequisite", "levels")}
            limits = self.frequency_limits(payer_type, payer_id, family, on, payer_name=payer_name)
            answer = FamilyPolicy(
                terms=terms, family=family,
                frequency=limits[0] if len(limits) == 1 else None,
                repeat=self._repeat(rows["repeat"][0], terms) if rows["repeat"] else None,
                prerequisite=self._prerequisite(rows["prerequisite"][0], terms) if rows["prerequisite"] else None,
                levels=self._levels(rows["levels"][0], terms) if rows["levels"] else None,
                lcd_policy=lcd_policy,
                lcd_citation=(self.citations.citation(lcd_policy, terms.jurisdiction)
                              if lcd_policy is not None and self.citations is not None else None),
                authorization_required=authorization, frequency_limits=limits)
        return self._cache.keep(key, answer)  # one entry per payer, family and stretch of dates

    def frequency_limits(self, payer_type: str, payer_id: str | None, family: str, on: dt.date | None = None, *,
                         payer_name: str | None = None) -> tuple[FrequencyLimit, ...]:
        """Every session limit of the payer's policy for the family (diagnostic and therapeutic rows apart)."""
        terms = self.terms(payer_type, payer_id, payer_name)
        policy = self.policies.get(terms.policy_id) if terms.policy_id else None
        if policy is None:
            return ()
        return tuple(self._frequency(r, terms) for r in policy.get("frequency", [])
                     if family in _set(r.get("families"), "frequency") and _in_force(r, on))

    def all_frequency_limits(self, policy_id: str) -> tuple[FrequencyLimit, ...]:
        policy = self.policies.get(policy_id, {})
        terms = self.terms("medicare")
        return tuple(self._frequency(r, terms) for r in policy.get("frequency", []))

    def _frequency(self, r: Mapping[str, Any], terms: PayerTerms) -> FrequencyLimit:
        where = f"frequency {r.get('id')}"
        try:
            per = str(r.get("per", "region"))
            if per not in ("region", "patient"):
                raise RuleDataError(f"coverage.toml {where}: per must be region or patient")
            return FrequencyLimit(
                id=str(r["id"]), families=_set(r["families"], where), limit=int(r["limit"]),
                window_months=int(r.get("window_months", 12)), per_region=per == "region", label=str(r["label"]),
                cite=_cite(r, self.citations, terms.jurisdiction, where), hard=bool(r.get("hard", True)),
                subtype=r.get("subtype"), note=r.get("note"))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"coverage.toml {where}: missing or invalid {exc}") from None

    def _repeat(self, r: Mapping[str, Any], terms: PayerTerms) -> RepeatCriterion:
        where = f"repeat {r.get('id')}"
        try:
            return RepeatCriterion(
                id=str(r["id"]), families=_set(r["families"], where),
                min_relief_percent=int(r["min_relief_percent"]), min_relief_days=int(r["min_relief_days"]),
                relief_words=str(r["relief_words"]), same_site=r.get("same", "site") == "site",
                cite=_cite(r, self.citations, terms.jurisdiction, where),
                window_months=int(r["window_months"]) if "window_months" in r else None,
                duration_verify=bool(r.get("duration_verify", False)),
                function_counts=bool(r.get("function_counts", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"coverage.toml {where}: missing or invalid {exc}") from None

    def _prerequisite(self, r: Mapping[str, Any], terms: PayerTerms) -> PrerequisiteCriteria:
        where = f"prerequisite {r.get('id')}"
        try:
            return PrerequisiteCriteria(
                id=str(r["id"]), families=_set(r["families"], where),
                needs_families=_set(r["needs_families"], where), needs_count=int(r["needs_count"]),
                cite=_cite(r, self.citations, terms.jurisdiction, where),
                min_relief_percent=int(r["min_relief_percent"]) if "min_relief_percent" in r else None,
                diagnostic_only=bool(r.get("diagnostic_only", False)), same_site=bool(r.get("same_site", False)))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"coverage.toml {where}: missing or invalid {exc}") from None

    def _levels(self, r: Mapping[str, Any], terms: PayerTerms) -> LevelLimit:
        where = f"levels {r.get('id')}"
        try:
            return LevelLimit(id=str(r["id"]), families=_set(r["families"], where), limit=int(r["limit"]),
                              cite=_cite(r, self.citations, terms.jurisdiction, where))
        except (KeyError, TypeError, ValueError) as exc:
            raise RuleDataError(f"coverage.toml {where}: missing or invalid {exc}") from None

    def with_payers(self, payers: Mapping[str, Mapping[str, Any]]) -> CoveragePolicies:
        """The same policies with more payer-id rows (a clinic's knowledge of its plans)."""
        merged = {**self.payers, **{k: dict(v) for k, v in payers.items()}}
        _check_payers(payers, self.policies, self.citations, "coverage payers")
        return CoveragePolicies(version=self.version, types=self.types, payers=merged, policies=self.policies,
                                citations=self.citations, ladders=self.ladders,
                                usually_multi_dose=self.usually_multi_dose,
                                jz_required_from=self.jz_required_from, drug_waste_basis=self.drug_waste_basis,
                                frequency_worded_carcs=self.frequency_worded_carcs)


def _check_payers(rows: Mapping[str, Mapping[str, Any]], policies: Mapping[str, Any], citations: Citations | None,
                  where: str) -> None:
    """A payer type or payer-id row names a policy on file and, if any, a jurisdiction lcd_citations.toml knows."""
    for name, body in rows.items():
        policy = body.get("policy")
        if policy and policy not in policies:
            raise RuleDataError(f"{where} [{name}]: unknown policy {policy!r}")
        jurisdiction = body.get("jurisdiction")
        if jurisdiction is not None and citations is not None and jurisdiction not in citations.jurisdictions:
            raise RuleDataError(f"{where} [{name}]: unknown jurisdiction {jurisdiction!r}")


def _families(files: RuleFiles) -> set[str]:
    return set(files.toml("pain_rules").get("families", {}))


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> CoveragePolicies:
    files = RuleFiles(root)
    return CoveragePolicies.load(files, _families(files), ladders=load_appeal_rules(root))


def load_coverage(data_dir: Path | str | None = None) -> CoveragePolicies:
    """The packaged coverage policies (or another directory's), read once."""
    return _load(Path(data_dir) if data_dir is not None else rules_root())


def policy_for(payer_type: str, payer_id: str | None, family: str | None, on: dt.date | None = None, *,
               payer_name: str | None = None) -> FamilyPolicy:
    """The coverage policy of the packaged data for one payer and procedure family on a date of service."""
    return load_coverage().policy_for(payer_type, payer_id, family, on, payer_name=payer_name)


def payer_terms(payer_type: str, payer_id: str | None = None) -> PayerTerms:
    return load_coverage().terms(payer_type, payer_id)


__all__ = ["Citation", "CoveragePolicies", "FamilyPolicy", "FrequencyLimit", "LevelLimit", "PayerTerms",
           "PrerequisiteCriteria", "RepeatCriterion", "load_coverage", "payer_terms", "policy_for"]
