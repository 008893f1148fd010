"""Compose one letter per claim and payer: an appeal covering the appealable open tasks; a reopening request
covering the reopening tasks when the task asked from is one (reference 6.1); a reconsideration of an authorization
denial where the payer type takes one.

A letter is built from the facts, never against them. Each argument declares the facts it needs and what it asserts
(`letters.toml`); the composer checks every assertion against the claim's facts (`grounds`) before writing it.
When the facts contradict the asked task's argument no letter is written: the refusal (a `LetterError`, 409 in the
API) says why and recommends what fits (a write-off, a corrected claim), or the composer switches to the letter that
fits (a diagnosis correction by reopening). Another covered task whose argument does not hold is left out, and the
draft notes say why.

The letter states only what the store knows (codes, dates, amounts, claim history, the patient's identifiers when a
key lets the service read them) and the rule data says (levels, windows, policies and their LCD numbers). Whatever
a person must add (the payer's address, relief percentages) is a visible `[to complete: ...]` blank, and the draft
notes list what to check before sending."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from service.domain.classification.vocabulary import ACTION_PHRASES
from service.domain.letters import grounds
from service.domain.letters.book import Argument, LateRequest, LetterBook, Level, ProviderStatus
from service.domain.letters.crosswalk import NOT_MET, TO_DOCUMENT, AppealedSession, appealed_sessions, crosswalk
from service.domain.letters.facts import (
    CrosswalkRow,
    DenialForLetter,
    Letter,
    LetterError,
    LetterRequest,
    Section,
    Table,
    TaskForLetter,
)
from service.domain.model import ZERO
from service.domain.pain.history import region_words
from service.domain.tasks import TaskLine

CROSSWALK_COLUMNS = ("Criterion", "Policy requires", "Evidence", "Status")
LINE_COLUMNS = ("Line", "Date", "Procedure", "Billed as", "Amount", "Denial codes and what they mean")
# Authorization tasks whose next step a reconsideration can serve (a corrected claim is its own fix).
RECONSIDERED_ACTIONS = frozenset({"obtain_authorization", "appeal", "review"})


def blank(what: str) -> str:
    """A field the person sending the letter fills in."""
    return f"[to complete: {what}]"


def money(amount: Decimal | None) -> str:
    if amount is None:
        return blank("amount")
    return f"${amount.quantize(Decimal('0.01')):,}"


def _in_sentence(name: str, book: LetterBook) -> str:
    """A level or request name inside a sentence: "Request for ...", "First-level ...", "State fair hearing" read
    "request for ...", "first-level ...", "state fair hearing"; names led by one of the book's proper names
    ("Medicare ...") stay as they are."""
    if name.split(" ", 1)[0] in book.proper_names:
        return name
    return name[:1].lower() + name[1:]


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else blank("date")


# -- what the codes mean -----------------------------------------------------------------------------------------------

def code_parts(book: LetterBook, group: str, reason: str, remarks: Iterable[str],
               on: dt.date) -> list[tuple[str, str]]:
    """(code, plain meaning) for the group, the reason and each remark, from the paraphrased tables."""
    group_row = book.codes.groups.get(group.upper())
    carc = book.codes.carc.lookup(reason, on).row
    parts = [(group, (group_row or {}).get("meaning") or "a group code our tables do not know"),
             (reason, carc.meaning if carc else "a reason code our tables do not know")]
    for remark in remarks:
        row = book.codes.rarc.lookup(remark, on).row
        parts.append((remark, row.meaning if row else "a remark code our tables do not know"))
    return parts


def code_meanings(book: LetterBook, group: str, reason: str, remarks: Iterable[str], on: dt.date) -> str:
    """`CO-50: <group meaning>; <reason meaning>. N115: <remark meaning>`."""
    (_, group_meaning), (_, reason_meaning), *rest = code_parts(book, group, reason, remarks, on)
    return ". ".join([f"{group}-{reason}: {group_meaning}; {reason_meaning}",
                      *(f"{code}: {meaning}" for code, meaning in rest)])


def _procedure_words(book: LetterBook, code: str | None) -> str:
    if not code:
        return "claim level"
    info = book.pain.catalog.get(code)
    if info is None:
        return code
    where = region_words(info.region)
    return f"{code} ({f'{where} ' if where else ''}{book.pain.catalog.label(info.family)})"


def _mine(task: TaskForLetter, decisions: Iterable[DenialForLetter]) -> list[DenialForLetter]:
    return [d for d in decisions if d.task_id == task.task_id]


def _codes_of(task: TaskForLetter, decisions: list[DenialForLetter]) -> str:
    mine = _mine(task, decisions)
    if mine:
        names = []
        for d in mine:
            name = f"{d.group}-{d.reason}" + (f" with {', '.join(d.remarks)}" if d.remarks else "")
            if name not in names:
                names.append(name)
        return "; ".join(names)
    return ", ".join(dict.fromkeys(r for line in task.lines for r in line.reasons)) or task.category


def _reasons_of(task: TaskForLetter, decisions: Iterable[DenialForLetter]) -> list[str]:
    """The task's CARCs: from its decisions, else from its lines' `CO-50` style reasons."""
    mine = _mine(task, decisions)
    if mine:
        return list(dict.fromkeys(d.reason for d in mine))
    return list(dict.fromkeys(r.split("-", 1)[1] for line in task.lines for r in line.reasons if "-" in r))


# -- the policy a letter cites -----------------------------------------------------------------------------------------

def _policy_words(session: AppealedSession, request: LetterRequest, book: LetterBook, notes: list[str]) -> str:
    """The policy the crosswalk follows: the payer's own (`book.policy_of`, the policy its decision rests on).
    A payer that follows the Medicare LCDs (Medicare; Medicare Advantage unless the plan has its own on file): the
    MAC's LCD and billing article by number, the row of lcd_citations.toml the decision cites (a note asks to confirm
    numbers marked to verify), or a blank where the jurisdiction or the numbers are not known. A plan whose policy
    is on file: that policy; one whose policy is not: "the plan's medical policy", never a Medicare LCD."""
    spec = session.spec
    claim = request.claim
    policy = book.policy_of(claim, session.family, session.service_date)
    if not policy.known:
        notes.append(f"The {policy.terms.label}'s own coverage policy is not on file (no Medicare LCD applies to "
                     "it): fill in its criteria where the crosswalk leaves a blank and check the letter against "
                     "them before sending.")
        return spec.policy_other
    if not policy.terms.follows_lcds:
        return f"{spec.policy_other} ({policy.terms.policy_label})"
    citations = book.citations
    jurisdiction = policy.terms.jurisdiction
    where = citations.where(jurisdiction) if jurisdiction or claim.payer_type == "medicare" else "the plan's area"
    if policy.lcd_policy is None:
        notes.append(f"Fill in the number of the MAC's LCD and billing article for "
                     f"{book.pain.catalog.label(session.family)} before sending.")
        numbers = blank("the LCD and billing article numbers of the claim's MAC")
        return f"{spec.policy_medicare} ({numbers})"
    title = citations.titles[policy.lcd_policy]
    cited = policy.lcd_citation
    if cited is None:
        known = jurisdiction or "the payer's jurisdiction (not known for this payer id)"
        notes.append(f"No LCD number on file for {title} in {known}: fill it in.")
        numbers = blank("the LCD and article numbers")
        return f"the Medicare LCD {title} of {where} and its billing and coding article ({numbers})"
    if cited.jurisdiction is None:
        notes.append(f"LCD {cited.lcd}" + (f" and article {cited.article}" if cited.article else "")
                     + f" are not known to be those of {where}: confirm the MAC's own numbers in the Medicare "
                       "Coverage Database before sending (marked to verify in lcd_citations.toml).")
    elif cited.verify:
        notes.append(f"Confirm LCD {cited.lcd}" + (f" and article {cited.article}" if cited.article else "")
                     + f" for {cited.jurisdiction} in the Medicare Coverage Database before sending (the numbers "
                       "are marked to verify in lcd_citations.toml).")
    if cited.article is None:
        notes.append(f"Fill in the billing and coding article number of LCD {cited.lcd}.")
    return cited.words()


# -- the argument per task ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Argued:
    """One task's argument, checked against the facts."""

    task: TaskForLetter
    argument: Argument
    sessions: list[AppealedSession] = field(default_factory=list)
    rows: list[tuple[AppealedSession, CrosswalkRow]] = field(default_factory=list)
    policy: str = "the payer's coverage policy for these services"
    policy_known: bool = True  # False: the payer's own policy is not on file (its limits are left to fill in)
    submission_sentence: str | None = None
    notes: list[str] = field(default_factory=list)


