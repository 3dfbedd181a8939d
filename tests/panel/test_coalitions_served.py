"""A coordinator's coalitions in the panel: those they serve, by name; any other address, a 404."""
import re

from sqlalchemy import select

from koalicja.coalitions.models import Coalition, Declaration
from koalicja.coordinators.models import Coordinator
from koalicja.extensions import db


def add_coalition(slug, name, served_by=None):
    coalition = Coalition(slug=slug, name=name, organiser="Fundacja")
    db.session.add_all([coalition, Declaration(coalition=coalition, title="Deklaracja", body="Tekst")])
    if served_by is not None:
        coordinator = db.session.get(Coordinator, served_by)
        coordinator.coalitions.append(coalition)
    db.session.commit()


def names_on(page):
    return re.findall(r'<h2><a href="/panel/koalicje/[^"]+/">([^<]+)</a></h2>', page)


def test_the_coalitions_served_are_listed_by_name_and_no_other(app, client, auth, coordinator):
    with app.app_context():
        add_coalition("zielen", "Koalicja dla zieleni", served_by=coordinator)
        add_coalition("alfa", "Alfa Koalicja", served_by=coordinator)
        add_coalition("obca", "Obca Koalicja")
    auth.login()
    page = client.get("/panel/koalicje/").get_data(as_text=True)
    assert names_on(page) == ["Alfa Koalicja", "Koalicja dla zieleni", "Koalicja na rzecz sąsiedztw"]


def test_an_administrator_sees_every_coalition_by_name(app, client, auth, coordinator):
    with app.app_context():
        db.session.get(Coordinator, coordinator).is_admin = True
        add_coalition("obca", "Obca Koalicja")
    auth.login()
    page = client.get("/panel/koalicje/").get_data(as_text=True)
    assert names_on(page) == ["Koalicja na rzecz sąsiedztw", "Obca Koalicja"]


def test_an_unknown_or_foreign_coalition_is_not_found(app, client, auth, coordinator):
    with app.app_context():
        add_coalition("obca", "Obca Koalicja")
        assert db.session.scalar(select(Coalition.id).where(Coalition.slug == "obca"))
    auth.login()
    for slug in ("nie-ma-takiej", "obca"):
        assert client.get(f"/panel/koalicje/{slug}/").status_code == 404
        assert client.get(f"/panel/koalicje/{slug}/sojusznicy.csv").status_code == 404
    assert client.get("/panel/koalicje/sasiedztwa/").status_code == 200
