"""Reaching people outside the app: share previews (Open Graph, Twitter cards, a share image),
sitemap.xml and robots.txt.

- `image`: the 1200×630 PNG shown when a coalition's page is shared (name, logo, colour,
  number of allies), drawn with Pillow once per data version and kept on disk.
- `views`: the image under a URL that names its data version (so it is `immutable`),
  `/sitemap.xml` with every public page and `/robots.txt`.

Pages fill base.html's `share` block with the `share_tags` macro (templates/macros/share.html).
"""
from .views import bp, init_app

__all__ = ["bp", "init_app"]