def _first_argument(request: LetterRequest, task: TaskForLetter, book: LetterBook) -> Argument:
    catalog = book.pain.catalog
    return book.argument_for(task.category, _reasons_of(task, request.decisions), grounds.task_rules(request, task),
                             [catalog.family(x.procedure_code) for x in task.lines if x.procedure_code])


def _argue(request: LetterRequest, task: TaskForLetter, book: LetterBook) -> _Argued:
    """The task's argument, once every fact it needs is on file and nothing on file contradicts what it asserts
    (raises `grounds.Refusal` otherwise)."""
    argument = grounds.choose_argument(_first_argument(request, task, book), request, task, book)
    argued = _Argued(task, argument)
    if argument.crosswalk:
        argued.sessions = appealed_sessions(task.lines, book) or appealed_sessions(
            _sessions_of_dates(request, task, book), book)
        if argued.sessions:
            first_session = argued.sessions[0]
            argued.policy_known = book.policy_of(request.claim, first_session.family,
                                                 first_session.service_date).known
            argued.policy = _policy_words(first_session, request, book, argued.notes)
            for session in argued.sessions[1:]:
                _policy_words(session, request, book, argued.notes)  # their notes (numbers to confirm)
        argued.rows = [(s, row) for s in argued.sessions for row in crosswalk(s, request, book)]
        if not argued.rows:
            argued.sessions = []  # a policy without criteria to cross (drug testing): cited, no table
    for claim in argument.argues:
        if claim == "filed_on_time":
            argued.submission_sentence = grounds.filed_on_time(request, task, book)
        elif claim == "within_limits":
            grounds.within_limits(request, argued.rows, book)
        elif claim == "medically_necessary":
            grounds.within_limits(request, argued.rows, book)
            basis = argued.policy if argued.policy_known else book.policy_unknown["diagnosis_basis"]
            grounds.medically_necessary_diagnosis(request, task, book, basis)
        # "authorized": the argument's need (the number on the claim, or the register's) is its proof
    if argument.key == "authorization_on_file":
        argued.notes.extend(_authorization_notes(request, task))
    return argued


