"""Coalition settings, managed by administrators: name, readable address, contacts, logo."""
import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from slugify import slugify
from sqlalchemy import delete, select

from ..coalitions.models import Coalition, Declaration, FormerSlug
from ..coordinators.audit import AuditAction, record
from ..extensions import db
from ..security import OriginRefused, frame_origins
from ..uploads import UploadRefused, store_upload, upload_type

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COALITION_FIELDS = (
    "name", "description", "organiser", "contact_email", "contact_persons", "chat_url", "facebook_url",
    "website_url", "funding_notice", "privacy_notice", "brand_colour", "embed_origins",
)
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
LOGO_MAX_BYTES = 1024 * 1024


class SettingsError(ValueError):
    """A value that cannot be saved; `field` names the form field, the message is for people."""

    def __init__(self, field, message):
        super().__init__(message)
        self.field = field


def reserved_slugs():
    """First path segments the app itself uses (/panel, /potwierdz, …): no coalition may take them."""
    return {
        rule.rule.strip("/").split("/")[0]
        for rule in current_app.url_map.iter_rules()
        if rule.rule.strip("/") and not rule.rule.strip("/").startswith("<")
    }


def coalition_slug(wanted, name, coalition_id=None):
    """A readable, stable address: the one asked for, or one made from the name (ą→a, ł→l)."""
    slug = wanted or slugify(name, max_length=80, word_boundary=True)
    if not SLUG_PATTERN.match(slug or ""):
        raise SettingsError("slug", _l("Użyj tylko małych liter bez polskich znaków, cyfr i pojedynczych myślników."))
    if slug in reserved_slugs():
        raise SettingsError("slug", _l("Ten adres jest zajęty przez aplikację. Wybierz inny."))
    taken = db.session.scalar(select(Coalition.id).where(Coalition.slug == slug, Coalition.id != (coalition_id or 0)))
    if taken:
        raise SettingsError("slug", _l("Inna koalicja ma już ten adres. Wybierz inny."))
    formerly = db.session.scalar(select(FormerSlug.coalition_id).where(FormerSlug.slug == slug))
    if formerly is not None and formerly != coalition_id:
        raise SettingsError(
            "slug", _l("Ten adres miała wcześniej inna koalicja i stare linki wciąż do niej prowadzą. Wybierz inny.")
        )
    return slug


def current_path(path):
    """`path` with a coalition's former address replaced by its current one, or None when the
    first segment is nobody's former address."""
    first, slash, rest = path.lstrip("/").partition("/")
    if not SLUG_PATTERN.match(first):
        return None
    slug = db.session.scalar(
        select(Coalition.slug).join(FormerSlug, FormerSlug.coalition_id == Coalition.id).where(FormerSlug.slug == first)
    )
    return f"/{slug}{slash}{rest}" if slug else None


def store_logo(upload, field="logo"):
    """Keep an uploaded logo under LOGO_FOLDER with a random name; only PNG, JPEG or WebP by content.
    `field` names the form field an error belongs to (the coalition's logo or the funder's)."""
    try:
        kind = upload_type(upload, LOGO_TYPES, LOGO_MAX_BYTES)
    except UploadRefused as refused:
        if refused.reason == "too_big":
            raise SettingsError(field, _l("Plik jest za duży: logo może mieć najwyżej 1 MB.")) from None
        raise SettingsError(field, _l("To nie jest obraz PNG, JPEG ani WebP. Wybierz inny plik.")) from None
    return store_upload(upload, current_app.config["LOGO_FOLDER"], LOGO_TYPES[kind])


def allowed_frame_origins(text):
    """The sites allowed to frame the coalition's widgets as stored: one origin a line."""
    try:
        return "\n".join(frame_origins(text))
    except OriginRefused as refused:
        raise SettingsError("embed_origins", str(refused)) from None


def save_coalition(coalition, data, logo_upload=None, by=None, funder_logo_upload=None):
    """Create or change a coalition; a new one also gets an empty declaration to write.

    Raises SettingsError (nothing saved) when the address is taken, the logo is not an image
    or a site allowed to frame the widgets is not an origin.
    """
    data = data | {"embed_origins": allowed_frame_origins(data.get("embed_origins"))}
    is_new = coalition.id is None
    # An existing coalition keeps its address unless a new one is typed: links to it live on
    # in e-mails and printed materials, and a typed new one keeps the old one as a redirect.
    old_slug = coalition.slug
    coalition.slug = coalition_slug(data.get("slug") or coalition.slug, data["name"], coalition.id)
    moved = not is_new and coalition.slug != old_slug
    if moved:
        db.session.execute(delete(FormerSlug).where(FormerSlug.slug == coalition.slug))  # taken back
        db.session.add(FormerSlug(slug=old_slug, coalition_id=coalition.id))
    before = {name: getattr(coalition, name) for name in COALITION_FIELDS}
    for name in COALITION_FIELDS:
        setattr(coalition, name, data.get(name) or "")
    if logo_upload:
        coalition.logo = store_logo(logo_upload)
    if funder_logo_upload:
        coalition.funder_logo = store_logo(funder_logo_upload, "funder_logo")
    if is_new:
        db.session.add(coalition)
        # No text yet (a title would publish an empty version 1 that people could sign):
        # coordinators write the first version in the panel and publish it.
        db.session.add(Declaration(coalition=coalition))
        db.session.flush()
    changed = {name: [before[name], getattr(coalition, name)] for name in COALITION_FIELDS if before[name] != getattr(coalition, name)}
    if moved:
        changed["slug"] = [old_slug, coalition.slug]
    record(
        AuditAction.COALITION,
        (_l("Nowa koalicja: %(name)s", name=coalition.name) if is_new else coalition.name),
        coalition_id=coalition.id,
        subject=coalition,
        details={"changed": sorted(changed)} if not is_new else {"created": True},
        coordinator=by,
    )
    db.session.commit()
    return coalition
