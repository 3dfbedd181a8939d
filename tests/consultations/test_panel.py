"""Coordinators run consultations in the panel: a draft with its errors explained, opening with the
count of e-mails named, the roll with who took part and how, voices entered from paper, the
organisation's representative, reminders, a later close, the resolution and the protocol; every
action in the consultation's log, and nothing of another coalition reachable."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.consultations.models import Consultation, ConsultationMember, ConsultationOption
from koalicja.consultations.operations import close_consultation, create_consultation, record_voice
from koalicja.coordinators.audit import AuditEntry
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.timeutil import utc_to_warsaw, utcnow

from ..conftest import csrf_token_from
from .conftest import CLOSES_AFTER, account, consultation_data, member_of, open_now, option_id

PANEL = "/panel/konsultacje"


def local(moment):
    """A naive UTC time as the form's Warsaw datetime-local value."""
    return utc_to_warsaw(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(**overrides):
    closes_at = (utcnow() + timedelta(days=10)).replace(second=0, microsecond=0)
    return {
        "coalition": "sasiedztwa",
        "title": "Kto zarządza partnerstwem w 2027 roku?",
        "body": "Wybieramy partnera zarządzającego na **rok**.",
        "kind": "single",
        "options": "Fundacja Wspólna Sprawa\n\nGrupa Zielone Podwórko\n",
        "sections": "",
        "opens_at": "",
        "closes_at": local(closes_at),
        "quorum_percent": "50",
        "rule": "majority",
        "results_public": "members",
        "reminder_days": "2",
    } | overrides


def outbox(template):
    return sorted(db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.template == template)))


def log_of(consultation_id):
    return db.session.scalars(
        select(AuditEntry.summary)
        .where(AuditEntry.subject_type == "consultation", AuditEntry.subject_id == consultation_id)
        .order_by(AuditEntry.id)
    ).all()


def post(client, path, **data):
    """A form posted like a browser, with this session's CSRF token (taken once, after login)."""
    if not hasattr(client, "csrf_token"):
        client.csrf_token = csrf_token_from(client.get("/panel/podpisy"))
    return client.post(path, data={"csrf_token": client.csrf_token, **data})


@pytest.mark.one_engine
@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": ""}, "title", "Wpisz pytanie lub tytuł."),
        ({"options": "Tylko jedna"}, "options", "Wpisz od 2 do 20 odpowiedzi, każdą w osobnym wierszu."),
        ({"options": "\n".join(f"Odpowiedź {n}" for n in range(21))}, "options", "Wpisz od 2 do 20 odpowiedzi"),
        ({"options": "Tak samo\ntak  samo"}, "options", "Każda odpowiedź może wystąpić tylko raz."),
        ({"rule": "no_objection"}, "rule", "„Brak sprzeciwu” można wybrać tylko przy decyzji"),
        ({"kind": "opinions", "secret": "y"}, "secret", "Opinie nie mogą być tajne."),
        ({"secret": "y", "live_results": "y"}, "live_results", "Głosowanie tajne nie może mieć wyników na bieżąco"),
        ({"closes_at": ""}, "closes_at", "Podaj datę i godzinę zamknięcia."),
        ({"closes_at": local(utcnow() - timedelta(hours=1))}, "closes_at", "Zamknięcie musi być w przyszłości."),
        (
            {"opens_at": local(utcnow() + timedelta(days=20)), "closes_at": local(utcnow() + timedelta(days=19))},
            "closes_at", "Zamknięcie musi być później niż otwarcie.",
        ),
        ({"quorum_percent": "101"}, "quorum_percent", "Wpisz liczbę od 1 do 100."),
        ({"kind": "poll"}, "kind", "Nieprawidłowy wybór"),
    ],
)
def test_a_new_consultation_with_bad_input_comes_back_with_the_error_next_to_the_field(app, client, auth, changes, field, message):
    auth.login()
    response = post(client, f"{PANEL}/nowa", **form_data(**changes))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    error = page[page.index(f'id="{field}-error"') :][:300]
    assert message in error
    if changes.get("title", None) != "":
        assert 'value="Kto zarządza partnerstwem w 2027 roku?"' in page  # the input is kept
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultation)) == 0


