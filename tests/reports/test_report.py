"""The funder's report on fixed data with known counts: per kind, sector, district, town and
month (Polish time at the year's edges), events with no-shows and walk-ins, announcements."""
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from koalicja.announcements.models import Announcement
from koalicja.coalitions.models import Coalition
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.reports.data import build_report
from koalicja.signatures.models import Signature, SignatureStatus

from ..conftest import SLUG, current_declaration
from ..pdf import page_texts, require_pdf

PERIOD = "?od=2026-01-01&do=2026-12-31"
REPORT = f"/panel/koalicje/{SLUG}/sprawozdanie"
APPROVED = SignatureStatus.APPROVED
# (kind, sector, city, district, status, approved_at in UTC)
ALLIES = [
    ("person", None, "Kraków", "XIII Podgórze", APPROVED, datetime(2026, 2, 3, 10)),
    ("person", None, "krakow", "", APPROVED, datetime(2026, 2, 20, 10)),
    ("person", None, "Wieliczka", "", APPROVED, datetime(2026, 3, 1, 10)),
    ("organisation", "ngo", "Kraków", "I Stare Miasto", APPROVED, datetime(2026, 3, 5, 10)),
    ("organisation", "ngo", "", "", APPROVED, datetime(2026, 3, 9, 10)),
    # 23:30 on 31 December in Warsaw: still this year, December.
    ("organisation", "local_government", "Wieliczka", "", APPROVED, datetime(2026, 12, 31, 22, 30)),
    # 23:30 UTC on 31 December 2025 is 00:30 on 1 January in Warsaw: January.
    ("organisation", "informal_group", "", "", APPROVED, datetime(2025, 12, 31, 23, 30)),
    # 23:30 on 31 December 2025 in Warsaw: before the period, counted only among all allies at its end.
    ("organisation", "business", "Kraków", "", APPROVED, datetime(2025, 12, 31, 22, 30)),
    ("person", None, "Kraków", "V Krowodrza", SignatureStatus.WITHDRAWN, datetime(2026, 6, 1, 10)),  # never counted
    ("person", None, "Kraków", "V Krowodrza", SignatureStatus.CONFIRMED, None),  # not approved
]


@pytest.fixture
def report_data(app, coalition, coordinator):
    with app.app_context():
        declaration = current_declaration()
        for number, (kind, sector, city, district, status, approved_at) in enumerate(ALLIES):
            db.session.add(Signature(
                declaration_id=declaration.id, kind=kind, sector=sector, city=city, district=district, status=status,
                approved_at=approved_at, full_name=f"Osoba {number}", email=f"o{number}@example.org",
                email_key=f"o{number}@example.org", unsubscribed_at=datetime(2026, 4, 2) if number == 0 else None,
            ))
        coalition_id = declaration.coalition_id
        day = datetime(2026, 6, 10, 10)
        event = Event(coalition_id=coalition_id, slug="zebranie", title="Zebranie w Podgórzu", starts_at=day,
                      ends_at=datetime(2026, 6, 10, 13), status=EventStatus.PUBLISHED)
        draft = Event(
            coalition_id=coalition_id, slug="szkic", title="Szkic", starts_at=day, ends_at=day, status=EventStatus.DRAFT
        )
        next_year = datetime(2027, 2, 1)
        later = Event(
            coalition_id=coalition_id, slug="potem", title="Potem", starts_at=next_year, ends_at=next_year,
            status=EventStatus.PUBLISHED,
        )
        db.session.add_all([event, draft, later])
        db.session.flush()
        # (status, companions, attended, added by the coordinator, walk-in, created at)
        for number, (status, companions, attended, added, walk_in, created) in enumerate([
            (RegistrationStatus.CONFIRMED, 1, True, False, False, datetime(2026, 5, 1)),  # 2 places, present
            (RegistrationStatus.CONFIRMED, 0, False, False, False, datetime(2026, 5, 2)),  # a no-show
            (RegistrationStatus.CANCELLED, 0, False, False, False, datetime(2026, 5, 3)),  # not counted
            (RegistrationStatus.CONFIRMED, 0, True, True, True, datetime(2026, 6, 10, 9)),  # added at the door: a walk-in
            (RegistrationStatus.CONFIRMED, 0, True, True, False, datetime(2026, 6, 10, 8)),  # added by hand: registered
        ]):
            db.session.add(Registration(
                event_id=event.id, full_name=f"Gość {number}", email=f"g{number}@example.org", email_key=f"g{number}@example.org",
                status=status, companions=companions, attended_at=day if attended else None, code=f"KOD{number}",
                added_by_id=coordinator if added else None, walk_in=walk_in, created_at=created,
            ))
        sent_out = [(datetime(2026, 3, 1), 10, 9), (datetime(2026, 9, 1), 5, 5), (datetime(2025, 9, 1), 7, 7)]  # the last: 2025
        for created, recipients, sent in sent_out:
            db.session.add(Announcement(
                coalition_id=coalition_id, subject="Komunikat", body="Treść", created_at=created,
                recipients=recipients, sent_count=sent,
            ))
        db.session.commit()


def _counts(tallies):
    return {tally.key: tally.count for tally in tallies}


