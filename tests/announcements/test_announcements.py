"""Coordinators write to allies who agreed to it; every e-mail can be unsubscribed from with one click."""
import re

import pytest
from sqlalchemy import func, insert, select

from koalicja.announcements.models import Announcement
from koalicja.announcements.operations import UNSUBSCRIBE_PURPOSE
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature
from koalicja.tokens import read_token

from ..conftest import VALID_PERSON, csrf_token_from, current_declaration, link_in, sign

URL = "/panel/koalicje/sasiedztwa/komunikaty"
SUBJECT = "Zaproszenie na Galę Sojuszników Sąsiedztw — zgłoś się już dziś"
BODY = "Drodzy sojusznicy i sojuszniczki,\n\nzapraszamy na **galę**. Szczegóły: [strona](https://example.org/gala)."


@pytest.fixture
def app_config():
    return {"BASE_URL": "https://koalicja.test"}


def add_allies(app, count, slug="sasiedztwa", prefix="sojusznik", declaration_id=None, **columns):
    """Signatures inserted in bulk, approved and agreeing to mail unless `columns` say otherwise."""
    with app.app_context():
        declaration_id = declaration_id or current_declaration(slug).id
        values = {"status": "approved", "contact_allowed": True, "kind": "person", "origin": "online", **columns}
        rows = [
            {
                "declaration_id": declaration_id,
                "full_name": f"Osoba {prefix} {n}",
                "email": f"{prefix}{n}@example.org",
                "email_key": f"{prefix}{n}@example.org",
                "withdraw_nonce": f"{n:016x}",
                **values,
            }
            for n in range(count)
        ]
        db.session.execute(insert(Signature), rows)
        db.session.commit()
        return [f"{prefix}{n}@example.org" for n in range(count)]


def add_coalition(app, slug="reintegracja"):
    with app.app_context():
        coalition = Coalition(slug=slug, name="Koalicja na rzecz reintegracji", contact_email="reintegracja@example.org")
        db.session.add(Declaration(coalition=coalition, title="Wyrażenie woli współpracy", body="Treść."))
        db.session.commit()


def compose(client, action, subject=SUBJECT, body=BODY, url=URL):
    token = csrf_token_from(client.get(url))
    return client.post(url, data={"csrf_token": token, "subject": subject, "body": body, "action": action})


def row_counts(client, announcement_id):
    """The numbers a coordinator reads in the announcement's row, by column."""
    page = client.get(URL).get_data(as_text=True)
    row = re.search(rf'<tr id="announcement-{announcement_id}">(.*?)</tr>', page, re.S).group(1)
    return {label: value.strip() for label, value in re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S)}


def deliver_everything(runner):
    for _attempt in range(10):
        result = runner.invoke(args=["send-mail"])
        assert result.exit_code == 0, result.output
        if "Wysłane: 0," in result.output:
            return


def latest_announcement_id(app):
    with app.app_context():
        return db.session.scalar(select(func.max(Announcement.id)))


