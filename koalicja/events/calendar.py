"""The event as an iCalendar file, in Europe/Warsaw time, for "add to calendar" and e-mails."""
from urllib.parse import urlsplit

from flask import current_app

from ..links import external_url
from ..timeutil import utc_to_warsaw, utcnow


def event_ics(event):
    # Imported here: icalendar (~3 MB) is needed only for .ics files, not in every worker.
    from icalendar import Calendar
    from icalendar import Event as CalendarEvent

    calendar = Calendar()
    calendar.add("prodid", "-//Koalicja//koalicja//PL")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    entry = CalendarEvent()
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "koalicja"
    entry.add("uid", f"event-{event.id}@{host}")
    entry.add("dtstamp", utc_to_warsaw(utcnow()))
    entry.add("dtstart", utc_to_warsaw(event.starts_at))
    entry.add("dtend", utc_to_warsaw(event.ends_at))
    entry.add("summary", event.title)
    location = ", ".join(part for part in (event.venue, event.address) if part)
    if location:
        entry.add("location", location)
    url = external_url("events.detail", slug=event.coalition.slug, event_slug=event.slug)
    entry.add("description", f"{event.summary}\n\n{url}".strip())
    entry.add("url", url)
    entry.add("status", "CANCELLED" if event.is_cancelled else "CONFIRMED")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()
