"""Reading a coalition's declaration and its public list of allies."""
import math
from dataclasses import dataclass

from flask import render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..signatures.models import SECTOR_LABELS, Sector, Signature, SignatureStatus, SignerKind
from ..text import escape_like, search_key
from .models import Coalition, Declaration

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


def privacy_notice_text(coalition):
    """The coalition's own notice, or the standard one filled in with its details."""
    if coalition.privacy_notice:
        return coalition.privacy_notice
    return render_template("declarations/privacy_default.md", coalition=coalition)


def coalition_by_slug(slug):
    return db.session.scalar(select(Coalition).where(Coalition.slug == slug))


def all_coalitions():
    return db.session.scalars(select(Coalition).order_by(Coalition.name)).all()


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


@dataclass
class AlliesPage:
    items: list
    total: int
    page: int
    pages: int
    per_page: int

    @property
    def first_number(self):
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_number(self):
        return min(self.page * self.per_page, self.total)


def list_allies(coalition, query="", who="", order=ORDER_NEWEST, page=1, per_page=50):
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

    total = db.session.scalar(select(func.count(Signature.id)).where(*conditions))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    if order == ORDER_ALPHABETICAL:
        ordering = (Signature.list_sort_key, Signature.id)
    else:
        ordering = (Signature.approved_at.desc(), Signature.id.desc())
    items = db.session.scalars(
        select(Signature).where(*conditions).order_by(*ordering).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return AlliesPage(items=items, total=total, page=page, pages=pages, per_page=per_page)