def test_the_report_counts_allies_events_and_announcements(app, report_data):
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == SLUG))
        report = build_report(coalition, datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date())
    assert (report.allies_at_end, report.new_allies) == (8, 7)
    assert _counts(report.by_kind) == {"person": 3, "organisation": 4}
    assert _counts(report.by_sector) == {
        "resident": 3, "local_government": 1, "public_institution": 0, "ngo": 2, "business": 0, "informal_group": 1, "other": 0,
    }
    districts = _counts(report.by_district)
    assert (districts["XIII Podgórze"], districts["I Stare Miasto"], districts["-"]) == (1, 1, 5)
    assert sum(districts.values()) == 7 and len(districts) == 19
    assert [(tally.label, tally.count) for tally in report.by_town] == [("Kraków", 3), ("Wieliczka", 2), ("Nie podano", 2)]
    months = _counts(report.by_month)
    assert len(months) == 12
    assert (months["2026-01"], months["2026-02"], months["2026-03"], months["2026-12"]) == (1, 2, 3, 1)
    assert sum(months.values()) == 7
    (line,) = report.events
    assert (line.title, line.registered, line.present, line.no_shows, line.walk_ins) == ("Zebranie w Podgórzu", 4, 3, 1, 1)
    assert (report.announcements, report.announcement_emails, report.announcement_sent, report.unsubscribes) == (2, 15, 14, 1)


def test_the_panel_page_shows_accessible_charts_with_their_tables(client, auth, report_data):
    auth.login()
    page = client.get(REPORT + PERIOD).get_data(as_text=True)
    assert page.count('role="img"') == 4 and "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]
    assert '<title id="wykres-sektory-title">Nowi sojusznicy i sojuszniczki według sektora</title>' in page
    assert "Organizacja pozarządowa: 2; Firma: 0" in page  # the description reads out every bar
    assert '<th scope="row">Organizacja pozarządowa</th><td class="number">2</td>' in page
    assert "Zebranie w Podgórzu" in page and "sprawozdanie.pdf?od=2026-01-01&amp;do=2026-12-31" in page


def test_a_wrong_period_is_said_beside_the_field(client, auth, coalition):
    auth.login()
    response = client.get(REPORT + "?od=2026-05-01&do=2026-01-31")
    assert response.status_code == 422 and "Koniec okresu nie może być przed jego początkiem." in response.get_data(as_text=True)
    response = client.get(REPORT + "?od=jutro&do=2026-01-31")
    assert response.status_code == 422 and 'value="jutro"' in response.get_data(as_text=True)
    assert client.get(REPORT + ".xlsx?od=jutro&do=2026-01-31").status_code == 422


def test_the_default_period_is_this_year(client, auth, coalition):
    auth.login()
    page = client.get(REPORT).get_data(as_text=True)
    assert f"od 1 stycznia {datetime.now().year}" in page and f"do 31 grudnia {datetime.now().year}" in page


def test_the_spreadsheet_holds_the_same_numbers_typed(client, auth, report_data):
    auth.login()
    response = client.get(REPORT + ".xlsx" + PERIOD)
    assert response.headers["Content-Disposition"] == 'attachment; filename="sprawozdanie-sasiedztwa-2026-01-01-2026-12-31.xlsx"'
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Podsumowanie", "Rodzaj", "Sektor", "Dzielnica", "Miejscowość", "Miesiąc", "Wydarzenia"]
    sectors = {row[0]: row[2] for row in workbook["Sektor"].iter_rows(min_row=2, values_only=True)}
    assert sectors["ngo"] == 2 and sectors["resident"] == 3 and isinstance(sectors["ngo"], int)
    months = list(workbook["Miesiąc"].iter_rows(min_row=2))
    assert months[1][0].value == "2026-02" and months[1][0].data_type == "s" and months[1][2].value == 2
    (event,) = workbook["Wydarzenia"].iter_rows(min_row=2, values_only=True)
    assert event == ("zebranie", "Zebranie w Podgórzu", datetime(2026, 6, 10, 12), 4, 3, 1, 1)  # 12:00 in Warsaw
    summary = dict(workbook["Podsumowanie"].iter_rows(min_row=2, values_only=True))
    assert summary["Sojusznicy i sojuszniczki na koniec okresu"] == 8 and summary["Wypisania z komunikatów"] == 1


@pytest.mark.parametrize("database", ["sqlite"])  # one render is enough: the numbers are checked above
def test_the_printable_report_carries_the_funding_line(app, client, auth, report_data):
    require_pdf()
    with app.app_context():
        db.session.scalar(select(Coalition).where(Coalition.slug == SLUG)).funding_notice = "Finansowane przez Unię Europejską"
        db.session.commit()
    auth.login()
    pages = page_texts(client.get(REPORT + ".pdf" + PERIOD).data)
    for page in pages:
        assert "Finansowane przez Unię Europejską" in page and "Sprawozdanie: Koalicja na rzecz sąsiedztw" in page
    text = " ".join(" ".join(pages).split())
    assert "Okres: od 1 stycznia 2026 do 31 grudnia 2026" in text and "Zebranie w Podgórzu" in text
    assert "Mieszkańcy i mieszkanki 3" in text and "Dołączyło w okresie: 7" in text


def test_only_the_coalitions_coordinators_see_the_report(app, client, auth, coalition):
    with app.app_context():
        db.session.add(Coalition(slug="inna", name="Inna", organiser="X", contact_email="x@example.org"))
        db.session.commit()
    assert client.get(REPORT).status_code == 302
    auth.login()
    for suffix in ("", ".pdf", ".xlsx"):
        assert client.get(f"/panel/koalicje/inna/sprawozdanie{suffix}").status_code == 404
    assert "sprawozdanie" in client.get(f"/panel/koalicje/{SLUG}/").get_data(as_text=True)
