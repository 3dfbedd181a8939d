"""Text helpers shared by several domain areas: safe Markdown and search/sort keys."""
import re
import unicodedata

from markdown_it import MarkdownIt
from markupsafe import Markup

# html=False escapes any raw HTML a coordinator pastes; markdown-it also refuses
# javascript:, vbscript: and file: links, so the output is safe to mark as Markup.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(source):
    return Markup(_markdown.render(source or ""))


_POLISH_ORDER = str.maketrans(
    {"ą": "a~", "ć": "c~", "ę": "e~", "ł": "l~", "ń": "n~", "ó": "o~", "ś": "s~", "ź": "z~", "ż": "z~~"}
)


def sort_key(value):
    """A key that orders Polish names as a reader expects (a < ą < b … z < ź < ż) in plain SQL."""
    return (value or "").strip().casefold().translate(_POLISH_ORDER)


def search_key(value):
    """Lower case without diacritics, so that `lodz` finds `Łódź`."""
    folded = (value or "").casefold().replace("ł", "l")
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def escape_like(text):
    """Literal text for a SQL LIKE pattern with `escape="\\"`: % and _ lose their meaning."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def contrast_with_white(colour):
    """WCAG 2.1 contrast ratio of white text on `colour` (#rrggbb)."""

    def channel(hex_pair):
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return 1.05 / (luminance + 0.05)
