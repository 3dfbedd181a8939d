"""Finding the coalition a URL names: one loader for every public view."""
from flask import abort, make_response, render_template
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from .models import Coalition, Declaration


def coalition_by_slug(slug, with_texts=False):
    """`with_texts`: with its declarations and their versions in the same statement, for the
    public pages, whose header asks whether a text is published (two statements otherwise)."""
    query = select(Coalition).where(Coalition.slug == slug)
    if with_texts:
        query = query.options(joinedload(Coalition.declarations).joinedload(Declaration.versions))
    return db.session.scalars(query).unique().first()


def all_coalitions():
    return db.session.scalars(select(Coalition).order_by(Coalition.name)).all()


def public_coalition_or_404(slug, open_for_signing=False):
    """The coalition of a public page's URL, with its published texts, or 404.

    `open_for_signing`: the page needs a published declaration (the sign form and its
    steps); an old link or a typed address of a coalition with drafts only gets a page that
    says so, still with 404.
    """
    coalition = coalition_by_slug(slug, with_texts=True)
    if coalition is None:
        abort(404)
    if open_for_signing and not coalition.open_for_signing:
        abort(make_response(render_template(
            "errors/error.html",
            coalition=coalition,
            title=_("Deklaracja jeszcze nie jest gotowa"),
            message=_("Ta koalicja nie opublikowała jeszcze deklaracji. Zajrzyj tu wkrótce."),
        ), 404))
    return coalition


def privacy_notice_text(coalition):
    """The coalition's own notice, or the standard one filled in with its details."""
    if coalition.privacy_notice:
        return coalition.privacy_notice
    return render_template("declarations/privacy_default.md", coalition=coalition)
