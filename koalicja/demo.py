"""Demo data for `make run`: one coalition, a declaration, allies and a queue to review.

The declaration below is our own text in the spirit of the coalitions we serve; real
coalitions enter theirs in the panel.
"""
from datetime import datetime, time, timedelta

from sqlalchemy import select

from .declarations.models import Coalition, Declaration
from .extensions import db
from .mail.addresses import mailbox_key
from .panel.operations import coordinator_by_email, create_coordinator
from .signatures.models import Sector, Signature, SignatureStatus, SignerKind
from .signatures.operations import refresh_listing
from .timeutil import utcnow

DEMO_COORDINATOR_EMAIL = "koordynatorka@example.org"
DEMO_COORDINATOR_PASSWORD = "demo-koalicja-2026"
DEMO_SLUG = "sasiedztwa"

DEMO_DESCRIPTION = """\
Jesteśmy otwartą siecią mieszkańców i mieszkanek, organizacji społecznych, instytucji
i samorządowców z Krakowa i Wrocławia. Łączy nas troska o sąsiedztwa: miejsca spotkań,
wzajemną pomoc i wspólne decyzje o tym, jak żyjemy obok siebie.
"""

DEMO_DECLARATION = """\
My, niżej podpisane osoby, organizacje i instytucje, chcemy razem dbać o nasze sąsiedztwa.
Przyłączamy się do Koalicji, ponieważ wierzymy, że:

- każdy mieszkaniec i każda mieszkanka ma prawo współdecydować o swojej okolicy,
- otwarte miejsca spotkań są potrzebne tak samo jak chodniki i przystanki,
- najlepsze rozwiązania powstają, gdy słuchamy różnych głosów: młodszych i starszych osób,
  osób z niepełnosprawnościami, osób z innych krajów.

Dlatego będziemy:

1. wymieniać się wiedzą, doświadczeniem i zasobami,
2. wspólnie zabierać głos w konsultacjach społecznych,
3. wspierać nowe inicjatywy sąsiedzkie,
4. dbać o to, by nasze działania były dostępne dla wszystkich.

Współpracujemy dobrowolnie, na miarę swoich możliwości. Deklaracja wyraża naszą wolę
współpracy i nie ma skutków prawnych.
"""

DEMO_FUNDING = (
    "Projekt demonstracyjny. Tu koalicja umieszcza informację o finansowaniu, "
    "np. „Sfinansowane ze środków UE”, jeśli wymaga tego umowa o dofinansowanie."
)

# (kind, full name, organisation, role, sector, public name, public organisation, status)
DEMO_SIGNERS = [
    ("organisation", "Anna Wiśniewska", "Stowarzyszenie Sąsiedzi z Zabłocia", "prezeska", Sector.NGO, True, True, "approved"),
    ("organisation", "Tomasz Zieliński", "Dom Kultury „Podgórze”", "dyrektor", Sector.PUBLIC_INSTITUTION, False, True, "approved"),
    ("organisation", "Ewa Kowalczyk", "Rada Dzielnicy XIII", "przewodnicząca", Sector.LOCAL_GOVERNMENT, True, True, "approved"),
    ("organisation", "Marek Nowak", "Kawiarnia Społeczna Łączka", "właściciel", Sector.BUSINESS, False, True, "approved"),
    ("organisation", "Olena Kovalenko", "Grupa Sąsiedzka Ogródki", "koordynatorka", Sector.INFORMAL_GROUP, True, True, "approved"),
    ("person", "Zofia Łukasik", "", "", None, True, False, "approved"),
    ("person", "Jan Żak", "", "", None, True, False, "approved"),
    ("person", "Krystyna Ćwik", "", "", None, True, False, "approved"),
    ("person", "Piotr Adamczyk", "", "", None, False, False, "approved"),
    ("organisation", "Barbara Sowa", "Fundacja Miejsce Spotkań", "członkini zarządu", Sector.NGO, True, True, "confirmed"),
    ("person", "Michał Wróbel", "", "", None, True, False, "confirmed"),
    ("person", "Agnieszka Śliwa", "", "", None, True, False, "confirmed"),
    ("person", "Karol Dąbrowski", "", "", None, True, False, "unconfirmed"),
]


def seed_demo():
    """Create the demo data once; returns False when it is there already."""
    if db.session.scalar(select(Coalition).where(Coalition.slug == DEMO_SLUG)):
        return False
    if coordinator_by_email(DEMO_COORDINATOR_EMAIL) is None:
        coordinator = create_coordinator(DEMO_COORDINATOR_EMAIL, "Koordynatorka Demo", DEMO_COORDINATOR_PASSWORD)
    else:
        coordinator = coordinator_by_email(DEMO_COORDINATOR_EMAIL)
    coalition = Coalition(
        slug=DEMO_SLUG,
        name="Koalicja na rzecz sąsiedztw",
        description=DEMO_DESCRIPTION,
        organiser="Fundacja Przykładowa, ul. Sąsiedzka 1, 30-001 Kraków",
        contact_email="kontakt@example.org",
        funding_notice=DEMO_FUNDING,
        chat_url="https://example.org/czat-koalicji",
        facebook_url="https://example.org/koalicja-na-facebooku",
        brand_colour="#1d5c4d",
        logo="favicon.svg",
    )
    declaration = Declaration(coalition=coalition, title="Deklaracja współpracy", body=DEMO_DECLARATION)
    db.session.add_all([coalition, declaration])
    start = utcnow() - timedelta(days=30)
    for number, (kind, name, organisation, role, sector, public_name, public_org, status) in enumerate(DEMO_SIGNERS):
        created = start + timedelta(days=number * 2)
        signature = Signature(
            declaration=declaration,
            kind=SignerKind(kind),
            full_name=name,
            email=f"demo{number}@example.org",
            email_key=mailbox_key(f"demo{number}@example.org"),
            city="Kraków",
            organisation_name=organisation,
            role=role,
            sector=sector,
            authorised=kind == "organisation",
            public_name=public_name,
            public_organisation=public_org,
            consents={"demo": True},
            status=SignatureStatus(status),
            created_at=created,
            confirmed_at=None if status == "unconfirmed" else created + timedelta(hours=1),
            confirm_nonce="demo" if status == "unconfirmed" else None,
        )
        if status == "approved":
            signature.decided_at = signature.approved_at = created + timedelta(days=1)
            signature.decided_by_id = coordinator.id
        refresh_listing(signature)
        db.session.add(signature)
    db.session.commit()
    _seed_events(coalition)
    return True


