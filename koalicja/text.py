"""Text helpers shared by several domain areas: safe Markdown and search/sort keys."""
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
