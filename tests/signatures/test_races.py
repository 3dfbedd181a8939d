"""Races that really overlap: gunicorn (2 workers x 4 threads) serving the app on SQLite and on
PostgreSQL, many HTTP clients released together (tests/served.py), then the invariants read
from the database and from the public pages:

- withdrawal wins over any approval that comes after it: a withdrawn entry is never listed,
  never found by the public search, never counted, and nobody who withdrew gets an e-mail;
- two coordinators approving the same entries decide each entry once: one approval e-mail
  and one audit entry per entry;
- one confirmation link pressed 20 times at once confirms once; the other 19 are told the link
  was used.
"""
import re
from urllib.parse import quote

from sqlalchemy import func, select

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.audit import AuditAction, AuditEntry
from koalicja.declarations.operations import count_allies
from koalicja.extensions import db
from koalicja.mail.addresses import mailbox_key
from koalicja.mail.models import OutboxMessage
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.notifications import CONFIRM_PURPOSE, WITHDRAW_PURPOSE
from koalicja.signatures.operations import new_signature, refresh_listing
from koalicja.timeutil import utcnow
from koalicja.tokens import make_token

from ..served import SECRET_KEY, Visitor, at_once, served_app

SLUG = "sasiedztwa"
PASSWORD = "haslo-do-wyscigow-1234"
COORDINATORS = ["pierwsza@example.org", "druga@example.org"]
SURNAME = "Wycofująca"  # every racing signer's; the public search for it must find nobody
LETTERS = "bcdfghjklmnprstwz"


def _word(number):
    """A name part made of letters only (the search folds digits away with nothing)."""
    return "".join(LETTERS[int(d)] for d in f"{number:03d}").capitalize()


def _app(database_url):
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET_KEY,  # the served app's: links made here work there
            "SQLALCHEMY_DATABASE_URI": database_url,
            "PASSWORD_HASH_PROFILE": "CHEAPEST",
            "BASE_URL": "http://koalicja.test",
        }
    )


def _world(app, signers, status=SignatureStatus.CONFIRMED):
    """A coalition, two coordinators serving it, one listed ally (the search's control) and
    `signers` entries in `status`; returns their ids."""
    with app.app_context():
        db.create_all()
        coalition = Coalition(slug=SLUG, name="Koalicja na rzecz sąsiedztw")
        declaration = Declaration(coalition=coalition, title="Deklaracja współpracy", body="Tekst.")
        db.session.add_all([coalition, declaration])
        db.session.commit()
        for number, address in enumerate(COORDINATORS):
            account = create_coordinator(address, f"Koordynatorka {number + 1}", PASSWORD)
            account.coalitions.append(coalition)
        control = _signature(declaration, "Kontrolna Osoba", "kontrolna@example.org", SignatureStatus.APPROVED)
        control.approved_at = control.decided_at = utcnow()
        refresh_listing(control)
        entries = [
            _signature(declaration, f"{_word(n)} {SURNAME}", f"osoba{n}@example.org", status) for n in range(signers)
        ]
        db.session.add_all([control, *entries])
        db.session.commit()
        ids = [entry.id for entry in entries]
        db.session.remove()
        db.engine.dispose()
    return ids


def _signature(declaration, name, address, status):
    signature = new_signature(
        declaration,
        {"kind": "person", "full_name": name, "email": address, "public_name": True},
        email_key=mailbox_key(address),
        status=status,
        confirm_nonce=f"c{abs(hash(address)) % 10**12}" if status == SignatureStatus.UNCONFIRMED else None,
        confirmed_at=None if status == SignatureStatus.UNCONFIRMED else utcnow(),
    )
    return signature


def _links(app, purpose, ids):
    with app.app_context():
        rows = db.session.scalars(select(Signature).where(Signature.id.in_(ids)).order_by(Signature.id)).all()
        nonce = "confirm_nonce" if purpose == CONFIRM_PURPOSE else "withdraw_nonce"
        prefix = "/potwierdz/" if purpose == CONFIRM_PURPOSE else "/wycofaj/"
        links = {row.id: prefix + make_token(purpose, {"s": row.id, "n": getattr(row, nonce)}) for row in rows}
        db.session.remove()
        db.engine.dispose()
    return links


def _logged_in(base_url, address):
    visitor = Visitor(base_url)
    visitor.login(address, PASSWORD)
    visitor.token = visitor.get("/panel/podpisy").csrf_token
    return visitor


def _ready_withdrawers(base_url, links):
    """One browser per signer, on the withdrawal page already (its CSRF token in hand)."""

    def open_page(signature_id):
        visitor = Visitor(base_url)
        visitor.token = visitor.get(links[signature_id]).csrf_token
        return visitor

    ids = list(links)
    return dict(zip(ids, at_once(len(ids), lambda n: open_page(ids[n]))))


