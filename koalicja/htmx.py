"""Small helpers over flask-htmx: fragment-or-page rendering, merged triggers, 303 redirects.

flask-htmx tells whether a request came from htmx; it does not vary the response,
merge several HX-Trigger events or pick between a page and its fragment. That is here.
"""
import json

from flask import make_response, redirect, render_template, request

from .extensions import htmx


def wants_fragment():
    """An htmx request that swaps part of a page (a boosted one wants the whole page)."""
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page_or_fragment(page_template, fragment_template, **context):
    """The page includes the fragment, so both come from one template for the changing part."""
    return render_template(fragment_template if wants_fragment() else page_template, **context)


def add_trigger(response, event, detail=None):
    """Add an HX-Trigger event, keeping the ones already set on the response."""
    current = response.headers.get("HX-Trigger")
    events = {}
    if current:
        try:
            events = json.loads(current)
        except ValueError:
            events = {name.strip(): None for name in current.split(",")}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def see_other(location):
    """POST/redirect/GET: a 303 makes the browser follow with GET."""
    return redirect(location, code=303)


def client_redirect(location, status=200):
    """A full page load of `location` for an htmx request (`HX-Redirect`).

    A 3xx would be followed by the XHR itself and the page it leads to swapped into the
    request's target (a whole login page inside a table row).
    """
    response = make_response("", status)
    response.headers["HX-Redirect"] = location
    response.vary.add("HX-Request")
    return response


def current_url():
    """The address of the page an htmx request was sent from (`HX-Current-URL`), as the browser
    sent it: absolute and not to be trusted (koalicja/security.py `local_page` checks it)."""
    return request.headers.get("HX-Current-URL") if htmx else None


def init_app(app):
    @app.after_request
    def vary_on_hx_request(response):
        # Pages answer htmx with fragments: caches must keep the two apart.
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response