def _sessions_of_dates(request: LetterRequest, task: TaskForLetter, book: LetterBook) -> list[TaskLine]:
    """The claim's billed procedures on the dates of the task's drug or guidance lines: such a line denied alone
    belongs to the session of its procedure, whose criteria (and limits) it follows."""
    catalog = book.pain.catalog
    dates = {x.service_date for x in task.lines
             if x.service_date is not None and catalog.family(x.procedure_code) in book.session_followers}
    claim = request.claim
    return [TaskLine(x.line_id, x.charge, (), x.procedure.code, x.procedure.modifiers,
                     x.service_date or claim.service_date_from)
            for x in claim.submitted_lines if (x.service_date or claim.service_date_from) in dates]


def _line_modifiers(request: LetterRequest, line: TaskLine) -> tuple[str, ...]:
    submitted = next((x for x in request.claim.submitted_lines if x.line_id == line.line_id), None)
    return tuple(submitted.procedure.modifiers) if submitted is not None else tuple(line.modifiers)


def _modifier_sentence(request: LetterRequest, task: TaskForLetter, argument: Argument) -> str:
    """What the denied lines carried of the modifiers the argument rests on: never one the claim does not carry."""
    if not argument.modifiers:
        return ""
    assert argument.with_modifiers is not None and argument.without_modifiers is not None  # the book checks
    carrying: dict[str, list[str]] = {}
    bare: list[str] = []
    for line in task.lines:
        if not line.procedure_code:
            continue
        name = f"{line.line_id} ({line.procedure_code})"
        found = [m for m in _line_modifiers(request, line) if m in argument.modifiers]
        if found:
            carrying.setdefault(", ".join(found), []).append(name)
        else:
            bare.append(name)
    sentences = [argument.with_modifiers.format_map({"lines": _line_names(names), "modifiers": mods})
                 for mods, names in carrying.items()]
    if bare:
        sentences.append(argument.without_modifiers.format_map({"lines": _line_names(bare)}))
    return " ".join(sentences)


