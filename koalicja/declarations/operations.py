"""Reading a coalition's declaration and its public list of allies."""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..coalitions.models import Declaration, DeclarationVersion, Endorsement, EndorsementMethod, VersionKind
from ..coordinators.audit import AuditAction, record
from ..exports import Column, Kind, Table, json_document
from ..extensions import db
from ..locking import NoLongerApplies, lock, lock_where, refuse
from ..paging import paginate
from ..signatures.districts import DISTRICTS, district_slug
from ..signatures.models import SECTOR_LABELS, Sector, Signature, SignatureOrigin, SignatureStatus, SignerKind
from ..signatures.notifications import (
    ENDORSE_LINK_MAX_AGE_DAYS,
    ENDORSE_PURPOSE,
    notify_annex_endorsement_invite,
    signature_stamp,
)
from ..text import escape_like, search_key
from ..timeutil import utc_to_warsaw, utcnow
from ..tokens import TokenInvalid, read_token

# The filter of the public list: everyone, one kind of signer, or one sector.
WHO_PERSONS = "osoby"
WHO_ORGANISATIONS = "organizacje"
WHO_CHOICES = [("", _l("Wszyscy")), (WHO_PERSONS, _l("Osoby prywatne")), (WHO_ORGANISATIONS, _l("Wszystkie organizacje"))] + [
    (sector.value, label) for sector, label in SECTOR_LABELS.items()
]
ORDER_NEWEST = "najnowsi"
ORDER_ALPHABETICAL = "alfabetycznie"
ORDER_CHOICES = [(ORDER_NEWEST, _l("od najnowszych")), (ORDER_ALPHABETICAL, _l("alfabetycznie"))]
MAX_QUERY_LENGTH = 100


def _coalition_signatures(coalition):
    declaration_ids = select(Declaration.id).where(Declaration.coalition_id == coalition.id)
    return Signature.declaration_id.in_(declaration_ids)


def count_allies(coalition):
    """Everyone approved, including those who chose not to appear by name."""
    return db.session.scalar(
        select(func.count(Signature.id)).where(
            _coalition_signatures(coalition), Signature.status == SignatureStatus.APPROVED
        )
    )


def allies_per_coalition():
    """{coalition id: number of approved allies} for every coalition, in one query."""
    rows = db.session.execute(
        select(Declaration.coalition_id, func.count(Signature.id))
        .join(Signature, Signature.declaration_id == Declaration.id)
        .where(Signature.status == SignatureStatus.APPROVED)
        .group_by(Declaration.coalition_id)
    )
    return dict(rows.all())


@dataclass
class AllyCounts:
    persons: int
    organisations: int
    updated: datetime  # naive UTC: when the count last changed (an approval or a withdrawal)

    @property
    def total(self):
        return self.persons + self.organisations


def ally_counts(coalition):
    """Approved allies by kind, named on the list or not (as count_allies counts them), and
    when that last changed: the newest approval or withdrawal, else the coalition's creation.
    Two queries."""
    by_kind = dict(
        db.session.execute(
            select(Signature.kind, func.count(Signature.id))
            .where(_coalition_signatures(coalition), Signature.status == SignatureStatus.APPROVED)
            .group_by(Signature.kind)
        ).all()
    )
    approved, withdrawn = db.session.execute(
        select(func.max(Signature.approved_at), func.max(Signature.withdrawn_at)).where(_coalition_signatures(coalition))
    ).one()
    return AllyCounts(
        persons=by_kind.get(SignerKind.PERSON, 0),
        organisations=by_kind.get(SignerKind.ORGANISATION, 0),
        updated=max((moment for moment in (approved, withdrawn) if moment), default=coalition.created_at),
    )