def _approve_one(coordinator, signature_id):
    """An htmx row action: the answer is the row again, with a message when nothing was done."""
    response = coordinator.post(
        f"/panel/podpisy/{signature_id}/decyzja",
        {"csrf_token": coordinator.token, "decision": "approve"},
        headers={"HX-Request": "true"},
    )
    assert response.status == 200, (response.status, response.text[:300])
    return 'role="alert"' not in response.text


def _approve_all(coordinator, ids):
    """The bulk form; the outcome is in the flash messages of the next page."""
    response = coordinator.post(
        "/panel/podpisy/decyzje", {"csrf_token": coordinator.token, "decision": "approve", "ids": [str(i) for i in ids]}
    )
    assert response.status == 303, (response.status, response.text[:300])
    page = coordinator.get("/panel/podpisy").text
    decided = re.search(r"Zatwierdzone wpisy: (\d+)", page)
    assert decided, page[:2000]
    return int(decided.group(1)), page


def _public_found(base_url, query):
    response = Visitor(base_url).get(f"/{SLUG}/sojusznicy?q={quote(query)}", headers={"HX-Request": "true"})
    assert response.status == 200, response.status
    match = re.search(r"Znalezione wpisy: (\d+)", response.text)
    assert match, response.text[:500]
    return int(match.group(1))


def _state(app, ids):
    """What the race left: the rows, the e-mails to the racing addresses (by the entry's id: the
    address osobaN@ is the N-th entry's), the approvals audited, the public count."""
    with app.app_context():
        rows = db.session.scalars(select(Signature).where(Signature.id.in_(ids)).order_by(Signature.id)).all()
        addresses = [f"osoba{n}@example.org" for n in range(len(ids))]
        mails = db.session.scalars(select(OutboxMessage).where(func.lower(OutboxMessage.recipient).in_(addresses))).all()
        audits = db.session.execute(
            select(AuditEntry.subject_id, func.count(AuditEntry.id))
            .where(AuditEntry.action == AuditAction.APPROVE, AuditEntry.subject_type == "signature")
            .group_by(AuditEntry.subject_id)
        ).all()
        state = {
            "rows": [
                {
                    "id": row.id,
                    "status": row.status,
                    "listed": row.listed,
                    "search_key": row.list_search_key,
                    "sort_key": row.list_sort_key,
                    "name": row.full_name,
                    "email": row.email,
                    "approved_at": row.approved_at,
                }
                for row in rows
            ],
            "mails": [(ids[int(re.search(r"osoba(\d+)@", mail.recipient.lower()).group(1))], mail.template) for mail in mails],
            "audits": dict(audits),
            "allies": count_allies(db.session.scalar(select(Coalition))),
        }
        db.session.remove()
        db.engine.dispose()
    return state


def _withdrawal_figures(state, ids):
    rows = [row for row in state["rows"] if row["id"] in ids]
    return {
        "not withdrawn": sum(row["status"] != SignatureStatus.WITHDRAWN for row in rows),
        "listed": sum(row["listed"] for row in rows),
        "search key kept": sum(bool(row["search_key"] or row["sort_key"]) for row in rows),
        "approval e-mails": sum(i in ids and t == "signature_approved_to_signer" for i, t in state["mails"]),
        "e-mails left": sum(i in ids for i, _t in state["mails"]),
    }


def test_withdrawal_wins_over_approval_singly_and_in_bulk(database_url, tmp_path):
    """30 signers withdraw while a coordinator approves their entries one by one, then 30 more
    while a coordinator approves all of theirs at once (one bulk form, and a second one
    a moment later by the other coordinator)."""
    app = _app(database_url)
    ids = _world(app, 60)
    singly, in_bulk = ids[:30], ids[30:]
    links = _links(app, WITHDRAW_PURPOSE, ids)
    with served_app(database_url, tmp_path) as base_url:
        first, second = (_logged_in(base_url, address) for address in COORDINATORS)
        withdrawers = _ready_withdrawers(base_url, links)

        def withdraw(signature_id):
            visitor = withdrawers[signature_id]
            response = visitor.post(links[signature_id], {"csrf_token": visitor.token})
            assert response.status == 303, (response.status, response.text[:300])

        tasks = [lambda i=i: withdraw(i) for i in singly] + [lambda i=i: _approve_one(first, i) for i in singly]
        single_results = at_once(len(tasks), lambda n: tasks[n]())
        tasks = [lambda i=i: withdraw(i) for i in in_bulk]
        tasks += [lambda: _approve_all(first, in_bulk), lambda: _approve_all(second, in_bulk)]
        bulk_results = at_once(len(tasks), lambda n: tasks[n]())

        state = _state(app, ids)
        found = _public_found(base_url, SURNAME)
        control_found = _public_found(base_url, "Kontrolna")

    approvals_done = sum(bool(result) for result in single_results[30:])
    bulk_decided = sum(decided for decided, _page in bulk_results[30:])
    figures = {
        "singly": _withdrawal_figures(state, singly),
        "bulk": _withdrawal_figures(state, in_bulk),
        "found by the public search": found,
        "counted": state["allies"] - 1,
        "approvals audited": sum(state["audits"].get(i, 0) for i in ids),
        "approvals answered as done": approvals_done + bulk_decided,
        "entries audited twice": sum(state["audits"].get(i, 0) > 1 for i in ids),
    }
    print("withdraw x approve:", figures)
    clean = {"not withdrawn": 0, "listed": 0, "search key kept": 0, "approval e-mails": 0, "e-mails left": 0}
    assert control_found == 1
    assert figures["singly"] == clean, figures
    assert figures["bulk"] == clean, figures
    assert (figures["found by the public search"], figures["counted"]) == (0, 0), figures
    assert figures["entries audited twice"] == 0, figures
    # Every approval that was answered as done left exactly one audit entry, and no other did.
    assert figures["approvals audited"] == figures["approvals answered as done"], figures
    assert all(row["name"] == "" and row["email"] == "" for row in state["rows"])


