"""Text helpers shared by several domain areas: safe Markdown and search/sort keys."""
import re
import unicodedata
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markupsafe import Markup

# html=False escapes any raw HTML a coordinator pastes; markdown-it also refuses
# javascript:, vbscript: and file: links, so the output is safe to mark as Markup.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def render_markdown(source):
    return Markup(_markdown.render(source or ""))


class _PlainText(HTMLParser):
    """The text of rendered Markdown: paragraphs on lines of their own, links as "text (url)"."""

    _BREAKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "hr"}  # blocks that end a paragraph

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.links = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_endtag(self, tag):
        if tag == "a":
            href = self.links.pop() if self.links else ""
            if href and self.parts[-1:] != [href]:  # a bare link is shown once
                self.parts.append(f" ({href})")
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def markdown_to_text(source):
    """Markdown as plain text for places that show no HTML (a calendar entry's description)."""
    parser = _PlainText()
    parser.feed(_markdown.render(source or ""))
    parser.close()
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


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