def list_allies(coalition, query="", who="", order=ORDER_NEWEST, page="1", per_page=50, district=""):
    """One page (`page`: `?strona=` as typed) of the published list, searched and filtered."""
    conditions = [_coalition_signatures(coalition), Signature.listed.is_(True)]
    needle = search_key((query or "")[:MAX_QUERY_LENGTH]).strip()
    if needle:
        conditions.append(Signature.list_search_key.like(f"%{escape_like(needle)}%", escape="\\"))
    if who == WHO_PERSONS:
        conditions.append(Signature.kind == SignerKind.PERSON)
    elif who == WHO_ORGANISATIONS:
        conditions.append(Signature.kind == SignerKind.ORGANISATION)
    elif who in {s.value for s in Sector}:
        conditions.append(Signature.kind == SignerKind.ORGANISATION)
        conditions.append(Signature.sector == who)
    if district:
        conditions.append(Signature.district == district)

    if order == ORDER_ALPHABETICAL:
        ordering = (Signature.list_sort_key, Signature.id)
    else:
        ordering = (Signature.approved_at.desc(), Signature.id.desc())
    return paginate(
        select(Signature)
        # The version signed (joined) and the annexes endorsed (one more query), not one per row.
        .options(joinedload(Signature.version), selectinload(Signature.endorsements).joinedload(Endorsement.annex))
        .where(*conditions)
        .order_by(*ordering),
        page,
        per_page,
    )


@dataclass
class DistrictCount:
    name: str
    slug: str
    count: int


def district_counts(coalition):
    """Listed allies per Kraków district, all 18 in order (zeros too), in one query.

    Only entries on the public list count: a district is never shown or counted for someone
    who chose not to appear by name. Empty when no listed ally gave a district.
    """
    rows = db.session.execute(
        select(Signature.district, func.count(Signature.id))
        .where(_coalition_signatures(coalition), Signature.listed.is_(True), Signature.district.in_(DISTRICTS))
        .group_by(Signature.district)
    ).all()
    counts = dict(rows)
    if not counts:
        return []
    return [DistrictCount(name, district_slug(name), counts.get(name, 0)) for name in DISTRICTS]



# ---- the printable declaration and the coordinators' export ----------------------------------


@dataclass
class Signatories:
    listed: list  # on the public list, in the order they joined
    unnamed: int  # approved under this text, but not wishing to be named


def signatories_of(version):
    """Who signed exactly this text, for its printed copy (two queries)."""
    listed = db.session.scalars(
        select(Signature)
        .where(Signature.version_id == version.id, Signature.listed.is_(True))
        .order_by(Signature.approved_at, Signature.id)
    ).all()
    approved = db.session.scalar(
        select(func.count(Signature.id)).where(
            Signature.version_id == version.id, Signature.status == SignatureStatus.APPROVED
        )
    )
    return Signatories(listed=listed, unnamed=approved - len(listed))


# The export's columns: JSON keys and the spreadsheet's header, with the kind of each value.
ALLY_EXPORT_COLUMNS = [
    Column("id", _l("Nr wpisu"), Kind.NUMBER),
    Column("kind", _l("Rodzaj")),
    Column("name", _l("Imię i nazwisko")),
    Column("organisation", _l("Organizacja")),
    Column("role", _l("Funkcja")),
    Column("sector", _l("Rodzaj organizacji")),
    Column("email", _l("E-mail")),
    Column("city", _l("Miejscowość")),
    Column("district", _l("Dzielnica")),
    Column("krs", _l("KRS")),
    Column("nip", _l("NIP")),
    Column("regon", _l("REGON")),
    Column("origin", _l("Forma podpisu")),
    Column("version", _l("Podpisana wersja"), Kind.NUMBER),
    Column("approved_at", _l("Zatwierdzono (czas polski)"), Kind.MOMENT),
    Column("public_name", _l("Zgoda na pokazanie imienia i nazwiska")),
    Column("public_organisation", _l("Zgoda na pokazanie organizacji")),
    Column("listed", _l("Na publicznej liście")),
    Column("contact_allowed", _l("Zgoda na wiadomości od koalicji")),
]
# The spreadsheet shows codes as words; JSON keeps the codes.
_SPREADSHEET_WORDS = {
    "kind": {SignerKind.PERSON: _l("osoba prywatna"), SignerKind.ORGANISATION: _l("organizacja")},
    "sector": SECTOR_LABELS,
    "origin": {SignatureOrigin.ONLINE: _l("online"), SignatureOrigin.PAPER: _l("papier")},
}


