"""Name badges: eight to an A4 sheet (A7 landscape, 2 × 4, with cut marks) or one per page for
a label printer. A long name or organisation gets a smaller type size, chosen here by its
length, and wraps anywhere as a last resort: nothing ever runs out of the badge."""
from dataclasses import dataclass

from .attendance import attendance_rows
from .notifications import check_in_url

# (longest text in characters, CSS class): the first that fits wins; longer ones get "xs".
NAME_SIZES = ((18, "xl"), (28, "l"), (45, "m"), (90, "s"))
ORGANISATION_SIZES = ((30, "l"), (60, "m"), (120, "s"))

# Page layouts: one badge per page for label printers, or eight on a sheet of A4.
LAYOUTS = {"arkusz": "sheet", "a7": "a7", "62x100": "label"}
SHEET_BADGES = 8


def size_class(text, sizes):
    length = len(text or "")
    return next((name for limit, name in sizes if length <= limit), "xs")


def qr_data_url(registration):
    """The ticket's QR code (the check-in link, as in the ticket e-mail) as an SVG data URL,
    with the standard quiet zone of 4 modules so phones read it off paper."""
    import segno  # only for printouts, not in every web worker

    return segno.make(check_in_url(registration), error="m").svg_data_uri(border=4, scale=4)


@dataclass
class Badge:
    name: str
    organisation: str
    name_size: str
    organisation_size: str
    qr: str


def badges_for(event):
    return [
        Badge(
            name=registration.full_name,
            organisation=registration.organisation,
            name_size=size_class(registration.full_name, NAME_SIZES),
            organisation_size=size_class(registration.organisation, ORGANISATION_SIZES),
            qr=qr_data_url(registration),
        )
        for registration in attendance_rows(event)
    ]


def sheets(badges):
    """Badges in groups of eight, one group per A4 sheet."""
    return [badges[start : start + SHEET_BADGES] for start in range(0, len(badges), SHEET_BADGES)]
