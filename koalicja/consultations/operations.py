"""Consultations as operations: each owns its transaction (koalicja/locking.py).

The consultation's row is the lock of everything that happens in it: opening (the roll),
every voice, the representative's change, the reminders, the extension and the close. So two
POSTs of the same link record one voice, and a voice never lands after the close.

Life: draft → `open_consultation` → scheduled (opens_at in the future) or open at once; `tick`
opens what is due, sends the automatic reminder and closes what is past closes_at; voices are
refused after closes_at even before the tick has run (`Consultation.accepts_voices`). There is no
early close, except for a decision recorded from a members' meeting, which its coordinator
closes once the voices are entered. Once scheduled or open, only a later closes_at can change.

Secret ballots: the member's row keeps only a sealed copy of the choice (sealing.py), and
every voice updates every option row of the consultation in one statement, so neither the
counters nor (on PostgreSQL) their transaction ids tell which option moved for whom. Receipts
and audit entries say that a voice was recorded, never what. At the close the sealed copies
are erased.
"""
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select, update
from sqlalchemy.orm import selectinload

from ..coalitions.models import Declaration
from ..coordinators.audit import AuditAction, record
from ..extensions import db
from ..locking import NoLongerApplies, lock, refuse
from ..mail.addresses import mailbox_key
from ..signatures.models import Signature, SignatureStatus
from ..text import search_key
from ..timeutil import utcnow
from ..tokens import TokenInvalid, read_token
from .models import (
    Consultation,
    ConsultationKind,
    ConsultationMember,
    ConsultationOpinion,
    ConsultationOption,
    ConsultationStatus,
    DecidingRule,
    DecisionOption,
    VoiceMethod,
)
from .notifications import (
    VOICE_LINK_MAX_AGE,
    VOICE_PURPOSE,
    ballot_url,  # noqa: F401  (part of this module's API: views and the panel build the link from here)
    notify_extended,
    notify_invitation,
    notify_receipt,
    notify_reminder,
    reachable,
)
from .sealing import InvalidToken, seal, unseal

# A decision recorded from a members' meeting stays open this long for its voices to be entered.
MEETING_DECISION_DAYS = 30
# A reminder sent by hand again this soon is a double click: nobody gets a second one.
HAND_REMINDER_GAP = timedelta(hours=12)
OPINION_MAX_LENGTH = 10000


# ---- refusals -------------------------------------------------------------------------------


class ConsultationNoLongerApplies(NoLongerApplies):
    """A change to a consultation (or a voice in it) that its current state does not allow."""


class ConsultationGone(ConsultationNoLongerApplies):
    message = _l("Tej konsultacji już nie ma.")


class NotADraft(ConsultationNoLongerApplies):
    message = _l("Ta konsultacja została już otwarta: można tylko przedłużyć jej termin.")


class StillADraft(ConsultationNoLongerApplies):
    message = _l("Ta konsultacja nie została jeszcze otwarta.")


class AlreadyClosed(ConsultationNoLongerApplies):
    message = _l("Konsultacja jest już zamknięta: głosy nie są już przyjmowane.")


class NotOpen(ConsultationNoLongerApplies):
    message = _l("Konsultacja jeszcze się nie rozpoczęła.")


class ClosingNotAfterOpening(ConsultationNoLongerApplies):
    message = _l("Termin zamknięcia musi być późniejszy niż otwarcie.")


class NotLater(ConsultationNoLongerApplies):
    message = _l("Nowy termin zamknięcia musi być późniejszy niż obecny.")


class NoEarlyClose(ConsultationNoLongerApplies):
    message = _l(
        "Konsultacja zamknie się sama o wyznaczonym terminie. Wcześniej można zamknąć tylko decyzję z posiedzenia."
    )


class NotClosedYet(ConsultationNoLongerApplies):
    message = _l("Uchwałę lub protokół można dodać dopiero po zamknięciu konsultacji.")


class InvalidSettings(ConsultationNoLongerApplies):
    """A draft's data that cannot make a consultation (the message says which part)."""


class InvalidVoice(ConsultationNoLongerApplies):
    """A voice that does not fit the question (the message says why)."""


class LinkReplaced(ConsultationNoLongerApplies):
    message = _l(
        "Ten link nie jest już ważny: głos organizacji przekazano innej osobie. Nowy link przyszedł do niej e-mailem."
    )


