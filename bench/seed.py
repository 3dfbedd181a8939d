"""Fill a database for the benchmark: 20 000 approved allies, 3 000 in the queue, 30 events, 2 000 registrations.

Two smaller coalitions (300 and 120 allies) sit beside the measured one, so that the
coalitions index `/` is a real list (with one coalition it only redirects).

    python -m bench.seed DATABASE_URL        (the schema is created with Alembic first)

Rows go in with bulk INSERTs (a few seconds on either database). The search and sort keys
are computed with the app's own functions, so the list behaves as with real signers.
"""
import random
import sys
import time
from datetime import timedelta

from sqlalchemy import insert

from koalicja import create_app
from koalicja.coalitions.models import Coalition, Declaration
from koalicja.events.models import Event, EventStatus, Registration, RegistrationStatus
from koalicja.extensions import db
from koalicja.mail.addresses import mailbox_key
from koalicja.panel.operations import create_coordinator
from koalicja.signatures.models import Sector, Signature, SignatureStatus, SignerKind, panel_search_key
from koalicja.text import search_key, sort_key
from koalicja.timeutil import utcnow

SLUG = "sasiedztwa"
COORDINATOR_EMAIL = "bench@example.org"
COORDINATOR_PASSWORD = "bench-koalicja-2026"
ALLIES = 20_000
QUEUE = 3_000
EVENTS = 30
REGISTRATIONS = 2_000
GALA_REGISTRATIONS = 1_000  # on the event the benchmark opens; the rest spread over the others
BIG_EVENT_SLUG = "gala"
# (slug, name, allies): the other coalitions of the index page.
OTHER_COALITIONS = [
    ("reintegracja", "Koalicja na rzecz reintegracji społeczno-zawodowej", 300),
    ("wiecbork", "Porozumienie partnerskie dla Więcborka", 120),
]

FIRST_NAMES = (
    "Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Krystyna Elżbieta Zofia Joanna Magdalena Łucja "
    "Jadwiga Aleksandra Natalia Żaneta Olena Iryna Piotr Krzysztof Andrzej Tomasz Paweł Michał Marcin Łukasz "
    "Jakub Adam Marek Grzegorz Józef Stanisław Wojciech Mateusz Dawid Szymon Bartłomiej Ścibor Oleksandr"
).split()
LAST_NAMES = (
    "Nowak Kowalska Wiśniewska Wójcik Kowalczyk Kamińska Lewandowska Zielińska Szymańska Woźniak Dąbrowska "
    "Kozłowska Jankowska Mazur Kwiatkowska Krawczyk Piotrowska Grabowska Nowakowska Pawłowska Michalska "
    "Żak Łukasik Ćwik Śliwa Sowa Wróbel Adamczyk Dudek Zając Wieczorek Jabłońska Król Majewska Olszewska "
    "Stępień Górska Rutkowska Michalak Sikora Ostrowska Baran Duda Szewczyk Tomaszewska Pietrzak Marciniak"
).split()
CITIES = ["Kraków", "Wrocław", "Łódź", "Gdańsk", "Poznań", "Lublin", "Białystok", "Rzeszów", "Toruń", "Opole"]
ORGANISATION_KINDS = [
    ("Stowarzyszenie", Sector.NGO), ("Fundacja", Sector.NGO), ("Grupa Sąsiedzka", Sector.INFORMAL_GROUP),
    ("Rada Dzielnicy", Sector.LOCAL_GOVERNMENT), ("Dom Kultury", Sector.PUBLIC_INSTITUTION),
    ("Biblioteka", Sector.PUBLIC_INSTITUTION), ("Spółdzielnia", Sector.BUSINESS), ("Kawiarnia", Sector.BUSINESS),
    ("Klub Seniora", Sector.OTHER),
]
ORGANISATION_WORDS = (
    "Sąsiedzi Zielone Podwórko Łączka Razem Otwarte Drzwi Ogródki Most Źródło Nadodrze Zabłocie Śródmieście"
).split()


