"""E-mails to signers. Each is queued in the outbox inside the caller's transaction."""
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..links import external_url
from ..mail.operations import queue_mail
from ..tokens import make_token

CONFIRM_PURPOSE = "signature-confirm"


def confirmation_token(signature):
    return make_token(CONFIRM_PURPOSE, {"s": signature.id, "n": signature.confirm_nonce})


def notify_confirmation_link(signature):
    coalition = signature.declaration.coalition
    with force_locale(signature.language):
        queue_mail(
            signature.email,
            _("Potwierdź podpis pod deklaracją: %(coalition)s", coalition=coalition.name),
            "signature_confirm_to_signer",
            signature=signature,
            coalition=coalition,
            confirm_url=external_url("signatures.confirm", token=confirmation_token(signature)),
            max_age_days=int(current_app.config["CONFIRM_TOKEN_MAX_AGE_DAYS"]),
        )


def notify_already_signed(signature):
    coalition = signature.declaration.coalition
    with force_locale(signature.language):
        queue_mail(
            signature.email,
            _("Twój podpis pod deklaracją jest już zapisany: %(coalition)s", coalition=coalition.name),
            "signature_already_signed_to_signer",
            signature=signature,
            coalition=coalition,
            allies_url=external_url("declarations.allies", slug=coalition.slug),
        )


def notify_signature_approved(signature):
    coalition = signature.declaration.coalition
    with force_locale(signature.language):
        queue_mail(
            signature.email,
            _("Witamy w gronie sojuszników: %(coalition)s", coalition=coalition.name),
            "signature_approved_to_signer",
            signature=signature,
            coalition=coalition,
            allies_url=external_url("declarations.allies", slug=coalition.slug),
        )