class EntryNotOnList(ConsultationNoLongerApplies):
    message = _l("Ten wpis nie jest już na liście sojuszników koalicji, więc głosowanie tym linkiem nie jest możliwe.")


class MeetingVoicesOnly(ConsultationNoLongerApplies):
    message = _l("Tę decyzję podjęto na posiedzeniu: głosy wpisuje koordynacja.")


class VotedByLink(ConsultationNoLongerApplies):
    message = _l("Ten członek lub ta członkini zagłosował(a) już osobistym linkiem: koordynacja nie zmienia takiego głosu.")


class NotAnOrganisation(ConsultationNoLongerApplies):
    message = _l("Ten głos należy do osoby, nie do organizacji: nie ma kogo wybrać.")


class NotARepresentative(ConsultationNoLongerApplies):
    message = _l(
        "Ta osoba nie jest zatwierdzonym przedstawicielem ani przedstawicielką tej organizacji w koalicji "
        "lub nie ma adresu e-mail."
    )


class AlreadyRepresentative(ConsultationNoLongerApplies):
    message = _l("Ta osoba już otrzymuje link organizacji.")


class NotAMeeting(ConsultationNoLongerApplies):
    message = _l("To wydarzenie nie jest posiedzeniem członków i członkiń koalicji.")


class MeetingNotStarted(ConsultationNoLongerApplies):
    message = _l("Decyzję z posiedzenia można zapisać dopiero, gdy posiedzenie się zacznie.")


class SealUnreadable(ConsultationNoLongerApplies):
    """The sealed copy does not open (SECRET_KEY changed while the ballot ran): moving the
    counts now could count the voice twice, so the change is refused."""

    message = _l("Nie można odczytać zapisanego głosu, więc nie można go zmienić. Napisz do koordynacji koalicji.")


# ---- reading --------------------------------------------------------------------------------


def consultations_of(coalition, statuses=None):
    """The coalition's consultations, newest first (`statuses`: only these)."""
    statement = select(Consultation).where(Consultation.coalition_id == coalition.id)
    if statuses:
        statement = statement.where(Consultation.status.in_([str(s) for s in statuses]))
    return db.session.scalars(statement.order_by(Consultation.created_at.desc(), Consultation.id.desc())).all()


def public_consultations(coalition):
    """What the coalition's public pages list: everything but drafts."""
    return consultations_of(
        coalition, [ConsultationStatus.SCHEDULED, ConsultationStatus.OPEN, ConsultationStatus.CLOSED]
    )


def current_choice(member):
    """The option ids the member's voice holds now ([] before they took part; for a secret
    ballot unsealed from their copy, [] after the close, when the copies are gone)."""
    if member.consultation.secret:
        try:
            return unseal(member.consultation_id, member.sealed_choice)
        except InvalidToken:
            return []
    return list(member.choice or [])


def current_opinions(member):
    """{section number: text} of the member's opinions."""
    rows = db.session.scalars(select(ConsultationOpinion).where(ConsultationOpinion.member_id == member.id))
    return {row.section: row.text for row in rows}


def member_from_token(token):
    """The roll's row a personal link was made for.

    Raises TokenInvalid / TokenExpired (a broken or foreign link), LinkReplaced (the
    organisation's link went to another representative) or EntryNotOnList (the entry was
    withdrawn or is no longer approved). A link stays valid after the close: it then shows
    the results (record_voice refuses voices then).
    """
    payload = read_token(VOICE_PURPOSE, token, VOICE_LINK_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("m"), int) or not isinstance(payload.get("n"), str):
        raise TokenInvalid
    member = db.session.get(ConsultationMember, payload["m"])
    if member is None:
        raise TokenInvalid
    if not secrets.compare_digest(payload["n"], member.link_nonce):
        raise LinkReplaced()
    signature = member.signature
    if signature is None or signature.status != SignatureStatus.APPROVED:
        raise EntryNotOnList()
    return member


# ---- the roll -------------------------------------------------------------------------------


