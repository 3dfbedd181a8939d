"""Coordinators log in, review the queue and decide, one by one or in bulk."""
import pytest
from sqlalchemy import select

from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import DecisionNotAllowed, decide_signature, sign_declaration

from ..conftest import COORDINATOR_EMAIL, VALID_ORGANISATION, VALID_PERSON, current_declaration


def add_signature(app, status=SignatureStatus.CONFIRMED, **changes):
    with app.app_context():
        result = sign_declaration(current_declaration(), {**VALID_PERSON, **changes})
        result.signature.status = status
        db.session.commit()
        return result.signature.id


def status_of(app, signature_id):
    with app.app_context():
        return db.session.get(Signature, signature_id).status


def test_queue_needs_login(client, coalition):
    response = client.get("/panel/podpisy")
    assert response.status_code == 302
    assert "/panel/logowanie" in response.headers["Location"]


def test_wrong_password_and_unknown_email_get_the_same_answer(client, auth):
    wrong_password = auth.login(password="zle-haslo-123")
    unknown = auth.login(email="nikt@example.org")
    for response in (wrong_password, unknown):
        assert response.status_code == 422
        assert "Nieprawidłowy e-mail lub hasło." in response.get_data(as_text=True)
    assert client.get("/panel/podpisy").status_code == 302


def test_password_is_stored_as_argon2id(app, coordinator):
    with app.app_context():
        assert db.session.get(Coordinator, coordinator).password_hash.startswith("$argon2id$")


