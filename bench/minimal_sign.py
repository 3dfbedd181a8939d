"""The yardstick for the sign POST: the least a Flask app must do to take a signing.

    gunicorn -c python:koalicja.gunicorn_conf bench.minimal_sign:app     (DATABASE_URL set)

Flask, a Flask-WTF form with its CSRF token kept in the session cookie, one SQLAlchemy
INSERT of the signature and one of its confirmation e-mail into an outbox table, one
commit, a 303 to a "check your inbox" page. Served with the app's gunicorn settings on the
app's database (its own two tables, `bench_minimal_signature` and `bench_minimal_outbox`,
created when it loads), with the same SQLite settings as the app (WAL, synchronous=NORMAL,
busy_timeout), so that a signing in the app can be compared with the same work done plainly.
It takes the same request body as the app's form (fields it does not know are ignored).

What it leaves out, and the app does: the coalition and declaration lookup, the duplicate
mailbox check, the bot trap, rendering the e-mail from templates in the signer's language,
the data-version bump, the audit and access log, security headers, Babel.
"""
import os
import secrets
from datetime import datetime, timezone

from flask import Flask, redirect, render_template_string, url_for
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import FlaskForm
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import JSON, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import BooleanField, EmailField, RadioField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "bench-minimal-" + secrets.token_hex(8)),
    SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///bench-minimal.sqlite"),
    SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": not os.environ.get("DATABASE_URL", "sqlite").startswith("sqlite")},
)
db = SQLAlchemy(app)
links = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="confirm")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


class MinimalSignature(db.Model):
    __tablename__ = "bench_minimal_signature"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    city: Mapped[str] = mapped_column(String(100), default="")
    public_name: Mapped[bool] = mapped_column(default=False)
    consents: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MinimalOutbox(db.Model):
    __tablename__ = "bench_minimal_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignForm(FlaskForm):
    kind = RadioField(choices=[("person", "osoba"), ("organisation", "organizacja")], validators=[DataRequired()])
    full_name = StringField(validators=[DataRequired(), Length(max=200)])
    email = EmailField(validators=[DataRequired(), Length(max=254), Email()])
    city = StringField(validators=[Optional(), Length(max=100)])
    accept_declaration = BooleanField(validators=[DataRequired()])
    accept_privacy = BooleanField(validators=[DataRequired()])
    public_name = BooleanField()


PAGE = """<!doctype html><html lang="pl"><title>Podpisz</title>
<form method="post">{{ form.csrf_token }}
{% for field in [form.kind, form.full_name, form.email, form.city, form.accept_declaration,
   form.accept_privacy, form.public_name] %}<p>{{ field() }}{% for e in field.errors %} {{ e }}{% endfor %}</p>{% endfor %}
<button>Podpisz</button></form>"""
MAIL = """Dzień dobry, {{ name }}!

Potwierdź podpis pod deklaracją: {{ link }}
"""


@app.route("/podpisz", methods=["GET", "POST"])
def sign():
    form = SignForm()
    if form.validate_on_submit():
        signature = MinimalSignature(
            kind=form.kind.data, full_name=form.full_name.data, email=form.email.data, city=form.city.data or "",
            public_name=form.public_name.data, consents={"at": utcnow().isoformat(), "public_name": form.public_name.data},
        )
        db.session.add(signature)
        db.session.flush()
        link = url_for("sign", _external=True) + "?t=" + links.dumps(signature.id)
        db.session.add(MinimalOutbox(recipient=signature.email, subject="Potwierdź podpis",
                                     body_text=render_template_string(MAIL, name=signature.full_name, link=link)))
        db.session.commit()
        return redirect(url_for("check_inbox"), 303)
    return render_template_string(PAGE, form=form), 422 if form.is_submitted() else 200


@app.get("/sprawdz-poczte")
def check_inbox():
    return "Sprawdź pocztę."


@app.get("/")
def ready():
    return "ok"


with app.app_context():
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The app's own SQLite settings (koalicja/__init__.py), so both write the same way.
        @event.listens_for(db.engine, "connect")
        def _pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.close()

    db.create_all()
    db.engine.dispose()  # nothing connected when gunicorn forks its workers