def member_key(signature):
    """What makes one voice: an organisation's KRS, else NIP, else REGON, else its folded name
    (however many representatives signed); a person's mailbox; a paper entry without an address
    is a voice of its own."""
    if signature.is_organisation:
        for prefix, value in (("krs", signature.krs), ("nip", signature.nip), ("regon", signature.regon)):
            if value:
                return f"{prefix}:{value}"
        name = " ".join(search_key(signature.organisation_name).split())
        if name:
            return f"org:{name}"
    elif signature.email:
        return f"person:{signature.email_key}"
    return f"entry:{signature.id}"


def _approval_order(signature):
    # Entries without an approval time (older data) after those with one; then by id.
    return (signature.approved_at is None, signature.approved_at or datetime.min, signature.id)


def _approved_entries(coalition_id):
    """Every approved signature of the coalition's declarations, first approved first."""
    signatures = db.session.scalars(
        select(Signature).where(
            Signature.declaration_id.in_(select(Declaration.id).where(Declaration.coalition_id == coalition_id)),
            Signature.status == SignatureStatus.APPROVED,
        )
    ).all()
    return sorted(signatures, key=_approval_order)


def _voices(coalition_id):
    """{member key: the approved entries that make that one voice, first approved first}, now."""
    voices = {}
    for signature in _approved_entries(coalition_id):
        voices.setdefault(member_key(signature), []).append(signature)
    return voices


def _link_holder(entries):
    """Who receives a voice's link: the first approved entry with an address (the first approved
    at all when none has one)."""
    return next((signature for signature in entries if signature.email), entries[0])


@dataclass
class RollPreview:
    size: int  # voices on the roll if it were taken now
    mailed: int  # of them, how many would get their personal link (an entry with an address)


def roll_preview(coalition):
    """What opening the consultation now would take as its roll, for the coordinator's confirmation."""
    voices = _voices(coalition.id)
    return RollPreview(len(voices), sum(1 for entries in voices.values() if _link_holder(entries).email))


def _take_roll(consultation):
    """One row per voice among the approved allies now, its link for `_link_holder`."""
    members = []
    for key, entries in _voices(consultation.coalition_id).items():
        holder = _link_holder(entries)
        members.append(
            ConsultationMember(
                consultation=consultation,
                signature=holder,
                member_key=key,
                is_organisation=holder.is_organisation,
                link_nonce=secrets.token_hex(16),
            )
        )
    return members


def organisation_entries(member):
    """The organisation's approved entries in the coalition now (the representatives a
    coordinator may give its link to), first approved first."""
    if not member.is_organisation:
        return []
    return [
        s for s in _approved_entries(member.consultation.coalition_id)
        if s.is_organisation and member_key(s) == member.member_key
    ]


def _start(consultation, now, invite=True):
    """Take the roll, open, and e-mail every member with an address their personal link."""
    members = _take_roll(consultation)
    db.session.add_all(members)
    consultation.status = ConsultationStatus.OPEN
    consultation.opened_at = now
    consultation.roll_size = len(members)
    db.session.flush()  # the links carry the members' ids
    if invite:
        invited = [member for member in members if reachable(member)]
        notify_invitation(invited)
        for member in invited:
            member.invited_at = now


# ---- drafts ---------------------------------------------------------------------------------


def _audit(consultation, what, coordinator, details=None):
    record(
        AuditAction.CONSULTATION,
        _l("Konsultacja „%(title)s”: %(what)s", title=consultation.title, what=what),
        coalition_id=consultation.coalition_id,
        subject=consultation,
        details=details,
        coordinator=coordinator,
    )


def _optional_int(value, low, high, message):
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        refuse(InvalidSettings(message))
    if not low <= number <= high:
        refuse(InvalidSettings(message))
    return number