def test_a_draft_is_written_in_warsaw_time_opened_with_the_count_of_emails_and_a_stale_edit_changes_nothing(
    app, client, auth, allies
):
    auth.login()
    closes_at = utcnow().replace(second=0, microsecond=0) + timedelta(days=10)
    response = post(client, f"{PANEL}/nowa", **form_data(closes_at=local(closes_at)))
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        consultation = db.session.scalar(select(Consultation))
        assert consultation.closes_at == closes_at  # typed in Warsaw, stored in UTC
        assert [option.label for option in consultation.options] == ["Fundacja Wspólna Sprawa", "Grupa Zielone Podwórko"]
        assert (consultation.status, consultation.quorum_percent, consultation.results_public) == ("draft", 50, False)
    detail = f"{PANEL}/{consultation.id}"

    edit_page = client.get(f"{detail}/edycja").get_data(as_text=True)
    assert f'value="{local(closes_at)}"' in edit_page  # shown back in Warsaw time
    assert "Fundacja Wspólna Sprawa\nGrupa Zielone Podwórko</textarea>" in edit_page
    stale_form = form_data(closes_at=local(closes_at), title="Zmieniony po otwarciu")

    page = client.get(detail).get_data(as_text=True)
    # 5 voices on the roll (one organisation of two entries, a paper entry without an address): 4 e-mails
    assert "Wyślemy teraz e-mail z osobistym linkiem do 4 osób z listy członków i członkiń." in page
    assert "Głosów na liście: 5." in page

    post(client, f"{detail}/otworz")  # without the confirmation box ticked: nothing happens
    with app.app_context():
        assert db.session.get(Consultation, consultation.id).status == "draft"
        assert outbox("consultation_invitation_to_member") == []
    response = post(client, f"{detail}/otworz", confirm="tak")
    assert response.status_code == 303
    page = client.get(detail).get_data(as_text=True)
    assert "Konsultacja jest otwarta." in page and "Jeszcze bez udziału: 5 z 5." in page
    with app.app_context():
        assert db.session.get(Consultation, consultation.id).status == "open"
        assert outbox("consultation_invitation_to_member") == [
            "anna@zablocie.example.org", "ewa@example.org", "jan@example.org", "zofia@example.org"
        ]

    response = post(client, f"{detail}/edycja", **stale_form)  # a tab left open before the opening
    assert response.status_code == 303
    assert "Ta konsultacja została już otwarta: można tylko przedłużyć jej termin." in client.get(detail).get_data(as_text=True)
    response = post(client, f"{detail}/edycja", **stale_form | {"options": "jedna"})  # with an error too
    assert response.status_code == 303
    assert "Ta konsultacja została już otwarta" in client.get(detail).get_data(as_text=True)
    response = post(client, f"{detail}/usun", confirm="tak")
    assert "Ta konsultacja została już otwarta" in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, consultation.id).title == "Kto zarządza partnerstwem w 2027 roku?"
        assert log_of(consultation.id) == [
            "Konsultacja „Kto zarządza partnerstwem w 2027 roku?”: utworzono wersję roboczą",
            "Konsultacja „Kto zarządza partnerstwem w 2027 roku?”: otwarto",
        ]
    assert "Konsultacja „Kto zarządza partnerstwem w 2027 roku?”: otwarto" in client.get(detail).get_data(as_text=True)
    assert client.get(f"{detail}/edycja").status_code == 303  # no form for an open consultation


def test_a_draft_is_deleted_only_with_the_box_ticked(app, client, auth, allies, coordinator):
    with app.app_context():
        coalition = db.session.scalar(select(Coalition))
        consultation_id = create_consultation(coalition, consultation_data(closes_at=utcnow() + CLOSES_AFTER), account(coordinator)).id
    auth.login()
    post(client, f"{PANEL}/{consultation_id}/usun")
    with app.app_context():
        assert db.session.get(Consultation, consultation_id) is not None
    response = post(client, f"{PANEL}/{consultation_id}/usun", confirm="tak")
    assert response.status_code == 303 and response.location.endswith(f"{PANEL}/")
    with app.app_context():
        assert db.session.get(Consultation, consultation_id) is None
        assert db.session.scalars(select(AuditEntry.summary).order_by(AuditEntry.id.desc())).first().endswith(
            "usunięto wersję roboczą"
        )


