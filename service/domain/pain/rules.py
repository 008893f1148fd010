"""The pain-management rule data (`pain_rules.toml`) as typed values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.domain.pain.families import ProcedureCatalog
from service.domain.policy import CoveragePolicies, FrequencyLimit
from service.domain.ruledata import RuleDataError, RuleFiles


@dataclass(frozen=True, slots=True)
class FamilyRule:
    name: str
    label: str
    subtype_rule: str | None = None  # kx_or_first_two | first_two | fixed
    first_two_reset_by: tuple[str, ...] = ()


# A session limit is payer policy (`service.domain.policy.FrequencyLimit`); the name is kept for the readers of
# `PainRules.frequency`, which holds the Medicare LCD limits.
FrequencyRule = FrequencyLimit


@dataclass(frozen=True, slots=True)
class PrerequisiteRule:
    id: str
    families: frozenset[str]
    needs_families: frozenset[str]
    needs_count: int
    per_region: bool
    missing: str
    checklist: str
    checklist_id: str
    ref: str
    with_families_same_date: frozenset[str] = frozenset()
    needs_without_families_same_date: frozenset[str] = frozenset()
    satisfied_by_families: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class NcciPair:
    id: str
    column1: frozenset[str]
    column2: frozenset[str]
    indicator: int
    bypass: tuple[str, ...]
    same_region: bool
    why: str
    ref: str


@dataclass(frozen=True, slots=True)
class ModifierRules:
    laterality: tuple[str, ...]
    bilateral: str
    distinct: tuple[str, ...]
    repeat: tuple[str, ...]
    abn_on_file: str
    no_abn: str
    statutory_exclusion: str
    kx_families: frozenset[str]
    kx_subtype: str
    kx_payer_types: frozenset[str]
    drug_families: frozenset[str]
    jz_required_from: dt.date
    multi_dose_codes: frozenset[str] = frozenset()  # usually from multi-dose vials: JW/JZ cannot be told


def _set(value: Any, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleDataError(f"pain_rules.toml {where}: expected a list of strings")
    return frozenset(value)


@dataclass(frozen=True, slots=True)
class PainRules:
    catalog: ProcedureCatalog
    families: dict[str, FamilyRule]
    frequency: tuple[FrequencyRule, ...]  # the Medicare LCD limits; a payer's own come from policy_for()
    prerequisites: tuple[PrerequisiteRule, ...]
    ncci: tuple[NcciPair, ...]
    modifiers: ModifierRules

    @classmethod
    def load(cls, files: RuleFiles) -> PainRules:
        data = files.toml("pain_rules")
        families_raw = data.get("families", {})
        catalog = ProcedureCatalog.from_rows(files.rows("procedures"), families_raw)
        families = {
            name: FamilyRule(name=name, label=body.get("label", name), subtype_rule=body.get("subtype_rule"),
                             first_two_reset_by=tuple(body.get("first_two_reset_by", ())))
            for name, body in families_raw.items()
        }

        def known(names: frozenset[str], where: str) -> frozenset[str]:
            unknown = sorted(names - families.keys())
            if unknown:
                raise RuleDataError(f"pain_rules.toml {where}: unknown family {unknown[0]!r}")
            return names

        try:
            coverage = CoveragePolicies.load(files, families)
            frequency = coverage.all_frequency_limits("medicare_lcd")
            prerequisites = tuple(
                PrerequisiteRule(
                    id=r["id"], families=known(_set(r["families"], r["id"]), r["id"]),
                    needs_families=known(_set(r["needs_families"], r["id"]), r["id"]),
                    needs_count=int(r["needs_count"]), per_region=bool(r.get("per_region")), missing=r["missing"],
                    checklist=r["checklist"], checklist_id=r.get("checklist_id", r["id"]), ref=r["ref"],
                    with_families_same_date=known(_set(r.get("with_families_same_date"), r["id"]), r["id"]),
                    needs_without_families_same_date=known(
                        _set(r.get("needs_without_families_same_date"), r["id"]), r["id"]),
                    satisfied_by_families=known(_set(r.get("satisfied_by_families"), r["id"]), r["id"]),
                )
                for r in data.get("prerequisite", [])
            )
            ncci = []
            for r in data.get("ncci", []):
                column1 = _set(r.get("column1"), r["id"]) | catalog.codes_of(
                    known(_set(r.get("column1_families"), r["id"]), r["id"]))
                column2 = _set(r.get("column2"), r["id"]) | catalog.codes_of(
                    known(_set(r.get("column2_families"), r["id"]), r["id"]))
                ncci.append(NcciPair(id=r["id"], column1=column1, column2=column2, indicator=int(r["indicator"]),
                                     bypass=tuple(r.get("bypass", ())), same_region=bool(r.get("same_region")),
                                     why=r["why"], ref=r["ref"]))
            table = data["modifiers"]  # the modifiers section of the pain rules
            modifiers = ModifierRules(
                laterality=tuple(table["laterality"]), bilateral=table["bilateral"], distinct=tuple(table["distinct"]),
                repeat=tuple(table["repeat"]), abn_on_file=table["abn_on_file"], no_abn=table["no_abn"],
                statutory_exclusion=table["statutory_exclusion"],
                kx_families=known(_set(table["kx"]["families"], "modifiers.kx"), "modifiers.kx"),
                kx_subtype=table["kx"]["subtype"], kx_payer_types=_set(table["kx"]["payer_types"], "modifiers.kx"),
                drug_families=known(_set(table["drug_waste"]["families"], "modifiers.drug_waste"),
                                    "modifiers.drug_waste"),
                jz_required_from=table["drug_waste"]["jz_required_from"],
                multi_dose_codes=coverage.usually_multi_dose,
            )
        except KeyError as exc:
            raise RuleDataError(f"pain_rules.toml: missing key {exc}") from None
        return cls(catalog=catalog, families=families, frequency=frequency, prerequisites=prerequisites,
                   ncci=tuple(ncci), modifiers=modifiers)
