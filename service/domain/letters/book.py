"""The letter data (`letters.toml`) as typed values, with the tables it leans on: code meanings (carc.csv, rarc.csv,
group_codes.csv), procedure families (procedures.csv, pain_rules.toml), family groups (checklists.toml), the filing
windows (payer_policies.toml) and the payer's coverage policy with its appeal ladder and its LCD and article numbers
(coverage.toml, appeal_levels.toml, lcd_citations.toml through `service.domain.policy`: the same answers the
classifier's decisions rest on)."""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.domain.appeals import AppealLevel, AppealRules, Ladder, rules_from_texts
from service.domain.checklists import ChecklistBook
from service.domain.citations import Citations
from service.domain.classification.codes import CodeTables
from service.domain.clocks import Clocks, HolidayCalendar
from service.domain.letters.facts import ClaimFactsForLetter
from service.domain.model import Payer
from service.domain.pain import PainRules
from service.domain.policy import CoveragePolicies, FamilyPolicy
from service.domain.ruledata import RuleDataError, RuleFiles

FILE = "letters.toml"
# What the composer fills in an argument or reopening template.
PLACEHOLDERS = frozenset({"payer_name", "policy", "auth_sentence", "submission_sentence", "codes", "authority",
                          "auth_on_file", "modifier_sentence", "other_payer", "eligibility_date"})
# What an argument may stand on (facts the store holds) and assert (claims the composer checks against the facts).
FACTS = frozenset({"first_submitted", "prior_authorization", "service_date", "diagnoses", "authorization_on_file",
                   "eligibility_response", "other_payer_remittance"})
CLAIMS = frozenset({"filed_on_time", "within_limits", "medically_necessary", "authorized"})
# What a missing need recommends instead of a letter (the 409's code is `<recommendation>_recommended`).
RECOMMENDATIONS = frozenset({"write_off", "verify_eligibility", "rebill_other_payer"})
LATE_PLACEHOLDERS = frozenset({"deadline", "authority", "reviewer", "reason"})


@dataclass(frozen=True, slots=True)
class Level:
    payer_types: frozenset[str]
    number: int
    name: str
    ordinal: str
    reviewer: str
    window: str
    ref: str
    ladder: str | None = None  # the name of the appeal_levels.toml level it words (None: the payer type has none)
    late_authority: str | None = None  # where its window may be extended for good cause (42 CFR 405.942(b))

    @property
    def title(self) -> str:
        return f"{self.name} ({self.ordinal})"

    @classmethod
    def of_ladder(cls, payer_type: str, level: AppealLevel) -> Level:
        """The words for a ladder level the letter data does not word (a payer-id ladder, a later level)."""
        return cls(payer_types=frozenset({payer_type}), number=level.level,
                   name=level.name[:1].upper() + level.name[1:], ordinal=f"level {level.level} of the payer's appeals",
                   reviewer=level.by, window=level.basis, ref="appeal_levels.toml", ladder=level.name)


@dataclass(frozen=True, slots=True)
class Reopening:
    name: str
    reviewer: str
    authority: str
    window: str
    text: str