def _line_names(names: list[str]) -> str:
    """"Line 3 (99213)", "Lines 2 (64635) and 4 (64636)", "Lines 1 (64483), 2 (64484) and 3 (J1040)"."""
    if len(names) == 1:
        return f"Line {names[0]}"
    return f"Lines {', '.join(names[:-1])} and {names[-1]}"


def _auth_on_file_sentence(request: LetterRequest, task: TaskForLetter) -> str:
    """The authorization the register held: obtained before the services when it was in force on their date."""
    auth = grounds.authorization_on_file(request, task)
    dos = grounds.service_date(request, task)
    if auth is None or auth.number is None:
        return (f"The practice obtained the authorization for these services ({blank('its number and dates')}); "
                "the number was omitted from the claim.")
    if auth.valid_from is not None and auth.valid_to is not None and dos is not None \
            and auth.valid_from <= dos <= auth.valid_to:
        return (f"The practice obtained authorization {auth.number} for these services before they were provided: "
                f"it is valid from {auth.valid_from.isoformat()} to {auth.valid_to.isoformat()}, and the services "
                f"were provided on {dos.isoformat()}. The number was omitted from the claim.")
    return (f"The practice obtained authorization {auth.number} for these services; the number was omitted from "
            "the claim.")


def _authorization_notes(request: LetterRequest, task: TaskForLetter) -> list[str]:
    auth = grounds.authorization_on_file(request, task)
    number = auth.number if auth is not None and auth.number else None
    notes = [f"The authorization register held {'authorization ' + number if number else 'an authorization'} for "
             "these services when the denial arrived: confirm on the approval letter that it was issued before the "
             "date of service and covers the codes, side and levels billed (the register records its validity, not "
             "its issue date), and enclose it."]
    if number:
        notes.append(f"Where the plan takes corrected claims, a corrected claim with REF*G1 {number} is the quicker "
                     "fix: send this letter if the plan asks for an appeal or refuses the corrected claim.")
    return notes


def _values(request: LetterRequest, argued: _Argued) -> dict[str, str]:
    claim = request.claim
    if claim.prior_authorization:
        auth = f"The claim carried authorization number {claim.prior_authorization} (REF*G1)."
    else:
        auth = blank("the authorization number and the dates and services it covers")
    response = claim.eligibility_response
    return {"payer_name": claim.payer_name or claim.payer_id, "policy": argued.policy, "auth_sentence": auth,
            "submission_sentence": argued.submission_sentence or blank("the date of the first submission"),
            "codes": _codes_of(argued.task, list(request.decisions)), "authority": "",
            "auth_on_file": _auth_on_file_sentence(request, argued.task),
            "modifier_sentence": _modifier_sentence(request, argued.task, argued.argument),
            "other_payer": grounds.other_payer_adjudicated(request) or blank("the other payer"),
            "eligibility_date": response.isoformat() if response else blank("the 271's date")}


def _argument_section(request: LetterRequest, argued: _Argued, book: LetterBook, notes: list[str]) -> Section:
    argument = argued.argument
    text = argument.text_for(bool(argued.sessions), argued.policy_known).format_map(_values(request, argued))
    billed = {x.procedure_code for x in argued.task.lines}
    text = " ".join([text.strip(), *(sentence for code, sentence in argument.code_sentences if code in billed)])
    if not argued.sessions:
        return Section(heading=argument.heading_for(False), paragraphs=(text,))
    several = len(argued.sessions) > 1
    table_rows = []
    for session, row in argued.rows:
        table_rows.append((f"{row.criterion} ({session.procedure.code}, {session.service_date.isoformat()})"
                           if several else row.criterion, *row.cells()[1:]))
        if row.status == NOT_MET:
            notes.append(f"Crosswalk for {session.label(book)}: '{row.criterion}' is not met by our claim history "
                         f"({row.evidence}). Check the records before sending.")
    after = ("Each criterion marked 'to document' is shown by the enclosed records named in the evidence column.",) \
        if any(r.status == TO_DOCUMENT for _, r in argued.rows) else ()
    intro = f"Crosswalk of {argued.policy} for " + "; ".join(s.label(book) for s in argued.sessions) + "."
    return Section(heading=f"{argument.heading_for(True, argued.policy_known)}: criteria crosswalk",
                   paragraphs=(text, intro),
                   table=Table(CROSSWALK_COLUMNS, tuple(table_rows)), after=after)


