from flask_babel import lazy_gettext as _l
from ..forms import Form
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..signatures.forms import strip


class LoginForm(Form):
    email = EmailField(_l("Adres e-mail"), filters=[strip], validators=[DataRequired(message=_l("Wpisz adres e-mail."))])
    password = PasswordField(_l("Hasło"), validators=[DataRequired(message=_l("Wpisz hasło."))])

