"""Entry point: `flask --app app …` and `gunicorn app:app`."""
from koalicja import create_app

app = create_app()
