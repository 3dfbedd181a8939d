"""Check-ins queued by a device without a connection, uploaded later (koalicja/events/offline.py)."""
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from koalicja.events.models import CheckInScan, Registration, RegistrationStatus
from koalicja.events.operations import attended_count
from koalicja.extensions import db
from koalicja.timeutil import utc_to_warsaw, utcnow

from .conftest import load_event, make_event

DEVICE_A = "aaaaaaaa-0000-4000-8000-000000000001"
DEVICE_B = "bbbbbbbb-0000-4000-8000-000000000002"


def _event_now(app):
    """An event that started half an hour ago, with Anna (code ANNA0001) and Jan (JAN00001)."""
    now = utcnow().replace(microsecond=0)
    event_id = make_event(app, starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(hours=2), capacity=10)
    with app.app_context():
        people = (("Anna Wiśniewska", "anna@example.org", "ANNA0001"), ("Jan Żak", "jan@example.org", "JAN00001"))
        for name, email, code in people:
            db.session.add(
                Registration(
                    event_id=event_id, full_name=name, email=email, email_key=email, code=code,
                    search_text=name.lower(), status=RegistrationStatus.CONFIRMED, needs="Dieta bezglutenowa.",
                )
            )
        db.session.commit()
    return event_id


def _scan(code, minutes_ago, key=None):
    moment = utc_to_warsaw(utcnow() - timedelta(minutes=minutes_ago))  # as a device sends it: local time with offset
    return {"key": key or str(uuid.uuid4()), "code": code, "scanned_at": moment.isoformat()}


def _upload(client, event_id, device, scans):
    listing = client.get(f"/panel/wydarzenia/{event_id}/wejscie/lista").get_json()
    response = client.post(
        f"/panel/wydarzenia/{event_id}/wejscie/synchronizuj",
        json={"device": device, "scans": scans},
        headers={"X-CSRFToken": listing["csrf_token"]},
    )
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def _counts(app, event_id):
    with app.app_context():
        return attended_count(load_event(event_id)), db.session.scalar(select(func.count()).select_from(CheckInScan))


def test_the_device_keeps_only_what_the_door_needs_until_after_the_event(app, client, auth, coordinator):
    event_id = _event_now(app)
    auth.login()
    response = client.get(f"/panel/wydarzenia/{event_id}/wejscie/lista")
    listing = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    assert [(p["name"], p["code"], p["present"]) for p in listing["registrants"]] == [
        ("Anna Wiśniewska", "ANNA0001", False), ("Jan Żak", "JAN00001", False)
    ]
    body = response.get_data(as_text=True)
    assert "anna@example.org" not in body and "bezglutenowa" not in body
    with app.app_context():
        ends = load_event(event_id).ends_at
    assert listing["expires"] == (ends + timedelta(hours=12)).isoformat() + "Z"
    worker = client.get("/panel/wydarzenia/wejscie-sw.js")
    assert worker.mimetype == "text/javascript" and "caches.open" in worker.get_data(as_text=True)
    page = client.get(f"/panel/wydarzenia/{event_id}/wejscie").get_data(as_text=True)
    assert "js/check-in-offline.js" in page and "data-offline-check-in" in page and " hidden " in page


def test_a_retried_upload_counts_once_and_a_second_device_is_recorded_as_such(app, client, auth, coordinator):
    event_id = _event_now(app)
    auth.login()
    queued = [_scan("ANNA0001", 12)]
    first = _upload(client, event_id, DEVICE_A, queued)
    assert [(r["name"], r["outcome"], r["message"]) for r in first["results"]] == [
        ("Anna Wiśniewska", "recorded", "Obecność zapisana.")
    ]
    again = _upload(client, event_id, DEVICE_A, queued)  # the answer was lost: the device sends the same again
    assert [r["outcome"] for r in again["results"]] == ["duplicate"]
    assert first["attended"] == again["attended"] == 1
    assert _counts(app, event_id) == (1, 1)

    # Another device checked Anna in too, while offline: recorded, and told who was first.
    answer = _upload(client, event_id, DEVICE_B, [_scan("ANNA0001", 3)])
    hour = queued[0]["scanned_at"][11:16]
    assert [(r["outcome"], r["message"]) for r in answer["results"]] == [
        ("already", f"Wpis obecności już był o {hour} (inne urządzenie).")
    ]
    assert _counts(app, event_id) == (1, 2)
    with app.app_context():
        devices = db.session.scalars(select(CheckInScan.device_id).order_by(CheckInScan.scanned_at)).all()
        assert devices == [DEVICE_A, DEVICE_B]

    # A scan made earlier but uploaded later sets the check-in time.
    _upload(client, event_id, DEVICE_B, [_scan("JAN00001", 2)])
    earlier = _scan("JAN00001", 20)
    assert [r["outcome"] for r in _upload(client, event_id, DEVICE_A, [earlier])["results"]] == ["recorded"]
    with app.app_context():
        jan = db.session.scalar(select(Registration).where(Registration.code == "JAN00001"))
        assert utc_to_warsaw(jan.attended_at).isoformat()[:16] == earlier["scanned_at"][:16]
    assert _counts(app, event_id) == (2, 4)


def test_scans_from_the_future_or_another_day_or_unknown_codes_are_refused_with_a_reason(app, client, auth, coordinator):
    event_id = _event_now(app)
    auth.login()
    answer = _upload(
        client, event_id, DEVICE_A,
        [_scan("ANNA0001", -30), _scan("ANNA0001", 60 * 24 * 3), _scan("NIEMA0001", 1), {"key": "x", "code": "ANNA0001"}],
    )
    assert [(r["outcome"], r["message"].split(":")[0].split(" (")[0]) for r in answer["results"]] == [
        ("refused", "Czas skanu jest w przyszłości"),
        ("refused", "Skan spoza dnia wydarzenia"),
        ("refused", "Nie ma zapisu z kodem NIEMA0001 na to wydarzenie."),
        ("refused", "Wpis bez poprawnego klucza urządzenia."),
    ]
    assert _counts(app, event_id) == (0, 0)
    bad = client.post(f"/panel/wydarzenia/{event_id}/wejscie/synchronizuj", json={"scans": []},
                      headers={"X-CSRFToken": auth.csrf()})
    assert bad.status_code == 400  # no device id
    without_token = client.post(f"/panel/wydarzenia/{event_id}/wejscie/synchronizuj", json={"device": DEVICE_A, "scans": []})
    assert without_token.status_code == 400