def test_a_later_close_is_accepted_an_earlier_one_refused_next_to_the_field(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator)
        consultation_id, closes_at = consultation.id, consultation.closes_at
    auth.login()
    detail = f"{PANEL}/{consultation_id}"
    response = post(client, f"{detail}/przedluz", closes_at=local(closes_at - timedelta(days=1)))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nowy termin zamknięcia musi być późniejszy niż obecny." in page[page.index('id="closes_at-error"') :][:300]
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).closes_at == closes_at
        assert outbox("consultation_extended_to_member") == []

    later = (closes_at + timedelta(days=3)).replace(second=0, microsecond=0)
    assert post(client, f"{detail}/przedluz", closes_at=local(later)).status_code == 303
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).closes_at == later
        assert len(outbox("consultation_extended_to_member")) == 4
        assert log_of(consultation_id)[-1].endswith("przedłużono termin zamknięcia")
    assert "przedłużono termin zamknięcia" in client.get(detail).get_data(as_text=True)


def test_a_paper_voice_is_recorded_marked_in_the_roll_and_kept_secret(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, secret=True)
        consultation_id, chosen = consultation.id, option_id(consultation, 2)
        paper_id = member_of(consultation, allies.paper).id
        record_voice(member_of(consultation, allies.zofia), [option_id(consultation, 1)])
        zofia_id = member_of(consultation, allies.zofia).id
    auth.login()
    page = client.get(f"{PANEL}/czlonkowie/{paper_id}").get_data(as_text=True)
    assert "Widzisz ten głos, bo go wpisujesz, ale zapiszemy go tak samo tajnie jak pozostałe" in page

    response = post(client, f"{PANEL}/czlonkowie/{paper_id}", method="paper", note="karta nr 3")
    assert response.status_code == 422 and "Wybierz odpowiedź." in response.get_data(as_text=True)
    response = post(client, f"{PANEL}/czlonkowie/{paper_id}", choice=str(chosen), method="paper", note="karta nr 3")
    assert response.status_code == 303
    with app.app_context():
        member = db.session.get(ConsultationMember, paper_id)
        assert (member.method, member.note, member.recorded_by_id, member.choice) == ("paper", "karta nr 3", coordinator, None)
        assert member.took_part_at is not None
        assert db.session.get(ConsultationOption, chosen).votes == 1
        assert log_of(consultation_id)[-1] == (
            f"Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: wpisano głos (na papierze): osoba prywatna nr {allies.paper}"
        )
    roll = client.get(f"{PANEL}/{consultation_id}").get_data(as_text=True)
    row = roll[roll.index(f'id="member-{paper_id}"') :][:800]
    assert "Stefan Papierowy" in row and "na papierze: karta nr 3" in row and "wpisał(a): Koordynatorka Testowa" in row
    assert "Grupa" not in row and "Fundacja" not in row  # never what, for a secret ballot
    again = client.get(f"{PANEL}/czlonkowie/{paper_id}").get_data(as_text=True)
    choices = again[again.index('id="field-choice"') :]
    assert "checked" not in choices[: choices.index("</fieldset>")]  # not shown again, not even to its enterer

    # A voice given through the member's own link is theirs: the coordinator's form is refused.
    assert "Ten głos oddano osobistym linkiem." in client.get(f"{PANEL}/czlonkowie/{zofia_id}").get_data(as_text=True)
    response = post(client, f"{PANEL}/czlonkowie/{zofia_id}", choice=str(chosen), method="paper")
    assert "zagłosował(a) już osobistym linkiem" in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ConsultationMember, zofia_id).method == "link"
        assert db.session.get(ConsultationOption, chosen).votes == 1


