"""Screenshots of the main pages (and the signing form in Ukrainian), on a desktop and a phone, with the demo data.

    .venv/bin/python -m tests.screenshots docs/screenshots

Builds the app on a throw-away SQLite database, seeds the demo, serves it on loopback and
saves full-page PNGs named `<page>-<device>.png` (the consultations' two on a desktop only,
`consultation-ballot.png` and `consultation-results.png`). Needs Debian's chromium (`make browser`).
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy import select

from koalicja import create_app
from koalicja.coalitions.models import Coalition
from koalicja.consultations.models import ConsultationMember
from koalicja.consultations.notifications import voice_token
from koalicja.consultations.operations import consultations_of
from koalicja.demo import DEMO_COORDINATOR_EMAIL, DEMO_COORDINATOR_PASSWORD, DEMO_SLUG, PARTNERSHIP_SLUG, seed_demo
from koalicja.extensions import db

from .browser.support import MISSING_CHROMIUM, TIMEOUT_MS, chromium_available, launched_chromium, serving
from .translations import compile_catalogues

DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


def build_app(workdir):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "screenshots",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(workdir) / 'screenshots.sqlite'}",
            "MAIL_BACKEND": "file",
            "MAIL_OUTBOX_DIR": str(Path(workdir) / "outbox"),
            "LOGO_FOLDER": str(Path(workdir) / "logos"),
            "SCAN_FOLDER": str(Path(workdir) / "scans"),
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        seed_demo()
    return app


def home(page, base_url):
    page.goto(f"{base_url}/{DEMO_SLUG}/")


def sign_form_errors(page, base_url):
    page.goto(f"{base_url}/{DEMO_SLUG}/podpisz")
    page.locator("#submit").click()
    page.locator(".error-summary").wait_for()


def allies(page, base_url):
    page.goto(f"{base_url}/{DEMO_SLUG}/sojusznicy")


def log_in(page, base_url):
    page.goto(f"{base_url}/panel/logowanie")
    page.locator("#email").fill(DEMO_COORDINATOR_EMAIL)
    page.locator("#password").fill(DEMO_COORDINATOR_PASSWORD)
    page.locator("#submit").click()
    page.wait_for_url("**/panel/podpisy")


def queue(page, base_url):
    log_in(page, base_url)
    page.locator("table.queue").wait_for()


def search_across_tabs(page, base_url):
    """"Łukasik" typed in the tab of entries waiting for a decision: the hits are in another tab."""
    log_in(page, base_url)
    page.goto(f"{base_url}/panel/podpisy?q=LUKASIK")
    page.locator(".search-elsewhere").wait_for()


def person_card(page, base_url):
    """Zofia Łukasik's card, opened from her entry in the search."""
    log_in(page, base_url)
    page.goto(f"{base_url}/panel/podpisy?stan=approved&q=łukasik")
    page.get_by_role("link", name="Karta osoby").first.click()
    page.wait_for_url("**/panel/osoby/*")


GALA_PATH = f"/{DEMO_SLUG}/wydarzenia/gala-sojusznikow-sasiedztw"


def events_list(page, base_url):
    page.goto(f"{base_url}/{DEMO_SLUG}/wydarzenia")


def event_page(page, base_url):
    page.goto(base_url + GALA_PATH)


def event_form_errors(page, base_url):
    page.goto(base_url + GALA_PATH + "/zapisz")
    page.locator("#submit").click()
    page.locator(".error-summary").wait_for()


def check_in(page, base_url):
    """The door on the gala, reached as a coordinator would: panel list, event, check-in, search."""
    log_in(page, base_url)
    page.goto(f"{base_url}/panel/wydarzenia/")
    page.get_by_role("link", name="Gala Sojuszników Sąsiedztw").click()
    page.get_by_role("link", name="Wejście (check-in)").click()
    page.locator("#q").fill("Anna")
    page.locator("#check-in-results .check-in-card").first.wait_for()


def sign_form_ukrainian(page, base_url):
    """The signing form after choosing Українська in the header's language switcher."""
    page.goto(f"{base_url}/{DEMO_SLUG}/podpisz")
    page.get_by_role("link", name="Українська").click()
    page.wait_for_url(f"**/{DEMO_SLUG}/podpisz")
    page.locator("html[lang=uk]").wait_for(state="attached")


def public_page(path):
    def visit(page, base_url):
        page.goto(base_url + path)

    return visit


def panel_page(path):
    def visit(page, base_url):
        log_in(page, base_url)
        page.goto(base_url + path)

    return visit


def printed_declaration(page, base_url):
    """The partnership agreement as it comes out of the printer (print stylesheet)."""
    page.emulate_media(media="print")
    page.goto(f"{base_url}/partnerstwo-zielony-brzeg/deklaracja/druk")