# -- the lines and the corrections -------------------------------------------------------------------------------------

def _lines_table(request: LetterRequest, tasks: list[TaskForLetter], book: LetterBook) -> Table:
    rows = []
    for task in tasks:
        for line in task.lines:
            decisions = [d for d in request.decisions if d.task_id == task.task_id and d.line_id == line.line_id]
            on = line.service_date or request.claim.service_date_from or request.today
            if decisions:
                meaning = " | ".join(code_meanings(book, d.group, d.reason, d.remarks, on) for d in decisions)
            else:
                meaning = " | ".join(code_meanings(book, *r.split("-", 1), (), on) for r in line.reasons if "-" in r)
            billed = "-".join([line.procedure_code or "", *line.modifiers]) if line.procedure_code else "claim"
            rows.append((line.line_id or "claim", _day(line.service_date), _procedure_words(book, line.procedure_code),
                         billed, money(line.amount), meaning or task.explanation))
    return Table(LINE_COLUMNS, tuple(rows))


def _reopening_section(request: LetterRequest, tasks: list[TaskForLetter], book: LetterBook,
                       corrections: dict[str, str]) -> Section:
    request_text = book.reopening(request.claim.payer_type)
    bullets = []
    for task in tasks:
        for line in task.lines:
            what = _procedure_words(book, line.procedure_code)
            codes = [f"{d.group}-{d.reason}" for d in request.decisions
                     if d.task_id == task.task_id and d.line_id == line.line_id] or list(line.reasons)
            fix = corrections.get(line.line_id or "claim") or blank(
                "the corrected code, modifier, date or units as the record shows")
            bullets.append(f"Line {line.line_id or 'claim'} ({what}, {_day(line.service_date)}): denied as "
                           f"{', '.join(dict.fromkeys(codes)) or task.category}; correction: {fix}")
    text = request_text.text.format_map({"authority": request_text.authority, "payer_name": "", "policy": "",
                                         "auth_sentence": "", "submission_sentence": "", "codes": ""})
    return Section(heading="Correction requested", paragraphs=(text,), bullets=tuple(bullets))


@dataclass(frozen=True, slots=True)
class _Enclosed:
    enclosures: tuple[str, ...]  # the covered tasks' checklist items the letter encloses
    to_gather: tuple[str, ...]  # those not yet marked gathered
    not_argued: tuple[str, ...]  # items the letter's arguments do not enclose (they stay on the task)
    not_applicable: tuple[str, ...]  # items that do not apply to this claim (its payer type or codes)


def _enclosures(request: LetterRequest, tasks: list[TaskForLetter], argued: list[_Argued],
                book: LetterBook) -> _Enclosed:
    """Every checklist item of the covered tasks that applies to the claim and that the task's argument encloses,
    and those not yet marked gathered; the others are left to the task (the draft notes name them)."""
    arguments = {a.task.task_id: a.argument for a in argued}
    items: dict[str, str] = {}
    done: set[str] = set()
    not_argued: dict[str, str] = {}
    not_applicable: dict[str, str] = {}
    for task in tasks:
        argument = arguments.get(task.task_id)
        codes = [x.procedure_code for x in task.lines if x.procedure_code]
        for item in task.checklist:
            if not book.checklists.applies(item.id, request.claim.payer_type, codes):
                not_applicable.setdefault(item.id, item.text)
            elif argument is not None and argument.left_out(item.id):
                not_argued.setdefault(item.id, item.text)
            else:
                items.setdefault(item.id, item.text)
                if item.done:
                    done.add(item.id)
    return _Enclosed(tuple(items.values()), tuple(text for key, text in items.items() if key not in done),
                     tuple(text for key, text in not_argued.items() if key not in items),
                     tuple(text for key, text in not_applicable.items() if key not in items))


# -- which letter ------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Plan:
    kind: str  # appeal | reopening | reconsideration
    tasks: list[TaskForLetter]
    argued: list[_Argued] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _refused(exc: grounds.Refusal) -> LetterError:
    return LetterError(exc.code, exc.message, {"recommendation": exc.recommendation} if exc.recommendation else None)


