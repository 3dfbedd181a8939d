"""Coordinators download an event's registrations as CSV or XLSX: the same table, typed cells,
times in Polish time with their offset."""
import csv
import io
from datetime import datetime

import openpyxl
from sqlalchemy import select

from koalicja.coordinators.audit import AuditEntry
from koalicja.events.models import Registration
from koalicja.events.operations import set_attendance
from koalicja.extensions import db
from koalicja.timeutil import utc_to_warsaw

from .conftest import register_http


def _registered_and_checked_in(app, client, event):
    register_http(client, full_name="Źdźbło Łąkowa", organisation="=HYPERLINK(1)", companions="0")
    with app.app_context():
        registration = db.session.scalar(select(Registration))
        set_attendance(registration, True)
        return registration.created_at, registration.attended_at, registration.code


def test_csv_and_xlsx_show_the_same_registrations_with_polish_times(app, client, auth, event):
    created_at, attended_at, code = _registered_and_checked_in(app, client, event)
    auth.login()

    response = client.get(f"/panel/wydarzenia/{event}/zapisy.csv")
    assert response.headers["Content-Disposition"] == 'attachment; filename="zapisy-gala.csv"'
    header, row = csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";")
    shown = dict(zip(header, row, strict=True))
    assert shown["Organizacja"] == "'=HYPERLINK(1)"
    # e.g. "2026-07-14 18:02:00+02:00": Polish time, and it says so
    for label, moment in (("Zapis (czas polski)", created_at), ("Obecność (czas polski)", attended_at)):
        assert datetime.strptime(shown[label], "%Y-%m-%d %H:%M:%S%z") == utc_to_warsaw(moment).replace(microsecond=0)
        assert shown[label][-6:] in ("+01:00", "+02:00")

    response = client.get(f"/panel/wydarzenia/{event}/zapisy.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Content-Disposition"] == 'attachment; filename="zapisy-gala.xlsx"'
    assert response.headers["Cache-Control"] == "no-store"
    header_cells, cells = openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows()
    assert [cell.value for cell in header_cells] == header
    typed = dict(zip(header, cells, strict=True))
    assert typed["Imię i nazwisko"].value == "Źdźbło Łąkowa"
    assert (typed["Organizacja"].value, typed["Organizacja"].data_type) == ("=HYPERLINK(1)", "s")  # text, never run
    assert (typed["Kod"].value, typed["Kod"].data_type) == (code, "s")
    assert typed["Osoby towarzyszące"].value == 0
    for label, moment in (("Zapis (czas polski)", created_at), ("Obecność (czas polski)", attended_at)):
        assert typed[label].is_date and "hh:mm" in typed[label].number_format
        assert typed[label].value == utc_to_warsaw(moment).replace(tzinfo=None, microsecond=0)

    page = client.get(f"/panel/wydarzenia/{event}").get_data(as_text=True)
    assert f'href="/panel/wydarzenia/{event}/zapisy.xlsx"' in page
    with app.app_context():
        summaries = db.session.scalars(select(AuditEntry.summary).where(AuditEntry.action == "export").order_by(AuditEntry.id))
        assert [s.rsplit(": ", 1)[1] for s in summaries] == ["pobrano listę zapisów (CSV)", "pobrano listę zapisów (XLSX)"]