GALA_DESCRIPTION = """\
Spotykamy się, by podziękować sobie za rok działań w sąsiedztwach, poznać nowych sojuszników
i sojuszniczki i porozmawiać o planach. Będzie krótka część oficjalna, rozmowy przy stołach
tematycznych i poczęstunek.
"""

VISIT_DESCRIPTION = """\
Dwudniowa wizyta studyjna: odwiedzimy centra aktywności lokalnej, porozmawiamy z osobami,
które je prowadzą, i z urzędnikami odpowiedzialnymi za partycypację.

**Program:** dzień 1: przejazd, spotkania w centrach; dzień 2: spacer po osiedlu i rozmowa
podsumowująca. Koszty przejazdu i noclegu pokrywa projekt.
"""


def _seed_events(coalition):
    from .events.models import Event, EventStatus, Registration, RegistrationStatus
    from .text import search_key
    from .timeutil import warsaw_to_utc, warsaw_today

    today = warsaw_today()
    gala_day = today + timedelta(days=21)
    gala = Event(
        coalition=coalition,
        slug="gala-sojusznikow-sasiedztw",
        title="Gala Sojuszników Sąsiedztw",
        summary="Święto wszystkich, którzy podpisali deklarację: podziękowania, rozmowy i plany.",
        description=GALA_DESCRIPTION,
        starts_at=warsaw_to_utc(datetime.combine(gala_day, time(11, 0))),
        ends_at=warsaw_to_utc(datetime.combine(gala_day, time(15, 0))),
        venue="Centrum Obywatelskie",
        address="ul. Przykładowa 10, 30-001 Kraków",
        accessibility="Wejście bez schodów, winda, toaleta dostępna dla osób z niepełnosprawnościami. Pętla indukcyjna w sali.",
        capacity=80,
        max_companions=1,
        reserved_for_allies=20,
        max_per_organisation=3,
        status=EventStatus.PUBLISHED,
    )
    visit_day = today + timedelta(days=45)
    visit = Event(
        coalition=coalition,
        slug="wizyta-studyjna-wroclaw",
        title="Wizyta studyjna we Wrocławiu",
        summary="Dwa dni w centrach aktywności lokalnej: jak tworzyć miejsca otwarte dla mieszkańców.",
        description=VISIT_DESCRIPTION,
        starts_at=warsaw_to_utc(datetime.combine(visit_day, time(8, 0))),
        ends_at=warsaw_to_utc(datetime.combine(visit_day + timedelta(days=1), time(18, 0))),
        venue="Zbiórka: Dworzec Główny w Krakowie",
        address="Wyjazd do Wrocławia",
        accessibility="Autokar z podnośnikiem. Napisz o swoich potrzebach w zgłoszeniu.",
        capacity=4,
        allies_only=True,
        requires_approval=True,
        status=EventStatus.PUBLISHED,
    )
    db.session.add_all([gala, visit])
    people = [
        (gala, "Anna Wiśniewska", "demo0@example.org", "Stowarzyszenie Sąsiedzi z Zabłocia", 1, RegistrationStatus.CONFIRMED),
        (gala, "Jan Żak", "demo6@example.org", "", 0, RegistrationStatus.CONFIRMED),
        (gala, "Ewa Kowalczyk", "demo2@example.org", "Rada Dzielnicy XIII", 0, RegistrationStatus.PENDING),
        (visit, "Zofia Łukasik", "demo5@example.org", "", 0, RegistrationStatus.CONFIRMED),
        (visit, "Olena Kovalenko", "demo4@example.org", "Grupa Sąsiedzka Ogródki", 0, RegistrationStatus.CONFIRMED),
        (visit, "Krystyna Ćwik", "demo7@example.org", "", 0, RegistrationStatus.APPROVAL),
        (visit, "Tomasz Zieliński", "demo1@example.org", "Dom Kultury „Podgórze”", 0, RegistrationStatus.CONFIRMED),
        (visit, "Jan Kowalski", "demo12@example.org", "", 0, RegistrationStatus.WAITING),
    ]
    now = utcnow()
    for number, (event, name, email, organisation, companions, status) in enumerate(people):
        db.session.add(
            Registration(
                event=event,
                full_name=name,
                email=email,
                email_key=mailbox_key(email),
                organisation=organisation,
                organisation_key=search_key(organisation).strip(),
                search_text=search_key(f"{name} {organisation}"),
                companions=companions,
                needs="Dieta wegetariańska." if number == 0 else "",
                is_ally=True,
                status=status,
                code=f"DEMO{number:04d}",
                email_confirmed_at=None if status == RegistrationStatus.PENDING else now,
                hold_expires_at=now + timedelta(hours=48) if status == RegistrationStatus.PENDING else None,
                confirm_nonce="demo" if status in (RegistrationStatus.PENDING, RegistrationStatus.WAITING) else None,
                consents={"demo": True},
                created_at=now - timedelta(days=7 - number),
            )
        )
    db.session.commit()

