"""Which Medicare LCD and billing article a letter cites: the payer's MAC jurisdiction (from its id or name) and the
row of `lcd_citations.toml` for that jurisdiction and the procedure's policy. Unknown stays unknown: the caller
writes a blank for the sender, never a guess."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from service.domain.ruledata import RuleDataError, RuleFiles

FILE = "lcd_citations.toml"
_LCD = re.compile(r"^L\d{5}$")
_ARTICLE = re.compile(r"^A\d{5}$")


@dataclass(frozen=True, slots=True)
class Citation:
    policy: str  # facet | esi
    title: str  # the LCD's title
    jurisdiction: str  # JH
    contractor: str  # "Novitas Solutions (jurisdiction JH)"
    lcd: str  # L34892
    article: str | None  # A56670 (None: not known)
    verify: bool

    def words(self) -> str:
        """How the letter names it: "LCD L34892 (Facet Joint Interventions for Pain Management) and its billing
        and coding article A56670, Novitas Solutions (jurisdiction JH)"."""
        article = (f" and its billing and coding article {self.article}" if self.article
                   else " and its billing and coding article [to complete: the article number]")
        return f"LCD {self.lcd} ({self.title}){article}, {self.contractor}"


@dataclass(frozen=True, slots=True)
class _Pattern:
    field: str  # id | name
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Citations:
    version: str
    patterns: tuple[_Pattern, ...]
    payer_ids: dict[str, str]
    jurisdictions: dict[str, str]  # code -> contractor words
    titles: dict[str, str]  # policy -> LCD title
    policy_of_family: dict[str, str]  # procedure family -> policy
    rows: dict[tuple[str, str], Citation]  # (policy, jurisdiction) -> citation

    @classmethod
    def load(cls, files: RuleFiles, known_families: frozenset[str]) -> Citations:
        try:
            data = tomllib.loads(files.text(FILE))
        except tomllib.TOMLDecodeError as exc:
            raise RuleDataError(f"{FILE}: {exc}") from None
        version = data.get("VERSION")
        if not isinstance(version, str) or not version:
            raise RuleDataError(f"{FILE}: VERSION is missing")
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
                policy_of_family[family] = key
        rows: dict[tuple[str, str], Citation] = {}
        for i, raw in enumerate(data.get("lcd", []), start=1):
            where = f"lcd #{i}"
            policy, lcd, article = raw.get("policy"), raw.get("lcd"), raw.get("article")
            if policy not in titles:
                raise RuleDataError(f"{FILE} [{where}]: unknown policy {policy!r}")
            if not isinstance(lcd, str) or not _LCD.match(lcd):
                raise RuleDataError(f"{FILE} [{where}]: lcd must look like L12345")
            if article is not None and (not isinstance(article, str) or not _ARTICLE.match(article)):
                raise RuleDataError(f"{FILE} [{where}]: article must look like A12345")
            if not isinstance(raw.get("verify"), bool):
                raise RuleDataError(f"{FILE} [{where}]: verify (true or false) is required")
            for code in raw.get("jurisdictions", ()):
                if code not in jurisdictions:
                    raise RuleDataError(f"{FILE} [{where}]: unknown jurisdiction {code!r}")
                if (policy, code) in rows:
                    raise RuleDataError(f"{FILE} [{where}]: a second row for {policy} in {code}")
                rows[(policy, code)] = Citation(policy=policy, title=titles[policy], jurisdiction=code,
                                                contractor=jurisdictions[code], lcd=lcd, article=article,
                                                verify=raw["verify"])
        return cls(version=version, patterns=tuple(patterns), payer_ids=payer_ids, jurisdictions=jurisdictions,
                   titles=titles, policy_of_family=policy_of_family, rows=rows)

    def jurisdiction(self, payer_id: str, payer_name: str | None) -> str | None:
        """The payer's MAC jurisdiction code, or None when neither its id nor its name says."""
        if payer_id in self.payer_ids:
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

    def citation(self, policy: str, jurisdiction: str | None) -> Citation | None:
        return self.rows.get((policy, jurisdiction)) if jurisdiction else None
