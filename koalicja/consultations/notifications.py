"""E-mails to members on a consultation's roll; queued in the outbox inside the caller's transaction.

They go to members who unsubscribed from announcements too: they are about the member's right
to vote, not news, and each says so (templates/emails/_consultation_footer.*). Like every
e-mail to a signer they carry the withdrawal link and are marked as about the entry
(`mail_about`), so a withdrawal drops those still waiting. None of them ever says *what* a
member chose: the outbox keeps the bodies, and a secret ballot must leave no trace of it.
"""
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import insert

from ..extensions import db
from ..links import external_url
from ..mail.models import OutboxMessage
from ..mail.operations import RenderedOnce, outbox_row
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


def _send(members, subject, template, **context):
    """Queue one e-mail to each of `members` (all `reachable`, of one consultation), rendered
    once per language and once more for organisations, whose name goes into the text per member.
    `subject(title)`: the subject line, made in each member's language."""
    if not members:
        return 0
    consultation = members[0].consultation

    def render(key, slots):
        language, for_organisation = key
        with force_locale(language):
            return outbox_row(
                "",
                subject(consultation.title),
                template,
                coalition=consultation.coalition,
                consultation=consultation,
                ballot_url=slots["ballot"],
                withdraw_url=slots["withdraw"],
                organisation_name=slots["organisation"] if for_organisation else "",
                **context,
            )

    messages = RenderedOnce(render, "ballot", "withdraw", "organisation")
    rows = []
    for member in members:
        signature = member.signature
        values = {
            "ballot": ballot_url(member),
            "withdraw": withdraw_url(signature),
            "organisation": signature.organisation_name,
        }
        rows.append(
            messages.row(
                (signature.language, member.is_organisation),
                values,
                html_values={"organisation": str(escape(signature.organisation_name))},
                recipient=signature.email,
                recipient_name=signature.full_name,
                about=mail_about(signature),
            )
        )
    db.session.execute(insert(OutboxMessage), rows)
    return len(rows)


def notify_invitation(members, reason="opened"):
    """The personal link. `reason`: "opened" (the consultation opened), "representative" (a
    coordinator chose this person to hold the organisation's voice), "resend" (asked for it
    again on the "nie mam linku" form)."""
    if reason == "opened":
        subject = lambda title: _("Twój głos w konsultacji: %(title)s", title=title)  # noqa: E731
    else:
        subject = lambda title: _("Twój osobisty link do konsultacji: %(title)s", title=title)  # noqa: E731
    return _send(members, subject, "consultation_invitation_to_member", reason=reason)


def notify_reminder(members):
    return _send(
        members,
        lambda title: _("Przypomnienie: Twój głos w konsultacji: %(title)s", title=title),
        "consultation_reminder_to_member",
    )


def notify_receipt(member, first):
    """That the voice was recorded (`first`) or changed, and when; never what."""
    return _send(
        [member],
        lambda title: _("Twój głos został zapisany: %(title)s", title=title),
        "consultation_receipt_to_member",
        first=first,
        at=member.took_part_at,
    )


def notify_extended(members, previous_closes_at):
    return _send(
        members,
        lambda title: _("Dłuższy termin konsultacji: %(title)s", title=title),
        "consultation_extended_to_member",
        previous_closes_at=previous_closes_at,
    )