def approved_allies(coalition):
    """Every approved entry of the coalition as plain records, listed publicly or not: the
    coordinators' own data. Oldest first, one query; times as stored (naive UTC)."""
    rows = db.session.execute(
        select(Signature, DeclarationVersion.number)
        .outerjoin(DeclarationVersion, Signature.version_id == DeclarationVersion.id)
        .where(_coalition_signatures(coalition), Signature.status == SignatureStatus.APPROVED)
        .order_by(Signature.approved_at, Signature.id)
    ).all()
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "name": s.full_name,
            "organisation": s.organisation_name,
            "role": s.role,
            "sector": s.sector,
            "email": s.email,
            "city": s.city,
            "district": s.district,
            "krs": s.krs,
            "nip": s.nip,
            "regon": s.regon,
            "origin": s.origin,
            "version": number,
            "approved_at": s.approved_at,
            "public_name": s.public_name,
            "public_organisation": s.public_organisation,
            "listed": s.listed,
            "contact_allowed": s.contact_allowed,
        }
        for s, number in rows
    ]


def _spreadsheet_value(key, value):
    if isinstance(value, bool):
        return _("tak") if value else _("nie")
    words = _SPREADSHEET_WORDS.get(key, {})
    return str(words[value]) if value in words else value


def _json_record(entry):
    approved_at = entry["approved_at"]
    return entry | {"approved_at": utc_to_warsaw(approved_at).isoformat(timespec="seconds") if approved_at else None}


def export_allies(coalition, file_format, coordinator):
    """The approved allies as a table (for CSV or XLSX) or a JSON document; the download is
    recorded in the audit log, since personal data leaves the app."""
    records = approved_allies(coalition)
    if file_format == "json":
        document = json_document([_json_record(entry) for entry in records])
    else:
        document = Table(
            ALLY_EXPORT_COLUMNS,
            [[_spreadsheet_value(column.key, entry[column.key]) for column in ALLY_EXPORT_COLUMNS] for entry in records],
            title=_("Sojusznicy"),
        )
    record(
        AuditAction.EXPORT,
        _l("Pobrano listę sojuszników (%(format)s, %(count)s)", format=file_format.upper(), count=len(records)),
        coalition_id=coalition.id,
        details={"format": file_format, "count": len(records)},
        coordinator=coordinator,
    )
    db.session.commit()
    return document

# ---- versions and annexes ------------------------------------------------------------------
#
# A declaration's texts and annexes are drafted in the panel, then published; a published one
# never changes again and stays readable at its own address. At most one draft of each kind
# exists at a time, so versions are published in the order of their numbers.

ENDORSE_LINK_MAX_AGE = ENDORSE_LINK_MAX_AGE_DAYS * 86400


def current_version_id(coalition):
    """The id of the text new people sign today (one query; the model's property loads every version)."""
    return db.session.scalar(
        select(DeclarationVersion.id)
        .join(Declaration)
        .where(
            Declaration.coalition_id == coalition.id,
            Declaration.is_current.is_(True),
            DeclarationVersion.kind == VersionKind.TEXT,
            DeclarationVersion.published_at.is_not(None),
        )
        .order_by(Declaration.id.desc(), DeclarationVersion.id.desc())
        .limit(1)
    )


def find_version(declaration, kind, number, published_only=True):
    """A version or annex of this declaration by its number; drafts only when asked for."""
    if declaration is None:
        return None
    for version in declaration.versions:
        if version.kind == kind and version.number == number:
            return version if version.published_at is not None or not published_only else None
    return None


def draft_of(declaration, kind):
    if declaration is None:
        return None
    return next((v for v in declaration.versions if v.kind == kind and v.published_at is None), None)


class DraftExists(Exception):
    """Someone else started a draft of this kind a moment ago."""


class VersionPublished(Exception):
    """A published version or annex never changes."""


