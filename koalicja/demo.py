"""Demo data for `make run`: three coalitions with the three kinds of agreement we serve.

- a neighbourhood coalition's declaration (with an earlier version still readable),
- a reintegration coalition's declaration with numbered postulates, signed by organisations
  with KRS/NIP/REGON (one of them twice, to show the duplicate flag),
- a partnership agreement that later received an annex, with a paper signature, a past
  members' meeting with its minutes, a closed consultation (the choice of the managing partner,
  with its resolution) and an open one (a secret decision on the steering team's rules).

The consultations are made by the operations, with their clock moved back (`now=`), so the
roll, the counts, the receipts and the audit log are what the app itself would have written.

The texts are our own, in the spirit of the coalitions we serve; real coalitions enter
theirs in the panel.
"""
import shutil
from datetime import datetime, time, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update

from .coalitions.models import Coalition, Declaration, DeclarationVersion, Endorsement, EndorsementMethod, VersionKind
from .consultations.models import ConsultationKind, ConsultationMember, DecidingRule, DecisionOption, VoiceMethod
from .consultations.operations import (
    close_consultation,
    create_consultation,
    open_consultation,
    record_voice,
    record_voice_by_coordinator,
    send_reminders,
    set_resolution,
)
from .extensions import db
from .mail.addresses import mailbox_key
from .mail.models import OutboxMessage, OutboxStatus
from .panel.operations import coordinator_by_email, create_coordinator
from .signatures.models import Sector, Signature, SignatureOrigin, SignatureStatus, SignerKind
from .signatures.operations import refresh_listing
from .text import search_key
from .timeutil import utc_to_warsaw, utcnow, warsaw_to_utc, warsaw_today

DEMO_COORDINATOR_EMAIL = "koordynatorka@example.org"  # an administrator: sees every coalition
DEMO_COORDINATOR_PASSWORD = "demo-koalicja-2026"
DEMO_SCOPED_EMAIL = "reintegracja@example.org"  # a coordinator of the reintegration coalition only
DEMO_SCOPED_PASSWORD = "demo-reintegracja-2026"
DEMO_SLUG = "sasiedztwa"
REINTEGRATION_SLUG = "reintegracja-krakow"
PARTNERSHIP_SLUG = "partnerstwo-zielony-brzeg"

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


DEMO_FIRST_VERSION = """\
My, niżej podpisane osoby i organizacje, chcemy razem dbać o nasze sąsiedztwa: wymieniać się
wiedzą, wspólnie zabierać głos w konsultacjach i wspierać nowe inicjatywy sąsiedzkie.
"""


def seed_demo():
    """Create the demo data once; returns False when it is there already."""
    if db.session.scalar(select(Coalition).where(Coalition.slug == DEMO_SLUG)):
        return False
    coordinator = coordinator_by_email(DEMO_COORDINATOR_EMAIL) or create_coordinator(
        DEMO_COORDINATOR_EMAIL, "Koordynatorka Demo", DEMO_COORDINATOR_PASSWORD
    )
    coordinator.is_admin = True
    coalition = Coalition(
        slug=DEMO_SLUG,
        name="Koalicja na rzecz sąsiedztw",
        description=DEMO_DESCRIPTION,
        organiser="Fundacja Przykładowa, ul. Sąsiedzka 1, 30-001 Kraków",
        contact_email="kontakt@example.org",
        funding_notice=DEMO_FUNDING,
        chat_url="https://example.org/czat-koalicji",
        facebook_url="https://example.org/koalicja-na-facebooku",
        contact_persons="**Koordynatorka Demo**, tel. 500 000 000, kontakt@example.org",
        brand_colour="#1d5c4d",
        logo=_demo_logo(),
        # A member's site that shows the allies list and the counter in a frame (koalicja/reach/).
        embed_origins="https://sasiedztwa.example.org",
    )
    # Version 1 was signed by the first allies; version 2 is what people sign today.
    declaration = Declaration(coalition=coalition, title="Deklaracja współpracy", body=DEMO_FIRST_VERSION)
    first_version = declaration.versions[0]
    first_version.published_at = utcnow() - timedelta(days=40)
    current_version = DeclarationVersion(
        kind=VersionKind.TEXT, number=2, title="Deklaracja współpracy", body=DEMO_DECLARATION,
        published_at=utcnow() - timedelta(days=25),
    )
    declaration.versions.append(current_version)
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
            district=DEMO_DISTRICTS[number % len(DEMO_DISTRICTS)],
            version=first_version if number < 4 else current_version,
            contact_allowed=number % 3 != 2,
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
    _seed_reintegration(coordinator)
    _seed_partnership(coordinator)
    return True