def _apply(consultation, data):
    """Put a draft's data (create_consultation's keys) on the row, or refuse what cannot work."""
    try:
        kind = ConsultationKind(data.get("kind") or ConsultationKind.DECISION)
        rule = DecidingRule(data.get("rule") or DecidingRule.MAJORITY)
    except ValueError:
        refuse(InvalidSettings(_l("Nieznany rodzaj konsultacji lub zasada decyzji.")))
    title = (data.get("title") or "").strip()
    if not title:
        refuse(InvalidSettings(_l("Podaj tytuł konsultacji.")))
    secret = bool(data.get("secret"))
    if kind == ConsultationKind.OPINIONS and secret:
        refuse(InvalidSettings(_l("Konsultacja z opiniami nie może być tajna: opinie są podpisane.")))
    live_results = bool(data.get("live_results"))
    if secret and live_results:
        # Counts moving as the receipts go out would tell, voice by voice, who chose what.
        refuse(InvalidSettings(_l(
            "Głosowanie tajne nie może mieć wyników na bieżąco: z ich zmian dałoby się odczytać, jak głosowały kolejne osoby."
        )))
    if rule == DecidingRule.NO_OBJECTION and kind in (ConsultationKind.SINGLE, ConsultationKind.MULTIPLE):
        refuse(InvalidSettings(_l("Zasada „brak sprzeciwu” dotyczy tylko decyzji za/przeciw.")))
    labels = [label.strip() for label in data.get("options") or [] if label and label.strip()]
    if kind in (ConsultationKind.SINGLE, ConsultationKind.MULTIPLE) and len(labels) < 2:
        refuse(InvalidSettings(_l("Podaj co najmniej dwie odpowiedzi do wyboru.")))
    consultation.title = title
    consultation.body = data.get("body") or ""
    consultation.kind = kind
    consultation.rule = rule
    consultation.secret = secret
    consultation.sections = (
        [s.strip() for s in data.get("sections") or [] if s and s.strip()] if kind == ConsultationKind.OPINIONS else []
    )
    consultation.opens_at = data.get("opens_at")
    consultation.closes_at = data.get("closes_at")
    consultation.quorum_percent = _optional_int(
        data.get("quorum_percent"), 1, 100, _l("Kworum to liczba od 1 do 100 (procent listy członków).")
    )
    consultation.reminder_days = _optional_int(
        data.get("reminder_days"), 0, 365, _l("Przypomnienie: podaj liczbę dni przed zamknięciem (0–365).")
    )
    consultation.live_results = live_results
    consultation.results_public = bool(data.get("results_public", True))
    if kind == ConsultationKind.DECISION:
        options = [ConsultationOption(position=n, code=code) for n, code in enumerate(DecisionOption, start=1)]
    elif kind == ConsultationKind.OPINIONS:
        options = []
    else:
        options = [ConsultationOption(position=n, label=label) for n, label in enumerate(labels, start=1)]
    if consultation.options:
        consultation.options.clear()
        db.session.flush()  # the old rows go before the new take their positions
    consultation.options.extend(options)


def create_consultation(coalition, data, coordinator):
    """A draft (only coordinators see it). `data`: title, body, kind, options (labels; the
    decision's three are fixed), sections, opens_at, closes_at (naive UTC or None),
    quorum_percent, rule, secret, live_results, results_public, reminder_days."""
    consultation = Consultation(coalition_id=coalition.id, created_by_id=coordinator.id)
    db.session.add(consultation)
    _apply(consultation, data)
    _audit(consultation, _l("utworzono wersję roboczą"), coordinator)
    db.session.commit()
    return consultation


def _locked(consultation):
    locked = lock(Consultation, getattr(consultation, "id", consultation))
    if locked is None:
        refuse(ConsultationGone())
    return locked


def update_draft(consultation, data, coordinator):
    consultation = _locked(consultation)
    if not consultation.is_draft:
        refuse(NotADraft())
    _apply(consultation, data)
    _audit(consultation, _l("zmieniono wersję roboczą"), coordinator)
    db.session.commit()
    return consultation


def delete_draft(consultation, coordinator):
    consultation = _locked(consultation)
    if not consultation.is_draft:
        refuse(NotADraft())
    _audit(consultation, _l("usunięto wersję roboczą"), coordinator)
    db.session.delete(consultation)
    db.session.commit()


def open_consultation(consultation, coordinator, now=None):
    """Fix the consultation: scheduled when opens_at is still to come, else open now (the roll
    is taken and every member with an address gets their personal link)."""
    now = now or utcnow()
    consultation = _locked(consultation)
    if not consultation.is_draft:
        refuse(NotADraft())
    opens_at = consultation.opens_at or now
    if consultation.closes_at is None or consultation.closes_at <= max(now, opens_at):
        refuse(ClosingNotAfterOpening())
    if opens_at > now:
        consultation.status = ConsultationStatus.SCHEDULED
        _audit(consultation, _l("zaplanowano otwarcie"), coordinator)
    else:
        _start(consultation, now)
        _audit(consultation, _l("otwarto"), coordinator, {"roll_size": consultation.roll_size})
    db.session.commit()
    return consultation


