"""The letter data (`letters.toml`) as typed values, with the tables it leans on: code meanings (carc.csv, rarc.csv,
group_codes.csv), procedure families (procedures.csv, pain_rules.toml) and family groups (checklists.toml)."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from typing import Any

from service.domain.checklists import ChecklistBook
from service.domain.classification.codes import CodeTables
from service.domain.pain import PainRules
from service.domain.ruledata import RuleDataError, RuleFiles

FILE = "letters.toml"
# What the composer fills in an argument or reopening template.
PLACEHOLDERS = frozenset({"payer_name", "policy", "auth_sentence", "submission_sentence", "codes", "authority"})


@dataclass(frozen=True, slots=True)
class Level:
    payer_types: frozenset[str]
    number: int
    name: str
    ordinal: str
    reviewer: str
    window: str
    ref: str

    @property
    def title(self) -> str:
        return f"{self.name} ({self.ordinal})"


@dataclass(frozen=True, slots=True)
class Reopening:
    name: str
    reviewer: str
    authority: str
    window: str
    text: str


@dataclass(frozen=True, slots=True)
class Argument:
    heading: str
    text: str
    crosswalk: bool = False
    # the text when no billed procedure has a crosswalk (it must not point at a table the letter does not have)
    text_without_crosswalk: str | None = None

    def text_for(self, with_crosswalk: bool) -> str:
        return self.text if with_crosswalk or self.text_without_crosswalk is None else self.text_without_crosswalk


@dataclass(frozen=True, slots=True)
class CrosswalkSpec:
    """The LCD criteria of one procedure family group; a criterion without text is not part of the group's policy."""

    group: str
    policy_medicare: str
    policy_other: str
    duration_weeks: int | None = None
    duration_text: str | None = None
    conservative_text: str | None = None
    imaging_text: str | None = None
    prior_relief_text: str | None = None
    prior_relief_families: frozenset[str] = frozenset()
    levels_text: str | None = None
    levels: dict[str, int] | None = None
    sessions_text: str | None = None

    def policy(self, payer_type: str) -> str:
        return self.policy_medicare if payer_type == "medicare" else self.policy_other


def _check_template(text: str, where: str) -> str:
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in PLACEHOLDERS:
            raise RuleDataError(f"{FILE} [{where}]: unknown placeholder {{{name}}}")
    return text


