"""Arbitrary input at every public form field and URL parameter: never a 500, always Polish, nothing saved."""
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from koalicja.events.models import Registration
from koalicja.extensions import db
from koalicja.signatures.models import Signature

from ..conftest import csrf_token_from
from ..events.conftest import make_event

nasty_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.sampled_from(["", " ", "\x00", "<script>alert(1)</script>", "' OR 1=1 --", "%", "_", "\\", "😀" * 60, "a" * 20000, "\r\nBcc: x@y.z", "null", "-1", "99999999999999999999"]),
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

SIGN_FIELDS = ["kind", "full_name", "email", "city", "district", "organisation_name", "role", "sector"]
EVENT_FIELDS = ["full_name", "email", "organisation", "companions", "needs"]
POLISH = re.compile(r"[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")


def assert_polite(response):
    assert response.status_code < 500, response.status_code
    if response.mimetype == "text/html" and not 300 <= response.status_code < 400:  # redirects carry no text to read
        page = response.get_data(as_text=True)
        assert '<html lang="pl">' in page and POLISH.search(page)


@SETTINGS
@given(values=st.fixed_dictionaries({name: nasty_text for name in SIGN_FIELDS}))
def test_sign_form_never_fails_and_saves_nothing_invalid(app, client, coalition, values):
    token = csrf_token_from(client.get("/sasiedztwa/podpisz"))
    # No consents ticked: whatever else is sent, this submission is invalid.
    response = client.post("/sasiedztwa/podpisz", data={**values, "csrf_token": token})
    assert_polite(response)
    assert response.status_code in (400, 422)  # 400: a NUL byte, refused before any form logic
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0


@SETTINGS
@given(values=st.fixed_dictionaries({name: nasty_text for name in EVENT_FIELDS}))
def test_event_form_never_fails_and_saves_nothing_invalid(app, client, coalition, values):
    with app.app_context():
        exists = db.session.execute(db.text("select count(*) from event")).scalar()
    if not exists:
        make_event(app, max_companions=2)
    token = csrf_token_from(client.get("/sasiedztwa/wydarzenia/gala/zapisz"))
    response = client.post("/sasiedztwa/wydarzenia/gala", data={**values, "csrf_token": token})
    assert_polite(response)
    with app.app_context():
        assert db.session.scalar(select(func.count(Registration.id))) == 0


@SETTINGS
@given(q=nasty_text, who=nasty_text, order=nasty_text, page=nasty_text)
def test_list_parameters_never_fail(client, coalition, q, who, order, page):
    response = client.get("/sasiedztwa/sojusznicy", query_string={"q": q, "kto": who, "kolejnosc": order, "strona": page})
    assert response.status_code in (200, 400)  # 400 only for a NUL byte
    assert_polite(response)


@SETTINGS
@given(segment=nasty_text.filter(lambda s: "/" not in s and s not in ("", ".", "..")))
def test_url_segments_never_fail(client, coalition, segment):
    for template in ("/{}/", "/{}/sojusznicy", "/sasiedztwa/wydarzenia/{}", "/potwierdz/{}", "/wycofaj/{}", "/wydarzenia/potwierdz/{}", "/wydarzenia/rezygnacja/{}"):
        response = client.get(template.format(segment.replace("?", "%3F").replace("#", "%23")))
        assert_polite(response)


@SETTINGS
@given(email=nasty_text)
def test_email_only_forms_never_fail(client, coalition, email):
    for path in ("/nowy-link", "/wycofaj"):
        token = csrf_token_from(client.get(path))
        assert_polite(client.post(path, data={"email": email, "csrf_token": token}))
