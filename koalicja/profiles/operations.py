"""Organisation profiles: the link, a profile sent, a coordinator's decision, and the
profile's end with its entry. Each owns its transaction (koalicja/locking.py)."""
import hashlib
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, event, select

from ..coalitions.models import Declaration
from ..coordinators.access import declaration_ids_condition
from ..coordinators.audit import AuditAction, record
from ..extensions import db
from ..links import external_url
from ..locking import NoLongerApplies, lock, lock_all, refuse
from ..mail.addresses import mailbox_key
from ..mail.operations import queue_mail
from ..signatures.models import Signature, SignatureStatus, SignerKind
from ..signatures.notifications import mail_about, withdraw_url
from ..signatures.operations import signature_withdrawn
from ..timeutil import utcnow
from ..tokens import TokenInvalid, make_token, read_token
from ..uploads import write_private_file
from .models import OrganisationProfile, ProfileStatus

PROFILE_PURPOSE = "organisation-profile"
PROFILE_LINK_MAX_AGE_DAYS = 7
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg"}
_FILES_TO_DELETE = "koalicja.profiles.files_to_delete"


class ProfileNoLongerApplies(NoLongerApplies):
    """A profile change that its state, read under the lock, does not allow any more."""


class ProfileGone(ProfileNoLongerApplies):
    message = _l("Tej zmiany profilu już nie ma: organizacja wycofała podpis albo wpis usunięto.")


class ProfileDecided(ProfileNoLongerApplies):
    _MESSAGES = {
        ProfileStatus.APPROVED: _l("Ta zmiana profilu została już zatwierdzona."),
        ProfileStatus.REJECTED: _l("Ta zmiana profilu została już odrzucona."),
        ProfileStatus.REPLACED: _l("Organizacja wysłała nowszą wersję profilu: rozpatrz tę nowszą."),
    }

    def __init__(self, status):
        super().__init__(self._MESSAGES[ProfileStatus(status)])


class EntryNotApproved(ProfileNoLongerApplies):
    message = _l("Wpis tej organizacji nie jest już zatwierdzony, więc jej profil nie może się pokazać.")


# ---- the link ---------------------------------------------------------------------------------


def _mailbox_digest(signature):
    """Ties a link to the address it was sent to: a corrected or erased address ends it."""
    return hashlib.blake2b(signature.email_key.encode(), digest_size=8).hexdigest()


def profile_url(signature):
    token = make_token(PROFILE_PURPOSE, {"s": signature.id, "m": _mailbox_digest(signature)})
    return external_url("profiles.edit", token=token)


def _may_have_profile():
    return (Signature.status == SignatureStatus.APPROVED, Signature.kind == SignerKind.ORGANISATION)


def send_profile_links(email):
    """E-mail the profile link for every approved organisation entry of this mailbox; say
    nothing either way (the page after it is the same whether the address signed or not)."""
    key = mailbox_key(email)
    conditions = (Signature.email_key == key, *_may_have_profile())
    ids = db.session.scalars(select(Signature.id).where(*conditions)).all()
    if not ids:
        return
    for signature in lock_all(Signature, ids, *conditions):  # one withdrawn a moment ago is left out
        coalition = signature.declaration.coalition
        with force_locale(signature.language):
            queue_mail(
                signature.email,
                _("Profil organizacji na liście sojuszników: %(coalition)s", coalition=coalition.name),
                "profile_link_to_signer",
                to_name=signature.full_name,
                about=mail_about(signature),  # dropped unsent when the entry is withdrawn
                signature=signature,
                coalition=coalition,
                profile_url=profile_url(signature),
                max_age_days=PROFILE_LINK_MAX_AGE_DAYS,
                withdraw_url=withdraw_url(signature),
            )
    db.session.commit()


def signature_for_profile(token):
    """The approved organisation entry a profile link is for. Raises TokenExpired or
    TokenInvalid, and EntryNotApproved for an entry withdrawn or rejected since."""
    payload = read_token(PROFILE_PURPOSE, token, PROFILE_LINK_MAX_AGE_DAYS * 86400)
    signature_id = payload.get("s") if isinstance(payload, dict) else None
    signature = db.session.get(Signature, signature_id) if isinstance(signature_id, int) else None
    if signature is None or not secrets.compare_digest(str(payload.get("m")), _mailbox_digest(signature)):
        raise TokenInvalid
    if signature.status != SignatureStatus.APPROVED or signature.kind != SignerKind.ORGANISATION:
        raise EntryNotApproved()
    return signature


