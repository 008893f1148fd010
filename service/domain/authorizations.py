"""The authorization register: the prior authorizations a practice obtained, as plain values, and whether one covers
a billed line.

A row authorizes one procedure code or one procedure family (or a group of families: `esi`, `facet`, `rfa`, `si`,
`scs`), or one service kind a payer authorizes on its own although it shares codes with another (`scs_trial`,
`scs_implant`: check_rules.toml [authorization.kinds]), for one payer and member, on one side or any, for a number of
levels per session, units per date and sessions in all, between two dates (inclusive). The member id is PHI: the
register keeps only a keyed digest of it (the service layer computes it), so rows here carry the digest and never
the id.

`parse_authorizations_csv` validates an import file (header `payer,member,auth_number,cpt_or_family,side,levels,
units,valid_from,valid_to`, optional `sessions`) and names the line and column of every problem without echoing a
value; `AuthorizationScopes.service` reads a billed line as the register sees it (its code, family, groups, kind);
`covering` answers "which authorization on file covers this line" (after the sessions earlier claims used) and
`why_not` says what an authorization on file fails. Pure: no I/O.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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
OPTIONAL_COLUMNS = ("sessions",)
ALIASES = {"auth": "auth_number", "authorization": "auth_number", "authorization_number": "auth_number",
           "cpt": "cpt_or_family", "code": "cpt_or_family", "family": "cpt_or_family", "member_id": "member",
           "payer_id": "payer", "from": "valid_from", "to": "valid_to"}
REQUIRED = ("payer", "member", "auth_number", "cpt_or_family", "valid_from", "valid_to")
MAX_ROWS = 100_000


@dataclass(frozen=True, slots=True)
class Authorization:
    """One authorization on file. `scope` is a procedure code (64483), a family (facet_rfa), a family group (esi) or a
    service kind (scs_trial); `side` None: any side; `levels` / `units` / `sessions` None: not limited. `valid_from`
    is the first day it may be used (the day the payer issued it, or a later start it names)."""

    payer_id: str
    member_digest: str
    auth_number: str
    scope: str
    valid_from: dt.date
    valid_to: dt.date
    side: str | None = None
    levels: int | None = None
    units: int | None = None
    sessions: int | None = None

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def describe(self) -> str:
        limits = [f"{self.side} side" if self.side and self.side != "bilateral" else self.side or "",
                  f"{self.levels} level{'s' if self.levels != 1 else ''}" if self.levels else "",
                  f"{self.units} unit{'s' if self.units != 1 else ''}" if self.units else "",
                  f"{self.sessions} session{'s' if self.sessions != 1 else ''}" if self.sessions else ""]
        extra = ", ".join(x for x in limits if x)
        return (f"authorization {self.auth_number} for {self.scope}{f' ({extra})' if extra else ''}, valid "
                f"{self.valid_from.isoformat()} to {self.valid_to.isoformat()}")


@dataclass(frozen=True, slots=True)
class BilledService:
    """What the register is asked about: one line as billed (code, its family and groups, or the service kind it is
    part of, side, levels that session, units that date)."""

    payer_id: str
    code: str
    scopes: frozenset[str]  # what an authorization may name to cover it: the code, family and groups, or its kind
    service_date: dt.date
    sides: frozenset[str] | None  # None: the side is not known
    levels: int | None  # levels of the family billed that session (None: not known)
    units: int
    kind: str | None = None  # the separately authorized service the line is part of (an SCS trial), if any
    claim_id: str | None = None  # the claim it is billed on (its own lines never use up a session)


@dataclass(frozen=True, slots=True)
class ServiceKind:
    """A service a payer authorizes on its own although its codes are shared with another: an SCS trial and the
    permanent implant both bill 63650, told apart by what else is billed that date. A line of such a session is
    covered only by an authorization that names the kind or one of `names`."""

    id: str
    label: str
    families: frozenset[str]  # the families whose lines belong to the kind
    when_same_date: frozenset[str]  # a line of one of these families is billed that date (empty: no condition)
    unless_same_date: frozenset[str]  # and none of these
    names: frozenset[str]  # codes and families an authorization may name to mean this kind

    def applies(self, family: str | None, same_date: Iterable[str | None]) -> bool:
        present = {f for f in same_date if f}
        return (family in self.families and (not self.when_same_date or bool(present & self.when_same_date))
                and not present & self.unless_same_date)


@dataclass(frozen=True, slots=True)
class EarlierUse:
    """A line of an earlier claim of the patient, as the register sees it, with the authorization number that claim
    carried (None: none, or not known): what may have used up an authorization's sessions."""

    service: BilledService
    auth_number: str | None = None


