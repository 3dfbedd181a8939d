"""Flask extensions, created unbound and wired to the app in `create_app`."""
import logging

from flask_babel import Babel
from flask_htmx import HTMX
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()
htmx = HTMX()
limiter = Limiter(key_func=get_remote_address)

# Flask-Limiter reports a lost storage ("Rate limit storage unreachable - falling back to
# in-memory storage") and its recovery on its own logger, which has only a NullHandler: send
# them to stderr, the server's error log, so that an operator sees Redis go down and come back.
# Its notes of every exceeded limit stay out: they name the visitor's IP address or e-mail.
def _storage_news(record):
    return record.levelno >= logging.WARNING or record.getMessage().startswith("Rate limit storage recovered")


_limiter_log = logging.StreamHandler()
_limiter_log.setFormatter(logging.Formatter("[%(name)s] %(levelname)s: %(message)s"))
_limiter_log.addFilter(_storage_news)
limiter.logger.addHandler(_limiter_log)
limiter.logger.setLevel(logging.INFO)
