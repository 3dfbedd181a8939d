"""The ballot behind the personal link, through HTTP: GET shows and never records, the form's POST
records, changes and says so, nothing after the close, a replaced link stops working, and the
results show only when and where they may (public, members only, live)."""
import html
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from koalicja.consultations.models import Consultation, ConsultationMember, ConsultationOpinion, ConsultationOption
from koalicja.consultations.operations import (
    AlreadyClosed,
    EntryNotOnList,
    LinkReplaced,
    MeetingVoicesOnly,
    choose_representative,
    close_consultation,
    create_consultation,
    open_meeting_decision,
    record_voice_by_coordinator,
)
from koalicja.events.models import Event
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.signatures.operations import withdraw_signature
from koalicja.timeutil import utcnow

from ..conftest import SLUG, csrf_token_from
from ..events.conftest import make_event
from .conftest import OPTIONS, account, ballot_path, consultation_data, member_of, open_now, option_id

RECEIPT = "consultation_receipt_to_member"


def page_text(response):
    return html.unescape(response.get_data(as_text=True))


def vote(client, path, **fields):
    """Load the ballot (for its CSRF token) and post the form like a browser."""
    return client.post(path, data={"csrf_token": csrf_token_from(client.get(path)), **fields})


def counts(consultation_id):
    """The options' counters in their order."""
    return db.session.scalars(
        select(ConsultationOption.votes).where(ConsultationOption.consultation_id == consultation_id)
        .order_by(ConsultationOption.position)
    ).all()


def mails(template=None):
    statement = select(func.count(OutboxMessage.id))
    if template:
        statement = statement.where(OutboxMessage.template == template)
    return db.session.scalar(statement)


def voice(member_id):
    member = db.session.get(ConsultationMember, member_id, populate_existing=True)
    return member.took_part_at, member.method, member.choice


def flash_after(client, response):
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return " ".join(re.findall(r'<p class="flash flash--\w+">([^<]*)</p>', page_text(client.get(response.headers["Location"]))))


def close_in_the_past(consultation_id, close=True):
    """Its closing time moved into the past, as if it had run its course (and closed by the tick)."""
    past = utcnow() - timedelta(minutes=1)
    db.session.execute(update(Consultation).where(Consultation.id == consultation_id).values(closes_at=past))
    db.session.commit()
    if close:
        close_consultation(db.session.get(Consultation, consultation_id))


@pytest.fixture
def ballot(app, allies, coordinator):
    """(consultation id, zofia's member id, her ballot path, the option ids) of an open single choice."""
    with app.app_context():
        consultation = open_now(coordinator)
        member = member_of(consultation, allies.zofia)
        return consultation.id, member.id, ballot_path(member), [option_id(consultation, n) for n in (1, 2, 3)]


def test_opening_the_link_never_records_anything(app, client, ballot):
    consultation_id, member_id, path, _options = ballot
    with app.app_context():
        before = mails()
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200
    assert client.head(path).status_code == 200
    page = page_text(response)
    assert "Kto zarządza partnerstwem w przyszłym roku?" in page and "Nie oddano jeszcze głosu." in page
    assert all(f">{label}</label>" in page for label in OPTIONS)
    # Personal: never indexed, never kept by a browser or a proxy.
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Robots-Tag"] == "noindex" and '<meta name="robots" content="noindex">' in page
    with app.app_context():
        assert voice(member_id) == (None, None, None)
        assert counts(consultation_id) == [0, 0, 0]
        assert mails() == before


def test_a_voice_is_recorded_changed_and_the_same_one_again_changes_nothing(app, client, ballot):
    consultation_id, member_id, path, options = ballot
    message = flash_after(client, vote(client, path, choice=options[0]))
    assert message.startswith("Zapisaliśmy Twój głos (") and "Potwierdzenie wysłaliśmy e-mailem." in message
    page = page_text(client.get(path))
    assert f"Zapisana odpowiedź: <strong>{OPTIONS[0]}</strong>" in page and "przez osobisty link." in page
    assert "Zmień głos" in page
    with app.app_context():
        first_at, method, choice = voice(member_id)
        assert (method, choice, counts(consultation_id), mails(RECEIPT)) == ("link", [options[0]], [1, 0, 0], 1)

    assert flash_after(client, vote(client, path, choice=options[1])).startswith("Zapisaliśmy Twój zmieniony głos (")
    with app.app_context():
        changed_at, _method, choice = voice(member_id)
        assert (choice, counts(consultation_id), mails(RECEIPT)) == ([options[1]], [0, 1, 0], 2)
        assert changed_at >= first_at

    assert flash_after(client, vote(client, path, choice=options[1])).startswith("Twój głos był już zapisany w tej postaci")
    with app.app_context():
        assert voice(member_id) == (changed_at, "link", [options[1]])
        assert (counts(consultation_id), mails(RECEIPT)) == ([0, 1, 0], 2)