# ---- reading ----------------------------------------------------------------------------------


def _of_entry(signature_id, status):
    return db.session.scalar(
        select(OrganisationProfile)
        .where(OrganisationProfile.signature_id == signature_id, OrganisationProfile.status == status)
        .order_by(OrganisationProfile.id.desc())
    )


def shown_profile(signature_id):
    return _of_entry(signature_id, ProfileStatus.APPROVED)


def pending_profile(signature_id):
    return _of_entry(signature_id, ProfileStatus.PENDING)


def shown_profiles(signature_ids):
    """{signature id: its approved profile} for the entries of one page of the list."""
    if not signature_ids:
        return {}
    rows = db.session.scalars(
        select(OrganisationProfile).where(
            OrganisationProfile.signature_id.in_(list(signature_ids)), OrganisationProfile.status == ProfileStatus.APPROVED
        )
    )
    return {profile.signature_id: profile for profile in rows}


def public_profile(coalition, profile_id):
    """An approved profile of an entry shown on this coalition's list (for its logo), or None."""
    return db.session.scalar(
        select(OrganisationProfile)
        .join(Signature, Signature.id == OrganisationProfile.signature_id)
        .join(Declaration, Declaration.id == Signature.declaration_id)
        .where(
            OrganisationProfile.id == profile_id,
            OrganisationProfile.status == ProfileStatus.APPROVED,
            Declaration.coalition_id == coalition.id,
            Signature.status == SignatureStatus.APPROVED,
            Signature.listed.is_(True),
            Signature.public_organisation.is_(True),
        )
    )


def profiles_to_review(coalition):
    """The coalition's pending profiles, oldest first, each with the one it would replace."""
    pending = db.session.scalars(
        select(OrganisationProfile)
        .join(Signature, Signature.id == OrganisationProfile.signature_id)
        .join(Declaration, Declaration.id == Signature.declaration_id)
        .where(
            OrganisationProfile.status == ProfileStatus.PENDING,
            Declaration.coalition_id == coalition.id,
            declaration_ids_condition(Signature.declaration_id),
        )
        .order_by(OrganisationProfile.submitted_at, OrganisationProfile.id)
    ).all()
    shown = shown_profiles([profile.signature_id for profile in pending])
    return [(profile, shown.get(profile.signature_id)) for profile in pending]


# ---- files ------------------------------------------------------------------------------------


def logo_path(profile):
    return Path(current_app.config["LOGO_FOLDER"]) / profile.logo_file


def _retire(profile, status):
    """A version that will never show again lets go of its logo (deleted when no other uses it)."""
    profile.status = status
    profile.logo_file = profile.logo_content_type = ""


def _unreferenced(files):
    """Those of `files` no remaining profile version uses (a version may keep its predecessor's logo)."""
    files = {name for name in files if name}
    if not files:
        return set()
    used = db.session.scalars(select(OrganisationProfile.logo_file).where(OrganisationProfile.logo_file.in_(files)))
    return files - set(used)


def _delete_files(files):
    folder = Path(current_app.config["LOGO_FOLDER"])
    for name in files:
        (folder / name).unlink(missing_ok=True)


# ---- sending and deciding -----------------------------------------------------------------------