@dataclass(frozen=True, slots=True)
class AuthorizationScopes:
    """What an authorization may name (check_rules.toml [groups] and [authorization.kinds]) and how a billed line is
    read against it. The check and the classifier's CO-197 read lines through the same object."""

    groups: dict[str, frozenset[str]]
    kinds: tuple[ServiceKind, ...] = ()

    @classmethod
    def from_table(cls, check_rules: Mapping[str, Any], families: Iterable[str]) -> AuthorizationScopes:
        known = set(families)
        groups = family_groups(check_rules, known)
        kinds = []
        for name, body in check_rules.get("authorization", {}).get("kinds", {}).items():
            fams = {k: frozenset(str(x) for x in body.get(k, ())) for k in ("families", "when_same_date",
                                                                              "unless_same_date")}
            unknown = sorted(set().union(*fams.values()) - known)
            if unknown or not fams["families"]:
                raise RuleDataError(f"check_rules.toml [authorization.kinds.{name}]: unknown or missing family "
                                    f"{unknown[0] if unknown else 'families'!r}")
            names = frozenset(normalize_scope(str(x)) for x in body.get("names", ()))
            kinds.append(ServiceKind(id=str(name), label=str(body.get("label", name)), families=fams["families"],
                                     when_same_date=fams["when_same_date"],
                                     unless_same_date=fams["unless_same_date"], names=names))
        return cls(groups=groups, kinds=tuple(kinds))

    def groups_of(self, family: str | None) -> frozenset[str]:
        return frozenset(name for name, fams in self.groups.items() if family in fams) if family else frozenset()

    def kind_of(self, family: str | None, same_date: Iterable[str | None]) -> ServiceKind | None:
        """The separately authorized kind a line of `family` belongs to, given the families billed that date."""
        same = tuple(same_date)
        return next((k for k in self.kinds if k.applies(family, same)), None)

    def kind(self, kind_id: str | None) -> ServiceKind | None:
        return next((k for k in self.kinds if k.id == kind_id), None)

    def service(self, *, payer_id: str, code: str, family: str | None, same_date: Iterable[str | None],
                service_date: dt.date, sides: frozenset[str] | None, levels: int | None, units: int,
                claim_id: str | None = None) -> BilledService:
        kind = self.kind_of(family, same_date)
        if kind is not None:
            scopes = frozenset({kind.id, *kind.names})
        else:
            scopes = frozenset({code.upper(), *(f for f in (family,) if f), *self.groups_of(family)})
        return BilledService(payer_id=payer_id, code=code, scopes=scopes, service_date=service_date, sides=sides,
                             levels=levels, units=units, kind=kind.id if kind else None, claim_id=claim_id)


def sides_of(modifiers: Iterable[str], documented: str | None = None) -> frozenset[str] | None:
    """The sides a line treats: what the platform documented, else RT/LT/50; None when neither says."""
    if documented in _SIDE_SETS:
        return _SIDE_SETS[documented]
    found: set[str] = set()
    for modifier in modifiers:
        found |= _MODIFIER_SIDES.get(modifier, frozenset())
    return frozenset(found) or None


def _scope_problem(auth: Authorization, service: BilledService) -> str | None:
    """What keeps `auth` from the service before any count: payer, what it names, dates, side."""
    if auth.payer_id != service.payer_id:
        return f"it was issued by payer {auth.payer_id}"
    if auth.scope.upper() not in {s.upper() for s in service.scopes}:
        if service.kind is not None:
            return (f"it covers {auth.scope}, and this line is part of a service authorized on its own "
                    f"({service.kind.replace('_', ' ')})")
        return f"it covers {auth.scope}, not {service.code}"
    if service.service_date < auth.valid_from:
        return (f"it was issued for use from {auth.valid_from.isoformat()}, after the service on "
                f"{service.service_date.isoformat()}")
    if service.service_date > auth.valid_to:
        return (f"it is valid {auth.valid_from.isoformat()} to {auth.valid_to.isoformat()}, not on "
                f"{service.service_date.isoformat()}")
    if auth.side and auth.side != "bilateral" and service.sides and not service.sides <= _SIDE_SETS[auth.side]:
        return f"it covers the {auth.side} side only"
    return None


