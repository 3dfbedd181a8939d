"""Times are stored as naive UTC; Flask-Babel shows them in Europe/Warsaw."""
from datetime import datetime, timezone


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)
