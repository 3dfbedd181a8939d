"""The share image: what a social network or a messenger shows for a link to a coalition.

1200×630 pixels (the size Facebook, LinkedIn and X all crop least), the coalition's colour as
the background, its logo on a white tile, its name and the number of allies in white. Drawn in
DejaVu Sans, which has every Polish (and Ukrainian) letter: Debian's `fonts-dejavu-core`.
"""
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
LOGO_TILE = 168
FONT_FOLDER = Path("/usr/share/fonts/truetype/dejavu")
BOLD_FONT = FONT_FOLDER / "DejaVuSans-Bold.ttf"
REGULAR_FONT = FONT_FOLDER / "DejaVuSans.ttf"
MISSING_FONTS = "Brak czcionek DejaVu (pakiet Debiana fonts-dejavu-core): obraz do udostępniania nie ma polskich liter."


def _font(path, size):
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        return ImageFont.load_default(size)  # no Polish letters: the README says to install fonts-dejavu-core


def _wrap(draw, text, font, width):
    """The text broken into lines of at most `width` pixels (a word longer than that stays whole)."""
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines


def _name_lines(draw, name, width):
    """The largest size (72 down to 40 px) at which the name takes at most three lines."""
    for size in (72, 64, 56, 48, 40):
        font = _font(BOLD_FONT, size)
        lines = _wrap(draw, name, font, width)
        if len(lines) <= 3:
            return font, lines
    return font, [*lines[:2], lines[2] + " …"]


def _logo_tile(logo_path):
    """The logo fitted into a white square tile, or None when there is none or it cannot be read."""
    if logo_path is None:
        return None
    try:
        with Image.open(logo_path) as logo:
            logo = ImageOps.exif_transpose(logo).convert("RGBA")
            logo.thumbnail((LOGO_TILE - 24, LOGO_TILE - 24))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    tile = Image.new("RGBA", (LOGO_TILE, LOGO_TILE), "white")
    tile.alpha_composite(logo, ((LOGO_TILE - logo.width) // 2, (LOGO_TILE - logo.height) // 2))
    return tile


def draw_share_image(name, allies_line, address, colour, logo_path=None):
    """The PNG bytes' image: `colour` (#rrggbb, white text passes WCAG AA on it) behind
    `name`, `allies_line` ("12 sojuszników i sojuszniczek") and `address` (the site's host)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), colour)
    draw = ImageDraw.Draw(image)
    top = MARGIN
    tile = _logo_tile(logo_path)
    if tile is not None:
        image.paste(tile, (MARGIN, top), tile)
        top += LOGO_TILE + 40
    font, lines = _name_lines(draw, name, WIDTH - 2 * MARGIN)
    line_height = int(font.size * 1.2)
    for line in lines:
        draw.text((MARGIN, top), line, font=font, fill="white")
        top += line_height
    small = _font(REGULAR_FONT, 40)
    draw.text((MARGIN, max(top + 24, HEIGHT - MARGIN - 110)), allies_line, font=small, fill="white")
    draw.text((MARGIN, HEIGHT - MARGIN - 36), address, font=_font(REGULAR_FONT, 30), fill="white")
    return image
