"""The event as an iCalendar file, in Europe/Warsaw time, for "add to calendar" and e-mails."""
from datetime import datetime, timedelta, timezone

from ..links import external_url
from ..text import markdown_to_text
from ..timeutil import utc_to_warsaw, utcnow

TZID = "Europe/Warsaw"


def _warsaw_timezone():
    """Europe/Warsaw as two yearly rules (EU summer time since 1996: last Sunday of March and
    of October). icalendar's own VTIMEZONE lists every change as RDATEs, and vobject reads a
    summer event from such a file an hour off; rules are read right by every program."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    timezone = Timezone()
    timezone.add("tzid", TZID)
    timezone.add("x-lic-location", TZID)
    for kind, name, month, start, before, after in (
        (TimezoneDaylight, "CEST", 3, datetime(1996, 3, 31, 2, 0), 1, 2),
        (TimezoneStandard, "CET", 10, datetime(1996, 10, 27, 3, 0), 2, 1),
    ):
        rule = kind()
        rule.add("tzname", name)
        rule.add("dtstart", start)
        rule.add("tzoffsetfrom", timedelta(hours=before))
        rule.add("tzoffsetto", timedelta(hours=after))
        rule.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1su"})
        timezone.add_component(rule)
    return timezone


def _utc(moment):
    return moment.replace(tzinfo=timezone.utc)


def event_uid(event):
    """The same for the event's whole life, whatever the installation's address or the
    coalition's slug becomes: calendars that imported it update it instead of adding a twin."""
    return f"event-{event.id}-{event.calendar_token}@koalicja"


def event_ics(event):
    # Imported here: icalendar (~3 MB) is needed only for .ics files, not in every worker.
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    calendar = Calendar()
    calendar.add("prodid", "-//Koalicja//koalicja//PL")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(_warsaw_timezone())
    entry = CalendarEvent()
    entry.add("uid", event_uid(event))
    entry.add("dtstamp", _utc(utcnow()))  # DTSTAMP and LAST-MODIFIED are UTC by definition
    # Calendars replace their copy only with a higher SEQUENCE (RFC 5545 3.8.7.4).
    entry.add("sequence", event.sequence)
    entry.add("last-modified", _utc(event.updated_at))
    entry.add("dtstart", utc_to_warsaw(event.starts_at))
    entry.add("dtend", utc_to_warsaw(event.ends_at))
    entry.add("summary", event.title)
    location = ", ".join(part for part in (event.venue, event.address) if part)
    if location:
        entry.add("location", location)
    url = external_url("events.detail", slug=event.coalition.slug, event_slug=event.slug)
    description = "\n\n".join(part for part in (event.summary, markdown_to_text(event.description), url) if part)
    entry.add("description", description)
    entry.add("url", url)
    entry.add("status", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    calendar.add_component(entry)
    return calendar.to_ical()