def _signature_rows(declaration_id, coordinator_id, count, status, first_number, now, rng):
    rows = []
    for number in range(first_number, first_number + count):
        full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        organisation = rng.random() < 0.3
        kind = SignerKind.ORGANISATION if organisation else SignerKind.PERSON
        organisation_name, sector, role = "", None, ""
        if organisation:
            prefix, sector = rng.choice(ORGANISATION_KINDS)
            organisation_name = f"{prefix} {rng.choice(ORGANISATION_WORDS)} {rng.choice(ORGANISATION_WORDS)} nr {number}"
            role = rng.choice(["prezes", "prezeska", "członkini zarządu", "koordynator", "dyrektorka"])
        public_name = rng.random() < 0.9
        public_organisation = organisation and rng.random() < 0.95
        created = now - timedelta(days=60) + timedelta(seconds=number * 200)
        approved = status == SignatureStatus.APPROVED
        listed = approved and (public_organisation if organisation else public_name)
        display = organisation_name if organisation else full_name
        shown = [display] + ([full_name] if organisation and public_name else [])
        email = f"osoba{number}@example.org"
        rows.append(
            {
                "declaration_id": declaration_id,
                "kind": kind,
                "full_name": full_name,
                "email": email,
                "email_key": mailbox_key(email),
                "city": rng.choice(CITIES),
                "district": "",
                "organisation_name": organisation_name,
                "role": role,
                "sector": sector,
                "authorised": organisation,
                "public_name": public_name,
                "public_organisation": public_organisation,
                "listed": listed,
                "list_sort_key": sort_key(display)[:300] if listed else "",
                "list_search_key": search_key(" ".join(shown))[:600] if listed else "",
                # A bulk insert skips the ORM's write hook that fills it (signatures/models.py).
                "panel_search_key": panel_search_key(full_name, organisation_name, email, "", "", ""),
                "consents": {"at": created.isoformat(timespec="seconds") + "Z", "public_name": public_name},
                "language": "pl",
                "status": status,
                "confirm_nonce": None,
                "created_at": created,
                "confirmed_at": created + timedelta(minutes=5),
                "decided_at": created + timedelta(hours=3) if approved else None,
                "approved_at": created + timedelta(hours=3) if approved else None,
                "decided_by_id": coordinator_id if approved else None,
            }
        )
    return rows


def _events(coalition_id, now):
    events = []
    for number in range(EVENTS):
        start = (now + timedelta(days=3 + number * 4)).replace(minute=0, second=0, microsecond=0)
        big = number == 0
        events.append(
            {
                "coalition_id": coalition_id,
                "slug": BIG_EVENT_SLUG if big else f"spotkanie-{number}",
                "title": "Gala Sojuszników Sąsiedztw" if big else f"Spotkanie sąsiedzkie nr {number}",
                "summary": "Święto wszystkich, którzy podpisali deklarację.",
                "description": "Zapraszamy na **wieczór** rozmów, muzyki i podziękowań.\n\n- program artystyczny\n- poczęstunek",
                "starts_at": start,
                "ends_at": start + timedelta(hours=4),
                "venue": "Centrum Obywatelskie",
                "address": "ul. Przykładowa 10, Kraków",
                "accessibility": "Wejście bez schodów, toaleta dostępna, pętla indukcyjna.",
                "capacity": 3_000 if big else 120,
                "max_companions": 2,
                "status": EventStatus.PUBLISHED,
            }
        )
    return events