def test_an_open_ballots_paper_voice_is_shown_back_to_correct_it(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, kind="multiple")
        first, third = option_id(consultation, 1), option_id(consultation, 3)
        paper_id = member_of(consultation, allies.paper).id
    auth.login()
    voice = {"choice": [str(first), str(third)], "method": "meeting", "note": "posiedzenie"}
    post(client, f"{PANEL}/czlonkowie/{paper_id}", **voice)
    response = post(client, f"{PANEL}/czlonkowie/{paper_id}", **voice)  # sent twice
    assert "Ten głos był już zapisany: Stefan Papierowy (na posiedzeniu)." in client.get(response.location).get_data(as_text=True)
    page = client.get(f"{PANEL}/czlonkowie/{paper_id}").get_data(as_text=True)
    assert f'<input checked id="choice-0" name="choice" type="checkbox" value="{first}">' in page
    assert f'<input checked id="choice-2" name="choice" type="checkbox" value="{third}">' in page
    with app.app_context():
        member = db.session.get(ConsultationMember, paper_id)
        assert (member.choice, member.method) == (sorted([first, third]), "meeting")
        assert db.session.get(ConsultationOption, first).votes == 1
        assert len([entry for entry in log_of(consultation.id) if "wpisano głos" in entry]) == 1


def test_the_representative_of_an_organisation_is_changed_and_gets_the_link(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator)
        member = member_of(consultation, allies.anna)
        member_id, old_nonce = member.id, member.link_nonce
    auth.login()
    page = client.get(f"{PANEL}/czlonkowie/{member_id}").get_data(as_text=True)
    assert "Anna Wiśniewska (anna@zablocie.example.org)" in page and "Bartek Nowak (bartek@zablocie.example.org)" in page

    response = post(client, f"{PANEL}/czlonkowie/{member_id}/reprezentant", signature=str(allies.anna))
    assert "Ta osoba już otrzymuje link organizacji." in client.get(response.location).get_data(as_text=True)
    response = post(client, f"{PANEL}/czlonkowie/{member_id}/reprezentant", signature=str(allies.zofia))
    assert response.status_code == 422 and "Nieprawidłowy wybór" in response.get_data(as_text=True)
    response = post(client, f"{PANEL}/czlonkowie/{member_id}/reprezentant", signature=str(allies.bartek))
    assert response.status_code == 303
    with app.app_context():
        member = db.session.get(ConsultationMember, member_id)
        assert member.signature_id == allies.bartek and member.link_nonce != old_nonce
        assert outbox("consultation_invitation_to_member").count("bartek@zablocie.example.org") == 1
        assert log_of(consultation.id)[-1].endswith("link organizacji przekazano: Stowarzyszenie Sąsiedzi z Zabłocia")
    roll = client.get(f"{PANEL}/{consultation.id}").get_data(as_text=True)
    assert "link dostaje: Bartek Nowak" in roll


def test_the_reminder_button_writes_only_to_those_who_have_not_taken_part(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator)
        record_voice(member_of(consultation, allies.zofia), [option_id(consultation, 1)])
        consultation_id = consultation.id
    auth.login()
    page = client.get(f"{PANEL}/{consultation_id}").get_data(as_text=True)
    assert "Jeszcze bez udziału: 4 z 5." in page and "Przypomnienie dostanie 3 z nich" in page
    response = post(client, f"{PANEL}/{consultation_id}/przypomnienie")
    assert "Przypomnienie czeka w kolejce do wysłania do 3 osób." in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert outbox("consultation_reminder_to_member") == ["anna@zablocie.example.org", "ewa@example.org", "jan@example.org"]
        assert log_of(consultation_id)[-1].endswith("wysłano przypomnienie")
    assert "Ostatnie przypomnienie:" in client.get(f"{PANEL}/{consultation_id}").get_data(as_text=True)


