"""Trusting the reverse proxy in front (nginx): the visitor's address and scheme.

nginx (deploy/nginx/) overwrites `X-Forwarded-For` with the address it was connected from
and sets `X-Forwarded-Proto`. With `TRUSTED_PROXIES=N` the app believes the last N entries
of those headers (werkzeug's ProxyFix), so `request.remote_addr`, and with it every rate
limit keyed "per address", is the real visitor's, and `request.scheme` is https behind TLS.
With the default 0 nothing is trusted: an app reached directly ignores whatever a client
writes into those headers. Set it to the number of proxies that really stand in front
(1 for nginx on the edge), never more: one more lets a visitor choose their own address.
"""
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app):
    """Wrap the WSGI app last, so every layer (limits, access log) sees the visitor's address."""
    trusted = app.config["TRUSTED_PROXIES"]
    if trusted:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)