def _argued_tasks(request: LetterRequest, asked: TaskForLetter, candidates: list[TaskForLetter],
                  book: LetterBook, kind: str) -> _Plan:
    """The asked task's argument must hold (else the refusal, or the reopening it names); another task whose
    argument does not hold is left out of the letter, with a note saying why."""
    plan = _Plan(kind, [])
    for task in candidates:
        try:
            argued = _argue(request, task, book)
        except grounds.Refusal as exc:
            if task.task_id != asked.task_id:
                what = f"{task.category.replace('_', ' ')} task ({_codes_of(task, list(request.decisions))})"
                plan.notes.append(f"The {what} is left out of this letter: {exc.message}")
                continue
            if exc.recommendation == "reopening" and exc.corrections:
                return _Plan("reopening", [asked], corrections=exc.corrections,
                             notes=[f"A reopening, not an appeal: {exc.message} Confirm the record documents the "
                                    "corrected diagnosis for this date of service before sending."])
            raise _refused(exc) from None
        plan.tasks.append(task)
        plan.argued.append(argued)
        plan.notes.extend(argued.notes)
    return plan


def _plan(request: LetterRequest, book: LetterBook) -> _Plan:
    asked = next((t for t in request.tasks if t.task_id == request.task_id), None)
    if asked is None:
        raise LetterError("task_not_found", "no task with that id on this claim")
    if not asked.is_open:
        raise LetterError("task_closed", f"the task is {asked.state}: letters are drafted for open tasks only")
    refusal = grounds.bill_patient(request, asked, book, _codes_of(asked, list(request.decisions)))
    if refusal is not None:
        raise _refused(refusal)
    if asked.action == "reopening":
        return _Plan("reopening", [t for t in request.tasks if t.is_open and t.action == "reopening"])
    if asked.category == "authorization" and asked.action in RECONSIDERED_ACTIONS:
        if book.reconsideration(request.claim.payer_type) is None:
            raise LetterError("reconsideration_not_available",
                              f"{book.why_no_reconsideration(request.claim.payer_type)}.")
        auth = [t for t in request.tasks if t.is_open and t.category == "authorization"
                and t.action in RECONSIDERED_ACTIONS]
        return _argued_tasks(request, asked, auth, book, "reconsideration")
    first = _first_argument(request, asked, book)
    if first.refuse_first:  # the facts decide, whatever the task's route (a CO-27 with or without a 277)
        try:
            grounds.choose_argument(first, request, asked, book)
        except grounds.Refusal as exc:
            raise _refused(exc) from None
    if not asked.appealable:
        if asked.action == "write_off":
            # A write-off the facts explain (filed after the window, past a session limit) says why, with the dates,
            # rather than only that the task takes no letter.
            try:
                _argue(request, asked, book)
            except grounds.Refusal as exc:
                if exc.code == "write_off_recommended":
                    raise _refused(exc) from None
        raise LetterError("not_appealable",
                          f"the task's next step is to {ACTION_PHRASES.get(asked.action, asked.action)}: it takes no "
                          "appeal letter or reopening request")
    appealable = [t for t in request.tasks if t.is_open and t.appealable and t.action != "reopening"
                  and t.action not in book.action_refusals
                  and not (t.category == "authorization" and t.action in RECONSIDERED_ACTIONS)]
    return _argued_tasks(request, asked, appealable, book, "appeal")


# -- the letter --------------------------------------------------------------------------------------------------------

def _late_section(late: LateRequest, deadline: dt.date, authority: str, reviewer: str, notes: list[str],
                  added: list[str]) -> Section:
    """A request after its level's window: the good-cause extension, with the reason left for the sender."""
    added.append(late.enclosure)
    notes.append(f"The window closed on {deadline.isoformat()}: the letter asks for an extension for good cause "
                 f"({authority}). Give the reason it could not be filed on time and enclose what shows it; good cause "
                 "for a late appeal is about the missed date, not the new and material evidence of a reopening.")
    return Section(heading=late.heading, paragraphs=(late.text.format_map({
        "deadline": deadline.isoformat(), "authority": authority, "reviewer": reviewer, "reason": late.reason}),))


def _provider_status_section(status: ProviderStatus, contracted: bool | None, payer: str, notes: list[str],
                             added: list[str]) -> Section:
    """A Medicare Advantage letter: the non-contracted provider's Waiver of Liability, the contracted provider's
    dispute under its agreement, or both (for the sender to choose) when the contract status is not on file."""
    words = {"payer_name": payer}
    if contracted is None:
        notes.append(status.note_unknown.format_map(words))
        added.append(status.waiver + status.waiver_unknown)
        return Section(heading=status.heading, paragraphs=(status.unknown, status.non_contracted.format_map(words),
                                                           status.contracted.format_map(words)))
    if contracted:
        return Section(heading=status.heading, paragraphs=(status.contracted.format_map(words),))
    added.append(status.waiver)
    return Section(heading=status.heading, paragraphs=(status.non_contracted.format_map(words),))