def test_outside_tests_passwords_are_hashed_with_64_mib_and_3_passes(app, coordinator):
    from koalicja import create_app
    from koalicja.panel.operations import authenticate, set_password

    production_default = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["PASSWORD_HASH_PROFILE"]
    app.config["PASSWORD_HASH_PROFILE"] = production_default
    with app.app_context():
        coordinator_row = db.session.get(Coordinator, coordinator)
        set_password(coordinator_row, "inne-dobre-haslo")
        db.session.commit()
        assert coordinator_row.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert authenticate(coordinator_row.email, "inne-dobre-haslo") is not None


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_login_never_redirects_off_site(client, auth, target):
    from ..conftest import csrf_token_from

    token = csrf_token_from(client.get("/panel/logowanie"))
    response = client.post(
        f"/panel/logowanie?next={target}",
        data={"email": COORDINATOR_EMAIL, "password": "bardzo-tajne-haslo", "csrf_token": token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/panel/podpisy"


def test_queue_lists_confirmed_entries_and_approve_swaps_the_row(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert f'id="signature-{signature_id}"' in queue and "zofia@example.org" in queue

    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    row = response.get_data(as_text=True)
    assert response.status_code == 200
    assert row.lstrip().startswith(f'<tr id="signature-{signature_id}"')
    assert "Zatwierdzony" in row and "Koordynatorka Testowa" in row
    assert "queueChanged" in response.headers["HX-Trigger"]
    assert "HX-Request" in response.headers["Vary"]
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert signature.status == "approved" and signature.decided_by_id is not None and signature.decided_at
        mail = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert mail.template == "signature_approved_to_signer"


def test_htmx_decision_without_csrf_header_is_refused(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert status_of(app, signature_id) == "confirmed"


def test_unconfirmed_entries_are_visible_but_cannot_be_approved(app, client, auth, coalition):
    signature_id = add_signature(app, status=SignatureStatus.UNCONFIRMED)
    auth.login()
    page = client.get("/panel/podpisy?stan=unconfirmed").get_data(as_text=True)
    assert "zofia@example.org" in page
    assert '"decision": "approve"' not in page
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    assert "nie potwierdziła jeszcze podpisu" in response.get_data(as_text=True)
    assert status_of(app, signature_id) == "unconfirmed"


def test_decision_rules_in_the_domain(app, coordinator, coalition):
    signature_id = add_signature(app, status=SignatureStatus.UNCONFIRMED)
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        decider = db.session.get(Coordinator, coordinator)
        with pytest.raises(DecisionNotAllowed):
            decide_signature(signature, "approve", decider)
        decide_signature(signature, "reject", decider)
        assert signature.status == "rejected" and not signature.listed


def test_bulk_approve_counts_and_skips_unconfirmed(app, client, auth, coalition):
    ids = [
        add_signature(app, email="a@example.org"),
        add_signature(app, email="b@example.org"),
        add_signature(app, email="c@example.org", status=SignatureStatus.UNCONFIRMED),
    ]
    auth.login()
    response = client.post(
        "/panel/podpisy/decyzje",
        data={"decision": "approve", "ids": [str(i) for i in ids], "csrf_token": auth.csrf()},
        headers={"Referer": "http://localhost/panel/podpisy"},
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zatwierdzone wpisy: 2." in page
    assert "Pominięte wpisy: 1 (jeszcze niepotwierdzone e-mailem: 1)." in page
    assert [status_of(app, i) for i in ids] == ["approved", "approved", "unconfirmed"]


def test_bulk_reject_without_selection_explains(client, auth, coalition):
    auth.login()
    response = client.post("/panel/podpisy/decyzje", data={"decision": "reject", "csrf_token": auth.csrf()})
    assert "Zaznacz co najmniej jeden wpis." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_unknown_decision_is_a_bad_request(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "delete", "csrf_token": auth.csrf()}
    )
    assert response.status_code == 400
    assert status_of(app, signature_id) == "confirmed"


def test_logout_ends_the_session(client, auth, coalition):
    auth.login()
    assert client.get("/panel/podpisy").status_code == 200
    response = client.post("/panel/wyloguj", data={"csrf_token": auth.csrf()})
    assert response.status_code == 303
    assert client.get("/panel/podpisy").status_code == 302


def test_create_coordinator_command(runner, app):
    result = runner.invoke(args=["create-coordinator", "nowa@example.org", "--name", "Nowa"], input="dlugie-haslo-1\ndlugie-haslo-1\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(Coordinator.name).where(Coordinator.email == "nowa@example.org")) == "Nowa"
    short = runner.invoke(args=["create-coordinator", "inna@example.org", "--name", "X"], input="krotkie\nkrotkie\n")
    assert short.exit_code != 0 and "co najmniej 10 znaków" in short.output


def test_organisation_row_shows_what_the_coordinator_needs(app, client, auth, coalition):
    add_signature(app, **VALID_ORGANISATION)
    auth.login()
    page = client.get("/panel/podpisy").get_data(as_text=True)
    assert "prezeska, Stowarzyszenie Sąsiedzi z Zabłocia" in page
    assert "Organizacja pozarządowa" in page


def test_queue_search_and_pages(app, client, auth, coalition):
    from koalicja.panel.views import QUEUE_PAGE_SIZE

    for number in range(QUEUE_PAGE_SIZE + 5):
        add_signature(app, email=f"osoba{number:03d}@example.org", full_name=f"Osoba {number:03d}")
    add_signature(app, email="zofia.szukana@example.org", full_name="Zofia Szukana")
    auth.login()
    first = client.get("/panel/podpisy").get_data(as_text=True)
    assert first.count('id="signature-') == QUEUE_PAGE_SIZE and "Strona 1 z 2" in first
    second = client.get("/panel/podpisy?strona=2").get_data(as_text=True)
    assert second.count('id="signature-') == 6 and "Zofia Szukana" in second
    found = client.get("/panel/podpisy?q=SZUKANA", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert found.count('id="signature-') == 1 and "Znalezione wpisy: 1." in found and "<html" not in found
    assert client.get("/panel/podpisy?q=100%25").status_code == 200


# ---- refused decisions name what happened ----------------------------------------------------


def withdraw(app, signature_id):
    from koalicja.signatures.operations import withdraw_signature

    with app.app_context():
        withdraw_signature(signature_id)


def decide_by_htmx(client, auth, signature_id, decision="approve"):
    return client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": decision},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )


def outbox_and_audit(app):
    from sqlalchemy import func

    from koalicja.coordinators.audit import AuditEntry

    with app.app_context():
        return (db.session.scalar(select(func.count(OutboxMessage.id))), db.session.scalar(select(func.count(AuditEntry.id))))


def test_approving_an_entry_withdrawn_meanwhile_says_it_was_withdrawn(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)  # the coordinator sees it waiting …
    assert f'id="signature-{signature_id}"' in queue
    withdraw(app, signature_id)  # … and the signer withdraws before the button is pressed
    before = outbox_and_audit(app)
    row = decide_by_htmx(client, auth, signature_id).get_data(as_text=True)
    assert "Ten wpis został już wycofany" in row and "nie potwierdziła" not in row
    assert "Wycofany przez osobę podpisującą" in row
    assert status_of(app, signature_id) == "withdrawn"
    assert outbox_and_audit(app) == before


def test_approving_twice_says_it_is_approved_already(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    decide_by_htmx(client, auth, signature_id)
    before = outbox_and_audit(app)
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve", "csrf_token": auth.csrf()},
        headers={"Referer": "http://localhost/panel/podpisy"},
    )
    assert response.status_code == 303
    assert "Ten wpis został już zatwierdzony." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert outbox_and_audit(app) == before


def test_rejecting_twice_says_it_is_rejected_already(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    decide_by_htmx(client, auth, signature_id, "reject")
    assert "Ten wpis został już odrzucony." in decide_by_htmx(client, auth, signature_id, "reject").get_data(as_text=True)


def test_deciding_on_an_entry_deleted_meanwhile_says_it_is_gone(app, client, auth, coalition):
    signature_id = add_signature(app)
    auth.login()
    with app.app_context():
        db.session.execute(db.delete(Signature).where(Signature.id == signature_id))
        db.session.commit()
    # The row was loaded before the lock in production; here the entry is gone before the
    # request, so the view's own lookup answers 404, the same as for a wrong number.
    assert decide_by_htmx(client, auth, signature_id).status_code == 404


def test_an_entry_deleted_between_the_views_lookup_and_the_lock_gets_a_row_saying_so(app, client, auth, coalition, monkeypatch):
    from koalicja.signatures import operations

    signature_id = add_signature(app)
    auth.login()
    token = auth.csrf()
    real_lock = operations.lock

    def lock_after_deletion(model, ident):
        db.session.execute(db.delete(Signature).where(Signature.id == ident))
        db.session.commit()
        return real_lock(model, ident)

    monkeypatch.setattr(operations, "lock", lock_after_deletion)
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja", data={"decision": "approve"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    row = response.get_data(as_text=True)
    assert response.status_code == 200 and f'id="signature-{signature_id}"' in row
    assert "Tego wpisu już nie ma: został usunięty." in row


def test_bulk_decision_says_how_many_were_decided_and_why_others_were_skipped(app, client, auth, coalition):
    ids = [
        add_signature(app, email="a@example.org"),
        add_signature(app, email="b@example.org", status=SignatureStatus.APPROVED),
        add_signature(app, email="c@example.org"),
        add_signature(app, email="d@example.org", status=SignatureStatus.UNCONFIRMED),
    ]
    withdraw(app, ids[2])
    auth.login()
    response = client.post(
        "/panel/podpisy/decyzje",
        data={"decision": "approve", "ids": [str(i) for i in ids] + ["987654"], "csrf_token": auth.csrf()},
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Zatwierdzone wpisy: 1." in page
    assert (
        "Pominięte wpisy: 4 (już zatwierdzone: 1; wycofane przez osoby podpisujące: 1; "
        "jeszcze niepotwierdzone e-mailem: 1; usunięte lub spoza Twoich koalicji: 1)."
    ) in page


def test_changing_the_password_is_saved_by_the_operation(app, client, auth, coalition):
    from koalicja.panel.operations import authenticate

    from ..conftest import COORDINATOR_PASSWORD, csrf_token_from

    auth.login()
    form = client.get("/panel/haslo")
    response = client.post("/panel/haslo", data={
        "csrf_token": csrf_token_from(form), "current_password": COORDINATOR_PASSWORD,
        "new_password": "zupelnie-nowe-haslo", "repeat_password": "zupelnie-nowe-haslo",
    })
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert authenticate(COORDINATOR_EMAIL, "zupelnie-nowe-haslo") is not None


def test_approving_what_another_coordinator_rejected_meanwhile_says_so(app, client, auth, coalition):
    """The row was shown waiting (seen=confirmed); another coordinator rejected it before the
    button was pressed: nothing is approved, and the row says it was rejected."""
    from koalicja.signatures.operations import decide_signature

    signature_id = add_signature(app)
    auth.login()
    queue = client.get("/panel/podpisy").get_data(as_text=True)
    assert '"decision": "approve", "seen": "confirmed"' in queue and 'name="seen" value="confirmed"' in queue
    with app.app_context():
        decide_signature(signature_id, "reject", db.session.get(Coordinator, 1))
    before = outbox_and_audit(app)
    response = client.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        data={"decision": "approve", "seen": "confirmed"},
        headers={"HX-Request": "true", "X-CSRFToken": auth.csrf()},
    )
    assert "Ten wpis został już odrzucony." in response.get_data(as_text=True)
    assert status_of(app, signature_id) == "rejected"
    assert outbox_and_audit(app) == before