def _registration_rows(event_ids, now, rng):
    rows = []
    per_small = (REGISTRATIONS - GALA_REGISTRATIONS) // (len(event_ids) - 1)
    plan = [(event_ids[0], GALA_REGISTRATIONS)] + [(event_id, per_small) for event_id in event_ids[1:]]
    number = 0
    for event_id, count in plan:
        for _ in range(count):
            number += 1
            full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            organisation = f"Fundacja {rng.choice(ORGANISATION_WORDS)}" if rng.random() < 0.4 else ""
            email = f"gosc{number}@example.org"
            rows.append(
                {
                    "event_id": event_id,
                    "full_name": full_name,
                    "email": email,
                    "email_key": mailbox_key(email),
                    "organisation": organisation,
                    "organisation_key": search_key(organisation).strip(),
                    "search_text": search_key(f"{full_name} {organisation}")[:600],
                    "companions": rng.choice([0, 0, 0, 1]),
                    "needs": "dieta wegetariańska" if rng.random() < 0.1 else "",
                    "is_ally": rng.random() < 0.5,
                    "status": RegistrationStatus.CONFIRMED if rng.random() < 0.9 else RegistrationStatus.PENDING,
                    "code": f"B{number:07d}",
                    "consents": {"privacy_notice": True},
                    "language": "pl",
                    "created_at": now - timedelta(days=10) + timedelta(seconds=number * 300),
                    "email_confirmed_at": now - timedelta(days=9),
                }
            )
    return rows


def seed(app):
    """Bulk-load the benchmark data into `app`'s (migrated, empty) database; returns the counts."""
    rng = random.Random(2026)
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        coordinator = create_coordinator(COORDINATOR_EMAIL, "Koordynatorka Benchmarku", COORDINATOR_PASSWORD)
        coalition = Coalition(
            slug=SLUG,
            name="Koalicja na rzecz sąsiedztw",
            description="Otwarta sieć mieszkańców i mieszkanek, organizacji i instytucji.",
            organiser="Fundacja Benchmarkowa",
            contact_email="kontakt@example.org",
        )
        declaration = Declaration(
            coalition=coalition,
            title="Deklaracja współpracy na rzecz sąsiedztw",
            body="My, niżej podpisane osoby i organizacje, chcemy razem dbać o nasze sąsiedztwa.\n\n"
            + "\n".join(f"{n}. Punkt deklaracji numer {n}: wspólne działania, wymiana wiedzy i wsparcie." for n in range(1, 9)),
        )
        # The queue and the check-in show only the coalitions a coordinator serves.
        coalition.coordinators.append(coordinator)
        db.session.add_all([coalition, declaration])
        db.session.commit()
        approved = _signature_rows(declaration.id, coordinator.id, ALLIES, SignatureStatus.APPROVED, 1, now, rng)
        queue = _signature_rows(declaration.id, coordinator.id, QUEUE, SignatureStatus.CONFIRMED, ALLIES + 1, now, rng)
        for chunk in range(0, len(approved), 5_000):
            db.session.execute(insert(Signature), approved[chunk : chunk + 5_000])
        db.session.execute(insert(Signature), queue)
        first_number = ALLIES + QUEUE + 1
        for other_slug, other_name, other_allies in OTHER_COALITIONS:
            other = Coalition(slug=other_slug, name=other_name, organiser="Fundacja Benchmarkowa",
                              description="Partnerstwo organizacji, instytucji i samorządu.",
                              contact_email=f"{other_slug}@example.org")
            other_declaration = Declaration(coalition=other, title=f"Deklaracja: {other_name}",
                                            body="Deklarujemy wolę współpracy.\n\n1. Wspólne działania.\n2. Wymiana wiedzy.")
            db.session.add_all([other, other_declaration])
            db.session.flush()
            db.session.execute(insert(Signature), _signature_rows(
                other_declaration.id, coordinator.id, other_allies, SignatureStatus.APPROVED, first_number, now, rng))
            first_number += other_allies
        db.session.execute(insert(Event), _events(coalition.id, now))
        db.session.commit()
        event_ids = [event.id for event in db.session.scalars(db.select(Event).order_by(Event.id))]
        db.session.execute(insert(Registration), _registration_rows(event_ids, now, rng))
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return {"allies": ALLIES, "queue": QUEUE, "events": EVENTS, "registrations": REGISTRATIONS,
            "other coalitions": len(OTHER_COALITIONS)}


def main(database_url):
    from flask_migrate import upgrade

    app = create_app({"SECRET_KEY": "bench-seed", "SQLALCHEMY_DATABASE_URI": database_url})
    started = time.perf_counter()
    with app.app_context():
        upgrade()
    counts = seed(app)
    print(f"seeded {counts} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1])