def open_meeting_decision(event, data, coordinator, now=None):
    """A decision taken at a members' meeting, as a consultation whose voices a coordinator
    enters from the meeting: open at once with the roll, nobody e-mailed, closed by the
    coordinator when the voices are in (closes_at is only a backstop)."""
    now = now or utcnow()
    if not event.is_members_meeting:
        refuse(NotAMeeting())
    if event.is_cancelled or now < event.starts_at:
        refuse(MeetingNotStarted())
    if data.get("kind") == ConsultationKind.OPINIONS:
        refuse(InvalidSettings(_l("Na posiedzeniu zapisuje się decyzję lub wybór, nie opinie.")))
    consultation = Consultation(coalition_id=event.coalition_id, created_by_id=coordinator.id, meeting_event_id=event.id)
    db.session.add(consultation)
    _apply(consultation, data | {"opens_at": now, "closes_at": now + timedelta(days=MEETING_DECISION_DAYS)})
    consultation.reminder_days = None
    consultation.live_results = False
    _start(consultation, now, invite=False)
    _audit(consultation, _l("decyzja z posiedzenia"), coordinator, {"event": event.id, "roll_size": consultation.roll_size})
    db.session.commit()
    return consultation


# ---- voices ---------------------------------------------------------------------------------


@dataclass
class VoiceRecorded:
    changed: bool  # False: the same voice again, nothing written
    at: datetime  # when the voice (as it is now) was recorded


def _checked_choice(consultation, option_ids):
    try:
        chosen = sorted({int(i) for i in option_ids or []})
    except (TypeError, ValueError):
        refuse(InvalidVoice(_l("Ta odpowiedź nie należy do tej konsultacji.")))
    if not set(chosen) <= {option.id for option in consultation.options}:
        refuse(InvalidVoice(_l("Ta odpowiedź nie należy do tej konsultacji.")))
    if consultation.kind == ConsultationKind.MULTIPLE:
        # Approval voting: at least one approved option (a voice approving none is not a voice).
        if not chosen:
            refuse(InvalidVoice(_l("Wybierz co najmniej jedną odpowiedź.")))
    elif len(chosen) != 1:
        refuse(InvalidVoice(_l("Wybierz jedną odpowiedź.")))
    return chosen


def _move_counts(consultation, old, new):
    """Old choice's options −1, new +1, in one UPDATE of *every* option row of the consultation
    (+0 for the untouched): on PostgreSQL all carry the same transaction id (xmin) afterwards,
    so nothing tells which counter moved in whose transaction."""
    deltas = {option.id: 0 for option in consultation.options}
    for option_id in old:
        deltas[option_id] -= 1
    for option_id in new:
        deltas[option_id] += 1
    db.session.execute(
        update(ConsultationOption)
        .where(ConsultationOption.consultation_id == consultation.id)
        .values(votes=ConsultationOption.votes + case(deltas, value=ConsultationOption.id, else_=0))
        .execution_options(synchronize_session=False)
    )
    for option in consultation.options:
        db.session.expire(option, ["votes"])


def _record_choice(consultation, member, option_ids):
    """Write the member's choice (sealed for a secret ballot); False when it is the same."""
    new = _checked_choice(consultation, option_ids)
    if consultation.secret:
        try:
            old = unseal(consultation.id, member.sealed_choice)
        except InvalidToken:
            refuse(SealUnreadable())
    else:
        old = list(member.choice or [])
    if sorted(old) == new:
        return False
    _move_counts(consultation, old, new)
    if consultation.secret:
        member.sealed_choice = seal(consultation.id, new)
    else:
        member.choice = new
    return True


