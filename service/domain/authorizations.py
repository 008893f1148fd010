"""The authorization register: the prior authorizations a practice obtained, as plain values, and whether one covers
a billed line.

A row authorizes one procedure code or one procedure family (or a group of families: `esi`, `facet`, `rfa`, `si`,
`scs`) for one payer and member, on one side or any, for a number of levels per session and units per date, between
two dates (inclusive). The member id is PHI: the register keeps only a keyed digest of it (the service layer computes
it), so rows here carry the digest and never the id.

`parse_authorizations_csv` validates an import file (header `payer,member,auth_number,cpt_or_family,side,levels,
units,valid_from,valid_to`) and names the line and column of every problem without echoing a value; `covering`
answers "which authorization on file covers this line" and `why_not` says what an authorization on file fails.
Pure: no I/O.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from service.domain.import_files import ImportFileError
from service.domain.ruledata import RuleDataError

SIDES = ("left", "right", "bilateral")
_MODIFIER_SIDES = {"RT": frozenset({"right"}), "LT": frozenset({"left"}), "50": frozenset({"left", "right"})}
_SIDE_SETS = {"left": frozenset({"left"}), "right": frozenset({"right"}), "bilateral": frozenset({"left", "right"})}
AUTH_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
SCOPE = re.compile(r"^[A-Za-z0-9_]{2,40}$")
CODE = re.compile(r"^(?:[0-9]{4}[0-9FTU]|[A-V][0-9]{4})$")  # CPT (incl. cat II/III) or HCPCS level II
PAYER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,63}$")
COLUMNS = ("payer", "member", "auth_number", "cpt_or_family", "side", "levels", "units", "valid_from", "valid_to")
ALIASES = {"auth": "auth_number", "authorization": "auth_number", "authorization_number": "auth_number",
           "cpt": "cpt_or_family", "code": "cpt_or_family", "family": "cpt_or_family", "member_id": "member",
           "payer_id": "payer", "from": "valid_from", "to": "valid_to"}
REQUIRED = ("payer", "member", "auth_number", "cpt_or_family", "valid_from", "valid_to")
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Authorization:
    """One authorization on file. `scope` is a procedure code (64483), a family (facet_rfa) or a family group (esi);
    `side` None: any side; `levels` / `units` None: not limited."""

    payer_id: str
    member_digest: str
    auth_number: str
    scope: str
    valid_from: dt.date
    valid_to: dt.date
    side: str | None = None
    levels: int | None = None
    units: int | None = None

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def describe(self) -> str:
        limits = [f"{self.side} side" if self.side and self.side != "bilateral" else self.side or "",
                  f"{self.levels} level{'s' if self.levels != 1 else ''}" if self.levels else "",
                  f"{self.units} unit{'s' if self.units != 1 else ''}" if self.units else ""]
        extra = ", ".join(x for x in limits if x)
        return (f"authorization {self.auth_number} for {self.scope}{f' ({extra})' if extra else ''}, valid "
                f"{self.valid_from.isoformat()} to {self.valid_to.isoformat()}")


@dataclass(frozen=True, slots=True)
class BilledService:
    """What the register is asked about: one line as billed (code, its family and groups, side, levels that session,
    units that date)."""

    payer_id: str
    code: str
    scopes: frozenset[str]  # the code, its family and the family's groups
    service_date: dt.date
    sides: frozenset[str] | None  # None: the side is not known
    levels: int | None  # levels of the family billed that session (None: not known)
    units: int


def sides_of(modifiers: Iterable[str], documented: str | None = None) -> frozenset[str] | None:
    """The sides a line treats: what the platform documented, else RT/LT/50; None when neither says."""
    if documented in _SIDE_SETS:
        return _SIDE_SETS[documented]
    found: set[str] = set()
    for modifier in modifiers:
        found |= _MODIFIER_SIDES.get(modifier, frozenset())
    return frozenset(found) or None


def why_not(auth: Authorization, service: BilledService) -> str | None:
    """None when `auth` covers the service; otherwise what it fails, in words (no member data)."""
    if auth.payer_id != service.payer_id:
        return f"it was issued by payer {auth.payer_id}"
    if auth.scope.upper() not in {s.upper() for s in service.scopes}:
        return f"it covers {auth.scope}, not {service.code}"
    if not auth.in_force(service.service_date):
        return (f"it is valid {auth.valid_from.isoformat()} to {auth.valid_to.isoformat()}, not on "
                f"{service.service_date.isoformat()}")
    if auth.side and auth.side != "bilateral" and service.sides and not service.sides <= _SIDE_SETS[auth.side]:
        return f"it covers the {auth.side} side only"
    if auth.levels is not None and service.levels is not None and service.levels > auth.levels:
        return f"it covers {auth.levels} level{'s' if auth.levels != 1 else ''}, {service.levels} were billed"
    if auth.units is not None and service.units > auth.units:
        return f"it covers {auth.units} unit{'s' if auth.units != 1 else ''}, {service.units} were billed"
    return None


def covering(auths: Iterable[Authorization], service: BilledService) -> Authorization | None:
    """The authorization on file that covers the service (the one valid longest, then by number), if any."""
    found = [a for a in auths if why_not(a, service) is None]
    return max(found, key=lambda a: (a.valid_to, a.auth_number)) if found else None


def family_groups(check_rules: Mapping[str, Any], families: Iterable[str]) -> dict[str, frozenset[str]]:
    """The family groups an authorization may name (check_rules.toml [groups]: esi, facet, rfa ...)."""
    known = set(families)
    groups = {}
    for name, members in check_rules.get("groups", {}).items():
        if not isinstance(members, list) or not set(members) <= known:
            raise RuleDataError(f"check_rules.toml groups.{name}: expected a list of family names")
        groups[str(name)] = frozenset(members)
    return groups


# -- the import file ------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AuthorizationRow:
    """One row of an import file with the member id still in clear (the service layer digests it at once)."""

    line: int
    payer_id: str
    member_id: str
    auth_number: str
    scope: str
    valid_from: dt.date
    valid_to: dt.date
    side: str | None
    levels: int | None
    units: int | None

    def digested(self, digest: Callable[[str], str]) -> Authorization:
        return Authorization(payer_id=self.payer_id, member_digest=digest(self.member_id),
                             auth_number=self.auth_number, scope=self.scope, valid_from=self.valid_from,
                             valid_to=self.valid_to, side=self.side, levels=self.levels, units=self.units)


class AuthorizationFileError(ImportFileError):
    """An authorization file that cannot be used as a whole; `problems` name the line and column of each (never a
    value)."""


def normalize_member(member_id: str) -> str:
    """The form a member id is digested in: what the card and the claim write differently (case, blanks, dashes)
    does not make two people."""
    return re.sub(r"[\s-]", "", member_id).upper()


def _date(text: str, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"column {column}: not a date (write YYYY-MM-DD)") from None


def _count(text: str, column: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 999:
        raise ValueError(f"column {column}: expected a whole number from 1 to 999")
    return int(text)


def normalize_scope(scope: str) -> str:
    """A procedure code in upper case (64483, G0260), a family or group name in lower case (facet_rfa, esi)."""
    scope = scope.strip()
    return scope.upper() if CODE.match(scope.upper()) else scope.lower()


def check_fields(*, payer: str, member: str, auth_number: str, scope: str, side: str | None, valid_from: dt.date,
                 valid_to: dt.date, known_scopes: Callable[[str], bool]) -> None:
    """The checks every authorization passes, from a file or the API: ValueError naming the field, never the value."""
    if not PAYER.match(payer):
        raise ValueError("payer: expected the payer id as on the claims (letters, digits, '.', '_', '-', space)")
    if not member.strip() or len(member) > 64:
        raise ValueError("member: expected the member id (1 to 64 characters)")
    if not AUTH_NUMBER.match(auth_number):
        raise ValueError("auth_number: expected letters, digits, '.', '_', '/' or '-' (at most 64 characters)")
    if not SCOPE.match(scope) or not known_scopes(scope):
        raise ValueError("cpt_or_family: expected a procedure code, a procedure family or a family group")
    if side is not None and side not in SIDES:
        raise ValueError("side: expected left, right, bilateral or empty")
    if valid_to < valid_from:
        raise ValueError("valid_to: before valid_from")


def parse_authorizations_csv(text: str, *, source: str, known_scopes: Callable[[str], bool]) -> list[AuthorizationRow]:
    """Every row of the file, or AuthorizationFileError naming each problem by line and column (all or nothing)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise AuthorizationFileError(source, ["the file is empty: expected a header line "
                                              f"({','.join(COLUMNS)})"])
    names = [ALIASES.get(h.strip().lower(), h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise AuthorizationFileError(source, [f"line 1: the header has no column {', '.join(missing)} "
                                              f"(expected {','.join(COLUMNS)})"])
    problems: list[str] = []
    rows: list[AuthorizationRow] = []
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) + len(problems) >= MAX_ROWS:
            problems.append(f"line {number}: more than {MAX_ROWS} rows: split the file")
            break
        if len(cells) != len(names):
            problems.append(f"line {number}: {len(cells)} columns where the header has {len(names)}")
            continue
        value = {name: cell.strip() for name, cell in zip(names, cells, strict=True)}
        try:
            side = value.get("side", "").lower() or None
            scope = normalize_scope(value["cpt_or_family"])
            row = AuthorizationRow(
                line=number, payer_id=value["payer"], member_id=value["member"], auth_number=value["auth_number"],
                scope=scope, valid_from=_date(value["valid_from"], "valid_from"),
                valid_to=_date(value["valid_to"], "valid_to"), side=side,
                levels=_count(value.get("levels", ""), "levels"), units=_count(value.get("units", ""), "units"))
            check_fields(payer=row.payer_id, member=row.member_id, auth_number=row.auth_number, scope=row.scope,
                         side=row.side, valid_from=row.valid_from, valid_to=row.valid_to,
                         known_scopes=known_scopes)
        except ValueError as exc:
            reason = str(exc)
            problems.append(f"line {number}: {reason if reason.startswith('column') else 'column ' + reason}")
            continue
        rows.append(row)
    if problems:
        raise AuthorizationFileError(source, problems)
    if not rows:
        raise AuthorizationFileError(source, ["no authorization rows below the header"])
    return rows


__all__ = ["Authorization", "AuthorizationFileError", "AuthorizationRow", "BilledService", "COLUMNS", "check_fields",
           "covering", "family_groups", "normalize_member", "normalize_scope", "parse_authorizations_csv", "sides_of",
           "why_not"]
