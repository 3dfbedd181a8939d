from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from ..forms import Form
from ..signatures.forms import strip


class LoginForm(Form):
    email = EmailField(_l("Adres e-mail"), filters=[strip], validators=[DataRequired(message=_l("Wpisz adres e-mail."))])
    password = PasswordField(_l("Hasło"), validators=[DataRequired(message=_l("Wpisz hasło."))])