def _record_opinions(consultation, member, opinions, now):
    """Set (or, with an empty text, delete) the opinion of each given section; False when none
    changed. At least one opinion must be left."""
    existing = {
        row.section: row
        for row in db.session.scalars(select(ConsultationOpinion).where(ConsultationOpinion.member_id == member.id))
    }
    changed = False
    for section, text in (opinions or {}).items():
        try:
            section = int(section)
        except (TypeError, ValueError):
            refuse(InvalidVoice(_l("Nie ma takiej części projektu.")))
        if not 0 <= section <= len(consultation.sections or []):
            refuse(InvalidVoice(_l("Nie ma takiej części projektu.")))
        text = (text or "").strip()
        if len(text) > OPINION_MAX_LENGTH:
            refuse(InvalidVoice(_l("Opinia może mieć najwyżej %(count)s znaków.", count=OPINION_MAX_LENGTH)))
        row = existing.get(section)
        if not text:
            if row is not None:
                db.session.delete(existing.pop(section))
                changed = True
        elif row is None:
            existing[section] = ConsultationOpinion(
                consultation_id=consultation.id, member_id=member.id, section=section, text=text, updated_at=now
            )
            db.session.add(existing[section])
            changed = True
        elif row.text != text:
            row.text, row.updated_at = text, now
            changed = True
    if not existing:
        refuse(InvalidVoice(_l("Napisz opinię w co najmniej jednym polu.")))
    return changed


def _locked_member(member, now):
    """(consultation, member) read again under the consultation's lock, refused unless it takes
    voices (a roll exists only once it opened, so it is open or closed)."""
    consultation = _locked(member.consultation_id)
    member = db.session.get(ConsultationMember, member.id, populate_existing=True)
    if not consultation.accepts_voices(now):
        refuse(AlreadyClosed())
    return consultation, member


def _record(consultation, member, option_ids, opinions, now):
    if consultation.asks_opinions:
        return _record_opinions(consultation, member, opinions, now)
    return _record_choice(consultation, member, option_ids)


def _refuse_unless_on_list(member):
    """A withdrawn (or deleted, or no longer approved) entry gives no new voice; the one it gave
    stays counted. An organisation's voice goes on through another representative
    (choose_representative)."""
    signature = member.signature
    if signature is None or signature.status != SignatureStatus.APPROVED:
        refuse(EntryNotOnList())


def record_voice(member, option_ids, opinions=None, now=None):
    """The member's own voice through their link (`opinions` {section: text} for an opinions
    consultation, ignored otherwise). The same voice again writes and sends nothing; a changed
    one moves the counts and queues a receipt that says when, never what."""
    now = now or utcnow()
    consultation, member = _locked_member(member, now)
    if consultation.from_meeting:
        refuse(MeetingVoicesOnly())
    _refuse_unless_on_list(member)
    if not _record(consultation, member, option_ids, opinions, now):
        at = member.took_part_at
        db.session.rollback()
        return VoiceRecorded(changed=False, at=at)
    first = member.took_part_at is None
    member.took_part_at = now
    member.method = VoiceMethod.LINK
    member.note = ""
    member.recorded_by_id = None
    if reachable(member):
        notify_receipt(member, first)
    db.session.commit()
    return VoiceRecorded(changed=True, at=now)


def record_voice_by_coordinator(member, option_ids, method, note, coordinator, opinions=None, now=None):
    """A voice given on paper or at a meeting (`method`), entered by a coordinator with a note
    (where, on what). Audited: that it was entered and how, never what, whatever the ballot.
    A voice the member gave through their own link is not overwritten."""
    now = now or utcnow()
    method = VoiceMethod(method)
    if method == VoiceMethod.LINK:
        raise ValueError("a coordinator enters paper or meeting voices only")
    consultation, member = _locked_member(member, now)
    _refuse_unless_on_list(member)
    if member.method == VoiceMethod.LINK:
        refuse(VotedByLink())
    note = (note or "").strip()[:500]
    changed = _record(consultation, member, option_ids, opinions, now)
    if not changed and member.method == method and member.note == note:
        at = member.took_part_at
        db.session.rollback()
        return VoiceRecorded(changed=False, at=at)
    member.took_part_at = now
    member.method = method
    member.note = note
    member.recorded_by_id = coordinator.id
    _audit(
        consultation,
        _l("wpisano głos (%(method)s): %(member)s", method=member.method_label, member=member.signature.audit_name),
        coordinator,
        {"member": member.id, "method": method.value},
    )
    db.session.commit()
    return VoiceRecorded(changed=True, at=now)


# ---- while it runs --------------------------------------------------------------------------


