"""The coalition's Atom feeds (RFC 4287), written by feedgen: public announcements and events."""
from datetime import timezone

from feedgen.feed import FeedGenerator
from flask import render_template, url_for
from flask_babel import gettext as _

from ..text import render_markdown


def _aware(moment):
    return moment.replace(tzinfo=timezone.utc)


def _feed(coalition, title, self_endpoint, alternate_url, entries):
    """`entries`: (id, title, url, published, updated, html) tuples, newest first; times naive UTC."""
    feed = FeedGenerator()
    self_url = url_for(self_endpoint, slug=coalition.slug, _external=True)
    feed.id(self_url)
    feed.title(f"{title} · {coalition.name}")
    feed.author({"name": coalition.name, **({"email": coalition.contact_email} if coalition.contact_email else {})})
    feed.link(href=self_url, rel="self", type="application/atom+xml")
    feed.link(href=alternate_url, rel="alternate", type="text/html")
    feed.language("pl")
    feed.updated(_aware(max((entry[4] for entry in entries), default=coalition.created_at)))
    for entry_id, entry_title, url, published, updated, html in entries:
        item = feed.add_entry(order="append")
        item.id(entry_id)
        item.title(entry_title)
        item.link(href=url, rel="alternate", type="text/html")
        item.published(_aware(published))
        item.updated(_aware(updated))
        item.content(str(html), type="html")
    return feed.atom_str(pretty=True)


def announcements_feed(coalition, announcements):
    page = url_for("reach.announcements", slug=coalition.slug, _external=True)
    return _feed(
        coalition,
        _("Komunikaty"),
        "reach.announcements_feed",
        page,
        [
            (f"{page}#komunikat-{item.id}", item.subject, f"{page}#komunikat-{item.id}", item.created_at, item.created_at,
             render_markdown(item.body))
            for item in announcements
        ],
    )


def events_feed(coalition, upcoming):
    """The events that have not ended yet, the soonest first (an event's entry changes when it is cancelled)."""
    return _feed(
        coalition,
        _("Wydarzenia"),
        "reach.events_feed",
        url_for("events.index", slug=coalition.slug, _external=True),
        [
            (
                url_for("events.detail", slug=coalition.slug, event_slug=item.event.slug, _external=True),
                item.event.title,
                url_for("events.detail", slug=coalition.slug, event_slug=item.event.slug, _external=True),
                item.event.created_at,
                item.event.cancelled_at or item.event.created_at,
                render_template("reach/_feed_event.html", event=item.event),
            )
            for item in upcoming
        ],
    )
