"""E-mails to members on a consultation's roll; queued in the outbox inside the caller's transaction.

They go to members who unsubscribed from announcements too: they are about the member's right
to vote, not news, and each says so (templates/emails/_consultation_footer.*). Like every
e-mail to a signer they carry the withdrawal link and are marked as about the entry
(`mail_about`), so a withdrawal drops those still waiting. None of them ever says *what* a
member chose: the outbox keeps the bodies, and a secret ballot must leave no trace of it.
"""
import secrets

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import insert

from ..extensions import db
from ..links import external_url
from ..mail.models import OutboxMessage
from ..mail.operations import outbox_row
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


class _Messages:
    """One e-mail to many members, rendered once per language (and once more for organisations),
    with each member's links and organisation name filled into random slots afterwards.

    Rendering two templates per member would cost seconds when a consultation opens for a few
    hundred members; the slots are random, so nothing a coordinator writes can be mistaken for one.
    """

    def __init__(self, consultation, subject, template, **context):
        self.consultation, self.subject, self.template, self.context = consultation, subject, template, context
        self.slots = {name: f"{name}-{secrets.token_hex(12)}" for name in ("ballot", "withdraw", "organisation")}
        self.rendered = {}
        self.rows = []

    def _rendered(self, language, for_organisation):
        key = (language, for_organisation)
        if key not in self.rendered:
            with force_locale(language):
                self.rendered[key] = outbox_row(
                    "",
                    self.subject(self.consultation.title),
                    self.template,
                    coalition=self.consultation.coalition,
                    consultation=self.consultation,
                    ballot_url=self.slots["ballot"],
                    withdraw_url=self.slots["withdraw"],
                    organisation_name=self.slots["organisation"] if for_organisation else "",
                    **self.context,
                )
        return self.rendered[key]

    def add(self, member):
        """Queue the message to this member (who must be `reachable`)."""
        signature = member.signature
        rendered = self._rendered(signature.language, member.is_organisation)
        links = {self.slots["ballot"]: ballot_url(member), self.slots["withdraw"]: withdraw_url(signature)}

        def fill(text, name):
            for slot, value in (*links.items(), (self.slots["organisation"], name)):
                text = text.replace(slot, value)
            return text

        self.rows.append(
            rendered
            | {
                "recipient": signature.email,
                "recipient_name": signature.full_name,
                "body_text": fill(rendered["body_text"], signature.organisation_name),
                "body_html": fill(rendered["body_html"], str(escape(signature.organisation_name))),
                "headers": dict(rendered["headers"]),
                "about": mail_about(signature),
            }
        )

    def queue(self):
        if self.rows:
            db.session.execute(insert(OutboxMessage), self.rows)
        return len(self.rows)


def _send(members, subject, template, **context):
    """`subject(title)`: the subject line, made in each member's language."""
    messages = _Messages(members[0].consultation, subject, template, **context) if members else None
    for member in members:
        messages.add(member)
    return messages.queue() if messages else 0


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
