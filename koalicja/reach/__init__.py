"""Reaching beyond the app: the coalition's widgets on other sites, its read API and its feeds.

- `views`: the embedded pages (`/<slug>/osadz/…`: allies, counter, events) with the
  `frame-ancestors` each coalition allows, the SVG counter badge, the JSON read API
  (`count.json`, `sojusznicy.json`, `wydarzenia.json`, public and open to every origin), the
  home page's live counter fragment and the Atom feeds.
- `panel`: the coordinators' page that hands out the snippets, with a live preview.
- `operations`: what those pages read, only what the public pages already show.
- `feeds`: the Atom documents (feedgen).
"""