def start_draft(coalition, kind, title, body, coordinator):
    """A new draft text (the declaration's next version) or annex; raises DraftExists."""
    declaration = coalition.current_declaration
    if declaration is None:
        declaration = Declaration(coalition=coalition)
        db.session.add(declaration)
    if draft_of(declaration, kind) is not None:
        raise DraftExists
    number = 1 + max((v.number for v in declaration.versions if v.kind == kind), default=0)
    version = DeclarationVersion(
        declaration=declaration, kind=kind, number=number, title=title, body=body, created_by_id=coordinator.id
    )
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError as error:  # the same number taken by a concurrent request
        db.session.rollback()
        raise DraftExists from error
    record(
        AuditAction.VERSION,
        _version_summary("draft", version),
        coalition_id=coalition.id,
        subject=version,
        details={"kind": kind, "number": number, "title": title},
        coordinator=coordinator,
    )
    db.session.commit()
    return version


def _change_while_draft(version, **values):
    """Set `values` on the version only if it is still a draft: checked in the UPDATE itself, so
    two coordinators at once cannot both get through. Raises VersionPublished otherwise."""
    changed = db.session.execute(
        update(DeclarationVersion)
        .where(DeclarationVersion.id == version.id, DeclarationVersion.published_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        db.session.rollback()
        raise VersionPublished


def update_draft(version, title, body, coordinator):
    """Change a draft; raises VersionPublished if it was published meanwhile."""
    _change_while_draft(version, title=title, body=body)
    record(
        AuditAction.VERSION,
        _version_summary("edit", version),
        coalition_id=version.declaration.coalition_id,
        subject=version,
        details={"title": [version.title, title], "body_changed": version.body != body},
        coordinator=coordinator,
    )
    db.session.commit()
    return version


def publish_version(version, coordinator):
    """Publish a draft: a text becomes what new people sign; an annex can be endorsed.

    Earlier signatures keep the version they were signed under. Raises VersionPublished when
    it was published already (a second click, or two coordinators at once).
    """
    now = utcnow()
    _change_while_draft(version, published_at=now)
    record(
        AuditAction.VERSION,
        _version_summary("publish", version),
        coalition_id=version.declaration.coalition_id,
        subject=version,
        details={"kind": version.kind, "number": version.number, "published_at": now.isoformat(timespec="seconds") + "Z"},
        coordinator=coordinator,
    )
    db.session.commit()
    return version


def _version_summary(what, version):
    """The audit log's one line, stored as a message and shown in the reader's language."""
    values = {"number": version.number, "title": version.title}
    if version.is_annex:
        return {
            "draft": _l("Nowy szkic: aneks %(number)s „%(title)s”", **values),
            "edit": _l("Zmieniony szkic: aneks %(number)s „%(title)s”", **values),
            "publish": _l("Opublikowano: aneks %(number)s „%(title)s”", **values),
        }[what]
    return {
        "draft": _l("Nowy szkic: wersja %(number)s „%(title)s”", **values),
        "edit": _l("Zmieniony szkic: wersja %(number)s „%(title)s”", **values),
        "publish": _l("Opublikowano: wersja %(number)s „%(title)s”", **values),
    }[what]


@dataclass
class VersionStatistics:
    approved: int  # approved signers of the declaration (whatever version they signed)
    signed: dict  # text version id -> approved signatures under it
    endorsed: dict  # annex id -> endorsements by approved signers


def version_statistics(declaration):
    """Counts for the panel's list of versions, in two grouped queries."""
    approved = [Signature.declaration_id == declaration.id, Signature.status == SignatureStatus.APPROVED]
    signed = dict(
        db.session.execute(
            select(Signature.version_id, func.count(Signature.id)).where(*approved).group_by(Signature.version_id)
        ).all()
    )
    endorsed = dict(
        db.session.execute(
            select(Endorsement.annex_id, func.count(Endorsement.id))
            .join(Signature, Endorsement.signature_id == Signature.id)
            .where(*approved)
            .group_by(Endorsement.annex_id)
        ).all()
    )
    return VersionStatistics(approved=sum(signed.values()), signed=signed, endorsed=endorsed)


def endorsements_of(annex):
    """Who endorsed the annex (approved signers), earliest first, with their signatures loaded."""
    return db.session.scalars(
        select(Endorsement)
        .join(Signature, Endorsement.signature_id == Signature.id)
        .options(contains_eager(Endorsement.signature))
        .where(Endorsement.annex_id == annex.id, Signature.status == SignatureStatus.APPROVED)
        .order_by(Endorsement.endorsed_at, Endorsement.id)
    ).all()


# ---- inviting signers to endorse an annex ----------------------------------------------------


def invitation_recipients(annex):
    """Approved signers with an e-mail address who have not endorsed the annex, one per mailbox."""
    endorsed = select(Endorsement.signature_id).where(Endorsement.annex_id == annex.id)
    signatures = db.session.scalars(
        select(Signature)
        .where(
            Signature.declaration_id == annex.declaration_id,
            Signature.status == SignatureStatus.APPROVED,
            Signature.email != "",
            Signature.id.not_in(endorsed),
        )
        .order_by(Signature.id)
    ).all()
    recipients, seen = [], set()
    for signature in signatures:
        if "@" not in signature.email or signature.email_key in seen:  # paper entries may have no address
            continue
        seen.add(signature.email_key)
        recipients.append(signature)
    return recipients


class NotAnAnnex(Exception):
    """Only a published annex can be endorsed."""


def invite_to_endorse(annex, coordinator):
    """Queue one invitation per eligible signer, in their language; returns how many."""
    if not annex.is_annex or annex.published_at is None:
        raise NotAnAnnex
    # The locking rule: the recipients' rows are locked, then read again, so that nobody who
    # withdraws at this moment is mailed (a withdrawal after this drops the invitation unsent).
    lock_where(Signature, Signature.declaration_id == annex.declaration_id, Signature.status == SignatureStatus.APPROVED)
    recipients = invitation_recipients(annex)
    for signature in recipients:
        notify_annex_endorsement_invite(signature, annex)
    record(
        AuditAction.ENDORSEMENT_INVITE,
        _l("Zaproszenie do poparcia: aneks %(number)s „%(title)s” (%(count)s)", number=annex.number, title=annex.title,
           count=len(recipients)),
        coalition_id=annex.declaration.coalition_id,
        subject=annex,
        details={"count": len(recipients)},
        coordinator=coordinator,
    )
    db.session.commit()
    return len(recipients)


class CannotEndorse(NoLongerApplies):
    """The link is genuine, but the signature was withdrawn or is no longer approved."""

    message = _l("Tego poparcia nie można już zapisać: podpis został wycofany albo nie jest zatwierdzony.")

    def __init__(self, annex):
        super().__init__()
        self.annex = annex


def endorsement_request(token):
    """The (signature, annex) an invitation link stands for; raises TokenExpired, TokenInvalid or CannotEndorse."""
    payload = read_token(ENDORSE_PURPOSE, token, ENDORSE_LINK_MAX_AGE)
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int) or not isinstance(payload.get("a"), int):
        raise TokenInvalid
    signature = db.session.get(Signature, payload["s"])
    annex = db.session.get(DeclarationVersion, payload["a"])
    if signature is None or annex is None or not annex.is_annex or annex.published_at is None:
        raise TokenInvalid
    if payload.get("c") != signature_stamp(signature):  # the id now belongs to someone else
        raise TokenInvalid
    if annex.declaration_id != signature.declaration_id:
        raise TokenInvalid
    if signature.status != SignatureStatus.APPROVED:
        raise CannotEndorse(annex)
    return signature, annex


def endorsement_by(signature, annex):
    return db.session.scalar(
        select(Endorsement).where(Endorsement.annex_id == annex.id, Endorsement.signature_id == signature.id)
    )


def endorse_annex(signature, annex):
    """Record the endorsement once; returns (endorsement, created). A second click changes nothing.

    The signature is locked and read again first: one withdrawn (or no longer approved) since
    the link was opened raises CannotEndorse, and nothing is written.
    """
    signature = lock(Signature, signature.id)
    if signature is None or signature.status != SignatureStatus.APPROVED:
        refuse(CannotEndorse(annex))
    existing = endorsement_by(signature, annex)
    if existing is not None:
        db.session.rollback()  # nothing to write: the lock is let go
        return existing, False
    endorsement = Endorsement(annex=annex, signature=signature, method=EndorsementMethod.EMAIL)
    db.session.add(endorsement)
    try:
        db.session.commit()
    except IntegrityError:  # the same link pressed twice at the same moment
        db.session.rollback()
        return endorsement_by(signature, annex), False
    return endorsement, True

