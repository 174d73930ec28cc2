"""The gunicorn entry point: `gunicorn taskapp.wsgi:app`."""

from taskapp import create_app
from taskapp.observability import configure_logging

configure_logging()
app = create_app()