def why_not(auth: Authorization, service: BilledService, used: Sequence[dt.date] = ()) -> str | None:
    """None when `auth` covers the service; otherwise what it fails, in words (no member data). `used`: the earlier
    dates of service that already used it (see `sessions_used`)."""
    problem = _scope_problem(auth, service)
    if problem is not None:
        return problem
    if auth.levels is not None and service.levels is not None and service.levels > auth.levels:
        return f"it covers {auth.levels} level{'s' if auth.levels != 1 else ''}, {service.levels} were billed"
    if auth.units is not None and service.units > auth.units:
        return f"it covers {auth.units} unit{'s' if auth.units != 1 else ''}, {service.units} were billed"
    if auth.sessions is not None and len(used) >= auth.sessions:
        dates = ", ".join(d.isoformat() for d in used)
        return (f"its {auth.sessions} session{'s were' if auth.sessions != 1 else ' was'} used by earlier claims "
                f"({dates})")
    return None


def sessions_used(auths: Sequence[Authorization], service: BilledService,
                  earlier: Iterable[EarlierUse]) -> dict[Authorization, tuple[dt.date, ...]]:
    """The earlier dates of service each authorization already served, before `service`'s date: a date counts
    against the authorization whose number its claim carried, or, when the claim carried none (or it is not known),
    against the one that covered it with sessions left (the one expiring first). One date is one session."""
    used: dict[Authorization, list[dt.date]] = {a: [] for a in auths}
    days: dict[dt.date, list[EarlierUse]] = {}
    for use in earlier:
        d = use.service.service_date
        if d < service.service_date and (service.claim_id is None or use.service.claim_id != service.claim_id):
            days.setdefault(d, []).append(use)
    for day in sorted(days):
        taken: list[Authorization] = []  # the lines of one date are one session of the authorization they use
        for use in days[day]:
            fits = [a for a in auths if _scope_problem(a, use.service) is None
                    and (use.auth_number is None or a.auth_number == use.auth_number)]
            if any(a in taken for a in fits):
                continue
            if use.auth_number is None:
                fits = [a for a in fits if a.sessions is None or len(used[a]) < a.sessions]
            if not fits:
                continue
            chosen = min(fits, key=lambda a: (a.valid_to, a.auth_number))
            used[chosen].append(day)
            taken.append(chosen)
    return {a: tuple(v) for a, v in used.items()}


def covering(auths: Iterable[Authorization], service: BilledService,
             earlier: Iterable[EarlierUse] = ()) -> Authorization | None:
    """The authorization on file that covers the service (the one valid longest, then by number), if any, after the
    sessions earlier claims used."""
    auths = tuple(auths)
    used = sessions_used(auths, service, earlier)
    found = [a for a in auths if why_not(a, service, used[a]) is None]
    return max(found, key=lambda a: (a.valid_to, a.auth_number)) if found else None


def reasons(auths: Iterable[Authorization], service: BilledService,
            earlier: Iterable[EarlierUse] = ()) -> list[tuple[Authorization, str]]:
    """Each authorization on file of the service's payer that does not cover it, with why (for a finding that says
    what is on file and why it does not count)."""
    auths = tuple(a for a in auths if a.payer_id == service.payer_id)
    used = sessions_used(auths, service, earlier)
    return [(a, why) for a in auths if (why := why_not(a, service, used[a])) is not None]


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
    sessions: int | None = None

    def digested(self, digest: Callable[[str], str]) -> Authorization:
        return Authorization(payer_id=self.payer_id, member_digest=digest(self.member_id),
                             auth_number=self.auth_number, scope=self.scope, valid_from=self.valid_from,
                             valid_to=self.valid_to, side=self.side, levels=self.levels, units=self.units,
                             sessions=self.sessions)


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
                levels=_count(value.get("levels", ""), "levels"), units=_count(value.get("units", ""), "units"),
                sessions=_count(value.get("sessions", ""), "sessions"))
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


__all__ = ["Authorization", "AuthorizationFileError", "AuthorizationRow", "AuthorizationScopes", "BilledService",
           "COLUMNS", "EarlierUse", "OPTIONAL_COLUMNS", "ServiceKind", "check_fields", "covering", "family_groups",
           "normalize_member", "normalize_scope", "parse_authorizations_csv", "reasons", "sessions_used", "sides_of",
           "why_not"]