def test_two_coordinators_approving_the_same_entries_decide_each_once(database_url, tmp_path):
    """40 entries; each coordinator sends one bulk approval of all 40 and approves each of the
    40 rows as well, all at once (82 requests)."""
    app = _app(database_url)
    ids = _world(app, 40)
    with served_app(database_url, tmp_path) as base_url:
        first, second = (_logged_in(base_url, address) for address in COORDINATORS)
        first_bulk, second_bulk = (_logged_in(base_url, address) for address in COORDINATORS)
        tasks = [lambda: _approve_all(first_bulk, ids), lambda: _approve_all(second_bulk, ids)]
        tasks += [lambda i=i, c=c: _approve_one(c, i) for i in ids for c in (first, second)]
        results = at_once(len(tasks), lambda n: tasks[n]())
        state = _state(app, ids)
        found = _public_found(base_url, SURNAME)

    answered_done = results[0][0] + results[1][0] + sum(bool(result) for result in results[2:])
    approval_mails = [to for to, template in state["mails"] if template == "signature_approved_to_signer"]
    figures = {
        "approved": sum(row["status"] == SignatureStatus.APPROVED for row in state["rows"]),
        "approval e-mails": len(approval_mails),
        "addresses mailed twice": len(approval_mails) - len(set(approval_mails)),
        "approvals audited": sum(state["audits"].get(i, 0) for i in ids),
        "entries audited twice": sum(state["audits"].get(i, 0) > 1 for i in ids),
        "approvals answered as done": answered_done,
        "found by the public search": found,
        "counted": state["allies"] - 1,
    }
    print("approve x approve:", figures)
    assert figures == {
        "approved": 40,
        "approval e-mails": 40,
        "addresses mailed twice": 0,
        "approvals audited": 40,
        "entries audited twice": 0,
        "approvals answered as done": 40,
        "found by the public search": 40,
        "counted": 40,
    }, figures
    assert "już zatwierdzone: " in results[0][1] + results[1][1]  # a bulk that came later says why it skipped


def test_one_confirmation_link_pressed_twenty_times_confirms_once(database_url, tmp_path):
    """15 rounds: 15 unconfirmed signers, each link POSTed 20 times at once (5 links per burst)."""
    app = _app(database_url)
    ids = _world(app, 15, status=SignatureStatus.UNCONFIRMED)
    links = _links(app, CONFIRM_PURPOSE, ids)
    outcomes = {}
    with served_app(database_url, tmp_path) as base_url:
        def open_page(n):
            visitor = Visitor(base_url)
            visitor.token = visitor.get(links[ids[n]]).csrf_token
            return visitor

        browsers = dict(zip(ids, at_once(len(ids), open_page)))
        for start in range(0, len(ids), 5):
            burst = [i for i in ids[start:start + 5] for _press in range(20)]

            def press(n, burst=burst):
                visitor = browsers[burst[n]]
                return burst[n], visitor.post(links[burst[n]], {"csrf_token": visitor.token})

            for signature_id, response in at_once(len(burst), press):
                confirmed = response.status == 303 and "/dziekujemy" in response.headers.get("Location", "")
                used = response.status == 400 and "Ten link został już użyty" in response.text
                assert confirmed or used, (response.status, response.text[:300])
                outcomes.setdefault(signature_id, []).append(confirmed)
        state = _state(app, ids)

    confirmed_per_link = [sum(outcomes[i]) for i in ids]
    figures = {
        "links that confirmed more than once": sum(count > 1 for count in confirmed_per_link),
        "confirmations answered": sum(confirmed_per_link),
        "confirmed": sum(row["status"] == SignatureStatus.CONFIRMED for row in state["rows"]),
        "e-mails": len(state["mails"]),
        "audit entries": sum(state["audits"].values()),
    }
    print("20 x confirm:", figures)
    assert figures == {
        "links that confirmed more than once": 0,
        "confirmations answered": len(ids),
        "confirmed": len(ids),
        "e-mails": 0,
        "audit entries": 0,
    }, figures
