"""The signing kiosk at an event (koalicja/events/kiosk.py): unlocked by a coordinator, it
resets after each signer and keeps nothing of them; witnessed entries need no e-mail."""
from datetime import timedelta

from sqlalchemy import select

from koalicja.coordinators.audit import AuditAction, AuditEntry
from koalicja.events.kiosk import witness_code
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.timeutil import utcnow

from ..conftest import VALID_PERSON, Auth, csrf_token_from
from .conftest import make_event


def _kiosk(app, client, auth):
    now = utcnow().replace(microsecond=0)
    event_id = make_event(app, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=3))
    auth.login()
    door = client.get(f"/panel/wydarzenia/{event_id}/wejscie")
    with app.app_context():
        assert "Kod świadka (wpisz go na tablecie" in door.get_data(as_text=True)
        assert witness_code(db.session.get(Event, event_id)) in door.get_data(as_text=True)
    unlocked = client.post(f"/panel/wydarzenia/{event_id}/kiosk", data={"csrf_token": csrf_token_from(door)})
    assert unlocked.status_code == 303 and unlocked.headers["Location"].endswith(f"/kiosk/{event_id}/podpisz")
    cookie = next(value for value in unlocked.headers.getlist("Set-Cookie") if value.startswith("koalicja_kiosk="))
    assert f"Path=/kiosk/{event_id}/" in cookie and "HttpOnly" in cookie
    return event_id


def _sign(client, event_id, **fields):
    form = client.get(f"/kiosk/{event_id}/podpisz")
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    return client.post(f"/kiosk/{event_id}/podpisz", data={"csrf_token": csrf_token_from(form), **VALID_PERSON, **fields})


def _session_of(app, client):
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}


def test_the_kiosk_resets_after_each_signer_and_keeps_nothing_of_them(app, client, auth, coalition, coordinator):
    phone = app.test_client()
    Auth(phone).login()
    event_id = _kiosk(app, client, auth)
    assert client.get("/panel/podpisy").status_code in (302, 303)  # the tablet is logged out of the panel
    assert phone.get("/panel/podpisy").status_code == 200  # the coordinator's phone at the door is not
    signed = _sign(client, event_id)
    assert signed.status_code == 303 and signed.headers["Location"].endswith(f"/kiosk/{event_id}/dziekujemy")
    thanks = client.get(signed.headers["Location"])
    assert thanks.headers["Refresh"] == f"8; url=/kiosk/{event_id}/podpisz"
    assert "Następna osoba" in thanks.get_data(as_text=True) and "e-mail z linkiem" in thanks.get_data(as_text=True)
    following = client.get(f"/kiosk/{event_id}/podpisz").get_data(as_text=True)
    for page in (thanks.get_data(as_text=True), following):
        assert "Zofia" not in page and "Łukasik" not in page and "zofia@example.org" not in page
    assert 'autocomplete="off"' in following
    assert 'autocomplete="name"' not in following and 'autocomplete="email"' not in following
    assert "Zofia" not in str(_session_of(app, client)) and "zofia" not in str(_session_of(app, client))
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert (signature.status, signature.signed_at_event_id, signature.witnessed_by_id) == (
            SignatureStatus.UNCONFIRMED, event_id, None
        )
        assert db.session.scalar(select(OutboxMessage.recipient)) == "zofia@example.org"  # the e-mail still applies


def test_a_witnessed_signing_is_confirmed_without_an_e_mail_and_audited_as_witnessed(app, client, auth, coalition, coordinator):
    event_id = _kiosk(app, client, auth)
    with app.app_context():
        code = witness_code(db.session.get(Event, event_id))
    # A signer who ticks the box alone (without the code from the coordinators' door page) is stopped.
    refused = _sign(client, event_id, witnessed="y", witness_code="000000" if code != "000000" else "111111")
    assert refused.status_code == 422 and "Wpisz kod świadka ze strony wejścia" in refused.get_data(as_text=True)
    assert 'value="Zofia Łukasik"' in refused.get_data(as_text=True)  # the answers kept for the correction
    assert _sign(client, event_id, witnessed="y", witness_code=code).status_code == 303
    assert "potwierdzony na miejscu" in client.get(f"/kiosk/{event_id}/dziekujemy?swiadek=1").get_data(as_text=True)
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert (signature.status, signature.witnessed_by_id, signature.signed_at_event_id) == (
            SignatureStatus.CONFIRMED, coordinator, event_id
        )
        assert db.session.scalar(select(OutboxMessage)) is None
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == AuditAction.WITNESSED_SIGNING))
        assert entry.coordinator_id == coordinator
    # The panel shows where it was signed.
    auth.login()
    queue = client.get("/panel/podpisy?stan=confirmed").get_data(as_text=True)
    assert "podpisane na miejscu" in queue and "Gala Sojuszników Sąsiedztw" in queue


def test_a_kiosk_not_unlocked_is_closed(app, client, coalition):
    now = utcnow()
    event_id = make_event(app, starts_at=now, ends_at=now + timedelta(hours=1))
    page = client.get(f"/kiosk/{event_id}/podpisz")
    assert page.status_code == 403 and "Kiosk podpisów jest zamknięty" in page.get_data(as_text=True)
    client.set_cookie("koalicja_kiosk", "forged", path=f"/kiosk/{event_id}/")
    assert client.get(f"/kiosk/{event_id}/podpisz").status_code == 403
