"""The event's .ics file, read back by two calendar libraries (icalendar and vobject): Warsaw
times right in winter and in summer, a UID that outlives an address change, a SEQUENCE that
grows with every change, and the description as plain text."""
from datetime import datetime, timedelta

import icalendar
import pytest
import vobject

from koalicja.events.operations import cancel_event, save_event
from koalicja.timeutil import utcnow, warsaw_to_utc

from .conftest import event_url, load_event, make_event

pytestmark = pytest.mark.one_engine

WARSAW_OFFSETS = {"winter": timedelta(hours=1), "summer": timedelta(hours=2)}
STARTS = {"winter": datetime(2027, 1, 15, 18, 30), "summer": datetime(2027, 7, 1, 18, 30)}


def ics(client):
    response = client.get(event_url() + "/kalendarz.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    return response.data


@pytest.mark.parametrize("season", ["winter", "summer"])
def test_both_calendar_readers_see_the_warsaw_time_in_winter_and_summer(app, client, coalition, season):
    start = STARTS[season]
    make_event(app, starts_at=warsaw_to_utc(start), ends_at=warsaw_to_utc(start + timedelta(hours=3)))
    data = ics(client)

    [entry] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    [timezone] = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")
    assert str(timezone["TZID"]) == "Europe/Warsaw"
    assert b"RRULE:FREQ=YEARLY" in data and b"RDATE" not in data  # rules every program reads, not a list of dates
    read_by_icalendar = entry.decoded("dtstart")

    parsed = vobject.readOne(data.decode("utf-8"))
    read_by_vobject = parsed.vevent.dtstart.value
    # vobject builds the zone from the file's VTIMEZONE itself, so this checks what we wrote.
    for read in (read_by_icalendar, read_by_vobject):
        assert (read.year, read.month, read.day, read.hour, read.minute) == start.timetuple()[:5]
        assert read.utcoffset() == WARSAW_OFFSETS[season]
    assert parsed.vevent.dtend.value.hour == 21 and parsed.vevent.dtend.value.utcoffset() == WARSAW_OFFSETS[season]


def test_uid_stays_and_sequence_grows_with_every_change(app, client, coalition):
    event_id = make_event(app)
    first = icalendar.Calendar.from_ical(ics(client)).walk("VEVENT")[0]
    uid = str(first["UID"])
    assert uid.startswith(f"event-{event_id}-") and uid.endswith("@koalicja")
    assert first.decoded("sequence") == 0
    # The description as plain text: the summary, then the Markdown without its marks.
    assert str(first["DESCRIPTION"]).startswith("Święto sojuszników.\n\nZapraszamy na galę.\n\nhttp://koalicja.test/")

    app.config["BASE_URL"] = "https://koalicja.example.org"  # the installation moved
    moved = icalendar.Calendar.from_ical(ics(client)).walk("VEVENT")[0]
    assert str(moved["UID"]) == uid  # calendars update their copy instead of adding a second one
    assert str(moved["URL"]).startswith("https://koalicja.example.org/")

    with app.app_context():
        later = utcnow() + timedelta(minutes=5)
        save_event(load_event(event_id), {"title": "Gala Sojuszników Sąsiedztw 2027"}, now=later)
        save_event(load_event(event_id), {"title": "Gala Sojuszników Sąsiedztw 2027"}, now=later)  # nothing changed
    changed = icalendar.Calendar.from_ical(ics(client)).walk("VEVENT")[0]
    assert (str(changed["UID"]), changed.decoded("sequence")) == (uid, 1)
    assert str(changed["SUMMARY"]) == "Gala Sojuszników Sąsiedztw 2027"
    assert changed.decoded("last-modified") == later.replace(microsecond=0, tzinfo=changed.decoded("last-modified").tzinfo)
    assert changed.decoded("last-modified").utcoffset() == timedelta(0)  # UTC, as RFC 5545 requires

    with app.app_context():
        cancel_event(load_event(event_id))
        assert load_event(event_id).sequence == 2
    cancelled = icalendar.Calendar.from_ical(ics(client)).walk("VEVENT")[0]
    assert (cancelled.decoded("sequence"), str(cancelled["STATUS"])) == (2, "CANCELLED")
