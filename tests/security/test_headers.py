"""Every answer carries the headers that keep scripts, frames and referrers in check."""
import re

import pytest

from koalicja import create_app

pytestmark = pytest.mark.one_engine


@pytest.mark.parametrize("path", ["/sasiedztwa/", "/sasiedztwa/podpisz", "/panel/logowanie", "/nie-ma/"])
def test_security_headers_on_every_page(client, coalition, path):
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only over HTTPS


def test_pages_have_no_inline_script_or_style(client, coalition):
    for path in ("/sasiedztwa/", "/sasiedztwa/podpisz", "/sasiedztwa/sojusznicy", "/panel/logowanie"):
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert " style=" not in page and "<style" not in page, path
        assert not re.search(r"\son[a-z]+=", page), path  # no onclick= and friends


def test_https_deployment_gets_hsts_and_secure_cookies(tmp_path):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'h.sqlite'}", "BASE_URL": "https://koalicja.example.org"}
    )
    app.config["SESSION_COOKIE_SECURE"] = True
    from koalicja.extensions import db

    with app.app_context():
        db.create_all()
    response = app.test_client().get("/panel/logowanie")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in response.headers["Set-Cookie"] and "HttpOnly" in response.headers["Set-Cookie"]


def test_panel_and_token_pages_are_not_cached(client, auth, coalition):
    auth.login()
    assert client.get("/panel/podpisy").headers["Cache-Control"] == "no-store"
    assert client.get("/potwierdz/zly-token").headers["Cache-Control"] == "no-store"
