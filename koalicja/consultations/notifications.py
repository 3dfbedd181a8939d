"""E-mails to members on a consultation's roll; queued in the outbox inside the caller's transaction.

They go to members who unsubscribed from announcements too: they are about the member's right
to vote, not news, and each says so (templates/emails/_consultation_footer.*). Like every
e-mail to a signer they carry the withdrawal link and are marked as about the entry
(`mail_about`), so a withdrawal drops those still waiting. None of them ever says *what* a
member chose: the outbox keeps the bodies, and a secret ballot must leave no trace of it.
"""
from flask_babel import force_locale
from flask_babel import gettext as _

from ..links import external_url
from ..mail.operations import queue_mail
from ..signatures.models import SignatureStatus
from ..signatures.notifications import mail_about, withdraw_url
from ..tokens import make_token

VOICE_PURPOSE = "consultation-voice"
# The consultation's own dates limit the link; this only bounds a token found years later.
VOICE_LINK_MAX_AGE = 400 * 86400


def voice_token(member):
    return make_token(VOICE_PURPOSE, {"m": member.id, "n": member.link_nonce})


def ballot_url(member):
    """The member's personal link: vote and change until the close, the results after it."""
    slug = member.consultation.coalition.slug
    return external_url("consultations.ballot", slug=slug, token=voice_token(member))


def reachable(member):
    """The member's link can be e-mailed: the entry still exists, is approved and has an address."""
    signature = member.signature
    return signature is not None and signature.status == SignatureStatus.APPROVED and bool(signature.email)


def _send(member, subject, template, **context):
    """`subject(title)`: the subject line, made in the member's language."""
    signature, consultation = member.signature, member.consultation
    coalition = consultation.coalition
    with force_locale(signature.language):
        queue_mail(
            signature.email,
            subject(consultation.title),
            template,
            to_name=signature.full_name,
            about=mail_about(signature),
            member=member,
            signature=signature,
            consultation=consultation,
            coalition=coalition,
            ballot_url=ballot_url(member),
            withdraw_url=withdraw_url(signature),
            **context,
        )


def notify_invitation(member, reason="opened"):
    """The personal link. `reason`: "opened" (the consultation opened), "representative" (a
    coordinator chose this person to hold the organisation's voice), "resend" (asked for it
    again on the "nie mam linku" form)."""
    if reason == "opened":
        subject = lambda title: _("Twój głos w konsultacji: %(title)s", title=title)  # noqa: E731
    else:
        subject = lambda title: _("Twój osobisty link do konsultacji: %(title)s", title=title)  # noqa: E731
    _send(member, subject, "consultation_invitation_to_member", reason=reason)


def notify_reminder(member):
    _send(
        member,
        lambda title: _("Przypomnienie: Twój głos w konsultacji: %(title)s", title=title),
        "consultation_reminder_to_member",
    )


def notify_receipt(member, first):
    """That the voice was recorded (`first`) or changed, and when; never what."""
    _send(
        member,
        lambda title: _("Twój głos został zapisany: %(title)s", title=title),
        "consultation_receipt_to_member",
        first=first,
    )


def notify_extended(member, previous_closes_at):
    _send(
        member,
        lambda title: _("Dłuższy termin konsultacji: %(title)s", title=title),
        "consultation_extended_to_member",
        previous_closes_at=previous_closes_at,
    )
