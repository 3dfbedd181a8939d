from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..forms import Form
from ..signatures.forms import strip


class LoginForm(Form):
    email = EmailField(_l("Adres e-mail"), filters=[strip], validators=[DataRequired(message=_l("Wpisz adres e-mail."))])
    password = PasswordField(_l("Hasło"), validators=[DataRequired(message=_l("Wpisz hasło."))])



class PasswordChangeForm(Form):
    current_password = PasswordField(_l("Obecne hasło"), validators=[DataRequired(message=_l("Wpisz obecne hasło."))])
    new_password = PasswordField(
        _l("Nowe hasło"),
        description=_l("Co najmniej 10 znaków. Najlepiej kilka przypadkowych słów."),
        validators=[
            DataRequired(message=_l("Wpisz nowe hasło.")),
            Length(min=10, max=200, message=_l("Hasło musi mieć od 10 do 200 znaków.")),
        ],
    )
    repeat_password = PasswordField(
        _l("Powtórz nowe hasło"),
        validators=[EqualTo("new_password", message=_l("Hasła się różnią."))],
    )
