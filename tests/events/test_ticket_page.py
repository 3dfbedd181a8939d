"""The ticket on the web: reached from the confirmation page and the ticket e-mail, only with
its signed link, never indexed or kept; the QR code with the quiet zone phones need."""
import base64
import html
import io
import re

from PIL import Image
from sqlalchemy import select

from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage

from ..conftest import csrf_token_from
from .conftest import register_http

TICKET_MAIL = "registration_confirmed_to_registrant"
SCALE, QUIET_ZONE = 6, 4  # pixels per module, modules of white around the code


def outbox(app, template):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)).all()


def path_in(text, kind):
    return re.search(rf"(?:https?://[^/\s\"]+)?(/wydarzenia/{kind}/[^\s\"<]+)", text).group(1)


def confirmed_ticket(app, client):
    """Register, confirm with the e-mailed link; (the confirmation page, the ticket e-mail)."""
    register_http(client)
    [invite] = outbox(app, "registration_confirm_to_registrant")
    confirm = path_in(invite.body_text, "potwierdz")
    done = client.post(confirm, data={"csrf_token": csrf_token_from(client.get(confirm))})
    [ticket] = outbox(app, TICKET_MAIL)
    return client.get(done.headers["Location"]).get_data(as_text=True), ticket


def assert_private_and_unindexed(response):
    assert response.headers["X-Robots-Tag"] == "noindex"
    assert set(response.headers["Cache-Control"].replace(" ", "").split(",")) == {"private", "no-store"}
    assert '<meta name="robots" content="noindex">' in response.get_data(as_text=True)


def test_the_ticket_page_from_the_confirmation_and_from_the_email(app, client, event):
    confirmation, ticket = confirmed_ticket(app, client)
    from_page = client.get(html.unescape(path_in(confirmation, "bilet")))
    from_mail = client.get(path_in(ticket.body_text, "bilet"))
    assert path_in(ticket.body_html, "bilet")  # the HTML part links to it too
    for response in (from_page, from_mail):
        assert response.status_code == 200
        assert_private_and_unindexed(response)
    page = html.unescape(from_mail.get_data(as_text=True))
    code = re.search(r"Twój kod wejścia: (\w+)\.", ticket.body_text).group(1)
    assert "Bilet: Gala Sojuszników Sąsiedztw" in page
    assert f'<strong class="ticket__code">{code}</strong>' in page  # the code in letters, to read out at the door
    assert 'role="img" aria-label="Kod QR wejścia"' in page and "<svg" in page
    assert "/sasiedztwa/wydarzenia/gala/kalendarz.ics" in page
    cancel = client.get(path_in(page, "rezygnacja"))  # the cancel button leads to the usual question
    assert "czy na pewno chcesz zrezygnować" in html.unescape(cancel.get_data(as_text=True))

    # The QR code has 4 white modules on every side, in the e-mail's PNG and on the page.
    [png] = [a for a in ticket.attachments if a["filename"] == "kod-wejscia.png"]
    image = Image.open(io.BytesIO(base64.b64decode(png["data"]))).convert("L")
    margin = QUIET_ZONE * SCALE
    width, height = image.size
    white = [image.getpixel((x, y)) for x in range(width) for y in range(height)
             if min(x, y, width - 1 - x, height - 1 - y) < margin]
    assert min(white) == 255
    assert image.getpixel((margin, margin)) == 0  # the finder pattern starts right after it
    svg_width = re.search(r'<svg[^>]*\bwidth="(\d+)"', page).group(1)
    assert int(svg_width) == width  # same code, same scale, same quiet zone


def test_a_tampered_or_foreign_link_opens_no_ticket_and_a_cancelled_one_says_so(app, client, event):
    _confirmation, ticket = confirmed_ticket(app, client)
    good = path_in(ticket.body_text, "bilet")
    cancel = path_in(ticket.body_text, "rezygnacja")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    for path in (tampered, "/wydarzenia/bilet/" + cancel.rsplit("/", 1)[1]):  # the cancel link's token: another purpose
        response = client.get(path)
        page = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 400, path
        assert "Ten link jest niepełny lub nieprawidłowy" in page and "<svg" not in page
        assert_private_and_unindexed(response)

    client.post(cancel, data={"csrf_token": csrf_token_from(client.get(cancel))})
    response = client.get(good)
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Ten zapis jest anulowany. Bilet nie jest ważny." in page
    assert "<svg" not in page and "/wydarzenia/rezygnacja/" not in page
    assert_private_and_unindexed(response)