def test_the_resolution_is_taken_only_after_the_close_then_shown_with_results_and_protocol(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator)
        consultation_id = consultation.id
        record_voice(member_of(consultation, allies.zofia), [option_id(consultation, 2)])
    auth.login()
    detail = f"{PANEL}/{consultation_id}"
    assert client.get(f"{detail}/protokol").status_code == 404
    page = client.get(detail).get_data(as_text=True)
    assert "Wyniki zobaczysz po zamknięciu." in page and "consultation-results" not in page
    response = post(client, f"{detail}/uchwala", resolution="Uchwała nr 1/2027")
    assert "dopiero po zamknięciu konsultacji" in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).resolution == ""
        close_consultation(consultation_id, now=utcnow() + CLOSES_AFTER + timedelta(minutes=1))

    response = post(client, f"{detail}/uchwala", resolution="")
    assert response.status_code == 422 and "Wpisz treść uchwały lub protokołu." in response.get_data(as_text=True)
    assert post(client, f"{detail}/uchwala", resolution="Uchwała nr 1/2027: partnerem zostaje **Stowarzyszenie**.").status_code == 303
    page = client.get(detail).get_data(as_text=True)
    assert "consultation-results" in page and "Protokół do druku" in page
    protocol = client.get(f"{detail}/protokol").get_data(as_text=True)
    assert "Uchwała nr 1/2027: partnerem zostaje <strong>Stowarzyszenie</strong>." in protocol
    assert f'href="{detail}"' in protocol
    with app.app_context():
        assert log_of(consultation_id)[-1].endswith("zapisano uchwałę lub protokół")