SHOTS = {
    "home": home,
    "sign-form-errors": sign_form_errors,
    "allies": allies,
    "queue": queue,
    "events-list": events_list,
    "event-page": event_page,
    "event-form-errors": event_form_errors,
    "check-in": check_in,
    "sign-form-uk": sign_form_ukrainian,
    "coalitions-index": public_page("/"),
    "panel-coalition": panel_page(f"/panel/koalicje/{DEMO_SLUG}/"),
    "panel-coalition-settings": panel_page(f"/panel/admin/koalicje/{DEMO_SLUG}/ustawienia"),
    "panel-accounts": panel_page("/panel/admin/koordynatorzy"),
    "panel-audit-log": panel_page("/panel/admin/dziennik"),
    "allies-by-district": public_page(f"/{DEMO_SLUG}/sojusznicy?dzielnica=xiii-podgorze"),
    "declaration-versions": public_page(f"/{DEMO_SLUG}/deklaracja/wersje"),
    "agreement-with-annex": public_page("/partnerstwo-zielony-brzeg/"),
    "printable-agreement": printed_declaration,
    "panel-annex-endorsements": panel_page("/panel/koalicje/partnerstwo-zielony-brzeg/deklaracja/aneks-1"),
    "panel-paper-signature": panel_page(f"/panel/koalicje/{DEMO_SLUG}/podpis-papierowy"),
    "panel-announcements": panel_page(f"/panel/koalicje/{DEMO_SLUG}/komunikaty"),
    "queue-duplicate-organisation": panel_page("/panel/podpisy?koalicja=reintegracja-krakow"),
    "queue-search-across-tabs": search_across_tabs,
    "person-card": person_card,
    "panel-funder-report": panel_page(f"/panel/koalicje/{DEMO_SLUG}/sprawozdanie"),
}



def consultation_shots(app):
    """The partnership's consultations (koalicja/demo.py), shot on a desktop: the open one's ballot
    as a partner who has voted sees it through the personal link, and the closed one's public
    results. The link is made here, with the app's key."""
    with app.app_context():
        coalition = db.session.scalar(select(Coalition).where(Coalition.slug == PARTNERSHIP_SLUG))
        running, closed = consultations_of(coalition)
        voter = db.session.scalars(
            select(ConsultationMember)
            .where(ConsultationMember.consultation_id == running.id, ConsultationMember.took_part_at.is_not(None))
            .order_by(ConsultationMember.id)
        ).first()
        return {
            "consultation-ballot": public_page(f"/{PARTNERSHIP_SLUG}/konsultacje/glos/{voice_token(voter)}"),
            "consultation-results": public_page(f"/{PARTNERSHIP_SLUG}/konsultacje/{closed.id}"),
        }


DEMO_EVENT_SLUG = "gala-sojusznikow-sasiedztw"
# The first page of each printout (WeasyPrint), rendered to PNG by poppler's pdftoppm.
PDF_SHOTS = {
    "attendance-list-pdf": "/panel/wydarzenia/{event_id}/lista-obecnosci.pdf",
    "badges-pdf": "/panel/wydarzenia/{event_id}/identyfikatory.pdf",
    "funder-report-pdf": f"/panel/koalicje/{DEMO_SLUG}/sprawozdanie.pdf",
}


def pdf_first_pages(app, out_dir):
    """PNGs of the printouts' first pages, fetched as the demo coordinator (`make pdf` needed)."""
    from koalicja.events.models import Event
    from koalicja.printing import pdf_available

    from .conftest import csrf_token_from

    if not pdf_available() or shutil.which("pdftoppm") is None:
        print("Bez zrzutów PDF: brak WeasyPrint lub pdftoppm (make pdf).", file=sys.stderr)
        return []
    with app.app_context():
        event_id = db.session.scalar(select(Event.id).where(Event.slug == DEMO_EVENT_SLUG))
    client = app.test_client()
    token = csrf_token_from(client.get("/panel/logowanie"))
    login = {"email": DEMO_COORDINATOR_EMAIL, "password": DEMO_COORDINATOR_PASSWORD, "csrf_token": token}
    client.post("/panel/logowanie", data=login)
    saved = []
    with tempfile.TemporaryDirectory(prefix="koalicja-pdf-") as folder:
        for name, path in PDF_SHOTS.items():
            pdf = Path(folder) / f"{name}.pdf"
            pdf.write_bytes(client.get(path.format(event_id=event_id)).data)
            target = Path(out_dir) / name
            first_page = ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]
            subprocess.run(["pdftoppm", *first_page, str(pdf), str(target)], check=True)
            saved.append(target.with_suffix(".png"))
    return saved


def take_screenshots(out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    compile_catalogues()  # the Ukrainian page
    with tempfile.TemporaryDirectory(prefix="koalicja-screenshots-") as workdir:
        app = build_app(workdir)
        shots = [
            (out_dir / f"{name}-{device}.png", options, visit)
            for device, options in DEVICES.items()
            for name, visit in SHOTS.items()
        ]
        shots += [(out_dir / f"{name}.png", DEVICES["desktop"], visit) for name, visit in consultation_shots(app).items()]
        with serving(app) as base_url, launched_chromium() as browser:
            for path, options, visit in shots:
                # A fresh context per shot: no cookies, flashes or focus carried over.
                context = browser.new_context(locale="pl-PL", **options)
                context.set_default_timeout(TIMEOUT_MS)
                try:
                    page = context.new_page()
                    visit(page, base_url)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(path), full_page=True)
                    saved.append(path)
                finally:
                    context.close()
        saved += pdf_first_pages(app, out_dir)
        with app.app_context():
            db.engine.dispose()
    return saved


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", default="docs/screenshots", help="where to save the PNG files")
    args = parser.parse_args(argv)
    if not chromium_available():
        print(MISSING_CHROMIUM, file=sys.stderr)
        return 1
    for path in take_screenshots(args.out_dir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
