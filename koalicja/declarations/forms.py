from flask_babel import lazy_gettext as _l
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired

from ..forms import Form
from ..signatures.forms import max_length, plain_text, strip


class VersionForm(Form):
    """A draft of a declaration's text or of an annex: a title and a Markdown body."""

    title = StringField(
        _l("Tytuł"),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz tytuł.")), max_length(300), plain_text],
    )
    body = TextAreaField(
        _l("Treść"),
        description=_l("Markdown: pusta linia zaczyna nowy akapit, **pogrubienie**, listy zaczynające się od „1.” lub „-”."),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz treść.")), max_length(100_000)],
    )
