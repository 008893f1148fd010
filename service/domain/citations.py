"""Which Medicare LCD and billing article apply to a procedure: the payer's MAC jurisdiction (from its id or name) and
the row of `lcd_citations.toml` for that jurisdiction and the procedure's policy. The one reader of those numbers:
the classifier's explanations (through `service.domain.policy`) and the letters resolve the jurisdiction and the row
here, so a decision and its letter cite the same documents. Unknown stays unknown: the caller says the number is not
on file (a blank in a letter), never a guess."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.domain.ruledata import RuleDataError, RuleFiles

FILE_KEY = "lcd_citations"
FILE = "lcd_citations.toml"
ANY_JURISDICTION = "*"  # a number seen for the policy without knowing which MAC publishes it
_LCD = re.compile(r"^L\d{5}$")
_ARTICLE = re.compile(r"^A\d{5}$")


@dataclass(frozen=True, slots=True)
class LcdCitation:
    policy: str  # facet | esi | si | tpi
    title: str  # the LCD's title
    lcd: str  # L34892
    article: str | None  # A56670 (None: not known)
    verify: bool
    jurisdiction: str | None = None  # JH; None: a "*" row (not known to be any one MAC's number)
    contractor: str | None = None  # "Novitas Solutions (jurisdiction JH)"

    def words(self) -> str:
        """How a letter names it: "LCD L34892 (Facet Joint Interventions for Pain Management) and its billing and
        coding article A56670, Novitas Solutions (jurisdiction JH)"."""
        article = (f" and its billing and coding article {self.article}" if self.article
                   else " and its billing and coding article [to complete: the article number]")
        return f"LCD {self.lcd} ({self.title}){article}" + (f", {self.contractor}" if self.contractor else "")


@dataclass(frozen=True, slots=True)
class _Pattern:
    field: str  # id | name
    regex: re.Pattern[str]


def _patterns(data: dict[str, Any]) -> tuple[_Pattern, ...]:
    patterns = []
    for i, raw in enumerate(data.get("payer_pattern", []), start=1):
        field = raw.get("field")
        if field not in ("id", "name"):
            raise RuleDataError(f"{FILE} [payer_pattern #{i}]: field must be id or name")
        try:
            regex = re.compile(str(raw.get("pattern", "")))
        except re.error as exc:
            raise RuleDataError(f"{FILE} [payer_pattern #{i}]: bad pattern ({exc})") from None
        if "j" not in regex.groupindex:
            raise RuleDataError(f"{FILE} [payer_pattern #{i}]: the pattern needs a (?P<j>...) group")
        patterns.append(_Pattern(field, regex))
    return tuple(patterns)


def _row(raw: dict[str, Any], where: str, titles: dict[str, str]) -> tuple[str, str, str | None, bool]:
    policy, lcd, article, verify = raw.get("policy"), raw.get("lcd"), raw.get("article"), raw.get("verify")
    if policy not in titles:
        raise RuleDataError(f"{FILE} [{where}]: unknown policy {policy!r}")
    if not isinstance(lcd, str) or not _LCD.match(lcd):
        raise RuleDataError(f"{FILE} [{where}]: lcd must look like L12345")
    if article is not None and (not isinstance(article, str) or not _ARTICLE.match(article)):
        raise RuleDataError(f"{FILE} [{where}]: article must look like A12345")
    if not isinstance(verify, bool):
        raise RuleDataError(f"{FILE} [{where}]: verify (true or false) is required")
    return policy, lcd, article, verify