@pytest.mark.one_engine
def test_a_wrong_or_missing_answer_or_a_stale_form_records_nothing(app, client, ballot):
    consultation_id, member_id, path, options = ballot
    token = csrf_token_from(client.get(path))
    missing = client.post(path, data={"csrf_token": token})
    assert missing.status_code == 422 and "Wybierz odpowiedź." in page_text(missing)
    wrong = client.post(path, data={"csrf_token": token, "choice": str(max(options) + 100)})
    assert wrong.status_code == 422 and "field--error" in page_text(wrong)
    garbage = client.post(path, data={"csrf_token": token, "choice": "za"})
    assert garbage.status_code == 422
    stale = client.post(path, data={"csrf_token": "stary", "choice": options[0]})
    assert stale.status_code == 422 and "Formularz wygasł" in page_text(stale)
    assert f'value="{options[0]}"' in page_text(stale)  # the ballot again, with the answers
    with app.app_context():
        assert voice(member_id) == (None, None, None)
        assert counts(consultation_id) == [0, 0, 0]


@pytest.mark.one_engine
def test_htmx_gets_the_ballot_fragment_with_what_happened(app, client, ballot):
    consultation_id, _member_id, path, options = ballot
    token = csrf_token_from(client.get(path))
    response = client.post(path, data={"csrf_token": token, "choice": options[2]}, headers={"HX-Request": "true"})
    fragment = page_text(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert fragment.lstrip().startswith("<section id=\"ballot\"") and "<html" not in fragment
    assert re.search(r'role="status"[^>]*>Zapisaliśmy Twój głos \(', fragment)
    assert f"Zapisana odpowiedź: <strong>{OPTIONS[2]}</strong>" in fragment
    errors = client.post(path, data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert errors.status_code == 200 and "Wybierz odpowiedź." in page_text(errors)  # htmx swaps only 2xx
    with app.app_context():
        assert counts(consultation_id) == [0, 0, 1]


def test_the_voice_changes_until_the_close_and_not_after(app, client, ballot):
    consultation_id, member_id, path, options = ballot
    assert vote(client, path, choice=options[0]).status_code == 303
    token = csrf_token_from(client.get(path))
    with app.app_context():
        close_in_the_past(consultation_id, close=False)  # past its time, before the tick closed it
        recorded = voice(member_id)
    page = page_text(client.get(path))
    assert 'name="choice"' not in page and "Konsultacja jest zamknięta: głosy nie są już przyjmowane." in page
    refused = client.post(path, data={"csrf_token": token, "choice": options[1]})
    assert flash_after(client, refused) == str(AlreadyClosed.message)
    with app.app_context():
        assert voice(member_id) == recorded
        assert counts(consultation_id) == [1, 0, 0]
        assert mails(RECEIPT) == 1


def test_a_link_given_to_another_representative_no_longer_works(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator)
        member = member_of(consultation, allies.anna)  # the organisation's first approved representative
        old_path, first = ballot_path(member), option_id(consultation, 1)
    token = csrf_token_from(client.get(old_path))
    assert "Głosujesz w imieniu organizacji Stowarzyszenie Sąsiedzi z Zabłocia." in page_text(client.get(old_path))
    with app.app_context():
        member = choose_representative(db.session.get(ConsultationMember, member.id), allies.bartek, account(coordinator))
        new_path = ballot_path(member)
    for response in (client.get(old_path), client.post(old_path, data={"csrf_token": token, "choice": first})):
        assert response.status_code == 410 and str(LinkReplaced.message) in page_text(response)
        assert f'href="/{SLUG}/konsultacje/nie-mam-linku"' in page_text(response)
    with app.app_context():
        assert counts(consultation.id) == [0, 0, 0]
    assert vote(client, new_path, choice=first).status_code == 303
    with app.app_context():
        assert counts(consultation.id) == [1, 0, 0]


def test_the_link_of_a_withdrawn_entry_no_longer_opens_the_ballot(app, client, ballot, allies):
    consultation_id, member_id, path, options = ballot
    token = csrf_token_from(client.get(path))
    with app.app_context():
        withdraw_signature(allies.zofia)
    for response in (client.get(path), client.post(path, data={"csrf_token": token, "choice": options[0]})):
        assert response.status_code == 410 and str(EntryNotOnList.message) in page_text(response)
    with app.app_context():
        assert voice(member_id) == (None, None, None) and counts(consultation_id) == [0, 0, 0]


def test_a_meetings_decision_takes_no_voice_by_link(app, client, allies, coordinator):
    began = utcnow().replace(microsecond=0) - timedelta(hours=1)
    event_id = make_event(app, slug="posiedzenie", is_members_meeting=True, capacity=None, starts_at=began,
                          ends_at=began + timedelta(hours=2))
    with app.app_context():
        decision = open_meeting_decision(
            db.session.get(Event, event_id), consultation_data(kind="decision"), account(coordinator)
        )
        path, first = ballot_path(member_of(decision, allies.zofia)), option_id(decision, 1)
    page = page_text(client.get(path))
    assert 'name="choice"' not in page and str(MeetingVoicesOnly.message) in page
    refused = client.post(path, data={"csrf_token": csrf_token_from(client.get(path)), "choice": first})
    assert flash_after(client, refused) == str(MeetingVoicesOnly.message)
    with app.app_context():
        assert counts(decision.id) == [0, 0, 0]


@pytest.mark.one_engine
def test_a_broken_link_says_so(app, client, ballot):
    _consultation_id, _member_id, path, _options = ballot
    response = client.get(path[:-3])
    assert response.status_code == 400 and "Ten link jest niepełny lub nieprawidłowy" in page_text(response)
    assert client.get(path.replace(f"/{SLUG}/", "/inna-koalicja/")).status_code == 404


def test_results_stay_hidden_until_the_close_unless_shown_live(app, client, allies, coordinator):
    with app.app_context():
        hidden = open_now(coordinator)
        live = open_now(coordinator, live_results=True, title="Na bieżąco")
        paths = {c.id: (f"/{SLUG}/konsultacje/{c.id}", ballot_path(member_of(c, allies.zofia))) for c in (hidden, live)}
        first = {c.id: option_id(c, 1) for c in (hidden, live)}
    for consultation_id, (_public, path) in paths.items():
        vote(client, path, choice=first[consultation_id])
    for path in paths[hidden.id]:
        page = page_text(client.get(path))
        assert "Frekwencja" not in page, path
    assert "Wyniki pokażemy po zamknięciu konsultacji." in page_text(client.get(paths[hidden.id][0]))
    for path in paths[live.id]:
        page = page_text(client.get(path))
        assert "Frekwencja" in page and "wzięło udział 1 z 5" in page and "nie są jeszcze ostateczne" in page, path
        assert "Protokół do druku" not in page
    assert client.get(paths[live.id][0] + "/protokol").status_code == 404  # a protocol only after the close

    with app.app_context():
        close_in_the_past(hidden.id)
    public, path = paths[hidden.id]
    for page in (page_text(client.get(public)), page_text(client.get(path))):
        assert "wzięło udział 1 z 5" in page and "Zofia Łukasik" in page  # the open ballot lists who voted how
        assert "Protokół do druku" in page
    assert "Twój głos" in page_text(client.get(path)) and 'name="choice"' not in page_text(client.get(path))
    assert client.get(public + "/protokol").status_code == 200
    assert client.get(path + "/protokol").status_code == 200


def test_members_only_results_are_behind_the_personal_link(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, results_public=False)
        public, path = f"/{SLUG}/konsultacje/{consultation.id}", ballot_path(member_of(consultation, allies.zofia))
        vote(client, path, choice=option_id(consultation, 2))
        close_in_the_past(consultation.id)
    page = page_text(client.get(public))
    assert "Frekwencja" not in page and OPTIONS[1] not in page
    assert "Wyniki tej konsultacji są tylko dla członków i członkiń koalicji" in page
    assert client.get(public + "/protokol").status_code == 404
    page = page_text(client.get(path))
    assert "wzięło udział 1 z 5" in page and "nie ma ich na publicznej stronie" in page
    protocol = client.get(path + "/protokol")
    assert protocol.status_code == 200 and protocol.headers["Cache-Control"] == "private, no-store"


def test_several_choices_and_a_secret_ballot_show_the_members_own_voice(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, kind="multiple", secret=True)
        member = member_of(consultation, allies.zofia)
        path, chosen = ballot_path(member), [option_id(consultation, 1), option_id(consultation, 3)]
    assert 'type="checkbox"' in page_text(client.get(path))
    assert flash_after(client, vote(client, path, choice=chosen)).startswith("Zapisaliśmy Twój głos (")
    page = page_text(client.get(path))
    assert f"Zapisane odpowiedzi: <strong>{OPTIONS[0]}, {OPTIONS[2]}</strong>" in page
    assert page.count("checked") == 2 and "Głosowanie tajne." in page
    with app.app_context():
        row = db.session.get(ConsultationMember, member.id)
        assert row.choice is None and row.sealed_choice  # nothing in the clear
        assert counts(consultation.id) == [1, 0, 1]
        close_in_the_past(consultation.id)
    page = page_text(client.get(path))
    assert "Twój głos jest policzony." in page and "Zapisane odpowiedzi" not in page


def test_opinions_per_section_are_saved_and_an_emptied_box_deletes_one(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, kind="opinions", sections=["Cele", "Budżet"])
        member = member_of(consultation, allies.jan)
        path = ballot_path(member)
    page = page_text(client.get(path))
    assert ">Opinia o całym projekcie</label>" in page and ">Część 2: Budżet</label>" in page
    saved = vote(client, path, opinion_0="Dobry projekt.", opinion_2="Za mało na działania.")
    assert flash_after(client, saved).startswith("Zapisaliśmy Twoją opinię (")
    assert vote(client, path, opinion_0="", opinion_1="", opinion_2="").status_code == 422
    assert flash_after(client, vote(client, path, opinion_0="", opinion_2="Za mało na działania.")).startswith(
        "Zapisaliśmy Twoją opinię ("
    )
    with app.app_context():
        opinions = db.session.scalars(select(ConsultationOpinion).where(ConsultationOpinion.member_id == member.id)).all()
        assert [(o.section, o.text) for o in opinions] == [(2, "Za mało na działania.")]


def test_a_paper_voice_says_who_entered_it(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, kind="decision")
        member = member_of(consultation, allies.jan)
        record_voice_by_coordinator(member, [option_id(consultation, 2)], "paper", "karta nr 12", account(coordinator))
        path = ballot_path(member)
    page = page_text(client.get(path))
    assert "Zapisana odpowiedź: <strong>Przeciw</strong>" in page
    assert "wpisany przez koordynatora/koordynatorkę z głosowania na papierze" in page and "karta nr 12" in page


@pytest.mark.one_engine
def test_the_list_and_the_home_page_lead_to_the_consultations_but_not_to_drafts(app, client, allies, coordinator):
    with app.app_context():
        running = open_now(coordinator)
        draft = create_consultation(running.coalition, consultation_data(title="Szkic pytania"), account(coordinator))
        running_id, draft_id = running.id, draft.id
    assert f'href="/{SLUG}/konsultacje"' in page_text(client.get(f"/{SLUG}/"))
    listing = page_text(client.get(f"/{SLUG}/konsultacje"))
    assert f'href="/{SLUG}/konsultacje/{running_id}"' in listing and "Szkic pytania" not in listing
    assert client.get(f"/{SLUG}/konsultacje/{draft_id}").status_code == 404
    page = page_text(client.get(f"/{SLUG}/konsultacje/{running_id}"))
    assert "Jak zagłosować?" in page and f'href="/{SLUG}/konsultacje/nie-mam-linku"' in page


@pytest.mark.one_engine
def test_the_ballot_tells_the_closing_time_in_warsaw_and_what_an_open_ballot_means(app, client, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, closes_at=datetime(2030, 1, 15, 17, 0))  # 18:00 in Warsaw (CET)
        path = ballot_path(member_of(consultation, allies.zofia))
    page = page_text(client.get(path))
    assert "trwa do 15 stycznia 2030, 18:00" in page and "(czas polski)" in page
    assert "Głosowanie jawne: przy wynikach pokażemy, kto jak głosował" in page
    assert "Kto zarządza partnerstwem w przyszłym roku?" in page and "Wybieramy partnera zarządzającego na rok." in page
