"""`/zdrowie`: whether this app server can answer (for load balancers and monitors)."""
from flask import jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, limiter


def health():
    """200 when the database answers a query, 503 when it does not (for load balancers and monitors)."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        status, body = 200, {"status": "ok", "database": "ok"}
    except SQLAlchemyError:
        db.session.rollback()
        status, body = 503, {"status": "error", "database": "unavailable"}
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app):
    app.add_url_rule("/zdrowie", endpoint="serving.health", view_func=limiter.exempt(health))