def choose_representative(member, signature, coordinator, now=None):
    """Give the organisation's link to another of its approved representatives: a new nonce
    (the old link stops working), the link e-mailed to the new one. The voice stays the
    organisation's (counted, visible and changeable by whoever holds the link)."""
    now = now or utcnow()
    consultation, member = _locked_member(member, now)
    if not member.is_organisation:
        refuse(NotAnOrganisation())
    signature_id = getattr(signature, "id", signature)
    chosen = next((s for s in organisation_entries(member) if s.id == signature_id and s.email), None)
    if chosen is None:
        refuse(NotARepresentative())
    if chosen.id == member.signature_id:
        refuse(AlreadyRepresentative())
    member.signature = chosen
    member.link_nonce = secrets.token_hex(16)
    if not consultation.from_meeting:
        notify_invitation([member], reason="representative")
        member.invited_at = now
    _audit(
        consultation,
        _l("link organizacji przekazano: %(member)s", member=chosen.audit_name),
        coordinator,
        {"member": member.id, "signature": chosen.id},
    )
    db.session.commit()
    return member


def _members_to_remind(consultation, not_since):
    """Members who have not taken part, reachable, not reminded since `not_since` (None: ever)."""
    members = db.session.scalars(
        select(ConsultationMember)
        .where(
            ConsultationMember.consultation_id == consultation.id,
            ConsultationMember.took_part_at.is_(None),
            ConsultationMember.signature_id.is_not(None),
        )
        .options(selectinload(ConsultationMember.signature))
        .order_by(ConsultationMember.id)
    ).all()
    return [
        m for m in members
        if reachable(m) and (m.reminded_at is None or (not_since is not None and m.reminded_at < not_since))
    ]


def reminder_due(consultation, now):
    """The automatic reminder's time has come and it has not gone yet."""
    return (
        consultation.is_open
        and not consultation.from_meeting
        and consultation.reminder_days is not None
        and consultation.reminder_sent_at is None
        and consultation.accepts_voices(now)
        and now >= consultation.closes_at - timedelta(days=consultation.reminder_days)
    )


def send_reminders(consultation, coordinator=None, now=None):
    """A reminder to every member who has not taken part yet; returns how many were sent.

    By hand (`coordinator`, audited): to those not reminded in the last HAND_REMINDER_GAP (a
    double click sends nothing more). Automatic (the tick): to those not reminded since the
    reminder window began, once. Refused unless the consultation takes voices."""
    now = now or utcnow()
    consultation = _locked(consultation)
    if consultation.is_closed or (consultation.is_open and not consultation.accepts_voices(now)):
        refuse(AlreadyClosed())
    if not consultation.is_open:
        refuse(NotOpen())
    if consultation.from_meeting:
        refuse(MeetingVoicesOnly())
    if coordinator is not None:
        not_since = now - HAND_REMINDER_GAP
    else:
        not_since = consultation.closes_at - timedelta(days=consultation.reminder_days or 0)
        consultation.reminder_sent_at = now
    members = _members_to_remind(consultation, not_since)
    notify_reminder(members)
    for member in members:
        member.reminded_at = now
    if coordinator is not None:
        _audit(consultation, _l("wysłano przypomnienie"), coordinator, {"recipients": len(members)})
    db.session.commit()
    return len(members)


def extend_closing(consultation, closes_at, coordinator, now=None):
    """A later closing time, the one change allowed once it is fixed: audited, and every
    member with an address told (when it is already open)."""
    now = now or utcnow()
    consultation = _locked(consultation)
    if consultation.is_draft:
        refuse(StillADraft())
    if consultation.is_closed or now >= consultation.closes_at:
        refuse(AlreadyClosed())
    if closes_at is None or closes_at <= consultation.closes_at:
        refuse(NotLater())
    previous = consultation.closes_at
    consultation.closes_at = closes_at
    if consultation.is_open and not consultation.from_meeting:
        members = db.session.scalars(
            select(ConsultationMember)
            .where(ConsultationMember.consultation_id == consultation.id)
            .options(selectinload(ConsultationMember.signature))
            .order_by(ConsultationMember.id)
        )
        notify_extended([member for member in members if reachable(member)], previous)
    _audit(
        consultation,
        _l("przedłużono termin zamknięcia"),
        coordinator,
        {"closes_at": [previous.isoformat(timespec="minutes"), closes_at.isoformat(timespec="minutes")]},
    )
    db.session.commit()
    return consultation