DEMO_DISTRICTS = ["XIII Podgórze", "II Grzegórzki", "XVIII Nowa Huta", "I Stare Miasto", "VIII Dębniki"]


def _demo_logo():
    """Our own favicon as the demo coalition's logo, placed where uploaded logos live."""
    folder = Path(current_app.config["LOGO_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(current_app.static_folder) / "img" / "favicon.svg", folder / "demo-logo.svg")
    return "demo-logo.svg"


def _demo_signature(declaration, number, prefix, kind, name, organisation="", **fields):
    email = f"{prefix}{number}@example.org"
    created = utcnow() - timedelta(days=30 - number)
    signature = Signature(
        declaration=declaration,
        version=declaration.current_version,
        kind=SignerKind(kind),
        full_name=name,
        email=email,
        email_key=mailbox_key(email),
        organisation_name=organisation,
        authorised=kind == "organisation",
        public_organisation=kind == "organisation",
        consents={"demo": True},
        status=SignatureStatus.APPROVED,
        created_at=created,
        confirmed_at=created + timedelta(hours=1),
        decided_at=created + timedelta(days=1),
        approved_at=created + timedelta(days=1),
        **fields,
    )
    refresh_listing(signature)
    db.session.add(signature)
    return signature


REINTEGRATION_DECLARATION = """\
My, niżej podpisani przedstawiciele i przedstawicielki podmiotów reintegracyjnych,
przedsiębiorstw społecznych, organizacji pozarządowych i instytucji publicznych, deklarujemy
współpracę na rzecz osób, które wracają na rynek pracy.

**Postulujemy:**

1. Zlecanie podmiotom ekonomii społecznej usług miejskich, takich jak pielęgnacja zieleni
   i catering, z klauzulami społecznymi w zamówieniach.
2. Preferencje w najmie lokali miejskich dla przedsiębiorstw społecznych.
3. Wspólne ścieżki wsparcia: od centrum integracji społecznej do stałego zatrudnienia.
4. Program rozwoju ekonomii społecznej przygotowany razem ze środowiskiem.
5. Stały zespół dialogu miasta i podmiotów reintegracyjnych, spotykający się co kwartał.

Deklaracja wyraża wolę współpracy i nie powoduje skutków prawnych.
"""

# (organisation, representative, role, sector, NIP, REGON, KRS, district)
REINTEGRATION_SIGNERS = [
    ("Spółdzielnia Socjalna Zielony Zakątek", "Halina Mróz", "prezeska", Sector.NGO, "6760000026", "360000018", "0000100001", "XVIII Nowa Huta"),
    ("Centrum Integracji Społecznej „Krok”", "Paweł Sikora", "kierownik", Sector.PUBLIC_INSTITUTION, "6760000032", "360000024", "", "XIII Podgórze"),
    ("Fundacja Praca i Godność", "Iwona Kaczmarek", "członkini zarządu", Sector.NGO, "6760000049", "360000030", "0000100002", "II Grzegórzki"),
    ("Kuchnia Społeczna Smaki Sąsiadów", "Dariusz Lis", "właściciel", Sector.BUSINESS, "6760000055", "360000047", "", "VIII Dębniki"),
]


def _seed_reintegration(admin):
    coalition = Coalition(
        slug=REINTEGRATION_SLUG,
        name="Koalicja na rzecz reintegracji społeczno-zawodowej",
        description="Sieć podmiotów reintegracyjnych, przedsiębiorstw społecznych i instytucji z Krakowa.",
        organiser="Fundacja Przykładowa Druga, ul. Przykładowa 2, 30-002 Kraków",
        contact_email="reintegracja@example.org",
        contact_persons="**Koordynator Reintegracji**, tel. 500 000 001",
        website_url="https://example.org/reintegracja",
        brand_colour="#5b2a86",
    )
    declaration = Declaration(coalition=coalition, title="Deklaracja współpracy", body=REINTEGRATION_DECLARATION)
    db.session.add_all([coalition, declaration])
    for number, (organisation, name, role, sector, nip, regon, krs, district) in enumerate(REINTEGRATION_SIGNERS):
        _demo_signature(
            declaration, number, "reintegracja", "organisation", name, organisation, role=role, sector=sector,
            nip=nip, regon=regon, krs=krs, city="Kraków", district=district, contact_allowed=True,
        )
    # The same foundation again, by another person: coordinators see it flagged in the queue.
    duplicate = _demo_signature(
        declaration, 9, "reintegracja", "organisation", "Marta Kaczmarek", "Fundacja Praca i Godność",
        role="wiceprezeska", sector=Sector.NGO, nip="6760000049", city="Kraków", contact_allowed=True,
    )
    duplicate.status, duplicate.approved_at, duplicate.decided_at = SignatureStatus.CONFIRMED, None, None
    refresh_listing(duplicate)
    scoped = coordinator_by_email(DEMO_SCOPED_EMAIL) or create_coordinator(
        DEMO_SCOPED_EMAIL, "Koordynator Reintegracji", DEMO_SCOPED_PASSWORD
    )
    scoped.coalitions.append(coalition)
    db.session.commit()


PARTNERSHIP_AGREEMENT = """\
## Porozumienie partnerskie na rzecz integracji społecznej w gminie Zielony Brzeg

### Istota partnerstwa

1. Partnerstwo jest dobrowolnym, otwartym porozumieniem partnerów, którzy zachowując autonomię,
   wspólnie działają na rzecz integracji społecznej na terenie gminy.
2. Partnerstwo jest otwarte dla wszystkich, którzy chcą działać na rzecz jego celów.
3. Porozumienie jest deklaracją woli i nie jest umową w sensie prawnym.

### Cele

4. Wspieranie integracji i spójności społecznej, w szczególności osób zagrożonych wykluczeniem.
5. Wymiana informacji i dobrych praktyk między partnerami.

### Zasady współpracy

6. Partnerzy spotykają się co najmniej dwa razy w roku.
7. Każdy partner wyznacza osobę do kontaktu.
"""

PARTNERSHIP_ANNEX = """\
### Aneks nr 1

Partnerzy rozszerzają cele porozumienia o:

8. Wspieranie osób starszych w codziennym życiu i w dostępie do usług cyfrowych.
9. Wspólny kalendarz wydarzeń partnerów, publikowany co miesiąc.
"""

PARTNERSHIP_PARTNERS = [
    ("Gminny Ośrodek Pomocy Społecznej w Zielonym Brzegu", "Renata Wilk", "kierowniczka", Sector.PUBLIC_INSTITUTION),
    ("Stowarzyszenie Razem dla Zielonego Brzegu", "Adam Kruk", "prezes", Sector.NGO),
    ("Klub Seniora „Pogodna Jesień”", "Stanisława Gil", "przewodnicząca", Sector.INFORMAL_GROUP),
    ("Szkoła Podstawowa nr 1", "Monika Bąk", "dyrektorka", Sector.PUBLIC_INSTITUTION),
    ("Parafialny Zespół Caritas", "Józef Pawlak", "koordynator", Sector.OTHER),
]


def _seed_partnership(admin):
    coalition = Coalition(
        slug=PARTNERSHIP_SLUG,
        name="Partnerstwo na rzecz integracji społecznej w gminie Zielony Brzeg",
        description="Porozumienie instytucji, organizacji i grup z gminy Zielony Brzeg (miejscowość fikcyjna).",
        organiser="Gmina Zielony Brzeg, ul. Rynek 1, 00-000 Zielony Brzeg",
        contact_email="partnerstwo@example.org",
        brand_colour="#8a3b12",
    )
    declaration = Declaration(coalition=coalition, title="Porozumienie partnerskie", body=PARTNERSHIP_AGREEMENT)
    declaration.versions[0].published_at = utcnow() - timedelta(days=60)
    db.session.add_all([coalition, declaration])
    partners = [
        _demo_signature(declaration, number, "partner", "organisation", name, organisation, role=role, sector=sector,
                        city="Zielony Brzeg", contact_allowed=True)
        for number, (organisation, name, role, sector) in enumerate(PARTNERSHIP_PARTNERS)
    ]
    # One partner signed the printed agreement at a meeting; a coordinator entered it.
    paper = partners[-1]
    paper.origin, paper.signed_on, paper.signed_place, paper.entered_by_id = (
        SignatureOrigin.PAPER, warsaw_today() - timedelta(days=50), "Zielony Brzeg", admin.id
    )
    annex = DeclarationVersion(
        kind=VersionKind.ANNEX, number=1, title="Aneks nr 1", body=PARTNERSHIP_ANNEX,
        published_at=utcnow() - timedelta(days=10),
    )
    declaration.versions.append(annex)
    for partner in partners[:3]:  # three endorsed it by the e-mailed link so far
        db.session.add(Endorsement(annex=annex, signature=partner, method=EndorsementMethod.EMAIL,
                                   endorsed_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    _seed_partnership_meeting(coalition, partners, admin)
    _seed_managing_partner_choice(coalition, partners, admin)
    _seed_steering_rules(coalition, partners, admin)



def _warsaw_time(day, hour):
    """`hour` o'clock in Poland on `day`, as a stored (naive UTC) time."""
    return warsaw_to_utc(datetime.combine(day, time(hour, 0)))


def _roll_member(consultation, signature):
    """The roll's row whose personal link goes to this entry."""
    return db.session.scalar(
        select(ConsultationMember).where(
            ConsultationMember.consultation_id == consultation.id, ConsultationMember.signature_id == signature.id
        )
    )


def _last_outbox_id():
    return db.session.scalar(select(func.max(OutboxMessage.id))) or 0


def _delivered_back_then(after_id, at):
    """The e-mails of a story that ended days ago went out then: marked sent, so `make run` does
    not deliver today the invitations and receipts of a consultation that is already closed."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id > after_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=at)
    )
    db.session.commit()


MEETING_AGENDA = """\
1. Powitanie partnerów i przedstawienie osób do kontaktu.
2. Sposób wyboru partnera zarządzającego na kolejny rok: zgłoszenie kandydatur.
3. Zespół sterujący: kto przygotuje projekt regulaminu.
4. Sprawy różne.
"""

MEETING_MINUTES = """\
**Obecni:** przedstawiciele i przedstawicielki czterech z pięciu partnerów (lista obecności z wejścia).

1. Partnerzy przedstawili osoby do kontaktu.
2. Na partnera zarządzającego zgłoszono dwie kandydatury: Gminny Ośrodek Pomocy Społecznej
   i Stowarzyszenie Razem dla Zielonego Brzegu. Ustalono, że wybór odbędzie się w konsultacji
   przez osobiste linki (głosowanie jawne, większość oddanych głosów, kworum: połowa partnerów),
   aby głos mógł oddać także partner nieobecny na posiedzeniu.
3. Projekt regulaminu zespołu sterującego przygotuje GOPS; partnerzy przyjmą go w głosowaniu tajnym.
4. Następne posiedzenie za trzy miesiące.
"""


def _seed_partnership_meeting(coalition, partners, admin):
    """A past members' meeting (posiedzenie) of the partnership: agenda, attendance from the door
    (four partners; Caritas was absent and later voted on paper), published minutes."""
    from .events.meetings import save_minutes, set_minutes_published
    from .events.models import Event, EventStatus, Registration, RegistrationStatus

    day = warsaw_today() - timedelta(days=21)
    meeting = Event(
        coalition=coalition,
        slug="pierwsze-posiedzenie-partnerstwa",
        title="Pierwsze posiedzenie partnerstwa",
        summary="Wybór sposobu głosowania nad partnerem zarządzającym i prace nad regulaminem zespołu sterującego.",
        starts_at=_warsaw_time(day, 16),
        ends_at=_warsaw_time(day, 18),
        venue="Sala konferencyjna Urzędu Gminy",
        address="ul. Rynek 1, 00-000 Zielony Brzeg",
        accessibility="Sala na parterze, wejście bez schodów.",
        status=EventStatus.PUBLISHED,
        is_members_meeting=True,
        agenda=MEETING_AGENDA,
        created_at=utcnow() - timedelta(days=35),
    )
    db.session.add(meeting)
    for number, partner in enumerate(partners[:4]):
        db.session.add(
            Registration(
                event=meeting,
                full_name=partner.full_name,
                email=partner.email,
                email_key=partner.email_key,
                organisation=partner.organisation_name,
                organisation_key=search_key(partner.organisation_name).strip(),
                search_text=search_key(f"{partner.full_name} {partner.organisation_name}"),
                is_ally=True,
                status=RegistrationStatus.CONFIRMED,
                code=f"ZB{number:04d}",
                consents={"demo": True},
                created_at=meeting.created_at + timedelta(days=number + 1),
                email_confirmed_at=meeting.created_at + timedelta(days=number + 1),
                attended_at=meeting.starts_at + timedelta(minutes=number * 3),
            )
        )
    db.session.commit()
    save_minutes(meeting, MEETING_MINUTES, by=admin, now=meeting.ends_at + timedelta(days=1))
    set_minutes_published(meeting, True, by=admin, now=meeting.ends_at + timedelta(days=1, hours=1))


MANAGING_PARTNER_BODY = """\
Zgodnie z porozumieniem partnerzy wybierają na rok **partnera zarządzającego**: zwołuje on
spotkania, prowadzi dokumentację partnerstwa i reprezentuje je wobec gminy.

Na pierwszym posiedzeniu zgłoszono dwie kandydatury. Każdy partner ma jeden głos. Wybrany
zostaje partner, który otrzyma więcej niż połowę oddanych głosów, jeśli zagłosuje co najmniej
połowa partnerów.
"""

MANAGING_PARTNER_RESOLUTION = """\
**Uchwała nr 1/{year} Partnerstwa na rzecz integracji społecznej w gminie Zielony Brzeg
z dnia {day} r. w sprawie wyboru partnera zarządzającego**

§ 1. Na podstawie wyniku konsultacji partnerzy wybierają {winner} na partnera zarządzającego
Partnerstwem na okres jednego roku.

§ 2. Partner zarządzający zwołuje posiedzenia partnerów co najmniej raz na kwartał, prowadzi
dokumentację Partnerstwa i reprezentuje je wobec gminy.

§ 3. Uchwała wchodzi w życie z dniem podjęcia.
"""

PAPER_VOICE_NOTE = "Karta do głosowania nr 4, podpisana przez osobę upoważnioną i złożona w biurze GOPS; oryginał w dokumentacji partnerstwa."


def _seed_managing_partner_choice(coalition, partners, admin):
    """A closed consultation: the partners chose their managing partner for a year (one choice,
    open ballot, majority, quorum 50 %, results public). Three voted by link (the senior club
    changed its mind), Caritas on paper after the reminder, the school not at all; the
    association won 3 of 4 votes; the resolution goes with the protocol."""
    opened = _warsaw_time(warsaw_today() - timedelta(days=17), 9)
    closes = _warsaw_time(warsaw_today() - timedelta(days=3), 20)
    gops, association = PARTNERSHIP_PARTNERS[0][0], PARTNERSHIP_PARTNERS[1][0]
    first_mail = _last_outbox_id()
    consultation = create_consultation(
        coalition,
        {
            "title": "Wybór partnera zarządzającego na kolejny rok",
            "body": MANAGING_PARTNER_BODY,
            "kind": ConsultationKind.SINGLE,
            "options": [gops, association],
            "closes_at": closes,
            "quorum_percent": 50,
            "rule": DecidingRule.MAJORITY,
            "secret": False,
            "live_results": False,
            "results_public": True,
            "reminder_days": 2,
        },
        admin,
    )
    consultation = open_consultation(consultation, admin, now=opened)
    votes = {option.label: option.id for option in consultation.options}
    for partner, choice, after in (
        (0, association, timedelta(hours=2)),
        (1, gops, timedelta(days=1, hours=5)),
        (2, gops, timedelta(days=3, hours=1)),
        (2, association, timedelta(days=9, hours=8)),  # the senior club changed its voice
    ):
        record_voice(_roll_member(consultation, partners[partner]), [votes[choice]], now=opened + after)
    send_reminders(consultation, now=closes - timedelta(days=2))  # the automatic one, as the tick sends it
    record_voice_by_coordinator(
        _roll_member(consultation, partners[4]), [votes[association]], VoiceMethod.PAPER, PAPER_VOICE_NOTE, admin,
        now=closes - timedelta(days=1, hours=6),
    )
    close_consultation(consultation, now=closes + timedelta(minutes=1))
    day = utc_to_warsaw(closes).date()
    resolution = MANAGING_PARTNER_RESOLUTION.format(year=day.year, day=day.strftime("%d.%m.%Y"), winner=association)
    set_resolution(consultation, resolution, admin)
    _delivered_back_then(first_mail, closes)


STEERING_RULES_BODY = """\
Projekt regulaminu zespołu sterującego przygotował Gminny Ośrodek Pomocy Społecznej.
Głosowanie jest tajne; regulamin zostaje przyjęty, jeśli poprze go co najmniej dwie trzecie
oddanych głosów.

### Projekt regulaminu

1. Zespół sterujący tworzą partner zarządzający i dwie osoby wskazane przez pozostałych partnerów.
2. Zespół przygotowuje posiedzenia partnerstwa i czuwa nad wykonaniem jego ustaleń.
3. Zespół spotyka się co najmniej raz w miesiącu; z każdego spotkania powstaje krótka notatka
   dla wszystkich partnerów.
4. Decyzje zespołu zapadają w drodze porozumienia; gdy to niemożliwe, sprawę rozstrzygają partnerzy.
"""


def _seed_steering_rules(coalition, partners, admin):
    """An open consultation: a secret decision on the steering team's rules (two thirds, quorum
    50 %, results to members only, not live), opened four days ago, closing in ten; two partners
    have voted."""
    opened = _warsaw_time(warsaw_today() - timedelta(days=4), 9)
    consultation = create_consultation(
        coalition,
        {
            "title": "Przyjęcie regulaminu zespołu sterującego",
            "body": STEERING_RULES_BODY,
            "kind": ConsultationKind.DECISION,
            "closes_at": _warsaw_time(warsaw_today() + timedelta(days=10), 20),
            "quorum_percent": 50,
            "rule": DecidingRule.TWO_THIRDS,
            "secret": True,
            "live_results": False,
            "results_public": False,
            "reminder_days": 2,
        },
        admin,
    )
    consultation = open_consultation(consultation, admin, now=opened)
    in_favour = next(option.id for option in consultation.options if option.code == DecisionOption.FOR)
    for partner, after in ((1, timedelta(hours=3)), (2, timedelta(days=1, hours=7))):
        record_voice(_roll_member(consultation, partners[partner]), [in_favour], now=opened + after)


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

