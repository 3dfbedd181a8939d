from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired

from ..forms import Form
from ..signatures.forms import max_length, plain_text, strip


class AnnouncementForm(Form):
    subject = StringField(
        _l("Temat"),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz temat komunikatu.")), max_length(200), plain_text],
    )
    body = TextAreaField(
        _l("Treść"),
        description=_l(
            "Możesz formatować tekst w Markdown: **pogrubienie**, *kursywa*, [opis linku](https://…), "
            "listy zaczynane od myślnika. Pusta linia zaczyna nowy akapit."
        ),
        filters=[strip],
        validators=[DataRequired(message=_l("Wpisz treść komunikatu.")), max_length(20000)],
    )
    public = BooleanField(
        _l("Opublikuj też na stronie koalicji"),
        description=_l(
            "Komunikat pojawi się na publicznej stronie Komunikaty i w kanale Atom, które może czytać każdy. "
            "Bez zaznaczenia dostaną go tylko sojusznicy i sojuszniczki e-mailem."
        ),
    )
