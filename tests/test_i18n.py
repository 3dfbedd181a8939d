"""Languages: complete catalogues, the language switch, the browser's choice, e-mails in the signer's language."""
import re
from datetime import timedelta

import pytest
from babel import Locale
from sqlalchemy import select

from koalicja.events.operations import register
from koalicja.extensions import db
from koalicja.mail.models import OutboxMessage
from koalicja.security import safe_local_path
from koalicja.signatures.models import Signature, SignatureStatus
from koalicja.signatures.operations import decide_signature
from koalicja.timeutil import utc_to_warsaw, utcnow

from .conftest import VALID_ORGANISATION, VALID_PERSON, current_declaration, sign
from .events.conftest import event_url, load_event, make_event, registration_url
from .translations import (
    CATALOGUES,
    LANGUAGES,
    TEMPLATE,
    compile_catalogues,
    extract_messages,
    message_ids,
    po_path,
    read_catalogue,
)

pytestmark = pytest.mark.one_engine


@pytest.fixture(autouse=True, scope="module")
def compiled():
    compile_catalogues()


# ---- the catalogues ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    catalogue = read_catalogue(po_path(language), language)
    assert not catalogue.fuzzy, f"{language}: the catalogue header is marked fuzzy"
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        if message.pluralizable and len(strings) != catalogue.num_plurals:
            problems.append(f"{len(strings)} plural forms instead of {catalogue.num_plurals}: {message.id!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {message.id!r}")
    for message, errors in catalogue.check():  # placeholders such as %(count)s must match the msgid
        problems.extend(f"{error}: {message.id!r}" for error in errors)
    assert not problems, f"{language}: {len(problems)} problems\n" + "\n".join(problems)


def test_catalogues_are_up_to_date_with_the_source(tmp_path):
    """Every message in the code and templates is in each catalogue, and nothing stale stays there."""
    source = message_ids(extract_messages(tmp_path / "fresh.pot"))
    assert len(source) > 400
    for path in [TEMPLATE] + [po_path(language) for language in LANGUAGES]:
        kept = message_ids(read_catalogue(path))
        missing, stale = source - kept, kept - source
        assert not missing and not stale, (
            f"{path.relative_to(CATALOGUES)} is out of date; run `make messages` and translate.\n"
            f"missing: {sorted(map(str, missing))}\nstale: {sorted(map(str, stale))}"
        )


def test_no_polish_catalogue_is_needed():
    """Polish is the source language; no catalogue of its own (plural forms fall back correctly)."""
    assert not (CATALOGUES / "pl").exists()


# ---- choosing the language ---------------------------------------------------------------


def html_lang(response):
    return re.search(r'<html lang="([a-z]+)">', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [(None, "pl"), ("en-GB,en;q=0.9", "en"), ("uk-UA", "uk"), ("de-DE,uk;q=0.5", "uk"), ("ru", "pl"), ("pl-PL", "pl")],
)
def test_language_follows_the_browser(client, coalition, accept_language, expected):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    response = client.get("/sasiedztwa/", headers=headers)
    assert html_lang(response) == expected
    assert {"Accept-Language", "Cookie"} <= set(response.vary.as_set(preserve_casing=True))