def submit_profile(signature, website_url, description, logo=None):
    """The representative sends a profile (`logo`: (bytes, content type) from images.clean_logo,
    None to keep the shown one). It waits for a coordinator; a version still waiting is replaced.
    Raises EntryNotApproved when the entry, read under its lock, is no longer approved."""
    signature = lock(Signature, getattr(signature, "id", signature))
    if signature is None or signature.status != SignatureStatus.APPROVED:
        refuse(EntryNotApproved())
    shown = shown_profile(signature.id)
    replaced = db.session.scalars(
        select(OrganisationProfile).where(
            OrganisationProfile.signature_id == signature.id, OrganisationProfile.status == ProfileStatus.PENDING
        )
    ).all()
    replaced_files = [older.logo_file for older in replaced]
    for older in replaced:
        _retire(older, ProfileStatus.REPLACED)
    profile = OrganisationProfile(
        signature_id=signature.id,
        status=ProfileStatus.PENDING,
        website_url=website_url or "",
        description=description or "",
        logo_file=shown.logo_file if shown else "",
        logo_content_type=shown.logo_content_type if shown else "",
    )
    new_file = None
    if logo is not None:
        data, content_type = logo
        new_file = f"profile-{secrets.token_urlsafe(18)}.{_EXTENSIONS[content_type]}"
        write_private_file(Path(current_app.config["LOGO_FOLDER"]) / new_file, lambda file: file.write(data))
        profile.logo_file, profile.logo_content_type = new_file, content_type
    db.session.add(profile)
    try:
        db.session.flush()
        unused = _unreferenced(replaced_files)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if new_file:
            _delete_files([new_file])
        raise
    _delete_files(unused)
    return profile


def _decide(profile_id, coordinator, approve):
    # The entry's lock first, as a profile sent and a withdrawal take it: one change of an
    # entry's profile at a time, so a version sent during the decision never meets a half-made one.
    profile = db.session.get(OrganisationProfile, profile_id)
    if profile is None or lock(Signature, profile.signature_id) is None:
        refuse(ProfileGone())
    profile = lock(OrganisationProfile, profile_id)
    if profile is None:
        refuse(ProfileGone())
    if profile.status != ProfileStatus.PENDING:
        refuse(ProfileDecided(profile.status))
    signature = profile.signature
    if approve and signature.status != SignatureStatus.APPROVED:
        refuse(EntryNotApproved())
    files = []
    previous = shown_profile(signature.id) if approve else None
    if previous is not None:
        files.append(previous.logo_file)
        _retire(previous, ProfileStatus.REPLACED)
    if approve:
        profile.status = ProfileStatus.APPROVED
    else:
        files.append(profile.logo_file)
        _retire(profile, ProfileStatus.REJECTED)
    profile.decided_at = utcnow()
    profile.decided_by_id = coordinator.id
    db.session.flush()
    unused = _unreferenced(files)
    record(
        AuditAction.APPROVE if approve else AuditAction.REJECT,
        _l("Profil organizacji %(name)s: %(what)s", name=signature.organisation_name,
           what=_l("zmiana zatwierdzona") if approve else _l("zmiana odrzucona")),
        coalition_id=signature.declaration.coalition_id,
        subject=profile,
        details={"website_url": profile.website_url, "signature_id": signature.id},
        coordinator=coordinator,
    )
    db.session.commit()
    _delete_files(unused)  # only once the decision is saved
    return profile


def approve_profile(profile_id, coordinator):
    """The profile shows on the list from now on, replacing the one shown before. Raises a
    ProfileNoLongerApplies (gone, decided already, replaced, entry no longer approved)."""
    return _decide(profile_id, coordinator, approve=True)


def reject_profile(profile_id, coordinator):
    """The profile is never shown; its new logo is deleted."""
    return _decide(profile_id, coordinator, approve=False)


# ---- the profile goes with its entry ------------------------------------------------------------


@signature_withdrawn.connect
def _forget_profiles(signature):
    """Withdrawn (or deleted by a coordinator): every version of the entry's profile goes in the
    same transaction, its files once that transaction is committed."""
    of_entry = OrganisationProfile.signature_id == signature.id
    files = db.session.scalars(select(OrganisationProfile.logo_file).where(of_entry)).all()
    db.session.execute(delete(OrganisationProfile).where(of_entry))
    db.session.info.setdefault(_FILES_TO_DELETE, set()).update(name for name in files if name)


def _delete_committed_files(session):
    files = session.info.pop(_FILES_TO_DELETE, None)
    if files:
        _delete_files(files)


def _keep_files(session, previous_transaction):
    if not previous_transaction.nested:
        session.info.pop(_FILES_TO_DELETE, None)  # rolled back: the profile (and its files) stay


def init_app(app):
    from flask_sqlalchemy.session import Session

    if not event.contains(Session, "after_commit", _delete_committed_files):
        event.listen(Session, "after_commit", _delete_committed_files)
        event.listen(Session, "after_soft_rollback", _keep_files)