def test_announcement_reaches_500_allies_with_one_click_unsubscribe(app, client, auth, runner, smtp_server):
    allies = add_allies(app, 500)
    # None of these may get it: no consent, rejected, waiting, withdrawn, on paper without an
    # address, another coalition's allies; and a mailbox that signed twice gets one message.
    add_allies(app, 3, prefix="bez-zgody", contact_allowed=False)
    add_allies(app, 3, prefix="odrzucony", status="rejected")
    add_allies(app, 3, prefix="czeka", status="confirmed")
    add_allies(app, 3, prefix="wycofany", status="withdrawn")
    with app.app_context():
        db.session.execute(
            insert(Signature),
            [{"declaration_id": current_declaration().id, "full_name": "Z papieru", "email": "", "email_key": "paper:1",
              "kind": "person", "origin": "paper", "status": "approved", "contact_allowed": True}],
        )
        older = Declaration(coalition=current_declaration().coalition, title="Stara deklaracja", is_current=False)
        db.session.add(older)
        db.session.commit()
        older_id = older.id
    add_allies(app, 1, declaration_id=older_id)  # sojusznik0@ again, under the coalition's older declaration
    add_coalition(app)
    add_allies(app, 3, slug="reintegracja", prefix="inna-koalicja")
    auth.login()

    assert "Wyślemy do 500 sojuszników i sojuszniczek, którzy zgodzili się na kontakt." in client.get(URL).get_data(as_text=True)
    preview = compose(client, "preview")
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Podgląd komunikatu" in page and "<strong>galę</strong>" in page and "Wyślij do 500 osób" in page

    response = compose(client, "send")
    assert response.status_code == 303
    assert "do 500 osób" in client.get(response.headers["Location"]).get_data(as_text=True)

    deliver_everything(runner)
    messages = smtp_server.messages
    assert len(messages) == 500
    assert sorted(message["To"].addresses[0].addr_spec for message in messages) == sorted(allies)
    announcement_id = latest_announcement_id(app)
    with app.app_context():
        ids = dict(db.session.execute(select(Signature.email, func.min(Signature.id)).group_by(Signature.email)).all())
        for message in messages:
            assert message["Subject"] == SUBJECT
            raw = dict(message.raw_items())
            # On the wire as a plain URL: an RFC 2047 encoded header is no link for a mail provider.
            link = re.fullmatch(r"<(https://koalicja\.test/wypisz/([\w.-]+))>", raw["List-Unsubscribe"])
            assert link, raw["List-Unsubscribe"]
            assert raw["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            payload = read_token(UNSUBSCRIBE_PURPOSE, link.group(2), 60)
            assert {"s": payload["s"], "a": payload["a"]} == {"s": ids[message["To"].addresses[0].addr_spec], "a": announcement_id}
            assert message["Reply-To"] == "kontakt@example.org"
            assert link.group(1) in message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            assert "<strong>galę</strong>" in html and link.group(1) in html

    # The mail provider's one-click POST: no cookies, no CSRF token, RFC 8058's body.
    unsubscribe_link = link_in(messages[0], r"https://koalicja\.test/wypisz/\S+")
    provider = app.test_client(use_cookies=False)
    for _repeat in range(2):  # providers may retry: the same answer
        answer = provider.post(unsubscribe_link, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
        assert "nie będzie już dostawać komunikatów od koalicji Koalicja na rzecz sąsiedztw" in answer.get_data(as_text=True)

    counts = row_counts(client, announcement_id)
    assert (counts["Odbiorcy"], counts["Wysłane"], counts["Nieudane"], counts["W kolejce"], counts["Rezygnacje"]) == (
        "500", "500", "0", "0", "1"
    )

    assert "Wyślemy do 499 sojuszników" in compose(client, "preview", subject="Drugi komunikat").get_data(as_text=True)
    assert compose(client, "send", subject="Drugi komunikat").status_code == 303
    with app.app_context():
        second = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.status == "pending")).all()
        assert len(second) == 499 and messages[0]["To"] not in second


def test_unsubscribing_is_recorded_on_every_signature_of_the_mailbox(app, client, auth):
    add_allies(app, 2)
    auth.login()
    compose(client, "send")
    with app.app_context():
        message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "sojusznik1@example.org"))
        link = re.search(r"https://koalicja\.test/wypisz/\S+", message.body_text).group(0)
    path = link.removeprefix("https://koalicja.test")

    page = client.get(path)  # a mail scanner opening the link changes nothing
    assert page.status_code == 200 and "Wypisuję się z komunikatów" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Signature.contact_allowed).where(Signature.email == "sojusznik1@example.org"))

    assert client.post(path).status_code == 200  # the page's own button, no CSRF token needed
    with app.app_context():
        signature = db.session.scalar(select(Signature).where(Signature.email == "sojusznik1@example.org"))
        assert not signature.contact_allowed and signature.unsubscribed_at is not None
        assert signature.unsubscribed_from_id == latest_announcement_id(app)
        assert signature.consents["contact_allowed"] is False and signature.consents["contact_withdrawn_at"]
        other = db.session.scalar(select(Signature).where(Signature.email == "sojusznik0@example.org"))
        assert other.contact_allowed
        # Unsubscribing is the ally's act, not a coordinator's: only the sending is in the log.
        assert db.session.scalars(select(AuditEntry.action)).all() == ["announcement"]
    assert "Wypisano z komunikatów" in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("token", ["zepsuty", "eyJzIjoxLCJhIjoxfQ.ZxYwVg.podrobiony-podpis"])
def test_broken_unsubscribe_link_explains_instead_of_failing(client, coalition, token):
    for method in (client.get, client.post):
        response = method(f"/wypisz/{token}")
        assert response.status_code == 400
        assert "link jest niepełny albo nieprawidłowy" in response.get_data(as_text=True)