def test_live_results_show_to_coordinators_while_open_only_when_chosen(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation_id = open_now(coordinator, live_results=True).id
    auth.login()
    page = client.get(f"{PANEL}/{consultation_id}").get_data(as_text=True)
    assert "consultation-results" in page and "Wyniki nie są jeszcze ostateczne" in page


def test_the_list_shows_consultations_by_status(app, client, auth, allies, coordinator):
    with app.app_context():
        open_now(coordinator, title="Otwarta sprawa")
        coalition = db.session.scalar(select(Coalition))
        create_consultation(coalition, consultation_data(title="Szkic pytania"), account(coordinator))
    auth.login()
    page = client.get(f"{PANEL}/").get_data(as_text=True)
    assert page.index("Trwa") < page.index("Otwarta sprawa") < page.index("Wersja robocza") < page.index("Szkic pytania")
    assert 'aria-current="page">Konsultacje' in page


def test_a_consultation_of_another_coalition_is_not_there(app, client, auth, allies, coordinator):
    with app.app_context():
        other = Coalition(slug="inna", name="Inna koalicja", description="", organiser="", contact_email="inna@example.org")
        db.session.add_all([other, Declaration(coalition=other, title="Inna deklaracja", body="Treść")])
        db.session.commit()
        foreign = create_consultation(other, consultation_data(closes_at=utcnow() + CLOSES_AFTER), account(coordinator))
        own = open_now(coordinator)
        foreign_id, member_id = foreign.id, member_of(own, allies.anna).id
        # The other coalition's consultation open too, with a roll row of its own to aim at.
        db.session.get(Consultation, foreign_id).status = "open"
        foreign_member = ConsultationMember(consultation_id=foreign_id, member_key="person:x", link_nonce="n" * 32)
        db.session.add(foreign_member)
        db.session.commit()
        foreign_member_id = foreign_member.id
    auth.login()
    token = auth.csrf()
    for path in ("", "/edycja", "/protokol"):
        assert client.get(f"{PANEL}/{foreign_id}{path}").status_code == 404
    for path in ("/edycja", "/usun", "/otworz", "/przedluz", "/przypomnienie", "/uchwala", "/zamknij"):
        assert client.post(f"{PANEL}/{foreign_id}{path}", data={"csrf_token": token, "confirm": "tak"}).status_code == 404
    assert client.get(f"{PANEL}/czlonkowie/{foreign_member_id}").status_code == 404
    assert client.post(f"{PANEL}/czlonkowie/{foreign_member_id}", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PANEL}/czlonkowie/{foreign_member_id}/reprezentant", data={"csrf_token": token}).status_code == 404
    assert client.get(f"{PANEL}/czlonkowie/{member_id}").status_code == 200
    assert "Inna koalicja" not in client.get(f"{PANEL}/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, foreign_id).status == "open"
        assert log_of(foreign_id) == ["Konsultacja „Kto zarządza partnerstwem w przyszłym roku?”: utworzono wersję roboczą"]


def test_consultation_pages_need_login(client, coalition):
    assert client.get(f"{PANEL}/").status_code == 302
    assert client.get(f"{PANEL}/nowa").status_code == 302


def test_a_consultation_opening_later_is_scheduled_and_nobody_is_mailed_yet(app, client, auth, allies, coordinator):
    opens_at = utcnow().replace(second=0, microsecond=0) + timedelta(days=2)
    with app.app_context():
        coalition = db.session.scalar(select(Coalition))
        data = consultation_data(opens_at=opens_at, closes_at=opens_at + CLOSES_AFTER)
        consultation_id = create_consultation(coalition, data, account(coordinator)).id
    auth.login()
    detail = f"{PANEL}/{consultation_id}"
    assert "dziś do 4 osób" in client.get(detail).get_data(as_text=True)
    post(client, f"{detail}/otworz", confirm="tak")
    page = client.get(detail).get_data(as_text=True)
    assert "Konsultacja jest zaplanowana." in page and "Przedłuż termin" in page
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).status == "scheduled"
        assert outbox("consultation_invitation_to_member") == []


def test_opinions_given_on_paper_are_entered_per_section(app, client, auth, allies, coordinator):
    with app.app_context():
        consultation = open_now(coordinator, kind="opinions", sections=["Cele", "Zarząd"], options=[])
        paper_id = member_of(consultation, allies.paper).id
    auth.login()
    path = f"{PANEL}/czlonkowie/{paper_id}"
    page = client.get(path).get_data(as_text=True)
    assert "Część 2: Zarząd" in page
    response = post(client, path, opinion_0="", opinion_1="", opinion_2="", method="paper")
    assert response.status_code == 422 and "Wpisz co najmniej jedną opinię." in response.get_data(as_text=True)
    assert post(client, path, opinion_0="", opinion_2="Zarząd na dwa lata.", method="paper", note="list").status_code == 303
    with app.app_context():
        from koalicja.consultations.operations import current_opinions

        assert current_opinions(db.session.get(ConsultationMember, paper_id)) == {2: "Zarząd na dwa lata."}
    assert "Zarząd na dwa lata.</textarea>" in client.get(path).get_data(as_text=True)


def test_only_a_meetings_decision_is_closed_by_hand_and_only_with_the_box_ticked(app, client, auth, allies, coordinator):
    from koalicja.consultations.operations import open_meeting_decision
    from koalicja.events.models import Event

    from ..events.conftest import make_event

    began = utcnow().replace(microsecond=0) - timedelta(hours=1)
    event_id = make_event(app, is_members_meeting=True, agenda="1. Wybór partnera", starts_at=began,
                          ends_at=began + timedelta(hours=2))
    with app.app_context():
        regular_id = open_now(coordinator).id
        decision = open_meeting_decision(
            db.session.get(Event, event_id), consultation_data(kind="decision", options=[]), account(coordinator)
        )
        decision_id = decision.id
    auth.login()
    assert post(client, f"{PANEL}/{regular_id}/zamknij", confirm="tak").status_code == 404
    post(client, f"{PANEL}/{decision_id}/zamknij")
    with app.app_context():
        assert db.session.get(Consultation, decision_id).status == "open"
    response = post(client, f"{PANEL}/{decision_id}/zamknij", confirm="tak")
    assert "Głosowanie zamknięte." in client.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Consultation, decision_id).status == "closed"
        assert db.session.get(Consultation, regular_id).status == "open"
        assert log_of(decision_id)[-1].endswith("zamknięto")
    response = post(client, f"{PANEL}/{decision_id}/zamknij", confirm="tak")
    assert "Konsultacja jest już zamknięta" in client.get(response.location).get_data(as_text=True)
