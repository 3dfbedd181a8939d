"""Times are stored as naive UTC; people see and type them in Europe/Warsaw."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

WARSAW = ZoneInfo("Europe/Warsaw")


def utcnow():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def warsaw_to_utc(local):
    """A wall-clock time in Warsaw (naive) as naive UTC."""
    return local.replace(tzinfo=WARSAW).astimezone(timezone.utc).replace(tzinfo=None)


def utc_to_warsaw(moment):
    """Naive UTC as an aware Warsaw time."""
    return moment.replace(tzinfo=timezone.utc).astimezone(WARSAW)


def warsaw_today():
    return utc_to_warsaw(utcnow()).date()