def test_failed_deliveries_are_counted(app, client, auth):
    add_allies(app, 2)
    auth.login()
    compose(client, "send")
    from ..conftest import free_port

    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_STARTTLS=False,
                      SMTP_TIMEOUT=2, MAIL_MAX_ATTEMPTS=1)
    runner = app.test_cli_runner()
    assert "nieudane: 2" in runner.invoke(args=["send-mail"]).output
    counts = row_counts(client, latest_announcement_id(app))
    assert (counts["Wysłane"], counts["Nieudane"], counts["W kolejce"]) == ("0", "2", "0")


def test_counts_survive_the_purge_of_the_outbox(app, client, auth, runner):
    """Sent mail leaves the outbox at the next purge; the announcement's figures stay."""
    add_allies(app, 3)
    auth.login()
    compose(client, "send")
    deliver_everything(runner)
    assert runner.invoke(args=["purge"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
    counts = row_counts(client, latest_announcement_id(app))
    assert (counts["Odbiorcy"], counts["Wysłane"], counts["Nieudane"], counts["W kolejce"]) == ("3", "3", "0", "0")


def test_messages_waiting_in_the_outbox_are_shown_as_pending(app, client, auth):
    add_allies(app, 3)
    auth.login()
    compose(client, "send")
    counts = row_counts(client, latest_announcement_id(app))
    assert (counts["Odbiorcy"], counts["Wysłane"], counts["W kolejce"]) == ("3", "0", "3")
    assert "Koordynatorka Testowa" in client.get(URL).get_data(as_text=True)


def test_sending_is_logged_and_a_double_click_sends_once(app, client, auth):
    add_allies(app, 2)
    auth.login()
    token = csrf_token_from(client.get(URL))
    data = {"csrf_token": token, "subject": SUBJECT, "body": BODY, "action": "send"}
    assert client.post(URL, data=data).status_code == 303
    again = client.post(URL, data=data, follow_redirects=True)
    assert "Ten komunikat został już wysłany" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Announcement)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 2
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.action, entry.summary, entry.details, entry.coordinator_name) == (
            "announcement", SUBJECT, {"recipients": 2, "public": False}, "Koordynatorka Testowa"
        )


def test_empty_form_is_shown_again_with_polish_errors(client, auth, coalition):
    auth.login()
    response = compose(client, "preview", subject="", body="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Wpisz temat komunikatu." in page and "Wpisz treść komunikatu." in page

    response = compose(client, "send", subject="Temat <b>", body="Treść zostaje.")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Usuń znaki &lt; i &gt;" in page and "Treść zostaje." in page


def test_back_to_editing_keeps_the_text(client, auth, app):
    add_allies(app, 1)
    auth.login()
    response = compose(client, "edit")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Galę Sojuszników Sąsiedztw" in page and "zapraszamy na **galę**" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Announcement)) == 0


def test_coordinator_of_another_coalition_gets_404(app, client, auth):
    add_coalition(app)
    add_allies(app, 2, slug="reintegracja", prefix="inna")
    auth.login()  # serves "sasiedztwa" only
    url = "/panel/koalicje/reintegracja/komunikaty"
    assert client.get(url).status_code == 404
    token = csrf_token_from(client.get(URL))
    for action in ("preview", "send"):
        response = client.post(url, data={"csrf_token": token, "subject": "X", "body": "Y", "action": action})
        assert response.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_panel_needs_login(client, coalition):
    response = client.get(URL)
    assert response.status_code == 302 and "/panel/logowanie" in response.headers["Location"]


@pytest.mark.parametrize("contact", [False, True])
def test_only_a_ticked_contact_box_on_signing_brings_announcements(app, client, auth, contact):
    form = {**VALID_PERSON, "contact_allowed": "y"} if contact else VALID_PERSON
    assert "Chcę dostawać od koalicji wiadomości e-mail" in client.get("/sasiedztwa/podpisz").get_data(as_text=True)
    assert sign(client, **form).status_code == 303
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.contact_allowed is contact and signature.consents["contact_allowed"] is contact
        signature.status = "approved"
        db.session.commit()
    auth.login()
    response = compose(client, "send")
    with app.app_context():
        recipients = db.session.scalars(
            select(OutboxMessage.recipient).where(OutboxMessage.announcement_id.is_not(None))
        ).all()
    if contact:
        assert response.status_code == 303 and recipients == ["zofia@example.org"]
    else:
        assert response.status_code == 422 and recipients == []
        assert "nie ma do kogo wysłać komunikatu" in response.get_data(as_text=True)
