"""E-mails to people who register for events; queued in the outbox inside the caller's transaction."""
import io

from flask import current_app, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

from ..links import external_url
from ..mail.operations import attachment, queue_mail
from ..text import render_markdown
from ..tokens import make_token
from .calendar import event_ics

CONFIRM_PURPOSE = "registration-confirm"
CANCEL_PURPOSE = "registration-cancel"
TICKET_PURPOSE = "registration-ticket"
QR_CID = "kod-qr@koalicja"


def _signed_link(endpoint, purpose, payload, external):
    token = make_token(purpose, payload)
    return external_url(endpoint, token=token) if external else url_for(endpoint, token=token)


def confirmation_url(registration):
    return _signed_link(
        "events.confirm", CONFIRM_PURPOSE, {"r": registration.id, "n": registration.confirm_nonce}, external=True
    )


# The registration code is the nonce of these two: it never changes, so the links keep working
# as long as the registration (e-mails: absolute addresses; pages: `external=False`).
def cancel_url(registration, external=True):
    return _signed_link("events.cancel", CANCEL_PURPOSE, {"r": registration.id, "n": registration.code}, external)


def ticket_url(registration, external=True):
    """The ticket page: the QR code, the code, the .ics and the cancel button, for a lost e-mail."""
    return _signed_link("events.ticket", TICKET_PURPOSE, {"r": registration.id, "n": registration.code}, external)


def check_in_url(registration):
    return external_url("events_panel.check_in", event_id=registration.event_id, kod=registration.code)


def _context(registration):
    event = registration.event
    return {
        "registration": registration,
        "event": event,
        "coalition": event.coalition,
        "event_url": external_url("events.detail", slug=event.coalition.slug, event_slug=event.slug),
        "cancel_url": cancel_url(registration),
        "ticket_url": ticket_url(registration),
    }


def _send(registration, subject, template, attachments=(), automatic=True, **extra):
    with force_locale(registration.language):
        queue_mail(
            registration.email,
            subject(),
            template,
            to_name=registration.full_name,
            automatic=automatic,
            attachments=attachments,
            **_context(registration),
            **extra,
        )


def notify_registration_link(registration, waiting_position):
    _send(
        registration,
        lambda: _("Potwierdź zapis: %(event)s", event=registration.event.title),
        "registration_confirm_to_registrant",
        confirm_url=confirmation_url(registration),
        waiting_position=waiting_position,
        hold_hours=registration.event.hold_hours,
    )


def notify_already_registered(registration):
    _send(
        registration,
        lambda: _("Jesteś już zapisana/y: %(event)s", event=registration.event.title),
        "registration_exists_to_registrant",
    )


def notify_registration_offer(registration):
    _send(
        registration,
        lambda: _("Zwolniło się miejsce: %(event)s", event=registration.event.title),
        "registration_offer_to_registrant",
        confirm_url=confirmation_url(registration),
    )


def notify_registration_approval_pending(registration):
    _send(
        registration,
        lambda: _("Zgłoszenie czeka na akceptację: %(event)s", event=registration.event.title),
        "registration_approval_pending_to_registrant",
    )


# The quiet zone the QR standard asks for (ISO/IEC 18004): 4 modules, or phones misread it.
QR_BORDER = 4


def _ticket_qr(registration):
    import segno  # only for tickets, not in every web worker

    return segno.make(check_in_url(registration), error="m")


def _qr_png(registration):
    buffer = io.BytesIO()
    _ticket_qr(registration).save(buffer, kind="png", scale=6, border=QR_BORDER)
    return buffer.getvalue()


def ticket_qr_svg(registration):
    """The ticket's QR code as inline SVG markup for the ticket page."""
    # A white quiet zone whatever the page behind it (a transparent one vanishes on a dark background).
    return _ticket_qr(registration).svg_inline(scale=6, border=QR_BORDER, light="#fff", title=registration.code)


def notify_registration_confirmed(registration):
    """The ticket: the .ics file, the QR code for the door, and the cancel link."""
    attachments = [
        attachment("wydarzenie.ics", "text/calendar", event_ics(registration.event)),
        attachment("kod-wejscia.png", "image/png", _qr_png(registration), cid=QR_CID),
    ]
    _send(
        registration,
        lambda: _("Do zobaczenia: %(event)s", event=registration.event.title),
        "registration_confirmed_to_registrant",
        attachments=attachments,
        qr_cid=QR_CID,
        privacy_url=external_url("declarations.privacy", slug=registration.event.coalition.slug),
    )


def notify_registration_rejected(registration):
    _send(
        registration,
        lambda: _("Zgłoszenie nie zostało przyjęte: %(event)s", event=registration.event.title),
        "registration_rejected_to_registrant",
    )


def notify_registration_cancelled(registration):
    """A coordinator cancelled the registration on the person's behalf."""
    _send(
        registration,
        lambda: _("Zapis anulowany: %(event)s", event=registration.event.title),
        "registration_cancelled_to_registrant",
        contact_email=_contact_email(registration),
    )


def _contact_email(registration):
    return registration.event.coalition.contact_email or current_app.config["MAIL_FROM"]


def notify_event_cancelled(registration):
    _send(
        registration,
        lambda: _("Wydarzenie odwołane: %(event)s", event=registration.event.title),
        "event_cancelled_to_registrant",
        contact_email=_contact_email(registration),
    )


def notify_event_message(registration, subject, body):
    _send(
        registration,
        lambda: subject,
        "event_message_to_registrant",
        automatic=False,  # a coordinator wrote it to these people
        body_text=body,
        body_html=render_markdown(body),
    )
