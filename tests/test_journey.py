"""The whole path a signer and a coordinator walk, through HTTP and a real SMTP server."""
from urllib.parse import urlsplit

from koalicja.mail.operations import deliver_due

from .conftest import VALID_ORGANISATION, csrf_token_from, link_in, sign


def test_sign_confirm_approve_and_appear_on_public_list(app, client, auth, coalition, smtp_server):
    response = sign(client, **VALID_ORGANISATION)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sprawdź pocztę" in page and VALID_ORGANISATION["email"] in page

    # Not listed before confirmation and approval.
    assert "Sąsiedzi z Zabłocia" not in client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)

    with app.app_context():
        assert deliver_due().sent == 1
    [mail] = smtp_server.messages
    assert mail["To"].addresses[0].addr_spec == VALID_ORGANISATION["email"]
    assert mail["Subject"] == "Potwierdź podpis pod deklaracją: Koalicja na rzecz sąsiedztw"
    assert mail.get_body(("html",)) is not None
    path = urlsplit(link_in(mail)).path

    # Following the link only shows a button; a mail scanner's GET confirms nothing.
    confirm_page = client.get(path)
    assert confirm_page.status_code == 200
    assert "Potwierdzam" in confirm_page.get_data(as_text=True)
    confirmed = client.post(path, data={"csrf_token": csrf_token_from(confirm_page)})
    assert confirmed.status_code == 303
    thanks = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "koordynator" in thanks.lower()

    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert "Stowarzyszenie Sąsiedzi z Zabłocia" in queue
    signature_id = queue.split('id="signature-')[1].split('"')[0]
    decided = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve", "csrf_token": csrf_token_from(client.get("/panel/podpisy"))},
    )
    assert decided.status_code == 303

    allies = client.get("/sasiedztwa/sojusznicy").get_data(as_text=True)
    assert "Stowarzyszenie Sąsiedzi z Zabłocia" in allies
    assert "Organizacja pozarządowa" in allies
    assert VALID_ORGANISATION["email"] not in allies
    # The representative did not agree to show their own name.
    assert "Anna Wiśniewska" not in allies

    with app.app_context():
        assert deliver_due().sent == 1
    approved_mail = smtp_server.messages[-1]
    assert approved_mail["Subject"].startswith("Witamy w gronie sojuszników")
