"""TRUSTED_PROXIES: the app believes exactly as many X-Forwarded-For entries as proxies stand in front."""
import pytest

from koalicja import create_app
from koalicja.config import ConfigError


def _app(tmp_path, **config):
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}", **config}
    )

    @app.get("/test/who")
    def who():
        from flask import request

        return f"{request.remote_addr} {request.scheme}"

    return app


def _who(app, **headers):
    response = app.test_client().get("/test/who", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return response.get_data(as_text=True)


def test_off_by_default_the_headers_change_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    app = _app(tmp_path)
    assert app.config["TRUSTED_PROXIES"] == 0
    assert _who(app, **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}) == "127.0.0.1 http"


def test_one_proxy_the_last_entry_is_the_visitor(tmp_path):
    app = _app(tmp_path, TRUSTED_PROXIES=1)
    # nginx overwrites the header with the address it was connected from: one entry.
    assert _who(app, **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}) == "203.0.113.7 https"
    # A proxy that appends instead: only the entry our one proxy added counts, not the visitor's own.
    assert _who(app, **{"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}) == "203.0.113.7 http"


def test_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert _app(tmp_path).config["TRUSTED_PROXIES"] == 2
    monkeypatch.setenv("TRUSTED_PROXIES", "yes")
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        _app(tmp_path)