def test_switcher_on_every_page_sets_a_cookie_that_beats_the_browser(client, coalition):
    page = client.get("/sasiedztwa/sojusznicy?q=zofia", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'href="/jezyk/uk?next=/sasiedztwa/sojusznicy?q%3Dzofia"' in page
    assert 'lang="uk" hreflang="uk">Українська</a>' in page
    assert re.search(r'<a href="/jezyk/en\?[^"]*"[^>]*aria-current="true"', page)

    response = client.get("/jezyk/uk?next=/sasiedztwa/sojusznicy?q%3Dzofia")
    assert response.status_code == 303
    assert response.headers["Location"] == "/sasiedztwa/sojusznicy?q=zofia"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("lang=uk;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    page = client.get("/sasiedztwa/sojusznicy?q=zofia", headers={"Accept-Language": "en"})
    assert html_lang(page) == "uk"
    assert "Союзники" in page.get_data(as_text=True)
    # The panel and error pages switch too.
    assert "Вхід до панелі" in client.get("/panel/logowanie").get_data(as_text=True)
    assert "Такої сторінки немає" in client.get("/nie-ma/takiej/strony").get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "", "evil"],
)
def test_switcher_only_returns_to_this_site(client, target):
    response = client.get("/jezyk/en", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_unknown_language_sets_nothing(client):
    response = client.get("/jezyk/de?next=/sasiedztwa/")
    assert response.status_code == 303 and "Set-Cookie" not in response.headers


def test_safe_local_path_keeps_ordinary_paths():
    assert safe_local_path("/sasiedztwa/podpisz?x=1") == "/sasiedztwa/podpisz?x=1"
    assert safe_local_path("/a b") == "/"


def test_cached_pages_are_kept_apart_by_language(client, coalition):
    """The page cache (koalicja/serving/pages.py) keys pages on the language as well."""
    expected = {"pl": "Podpisz deklarację", "en": "Sign the declaration", "uk": "Підписати декларацію"}
    for _round in range(2):  # the second round is served from the cache
        for language, title in expected.items():
            page = client.get("/sasiedztwa/podpisz", headers={"Accept-Language": language}).get_data(as_text=True)
            assert f"<h1>{title}</h1>" in page, language


# ---- what is translated ------------------------------------------------------------------


def test_privacy_notice_is_translated(client, coalition):
    english = client.get("/sasiedztwa/prywatnosc", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<strong>Who is responsible for your data?</strong> The data controller is Fundacja Testowa" in english
    assert "after 14 days" in english and "Odwołaj" not in english
    ukrainian = client.get("/sasiedztwa/prywatnosc", headers={"Accept-Language": "uk"}).get_data(as_text=True)
    assert "Контролером даних є Fundacja Testowa, контакт: kontakt@example.org." in ukrainian


def test_numbers_and_plural_forms_follow_the_language(app, client, coalition):
    with app.app_context():
        declaration = current_declaration()
        for number in range(3):
            db.session.add(
                Signature(declaration=declaration, kind="person", full_name=f"Osoba {number}", email=f"o{number}@example.org",
                          email_key=f"o{number}@example.org", status=SignatureStatus.APPROVED, approved_at=utcnow())
            )
        db.session.commit()
    pages = {
        # Words as a reader sees them: runs of white space are one space.
        language: " ".join(client.get("/sasiedztwa/", headers={"Accept-Language": language}).get_data(as_text=True).split())
        for language in ("pl", "en", "uk")
    }
    assert "3</strong> sojuszników i sojuszniczek podpisało deklarację" in pages["pl"]
    assert "3</strong> allies have signed the declaration" in pages["en"]
    assert "3</strong> союзники та союзниці підписали декларацію" in pages["uk"]  # 2–4: the second of three forms


def test_event_dates_follow_the_language(app, client, coalition):
    make_event(app)
    month = utc_to_warsaw(utcnow() + timedelta(days=10)).month
    for language in ("pl", "en", "uk"):
        page = client.get(event_url(), headers={"Accept-Language": language}).get_data(as_text=True)
        name = Locale.parse(language).months["format"]["wide"][month]  # "grudnia", "December", "грудня"
        assert name in page, language


# ---- e-mails in the signer's language ----------------------------------------------------


def outbox(app):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


@pytest.mark.parametrize(
    ("language", "subject", "phrase"),
    [
        ("pl", "Potwierdź podpis pod deklaracją", "Aby potwierdzić podpis, otwórz ten link"),
        ("en", "Confirm your signature under the declaration", "To confirm your signature, open this link"),
        ("uk", "Підтвердьте підпис під декларацією", "Щоб підтвердити підпис, відкрийте це посилання"),
    ],
)
def test_signature_emails_go_out_in_the_signers_language(app, client, coalition, coordinator, language, subject, phrase):
    client.set_cookie("lang", language)
    sign(client, **VALID_ORGANISATION)
    [confirm] = outbox(app)
    assert confirm.subject.startswith(subject)
    assert phrase in confirm.body_text and phrase in confirm.body_html
    assert f'<html lang="{language}">' in confirm.body_html
    with app.app_context():
        signature = db.session.scalar(select(Signature))
        assert signature.language == language
        signature.status = SignatureStatus.CONFIRMED
        db.session.commit()
        signature_id = signature.id

    # A coordinator working in Polish approves: the signer still hears back in their language.
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        from koalicja.coordinators.models import Coordinator

        decide_signature(db.session.get(Signature, signature_id), "approve", db.session.get(Coordinator, coordinator))
    approved = outbox(app)[-1]
    expected = {"pl": "Witamy w gronie sojuszników", "en": "Welcome among the allies", "uk": "Вітаємо серед союзників і союзниць"}
    assert approved.subject.startswith(expected[language])


@pytest.mark.parametrize(("language", "subject"), [("en", "Confirm your registration"), ("uk", "Підтвердьте реєстрацію")])
def test_event_emails_go_out_in_the_registrants_language(app, client, coalition, language, subject):
    event_id = make_event(app)
    client.set_cookie("lang", language)
    page = client.get(registration_url())
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answers = {"full_name": "Olena Kovalenko", "email": "olena@example.org", "accept_privacy": "y"}
    client.post(event_url(), data={"csrf_token": token, **answers})
    [mail] = outbox(app)
    assert mail.subject.startswith(subject)
    with app.app_context():
        # From the command line (expire-holds, cancellations) the language is the registration's too.
        registration = register(load_event(event_id), {"full_name": "Jan", "email": "jan@example.org"}, language=language)
        assert registration.registration.language == language
    assert outbox(app)[-1].subject.startswith(subject)


def test_person_signing_in_english_sees_english_errors(client, coalition):
    client.set_cookie("lang", "en")
    response = sign(client, **{**VALID_PERSON, "full_name": "", "email": "nope"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter your full name." in page and "This does not look like an e-mail address." in page
    assert "Correct the marked fields" in page