def close_consultation(consultation, now=None, coordinator=None):
    """Close it: by the tick once closes_at has passed, or by a coordinator for a decision from
    a meeting (its voices entered). The sealed copies of a secret ballot are erased here: from
    now on nothing ties a voice to a member. Refused when already closed (safe to repeat)."""
    now = now or utcnow()
    consultation = _locked(consultation)
    if consultation.is_closed:
        refuse(AlreadyClosed())
    if consultation.is_draft:
        refuse(StillADraft())
    if now < consultation.closes_at and not (coordinator is not None and consultation.from_meeting):
        refuse(NoEarlyClose())
    if consultation.status == ConsultationStatus.SCHEDULED:
        _start(consultation, now, invite=False)  # never opened by a tick: its roll, for the record
    consultation.status = ConsultationStatus.CLOSED
    consultation.closed_at = now
    db.session.execute(
        update(ConsultationMember)
        .where(ConsultationMember.consultation_id == consultation.id)
        .values(sealed_choice=None)
        .execution_options(synchronize_session=False)
    )
    if coordinator is not None:
        _audit(consultation, _l("zamknięto"), coordinator)
    db.session.commit()
    return consultation


def set_resolution(consultation, text, coordinator):
    """The resolution text or minutes, published with the protocol; only after the close."""
    consultation = _locked(consultation)
    if not consultation.is_closed:
        refuse(NotClosedYet())
    consultation.resolution = (text or "").strip()
    _audit(consultation, _l("zapisano uchwałę lub protokół"), coordinator)
    db.session.commit()
    return consultation


def resend_links(coalition, email, now=None):
    """E-mail the personal links of the coalition's running consultations whose roll holds this
    address (as the link's holder). Says nothing and returns nothing either way: the form must
    not tell who is a member."""
    now = now or utcnow()
    key = mailbox_key(email or "")
    members = db.session.scalars(
        select(ConsultationMember)
        .join(Consultation, Consultation.id == ConsultationMember.consultation_id)
        .join(Signature, Signature.id == ConsultationMember.signature_id)
        .where(
            Consultation.coalition_id == coalition.id,
            Consultation.status == ConsultationStatus.OPEN,
            Consultation.meeting_event_id.is_(None),
            Consultation.closes_at > now,
            Signature.email_key == key,
            Signature.status == SignatureStatus.APPROVED,
        )
        .order_by(ConsultationMember.id)
    ).all()
    notify_invitation(members, reason="resend")
    db.session.commit()


# ---- the clock ------------------------------------------------------------------------------


def tick(now=None):
    """Open the scheduled consultations that are due, send the automatic reminders that are due,
    close those past closes_at. Safe to run often and in several processes (each step locks
    and re-checks). Returns {"opened": n, "reminded": n (e-mails), "closed": n}."""
    now = now or utcnow()
    report = {"opened": 0, "reminded": 0, "closed": 0}
    due = db.session.scalars(
        select(Consultation.id).where(Consultation.status == ConsultationStatus.SCHEDULED, Consultation.opens_at <= now)
    ).all()
    for consultation_id in due:
        consultation = lock(Consultation, consultation_id)
        if consultation is None or consultation.status != ConsultationStatus.SCHEDULED:
            db.session.rollback()
            continue
        if consultation.closes_at > now:  # past its close too: the close below takes its roll
            _start(consultation, now)
            report["opened"] += 1
        db.session.commit()
    running = db.session.scalars(
        select(Consultation).where(Consultation.status == ConsultationStatus.OPEN, Consultation.reminder_sent_at.is_(None))
    ).all()
    for consultation in running:
        if reminder_due(consultation, now):
            try:
                report["reminded"] += send_reminders(consultation, now=now)
            except ConsultationNoLongerApplies:
                continue
    past = db.session.scalars(
        select(Consultation.id).where(
            Consultation.status.in_([ConsultationStatus.OPEN, ConsultationStatus.SCHEDULED]),
            Consultation.closes_at <= now,
        )
    ).all()
    for consultation_id in past:
        try:
            close_consultation(consultation_id, now=now)
        except ConsultationNoLongerApplies:
            continue
        report["closed"] += 1
    return report