@dataclass(frozen=True, slots=True)
class Argument:
    key: str
    heading: str
    text: str
    crosswalk: bool = False
    # the text when no billed procedure has a crosswalk (it must not point at a table the letter does not have)
    text_without_crosswalk: str | None = None
    heading_without_crosswalk: str | None = None  # likewise the heading (it must not assert what no table shows)
    # the text and heading when the payer's own policy is not on file (the letter cannot assert its limits)
    text_policy_unknown: str | None = None
    heading_policy_unknown: str | None = None
    needs: tuple[str, ...] = ()  # facts the store must hold
    argues: tuple[str, ...] = ()  # what the letter asserts: each checked against the facts
    otherwise: str | None = None  # the argument to use when a need is missing
    without_facts: str | None = None  # the recommendation when a need is missing (no `otherwise`)
    leaves_out: frozenset[str] = frozenset()  # checklist item ids this argument cannot enclose
    encloses: frozenset[str] | None = None  # the only checklist item ids it encloses (None: every one it can)
    refuse_first: bool = False  # its missing facts refuse the letter whatever the task's route
    modifiers: frozenset[str] = frozenset()  # the modifiers it rests on ({modifier_sentence})
    with_modifiers: str | None = None  # {lines} {modifiers}: the denied lines that carry one
    without_modifiers: str | None = None  # {lines}: those that carry none
    code_sentences: tuple[tuple[str, str], ...] = ()  # (code, sentence) added when the code is denied

    def left_out(self, item_id: str) -> bool:
        """An item of the covered tasks' checklists this argument does not enclose."""
        return item_id in self.leaves_out or (self.encloses is not None and item_id not in self.encloses)

    def text_for(self, with_crosswalk: bool, policy_known: bool = True) -> str:
        return _variant(self.text, self.text_without_crosswalk, self.text_policy_unknown, with_crosswalk,
                        policy_known)

    def heading_for(self, with_crosswalk: bool, policy_known: bool = True) -> str:
        return _variant(self.heading, self.heading_without_crosswalk, self.heading_policy_unknown, with_crosswalk,
                        policy_known)


def _variant(usual: str, without_crosswalk: str | None, policy_unknown: str | None, with_crosswalk: bool,
             policy_known: bool) -> str:
    """Without a crosswalk table the words must not point at one; without the payer's policy they must not assert
    its limits."""
    if not with_crosswalk and without_crosswalk is not None:
        return without_crosswalk
    if not policy_known and policy_unknown is not None:
        return policy_unknown
    return usual


@dataclass(frozen=True, slots=True)
class Reconsideration:
    """A payer type's review of an authorization denial."""

    name: str
    ordinal: str
    reviewer: str
    window: str

    @property
    def title(self) -> str:
        return f"{self.name} ({self.ordinal})"


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    """What a Medicare Advantage letter says of the practice's contract with the plan (`contracted` in
    payer_policies.toml): the Waiver of Liability of a non-contracted provider, the contract's dispute process of a
    contracted one, or both when it is not known."""

    heading: str
    non_contracted: str
    contracted: str
    unknown: str
    waiver: str  # the enclosure
    waiver_unknown: str  # added to the enclosure when the status is not known
    note_unknown: str
    dispute: Reconsideration  # the contracted provider's request: name, reviewer, window


@dataclass(frozen=True, slots=True)
class LateRequest:
    """A request filed after its level's window: the good-cause extension the level's `late_authority` allows."""

    heading: str
    text: str
    reason: str
    enclosure: str


@dataclass(frozen=True, slots=True)
class ActionRefusal:
    """A task whose next step takes no letter whatever its decision says (billing the patient)."""

    code: str
    with_abn: str
    without_abn: str


@dataclass(frozen=True, slots=True)
class FamilyArgument:
    """The argument of a category when every denied line is of these procedure families."""

    category: str
    families: frozenset[str]
    argument: str


@dataclass(frozen=True, slots=True)
class DiagnosisRule:
    """The diagnoses a procedure family's policy covers (ICD-10-CM prefixes), and the ones that are axial pain."""

    families: frozenset[str]
    covered: tuple[str, ...]
    axial: tuple[str, ...]
    condition: str  # "radicular pain or radiculopathy"

    @staticmethod
    def _norm(code: str) -> str:
        return code.replace(".", "").upper()

    def covers(self, code: str) -> bool:
        return any(self._norm(code).startswith(self._norm(p)) for p in self.covered)

    def is_axial(self, code: str) -> bool:
        return any(self._norm(code).startswith(self._norm(p)) for p in self.axial)


@dataclass(frozen=True, slots=True)
class CrosswalkSpec:
    """The LCD criteria of one procedure family group; a criterion without text is not part of the group's policy.
    The limits themselves (levels, sessions, relief) are the payer's policy (`LetterBook.policy_of`)."""

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
    levels_families: frozenset[str] = frozenset()  # families whose levels per session the crosswalk counts
    sessions_text: str | None = None


