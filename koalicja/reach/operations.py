"""What the widgets, the read API and the feeds read: only what the public pages show."""
from dataclasses import dataclass

from sqlalchemy import select

from ..announcements.models import Announcement
from ..declarations.operations import count_allies
from ..events.operations import availability, places_left, upcoming_events
from ..extensions import db
from ..signatures.districts import DISTRICTS
from ..timeutil import utc_to_warsaw

# The embedded list is compact: a page of it fits a sidebar.
EMBED_ALLIES_PER_PAGE = 20
API_ALLIES_PER_PAGE = 50
EMBED_EVENTS = 5
FEED_ENTRIES = 50


def iso(moment):
    """A stored (naive UTC) time as ISO 8601 in Warsaw time with its offset, or None."""
    return utc_to_warsaw(moment).isoformat(timespec="seconds") if moment else None


def count_document(coalition, counts):
    return {
        "coalition": coalition.slug,
        "persons": counts.persons,
        "organisations": counts.organisations,
        "total": counts.total,
        "updated": iso(counts.updated),
    }


def public_ally(signature):
    """One entry as the public list shows it: the organisation's representative only when
    they agreed to be named, the district only when it is one of Kraków's."""
    entry = {"name": signature.display_name, "kind": str(signature.kind)}
    if signature.is_organisation:
        entry["sector"] = signature.sector
        entry["sector_label"] = str(signature.sector_label)
        entry["representative"] = signature.full_name if signature.public_name else None
    entry["district"] = signature.district if signature.district in DISTRICTS else None
    return entry


def allies_document(coalition, page, page_url):
    """The published list's page as JSON; `page_url(n)` is the absolute address of page n."""
    return {
        "coalition": coalition.slug,
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
        "listed": page.total,
        # Approved, but not wishing to be named: counted, never listed.
        "unnamed": count_allies(coalition) - page.total,
        "next": page_url(page.page + 1) if page.page < page.pages else None,
        "previous": page_url(page.page - 1) if page.page > 1 else None,
        "allies": [public_ally(signature) for signature in page.items],
    }


@dataclass
class UpcomingEvent:
    event: object
    places: int | None  # None: no limit
    state: str  # koalicja.events.operations.Availability


def next_events(coalition, limit=None):
    """Published (and cancelled, which say so) events that have not ended, soonest first."""
    events = upcoming_events(coalition)[:limit]
    shown = []
    for event in events:
        places = places_left(event)
        shown.append(UpcomingEvent(event, places, availability(event, places=places)))
    return shown


def events_document(coalition, upcoming, event_url):
    """`event_url(event, endpoint)`: the absolute address of one of the event's pages."""
    return {
        "coalition": coalition.slug,
        "events": [
            {
                "title": item.event.title,
                "summary": item.event.summary,
                "starts_at": iso(item.event.starts_at),
                "ends_at": iso(item.event.ends_at),
                "venue": item.event.venue,
                "address": item.event.address,
                "cancelled": item.event.is_cancelled,
                "registration": str(item.state),
                "places_left": item.places,
                "url": event_url(item.event, "events.detail"),
                "calendar": event_url(item.event, "events.calendar_file"),
            }
            for item in upcoming
        ],
    }


def public_announcements(coalition, limit=FEED_ENTRIES):
    """The announcements the coordinators chose to publish on the site, newest first."""
    return db.session.scalars(
        select(Announcement)
        .where(Announcement.coalition_id == coalition.id, Announcement.public.is_(True))
        .order_by(Announcement.created_at.desc(), Announcement.id.desc())
        .limit(limit)
    ).all()