def _str(table: dict[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RuleDataError(f"{FILE} [{where}]: {key} must be non-empty text")
    return value


@dataclass(frozen=True, slots=True)
class LetterBook:
    version: str
    levels: tuple[Level, ...]
    reopenings: dict[str, Reopening]  # payer type (or "default") -> request
    arguments: dict[str, Argument]  # category (or "default") -> argument
    crosswalks: dict[str, CrosswalkSpec]  # family group -> criteria
    proper_names: frozenset[str]  # first words that keep their capital inside a sentence
    conservative_care_codes: frozenset[str]
    imaging_codes: frozenset[str]
    codes: CodeTables
    pain: PainRules
    family_groups: dict[str, str]  # family -> group

    @classmethod
    def load(cls, files: RuleFiles | None = None) -> LetterBook:
        files = files or RuleFiles()
        try:
            data = tomllib.loads(files.text(FILE))
        except tomllib.TOMLDecodeError as exc:
            raise RuleDataError(f"{FILE}: {exc}") from None
        version = data.get("VERSION")
        if not isinstance(version, str) or not version:
            raise RuleDataError(f"{FILE}: VERSION is missing")
        levels = []
        for i, raw in enumerate(data.get("level", []), start=1):
            where = f"level #{i}"
            types = raw.get("payer_types")
            number = raw.get("number")
            if not isinstance(types, list) or not types or not isinstance(number, int) or number < 1:
                raise RuleDataError(f"{FILE} [{where}]: payer_types (a list) and number (>= 1) are required")
            levels.append(Level(payer_types=frozenset(types), number=number, name=_str(raw, "name", where),
                                ordinal=_str(raw, "ordinal", where), reviewer=_str(raw, "reviewer", where),
                                window=_str(raw, "window", where), ref=str(raw.get("ref", ""))))
        reopenings = {}
        for key, raw in data.get("reopening", {}).items():
            where = f"reopening.{key}"
            reopenings[key] = Reopening(name=_str(raw, "name", where), reviewer=_str(raw, "reviewer", where),
                                        authority=_str(raw, "authority", where), window=_str(raw, "window", where),
                                        text=_check_template(_str(raw, "text", where), where))
        if "default" not in reopenings:
            raise RuleDataError(f"{FILE}: [reopening.default] is required")
        arguments = {}
        for key, raw in data.get("argument", {}).items():
            where = f"argument.{key}"
            plain = _str(raw, "text_without_crosswalk", where, required=False)
            arguments[key] = Argument(heading=_str(raw, "heading", where),
                                      text=_check_template(_str(raw, "text", where), where),
                                      crosswalk=bool(raw.get("crosswalk", False)),
                                      text_without_crosswalk=_check_template(plain, where) if plain else None)
        if "default" not in arguments:
            raise RuleDataError(f"{FILE}: [argument.default] is required")
        pain = PainRules.load(files)
        crosswalks = {}
        for group, raw in data.get("crosswalk", {}).items():
            where = f"crosswalk.{group}"
            families = frozenset(raw.get("prior_relief_families", ()))
            levels_raw = raw.get("levels")
            unknown = sorted((families | set(levels_raw or {})) - pain.families.keys())
            if unknown:
                raise RuleDataError(f"{FILE} [{where}]: unknown procedure family {unknown[0]!r}")
            if levels_raw is not None and not all(isinstance(v, int) and v >= 1 for v in levels_raw.values()):
                raise RuleDataError(f"{FILE} [{where}]: levels are whole numbers >= 1")
            weeks = raw.get("duration_weeks")
            if weeks is not None and (not isinstance(weeks, int) or weeks < 1):
                raise RuleDataError(f"{FILE} [{where}]: duration_weeks must be a whole number >= 1")
            crosswalks[group] = CrosswalkSpec(
                group=group, policy_medicare=_str(raw, "policy_medicare", where),
                policy_other=_str(raw, "policy_other", where), duration_weeks=weeks,
                duration_text=_str(raw, "duration_text", where, required=weeks is not None),
                conservative_text=_str(raw, "conservative_text", where, required=False),
                imaging_text=_str(raw, "imaging_text", where, required=False),
                prior_relief_text=_str(raw, "prior_relief_text", where, required=bool(families)),
                prior_relief_families=families,
                levels_text=_str(raw, "levels_text", where, required=levels_raw is not None),
                levels=dict(levels_raw) if levels_raw is not None else None,
                sessions_text=_str(raw, "sessions_text", where, required=False))
        evidence = data.get("evidence", {})
        checklists = ChecklistBook.load(files)
        return cls(version=version, levels=tuple(levels), reopenings=reopenings, arguments=arguments,
                   crosswalks=crosswalks, proper_names=frozenset(data.get("proper_names", ())),
                   conservative_care_codes=frozenset(evidence.get("conservative_care_codes", ())),
                   imaging_codes=frozenset(evidence.get("imaging_codes", ())),
                   codes=CodeTables.load(files), pain=pain, family_groups=checklists.family_groups)

    # -- lookups ---------------------------------------------------------------------------------------------------

    def level(self, payer_type: str, number: int) -> tuple[Level | None, bool]:
        """The level for this payer type and number, and whether the number is past the last level listed (then
        the last level is returned)."""
        mine = sorted((lv for lv in self.levels if payer_type in lv.payer_types), key=lambda lv: lv.number)
        if not mine:
            return None, False
        for lv in mine:
            if lv.number == number:
                return lv, False
        return mine[-1], number > mine[-1].number

    def reopening(self, payer_type: str) -> Reopening:
        return self.reopenings.get(payer_type, self.reopenings["default"])

    def argument(self, category: str) -> Argument:
        return self.arguments.get(category, self.arguments["default"])

    def crosswalk_for(self, code: str | None) -> CrosswalkSpec | None:
        family = self.pain.catalog.family(code)
        group = self.family_groups.get(family or "")
        return self.crosswalks.get(group or "")