def _check_levels(levels: Iterable[Level], ladders: AppealRules) -> None:
    """Each worded level names the appeal_levels.toml level of its payer types it words, at the same number."""
    for lv in levels:
        for payer_type in sorted(lv.payer_types):
            ladder = ladders.by_type.get(payer_type)
            if ladder is None:
                continue
            step = ladder.level(lv.number)
            if step is None or lv.ladder != step.name:
                found = step.name if step else "no level"
                raise RuleDataError(f"{FILE} [level {lv.name!r}]: ladder must name {payer_type}'s level {lv.number} "
                                    f"of appeal_levels.toml ({found!r}), not {lv.ladder!r}")


def _check_template(text: str, where: str, known: frozenset[str] = PLACEHOLDERS) -> str:
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in known:
            raise RuleDataError(f"{FILE} [{where}]: unknown placeholder {{{name}}}")
    return text


def _names(raw: dict[str, Any], key: str, known: frozenset[str], where: str) -> tuple[str, ...]:
    values = raw.get(key, [])
    if not isinstance(values, list) or any(v not in known for v in values):
        raise RuleDataError(f"{FILE} [{where}]: {key} must list names among {', '.join(sorted(known))}")
    return tuple(values)


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
    argument_by_reason: dict[str, str]  # CARC -> argument key (before the category)
    reconsiderations: dict[str, Reconsideration]  # payer type -> its review of authorization denials
    no_reconsideration: dict[str, str]  # payer type (or "other") -> why there is none
    recommendations: dict[str, str]  # write_off, corrected_claim, late_filing_exception
    frequency_prevention: dict[str, str]  # payer type (or "default") -> how to prevent the next one
    diagnosis_rules: tuple[DiagnosisRule, ...]
    session_followers: frozenset[str]  # families argued with the procedure session of their date
    policy_unknown: dict[str, str]  # criterion -> the requirement's words when the payer's policy is not on file
    coverage: CoveragePolicies  # the payer's policy, its ladder and its LCD numbers: the classifier's own
    clocks: Clocks
    checklists: ChecklistBook  # where an item applies (an MSP questionnaire: Medicare payer types only)
    argument_by_rule: dict[str, str]  # classifier rule id -> argument key (before the reason)
    argument_for_family: tuple[FamilyArgument, ...]
    provider_status: dict[str, ProviderStatus]  # payer type -> what its letters say of the practice's contract
    late_request: LateRequest | None
    action_refusals: dict[str, ActionRefusal]  # task action -> the refusal

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
                                window=_str(raw, "window", where), ref=str(raw.get("ref", "")),
                                ladder=_str(raw, "ladder", where, required=False),
                                late_authority=_str(raw, "late_authority", where, required=False)))
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
            without = raw.get("without_facts")
            if without is not None and without not in RECOMMENDATIONS:
                raise RuleDataError(f"{FILE} [{where}]: without_facts must be one of {sorted(RECOMMENDATIONS)}")
            unknown_text = _str(raw, "text_policy_unknown", where, required=False)
            encloses = raw.get("encloses")
            sentences = raw.get("code_sentences", {})
            if not isinstance(sentences, dict) or not all(isinstance(v, str) and v for v in sentences.values()):
                raise RuleDataError(f"{FILE} [{where}]: code_sentences maps a code to a sentence")
            with_mods = _str(raw, "with_modifiers", where, required=False)
            without_mods = _str(raw, "without_modifiers", where, required=False)
            modifiers = frozenset(str(m).upper() for m in raw.get("modifiers", ()))
            if bool(modifiers) != bool(with_mods and without_mods):
                raise RuleDataError(f"{FILE} [{where}]: modifiers, with_modifiers and without_modifiers go together")
            arguments[key] = Argument(key=key, heading=_str(raw, "heading", where),
                                      text=_check_template(_str(raw, "text", where), where),
                                      crosswalk=bool(raw.get("crosswalk", False)),
                                      text_without_crosswalk=_check_template(plain, where) if plain else None,
                                      heading_without_crosswalk=_str(raw, "heading_without_crosswalk", where,
                                                                     required=False),
                                      text_policy_unknown=(_check_template(unknown_text, where) if unknown_text
                                                           else None),
                                      heading_policy_unknown=_str(raw, "heading_policy_unknown", where,
                                                                  required=False),
                                      needs=_names(raw, "needs", FACTS, where),
                                      argues=_names(raw, "argues", CLAIMS, where),
                                      otherwise=_str(raw, "otherwise", where, required=False),
                                      without_facts=without, leaves_out=frozenset(raw.get("leaves_out", ())),
                                      encloses=frozenset(encloses) if isinstance(encloses, list) else None,
                                      refuse_first=bool(raw.get("refuse_first", False)), modifiers=modifiers,
                                      with_modifiers=_check_template(with_mods, where, frozenset({"lines",
                                                                                                   "modifiers"}))
                                      if with_mods else None,
                                      without_modifiers=_check_template(without_mods, where, frozenset({"lines"}))
                                      if without_mods else None,
                                      code_sentences=tuple((str(k).upper(), v) for k, v in sentences.items()))
        if "default" not in arguments:
            raise RuleDataError(f"{FILE}: [argument.default] is required")
        for key, argument in arguments.items():
            if argument.otherwise is not None and argument.otherwise not in arguments:
                raise RuleDataError(f"{FILE} [argument.{key}]: otherwise names unknown argument "
                                    f"{argument.otherwise!r}")
        by_reason = {str(k): str(v) for k, v in data.get("argument_by_reason", {}).items()}
        for reason, key in by_reason.items():
            if key not in arguments:
                raise RuleDataError(f"{FILE} [argument_by_reason]: {reason} names unknown argument {key!r}")
        by_rule = {str(k): str(v) for k, v in data.get("argument_by_rule", {}).items()}
        for rule, key in by_rule.items():
            if key not in arguments:
                raise RuleDataError(f"{FILE} [argument_by_rule]: {rule} names unknown argument {key!r}")
        pain = PainRules.load(files)
        for_family = []
        for i, raw in enumerate(data.get("argument_for_family", []), start=1):
            where = f"argument_for_family #{i}"
            families = frozenset(raw.get("families", ()))
            if not families or families - pain.families.keys() or raw.get("argument") not in arguments:
                raise RuleDataError(f"{FILE} [{where}]: families must name known procedure families and argument "
                                    "a known argument")
            for_family.append(FamilyArgument(str(_str(raw, "category", where)), families, str(raw["argument"])))
        crosswalks = {}
        for group, raw in data.get("crosswalk", {}).items():
            where = f"crosswalk.{group}"
            families = frozenset(raw.get("prior_relief_families", ()))
            levels_families = frozenset(raw.get("levels_families", ()))
            unknown = sorted((families | levels_families) - pain.families.keys())
            if unknown:
                raise RuleDataError(f"{FILE} [{where}]: unknown procedure family {unknown[0]!r}")
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
                levels_text=_str(raw, "levels_text", where, required=bool(levels_families)),
                levels_families=levels_families,
                sessions_text=_str(raw, "sessions_text", where, required=False))
        policy_unknown = {k: _str(data.get("policy_unknown", {}), k, "policy_unknown")
                          for k in ("sessions_text", "levels_text", "prior_relief_text", "diagnosis_basis")}
        ladders = rules_from_texts(files.text("appeal_levels.toml"), files.text("provider_adjustments.toml"),
                                   HolidayCalendar.from_rows(files.rows("holidays")))
        coverage = CoveragePolicies.load(files, pain.families, ladders=ladders)
        _check_levels(levels, ladders)
        reconsiderations = {}
        for payer_type, raw in data.get("reconsideration", {}).get("authorization", {}).items():
            where = f"reconsideration.authorization.{payer_type}"
            reconsiderations[payer_type] = Reconsideration(
                name=_str(raw, "name", where), ordinal=_str(raw, "ordinal", where),
                reviewer=_str(raw, "reviewer", where), window=_str(raw, "window", where))
        unavailable = {str(k): str(v) for k, v in data.get("reconsideration", {}).get("unavailable", {}).items()}
        if "other" not in unavailable:
            raise RuleDataError(f"{FILE}: [reconsideration.unavailable] needs an `other` entry")
        recommendation = dict(data.get("recommendation", {}))
        prevention = {str(k): str(v) for k, v in recommendation.pop("frequency_prevention", {}).items()}
        for key in ("write_off", "corrected_claim", "late_filing_exception", *sorted(RECOMMENDATIONS)):
            _str(recommendation, key, "recommendation")
        if "default" not in prevention:
            raise RuleDataError(f"{FILE}: [recommendation.frequency_prevention] needs a `default` entry")
        rules = []
        for key, raw in data.get("diagnoses", {}).items():
            where = f"diagnoses.{key}"
            families = frozenset(raw.get("families", ()))
            unknown = sorted(families - pain.families.keys())
            if unknown or not families:
                raise RuleDataError(f"{FILE} [{where}]: families must name known procedure families")
            rules.append(DiagnosisRule(families=families, covered=tuple(raw.get("covered", ())),
                                       axial=tuple(raw.get("axial", ())),
                                       condition=_str(raw, "condition", where)))
        followers = frozenset(data.get("session_followers", ()))
        if followers - pain.families.keys():
            raise RuleDataError(f"{FILE}: session_followers names unknown families "
                                f"{sorted(followers - pain.families.keys())}")
        evidence = data.get("evidence", {})
        checklists = ChecklistBook.load(files)
        statuses = {}
        for payer_type, raw in data.get("provider_status", {}).items():
            where = f"provider_status.{payer_type}"
            dispute = raw.get("dispute", {})
            statuses[payer_type] = ProviderStatus(
                heading=_str(raw, "heading", where), non_contracted=_check_template(_str(raw, "non_contracted", where),
                                                                                    where),
                contracted=_check_template(_str(raw, "contracted", where), where), unknown=_str(raw, "unknown", where),
                waiver=_str(raw, "waiver", where), waiver_unknown=_str(raw, "waiver_unknown", where),
                note_unknown=_check_template(_str(raw, "note_unknown", where), where),
                dispute=Reconsideration(name=_str(dispute, "name", f"{where}.dispute"),
                                        ordinal=_str(dispute, "ordinal", f"{where}.dispute"),
                                        reviewer=_str(dispute, "reviewer", f"{where}.dispute"),
                                        window=_str(dispute, "window", f"{where}.dispute")))
        late_raw = data.get("late_request")
        late = LateRequest(heading=_str(late_raw, "heading", "late_request"),
                           text=_check_template(_str(late_raw, "text", "late_request"), "late_request",
                                                LATE_PLACEHOLDERS),
                           reason=_str(late_raw, "reason", "late_request"),
                           enclosure=_str(late_raw, "enclosure", "late_request")) if late_raw else None
        refusals = {}
        for action, raw in data.get("no_letter", {}).items():
            where = f"no_letter.{action}"
            refusals[action] = ActionRefusal(
                code=_str(raw, "code", where),
                with_abn=_check_template(_str(raw, "with_abn", where), where, frozenset({"codes"})),
                without_abn=_check_template(_str(raw, "without_abn", where), where, frozenset({"codes"})))
        return cls(version=version, levels=tuple(levels), reopenings=reopenings, arguments=arguments,
                   crosswalks=crosswalks, proper_names=frozenset(data.get("proper_names", ())),
                   conservative_care_codes=frozenset(evidence.get("conservative_care_codes", ())),
                   imaging_codes=frozenset(evidence.get("imaging_codes", ())),
                   codes=CodeTables.load(files), pain=pain, family_groups=checklists.family_groups,
                   argument_by_reason=by_reason, reconsiderations=reconsiderations, no_reconsideration=unavailable,
                   recommendations={k: str(v) for k, v in recommendation.items()},
                   frequency_prevention=prevention, diagnosis_rules=tuple(rules), session_followers=followers,
                   policy_unknown=policy_unknown, coverage=coverage, clocks=Clocks.load(files),
                   checklists=checklists, argument_by_rule=by_rule, argument_for_family=tuple(for_family),
                   provider_status=statuses, late_request=late, action_refusals=refusals)

    # -- lookups ---------------------------------------------------------------------------------------------------

    @property
    def citations(self) -> Citations:
        assert self.coverage.citations is not None  # CoveragePolicies.load reads them
        return self.coverage.citations

    def policy_of(self, claim: ClaimFactsForLetter, family: str | None, on: dt.date | None) -> FamilyPolicy:
        """The payer's coverage policy for a family on a date: the answer the classifier's decision rests on."""
        return self.coverage.policy_for(claim.payer_type, claim.payer_id, family, on, payer_name=claim.payer_name)

    def level(self, payer_type: str, number: int, ladder: Ladder | None = None) -> tuple[Level | None, bool]:
        """The level for this payer type and number, and whether the letter data does not word it: past the last
        level (then the last one is returned), or a ladder level it has no words for. With the payer's appeal
        ladder (appeal_levels.toml, per payer id where the clinic set one), the ladder decides which level it is and
        the letter data only words it."""
        mine = sorted((lv for lv in self.levels if payer_type in lv.payer_types), key=lambda lv: lv.number)
        if ladder is not None and ladder.levels:
            step = ladder.level(number) or ladder.levels[-1]
            worded = next((lv for lv in mine if lv.number == step.level and lv.ladder == step.name), None)
            if worded is not None:
                return worded, number > ladder.levels[-1].level
            return Level.of_ladder(payer_type, step), True
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

    def argument_for(self, category: str, reasons: Iterable[str], rules: Iterable[str] = (),
                     families: Iterable[str | None] = ()) -> Argument:
        """The argument for a task: by the classifier's rules first (an authorization the register held), then its
        denial reasons (a CO-151 is about frequency whatever its category), then the procedure family of every
        denied line (an office visit bundled into an injection), then its category."""
        for rule in rules:
            key = self.argument_by_rule.get(rule)
            if key is not None:
                return self.arguments[key]
        for reason in reasons:
            key = self.argument_by_reason.get(reason)
            if key is not None:
                return self.arguments[key]
        billed = list(families)
        if billed and all(billed):  # every denied line is of a known family
            for choice in self.argument_for_family:
                if choice.category == category and set(billed) <= choice.families:
                    return self.arguments[choice.argument]
        return self.argument(category)

    def contracted(self, claim: ClaimFactsForLetter) -> bool | None:
        """Whether the practice is contracted with the claim's payer (payer_policies.toml; None: not known)."""
        payer = Payer(id=claim.payer_id, type=claim.payer_type, name=claim.payer_name)  # type: ignore[arg-type]
        return self.clocks.policies.for_payer(payer).contracted

    def reconsideration(self, payer_type: str) -> Reconsideration | None:
        return self.reconsiderations.get(payer_type)

    def why_no_reconsideration(self, payer_type: str) -> str:
        return self.no_reconsideration.get(payer_type, self.no_reconsideration["other"])

    def prevention(self, payer_type: str) -> str:
        return self.frequency_prevention.get(payer_type, self.frequency_prevention["default"])

    def diagnosis_rule(self, family: str | None) -> DiagnosisRule | None:
        return next((r for r in self.diagnosis_rules if family in r.families), None)

    def crosswalk_for(self, code: str | None) -> CrosswalkSpec | None:
        family = self.pain.catalog.family(code)
        group = self.family_groups.get(family or "")
        return self.crosswalks.get(group or "")
