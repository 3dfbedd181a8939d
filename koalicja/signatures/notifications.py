"""E-mails to signers. Each is queued in the outbox inside the caller's transaction."""
import secrets

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..extensions import db
from ..links import external_url
from ..mail.operations import queue_mail
from ..tokens import make_token

CONFIRM_PURPOSE = "signature-confirm"
WITHDRAW_PURPOSE = "signature-withdraw"
ENDORSE_PURPOSE = "annex-endorse"
ENDORSE_LINK_MAX_AGE_DAYS = 60


def confirmation_token(signature):
    return make_token(CONFIRM_PURPOSE, {"s": signature.id, "n": signature.confirm_nonce})


def withdraw_url(signature):
    if signature.withdraw_nonce is None:  # rows from before withdrawal links existed
        signature.withdraw_nonce = secrets.token_hex(8)
    token = make_token(WITHDRAW_PURPOSE, {"s": signature.id, "n": signature.withdraw_nonce})
    return external_url("signatures.withdraw", token=token)


MAIL_ABOUT_PREFIX = "signature:"


def mail_about(signature):
    """What the outbox says a signer's message is about: withdrawal drops these (and only these)."""
    return f"{MAIL_ABOUT_PREFIX}{signature.id}"


def _send(signature, subject, template, **context):
    """Every e-mail to a signer carries the link to withdraw the signature (RODO art. 7(3))."""
    coalition = signature.declaration.coalition
    if signature.id is None:
        db.session.flush()  # the message names the entry it is about
    with force_locale(signature.language):
        queue_mail(
            signature.email,
            subject(coalition),
            template,
            to_name=signature.full_name,
            about=mail_about(signature),
            signature=signature,
            coalition=coalition,
            withdraw_url=withdraw_url(signature),
            allies_url=external_url("declarations.allies", slug=coalition.slug),
            **context,
        )


def notify_confirmation_link(signature):
    _send(
        signature,
        lambda coalition: _("Potwierdź podpis pod deklaracją: %(coalition)s", coalition=coalition.name),
        "signature_confirm_to_signer",
        confirm_url=external_url("signatures.confirm", token=confirmation_token(signature)),
        max_age_days=int(current_app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"]),
    )


def notify_already_signed(signature):
    _send(
        signature,
        lambda coalition: _("Twój podpis pod deklaracją jest już zapisany: %(coalition)s", coalition=coalition.name),
        "signature_already_signed_to_signer",
    )


# The welcome an approval sends; undoing the approval drops it if it has not left yet.
APPROVED_TEMPLATE = "signature_approved_to_signer"


def notify_signature_approved(signature):
    _send(
        signature,
        lambda coalition: _("Witamy w gronie sojuszników: %(coalition)s", coalition=coalition.name),
        APPROVED_TEMPLATE,
    )


def notify_withdraw_link(signature):
    _send(
        signature,
        lambda coalition: _("Link do wycofania podpisu: %(coalition)s", coalition=coalition.name),
        "signature_withdraw_link_to_signer",
    )


def signature_stamp(signature):
    """When the signature was made, to the microsecond. Links without a nonce carry it, so that a
    link made for one signature never works for another that later gets the same id (SQLite
    gives the id of a deleted last row to the next row, often within the same second)."""
    return signature.created_at.isoformat(timespec="microseconds") if signature.created_at else ""


def endorsement_token(signature, annex):
    return make_token(ENDORSE_PURPOSE, {"s": signature.id, "a": annex.id, "c": signature_stamp(signature)})


def notify_annex_endorsement_invite(signature, annex):
    _send(
        signature,
        lambda coalition: _("Prośba o poparcie aneksu do deklaracji: %(coalition)s", coalition=coalition.name),
        "annex_endorsement_invite_to_signer",
        annex=annex,
        max_age_days=ENDORSE_LINK_MAX_AGE_DAYS,
        endorse_url=external_url("declarations.endorse", token=endorsement_token(signature, annex)),
        annex_url=external_url(
            "declarations.version", slug=signature.declaration.coalition.slug, kind=annex.kind, number=annex.number
        ),
    )