@dataclass(frozen=True, slots=True)
class Citations:
    version: str
    patterns: tuple[_Pattern, ...]
    payer_ids: dict[str, str]
    jurisdictions: dict[str, str]  # code -> contractor words
    titles: dict[str, str]  # policy -> LCD title
    policy_of_family: dict[str, str]  # procedure family -> policy
    rows: dict[tuple[str, str], LcdCitation]  # (policy, jurisdiction or "*") -> citation

    @classmethod
    def load(cls, files: RuleFiles, known_families: frozenset[str] | set[str]) -> Citations:
        data = files.toml(FILE_KEY)
        version = data.get("VERSION")
        if not isinstance(version, str) or not version:
            raise RuleDataError(f"{FILE}: VERSION is missing")
        jurisdictions = {str(k): str(v) for k, v in data.get("jurisdiction", {}).items()}
        payer_ids = {str(k): str(v) for k, v in data.get("payer_ids", {}).items()}
        for payer, code in payer_ids.items():
            if code not in jurisdictions:
                raise RuleDataError(f"{FILE} [payer_ids]: {payer!r} names unknown jurisdiction {code!r}")
        titles: dict[str, str] = {}
        policy_of_family: dict[str, str] = {}
        for key, raw in data.get("policy", {}).items():
            title = raw.get("title")
            if not isinstance(title, str) or not title:
                raise RuleDataError(f"{FILE} [policy.{key}]: title is required")
            titles[key] = title
            for family in raw.get("families", ()):
                if family not in known_families:
                    raise RuleDataError(f"{FILE} [policy.{key}]: unknown procedure family {family!r}")
                if family in policy_of_family:
                    raise RuleDataError(f"{FILE} [policy.{key}]: family {family!r} is already in "
                                        f"[policy.{policy_of_family[family]}]")
                policy_of_family[family] = key
        rows: dict[tuple[str, str], LcdCitation] = {}
        for i, raw in enumerate(data.get("lcd", []), start=1):
            where = f"lcd #{i}"
            policy, lcd, article, verify = _row(raw, where, titles)
            for code in raw.get("jurisdictions", ()):
                if code == ANY_JURISDICTION and not verify:
                    raise RuleDataError(f"{FILE} [{where}]: a \"*\" row is not any one MAC's number: verify = true")
                if code != ANY_JURISDICTION and code not in jurisdictions:
                    raise RuleDataError(f"{FILE} [{where}]: unknown jurisdiction {code!r}")
                if (policy, code) in rows:
                    raise RuleDataError(f"{FILE} [{where}]: a second row for {policy} in {code}")
                attributed = code != ANY_JURISDICTION
                title = raw.get("title", titles[policy])  # a MAC may title its LCD otherwise
                if not isinstance(title, str) or not title:
                    raise RuleDataError(f"{FILE} [{where}]: title must be non-empty text")
                rows[(policy, code)] = LcdCitation(
                    policy=policy, title=title, lcd=lcd, article=article, verify=verify,
                    jurisdiction=code if attributed else None,
                    contractor=jurisdictions[code] if attributed else None)
        return cls(version=version, patterns=_patterns(data), payer_ids=payer_ids, jurisdictions=jurisdictions,
                   titles=titles, policy_of_family=policy_of_family, rows=rows)

    def jurisdiction(self, payer_id: str | None, payer_name: str | None) -> str | None:
        """The payer's MAC jurisdiction code, or None when neither its id nor its name says."""
        if payer_id and payer_id in self.payer_ids:
            return self.payer_ids[payer_id]
        for p in self.patterns:
            value: Any = payer_id if p.field == "id" else payer_name
            match = p.regex.search(value or "")
            if match:
                code = match.group("j").upper()
                code = code if code.startswith("J") else f"J{code}"
                if code in self.jurisdictions:
                    return code
        return None

    def policy_for(self, family: str | None) -> str | None:
        return self.policy_of_family.get(family or "")

    def citation(self, policy: str, jurisdiction: str | None) -> LcdCitation | None:
        """The jurisdiction's own row; else the policy's "*" row (a number to verify); else None."""
        own = self.rows.get((policy, jurisdiction)) if jurisdiction else None
        return own or self.rows.get((policy, ANY_JURISDICTION))

    def where(self, jurisdiction: str | None) -> str:
        """The MAC in words: "Novitas Solutions (jurisdiction JH)", or "the claim's MAC" when not known."""
        return self.jurisdictions.get(jurisdiction or "", "the claim's MAC")