def _identifiers(request: LetterRequest) -> tuple[tuple[str, str], ...]:
    """The patient's name, member id and birth date when read for this letter; otherwise why they are withheld,
    or blanks when none are on file."""
    labels = (("Patient", "name", "patient name"), ("Member id", "member_id", "member id"),
              ("Date of birth", "birth_date", "date of birth"))
    out = []
    for label, field_name, words in labels:
        value = getattr(request.patient, field_name) if request.patient is not None else None
        if value is not None:
            out.append((label, value.isoformat() if isinstance(value, dt.date) else str(value)))
        elif request.patient_withheld:
            out.append((label, f"[{request.patient_withheld}]"))
        else:
            out.append((label, blank(words)))
    return tuple(out)


def compose_letter(request: LetterRequest, book: LetterBook) -> Letter:
    """The letter for the claim and payer of `request.task_id` (raises LetterError when the facts allow none)."""
    plan = _plan(request, book)
    kind, tasks = plan.kind, plan.tasks
    claim = request.claim
    notes: list[str] = list(plan.notes)
    payer = claim.payer_name or claim.payer_id
    icns = ", ".join(claim.payer_claim_numbers) or blank("the payer's claim number (ICN)")
    deadlines = [t for t in tasks if t.deadline is not None]
    due = min(deadlines, key=lambda t: t.deadline) if deadlines else None

    level: Level | None = None
    past_last = False
    first_level = kind == "reconsideration"
    if kind == "reopening":
        reopening = book.reopening(claim.payer_type)
        title, level_text, reviewer, window = reopening.name, reopening.name, reopening.reviewer, reopening.window
    elif kind == "reconsideration":
        recon = book.reconsideration(claim.payer_type)
        assert recon is not None  # _plan checked it
        title, level_text, reviewer, window = recon.name, recon.title, recon.reviewer, recon.window
    else:
        number = max(t.appeal_level for t in tasks)
        ladder = book.coverage.terms(claim.payer_type, claim.payer_id).ladder
        level, past_last = book.level(claim.payer_type, number, ladder)
        step = ladder.level(number) if ladder is not None else None
        if step is not None and step.auto_forward:
            notes.append(f"At level {number} {step.basis}: there is nothing for the provider to file. Send this only "
                         "if the payer asks for it.")
        first_level = number == 1
        if level is None:
            title, level_text, reviewer, window = "Appeal", "appeal", "the payer's appeals unit", "the payer's window"
        else:
            title, level_text, reviewer, window = level.name, level.title, level.reviewer, level.window
        if past_last:
            notes.append(f"The task is at appeal level {number}; the letter wording on file does not cover it (this "
                         f"draft names {level_text}). Check which level and reviewer come next, and what they "
                         "require, before sending.")
    status = book.provider_status.get(claim.payer_type) if first_level else None
    contracted = book.contracted(claim) if status is not None else None
    if status is not None and contracted:  # the contract's dispute process, not the enrollee's appeal
        title, level_text = status.dispute.name, status.dispute.title
        reviewer, window = status.dispute.reviewer, status.dispute.window

    amount = sum((t.amount_at_risk for t in tasks), ZERO)
    reference = (
        ("Payer", f"{payer} ({claim.payer_id})" if claim.payer_name else claim.payer_id),
        ("Payer claim number", icns),
        ("Patient account number", claim.claim_id),
        *_identifiers(request),
        ("Dates of service", f"{_day(claim.service_date_from)} to {_day(claim.service_date_to)}"
         if claim.service_date_to and claim.service_date_to != claim.service_date_from
         else _day(claim.service_date_from)),
        ("Billing provider NPI", claim.billing_npi or blank("billing NPI")),
        ("Rendering provider NPI", claim.rendering_npi or blank("rendering NPI")),
        ("Diagnoses (ICD-10-CM)", ", ".join(claim.diagnoses) or blank("diagnosis codes")),
        ("Amount billed", money(claim.total_charge)),
        ("Amount in dispute", money(amount)),
        ("Request", level_text),
    )

    recon_name = title if kind == "reconsideration" else ""
    if kind == "reopening":
        opening = (f"We request a reopening of the claim above (payer claim number {icns}) to correct the lines "
                   "listed below. We ask that the lines be reprocessed and paid as corrected.")
    elif kind == "reconsideration":
        opening = (f"On behalf of the billing provider we request a {_in_sentence(recon_name, book)} for the "
                   f"services listed below (payer claim number {icns}), denied for want of an authorization. We ask "
                   "that the denial be reversed and the services paid.")
    else:
        opening = (f"On behalf of the billing provider we request a {_in_sentence(level_text, book)} of the denial "
                   f"of the services listed below (payer claim number {icns}). We ask that the denial be reversed and "
                   "the services paid.")
    sections = [Section(heading="Request", paragraphs=(opening,)),
                Section(heading="Denied services", table=_lines_table(request, tasks, book))]
    rows: list[CrosswalkRow] = []
    if kind == "reopening":
        sections.append(_reopening_section(request, tasks, book, plan.corrections))
    else:
        for argued in plan.argued:
            sections.append(_argument_section(request, argued, book, notes))
            rows.extend(row for _, row in argued.rows)

    added: list[str] = []  # enclosures the letter's own paragraphs call for (not on a task's checklist)
    if status is not None:
        sections.append(_provider_status_section(status, contracted, payer, notes, added))
    if due is not None:
        basis = due.deadline_basis or "the payer window"
        when = f"The request must reach {reviewer} by {due.deadline.isoformat()} ({basis})."
        authority = level.late_authority if kind == "appeal" and level is not None and not past_last else None
        if due.deadline < request.today and authority and book.late_request:
            sections.append(_late_section(book.late_request, due.deadline, authority, reviewer, notes, added))
            when = (f"The window closed on {due.deadline.isoformat()} ({basis}): this request asks to extend it for "
                    "good cause, as set out above.")
        elif due.deadline < request.today:
            notes.append(f"The deadline {due.deadline.isoformat()} has passed: check for a good-cause exception "
                         "before sending.")
    else:
        when = f"The window is {window}: " + blank("the date the request is due")
    sections.append(Section(heading="Level and deadline",
                            paragraphs=(f"This is a {_in_sentence(level_text, book)}, addressed to {reviewer}. "
                                        f"The window is {window}.",
                                        when)))

    enclosed = _enclosures(request, tasks, plan.argued, book)
    enclosures = (*enclosed.enclosures, *added)
    to_gather = (*enclosed.to_gather, *added)
    if enclosed.not_argued:
        notes.append("Not enclosed, as this letter does not argue them: " + "; ".join(enclosed.not_argued) + ".")
    if enclosed.not_applicable:
        notes.append("Not enclosed, as they do not apply to this claim: " + "; ".join(enclosed.not_applicable)
                     + ".")
    if to_gather:
        notes.append("Not yet gathered (tick them on the checklist when enclosed): " + "; ".join(to_gather) + ".")
    if not claim.payer_claim_numbers:
        notes.append("The payer claim number is not on file: take it from the remittance.")
    if request.patient_withheld:
        notes.append(f"The patient's identifiers are {request.patient_withheld}.")
    missing = [words for label, words in (("Patient", "patient name"), ("Member id", "member id"),
                                          ("Date of birth", "date of birth"))
               if dict(reference)[label].startswith("[to complete")]
    notes.append("Fill every [to complete: ...] blank (" + ", ".join([*missing, "the payer's address"]) + ").")

    return Letter(
        kind=kind, title=title, level=level_text, date=request.today,
        recipient=(payer, f"Attn: {reviewer}", blank("the payer's appeals address")),
        reference=reference, salutation="To the reviewer:", sections=tuple(sections), enclosures=enclosures,
        closing=("Please contact our billing office with any question about this request.", "Sincerely,",
                 blank("name and title of the person signing"), blank("practice name, address and telephone")),
        task_ids=tuple(t.task_id for t in tasks), deadline=due.deadline if due else None,
        deadline_basis=due.deadline_basis if due else None, to_gather=to_gather,
        draft_notes=tuple(dict.fromkeys(notes)),
        crosswalk=tuple(rows))
