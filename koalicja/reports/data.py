"""The numbers of the funder's report, counted once and shown as the panel page, the PDF and the XLSX.

Allies are approved signatures of the coalition's declarations (withdrawn, rejected and
unconfirmed ones are never counted), grouped by when they joined (`approved_at`) in Polish
time. Events are the published ones that start in the period. A walk-in is a person added
at the door (`registration.walk_in`, "Dopisz osobę bez zapisu"): someone a coordinator added
by hand days before, after a phone call, registered in advance like everyone else.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..announcements.models import Announcement
from ..coalitions.models import Declaration
from ..events.models import Event, EventStatus, Registration, RegistrationStatus
from ..extensions import db
from ..signatures.districts import DISTRICTS, KRAKOW, is_krakow
from ..signatures.models import Sector, Signature, SignatureStatus, SignerKind
from ..text import search_key, sort_key
from ..timeutil import utc_to_warsaw, warsaw_to_utc

# The funder's categories: a private person signs as a resident; an organisation by its sector.
RESIDENTS = "resident"
SECTOR_CATEGORIES = {
    RESIDENTS: _l("Mieszkańcy i mieszkanki"),
    Sector.LOCAL_GOVERNMENT: _l("Samorząd"),
    Sector.PUBLIC_INSTITUTION: _l("Instytucja publiczna"),
    Sector.NGO: _l("Organizacja pozarządowa"),
    Sector.BUSINESS: _l("Firma"),
    Sector.INFORMAL_GROUP: _l("Grupa nieformalna"),
    Sector.OTHER: _l("Inny rodzaj organizacji"),
}
KIND_LABELS = {SignerKind.PERSON: _l("Osoby prywatne"), SignerKind.ORGANISATION: _l("Organizacje")}
NO_DISTRICT = _l("Poza Krakowem lub bez dzielnicy")
NO_TOWN = _l("Nie podano")


@dataclass
class Tally:
    """One row of a breakdown: `key` identifies it in the spreadsheet, `label` is for people."""

    key: str
    label: str
    count: int


@dataclass
class EventLine:
    key: str  # the event's address (slug), for the spreadsheet
    title: str
    starts_at: datetime
    registered: int  # registered in advance (places, with companions), present or not
    present: int  # of them, checked in
    no_shows: int
    walk_ins: int  # added at the door on the day, all present


@dataclass
class Report:
    start: date
    end: date
    allies_at_end: int
    new_allies: int
    by_kind: list = field(default_factory=list)
    by_sector: list = field(default_factory=list)
    by_district: list = field(default_factory=list)
    by_town: list = field(default_factory=list)
    by_month: list = field(default_factory=list)
    events: list = field(default_factory=list)
    announcements: int = 0
    announcement_emails: int = 0
    announcement_sent: int = 0
    unsubscribes: int = 0


def default_period(today):
    """The current calendar year."""
    return date(today.year, 1, 1), date(today.year, 12, 31)


def _utc_bounds(start, end):
    """[start 00:00, the day after end 00:00) in Polish time, as naive UTC."""
    return warsaw_to_utc(datetime.combine(start, time())), warsaw_to_utc(datetime.combine(end + timedelta(days=1), time()))


def _months(start, end):
    month = start.replace(day=1)
    while month <= end:
        yield month
        month = (month + timedelta(days=32)).replace(day=1)


def _towns(cities):
    """Counts per town, spelled as most people spelled it; Kraków however it was typed."""
    counts, spellings = Counter(), {}
    for city in cities:
        city = (city or "").strip()
        key = search_key(KRAKOW) if is_krakow(city) else search_key(city)
        counts[key] += 1
        spellings.setdefault(key, Counter())[KRAKOW if is_krakow(city) else city] += 1
    tallies = [
        Tally(key or "-", spellings[key].most_common(1)[0][0] if key else str(NO_TOWN), count) for key, count in counts.items()
    ]
    return sorted(tallies, key=lambda tally: (tally.key == "-", -tally.count, sort_key(tally.label)))


def _allies(coalition, start, end):
    declarations = select(Declaration.id).where(Declaration.coalition_id == coalition.id)
    approved = (Signature.declaration_id.in_(declarations), Signature.status == SignatureStatus.APPROVED)
    since, until = _utc_bounds(start, end)
    at_end = db.session.scalar(select(func.count()).where(*approved, Signature.approved_at < until))
    joined = db.session.execute(
        select(Signature.kind, Signature.sector, Signature.district, Signature.city, Signature.approved_at).where(
            *approved, Signature.approved_at >= since, Signature.approved_at < until
        )
    ).all()
    return at_end, joined


def _category(kind, sector):
    if kind != SignerKind.ORGANISATION:
        return RESIDENTS
    return sector if sector in SECTOR_CATEGORIES else Sector.OTHER


def _event_lines(coalition, start, end):
    since, until = _utc_bounds(start, end)
    events = db.session.scalars(
        select(Event)
        .where(
            Event.coalition_id == coalition.id,
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at >= since,
            Event.starts_at < until,
        )
        .order_by(Event.starts_at)
    ).all()
    rows = db.session.execute(
        select(Registration.event_id, Registration.status, Registration.companions, Registration.attended_at,
               Registration.walk_in)
        .where(Registration.event_id.in_([event.id for event in events]))
    ).all()
    lines = {event.id: EventLine(event.slug, event.title, event.starts_at, 0, 0, 0, 0) for event in events}
    for row in rows:
        line, places = lines[row.event_id], 1 + (row.companions or 0)
        if row.walk_in:
            line.walk_ins += places
        elif row.status == RegistrationStatus.CONFIRMED or row.attended_at is not None:
            line.registered += places
            if row.attended_at is not None:
                line.present += places
            else:
                line.no_shows += places
    return list(lines.values())


def build_report(coalition, start, end):
    at_end, joined = _allies(coalition, start, end)
    kinds = Counter(row.kind for row in joined)
    sectors = Counter(_category(row.kind, row.sector) for row in joined)
    districts = Counter(row.district if row.district in DISTRICTS else "" for row in joined)
    months = Counter(utc_to_warsaw(row.approved_at).strftime("%Y-%m") for row in joined)
    since, until = _utc_bounds(start, end)
    sent = db.session.execute(
        select(
            func.count(), func.coalesce(func.sum(Announcement.recipients), 0), func.coalesce(func.sum(Announcement.sent_count), 0)
        ).where(Announcement.coalition_id == coalition.id, Announcement.created_at >= since, Announcement.created_at < until)
    ).one()
    unsubscribes = db.session.scalar(
        select(func.count()).where(
            Signature.declaration_id.in_(select(Declaration.id).where(Declaration.coalition_id == coalition.id)),
            Signature.unsubscribed_at >= since,
            Signature.unsubscribed_at < until,
        )
    )
    return Report(
        start=start,
        end=end,
        allies_at_end=at_end,
        new_allies=len(joined),
        by_kind=[Tally(kind.value, str(label), kinds[kind]) for kind, label in KIND_LABELS.items()],
        by_sector=[Tally(str(key), str(label), sectors[key]) for key, label in SECTOR_CATEGORIES.items()],
        by_district=[Tally(name, name, districts[name]) for name in DISTRICTS] + [Tally("-", str(NO_DISTRICT), districts[""])],
        by_town=_towns(row.city for row in joined),
        by_month=[
            Tally(month.strftime("%Y-%m"), format_date(month, "LLLL y"), months[month.strftime("%Y-%m")])
            for month in _months(start, end)
        ],
        events=_event_lines(coalition, start, end),
        announcements=sent[0],
        announcement_emails=sent[1],
        announcement_sent=sent[2],
        unsubscribes=unsubscribes,
    )
