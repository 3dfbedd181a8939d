"""Organisation profiles: an approved organisation's logo, website and short description on
the public list of allies, each change approved by a coordinator before anyone sees it.

The representative has no account: a signed link, sent to the address they signed with,
opens the profile form. One package, the usual inner shape: `models`, `images` (what an
uploaded logo must be, re-encoded by Pillow), `forms`, `operations` (submit, approve,
reject, the link; the profile goes with the entry's withdrawal through `signature_withdrawn`),
`views` (the public form and logo, the coordinators' moderation list).

It stands between signatures and declarations: it knows the entries, and the allies list
(koalicja/declarations) shows its cards.
"""


def init_app(app):
    from . import images, operations, views

    images.init_app(app)
    operations.init_app(app)
    views.init_app(app)
